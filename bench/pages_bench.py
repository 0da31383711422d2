#!/usr/bin/env python3
"""Web UI page benchmark: server time of the list page (50 rows) and of a record page, next to
the JSON API call that reads the same data, all measured in one run on one box. Prints the
median (p50) and p99 of each and the page / API ratio. No thresholds.

    scripts/with-test-db.sh python3 bench/pages_bench.py
    set -a; . var/pg/env; set +a; python3 bench/pages_bench.py [--records 500 --requests 200]

The client sits on the same machine (loopback, one keep-alive connection), so a figure is the
server's time plus well under a millisecond of transport. Needs DATABASE_URL,
DATABASE_OWNER_URL and the built .build/debug/atrium(-admin). Reuses records_bench's helpers.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description="Atrium web page benchmark (prints figures, no thresholds).")
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    env = rb.environment()
    owner_url = env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-pages-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = None
    slug = tenant_id = None
    results = {}
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        admin = rb.Client(port, slug)
        token = admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rb.create_object(admin)
        rb.log(f"creating {args.records} records through the API …")
        rb.create_records(port, slug, token, args.records, 4, 7)
        record_id = admin.json("GET", f"/api/v1/{rb.ENTITY}?limit=1")["records"][0]["id"]
        client = rb.Client(port, slug, token)
        plan = [
            ("list page, 50 rows      GET /app/{entity}", f"/app/{rb.ENTITY}", "text/html"),
            ("list API, 50 rows       GET /api/v1/{entity}?limit=50", f"/api/v1/{rb.ENTITY}?limit=50", "application/json"),
            ("record page             GET /app/{entity}/{id}", f"/app/{rb.ENTITY}/{record_id}", "text/html"),
            ("record API              GET /api/v1/{entity}/{id}", f"/api/v1/{rb.ENTITY}/{record_id}", "application/json"),
            ("edit form               GET /app/{entity}/{id}/edit", f"/app/{rb.ENTITY}/{record_id}/edit", "text/html"),
        ]
        for label, path, accept in plan:
            rb.log(f"{label}: {args.requests} requests …")
            results[label] = rb.timed_get(client, path, accept, args.requests, 10)
        client.close()
        admin.close()
    except rb.BenchError as error:
        print(f"pages_bench failed: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_and_clean_up("pages_bench", server, env, owner_url, slug, tenant_id)
    print("==================== pages_bench summary ====================")
    print(f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server .build/debug/atrium")
    print(f"data        {args.records} records of one custom object; {args.requests} requests per line after 10 warm-up calls")
    for label, (summary, size) in results.items():
        print(f"{label:58s} p50 {summary['p50']:7.1f} ms  p99 {summary['p99']:7.1f} ms  ({size} bytes)")
    keys = list(results)
    print(f"ratio       list page / list API p50 = {results[keys[0]][0]['p50'] / results[keys[1]][0]['p50']:.2f}x; "
          f"record page / record API p50 = {results[keys[2]][0]['p50'] / results[keys[3]][0]['p50']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

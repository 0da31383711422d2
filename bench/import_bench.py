#!/usr/bin/env python3
"""CSV import benchmark (issue 14, item 4): one POST /api/v1/x_import/import of --rows rows into
the ten-field custom object of request_path_bench (same file generator), timed from the client,
then the same file as a dry run first, and the record / key / audit counts checked
in SQL. Prints rows/s; no thresholds.

    scripts/with-test-db.sh python3 bench/import_bench.py --server .build-rel/release/atrium
    set -a; . var/pg/env; set +a; python3 bench/import_bench.py --rows 20000

Needs DATABASE_URL, DATABASE_OWNER_URL, psql and the built .build/debug/atrium-admin (the server
binary is --server, default .build/debug/atrium). The tenant (plan enterprise) is left in place.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402  (client, processes)
import request_path_bench as rp  # noqa: E402  (the import object's fields and file)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--server", default=rb.DEFAULT_SERVER)
    parser.add_argument("--admin", help="atrium-admin binary (default: the one beside --server, else .build/debug/atrium-admin)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-dry-run", action="store_true", help="skip the dry run of the same file")
    args = parser.parse_args()
    beside = os.path.join(os.path.dirname(os.path.abspath(args.server)), "atrium-admin")
    rb.ADMIN_BINARY = os.path.abspath(args.admin) if args.admin else beside if os.path.exists(beside) else rb.ADMIN_BINARY
    env = rb.environment()
    slug, tenant_id = rb.setup(env)
    port = rb.free_port()
    log_path = os.path.join(tempfile.mkdtemp(prefix="atrium-import-bench-"), "server.log")
    server = rb.start_server(os.path.abspath(args.server), env, port, log_path)
    try:
        client = rb.Client(port, slug)
        token = client.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rp.create_import_object(client)
        body = rp.import_csv(args.rows, args.seed)
        rb.log(f"import: {args.rows} rows, {len(body) / 1024 / 1024:.1f} MiB")
        dry = None
        if not args.no_dry_run:
            status, text, dry = rp.post_import(port, slug, token, body, dry_run=True)
            if status != 200:
                raise rb.BenchError(f"dry run answered {status}: {text[:500]}")
        status, text, seconds = rp.post_import(port, slug, token, body)
        if status != 201:
            raise rb.BenchError(f"import answered {status}: {text[:500]}")
        owner = env["DATABASE_OWNER_URL"]

        def count(sql):
            return int(rb.psql(owner, f"BEGIN; SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null\n{sql};\nCOMMIT;").split()[0])

        records = count(f"SELECT count(*) FROM records WHERE entity = '{rp.IMPORT_ENTITY}'")
        keys = count(f"SELECT count(*) FROM record_index WHERE entity = '{rp.IMPORT_ENTITY}'")
        audit = count(f"SELECT count(*) FROM audit_log WHERE entity = '{rp.IMPORT_ENTITY}' AND action = 'record.created'")
        if records != args.rows or audit != args.rows:
            raise rb.BenchError(f"{records} records and {audit} audit entries for {args.rows} rows")
        print(f"import   {args.rows} rows in {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s "
              f"({records} records, {keys} index keys, {audit} record.created entries)")
        if dry:
            print(f"dry run  {args.rows} rows in {dry:.2f} s = {args.rows / dry:,.0f} rows/s")
    finally:
        rb.stop_server(server)
        print(f"server log: {log_path}")


if __name__ == "__main__":
    sys.exit(main())

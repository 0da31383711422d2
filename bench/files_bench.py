#!/usr/bin/env python3
"""Attachments benchmark: upload and download speed through the JSON API (multipart upload,
field `file`; download of the same bytes), each file checked byte for byte. Prints MiB/s and
per-request p50/p99 for small (1 MiB) and large (the 20 MiB default limit) files. No thresholds.

    scripts/with-test-db.sh python3 bench/files_bench.py
    set -a; . var/pg/env; set +a; python3 bench/files_bench.py [--small 40 --large 5]

Every upload is new content (random bytes), so each one writes, fsyncs and renames a file in
the local store (a temporary ATRIUM_FILES_DIR) before its row commits; with-test-db.sh runs
PostgreSQL with fsync off, the file store's fsync stays on. One keep-alive connection on
loopback. Needs DATABASE_URL, DATABASE_OWNER_URL and the built .build/debug/atrium(-admin).
Reuses records_bench's helpers.
"""

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402

BOUNDARY = "----AtriumFilesBench7MA4YWxk"
MIB = 1024 * 1024


def multipart(name, content):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def raw(client, method, path, body=None, content_type=None):
    """One request on the client's keep-alive connection; returns status and the body's bytes."""
    headers = {"X-Tenant": client.tenant, "Authorization": f"Bearer {client.token}"}
    if content_type:
        headers["Content-Type"] = content_type
    client.connection.request(method, path, body=body, headers=headers)
    response = client.connection.getresponse()
    return response.status, response.read()


def run(client, record_path, count, size, label):
    """Uploads `count` new files of `size` bytes, then downloads each; returns the figures."""
    uploads, downloads, hrefs = [], [], []
    contents = [b"%PDF-" + secrets.token_bytes(size - 5) for _ in range(count)]
    for index, content in enumerate(contents):
        body = multipart(f"{label}-{index}.pdf", content)
        started = time.perf_counter()
        status, answer = raw(client, "POST", f"{record_path}/attachments", body, f"multipart/form-data; boundary={BOUNDARY}")
        uploads.append((time.perf_counter() - started) * 1000)
        if status != 201:
            raise rb.BenchError(f"upload answered {status}: {answer[:300]!r}")
        hrefs.append(json.loads(answer)["href"])
    for href, content in zip(hrefs, contents):
        started = time.perf_counter()
        status, answer = raw(client, "GET", href)
        downloads.append((time.perf_counter() - started) * 1000)
        if status != 200 or answer != content:
            raise rb.BenchError(f"download of {href} answered {status} with {len(answer)} bytes, not the {len(content)} uploaded")
    total = count * size / MIB
    return {
        "label": label, "count": count, "size": size,
        "upload": rb.latency_summary(uploads), "upload_rate": total / (sum(uploads) / 1000),
        "download": rb.latency_summary(downloads), "download_rate": total / (sum(downloads) / 1000),
    }


def main():
    parser = argparse.ArgumentParser(description="Atrium attachments benchmark (prints figures, no thresholds).")
    parser.add_argument("--small", type=int, default=40, help="1 MiB files")
    parser.add_argument("--large", type=int, default=5, help="20 MiB files")
    args = parser.parse_args()
    files_dir = tempfile.mkdtemp(prefix="atrium-files-bench-")
    env = dict(rb.environment(), ATRIUM_FILES_DIR=files_dir, ATRIUM_MAX_UPLOAD_MB="20")
    owner_url = env["DATABASE_OWNER_URL"]
    log_path = os.path.join(files_dir, "server.log")
    server = None
    slug = tenant_id = None
    results = []
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        client = rb.Client(port, slug)
        client.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rb.create_object(client)
        record = client.json("POST", f"/api/v1/{rb.ENTITY}", {"x_name": "files bench"}, expected=201)["id"]
        record_path = f"/api/v1/{rb.ENTITY}/{record}"
        rb.log(f"{args.small} uploads and downloads of 1 MiB …")
        results.append(run(client, record_path, args.small, MIB, "1MiB"))
        rb.log(f"{args.large} uploads and downloads of 20 MiB …")
        results.append(run(client, record_path, args.large, 20 * MIB, "20MiB"))
        client.close()
    except rb.BenchError as error:
        print(f"files_bench failed: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_and_clean_up("files_bench", server, env, owner_url, slug, tenant_id)
        shutil.rmtree(files_dir, ignore_errors=True)
    print("==================== files_bench summary ====================")
    print(f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server .build/debug/atrium")
    for result in results:
        for kind in ("upload", "download"):
            summary = result[kind]
            print(f"{result['label']:6s} {kind:8s} x{result['count']:<3d} {result[kind + '_rate']:7.1f} MiB/s   "
                  f"p50 {summary['p50']:8.1f} ms  p99 {summary['p99']:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

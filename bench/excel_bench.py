#!/usr/bin/env python3
"""Excel benchmark (issue 21): an .xlsx import and a 50 000-row .xlsx export of the ten-field
custom object of request_path_bench, timed from the client, next to the same through CSV, with
the server's peak memory before and after the export. Prints figures; no thresholds.

1. The CSV of --import-rows rows (request_path_bench's generator) is turned into a real Excel
   workbook by LibreOffice Calc (typed numbers, dates and booleans, shared strings), then
   imported with POST /api/v1/x_import/import; the same rows as CSV are imported for
   comparison (both set-wise; the stored count is checked).
2. More rows are imported by CSV until --export-rows records exist; then
   GET /api/v1/x_import/export?format=xlsx and ?format=csv are timed, the workbook's rows
   counted, and the server's VmHWM (peak resident memory) read before and after.
3. The home page (a signed-in browser session) timed with no report pinned and with eight
   pinned reports over those records (the dashboard's cost).

    scripts/with-test-db.sh python3 bench/excel_bench.py --server .build-rel/release/atrium
    scripts/with-test-db.sh python3 bench/excel_bench.py --import-rows 2000 --export-rows 5000   # a quick trial

Needs DATABASE_URL, DATABASE_OWNER_URL, psql, soffice (Debian libreoffice-calc) and atrium-admin
beside --server (default .build/debug/atrium). The tenant (plan enterprise) is left in place.
"""

import argparse
import http.client
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402  (client, processes)
import request_path_bench as rp  # noqa: E402  (the import object, its file, peak RSS)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_workbook(csv_bytes, directory):
    source = os.path.join(directory, "rows.csv")
    with open(source, "wb") as handle:
        handle.write(csv_bytes)
    started = time.perf_counter()
    result = subprocess.run(["soffice", f"-env:UserInstallation=file://{directory}/lo-profile", "--headless",
                             "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", directory, source],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0 or not os.path.exists(os.path.join(directory, "rows.xlsx")):
        raise rb.BenchError(f"LibreOffice could not write the workbook: {result.stdout}{result.stderr}")
    rb.log(f"LibreOffice wrote the workbook in {time.perf_counter() - started:.1f} s")
    with open(os.path.join(directory, "rows.xlsx"), "rb") as handle:
        return handle.read()


def post(port, slug, token, body, content_type):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    try:
        started = time.perf_counter()
        connection.request("POST", f"/api/v1/{rp.IMPORT_ENTITY}/import", body=body,
                           headers={"X-Tenant": slug, "Authorization": f"Bearer {token}", "Content-Type": content_type})
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        if response.status != 201:
            raise rb.BenchError(f"import answered {response.status}: {text[:500]}")
        return time.perf_counter() - started
    finally:
        connection.close()


def get(port, slug, token, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers={"X-Tenant": slug, "Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise rb.BenchError(f"GET {path} answered {response.status}: {body[:500]!r}")
        return body, time.perf_counter() - started
    finally:
        connection.close()


DASHBOARD = [
    [{"field": "x_level"}], [{"field": "x_active"}], [{"field": "x_day", "bucket": "month"}], [{"field": "x_day", "bucket": "quarter"}],
    [{"field": "x_day", "bucket": "week"}], [{"field": "owner_id"}], [{"field": "x_level"}, {"field": "x_active"}],
    [{"field": "created_at", "bucket": "day"}],
]


def dashboard(client, port, slug, records):
    """The home page with no report pinned, then with eight pinned reports over the object's
    records (count, sum of x_amount, average of x_rate), each run as the viewer."""
    web = rb.Client(port, slug)
    status, page = web.request("GET", "/login", headers={"Accept": "text/html"})
    web.request("POST", "/login", {"email": f"admin@{slug}.test", "password": rb.ADMIN_PASSWORD, "_csrf": rb.hidden_input(page, "_csrf")},
                headers={"Accept": "text/html"}, form=True)

    def home(times):
        seconds = []
        for _ in range(times):
            started = time.perf_counter()
            status, text = web.request("GET", "/", headers={"Accept": "text/html"})
            seconds.append(time.perf_counter() - started)
            if status != 200:
                raise rb.BenchError(f"GET / answered {status}: {text[:300]}")
        seconds.sort()
        return seconds[len(seconds) // 2] * 1000, seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))] * 1000, text

    home(3)
    bare = home(20)
    for index, groups in enumerate(DASHBOARD):
        report = client.json("POST", "/api/v1/reports", {"name": f"widget {index}", "definition": {
            "entity": rp.IMPORT_ENTITY, "group_by": groups,
            "measures": [{"fn": "count"}, {"fn": "sum", "field": "x_amount"}, {"fn": "avg", "field": "x_rate"}]}}, expected=201)
        status, text = client.request("PUT", f"/api/v1/reports/{report['id']}/pin")
        if status != 204:
            raise rb.BenchError(f"pinning answered {status}: {text[:300]}")
    home(3)
    full = home(20)
    if full[2].count("data-widget=") != len(DASHBOARD) or full[2].count('class="report-chart"') != len(DASHBOARD):
        raise rb.BenchError("the home page does not show the eight charts")
    print(f"home page p50/p99: {bare[0]:.0f} / {bare[1]:.0f} ms with no report pinned, {full[0]:.0f} / {full[1]:.0f} ms with "
          f"{len(DASHBOARD)} pinned reports over {records} records")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--server", default=rb.DEFAULT_SERVER)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    beside = os.path.join(os.path.dirname(os.path.abspath(args.server)), "atrium-admin")
    rb.ADMIN_BINARY = beside if os.path.exists(beside) else rb.ADMIN_BINARY
    env = rb.environment()
    slug, tenant_id = rb.setup(env)
    port = rb.free_port()
    work = tempfile.mkdtemp(prefix="atrium-excel-bench-")
    log_path = os.path.join(work, "server.log")
    server = rb.start_server(os.path.abspath(args.server), env, port, log_path)
    owner = env["DATABASE_OWNER_URL"]
    try:
        client = rb.Client(port, slug)
        token = client.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rp.create_import_object(client)
        rows = args.import_rows
        csv_bytes = rp.import_csv(rows, args.seed)
        workbook = to_workbook(csv_bytes, work)
        xlsx_seconds = post(port, slug, token, workbook, XLSX)
        csv_seconds = post(port, slug, token, rp.import_csv(rows, args.seed + 1), "text/csv")
        stored = rp.sql_count(owner, tenant_id, f"entity = '{rp.IMPORT_ENTITY}'")
        if stored != 2 * rows:
            raise rb.BenchError(f"{stored} records after importing {rows} rows twice")
        print(f"import .xlsx {rows} rows ({len(workbook) / 1024 / 1024:.1f} MiB, written by LibreOffice) in {xlsx_seconds:.2f} s "
              f"= {rows / xlsx_seconds:,.0f} rows/s")
        print(f"import CSV   {rows} rows ({len(csv_bytes) / 1024 / 1024:.1f} MiB) in {csv_seconds:.2f} s = {rows / csv_seconds:,.0f} rows/s")

        seed = args.seed + 2
        while stored < args.export_rows:
            batch = min(50_000, args.export_rows - stored)
            post(port, slug, token, rp.import_csv(batch, seed), "text/csv")
            seed += 1
            stored += batch
        before = rp.peak_rss(server.pid)
        sheet, xlsx_export = get(port, slug, token, f"/api/v1/{rp.IMPORT_ENTITY}/export?format=xlsx&sort=-created_at")
        after_xlsx = rp.peak_rss(server.pid)
        text, csv_export = get(port, slug, token, f"/api/v1/{rp.IMPORT_ENTITY}/export?format=csv&sort=-created_at")
        after_csv = rp.peak_rss(server.pid)
        with zipfile.ZipFile(io.BytesIO(sheet)) as archive:
            xml = archive.read("xl/worksheets/sheet1.xml")
        sheet_rows = xml.count(b"<row ")
        if sheet_rows != stored + 1:
            raise rb.BenchError(f"the workbook has {sheet_rows} rows for {stored} records and a header")
        print(f"export .xlsx {stored} rows ({len(sheet) / 1024 / 1024:.1f} MiB, {len(xml) / 1024 / 1024:.0f} MiB of sheet XML) in "
              f"{xlsx_export:.2f} s = {stored / xlsx_export:,.0f} rows/s")
        print(f"export CSV   {stored} rows ({len(text) / 1024 / 1024:.1f} MiB) in {csv_export:.2f} s = {stored / csv_export:,.0f} rows/s")
        print(f"server peak RSS: {before.get('VmHWM', 0):.0f} MB before the exports, {after_xlsx.get('VmHWM', 0):.0f} MB after the .xlsx one, "
              f"{after_csv.get('VmHWM', 0):.0f} MB after the CSV one")
        dashboard(client, port, slug, stored)
    finally:
        rb.stop_server(server)
        print(f"server log: {log_path}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Records API benchmark: record creation through the API, filtered lists through the API, and
the same list SQL straight against PostgreSQL for comparison. Prints figures; never fails on them.

    scripts/with-test-db.sh python3 bench/records_bench.py      # throwaway cluster (clean numbers)
    set -a; . var/pg/env; set +a; python3 bench/records_bench.py   # an existing cluster

Needs DATABASE_URL (application role) and DATABASE_OWNER_URL (schema owner), the built
.build/debug/atrium and atrium-admin, and psql (+ pgbench for step d). See bench/README.md.

Steps:
  setup  migrate, create tenant bench-<hex>, start the server on a free port, sign in, create an
         API token, create custom object x_item (x_name text searchable, x_budget number
         filterable, x_city picklist filterable).
  (a)    POST --records records through the API with --workers threads (one keep-alive
         connection each): total seconds, records/s, per-request latency.
  (b)    INSERT … SELECT generate_series of --filter-rows records as the schema owner (one
         transaction with app.tenant_id set, since RLS is forced), then the admin API turns
         x_budget's filterable flag off and on, so the engine rebuilds its index keys for every
         record (timed), then ANALYZE.
  (c)    --queries GET /api/v1/x_item?filter={x_budget between [a, a+500]}&sort=-x_budget&limit=50
         one after another on one keep-alive connection: p50/p90/p99/max.
  (d)    the list's SQL (count + page, in a transaction with set_config) through pgbench as the
         application role, and a second script with every statement one API list request issues.
  (e)    EXPLAIN (ANALYZE, BUFFERS) of the page and count queries as the application role, and
         whether the key index record_index_lookup is used; for contrast the count without the
         key-table condition (the exact condition on data alone, as before record_index).
At the end the bench tenant's records (and with them their index keys) are removed and the
tenant suspended, unless --keep-data.
"""

import argparse
import glob
import hashlib
import html.parser
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import deque

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SERVER = os.path.join(REPO_ROOT, ".build", "debug", "atrium")
ADMIN_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium-admin")
ADMIN_PASSWORD = "Bench-horse-9"
ENTITY = "x_item"
CITIES = ["Beijing", "Shanghai", "Shenzhen"]
BUDGET_MAX = 100_000      # budgets are whole numbers in [0, BUDGET_MAX)
WINDOW = 500              # filter x_budget between [a, a + WINDOW]
PAGE = 50
SERVER_START_SECONDS = 30
# The columns RecordEngine.list selects (RecordEngine.columns).
COLUMNS = ("r.id, r.entity, r.version, r.owner_id, r.created_by, r.created_at, r.updated_by, r.updated_at, "
           "r.deleted_at, r.data::text")
BUDGET = "((r.data->>'x_budget')::numeric)"


def budget_key(value):
    """SQL for FieldIndex.numberKey of a non-negative whole number given as SQL text `value`:
    '1' for zero, else '2', (digits + 500) in three digits, the digits without trailing zeros."""
    n = f"(({value})::text::bigint)"
    return (f"(CASE WHEN {n} = 0 THEN '1' ELSE '2' || lpad((length({n}::text) + 500)::text, 3, '0') "
            f"|| rtrim({n}::text, '0') END)")


class BenchError(Exception):
    """A step could not run; the message says what happened."""


def log(message):
    print(message, flush=True)


def percentile(sorted_values, fraction):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def timed_get(client, path, accept, requests, warmup):
    """(latency summary in ms, body bytes) of `requests` GETs of `path` after `warmup` untimed ones; any non-200 stops the bench."""
    for _ in range(warmup):
        status, text = client.request("GET", path, headers={"Accept": accept})
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {text[:300]}")
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        status, text = client.request("GET", path, headers={"Accept": accept})
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {text[:300]}")
    return latency_summary(latencies), len(text.encode())


def latency_summary(milliseconds):
    values = sorted(milliseconds)
    return {"n": len(values), "mean": sum(values) / len(values) if values else float("nan"),
            "p50": percentile(values, 0.50), "p90": percentile(values, 0.90),
            "p99": percentile(values, 0.99), "max": values[-1] if values else float("nan")}


def fmt_latency(summary):
    return (f"p50 {summary['p50']:.2f}  p90 {summary['p90']:.2f}  p99 {summary['p99']:.2f}  "
            f"max {summary['max']:.2f}  mean {summary['mean']:.2f} ms")


# --- HTTP client -------------------------------------------------------------------------------

class HiddenInputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.values.setdefault(attributes["name"], attributes.get("value") or "")


def hidden_input(page, name):
    parser = HiddenInputs()
    parser.feed(page)
    return parser.values.get(name)


class Client:
    """One keep-alive HTTP/1.1 connection; cookies until a bearer token is set."""

    def __init__(self, port, tenant, token=None):
        self.port, self.tenant, self.token = port, tenant, token
        self.cookies = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.reconnects = 0

    def request(self, method, path, body=None, headers=None, form=False):
        all_headers = {"X-Tenant": self.tenant, "Accept": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        elif self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body, separators=(",", ":")).encode()
                all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        try:
            self.connection.request(method, path, body=data, headers=all_headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):  # a kept-alive connection the server closed
            self.reconnects += 1
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.connection.request(method, path, body=data, headers=all_headers)
            response = self.connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def json(self, method, path, body=None, expected=200):
        status, text = self.request(method, path, body)
        if status != expected:
            raise BenchError(f"{method} {path} answered {status} (expected {expected}): {text[:500]}")
        return json.loads(text)

    def sign_in_and_create_token(self, email, password):
        status, page = self.request("GET", "/login", headers={"Accept": "text/html"})
        csrf = hidden_input(page, "_csrf")
        if status != 200 or not csrf:
            raise BenchError(f"GET /login answered {status} without a _csrf field: {page[:300]}")
        status, text = self.request("POST", "/login", {"email": email, "password": password, "_csrf": csrf},
                                    headers={"Accept": "text/html"}, form=True)
        if status != 303 or "atrium_session" not in self.cookies:
            raise BenchError(f"POST /login answered {status} without a session cookie: {text[:300]}")
        status, page = self.request("GET", "/", headers={"Accept": "text/html"})
        session_csrf = hidden_input(page, "_csrf")
        if status != 200 or not session_csrf:
            raise BenchError(f"GET / after sign-in answered {status} without a _csrf field")
        status, text = self.request("POST", "/api/v1/tokens", {"name": "bench"}, headers={"X-CSRF-Token": session_csrf})
        if status != 201:
            raise BenchError(f"POST /api/v1/tokens answered {status}: {text[:300]}")
        self.token = json.loads(text)["token"]
        self.cookies.clear()
        return self.token

    def close(self):
        self.connection.close()


# --- processes: atrium-admin, server, psql, pgbench ---------------------------------------------

def environment():
    missing = [name for name in ("DATABASE_URL", "DATABASE_OWNER_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(f"records_bench: {' and '.join(missing)} must be set; run it as "
                 "`scripts/with-test-db.sh python3 bench/records_bench.py` or export them (see bench/README.md).")
    return dict(os.environ, ATRIUM_ARGON2_MEMORY_KIB="1024", ATRIUM_ARGON2_ITERATIONS="1",
                ATRIUM_API_RATE_LIMITS="off")


def postgres_tool(name):
    """The server-version tool from /usr/lib/postgresql/<newest>/bin, else the one on PATH."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda path: [int(part) if part.isdigit() else 0 for part in path.split("/")])
    if candidates:
        return candidates[-1]
    return shutil.which(name)


def run_admin(env, *args):
    result = subprocess.run([ADMIN_BINARY, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"atrium-admin {' '.join(args[:2])} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout


def psql(url, sql):
    """Runs SQL through psql (stops at the first error); returns its stdout."""
    binary = postgres_tool("psql")
    if not binary:
        raise BenchError("psql is not installed (apt-get install postgresql-client)")
    result = subprocess.run([binary, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                            input=sql, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise BenchError(f"psql failed ({result.returncode}): {result.stderr.strip()[:1500]}")
    return result.stdout


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(binary, env, port, log_path):
    server_env = dict(env, ATRIUM_PORT=str(port), ATRIUM_HOST="127.0.0.1", ATRIUM_BASE_DOMAIN="localhost")
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen([binary], cwd=REPO_ROOT, env=server_env,
                                  stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited with code {server.returncode} before answering /healthz")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not answer /healthz within {SERVER_START_SECONDS} s")


def stop_server(server):
    if server is None or server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def log_tail(path, lines=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as log_file:
            return "".join(deque(log_file, maxlen=lines))
    except OSError as error:
        return f"(no server log: {error})"


def machine_info(owner_url):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(info.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    settings = psql(owner_url, "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                               "current_setting('fsync'), current_setting('synchronous_commit');").strip().split("|")
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": memory, "kernel": platform.release(),
            "postgres": settings[0], "shared_buffers": settings[1], "fsync": settings[2],
            "synchronous_commit": settings[3], "python": platform.python_version()}


# --- the steps ---------------------------------------------------------------------------------

def setup(env):
    slug = f"bench-{secrets.token_hex(4)}"
    run_admin(env, "migrate")
    run_admin(env, "tenant", "create", "--slug", slug, "--name", f"Bench {slug}", "--admin-email", f"admin@{slug}.test",
              "--admin-password", ADMIN_PASSWORD, "--locale", "en", "--plan", "enterprise")
    shown = json.loads(run_admin(env, "tenant", "show", slug, "--json"))
    tenant_id = shown.get("tenant", shown)["id"].lower()
    log(f"setup: tenant {slug} ({tenant_id})")
    return slug, tenant_id


def create_object(client):
    client.json("POST", "/api/v1/admin/objects", {
        "key": ENTITY, "labels": {"en": "Item", "zh-CN": "条目"},
        "fields": [
            {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": True, "searchable": True},
            {"key": "x_budget", "labels": {"en": "Budget"}, "type": "number", "filterable": True},
            {"key": "x_city", "labels": {"en": "City"}, "type": "picklist", "filterable": True,
             "options": [{"value": city, "labels": {"en": city}} for city in CITIES]},
        ]}, expected=201)


def create_records(port, slug, token, count, workers, seed):
    """(a) POST `count` records with `workers` threads, one keep-alive connection each."""
    latencies = [[] for _ in range(workers)]
    errors = []
    reconnects = [0] * workers
    barrier = threading.Barrier(workers + 1)

    def work(index):
        rng = random.Random(seed * 1000 + index)
        client = Client(port, slug, token)
        try:
            barrier.wait()
            for number in range(index, count, workers):
                body = {"x_name": f"Item {number:06d}", "x_budget": str(rng.randrange(BUDGET_MAX)),
                        "x_city": rng.choice(CITIES)}
                started = time.perf_counter()
                try:
                    status, text = client.request("POST", f"/api/v1/{ENTITY}", body)
                except (http.client.HTTPException, OSError) as error:
                    status, text = 0, f"{type(error).__name__}: {error}"
                latencies[index].append((time.perf_counter() - started) * 1000)
                if status != 201:
                    errors.append(f"HTTP {status}: {text[:300]}")
                    if len(errors) > 20:
                        return
        finally:
            reconnects[index] = client.reconnects
            client.close()

    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    all_latencies = [value for per_worker in latencies for value in per_worker]
    if len(errors) > 20:
        raise BenchError(f"record creation stopped after {len(errors)} errors; first: {errors[0]}")
    return {"count": count, "workers": workers, "seconds": seconds, "per_second": len(all_latencies) / seconds,
            "latency": latency_summary(all_latencies), "errors": len(errors), "first_error": errors[0] if errors else None,
            "reconnects": sum(reconnects)}


def bulk_load(owner_url, tenant_id, owner_id, rows, seed):
    """(b) one INSERT … SELECT generate_series as the schema owner, then ANALYZE records."""
    sql = f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
SELECT setseed({(seed % 1000) / 1000.0}) \\g /dev/null
INSERT INTO records (tenant_id, entity, owner_id, created_by, updated_by, data, search)
SELECT '{tenant_id}'::uuid, '{ENTITY}', '{owner_id}'::uuid, '{owner_id}'::uuid, '{owner_id}'::uuid,
       jsonb_build_object('x_name', v.name, 'x_budget', v.budget::text, 'x_city', v.city),
       lower(v.name)
FROM (SELECT 'Bulk item ' || lpad(g::text, 7, '0') AS name,
             floor(random() * {BUDGET_MAX})::int AS budget,
             (ARRAY{CITIES!r})[1 + floor(random() * {len(CITIES)})::int] AS city
      FROM generate_series(1, {rows}) AS g) AS v;
COMMIT;
"""
    started = time.perf_counter()
    psql(owner_url, sql)
    insert_seconds = time.perf_counter() - started
    started = time.perf_counter()
    psql(owner_url, "ANALYZE records;")
    analyze_seconds = time.perf_counter() - started
    total = int(psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
SELECT count(*) FROM records WHERE entity = '{ENTITY}' AND deleted_at IS NULL;
COMMIT;
""").strip())
    table = psql(owner_url, "SELECT (SELECT count(*) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                            "WHERE i.indrelid = 'records'::regclass), pg_size_pretty(pg_total_relation_size('records')), "
                            "(SELECT reltuples::bigint FROM pg_class WHERE oid = 'records'::regclass);").strip().split("|")
    return {"rows": rows, "seconds": insert_seconds, "per_second": rows / insert_seconds if insert_seconds else 0,
            "analyze_seconds": analyze_seconds, "tenant_rows": total, "records_indexes": int(table[0]),
            "records_size": table[1], "records_rows_all_tenants": int(table[2])}


def rebuild_keys(port, slug, token, owner_url):
    """Rows inserted with SQL have no index keys; the engine writes them for every existing record
    when a field becomes filterable, so turn x_budget's flag off and on through the admin API."""
    client = Client(port, slug, token)
    try:
        path = f"/api/v1/admin/entities/{ENTITY}/fields/x_budget"
        client.json("PATCH", path, {"filterable": False})
        started = time.perf_counter()
        client.json("PATCH", path, {"filterable": True})
        seconds = time.perf_counter() - started
    finally:
        client.close()
    psql(owner_url, "ANALYZE record_index;")
    keys = int(psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', (SELECT id::text FROM tenants WHERE slug = '{slug}'), true) \\g /dev/null
SELECT count(*) FROM record_index WHERE field = 'x_budget';
COMMIT;
""").strip())
    return {"rebuild_seconds": seconds, "keys": keys}


def budget_filter(low):
    return json.dumps({"field": "x_budget", "op": "between", "value": [str(low), str(low + WINDOW)]},
                      separators=(",", ":"))


def api_list_queries(port, slug, token, queries, warmup, seed):
    """(c) sequential filtered lists on one keep-alive connection."""
    rng = random.Random(seed + 7)
    client = Client(port, slug, token)
    latencies, totals, returned = [], [], []
    try:
        for index in range(warmup + queries):
            low = rng.randrange(BUDGET_MAX - WINDOW)
            path = (f"/api/v1/{ENTITY}?filter={urllib.parse.quote(budget_filter(low))}"
                    f"&sort=-x_budget&limit={PAGE}")
            started = time.perf_counter()
            status, text = client.request("GET", path)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise BenchError(f"GET {path} answered {status}: {text[:500]}")
            if index < warmup:
                continue
            page = json.loads(text)
            budgets = [float(record["x_budget"]) for record in page["records"]]
            if budgets != sorted(budgets, reverse=True) or any(not low <= b <= low + WINDOW for b in budgets):
                raise BenchError(f"GET {path} returned records outside the filter or out of order: {budgets[:10]}")
            latencies.append(elapsed)
            totals.append(page["total"])
            returned.append(len(page["records"]))
    finally:
        client.close()
    return {"queries": queries, "warmup": warmup, "latency": latency_summary(latencies),
            "mean_total": sum(totals) / len(totals), "mean_returned": sum(returned) / len(returned),
            "reconnects": client.reconnects}


def list_sql(tenant, entity, low, high, keys=True):
    """The two statements RecordEngine.list runs for the benchmark's filter (placeholders given):
    the key-table EXISTS that narrows by record_index, AND the exact condition on data. The API
    binds the keys computed in Swift; here SQL computes them from the bounds (budget_key).
    keys=False leaves out the key table (the exact condition alone, for contrast in e)."""
    narrowing = (f"EXISTS (SELECT 1 FROM record_index ix WHERE ix.tenant_id = {tenant} AND ix.entity = '{ENTITY}' "
                 f"AND ix.field = 'x_budget' AND ix.key BETWEEN {budget_key(low)} AND {budget_key(high)} "
                 f"AND ix.record_id = r.id) AND ") if keys else ""
    where = (f"r.tenant_id = {tenant} AND r.entity = {entity} AND r.deleted_at IS NULL "
             f"AND ({narrowing}{BUDGET} BETWEEN {low}::numeric AND {high}::numeric)")
    count = f"SELECT count(*)::int FROM records r WHERE {where};"
    page = (f"SELECT {COLUMNS} FROM records r WHERE {where} "
            f"ORDER BY {BUDGET} DESC NULLS LAST, r.id LIMIT {PAGE} OFFSET 0;")
    return count, page


def pgbench_scripts(work_dir):
    """Writes the pgbench scripts; variables come from -D (tenant, entity, slug, token_hash)."""
    count, page = list_sql(":tenant", ":entity", ":lo", ":hi")
    head = f"\\set lo random(0, {BUDGET_MAX - WINDOW})\n\\set hi :lo + {WINDOW}\n"
    core = (head + "BEGIN;\nSELECT set_config('app.tenant_id', :tenant, true);\n"
            f"{count}\n{page}\nCOMMIT;\n")
    # Every statement one GET /api/v1/{entity} issues with a bearer token, in order: the tenant
    # lookup (TenantResolver), the token check (IdentityMiddleware), then RecordEngine.list
    # (metadata load, current tenant, count, page), each group in its own transaction.
    request = (head
               + "BEGIN;\nSELECT id, slug, name, status, plan FROM tenants WHERE slug = :slug;\nCOMMIT;\n"
               + "BEGIN;\nSELECT set_config('app.tenant_id', :tenant, true);\n"
               + "UPDATE api_tokens t SET last_used_at = now() FROM users u WHERE t.token_hash = :token_hash "
                 "AND t.revoked_at IS NULL AND u.tenant_id = t.tenant_id AND u.id = t.user_id AND u.is_active "
                 "RETURNING u.id, u.email, u.display_name, u.locale, u.is_admin;\nCOMMIT;\n"
               + "BEGIN;\nSELECT set_config('app.tenant_id', :tenant, true);\n"
               + "SELECT module_id FROM tenant_modules WHERE enabled ORDER BY module_id;\n"
               + "SELECT key, definition::text FROM entity_defs WHERE active ORDER BY key;\n"
               + "SELECT entity, key, definition::text, active FROM field_defs ORDER BY entity, position, key;\n"
               + "SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid;\n"
               + f"{count}\n{page}\nCOMMIT;\n")
    paths = {}
    for name, text in (("list_sql", core), ("api_request_sql", request)):
        paths[name] = os.path.join(work_dir, f"{name}.pgbench")
        with open(paths[name], "w", encoding="utf-8") as script:
            script.write(text)
    return paths


def run_pgbench(app_url, script, transactions, variables, work_dir, label):
    binary = postgres_tool("pgbench")
    prefix = os.path.join(work_dir, f"log_{label}")
    command = [binary, "-n", "-c", "1", "-j", "1", "-t", str(transactions), "-M", "extended", "-f", script,
               "-l", f"--log-prefix={prefix}"]
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    command.append(app_url)
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise BenchError(f"pgbench ({label}) failed ({result.returncode}): {(result.stderr or result.stdout).strip()[:1500]}")
    match = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    per_transaction = []
    for path in glob.glob(prefix + ".*"):  # client_id transaction_no latency_us script_no epoch epoch_us
        with open(path, encoding="utf-8") as log_file:
            per_transaction += [int(line.split()[2]) / 1000 for line in log_file if line.strip()]
    return {"average": float(match.group(1)) if match else float("nan"),
            "latency": latency_summary(per_transaction) if per_transaction else None,
            "failed": int(failed.group(1)) if failed else 0, "transactions": transactions}


def psql_fallback(app_url, tenant_id, transactions, seed):
    """Without pgbench: the same transactions through one psql session; average only."""
    rng = random.Random(seed + 11)
    parts = []
    for _ in range(transactions):
        low = rng.randrange(BUDGET_MAX - WINDOW)
        count, page = list_sql(f"'{tenant_id}'", f"'{ENTITY}'", f"'{low}'", f"'{low + WINDOW}'")
        parts.append(f"BEGIN;\nSELECT set_config('app.tenant_id', '{tenant_id}', true);\n{count}\n{page}\nCOMMIT;\n")
    started = time.perf_counter()
    psql(app_url, "\\o /dev/null\n" + "".join(parts))
    return {"average": (time.perf_counter() - started) * 1000 / transactions, "latency": None,
            "failed": 0, "transactions": transactions}


def sql_latency(app_url, slug, tenant_id, token, transactions, work_dir, seed):
    """(d) the list SQL, and every statement of one API list request, via pgbench as the app role."""
    if not postgres_tool("pgbench"):
        log("(d) pgbench not found; timing the list SQL through psql instead (average only)")
        return {"tool": "psql", "list_sql": psql_fallback(app_url, tenant_id, transactions, seed), "api_request_sql": None}
    scripts = pgbench_scripts(work_dir)
    variables = {"tenant": tenant_id, "entity": ENTITY, "slug": slug, "token_hash": hashlib.sha256(token.encode()).hexdigest()}
    core = run_pgbench(app_url, scripts["list_sql"], transactions, variables, work_dir, "list_sql")
    request = run_pgbench(app_url, scripts["api_request_sql"], transactions, variables, work_dir, "api_request_sql")
    return {"tool": f"pgbench -M extended -c 1 -t {transactions}", "list_sql": core, "api_request_sql": request,
            "script": scripts["list_sql"]}


def explain(app_url, tenant_id, seed):
    """(e) EXPLAIN (ANALYZE, BUFFERS) of the page and count statements, as the application role,
    with the values as parameters of a prepared statement (like the API's unnamed statements)."""
    low = random.Random(seed + 13).randrange(BUDGET_MAX - WINDOW)
    count, page = list_sql("$1", "$2", "$3", "$4")
    arguments = f"('{tenant_id}', '{ENTITY}', '{low}', '{low + WINDOW}')"
    output = psql(app_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
PREPARE bench_page(uuid, text, text, text) AS {page}
PREPARE bench_count(uuid, text, text, text) AS {count}
\\echo '-- page'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_page{arguments};
\\echo '-- count'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_count{arguments};
ROLLBACK;
""")
    index = "record_index_lookup"
    page_plan, _, count_plan = output.partition("-- count")
    page_plan = page_plan.replace("-- page", "").strip("\n")
    count_plan = count_plan.strip("\n")
    timing = {}
    for name, plan in (("page", page_plan), ("count", count_plan)):
        planning = re.search(r"Planning Time: ([\d.]+) ms", plan)
        execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
        timing[name] = (float(planning.group(1)) if planning else float("nan"),
                        float(execution.group(1)) if execution else float("nan"))
    return {"low": low, "index": index, "page_plan": page_plan, "count_plan": count_plan,
            "page_uses_index": index in page_plan, "count_uses_index": index in count_plan, "timing": timing}


def explain_exact_only(app_url, tenant_id, low):
    """For contrast: the count statement without the key-table condition, i.e. the exact
    condition on data alone, which is what filters did before record_index. Under RLS,
    PostgreSQL only uses a condition inside an index scan when its functions are leakproof;
    `->>` and numeric comparison are not, so this reads every row of the table."""
    count, _ = list_sql("$1", "$2", "$3", "$4", keys=False)
    arguments = f"('{tenant_id}', '{ENTITY}', '{low}', '{low + WINDOW}')"
    output = psql(app_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
PREPARE exact_count(uuid, text, text, text) AS {count}
EXPLAIN (ANALYZE, BUFFERS) EXECUTE exact_count{arguments};
\\echo '-- leakproof'
SELECT string_agg(DISTINCT proname || '=' || proleakproof, ' ' ORDER BY proname || '=' || proleakproof)
  FROM pg_proc WHERE proname IN ('jsonb_object_field_text', 'numeric_ge', 'numeric_le', 'text_ge', 'text_le', 'uuid_eq', 'texteq');
ROLLBACK;
""")
    plan, _, leakproof = output.partition("-- leakproof")
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {"leakproof": leakproof.strip(), "execution": float(execution.group(1)) if execution else float("nan"),
            "seq_scan": "Seq Scan on records" in plan, "plan": plan.strip("\n")}


def stop_and_clean_up(name, server, env, owner_url, slug, tenant_id):
    """A bench's last step: stops its server, then deletes its tenant (a failure is reported, not raised)."""
    stop_server(server)
    if tenant_id:
        try:
            cleanup(env, owner_url, slug, tenant_id)
        except BenchError as error:
            print(f"{name}: cleanup failed: {error}", file=sys.stderr)


def cleanup(env, owner_url, slug, tenant_id):
    """Deletes the bench tenant's records (their index keys go with them) and suspends the tenant."""
    deleted = psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
WITH gone AS (DELETE FROM records RETURNING 1) SELECT count(*) FROM gone;
DELETE FROM record_counters;
COMMIT;
""")
    run_admin(env, "tenant", "suspend", slug)
    return int(deleted.split()[0]) if deleted.split() else 0


# --- the report --------------------------------------------------------------------------------

def summary_block(args, machine, server_binary, created, loaded, listed, sql, plan):
    lines = ["==================== records_bench summary ====================",
             f"machine     nproc {machine['nproc']} | {machine['cpu']} | {machine['memory']} RAM | Linux {machine['kernel']}",
             f"postgres    {machine['postgres']} | shared_buffers {machine['shared_buffers']} | fsync {machine['fsync']} "
             f"| synchronous_commit {machine['synchronous_commit']}",
             f"server      {os.path.relpath(server_binary, REPO_ROOT)} | python {machine['python']} client on the same machine",
             ""]
    if created:
        lines += [f"(a) API create   {created['count']} records, {created['workers']} workers: {created['seconds']:.2f} s "
                  f"= {created['per_second']:.1f} records/s",
                  f"                 per request {fmt_latency(created['latency'])}"
                  + (f" | errors {created['errors']}" if created["errors"] else "")]
    if loaded:
        lines += [f"(b) SQL load     {loaded['rows']} records in {loaded['seconds']:.2f} s ({loaded['per_second']:.0f} rows/s), "
                  f"ANALYZE {loaded['analyze_seconds']:.2f} s",
                  f"                 tenant's {ENTITY} rows {loaded['tenant_rows']} | records table: ~{loaded['records_rows_all_tenants']} rows "
                  f"(all tenants), {loaded['records_size']}, {loaded['records_indexes']} indexes",
                  f"                 x_budget index keys rebuilt by the engine (PATCH filterable true): {loaded['keys']} keys "
                  f"in {loaded['rebuild_seconds']:.2f} s"]
    if listed:
        lines += [f"(c) API list     {listed['queries']} queries (after {listed['warmup']} warm-up), x_budget between [a, a+{WINDOW}], "
                  f"sort -x_budget, limit {PAGE}",
                  f"                 {fmt_latency(listed['latency'])}",
                  f"                 matched {listed['mean_total']:.0f} rows/query on average, returned {listed['mean_returned']:.1f}"]
    if sql:
        core = sql["list_sql"]
        lines.append(f"(d) SQL list     {sql['tool']}, app role, BEGIN + set_config + count + page + COMMIT:")
        lines.append(f"                 latency average {core['average']:.3f} ms"
                     + (f" | {fmt_latency(core['latency'])}" if core["latency"] else ""))
        if sql.get("api_request_sql"):
            request = sql["api_request_sql"]
            lines.append(f"    all SQL of one API list request (3 transactions, 12 statements): latency average {request['average']:.3f} ms"
                         + (f" | p50 {request['latency']['p50']:.2f} ms" if request["latency"] else ""))
        if listed:
            api_p50 = listed["latency"]["p50"]
            lines.append(f"    ratio API p50 / SQL latency average = {api_p50:.2f} / {core['average']:.3f} = {api_p50 / core['average']:.1f}x")
            if core["latency"]:
                lines.append(f"    ratio API p50 / SQL p50             = {api_p50:.2f} / {core['latency']['p50']:.3f} = "
                             f"{api_p50 / core['latency']['p50']:.1f}x")
            if sql.get("api_request_sql"):
                request = sql["api_request_sql"]
                lines.append(f"    API p50 - all SQL of a request (avg) = {api_p50 - request['average']:.2f} ms spent outside PostgreSQL "
                             "(HTTP, Swift, driver, round trips)")
    if plan:
        lines += [f"(e) EXPLAIN      x_budget between [{plan['low']}, {plan['low'] + WINDOW}]: key index {plan['index']} used by "
                  f"page: {'yes' if plan['page_uses_index'] else 'NO'}, count: {'yes' if plan['count_uses_index'] else 'NO'}",
                  f"                 page planning {plan['timing']['page'][0]:.3f} ms, execution {plan['timing']['page'][1]:.3f} ms | "
                  f"count planning {plan['timing']['count'][0]:.3f} ms, execution {plan['timing']['count'][1]:.3f} ms"]
        if plan.get("exact_only"):
            exact = plan["exact_only"]
            lines += [f"    count without the key table (exact condition on data only): execution {exact['execution']:.3f} ms, "
                      f"{'Seq Scan on records' if exact['seq_scan'] else 'no seq scan'}; ratio to the key-table count "
                      f"{exact['execution'] / plan['timing']['count'][1]:.1f}x",
                      f"    leakproof: {exact['leakproof']}"]
    lines.append(f"flags       --records {args.records} --filter-rows {args.filter_rows} --queries {args.queries} "
                 f"--workers {args.workers} --seed {args.seed}")
    lines.append("===============================================================")
    return "\n".join(lines)


def parse_arguments():
    parser = argparse.ArgumentParser(description="Atrium records benchmark (prints figures, no thresholds).")
    parser.add_argument("--records", type=int, default=10_000, help="records created through the API in (a) (default 10000; 0 skips)")
    parser.add_argument("--filter-rows", type=int, default=100_000, help="records inserted with SQL in (b) (default 100000)")
    parser.add_argument("--queries", type=int, default=1_000, help="filtered list queries in (c) and SQL transactions in (d) (default 1000)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent API clients in (a) (default 8)")
    parser.add_argument("--warmup", type=int, default=20, help="list queries run before (c) is timed (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for values and filter bounds (default 42)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="server binary (default .build/debug/atrium; try .build/release/atrium)")
    parser.add_argument("--keep-data", action="store_true", help="keep the bench tenant's records and indexes afterwards")
    args = parser.parse_args()
    if args.records < 0 or args.filter_rows < 0 or args.queries < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--records/--filter-rows/--warmup must be >= 0, --queries and --workers >= 1")
    return args


def main():
    args = parse_arguments()
    env = environment()
    for binary in (args.server, ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"records_bench: {binary} is missing; run `swift build` first.")
    app_url, owner_url = env["DATABASE_URL"], env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = machine = None
    slug = tenant_id = None
    created = loaded = listed = sql = plan = None
    step = "setup"
    try:
        machine = machine_info(owner_url)
        slug, tenant_id = setup(env)
        port = free_port()
        server = start_server(args.server, env, port, log_path)
        client = Client(port, slug)
        token = client.sign_in_and_create_token(f"admin@{slug}.test", ADMIN_PASSWORD)
        owner_id = client.json("GET", "/api/v1/me")["user"]["id"].lower()
        create_object(client)
        client.close()
        log(f"setup: server on port {port} ({os.path.relpath(args.server, REPO_ROOT)}), token created, object {ENTITY} created")

        if args.records:
            step = "(a) API create"
            log(f"(a) creating {args.records} records through the API with {args.workers} workers …")
            created = create_records(port, slug, token, args.records, args.workers, args.seed)
            log(f"(a) {created['seconds']:.2f} s, {created['per_second']:.1f} records/s; per request {fmt_latency(created['latency'])}")
            if created["errors"]:
                log(f"(a) {created['errors']} requests failed; first: {created['first_error']}")

        step = "(b) SQL load"
        log(f"(b) inserting {args.filter_rows} records with INSERT … SELECT generate_series as the schema owner …")
        loaded = bulk_load(owner_url, tenant_id, owner_id, args.filter_rows, args.seed)
        log(f"(b) {loaded['seconds']:.2f} s ({loaded['per_second']:.0f} rows/s), ANALYZE {loaded['analyze_seconds']:.2f} s; "
            f"tenant has {loaded['tenant_rows']} {ENTITY} records")
        log("(b) rebuilding x_budget's index keys through the admin API (filterable off, then on) …")
        loaded.update(rebuild_keys(port, slug, token, owner_url))
        log(f"(b) keys rebuilt for {loaded['keys']} records in {loaded['rebuild_seconds']:.2f} s")

        step = "(c) API list"
        log(f"(c) {args.queries} filtered list queries through the API, one keep-alive connection …")
        listed = api_list_queries(port, slug, token, args.queries, args.warmup, args.seed)
        log(f"(c) {fmt_latency(listed['latency'])}; {listed['mean_total']:.0f} matching rows per query on average")

        step = "(d) SQL list"
        log(f"(d) the same SQL straight to PostgreSQL as the application role, {args.queries} transactions …")
        sql = sql_latency(app_url, slug, tenant_id, token, args.queries, work_dir, args.seed)
        log(f"(d) list SQL latency average {sql['list_sql']['average']:.3f} ms"
            + (f"; all SQL of one API request {sql['api_request_sql']['average']:.3f} ms" if sql.get("api_request_sql") else ""))
        if sql.get("script"):
            with open(sql["script"], encoding="utf-8") as script:
                log("(d) pgbench script (list SQL):\n    " + script.read().strip().replace("\n", "\n    "))

        step = "(e) EXPLAIN"
        plan = explain(app_url, tenant_id, args.seed)
        log(f"(e) EXPLAIN (ANALYZE, BUFFERS), application role, page query:")
        log("    " + plan["page_plan"].replace("\n", "\n    "))
        log("(e) count query:")
        log("    " + plan["count_plan"].replace("\n", "\n    "))
        plan["exact_only"] = explain_exact_only(app_url, tenant_id, plan["low"])
        log("(e) for contrast, the count with the exact condition on data alone (no key table):")
        log("    " + plan["exact_only"]["plan"].replace("\n", "\n    "))
        log(f"(e) leakproof: {plan['exact_only']['leakproof']}")
    except BenchError as error:
        print(f"records_bench: {step} failed: {error}", file=sys.stderr)
        print(f"--- server log (last lines of {log_path}) ---\n{log_tail(log_path)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("records_bench: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug or an unexpected answer: say where, keep the server log
        print(f"records_bench: {step} failed: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"--- server log (last lines of {log_path}) ---\n{log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        stop_server(server)
        if tenant_id and not args.keep_data:
            try:
                deleted = cleanup(env, owner_url, slug, tenant_id)
                log(f"cleanup: deleted tenant {slug}'s {deleted} records (and their index keys), suspended the tenant "
                    "(--keep-data keeps them)")
            except BenchError as error:
                print(f"records_bench: cleanup failed: {error}", file=sys.stderr)
    log("")
    log(summary_block(args, machine, args.server, created, loaded, listed, sql, plan))
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

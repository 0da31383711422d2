#!/usr/bin/env python3
"""Request-path benchmark (issue 14, "Benchmarks"): what one request costs on a realistically
large database, all measured in one run and printed side by side. Prints figures, no
thresholds; fails (exit 1) when the API answers with an error or with wrong data (a total
that differs from SQL, a record outside the filter or scope, a page out of order).

    python3 bench/request_path_bench.py                               # own cluster in /tmp/atrium-request-path-pg (fsync on)
    python3 bench/request_path_bench.py --tenants 20 --small-records 100 --big-records 20000 \\
        --queries 50 --import-rows 5000                               # a quick trial (~4 min on 2 cores, debug build)
    python3 bench/request_path_bench.py --server .build-release/release/atrium --json-out after.json
    set -a; . var/pg/env; set +a; python3 bench/request_path_bench.py  # any cluster: DATABASE_URL + DATABASE_OWNER_URL

Steps (see bench/README.md for how to read them):
  cluster  without DATABASE_URL: scripts/pg-cluster.sh in --pg-dir with fsync on (as in
           production), restarted once with pg_stat_statements preloaded, plus a database
           for pgbench. With DATABASE_URL: that cluster; no statement counts unless
           pg_stat_statements is already loaded and readable, and pgbench only if the owner
           may create a database.
  seed     --tenants small tenants (`atrium-admin tenant create`, plan basic) with
           --small-records `account` records each (SQL as the schema owner, index keys
           derived in SQL as sales_bench does); one big tenant (plan enterprise) with
           departments, an administrator, a department manager (role with department scope
           on custom objects) and a salesperson (role salesperson: own scope), custom object
           x_account created through the admin API and --big-records records seeded by SQL
           (owners: salesperson 1 %, manager 9 %, so the department holds 10 %; x_type
           customer 40 % / partner 3 %; x_status open 25 %; names half Chinese, half Latin),
           then the engine writes the index keys (filterable off/on through the API, as
           records_bench does), VACUUM ANALYZE. API tokens for the three users.
  count    GET one record (administrator's token), --count-requests times one after
           another: SQL statements (pg_stat_statements), transactions committed
           (pg_stat_database) and WAL records/writes/flushes (pg_stat_wal) per request; the
           same for one broad list request.
  get      GET one random record by id at --connections connections for --get-seconds (wrk
           with a Lua script picking ids from a file; Python threads if wrk is missing),
           next to `pgbench -S -M prepared -c 8 -j 2 -T 15` (scale 10) on the same cluster.
  lists    --queries sequential lists (limit 50) on the big tenant for administrator /
           department / own × x_type broad (40 %) / narrow (3 %) / none × sort -created_at /
           x_name, plus x_status = open (25 %) sorted by -created_at; p50/p99/max; every
           answer's total checked against SQL. One line for a small tenant for contrast.
  search   q= a Chinese and a Latin substring of the names, administrator: p50/p99.
  import   POST /api/v1/x_import/import of a --import-rows CSV into an object with 10 fields;
           if the server refuses the size, the largest size it accepts (said in the output).
  rss      the server's peak RSS (VmHWM) at the end.

The binaries are copied (with their resource bundles) to a temporary folder first, so a
rebuild during the run does not change them. Needs psql and pgbench; wrk is optional.
"""

import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402  (client, processes, percentiles)
import sales_bench  # noqa: E402  (index keys of `account` derived in SQL, tenant_sql, stop_database)
import scope_bench  # noqa: E402  (placeholder record owners, users through atrium-admin)

ENTITY = "x_account"
IMPORT_ENTITY = "x_import"
PASSWORD = scope_bench.PASSWORD          # users made by scope_bench.make_user get this one
DEFAULT_PG_DIR = "/tmp/atrium-request-path-pg"
PAGE = 50
STATS_SETTLE_SECONDS = 12                # PostgreSQL 15 backends flush their counters at the latest 10 s after going idle
DEPARTMENT_ROLE = "bench_department"

# Value shares of the seeded records, chosen so that filters hit the shares issue 14 measured.
TYPES = [("customer", 0.40), ("partner", 0.03), ("prospect", 0.32), ("supplier", 0.25)]
STATUSES = [("open", 0.25), ("qualified", 0.25), ("won", 0.20), ("lost", 0.30)]
CN_CITIES = ["北京", "上海", "广州", "深圳", "成都", "杭州", "南京", "武汉"]
CN_WORDS = ["华通", "明远", "东方", "长城", "星辰", "蓝海", "金桥", "新元", "瑞丰", "恒信",
            "宏达", "天诚", "博雅", "中科", "汇智", "嘉禾", "盛世", "安泰", "鼎新", "云帆"]
CN_TRADES = ["科技", "贸易", "医疗器械", "电子", "物流", "建设", "食品", "咨询"]
# Capitalised words only, so code-point order and case-insensitive order agree (see check_page).
LATIN_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
               "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Pied Piper", "Dunder", "Aperture", "Black Mesa", "Monarch", "Prestige"]
LATIN_TRADES = ["Trading", "Systems", "Logistics", "Foods", "Medical", "Consulting", "Electronics", "Holdings"]
CITIES = ["Beijing", "Shanghai", "Shenzhen", "Chengdu", "Hangzhou", "Wuhan"]
SEARCHES = [("Chinese", "华通"), ("Latin", "globex")]   # each one of 20 words of its half: ~2.5 % of the records


class Failure(rb.BenchError):
    """The API answered, but with an error status or wrong data."""


def log(message):
    rb.log(message)


# --- binaries and the cluster --------------------------------------------------------------------

def snapshot_binaries(server, admin, work_dir):
    """Copies both binaries and the SwiftPM resource bundles beside them (Bundle.module looks
    next to the executable first), so a rebuild during the run cannot swap them."""
    target = os.path.join(work_dir, "bin")
    os.makedirs(target)
    copies = []
    for binary in (server, admin):
        if not os.access(binary, os.X_OK):
            sys.exit(f"request_path_bench: {binary} is missing or not executable (this bench never builds; "
                     "run `swift build` or pass --server/--admin)")
        copy = os.path.join(target, os.path.basename(binary))
        if os.path.exists(copy):
            sys.exit(f"request_path_bench: --server and --admin have the same file name {os.path.basename(binary)}")
        shutil.copy2(binary, copy)
        copies.append(copy)
        for bundle in os.listdir(os.path.dirname(os.path.abspath(binary))):
            source = os.path.join(os.path.dirname(os.path.abspath(binary)), bundle)
            if bundle.endswith(".resources") and os.path.isdir(source) and not os.path.exists(os.path.join(target, bundle)):
                shutil.copytree(source, os.path.join(target, bundle))
    return copies


def pg_cluster(*args, fsync="on"):
    script = os.path.join(rb.REPO_ROOT, "scripts", "pg-cluster.sh")
    result = subprocess.run([script, *args], env=dict(os.environ, PG_FSYNC=fsync), capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise rb.BenchError(f"pg-cluster.sh {' '.join(args)} failed: {result.stderr.strip()}")


def read_cluster_env(pg_dir):
    values = {}
    with open(os.path.join(pg_dir, "env"), encoding="utf-8") as env_file:
        for line in env_file.read().splitlines():
            name, _, value = line.partition("=")
            values[name] = value
    return values


def with_database(url, database):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


class Cluster:
    """Where the bench runs, and what it may read there: `super_url` (a superuser over the
    cluster's Unix socket, own cluster only) for pg_stat_statements, `pgbench_url` (a
    database of its own, so pgbench's tables never touch the application's)."""

    def __init__(self, app_url, owner_url, started_dir=None, super_url=None, pgbench_url=None, notes=()):
        self.app_url, self.owner_url = app_url, owner_url
        self.started_dir, self.super_url, self.pgbench_url = started_dir, super_url, pgbench_url
        self.notes = list(notes)
        self.statements = False
        self.created_pgbench_database = False
        self.app_role = urllib.parse.urlsplit(app_url).username
        self.database = urllib.parse.urlsplit(app_url).path.lstrip("/")


def start_cluster(pg_dir, fsync):
    """A throwaway cluster with pg_stat_statements: pg-cluster.sh creates and starts it, a
    superuser (trusted on the Unix socket) preloads the library, and a restart loads it."""
    if os.path.lexists(pg_dir):
        sys.exit(f"request_path_bench: {pg_dir} already exists; remove it (stop its cluster first: "
                 f"scripts/pg-cluster.sh stop {pg_dir}) or pass --pg-dir.")
    log(f"cluster: starting a throwaway PostgreSQL cluster in {pg_dir} (fsync {fsync}) …")
    pg_cluster("start", pg_dir, fsync=fsync)
    socket_dir = os.path.realpath(pg_dir)

    def superuser(database):
        port = urllib.parse.urlsplit(read_cluster_env(pg_dir)["DATABASE_URL"]).port
        return f"postgresql://postgres@/{database}?host={urllib.parse.quote(socket_dir, safe='')}&port={port}"

    try:
        rb.psql(superuser("postgres"), "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';")
        pg_cluster("stop", pg_dir)
        pg_cluster("start", pg_dir, fsync=fsync)
        # pg_stat_statements sees every database of the cluster; its view lives in the pgbench
        # database so that the application's schema stays exactly as migrations leave it.
        rb.psql(superuser("postgres"), "CREATE DATABASE atrium_pgbench OWNER atrium_owner;")
        rb.psql(superuser("atrium_pgbench"), "CREATE EXTENSION pg_stat_statements;")
    except rb.BenchError:
        sales_bench.stop_database(pg_dir)
        raise
    env = read_cluster_env(pg_dir)
    os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"] = env["DATABASE_URL"], env["DATABASE_OWNER_URL"]
    cluster = Cluster(env["DATABASE_URL"], env["DATABASE_OWNER_URL"], started_dir=pg_dir,
                      super_url=superuser("atrium_pgbench"), pgbench_url=with_database(env["DATABASE_OWNER_URL"], "atrium_pgbench"))
    cluster.statements = True
    return cluster


def existing_cluster():
    """DATABASE_URL's cluster: statement counts only if pg_stat_statements is there and
    readable; pgbench only if the owner may create a database for it."""
    app_url, owner_url = os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"]
    cluster = Cluster(app_url, owner_url, notes=["existing cluster (DATABASE_URL)"])
    try:
        rb.psql(owner_url, "SELECT count(*) FROM pg_stat_statements;")
        cluster.super_url = owner_url
        cluster.statements = True
    except rb.BenchError:
        cluster.notes.append("SQL statements per request not measured: pg_stat_statements is not installed or not readable")
    try:
        rb.psql(owner_url, "CREATE DATABASE atrium_pgbench;")
        cluster.pgbench_url = with_database(owner_url, "atrium_pgbench")
        cluster.created_pgbench_database = True
    except rb.BenchError as error:
        if "already exists" in str(error):
            cluster.pgbench_url = with_database(owner_url, "atrium_pgbench")
        else:
            cluster.notes.append("pgbench not run: the owner cannot create a database for it (CREATE DATABASE refused)")
    return cluster


# --- seeding --------------------------------------------------------------------------------------

def create_small_tenants(env, prefix, count, workers):
    """Real tenants (administrator, default roles, modules), as `tenant create` makes them."""
    slugs = [f"{prefix}-{index:05d}" for index in range(count)]

    def create(slug):
        rb.run_admin(env, "tenant", "create", "--slug", slug, "--name", f"Small {slug}", "--admin-email", f"admin@{slug}.test",
                     "--admin-password", PASSWORD, "--plan", "basic", "--locale", "en")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(create, slugs), start=1):
            if done % 200 == 0 or done == count:
                log(f"seed: {done}/{count} small tenants created ({time.perf_counter() - started:.0f} s)")
    return slugs


def seed_small_records(owner_url, prefix, per_tenant, chunk=50):
    """`account` records for every small tenant, with their index keys (as FieldIndex writes
    them, derived in SQL by sales_bench), one transaction per chunk of tenants. RLS is forced
    for the owner too, so the loop sets app.tenant_id before each tenant's inserts."""
    ids = [line for line in rb.psql(owner_url, f"SELECT id FROM tenants WHERE slug LIKE '{prefix}-%' ORDER BY slug;").split() if line]
    started = time.perf_counter()
    for first in range(0, len(ids), chunk):
        tenant_list = ",".join(ids[first:first + chunk])
        rb.psql(owner_url, f"""
SELECT setseed(0.{first + 1}) \\g /dev/null
DO $seed$
DECLARE t uuid; admin uuid; dept uuid;
BEGIN
    FOREACH t IN ARRAY '{{{tenant_list}}}'::uuid[] LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        SELECT id, department_id INTO admin, dept FROM users ORDER BY created_at LIMIT 1;
        INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, created_at, updated_at, data, search)
        SELECT t, 'account', admin, dept, admin, admin, v.at, v.at,
               jsonb_build_object('name', v.name, 'account_type', v.kind, 'lifecycle', v.stage), lower(v.name)
        FROM (SELECT 'Account ' || lpad(g::text, 6, '0') AS name,
                     (ARRAY['customer', 'prospect', 'partner', 'supplier'])[1 + floor(random() * 4)::int] AS kind,
                     (ARRAY['prospect', 'intent', 'customer', 'lost'])[1 + floor(random() * 4)::int] AS stage,
                     now() - random() * interval '365 days' AS at
              FROM generate_series(1, {per_tenant}) AS g) AS v;
        INSERT INTO record_index (tenant_id, record_id, entity, field, key) {sales_bench.derived_keys("account", "true")};
    END LOOP;
END
$seed$;
""")
        log(f"seed: small tenants' records {min(first + chunk, len(ids))}/{len(ids)} tenants "
            f"({time.perf_counter() - started:.0f} s)")
    return time.perf_counter() - started


def create_import_object(admin):
    """The import target (also bench/import_bench.py's): ten fields of the usual kinds, three of
    them with index keys."""
    def option(value):
        return {"value": value, "labels": {"en": value}}
    admin.json("POST", "/api/v1/admin/objects", {
        "key": IMPORT_ENTITY, "labels": {"en": "Import (bench)"},
        "fields": [
            {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": True, "searchable": True},
            {"key": "x_code", "labels": {"en": "Code"}, "type": "text", "filterable": True},
            {"key": "x_email", "labels": {"en": "Email"}, "type": "email"},
            {"key": "x_phone", "labels": {"en": "Phone"}, "type": "phone"},
            {"key": "x_amount", "labels": {"en": "Amount"}, "type": "number", "filterable": True},
            {"key": "x_rate", "labels": {"en": "Rate"}, "type": "percent"},
            {"key": "x_day", "labels": {"en": "Day"}, "type": "date", "filterable": True},
            {"key": "x_active", "labels": {"en": "Active"}, "type": "boolean"},
            {"key": "x_level", "labels": {"en": "Level"}, "type": "picklist", "options": [option(v) for v in ("a", "b", "c")]},
            {"key": "x_notes", "labels": {"en": "Notes"}, "type": "long_text"},
        ]}, expected=201)


def create_big_objects(admin):
    option = lambda value: {"value": value, "labels": {"en": value.capitalize()}}  # noqa: E731
    admin.json("POST", "/api/v1/admin/objects", {
        "key": ENTITY, "labels": {"en": "Account (bench)", "zh-CN": "客户（基准）"},
        "fields": [
            {"key": "x_name", "labels": {"en": "Name", "zh-CN": "名称"}, "type": "text", "required": True, "searchable": True},
            {"key": "x_type", "labels": {"en": "Type"}, "type": "picklist", "filterable": True, "options": [option(v) for v, _ in TYPES]},
            {"key": "x_status", "labels": {"en": "Status"}, "type": "picklist", "filterable": True, "options": [option(v) for v, _ in STATUSES]},
            {"key": "x_city", "labels": {"en": "City"}, "type": "text", "filterable": True},
            {"key": "x_amount", "labels": {"en": "Amount"}, "type": "number", "filterable": True},
        ]}, expected=201)
    create_import_object(admin)


def create_org(admin, env, slug):
    """East (the manager's department, 10 % of the records) under HQ beside West, North, South; the
    manager gets a role with department scope on custom objects, the salesperson the default
    `salesperson` role (own scope)."""
    hq = admin.json("POST", "/api/v1/admin/departments", {"name": "HQ"}, expected=201)["id"]
    east = admin.json("POST", "/api/v1/admin/departments", {"name": "East", "parent_id": hq}, expected=201)["id"]
    others = [hq] + [admin.json("POST", "/api/v1/admin/departments", {"name": name, "parent_id": hq}, expected=201)["id"]
                     for name in ("West", "North", "South")]
    status, text = admin.request("POST", "/api/v1/admin/roles", {
        "key": DEPARTMENT_ROLE, "labels": {"en": "Department reader (bench)"},
        "grants": {"custom": {"read": "department", "export": "department"}}})
    if status not in (200, 201):
        raise Failure(f"POST /api/v1/admin/roles answered {status}: {text[:300]}")
    scope_bench.make_user(env, slug, f"manager@{slug}.test", "Department manager")
    scope_bench.make_user(env, slug, f"seller@{slug}.test", "Salesperson")
    users = scope_bench.user_ids(admin)
    manager, seller = users[f"manager@{slug}.test"].lower(), users[f"seller@{slug}.test"].lower()
    admin.json("PATCH", f"/api/v1/admin/users/{manager}", {"department_id": east, "roles": [DEPARTMENT_ROLE]})
    admin.json("PATCH", f"/api/v1/admin/users/{seller}", {"department_id": east, "roles": ["salesperson"]})
    return {"east": east.lower(), "others": [d.lower() for d in others], "manager": manager, "seller": seller}


def seed_big_records(owner_url, tenant_id, org, rows, seed):
    """x_account records by one INSERT … SELECT: every 100th owned by the salesperson, 9 of
    100 by the manager (both in East, so East holds 10 %), the rest by placeholder owners in
    the other departments; department_id is the owner's, as the engine sets it."""
    def picks(name, shares):
        total, parts = 0.0, []
        for value, share in shares[:-1]:
            total += share
            parts.append(f"WHEN {name} < {total} THEN '{value}'")
        return f"(CASE {' '.join(parts)} ELSE '{shares[-1][0]}' END)"

    def array(words):
        return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"

    def one_of(words):
        return f"({array(words)})[1 + floor(random() * {len(words)})::int]"

    body = f"""
SELECT setseed({(seed % 1000) / 1000.0}) \\g /dev/null
CREATE TEMP TABLE seed_owners ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, department_id FROM users WHERE email LIKE 'owner%@scope.test';
WITH v AS MATERIALIZED (
    SELECT g, random() AS t, random() AS s, random() < 0.5 AS chinese,
           {one_of(CN_CITIES)} || {one_of(CN_WORDS)} || {one_of(CN_TRADES)} || '有限公司' AS cn_name,
           {one_of(LATIN_WORDS)} || ' ' || {one_of(LATIN_TRADES)} || ' Ltd' AS latin_name,
           {one_of(CITIES)} AS city, floor(random() * 1000000)::int AS amount,
           now() - random() * interval '730 days' AS at
    FROM generate_series(1, {rows}) AS g),
o AS (
    SELECT v.*, CASE WHEN g % 100 = 0 THEN '{org['seller']}'::uuid WHEN g % 100 < 10 THEN '{org['manager']}'::uuid
                     ELSE (SELECT id FROM seed_owners WHERE n = (g::bigint * 7919) % (SELECT count(*) FROM seed_owners)) END AS owner
    FROM v)
INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, created_at, updated_at, data, search)
SELECT '{tenant_id}'::uuid, '{ENTITY}', o.owner, u.department_id, o.owner, o.owner, o.at, o.at,
       jsonb_build_object('x_name', CASE WHEN o.chinese THEN o.cn_name ELSE o.latin_name END,
                          'x_type', {picks('o.t', TYPES)}, 'x_status', {picks('o.s', STATUSES)},
                          'x_city', o.city, 'x_amount', o.amount::text),
       lower(CASE WHEN o.chinese THEN o.cn_name ELSE o.latin_name END)
FROM o JOIN users u ON u.id = o.owner;
"""
    started = time.perf_counter()
    rb.psql(owner_url, sales_bench.tenant_sql(tenant_id, body))
    return time.perf_counter() - started


def rebuild_keys(admin, entity, fields):
    """Rows written by SQL have no index keys; turning `filterable` off and on makes the
    engine write them for every record (records_bench.rebuild_keys, for any fields)."""
    started = time.perf_counter()
    for field in fields:
        path = f"/api/v1/admin/entities/{entity}/fields/{field}"
        admin.json("PATCH", path, {"filterable": False})
        admin.json("PATCH", path, {"filterable": True})
    return time.perf_counter() - started


def expected_counts(owner_url, tenant_id, org):
    """Counts per (x_type, x_status, owner group) from SQL, to check every total the API gives."""
    output = rb.psql(owner_url, sales_bench.tenant_sql(tenant_id, f"""
SELECT data->>'x_type', data->>'x_status',
       CASE WHEN owner_id = '{org['seller']}' THEN 'seller' WHEN department_id = '{org['east']}' THEN 'east' ELSE 'other' END,
       count(*)
FROM records WHERE entity = '{ENTITY}' AND deleted_at IS NULL GROUP BY 1, 2, 3;"""))
    return [(kind, status, group, int(n)) for kind, status, group, n in sales_bench.rows(output)]


def sql_count(owner_url, tenant_id, where):
    return int(rb.psql(owner_url, sales_bench.tenant_sql(
        tenant_id, f"SELECT count(*) FROM records WHERE deleted_at IS NULL AND {where};")).strip())


# --- per-request SQL cost -------------------------------------------------------------------------

class Counters:
    """Cluster counters before and after a batch of requests. pg_stat_database and pg_stat_wal
    are flushed by each backend at the latest ~10 s after it goes idle (PostgreSQL 15), so a
    snapshot waits STATS_SETTLE_SECONDS of quiet first; pg_stat_statements is immediate."""

    def __init__(self, cluster):
        self.cluster = cluster
        # A snapshot taken through a connection to the application's database is itself one
        # committed transaction there; through the pgbench database it is not.
        url = cluster.super_url or cluster.owner_url
        self.url = url
        self.self_commits = 1 if urllib.parse.urlsplit(url).path.lstrip("/") == cluster.database else 0

    def snapshot(self):
        time.sleep(STATS_SETTLE_SECONDS)
        line = rb.psql(self.url, f"""
SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync
FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '{self.cluster.database}';""").strip().split("|")
        values = dict(zip(("commits", "rollbacks", "wal_records", "wal_bytes", "wal_writes", "wal_flushes"), map(int, line)))
        values["statements"] = {}
        if self.cluster.statements:
            output = rb.psql(self.url, f"""
SELECT s.queryid, s.calls, regexp_replace(s.query, '\\s+', ' ', 'g')
FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
WHERE r.rolname = '{self.cluster.app_role}' AND d.datname = '{self.cluster.database}' AND s.toplevel;""")
            for line in output.splitlines():
                if line.strip():
                    queryid, calls, query = line.split("|", 2)
                    if query == "<insufficient privilege>":  # another role's statements without pg_read_all_stats
                        self.cluster.statements = False
                        self.cluster.notes.append("SQL statements per request not measured: pg_stat_statements is "
                                                  "readable, but not the application role's rows (needs pg_read_all_stats)")
                        values["statements"] = {}
                        break
                    values["statements"][queryid] = (int(calls), query)
        return values

    def per_request(self, before, after, requests):
        result = {key: (after[key] - before[key] - (self.self_commits if key == "commits" else 0)) / requests
                  for key in ("commits", "rollbacks", "wal_records", "wal_bytes", "wal_writes", "wal_flushes")}
        if self.cluster.statements:
            per_query = []
            for queryid, (calls, query) in after["statements"].items():
                delta = calls - before["statements"].get(queryid, (0, ""))[0]
                if delta:
                    per_query.append((delta / requests, query))
            per_query.sort(key=lambda item: -item[0])
            result["statements"] = sum(n for n, _ in per_query)
            result["transaction_statements"] = sum(n for n, q in per_query if re.match(r"(?i)^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK)\b", q))
            result["top_statements"] = [{"per_request": round(n, 2), "query": q[:160]} for n, q in per_query[:25]]
        else:
            result["statements"] = None
        result["requests"] = requests
        return result


def count_sql_per_request(counters, client, paths):
    before = counters.snapshot()
    for path in paths:
        status, text = client.request("GET", path)
        if status != 200:
            raise Failure(f"GET {path} answered {status}: {text[:300]}")
    after = counters.snapshot()
    return counters.per_request(before, after, len(paths))


# --- GET one record: wrk, pgbench -------------------------------------------------------------------

WRK_SCRIPT = """-- written by bench/request_path_bench.py: GET a random record of the big tenant
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["X-Tenant"] = "%(slug)s"
wrk.headers["Accept"] = "application/json"
local threads = 0
function setup(thread) threads = threads + 1; thread:set("number", threads) end
function init(args) math.randomseed(os.time() * 1000 + (number or 0)) end
function request() return wrk.format("GET", "/api/v1/%(entity)s/" .. ids[math.random(#ids)]) end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %%.0f, "duration_us": %%.0f, "bytes": %%.0f, "connect": %%.0f, "read": %%.0f, ' ..
    '"write": %%.0f, "status": %%.0f, "timeout": %%.0f, "p50_us": %%.0f, "p99_us": %%.0f, "max_us": %%.0f, "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
"""


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat", encoding="utf-8") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def get_throughput(port, slug, token, ids, connections, seconds, server_pid, work_dir):
    """Requests/s of GET /api/v1/x_account/{random id}; wrk when installed."""
    ids_path = os.path.join(work_dir, "ids.txt")
    with open(ids_path, "w", encoding="utf-8") as ids_file:
        ids_file.write("\n".join(ids) + "\n")
    wrk = shutil.which("wrk")
    cpu_before, busy_before = cpu_seconds(server_pid), machine_busy()
    if wrk:
        script = os.path.join(work_dir, "get.lua")
        with open(script, "w", encoding="utf-8") as lua:
            lua.write(WRK_SCRIPT % {"ids": ids_path, "token": token, "slug": slug, "entity": ENTITY})
        threads = str(min(2, connections))
        url = f"http://127.0.0.1:{port}"
        # A short untimed run first: the server's pool opens its connections, caches fill.
        subprocess.run([wrk, "-t", threads, "-c", str(connections), "-d", "3s", "-s", script, url], capture_output=True, timeout=60)
        cpu_before, busy_before = cpu_seconds(server_pid), machine_busy()
        result = subprocess.run([wrk, "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", script, url],
                                capture_output=True, text=True, timeout=seconds + 120)
        match = re.search(r"WRK_JSON (\{.*\})", result.stdout)
        if result.returncode != 0 or not match:
            raise rb.BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip()[:500]} {result.stdout[-500:]}")
        data = json.loads(match.group(1))
        if data["status"]:
            raise Failure(f"GET one record: {data['status']} of {data['requests']} answers were not 2xx/3xx (wrk)")
        figures = {"tool": f"wrk -t {threads} -c {connections} -d {seconds}s", "requests": data["requests"],
                   "per_second": data["requests"] / (data["duration_us"] / 1e6),
                   "p50_ms": data["p50_us"] / 1000, "p99_ms": data["p99_us"] / 1000, "max_ms": data["max_us"] / 1000,
                   "socket_errors": data["connect"] + data["read"] + data["write"] + data["timeout"]}
    else:
        figures = python_get_throughput(port, slug, token, ids, connections, seconds)
    cpu_after, busy_after = cpu_seconds(server_pid), machine_busy()
    figures["server_cores"] = (cpu_after - cpu_before) / seconds
    figures["machine_busy"] = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return figures


def python_get_throughput(port, slug, token, ids, connections, seconds):
    """Without wrk: one thread per connection. Python cannot drive thousands of requests per
    second, so this figure is a floor, not the server's capacity."""
    latencies, errors = [], []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def work(index):
        rng, client, mine = random.Random(index), rb.Client(port, slug, token), []
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                status, text = client.request("GET", f"/api/v1/{ENTITY}/{rng.choice(ids)}")
                mine.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    errors.append(f"{status}: {text[:200]}")
                    return
        finally:
            client.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise Failure(f"GET one record answered {errors[0]}")
    summary = rb.latency_summary(latencies)
    return {"tool": f"python threads × {connections} (wrk not installed: a floor, not the capacity)", "requests": len(latencies),
            "per_second": len(latencies) / seconds, "p50_ms": summary["p50"], "p99_ms": summary["p99"], "max_ms": summary["max"],
            "socket_errors": 0}


def pgbench_select(pgbench_url, scale, seconds):
    """The database's own speed for primary-key reads: pgbench -S -M prepared -c 8 -j 2."""
    binary = rb.postgres_tool("pgbench")
    if not binary:
        raise rb.BenchError("pgbench is not installed")
    result = subprocess.run([binary, "-i", "-q", "-s", str(scale), pgbench_url], capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise rb.BenchError(f"pgbench -i failed: {result.stderr.strip()[-800:]}")
    command = [binary, "-S", "-M", "prepared", "-c", "8", "-j", "2", "-T", str(seconds), pgbench_url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    if result.returncode != 0 or not tps:
        raise rb.BenchError(f"pgbench -S failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return {"tool": f"pgbench -S -M prepared -c 8 -j 2 -T {seconds} (scale {scale})", "tps": float(tps.group(1)),
            "latency_ms": float(latency.group(1)) if latency else None}


# --- lists and search -----------------------------------------------------------------------------

def list_path(entity, flt=None, sort=None, q=None, limit=PAGE):
    query = {"limit": str(limit)}
    if flt is not None:
        query["filter"] = json.dumps(flt, separators=(",", ":"), ensure_ascii=False)
    if sort:
        query["sort"] = sort
    if q:
        query["q"] = q
    return f"/api/v1/{entity}?" + urllib.parse.urlencode(query)


def check_page(label, page, expected_total, flt, sort, owners=None, q=None):
    """Wrong data fails the bench: total, page size, filter, scope and order."""
    records = page["records"]
    # A server may cap the count ("total_exact": false, total a lower bound): then it must
    # still be a true lower bound and below what SQL counts.
    if page.get("total_exact", True):
        if page["total"] != expected_total:
            raise Failure(f"{label}: total {page['total']}, SQL counts {expected_total}")
    elif not min(PAGE, expected_total) <= page["total"] < expected_total:
        raise Failure(f"{label}: total {page['total']} marked inexact, but SQL counts {expected_total}")
    if len(records) != min(PAGE, expected_total):
        raise Failure(f"{label}: {len(records)} records on the page, expected {min(PAGE, expected_total)}")
    for record in records:
        if flt is not None and record.get(flt["field"]) != flt["value"]:
            raise Failure(f"{label}: record {record['id']} has {flt['field']} = {record.get(flt['field'])!r}")
        if owners is not None and record.get("owner_id") not in owners:
            raise Failure(f"{label}: record {record['id']} is owned by {record.get('owner_id')}, outside the caller's scope")
        if q is not None and q not in record.get("x_name", "").lower():
            raise Failure(f"{label}: record {record['id']} ({record.get('x_name')!r}) does not contain {q!r}")
    if sort:
        key = sort.lstrip("-")
        values = [r.get(key) or "" for r in records]
        # created_at is ISO 8601 UTC with a Z; names are built so that code-point order (the
        # cluster's C.UTF-8 collation) and case-insensitive order agree.
        wanted = sorted(values, reverse=sort.startswith("-"))
        if values != wanted:
            raise Failure(f"{label}: page not sorted by {sort}: {values[:6]}")


def timed_list(port, slug, token, path, queries, warmup, check):
    """Latency summary of `queries` sequential GETs after `warmup`, every answer checked;
    the summary also carries the total the API reported (and whether it was exact)."""
    client = rb.Client(port, slug, token)
    latencies, page = [], {}
    try:
        for index in range(warmup + queries):
            started = time.perf_counter()
            status, text = client.request("GET", path)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise Failure(f"GET {urllib.parse.unquote(path)} answered {status}: {text[:300]}")
            page = json.loads(text)
            check(page)
            if index >= warmup:
                latencies.append(elapsed)
    finally:
        client.close()
    summary = rb.latency_summary(latencies)
    summary["api_total"], summary["api_total_exact"] = page.get("total"), page.get("total_exact", True)
    return summary


def list_matrix(port, slug, tokens, org, counts, queries, warmup):
    scopes = [("administrator", "all", None), ("department", "department (East)", {org["manager"], org["seller"]}),
              ("own", "own", {org["seller"]})]
    filters = [("broad", {"field": "x_type", "op": "eq", "value": "customer"}, "x_type=customer"),
               ("narrow", {"field": "x_type", "op": "eq", "value": "partner"}, "x_type=partner"),
               ("none", None, "—")]
    lines = []
    for scope, scope_label, owners in scopes:
        groups = {"administrator": ("seller", "east", "other"), "department": ("seller", "east"), "own": ("seller",)}[scope]
        plan = [(name, flt, text, sort) for name, flt, text in filters for sort in ("-created_at", "x_name")]
        plan.append(("status", {"field": "x_status", "op": "eq", "value": "open"}, "x_status=open", "-created_at"))
        for name, flt, text, sort in plan:
            total = sum(n for kind, status, group, n in counts if group in groups and
                        (flt is None or (kind if flt["field"] == "x_type" else status) == flt["value"]))
            label = f"{scope} {name} {sort}"
            path = list_path(ENTITY, flt, sort)
            summary = timed_list(port, slug, tokens[scope], path, queries, warmup,
                                 lambda page, label=label, total=total, flt=flt, sort=sort:
                                 check_page(label, page, total, flt, sort, owners))
            lines.append({"scope": scope, "scope_label": scope_label, "filter": name, "condition": text, "sort": sort,
                          "total": total, "latency": summary})
            log(f"lists: {scope:13s} {name:6s} {text:15s} sort {sort:11s} matched {total:7d}: {rb.fmt_latency(summary)}")
    return lines


# --- import ---------------------------------------------------------------------------------------

def import_csv(rows, seed):
    rng = random.Random(seed)
    header = "x_name,x_code,x_email,x_phone,x_amount,x_rate,x_day,x_active,x_level,x_notes"
    lines = [header]
    for n in range(rows):
        name = f"{rng.choice(CN_CITIES)}{rng.choice(CN_WORDS)}导入 {n:06d}" if n % 2 else f"{rng.choice(LATIN_WORDS)} import {n:06d}"
        lines.append(",".join([
            name, f"IMP-{n:06d}", f"row{n}@example.com", f"+86 138 {n % 10000:04d} {rng.randrange(10000):04d}",
            str(rng.randrange(1_000_000)), f"{rng.randrange(100)}.5", f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "true" if n % 3 else "false", "abc"[n % 3], f"\"note {n}, imported\""]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def post_import(port, slug, token, body, dry_run=False):
    """One POST of the CSV on a fresh connection with a long timeout (rb.Client waits 120 s)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    try:
        started = time.perf_counter()
        connection.request("POST", f"/api/v1/{IMPORT_ENTITY}/import" + ("?dry_run=true" if dry_run else ""), body=body,
                           headers={"X-Tenant": slug, "Authorization": f"Bearer {token}", "Content-Type": "text/csv",
                                    "Accept": "application/json"})
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        return response.status, text, time.perf_counter() - started
    finally:
        connection.close()


def run_import(port, slug, token, owner_url, tenant_id, rows, seed, dry_run):
    """Tries `rows`; when the server refuses the size (413 for bytes, 422 naming `file` for
    rows) retries with the largest size its answer allows."""
    wanted, tried = rows, []
    while True:
        body = import_csv(rows, seed)
        log(f"import: POST {rows} rows ({len(body) / 1024 / 1024:.1f} MiB) …")
        status, text, seconds = post_import(port, slug, token, body)
        tried.append({"rows": rows, "status": status, "seconds": seconds})
        if status == 201:
            break
        error = {}
        try:
            error = json.loads(text).get("error", {})
        except ValueError:
            pass
        message = error.get("message", text[:300])
        limit = None
        if status == 413:
            mib = re.search(r"(\d+) MiB", message)
            limit = int(int(mib.group(1)) * 1024 * 1024 * 0.98 / (len(body) / rows)) if mib else rows // 2
        elif status == 422 and error.get("field") == "file":
            most = re.search(r"at most (\d+)", message)
            limit = int(most.group(1)) if most else None
        if not limit or limit >= rows:
            raise Failure(f"import of {rows} rows answered {status}: {text[:500]}")
        log(f"import: refused ({status}: {message}); retrying with {limit} rows")
        rows = limit
    answer = json.loads(text)
    stored = sql_count(owner_url, tenant_id, f"entity = '{IMPORT_ENTITY}'")
    if answer.get("created") != rows or len(answer.get("ids", [])) != rows or stored != rows:
        raise Failure(f"import of {rows} rows: created {answer.get('created')}, {len(answer.get('ids', []))} ids, {stored} in the database")
    result = {"requested_rows": wanted, "rows": rows, "seconds": seconds, "per_second": rows / seconds,
              "bytes": len(body), "refusals": tried[:-1]}
    if dry_run:
        status, text, dry_seconds = post_import(port, slug, token, body, dry_run=True)
        if status != 200 or json.loads(text).get("valid_rows") != rows:
            raise Failure(f"dry run of {rows} rows answered {status}: {text[:300]}")
        result["dry_run_seconds"], result["dry_run_per_second"] = dry_seconds, rows / dry_seconds
    return result


# --- the report -----------------------------------------------------------------------------------

def peak_rss(pid):
    figures = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                figures[name] = int(value.split()[0]) / 1024
    return figures


def cost_lines(label, cost):
    if not cost:
        return []
    statements = "not measured" if cost.get("statements") is None else f"{cost['statements']:.1f}"
    text = "" if cost.get("statements") is None else f" (of which BEGIN/COMMIT/ROLLBACK {cost['transaction_statements']:.1f})"
    return [f"{label:<27s} SQL statements {statements}{text} | commits {cost['commits']:.2f} | rollbacks {cost['rollbacks']:.2f} "
            f"| WAL records {cost['wal_records']:.1f}, {cost['wal_bytes']:.0f} B, writes {cost['wal_writes']:.2f}, "
            f"flushes {cost['wal_flushes']:.2f} (per request, {cost['requests']} requests)"]


def summary_block(report):
    m, a = report["machine"], report["args"]
    lines = ["==================== request_path_bench summary ====================",
             f"machine     nproc {m['nproc']} | {m['cpu']} | {m['memory']} RAM | load average {m['load_before']} at start, "
             f"{m.get('load_after', '?')} at end",
             f"postgres    {m['postgres']} | shared_buffers {m['shared_buffers']} | fsync {m['fsync']} | synchronous_commit "
             f"{m['synchronous_commit']} | {report['cluster']}",
             f"server      {report['server']} (copied before the run) | admin {report['admin']}",
             f"data        {a['tenants']} small tenants × {a['small_records']} accounts; big tenant {report['big']['records']} {ENTITY} "
             f"(East {report['big']['east']}, salesperson {report['big']['seller']}); seeded in {report['seed_seconds']:.0f} s",
             ""]
    cost = report.get("cost", {})
    lines += cost_lines("per GET one record", cost.get("get"))
    lines += cost_lines("per list (admin, broad)", cost.get("list"))
    get, pg = report.get("get"), report.get("pgbench")
    if get:
        lines.append(f"GET one record              {get['per_second']:.0f} req/s at {a['connections']} connections ({get['tool']}), "
                     f"p50 {get['p50_ms']:.2f} ms, p99 {get['p99_ms']:.2f} ms; server used {get['server_cores']:.2f} cores, "
                     f"machine {get['machine_busy'] * 100:.0f} % busy" + (f"; socket errors {get['socket_errors']}" if get["socket_errors"] else ""))
    if pg:
        lines.append(f"pgbench -S                  {pg['tps']:.0f} tps ({pg['tool']}), latency average {pg['latency_ms']:.3f} ms")
    if get and pg:
        lines.append(f"ratio GET / pgbench -S      {report['ratio_get_pgbench'] * 100:.2f} %")
    def api_total(lat):  # what the API said: "2000+" when it capped the count
        return f"{lat['api_total']}{'' if lat['api_total_exact'] else '+'}"

    if report.get("lists"):
        lines += ["", f"lists, limit {PAGE}, {a['queries']} sequential requests each      matched (SQL)  API total   p50 ms   p99 ms   max ms"]
        for line in report["lists"]:
            lat = line["latency"]
            lines.append(f"  {line['scope']:13s} {line['filter']:6s} {line['condition']:15s} sort {line['sort']:11s} "
                         f"{line['total']:9d} {api_total(lat):>10s} {lat['p50']:8.1f} {lat['p99']:8.1f} {lat['max']:8.1f}")
    if report.get("small_list"):
        line = report["small_list"]
        lat = line["latency"]
        lines.append(f"  small tenant  admin  no filter       sort -created_at {line['total']:9d} {api_total(lat):>10s} "
                     f"{lat['p50']:8.1f} {lat['p99']:8.1f} {lat['max']:8.1f}")
    for search in report.get("search", []):
        lat = search["latency"]
        lines.append(f"search q={search['q']:8s} ({search['kind']}, administrator) matched {search['total']} (API total {api_total(lat)}): "
                     f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms")
    imported = report.get("import")
    if imported:
        lines.append(f"CSV import                  {imported['rows']} rows × 10 fields in {imported['seconds']:.1f} s = "
                     f"{imported['per_second']:.0f} rows/s" + (f" (asked for {imported['requested_rows']}; refused: "
                     + ", ".join(f"{r['rows']} → {r['status']}" for r in imported["refusals"]) + ")" if imported["refusals"] else ""))
        if "dry_run_seconds" in imported:
            lines.append(f"CSV import, dry run         {imported['dry_run_seconds']:.1f} s = {imported['dry_run_per_second']:.0f} rows/s")
    if report.get("rss"):
        lines.append(f"server RSS                  peak (VmHWM) {report['rss']['VmHWM']:.0f} MB, at the end {report['rss']['VmRSS']:.0f} MB")
    for note in report.get("notes", []):
        lines.append(f"note        {note}")
    lines.append(f"flags       " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in a.items() if k not in ("server", "admin", "json_out", "pg_dir")))
    lines.append("=====================================================================")
    return "\n".join(lines)


def parse_arguments():
    default_server = os.path.join(rb.REPO_ROOT, ".build", "debug", "atrium")
    parser = argparse.ArgumentParser(description="Atrium request-path benchmark (issue 14): prints figures, fails only on wrong answers.")
    parser.add_argument("--server", default=default_server, help="server binary (default .build/debug/atrium)")
    parser.add_argument("--admin", help="atrium-admin binary (default: atrium-admin beside --server)")
    parser.add_argument("--tenants", type=int, default=1000, help="small tenants (default 1000)")
    parser.add_argument("--small-records", type=int, default=1000, help="account records per small tenant (default 1000)")
    parser.add_argument("--big-records", type=int, default=100_000, help="x_account records of the big tenant (default 100000)")
    parser.add_argument("--queries", type=int, default=300, help="timed requests per list/search line (default 300)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests before each list/search line (default 5)")
    parser.add_argument("--import-rows", type=int, default=100_000, help="CSV import rows (default 100000; less if the server refuses)")
    parser.add_argument("--import-dry-run", action="store_true", help="also time a dry run of the same file")
    parser.add_argument("--count-requests", type=int, default=200, help="GETs for the statements/commits/WAL counts (default 200)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections for the GET throughput (default 8)")
    parser.add_argument("--get-seconds", type=int, default=15, help="duration of the GET throughput and of pgbench (default 15)")
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--fsync", choices=("on", "off"), default="on", help="own cluster only (default on, as in production)")
    parser.add_argument("--pg-dir", default=DEFAULT_PG_DIR, help=f"own cluster when DATABASE_URL is unset (default {DEFAULT_PG_DIR})")
    parser.add_argument("--workers", type=int, default=4, help="parallel `tenant create` calls (default 4)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json-out", help="also write the figures as JSON to this path")
    parser.add_argument("--keep", action="store_true", help="keep the data (and a cluster the bench started)")
    args = parser.parse_args()
    args.admin = args.admin or os.path.join(os.path.dirname(os.path.abspath(args.server)), "atrium-admin")
    if min(args.tenants, args.small_records) < 0 or min(args.big_records, args.queries, args.import_rows, args.count_requests,
                                                        args.connections, args.get_seconds, args.workers) < 1:
        parser.error("sizes must be positive (--tenants and --small-records may be 0)")
    if args.big_records < 1000:
        parser.error("--big-records must be at least 1000 (the salesperson owns 1 %)")
    return args


def main():
    args = parse_arguments()
    began = time.perf_counter()
    work_dir = tempfile.mkdtemp(prefix="atrium-request-path-")
    server_binary, admin_binary = snapshot_binaries(os.path.abspath(args.server), os.path.abspath(args.admin), work_dir)
    rb.ADMIN_BINARY = admin_binary          # rb.run_admin (and scope_bench.make_user) call this one
    log_path = os.path.join(work_dir, "server.log")
    report = {"args": {k: v for k, v in vars(args).items()}, "server": os.path.abspath(args.server),
              "admin": os.path.abspath(args.admin), "notes": []}
    cluster = server = None
    slug = None
    small_slugs = []
    step = "cluster"
    try:
        load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
        if os.environ.get("DATABASE_URL") and os.environ.get("DATABASE_OWNER_URL"):
            cluster = existing_cluster()
        else:
            cluster = start_cluster(args.pg_dir, args.fsync)
        env = rb.environment()
        machine = rb.machine_info(cluster.owner_url)
        machine["load_before"] = load_before
        report["machine"] = machine
        report["cluster"] = (f"own cluster in {args.pg_dir}" if cluster.started_dir else "existing cluster") + \
                            (", pg_stat_statements" if cluster.statements else "")

        step = "seed"
        seed_started = time.perf_counter()
        slug, tenant_id = rb.setup(env)           # migrate + the big tenant bench-<hex> (enterprise)
        prefix = "s" + slug.split("-", 1)[1]
        if args.tenants:
            log(f"seed: creating {args.tenants} small tenants with atrium-admin ({args.workers} at a time) …")
            small_slugs = create_small_tenants(env, prefix, args.tenants, args.workers)
            if args.small_records:
                seed_small_records(cluster.owner_url, prefix, args.small_records)
        port = rb.free_port()
        server = rb.start_server(server_binary, env, port, log_path)
        admin = rb.Client(port, slug)
        admin_token = admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        create_big_objects(admin)
        org = create_org(admin, env, slug)
        scope_bench.bulk_owners(cluster.owner_url, tenant_id, 20, org["others"], args.seed)
        log(f"seed: big tenant {slug}: inserting {args.big_records} {ENTITY} records …")
        seconds = seed_big_records(cluster.owner_url, tenant_id, org, args.big_records, args.seed)
        log(f"seed: inserted in {seconds:.1f} s; the engine writes the index keys (filterable off/on) …")
        seconds = rebuild_keys(admin, ENTITY, ["x_type", "x_status", "x_city", "x_amount"])
        log(f"seed: keys written in {seconds:.1f} s; VACUUM ANALYZE …")
        rb.psql(cluster.owner_url, "VACUUM ANALYZE records;\nVACUUM ANALYZE record_index;")
        tokens = {"administrator": admin_token}
        for scope, email in (("department", f"manager@{slug}.test"), ("own", f"seller@{slug}.test")):
            client = rb.Client(port, slug)
            tokens[scope] = client.sign_in_and_create_token(email, PASSWORD)
            client.close()
        counts = expected_counts(cluster.owner_url, tenant_id, org)
        report["big"] = {"records": sum(n for *_, n in counts), "east": sum(n for _, _, g, n in counts if g != "other"),
                         "seller": sum(n for _, _, g, n in counts if g == "seller")}
        report["seed_seconds"] = time.perf_counter() - seed_started
        log(f"seed: done in {report['seed_seconds']:.0f} s: {report['big']}")

        step = "count"
        ids = rb.psql(cluster.owner_url, sales_bench.tenant_sql(tenant_id, f"""
SELECT id, data->>'x_name' FROM records WHERE entity = '{ENTITY}' ORDER BY random() LIMIT 10000;""")).splitlines()
        ids = [line.split("|", 1) for line in ids if line.strip()]
        for record_id, name in ids[:20]:   # the right record, not just a 200
            record = admin.json("GET", f"/api/v1/{ENTITY}/{record_id}")
            if record.get("id") != record_id or record.get("x_name") != name:
                raise Failure(f"GET /api/v1/{ENTITY}/{record_id} returned id {record.get('id')}, x_name {record.get('x_name')!r}; SQL has {name!r}")
        ids = [record_id for record_id, _ in ids]
        counters = Counters(cluster)
        rng = random.Random(args.seed)
        log(f"count: {args.count_requests} GETs of one record, one after another (waits {STATS_SETTLE_SECONDS} s around for the counters) …")
        report["cost"] = {"get": count_sql_per_request(counters, admin, [f"/api/v1/{ENTITY}/{rng.choice(ids)}" for _ in range(args.count_requests)])}
        broad = list_path(ENTITY, {"field": "x_type", "op": "eq", "value": "customer"}, "-created_at")
        report["cost"]["list"] = count_sql_per_request(counters, admin, [broad] * min(50, args.count_requests))
        for label, key in (("GET", "get"), ("list", "list")):
            log(cost_lines(f"count: per {label}", report["cost"][key])[0])
            for item in report["cost"][key].get("top_statements", []):
                log(f"    {item['per_request']:5.2f} × {item['query']}")

        step = "get"
        log(f"get: GET one record at {args.connections} connections for {args.get_seconds} s …")
        report["get"] = get_throughput(port, slug, admin_token, ids, args.connections, args.get_seconds, server.pid, work_dir)
        log(f"get: {report['get']['per_second']:.0f} req/s ({report['get']['tool']}), p99 {report['get']['p99_ms']:.1f} ms")
        if cluster.pgbench_url:
            log(f"get: pgbench -i -s {args.pgbench_scale}, then pgbench -S for {args.get_seconds} s …")
            report["pgbench"] = pgbench_select(cluster.pgbench_url, args.pgbench_scale, args.get_seconds)
            report["ratio_get_pgbench"] = report["get"]["per_second"] / report["pgbench"]["tps"]
            log(f"get: pgbench -S {report['pgbench']['tps']:.0f} tps; ratio {report['ratio_get_pgbench'] * 100:.2f} %")

        step = "lists"
        log(f"lists: {args.queries} requests per line after {args.warmup} warm-up …")
        report["lists"] = list_matrix(port, slug, tokens, org, counts, args.queries, args.warmup)
        if small_slugs and args.small_records:
            small = rb.Client(port, small_slugs[0])
            small_token = small.sign_in_and_create_token(f"admin@{small_slugs[0]}.test", PASSWORD)
            small.close()
            path = list_path("account", None, "-created_at")
            summary = timed_list(port, small_slugs[0], small_token, path, args.queries, args.warmup,
                                 lambda page: check_page("small tenant list", page, args.small_records, None, "-created_at"))
            report["small_list"] = {"total": args.small_records, "latency": summary}
            log(f"lists: small tenant {small_slugs[0]}, administrator, accounts sort -created_at: {rb.fmt_latency(summary)}")

        step = "search"
        report["search"] = []
        for kind, q in SEARCHES:
            total = sql_count(cluster.owner_url, tenant_id, f"entity = '{ENTITY}' AND search LIKE '%{q}%'")
            summary = timed_list(port, slug, admin_token, list_path(ENTITY, q=q), args.queries, args.warmup,
                                 lambda page, q=q, total=total: check_page(f"search {q}", page, total, None, None, q=q))
            report["search"].append({"kind": kind, "q": q, "total": total, "latency": summary})
            log(f"search: q={q} matched {total}: {rb.fmt_latency(summary)}")

        step = "import"
        report["import"] = run_import(port, slug, admin_token, cluster.owner_url, tenant_id, args.import_rows, args.seed, args.import_dry_run)
        log(f"import: {report['import']['rows']} rows in {report['import']['seconds']:.1f} s = {report['import']['per_second']:.0f} rows/s")

        step = "rss"
        report["rss"] = peak_rss(server.pid)
        admin.close()
    except rb.BenchError as error:
        kind = "wrong answer" if isinstance(error, Failure) else "failed"
        print(f"request_path_bench: {step}: {kind}: {error}\n--- server log (last lines of {log_path}) ---\n{rb.log_tail(log_path)}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("request_path_bench: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # an unexpected answer: say where, keep the server log
        print(f"request_path_bench: {step} failed: {type(error).__name__}: {error}\n--- server log ---\n{rb.log_tail(log_path)}",
              file=sys.stderr)
        return 1
    finally:
        rb.stop_server(server)
        # Server log lines look like "<time> <level> atrium: …"; PostgreSQL's like "… ERROR:  …".
        errors = log_errors(log_path, r"^\S+ (error|critical) ")
        pg_errors = log_errors(os.path.join(cluster.started_dir, "postgres.log"), r"\b(ERROR|FATAL|PANIC):") \
            if cluster and cluster.started_dir else []
        cleanup(args, cluster, slug, small_slugs)
        shutil.rmtree(os.path.dirname(server_binary), ignore_errors=True)
    report["notes"] += cluster.notes
    if errors:
        report["notes"].append(f"server log: {len(errors)} lines at level error/critical (kept in {log_path}); first: {errors[0][:300]}")
    if pg_errors:
        report["notes"].append(f"PostgreSQL log: {len(pg_errors)} ERROR/FATAL lines; first: {pg_errors[0][:300]}")
    report["machine"]["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    report["seconds"] = time.perf_counter() - began
    report["notes"].append(f"whole run {report['seconds'] / 60:.1f} min")
    log("")
    log(summary_block(report))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2, ensure_ascii=False, default=str)
        log(f"figures written to {args.json_out}")
    if not errors:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def log_errors(path, pattern):
    """Lines of a log that match `pattern` (the API may answer right while something complains)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as log_file:
            return [line.rstrip() for line in log_file if re.search(pattern, line)]
    except OSError:
        return []


def cleanup(args, cluster, slug, small_slugs):
    if cluster is None or args.keep:
        if cluster and cluster.started_dir:
            log(f"cleanup: kept the cluster in {cluster.started_dir} (env in {cluster.started_dir}/env; "
                f"stop with scripts/pg-cluster.sh stop {cluster.started_dir})")
        return
    if cluster.started_dir:
        sales_bench.stop_database(cluster.started_dir)
        return
    if cluster.created_pgbench_database:
        try:
            rb.psql(cluster.owner_url, "DROP DATABASE atrium_pgbench;")
        except rb.BenchError as error:
            print(f"request_path_bench: could not drop the pgbench database: {error}", file=sys.stderr)
    # Someone else's cluster: remove what the bench made (tenants go in two steps).
    env = rb.environment()

    def delete(tenant):
        try:
            rb.run_admin(env, "tenant", "suspend", tenant)
            rb.run_admin(env, "tenant", "delete", tenant, "--confirm", tenant)
        except rb.BenchError as error:
            print(f"request_path_bench: cleanup of {tenant} failed: {error}", file=sys.stderr)

    tenants = ([slug] if slug else []) + small_slugs
    log(f"cleanup: deleting {len(tenants)} bench tenants …")
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(delete, tenants))


if __name__ == "__main__":
    sys.exit(main())

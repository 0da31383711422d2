#!/usr/bin/env python3
"""Sales reports benchmark: the funnel and forecast reports and the /app/sales/reports page on
--opportunities opportunities (default 100 000) of one tenant, next to the same aggregate SQL
straight to PostgreSQL through pgbench, all measured in one run. Prints p50/p99 per request and
the ratio API / SQL. The correctness check is strict: every figure the reports return must
equal the same figure computed in SQL, else the bench fails (exit 1) and prints both.

    python3 bench/sales_bench.py                                  # own throwaway cluster in /tmp/pgbench-sales
    set -a; . var/pg/env; set +a; python3 bench/sales_bench.py    # or any cluster: DATABASE_URL + DATABASE_OWNER_URL
    python3 bench/sales_bench.py --opportunities 20000 --requests 10   # a quick run

Steps:
  setup   a PostgreSQL cluster (DATABASE_URL/DATABASE_OWNER_URL from the environment, else
          scripts/pg-cluster.sh in --pg-dir with fsync off, stopped and removed afterwards),
          migrate, tenant bench-<hex> on plan enterprise (sales module on, 6 pipeline stages
          seeded, record limits lifted), two more users with `atrium-admin user create` (one
          gets the role salesperson, the other none), server on a free port.
  keys    one account and one opportunity created through the API; their record_index rows
          (written by FieldIndex in Swift) must equal the rows the bench derives in SQL from
          `data` (same derivation used for the seed below), and the seeded `data` must have the
          same keys and value formats as the API-created record.
  seed    --accounts accounts and --opportunities opportunities with INSERT … SELECT
          generate_series as the schema owner (RLS is forced, so app.tenant_id is set in the
          transaction), random over the 6 stages (more in early ones), 12 close months of
          2026 and the 3 users as owners; probability / weighted_amount as the sales rules
          compute them; plus their record_index rows (opportunity: account, amount,
          close_date, stage; account: name, account_type, lifecycle); then ANALYZE.
  check   funnel and forecast as administrator and as the salesperson, and the funnel table of
          the page, against SQL over the same rows (counts and exact sums); fails on a mismatch.
  time    after --warmup calls, --requests sequential calls each on one keep-alive connection:
          GET /api/v1/sales/reports/funnel (admin, bearer token), the same as the salesperson
          (scope own), GET /api/v1/sales/reports/forecast (admin), GET /app/sales/reports
          (admin, signed-in browser session: cookie from POST /login, no token).
  sql     the aggregate statement of each report (BEGIN; set_config('app.tenant_id'); SELECT …
          GROUP BY; COMMIT) through pgbench -M extended -c 1 as the application role, after a
          warm-up run; p50/p99 from pgbench's per-transaction log; ratio API / SQL.
  plan    EXPLAIN (ANALYZE, BUFFERS) of the same three statements as the application role:
          top cost, execution time, JIT time (PostgreSQL compiles a plan whose cost passes
          jit_above_cost) and sorts spilled to disk, in the summary.

Needs psql and pgbench, and the built .build/debug/atrium and atrium-admin; it never builds
them. Reuses the helpers of bench/records_bench.py. See bench/README.md.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402

PASSWORD = "Sales-bench-horse-3"
DEFAULT_PG_DIR = "/tmp/pgbench-sales"
# Share of the opportunities per stage position 1..6 (open ×4, won, lost): a funnel shape.
STAGE_WEIGHTS = [30, 24, 18, 12, 10, 6]


# --- PostgreSQL --------------------------------------------------------------------------------

def database(pg_dir):
    """(env, started_dir): the environment's cluster, else a throwaway one in pg_dir."""
    if os.environ.get("DATABASE_URL") and os.environ.get("DATABASE_OWNER_URL"):
        return rb.environment(), None
    if os.path.exists(pg_dir):
        sys.exit(f"sales_bench: {pg_dir} already exists; remove it (stop its cluster first: "
                 f"scripts/pg-cluster.sh stop {pg_dir}) or pass --pg-dir.")
    rb.log(f"setup: starting a throwaway PostgreSQL cluster in {pg_dir} (fsync off) …")
    script = os.path.join(rb.REPO_ROOT, "scripts", "pg-cluster.sh")
    result = subprocess.run([script, "start", pg_dir], env=dict(os.environ, PG_FSYNC="off"),
                            capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        sys.exit(f"sales_bench: pg-cluster.sh start failed: {result.stderr.strip()}")
    with open(os.path.join(pg_dir, "env"), encoding="utf-8") as env_file:
        for line in env_file.read().splitlines():
            name, _, value = line.partition("=")
            if name in ("DATABASE_URL", "DATABASE_OWNER_URL"):
                os.environ[name] = value
    return rb.environment(), pg_dir


def stop_database(pg_dir):
    script = os.path.join(rb.REPO_ROOT, "scripts", "pg-cluster.sh")
    subprocess.run([script, "stop", pg_dir], capture_output=True, text=True, timeout=120)
    real = os.path.realpath(pg_dir)
    shutil.rmtree(real, ignore_errors=True)
    if os.path.islink(pg_dir):
        os.unlink(pg_dir)


def tenant_sql(tenant_id, body):
    """SQL run in one transaction with the tenant set (RLS is forced, also for the owner)."""
    # The same transaction settings as the server's TenantScope.enter (tenant, JIT off).
    return f"BEGIN;\nSELECT set_config('app.tenant_id', '{tenant_id}', true), set_config('jit', 'off', true) \\g /dev/null\n{body}\nCOMMIT;\n"


def rows(output):
    return [line.split("|") for line in output.strip().splitlines() if line.strip()]


# --- index keys as FieldIndex writes them, derived in SQL from data ------------------------------

def number_key(text):
    """SQL for FieldIndex.numberKey of a non-negative decimal given as SQL text `text`
    ('12345.50' → '2505' || '123455'): '1' for zero, else '2', (exponent + 500) in three
    digits, the significant digits without trailing zeros. NULL for anything else (the bench
    only stores non-negative amounts; a NULL key would show up as a mismatch in the check)."""
    i, f = f"split_part({text}, '.', 1)", f"split_part({text}, '.', 2)"
    digits = f"({i} || {f})"
    significant = f"ltrim({digits}, '0')"
    return (f"(CASE WHEN {text} !~ '^[0-9]+(\\.[0-9]+)?$' THEN NULL WHEN {significant} = '' THEN '1' "
            f"ELSE '2' || lpad((length({i}) - (length({digits}) - length({significant})) + 500)::text, 3, '0') "
            f"|| rtrim({significant}, '0') END)")


def text_key(text):
    """FieldIndex.textKey: lower-cased, first 200 characters (lookups: the lower-case uuid)."""
    return f"left(lower({text}), 200)"


# (field, SQL key from r.data) for every filterable field of the two entities (SalesEntities).
INDEXED = {
    "opportunity": [("account", text_key("r.data->>'account'")),
                    ("amount", number_key("(r.data->'amount'->>'amount')")),
                    ("close_date", "(r.data->>'close_date')"),
                    ("stage", text_key("r.data->>'stage'"))],
    "account": [("name", text_key("r.data->>'name'")),
                ("account_type", text_key("r.data->>'account_type'")),
                ("lifecycle", text_key("r.data->>'lifecycle'"))],
}


def derived_keys(entity, where):
    """SELECT of (tenant_id, record_id, entity, field, key) derived from data for `where`."""
    values = ", ".join(f"('{field}', {expression})" for field, expression in INDEXED[entity])
    return (f"SELECT r.tenant_id, r.id, r.entity, k.field, k.key FROM records r "
            f"CROSS JOIN LATERAL (VALUES {values}) AS k (field, key) "
            f"WHERE r.entity = '{entity}' AND k.key IS NOT NULL AND {where}")


def check_index_derivation(owner_url, tenant_id, api_ids):
    """The engine's rows for the API-created records against the SQL derivation, row by row."""
    lines, ok = [], True
    for entity, record_id in api_ids.items():
        engine = rows(rb.psql(owner_url, tenant_sql(tenant_id, f"""
SELECT field, key FROM record_index WHERE record_id = '{record_id}' ORDER BY field;""")))
        derived = rows(rb.psql(owner_url, tenant_sql(tenant_id, f"""
SELECT field, key FROM ({derived_keys(entity, f"r.id = '{record_id}'")}) AS d (t, i, e, field, key) ORDER BY field;""")))
        same = engine == derived
        ok &= same
        lines.append(f"keys        {entity} {record_id} (created through the API): "
                     f"{'engine rows = SQL derivation' if same else 'MISMATCH'}")
        for field, key in engine:
            lines.append(f"              engine  {field:12s} {key}")
        if not same:
            for field, key in derived:
                lines.append(f"              derived {field:12s} {key}")
    return ok, lines


# --- seed ----------------------------------------------------------------------------------------

def seed(owner_url, tenant_id, owners, stages, accounts, opportunities, seed_value):
    """Accounts and opportunities with one INSERT … SELECT each, their index rows, ANALYZE."""
    owner_values = ", ".join(f"({n}, '{uid}'::uuid)" for n, uid in enumerate(owners))
    stage_values = ", ".join(f"({s['position']}, '{s['id']}', {s['probability']})" for s in stages)
    bounds, total = [], 0
    for weight in STAGE_WEIGHTS:
        total += weight
        bounds.append(total)
    pick = " ".join(f"WHEN v.s < {bound / total} THEN {position}" for position, bound in enumerate(bounds[:-1], start=1))
    stage_case = f"(CASE {pick} ELSE {len(bounds)} END)"
    body = f"""
SELECT setseed({(seed_value % 1000) / 1000.0}) \\g /dev/null
CREATE TEMP TABLE seed_owners ON COMMIT DROP AS
    SELECT o.n, o.id, u.department_id FROM (VALUES {owner_values}) AS o (n, id) JOIN users u ON u.id = o.id;
CREATE TEMP TABLE seed_stages (position int, id text, probability numeric) ON COMMIT DROP;
INSERT INTO seed_stages VALUES {stage_values};
CREATE TEMP TABLE seed_accounts ON COMMIT DROP AS
WITH v AS MATERIALIZED (
    SELECT g, floor(random() * {len(owners)})::int AS o, (ARRAY['customer', 'prospect', 'partner'])[1 + floor(random() * 3)::int] AS kind
    FROM generate_series(1, {accounts}) AS g),
ins AS (
    INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search)
    SELECT '{tenant_id}'::uuid, 'account', w.id, w.department_id, w.id, w.id,
           jsonb_build_object('name', 'Account ' || lpad(v.g::text, 5, '0'), 'lifecycle', 'prospect', 'account_type', v.kind),
           lower('Account ' || lpad(v.g::text, 5, '0'))
    FROM v JOIN seed_owners w ON w.n = v.o
    RETURNING id)
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM ins;
CREATE TEMP TABLE seed_opportunities ON COMMIT DROP AS
WITH v AS MATERIALIZED (
    SELECT g, random() AS s, floor(random() * {len(owners)})::int AS o, floor(random() * {accounts})::int AS a,
           round((1000 + random() * 999000)::numeric, 2) AS amount,
           make_date(2026, 1 + floor(random() * 12)::int, 1 + floor(random() * 28)::int) AS close_date,
           timestamp '2026-01-01' + floor(random() * 300)::int * interval '1 day' + floor(random() * 86400)::int * interval '1 second' AS changed
    FROM generate_series(1, {opportunities}) AS g),
x AS MATERIALIZED (
    SELECT v.*, st.id AS stage, st.probability FROM v JOIN seed_stages st ON st.position = {stage_case}),
ins AS (
    INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search)
    SELECT '{tenant_id}'::uuid, 'opportunity', w.id, w.department_id, w.id, w.id,
           jsonb_build_object('name', 'Opportunity ' || lpad(x.g::text, 6, '0'), 'stage', x.stage,
                              'amount', jsonb_build_object('amount', x.amount::text, 'currency', 'CNY'),
                              'account', a.id::text, 'close_date', to_char(x.close_date, 'YYYY-MM-DD'),
                              'probability', x.probability::text,
                              'weighted_amount', jsonb_build_object('amount', round(x.amount * x.probability / 100, 2)::text, 'currency', 'CNY'),
                              'stage_changed_at', to_char(x.changed, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
           lower('Opportunity ' || lpad(x.g::text, 6, '0'))
    FROM x JOIN seed_owners w ON w.n = x.o JOIN seed_accounts a ON a.n = x.a
    RETURNING id)
SELECT id FROM ins;
INSERT INTO record_index (tenant_id, record_id, entity, field, key)
    {derived_keys("account", "r.id IN (SELECT id FROM seed_accounts)")};
INSERT INTO record_index (tenant_id, record_id, entity, field, key)
    {derived_keys("opportunity", "r.id IN (SELECT id FROM seed_opportunities)")};
SELECT (SELECT count(*) FROM seed_accounts), (SELECT count(*) FROM seed_opportunities),
       (SELECT count(*) FROM record_index WHERE record_id IN (SELECT id FROM seed_accounts UNION ALL SELECT id FROM seed_opportunities));
"""
    started = time.perf_counter()
    counts = rows(rb.psql(owner_url, tenant_sql(tenant_id, body)))[-1]
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    rb.psql(owner_url, "ANALYZE records; ANALYZE record_index;")
    return {"accounts": int(counts[0]), "opportunities": int(counts[1]), "keys": int(counts[2]),
            "seconds": seconds, "analyze_seconds": time.perf_counter() - started}


def check_seed_shape(owner_url, tenant_id, api_opportunity):
    """The seeded data has the keys and value formats of the API-created opportunity."""
    fmt = ("concat_ws(',', (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(r.data) AS k), "
           "r.data->'amount'->>'amount' ~ '^[0-9]+\\.[0-9]{2}$', r.data->'weighted_amount'->>'amount' ~ '^[0-9]+\\.[0-9]{2}$', "
           "r.data->>'close_date' ~ '^\\d{4}-\\d{2}-\\d{2}$', r.data->>'stage_changed_at' ~ '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$', "
           "r.data->>'probability' ~ '^[0-9]+$', r.data->>'account' ~ '^[0-9a-f-]{36}$', r.data->>'stage' ~ '^[0-9a-f-]{36}$', "
           "r.data->'weighted_amount'->>'amount' = round((r.data->'amount'->>'amount')::numeric * (r.data->>'probability')::numeric / 100, 2)::text)")
    shapes = rows(rb.psql(owner_url, tenant_sql(tenant_id, f"""
SELECT r.id = '{api_opportunity}', {fmt}, count(*) FROM records r WHERE r.entity = 'opportunity' GROUP BY 1, 2 ORDER BY 1 DESC;""")))
    api = [shape for shape in shapes if shape[0] == "t"]
    seeded = [shape for shape in shapes if shape[0] == "f"]
    ok = len(api) == 1 and len(seeded) == 1 and api[0][1] == seeded[0][1]
    return ok, f"shape       API opportunity {api[0][1] if api else '?'} | seeded ({len(seeded)} shape(s)) " + \
        "; ".join(f"{s[1]} ×{s[2]}" for s in seeded)


# --- expected figures in SQL, and what the API says ---------------------------------------------

def sql_money(value):
    return f"coalesce(sum({value}), 0)::numeric(20, 2)::text"


def expected_funnel(owner_url, tenant_id, owner=None):
    scope = f"AND r.owner_id = '{owner}'" if owner else ""
    result = rows(rb.psql(owner_url, tenant_sql(tenant_id, f"""
SELECT r.data->>'stage', count(*), {sql_money("(r.data->'amount'->>'amount')::numeric")},
       {sql_money("(r.data->'weighted_amount'->>'amount')::numeric")}
FROM records r WHERE r.entity = 'opportunity' AND r.deleted_at IS NULL {scope} GROUP BY 1;""")))
    return {stage: (int(count), amount, weighted) for stage, count, amount, weighted in result}


def expected_forecast(owner_url, tenant_id, open_ids, owner=None):
    scope = f"AND r.owner_id = '{owner}'" if owner else ""
    ids = ", ".join(f"'{i}'" for i in open_ids)
    result = rows(rb.psql(owner_url, tenant_sql(tenant_id, f"""
SELECT left(r.data->>'close_date', 7), count(*), {sql_money("(r.data->'amount'->>'amount')::numeric")},
       {sql_money("(r.data->'weighted_amount'->>'amount')::numeric")}
FROM records r WHERE r.entity = 'opportunity' AND r.deleted_at IS NULL AND r.data->>'stage' IN ({ids}) {scope} GROUP BY 1 ORDER BY 1;""")))
    return {month: (int(count), amount, weighted) for month, count, amount, weighted in result}


def compare(label, api, expected, keys, names=None):
    """Lines printing both sides; ok when every key matches exactly."""
    ok = True
    lines = [f"check       {label}"]
    for key in keys:
        got, want = api.get(key, (0, "0.00", "0.00")), expected.get(key, (0, "0.00", "0.00"))
        same = got == want
        ok &= same
        name = names.get(key, key) if names else key
        lines.append(f"              {name:15s} API {got[0]:6d} {got[1]:>16s} {got[2]:>16s} | SQL {want[0]:6d} {want[1]:>16s} "
                     f"{want[2]:>16s}  {'ok' if same else 'MISMATCH'}")
    extra = set(api) - set(keys)
    if extra:
        ok = False
        lines.append(f"              API has groups SQL has not: {sorted(extra)}")
    return ok, lines


def api_funnel(client):
    return {row["stage"]["id"]: (int(row["count"]), row["amount"], row["weighted"])
            for row in client.json("GET", "/api/v1/sales/reports/funnel")["stages"]}


def api_forecast(client):
    return {row["month"]: (int(row["count"]), row["amount"], row["weighted"])
            for row in client.json("GET", "/api/v1/sales/reports/forecast")["months"]}


def yuan(text):
    """DisplayFormat.money for CNY as the page shows it: ¥12,345.50."""
    value = Decimal(text)
    return ("-" if value < 0 else "") + "¥" + f"{abs(value):,.2f}"


def page_funnel(html):
    """The funnel table of /app/sales/reports: stage label → (count, amount, weighted) as shown."""
    found = {}
    for row in re.findall(r'<tr data-stage-kind="[a-z]+" data-testid="funnel-row">(.*?)</tr>', html, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if len(cells) >= 5:
            found[cells[0]] = (int(cells[2]), cells[3], cells[4])
    return found


# --- sessions and timing -------------------------------------------------------------------------

def sign_in_session(port, slug, email, password):
    """A client signed in like a browser: session cookie from POST /login, no API token."""
    client = rb.Client(port, slug)
    status, page = client.request("GET", "/login", headers={"Accept": "text/html"})
    csrf = rb.hidden_input(page, "_csrf")
    if status != 200 or not csrf:
        raise rb.BenchError(f"GET /login answered {status} without a _csrf field")
    status, text = client.request("POST", "/login", {"email": email, "password": password, "_csrf": csrf},
                                  headers={"Accept": "text/html"}, form=True)
    if status != 303 or "atrium_session" not in client.cookies:
        raise rb.BenchError(f"POST /login answered {status} without a session cookie: {text[:300]}")
    return client


# --- the same SQL through pgbench ----------------------------------------------------------------

AGGREGATE = ("SELECT {group}, count(*)::int, coalesce(sum(((r.data->'amount')->>'amount')::numeric), 0)::text, "
             "coalesce(sum(((r.data->'weighted_amount')->>'amount')::numeric), 0)::text "
             "FROM records r WHERE r.tenant_id = :tenant AND r.entity = :entity AND r.deleted_at IS NULL{more} "
             "GROUP BY 1 ORDER BY 1;")


def pgbench_scripts(work_dir, open_ids):
    """The statements RecordEngine.aggregate runs for each report, parameters as pgbench variables."""
    scope = (" AND (r.owner_id = :me OR EXISTS (SELECT 1 FROM record_shares sh WHERE sh.tenant_id = r.tenant_id "
             "AND sh.record_id = r.id AND ((sh.grantee_kind = 'user' AND sh.grantee_id = :me) "
             "OR (sh.grantee_kind = 'role' AND sh.grantee_id = ANY(:roles::uuid[])))))")
    keys = ", ".join(f"'{i}'" for i in open_ids)
    forecast = (f" AND (EXISTS (SELECT 1 FROM record_index ix WHERE ix.tenant_id = :tenant AND ix.entity = 'opportunity' "
                f"AND ix.field = 'stage' AND ix.key IN ({keys}) AND ix.record_id = r.id) AND (r.data->>'stage') IN ({keys}))")
    statements = {
        "funnel_admin": AGGREGATE.format(group="r.data->>'stage'", more=""),
        "funnel_seller": AGGREGATE.format(group="r.data->>'stage'", more=scope),
        "forecast_admin": AGGREGATE.format(group="left(r.data->>'close_date', 7)", more=forecast),
    }
    paths = {}
    for name, statement in statements.items():
        paths[name] = os.path.join(work_dir, f"{name}.pgbench")
        with open(paths[name], "w", encoding="utf-8") as script:
            script.write(f"BEGIN;\nSELECT set_config('app.tenant_id', :tenant, true), set_config('jit', 'off', true);\n{statement}\nCOMMIT;\n")
    return paths


def explain(app_url, tenant_id, script, variables):
    """EXPLAIN (ANALYZE, BUFFERS) of a script's aggregate statement as the application role, the
    pgbench variables inlined as literals: top cost, execution and JIT time, sort spills."""
    with open(script, encoding="utf-8") as text:
        statement = [line for line in text.read().splitlines() if line.startswith("SELECT ") and "set_config" not in line][0]
    statement = re.sub(r"(?<!:):(tenant|entity|me|roles)\b", lambda m: f"'{variables[m.group(1)]}'", statement)
    plan = rb.psql(app_url, tenant_sql(tenant_id, f"EXPLAIN (ANALYZE, BUFFERS) {statement}"))
    cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", plan)
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    jit = re.search(r"JIT:.*?Timing:.*?Total ([\d.]+) ms", plan, re.S)
    spills = re.findall(r"Sort Method: external merge\s+Disk: (\d+)kB", plan)
    return {"cost": float(cost.group(1)) if cost else float("nan"),
            "execution": float(execution.group(1)) if execution else float("nan"),
            "jit": float(jit.group(1)) if jit else None,
            "spill_kb": sum(int(kb) for kb in spills), "plan": plan.strip("\n")}


# --- main ----------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description="Atrium sales reports benchmark (prints figures; fails only on wrong numbers).")
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests (and pgbench transactions) per line (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls (and pgbench transactions) before each line (default 3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-dir", default=DEFAULT_PG_DIR, help="throwaway cluster when DATABASE_URL is not set (default /tmp/pgbench-sales)")
    parser.add_argument("--keep", action="store_true", help="keep the tenant's data (and a cluster this bench started)")
    args = parser.parse_args()
    if args.opportunities < 1 or args.accounts < 1 or args.requests < 1 or args.warmup < 0:
        parser.error("--opportunities, --accounts and --requests must be >= 1, --warmup >= 0")
    for binary in (rb.DEFAULT_SERVER, rb.ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"sales_bench: {binary} is missing (a build may be running); wait for it. This bench never runs swift build.")
    began = time.perf_counter()
    load_before = os.getloadavg()
    env, started_dir = database(args.pg_dir)
    app_url, owner_url = env["DATABASE_URL"], env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-sales-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = None
    slug = tenant_id = None
    step = "setup"
    report = []
    failed = False
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        seller_email, other_email = f"seller@{slug}.test", f"other@{slug}.test"
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", seller_email, "--name", "Salesperson", "--password", PASSWORD, "--locale", "en")
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", other_email, "--name", "Other owner", "--password", PASSWORD, "--locale", "en")
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        admin = rb.Client(port, slug)
        admin_token = admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        users = {u["email"]: u["id"].lower() for u in admin.json("GET", "/api/v1/admin/users")["users"]}
        admin.json("PATCH", f"/api/v1/admin/users/{users[seller_email]}", {"roles": ["salesperson"]})
        owners = [users[f"admin@{slug}.test"], users[seller_email], users[other_email]]
        stages = admin.json("GET", "/api/v1/sales_stage?sort=position")["records"]
        if len(stages) != 6:
            raise rb.BenchError(f"expected the 6 seeded sales stages, found {len(stages)}")
        stages = [{"id": s["id"].lower(), "position": int(s["position"]), "probability": s["probability"], "kind": s["kind"],
                   "name": s.get("name_en") or s["name"]} for s in stages]
        open_ids = [s["id"] for s in stages if s["kind"] == "open"]
        names = {s["id"]: s["name"] for s in stages}
        rb.log(f"setup: server on port {port}; users admin, salesperson, other; stages "
               + ", ".join(f"{s['name']} {s['probability']}% {s['kind']}" for s in stages))

        step = "keys"
        account = admin.json("POST", "/api/v1/account", {"name": "API Account Ltd"}, expected=201)
        opportunity = admin.json("POST", "/api/v1/opportunity", {
            "name": "API deal", "account": account["id"].upper(), "amount": {"amount": "12345.5", "currency": "CNY"},
            "close_date": "2026-12-31", "stage": stages[2]["id"].upper()}, expected=201)
        ok, lines = check_index_derivation(owner_url, tenant_id, {"account": account["id"], "opportunity": opportunity["id"]})
        report += lines
        rb.log("\n".join(lines))
        if not ok:
            raise rb.BenchError("the SQL derivation of the index keys does not match what FieldIndex wrote; not seeding")

        step = "seed"
        rb.log(f"seed: {args.accounts} accounts and {args.opportunities} opportunities with INSERT … SELECT generate_series …")
        seeded = seed(owner_url, tenant_id, owners, stages, args.accounts, args.opportunities, args.seed)
        rb.log(f"seed: {seeded['accounts']} accounts + {seeded['opportunities']} opportunities + {seeded['keys']} record_index rows "
               f"in {seeded['seconds']:.1f} s, ANALYZE {seeded['analyze_seconds']:.1f} s")
        ok, line = check_seed_shape(owner_url, tenant_id, opportunity["id"])
        report.append(line)
        rb.log(line)
        if not ok:
            raise rb.BenchError("seeded opportunities differ in shape from the API-created one")

        step = "check"
        seller = rb.Client(port, slug)
        seller_token = seller.sign_in_and_create_token(seller_email, PASSWORD)
        stage_ids = [s["id"] for s in stages]
        checks = [
            ("funnel, administrator (all opportunities)", api_funnel(admin), expected_funnel(owner_url, tenant_id), stage_ids, names),
            ("funnel, salesperson (own)", api_funnel(seller), expected_funnel(owner_url, tenant_id, users[seller_email]), stage_ids, names),
        ]
        for label, client, owner in (("forecast, administrator", admin, None), ("forecast, salesperson (own)", seller, users[seller_email])):
            expected = expected_forecast(owner_url, tenant_id, open_ids, owner)
            got = api_forecast(client)
            checks.append((label, got, expected, sorted(set(expected) | set(got)), None))
        browser = sign_in_session(port, slug, f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        status, html = browser.request("GET", "/app/sales/reports", headers={"Accept": "text/html"})
        if status != 200:
            raise rb.BenchError(f"GET /app/sales/reports answered {status}: {html[:300]}")
        admin_expected = checks[0][2]
        page_expected = {names[i]: (c, yuan(a), yuan(w)) for i, (c, a, w) in admin_expected.items()}
        checks.append(("page /app/sales/reports funnel table, administrator", page_funnel(html), page_expected,
                       [s["name"] for s in stages], None))
        for label, got, expected, keys, key_names in checks:
            ok, lines = compare(label, got, expected, keys, key_names)
            failed |= not ok
            rb.log("\n".join(lines))
            count = sum(expected.get(key, (0,))[0] for key in keys)
            report.append(f"check       {label}: {len(keys)} groups, {count} opportunities — "
                          + ("API = SQL (counts and sums)" if ok else "MISMATCH (see above)"))
        status, text = admin.request("GET", "/api/v1/opportunity?limit=1")
        total = json.loads(text)["total"] if status == 200 else -1
        sql_total = sum(v[0] for v in admin_expected.values())
        report.append(f"check       GET /api/v1/opportunity total (admin) {total}, SQL count {sql_total} — "
                      + ("equal" if total == sql_total else "MISMATCH"))
        rb.log(report[-1])
        failed |= total != sql_total
        if failed:
            raise rb.BenchError("report figures differ from SQL (see the MISMATCH lines above)")

        step = "time"
        results = {}
        plan = [
            ("funnel API, administrator", admin, "/api/v1/sales/reports/funnel", "application/json"),
            ("funnel API, salesperson (own)", seller, "/api/v1/sales/reports/funnel", "application/json"),
            ("forecast API, administrator", admin, "/api/v1/sales/reports/forecast", "application/json"),
            ("reports page, administrator", browser, "/app/sales/reports", "text/html"),
        ]
        for label, client, path, accept in plan:
            rb.log(f"time: {label}: {args.warmup} warm-up + {args.requests} requests …")
            results[label] = rb.timed_get(client, path, accept, args.requests, args.warmup)
            rb.log(f"time: {label}: {rb.fmt_latency(results[label][0])}")
        for client in (admin, seller, browser):
            client.close()

        step = "sql"
        roles = rb.psql(owner_url, tenant_sql(tenant_id, f"SELECT '{{' || string_agg(role_id::text, ',') || '}}' FROM user_roles "
                                                         f"WHERE user_id = '{users[seller_email]}';")).strip()
        scripts = pgbench_scripts(work_dir, open_ids)
        variables = {"tenant": tenant_id, "entity": "opportunity", "me": users[seller_email], "roles": roles}
        sql = {}
        for name, script in scripts.items():
            rb.run_pgbench(app_url, script, max(args.warmup, 1), variables, work_dir, f"warm_{name}")
            sql[name] = rb.run_pgbench(app_url, script, args.requests, variables, work_dir, name)
            if sql[name]["failed"]:
                raise rb.BenchError(f"pgbench {name}: {sql[name]['failed']} failed transactions")
            rb.log(f"sql: {name}: {rb.fmt_latency(sql[name]['latency'])}")
        with open(scripts["funnel_admin"], encoding="utf-8") as script:
            rb.log("sql: pgbench script (funnel, administrator):\n    " + script.read().strip().replace("\n", "\n    "))

        step = "plan"
        plans = {}
        for name, script in scripts.items():
            plans[name] = explain(app_url, tenant_id, script, variables)
            rb.log(f"plan: {name}, EXPLAIN (ANALYZE, BUFFERS) as the application role:\n    " + plans[name]["plan"].replace("\n", "\n    "))
    except rb.BenchError as error:
        print(f"sales_bench: {step} failed: {error}\n--- server log (last lines of {log_path}) ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sales_bench: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # an unexpected answer: say where, keep the server log
        print(f"sales_bench: {step} failed: {type(error).__name__}: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_server(server)
        if started_dir:
            if args.keep:
                rb.log(f"cleanup: kept the cluster in {started_dir} (env in {started_dir}/env; stop with scripts/pg-cluster.sh stop {started_dir})")
            else:
                stop_database(started_dir)
        elif tenant_id and not args.keep:
            try:
                rb.cleanup(env, owner_url, slug, tenant_id)
            except rb.BenchError as error:
                print(f"sales_bench: cleanup failed: {error}", file=sys.stderr)

    seconds = time.perf_counter() - began
    pairs = {"funnel API, administrator": "funnel_admin", "funnel API, salesperson (own)": "funnel_seller",
             "forecast API, administrator": "forecast_admin"}
    sql_labels = {"funnel_admin": "funnel SQL, administrator (no scope)", "funnel_seller": "funnel SQL, salesperson (own scope)",
                  "forecast_admin": "forecast SQL, administrator (stage keys)"}
    lines = ["==================== sales_bench summary ====================",
             f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} (fsync {machine['fsync']}) "
             f"| server .build/debug/atrium",
             f"data        {seeded['opportunities'] + 1} opportunities ({seeded['opportunities']} seeded + 1 via API), "
             f"{seeded['accounts'] + 1} accounts, 3 owners, 6 stages, 12 close months; seeded with {seeded['keys']} "
             f"record_index rows in {seeded['seconds']:.1f} s",
             f"requests    {args.requests} per line after {args.warmup} warm-up, one keep-alive connection; "
             f"SQL: pgbench -M extended -c 1 -t {args.requests}, app role, BEGIN + set_config + aggregate + COMMIT"]
    lines += [line for line in report if line.startswith(("keys", "shape", "check"))]
    for label, (summary, size) in results.items():
        lines.append(f"{label:42s} p50 {summary['p50']:8.1f} ms  p99 {summary['p99']:8.1f} ms  ({size} bytes)")
    for name, label in sql_labels.items():
        summary = sql[name]["latency"]
        lines.append(f"{label:42s} p50 {summary['p50']:8.1f} ms  p99 {summary['p99']:8.1f} ms")
    for name, label in sql_labels.items():
        plan = plans[name]
        lines.append(f"plan        {name:15s} cost {plan['cost']:9.0f} | execution {plan['execution']:7.1f} ms | "
                     + (f"JIT {plan['jit']:7.1f} ms" if plan["jit"] is not None else "no JIT") + " | "
                     + (f"sort spilled {plan['spill_kb'] // 1024} MB to disk" if plan["spill_kb"] else "no sort spill"))
    for label, name in pairs.items():
        api, db = results[label][0], sql[name]["latency"]
        lines.append(f"ratio       {label} / SQL: p50 {api['p50'] / db['p50']:.2f}x, p99 {api['p99'] / db['p99']:.2f}x")
    page, funnel = results["reports page, administrator"][0], sql["funnel_admin"]["latency"]
    lines.append(f"ratio       reports page / funnel SQL (admin): p50 {page['p50'] / funnel['p50']:.2f}x "
                 f"(the page runs funnel, forecast, win rates, durations, targets and ageing)")
    load_after = os.getloadavg()
    lines.append(f"run time    {seconds:.0f} s | load average (1/5/15 min) at start {load_before[0]:.2f} {load_before[1]:.2f} "
                 f"{load_before[2]:.2f}, at end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
                 f"(the client, server and PostgreSQL share {os.cpu_count()} cores; other load skews the figures)")
    lines.append("=============================================================")
    rb.log("\n".join(lines))
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

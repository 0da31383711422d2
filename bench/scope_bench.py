#!/usr/bin/env python3
"""Data-scope benchmark: the same filtered list through the API as an administrator (no scope
predicate), a sales manager (department_tree) and a salesperson (own), on --rows records of one
tenant spread over --owners owners in a 4-region × 3-branch department tree. Prints p50/p99 per
caller and the ratio scoped / unscoped, all measured in one run. No thresholds.

    scripts/with-test-db.sh python3 bench/scope_bench.py
    set -a; . var/pg/env; set +a; python3 bench/scope_bench.py [--rows 100000 --queries 300]

Needs DATABASE_URL, DATABASE_OWNER_URL, psql and the built .build/debug/atrium(-admin).
Reuses the client and helpers of bench/records_bench.py.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402

PASSWORD = "Scope-bench-horse-7"


def create_org(admin):
    """HQ → 4 regions → 3 branches each; returns the branch ids and the region of each branch."""
    hq = admin.json("POST", "/api/v1/admin/departments", {"name": "HQ"}, expected=201)["id"]
    branches, region_of = [], {}
    for r in range(4):
        region = admin.json("POST", "/api/v1/admin/departments", {"name": f"Region {r}", "parent_id": hq}, expected=201)["id"]
        for b in range(3):
            branch = admin.json("POST", "/api/v1/admin/departments", {"name": f"Branch {r}.{b}", "parent_id": region}, expected=201)["id"]
            branches.append(branch)
            region_of[branch] = region
    return hq, branches, region_of


def make_user(env, slug, email, name):
    rb.run_admin(env, "user", "create", "--tenant", slug, "--email", email, "--name", name, "--password", PASSWORD, "--locale", "en")


def user_ids(admin):
    return {u["email"]: u["id"] for u in admin.json("GET", "/api/v1/admin/users")["users"]}


def bulk_owners(owner_url, tenant_id, count, branches, seed):
    """Record owners without sign-in (their password hash is a placeholder), spread over branches."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        branch = branches[index % len(branches)]
        rows.append(f"('{tenant_id}', 'owner{index}@scope.test', 'Owner {index}', '$argon2id$placeholder', '{branch}')")
    rng.shuffle(rows)
    rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
INSERT INTO users (tenant_id, email, display_name, password_hash, department_id) VALUES {", ".join(rows)};
COMMIT;
""")


def bulk_records(owner_url, tenant_id, rows, seed):
    """Records with random budgets, each owned by a random user of the tenant, department = owner's."""
    rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
SELECT setseed({(seed % 1000) / 1000.0}) \\g /dev/null
CREATE TEMP TABLE owners ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id, department_id FROM users;
INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search)
SELECT '{tenant_id}'::uuid, '{rb.ENTITY}', o.id, o.department_id, o.id, o.id,
       jsonb_build_object('x_name', 'Item ' || g, 'x_budget', (floor(random() * {rb.BUDGET_MAX})::int)::text), 'item ' || g
FROM generate_series(1, {rows}) AS g
JOIN owners o ON o.n = 1 + (g % (SELECT count(*) FROM owners));
COMMIT;
ANALYZE records;
""")


def timed_lists(port, slug, token, queries, seed, warmup=10):
    """Sequential filtered lists (x_budget between [a, a+5000], sort -x_budget, limit 50)."""
    rng = random.Random(seed)
    client = rb.Client(port, slug, token)
    latencies, totals = [], []
    try:
        for index in range(warmup + queries):
            low = rng.randrange(rb.BUDGET_MAX - 5000)
            flt = json.dumps({"field": "x_budget", "op": "between", "value": [str(low), str(low + 5000)]}, separators=(",", ":"))
            path = f"/api/v1/{rb.ENTITY}?filter={urllib.parse.quote(flt)}&sort=-x_budget&limit=50"
            started = time.perf_counter()
            status, text = client.request("GET", path)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise rb.BenchError(f"GET {path} answered {status}: {text[:300]}")
            if index >= warmup:
                latencies.append(elapsed)
                totals.append(json.loads(text)["total"])
    finally:
        client.close()
    return {"latency": rb.latency_summary(latencies), "mean_total": sum(totals) / len(totals)}


def main():
    parser = argparse.ArgumentParser(description="Atrium data-scope benchmark (prints figures, no thresholds).")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=60)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    env = rb.environment()
    owner_url = env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-scope-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = None
    slug = tenant_id = None
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        admin = rb.Client(port, slug)
        admin_token = admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rb.create_object(admin)
        hq, branches, region_of = create_org(admin)
        make_user(env, slug, f"manager@{slug}.test", "Region manager")
        make_user(env, slug, f"seller@{slug}.test", "Salesperson")
        bulk_owners(owner_url, tenant_id, args.owners, branches, args.seed)
        ids = user_ids(admin)
        region = region_of[branches[0]]
        admin.json("PATCH", f"/api/v1/admin/users/{ids[f'manager@{slug}.test']}", {"department_id": region, "roles": ["sales_manager"]})
        admin.json("PATCH", f"/api/v1/admin/users/{ids[f'seller@{slug}.test']}", {"department_id": branches[0], "roles": ["salesperson"]})
        rb.log(f"setup: 16 departments, {args.owners + 3} users; inserting {args.rows} records …")
        started = time.perf_counter()
        bulk_records(owner_url, tenant_id, args.rows, args.seed)
        rb.log(f"setup: records inserted in {time.perf_counter() - started:.1f} s; building x_budget keys …")
        rb.rebuild_keys(port, slug, admin_token, owner_url)
        admin.close()
        tokens = {"admin (no scope)": admin_token}
        for label, email in (("manager (department_tree)", f"manager@{slug}.test"), ("salesperson (own)", f"seller@{slug}.test")):
            client = rb.Client(port, slug)
            tokens[label] = client.sign_in_and_create_token(email, PASSWORD)
            client.close()
        results = {}
        for label, token in tokens.items():
            rb.log(f"{label}: {args.queries} filtered lists …")
            results[label] = timed_lists(port, slug, token, args.queries, args.seed)
    except rb.BenchError as error:
        print(f"scope_bench failed: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_and_clean_up("scope_bench", server, env, owner_url, slug, tenant_id)
    base = results["admin (no scope)"]["latency"]["p50"]
    lines = ["==================== scope_bench summary ====================",
             f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server .build/debug/atrium",
             f"data        {args.rows} records of one tenant, {args.owners} owners over 12 branches in 4 regions; "
             f"x_budget between [a, a+5000], sort -x_budget, limit 50, {args.queries} queries each"]
    for label, result in results.items():
        p50 = result["latency"]["p50"]
        lines.append(f"{label:27s} {rb.fmt_latency(result['latency'])} | matched {result['mean_total']:.0f} rows/query | "
                     f"p50 ratio to unscoped {p50 / base:.2f}x")
    lines.append("=============================================================")
    rb.log("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Daily-work benchmark (issue 15): the timeline of an account with --activities follow-ups,
the calendar month of a manager of --team salespeople (each with --events events and a
weekly series in the month), and the customer pool (公海) on a tenant of --rows accounts — a salesperson's ordinary account
list and the pool's list next to each other, claims one by one, and one reclaim run that takes
--idle idle accounts back. Prints p50/p99 and rows/s, all from one run. No thresholds.

    scripts/with-test-db.sh python3 bench/activities_bench.py --server .build/release/atrium
    set -a; . var/pg/env; set +a; python3 bench/activities_bench.py [--rows 100000 --activities 5000]

Needs DATABASE_URL, DATABASE_OWNER_URL, psql and a built atrium(-admin). The follow-ups are
logged through the API (so their index keys and the last activity date are the server's own);
the accounts are inserted by SQL in the tenant's RLS context. Reuses bench/records_bench.py's
client and helpers.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402

PASSWORD = "Pool-bench-lark-4"


def timed(client, method, path, count, warmup=5, body=None, expect=200):
    latencies = []
    for index in range(warmup + count):
        started = time.perf_counter()
        status, text = client.request(method, path, body)
        elapsed = (time.perf_counter() - started) * 1000
        if status != expect:
            raise rb.BenchError(f"{method} {path} answered {status}: {text[:300]}")
        if index >= warmup:
            latencies.append(elapsed)
    return rb.latency_summary(latencies)


def web_client(port, slug, email, password):
    """A signed-in browser session (cookies), for the pages."""
    client = rb.Client(port, slug)
    status, page = client.request("GET", "/login", headers={"Accept": "text/html"})
    csrf = rb.hidden_input(page, "_csrf")
    status, text = client.request("POST", "/login", {"email": email, "password": password, "_csrf": csrf},
                                  headers={"Accept": "text/html"}, form=True)
    if status != 303:
        raise rb.BenchError(f"POST /login answered {status}: {text[:300]}")
    return client


def bulk_accounts(owner_url, tenant_id, rows, owner_id, department_id):
    """`rows` accounts of one owner, made 90 days ago (so they are idle unless followed up)."""
    rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search, created_at, updated_at)
SELECT '{tenant_id}'::uuid, 'account', '{owner_id}'::uuid, {f"'{department_id}'::uuid" if department_id else 'NULL'}, '{owner_id}'::uuid,
       '{owner_id}'::uuid, jsonb_build_object('name', '客户 ' || g, 'account_type', 'customer'), '客户 ' || g,
       now() - interval '90 days', now() - interval '90 days'
FROM generate_series(1, {rows}) AS g;
COMMIT;
ANALYZE records;
""")


def calendar_month(env, port, slug, admin, department, args):
    """A sales manager over --team salespeople of one department; each has --events single
    events spread over the month and a weekly Monday/Wednesday series through it, written by
    the administrator on their behalf. Reads the manager's team month through the API and
    the month view page."""
    rb.log(f"creating a team of {args.team} with {args.events} events and a weekly series each …")
    rb.run_admin(env, "user", "create", "--tenant", slug, "--email", f"manager@{slug}.test", "--name", "李经理",
                 "--password", PASSWORD, "--locale", "zh-CN")
    for index in range(args.team):
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", f"team{index}@{slug}.test", "--name", f"销售 {index}",
                     "--password", PASSWORD, "--locale", "zh-CN")
    users = {u["email"]: u["id"] for u in admin.json("GET", "/api/v1/admin/users")["users"]}
    admin.json("PATCH", f"/api/v1/admin/users/{users[f'manager@{slug}.test']}", {"department_id": department, "roles": ["sales_manager"]})
    team = [users[f"team{index}@{slug}.test"] for index in range(args.team)]
    for member in team:
        admin.json("PATCH", f"/api/v1/admin/users/{member}", {"department_id": department, "roles": ["salesperson"],
                                                               "manager_id": users[f"manager@{slug}.test"]})
    month = time.strftime("%Y-%m", time.gmtime())
    year, number = (int(part) for part in month.split("-"))
    import datetime
    monday = next(day for day in range(1, 8) if datetime.date(year, number, day).weekday() == 0)  # a series starts on one of its weekdays
    started = time.perf_counter()

    def write(member):
        client = rb.Client(port, slug, admin.token)
        try:
            for index in range(args.events):
                day = 1 + index % 28
                hour = 1 + index % 8
                client.json("POST", "/api/v1/event", {
                    "subject": f"拜访客户 {index}", "owner_id": member,
                    "starts_at": f"{month}-{day:02d}T{hour:02d}:00:00Z", "ends_at": f"{month}-{day:02d}T{hour:02d}:45:00Z"}, expected=201)
            client.json("POST", "/api/v1/event", {
                "subject": "部门例会", "owner_id": member, "starts_at": f"{month}-{monday:02d}T01:00:00Z", "ends_at": f"{month}-{monday:02d}T02:00:00Z",
                "recurrence": "weekly", "recurrence_weekdays": ["mo", "we"], "recurrence_count": 12}, expected=201)
        finally:
            client.close()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, team))
    written = time.perf_counter() - started
    rb.psql(env["DATABASE_OWNER_URL"], "ANALYZE;")  # as autovacuum would within a minute (see the timeline's note)
    manager = rb.Client(port, slug)
    manager.sign_in_and_create_token(f"manager@{slug}.test", PASSWORD)
    browser = web_client(port, slug, f"manager@{slug}.test", PASSWORD)
    first = f"{month}-01"
    last = f"{month}-{[31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][number - 1]:02d}"
    status, text = manager.request("GET", f"/api/v1/calendar?from={first}&to={last}&scope=team")
    if status != 200:
        raise rb.BenchError(f"team calendar answered {status}: {text[:300]}")
    occurrences = len(json.loads(text).get("items", []))
    figures = {
        "calendar_setup": f"{args.team} salespeople, {args.team * (args.events + 1)} events written in {written:.1f} s; "
                          f"the team's month holds {occurrences} items",
        "calendar_api": timed(manager, "GET", f"/api/v1/calendar?from={first}&to={last}&scope=team", args.requests // 2),
        "calendar_page": timed(browser, "GET", f"/app/calendar?view=month&date={first}&scope=team", args.requests // 2),
    }
    manager.close()
    browser.close()
    return figures


def main():
    parser = argparse.ArgumentParser(description="Atrium daily-work benchmark (prints figures, no thresholds).")
    parser.add_argument("--server", default=rb.DEFAULT_SERVER)
    parser.add_argument("--rows", type=int, default=100_000, help="accounts of the salesperson")
    parser.add_argument("--activities", type=int, default=5_000, help="follow-ups on one account")
    parser.add_argument("--pool", type=int, default=10_000, help="accounts moved into the pool before the lists")
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--idle", type=int, default=20_000, help="accounts the reclaim run takes back")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--team", type=int, default=50, help="salespeople under the manager whose calendar is read")
    parser.add_argument("--events", type=int, default=20, help="single events per salesperson in the month (plus a weekly series)")
    args = parser.parse_args()
    env = rb.environment()
    owner_url = env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-activities-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = None
    slug = tenant_id = None
    figures = {}
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        port = rb.free_port()
        server = rb.start_server(args.server, env, port, log_path)
        admin = rb.Client(port, slug)
        admin_token = admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rb.run_admin(env, "tenant", "limits", slug, "--max-records", "10000000")
        department = admin.json("POST", "/api/v1/admin/departments", {"name": "华东"}, expected=201)["id"]
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", f"seller@{slug}.test", "--name", "王芳",
                     "--password", PASSWORD, "--locale", "zh-CN")
        seller_id = next(u["id"] for u in admin.json("GET", "/api/v1/admin/users")["users"] if u["email"] == f"seller@{slug}.test")
        admin.json("PATCH", f"/api/v1/admin/users/{seller_id}", {"department_id": department, "roles": ["salesperson"]})
        seller = rb.Client(port, slug)
        seller.sign_in_and_create_token(f"seller@{slug}.test", PASSWORD)
        browser = web_client(port, slug, f"seller@{slug}.test", PASSWORD)

        # --- timeline of an account with many follow-ups ----------------------------------
        account = admin.json("POST", "/api/v1/account", {"name": "上海明远贸易有限公司", "owner_id": seller_id}, expected=201)["id"]
        rb.log(f"logging {args.activities} follow-ups on one account through the API …")
        started = time.perf_counter()

        def log_some(offset):
            client = rb.Client(port, slug, admin_token)
            try:
                for index in range(offset, args.activities, 4):
                    day = 1 + index % 700
                    client.json("POST", "/api/v1/activity", {
                        "kind": "call", "subject": f"回访 {index}", "related_entity": "account", "related_id": account,
                        "occurred_at": time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(time.time() - day * 86400)),
                    }, expected=201)
            finally:
                client.close()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(log_some, range(4)))
        logged = time.perf_counter() - started
        figures["log"] = f"{args.activities} follow-ups logged in {logged:.1f} s ({args.activities / logged:.0f}/s, 4 clients)"
        # Right after the burst the planner's statistics are stale: the first requests took ~5 s
        # each until autovacuum's analyze ran (~10 requests). The figures are for after it.
        figures["first_timeline"] = timed(seller, "GET", f"/api/v1/account/{account}/timeline?limit=100", 1, warmup=0)
        rb.psql(owner_url, "ANALYZE;")
        figures["timeline_api"] = timed(seller, "GET", f"/api/v1/account/{account}/timeline?limit=100", args.requests)
        figures["record_page"] = timed(browser, "GET", f"/app/account/{account}", args.requests // 2)

        # --- a manager's calendar month ------------------------------------------------------
        figures.update(calendar_month(env, port, slug, admin, department, args))

        # --- the pool -----------------------------------------------------------------------
        rb.log(f"inserting {args.rows} accounts of the salesperson …")
        bulk_accounts(owner_url, tenant_id, args.rows, seller_id, department)
        pool = admin.json("POST", "/api/v1/admin/pools", {"entity": "account", "name": "公司公海"}, expected=201)["id"]
        rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
UPDATE records SET owner_id = NULL, pool_id = '{pool}', department_id = NULL
WHERE id IN (SELECT id FROM records WHERE entity = 'account' AND owner_id = '{seller_id}' ORDER BY id LIMIT {args.pool});
COMMIT;
ANALYZE records;
""")
        figures["own_list"] = timed(seller, "GET", "/api/v1/account?limit=50&sort=-created_at", args.requests)
        figures["pool_list"] = timed(seller, "GET", f"/api/v1/account?pool={pool}&limit=50&sort=-created_at", args.requests)
        figures["pool_page"] = timed(browser, "GET", f"/app/account?pool={pool}", args.requests // 2)
        waiting = seller.json("GET", f"/api/v1/account?pool={pool}&limit={min(200, args.claims)}")["records"]
        ids = [record["id"] for record in waiting][: args.claims]
        latencies = []
        for record_id in ids:
            started = time.perf_counter()
            status, text = seller.request("POST", f"/api/v1/account/{record_id}/claim")
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise rb.BenchError(f"claim answered {status}: {text[:300]}")
        figures["claim"] = rb.latency_summary(latencies)

        # Reclaim: the pool takes back accounts idle for 30 days — the salesperson's oldest
        # --idle ones (created 90 days ago, never followed up); the rest were "followed up" today.
        admin.json("PATCH", f"/api/v1/admin/pools/{pool}", {"idle_days": 30})
        rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
UPDATE records SET last_activity_at = now()
WHERE entity = 'account' AND owner_id = '{seller_id}'
  AND id NOT IN (SELECT id FROM records WHERE entity = 'account' AND owner_id = '{seller_id}' ORDER BY id LIMIT {args.idle});
COMMIT;
ANALYZE records;
""")
        started = time.perf_counter()
        status, text = admin.request("POST", "/api/v1/admin/pools/reclaim")
        reclaim_seconds = time.perf_counter() - started
        if status != 200:
            raise rb.BenchError(f"reclaim answered {status}: {text[:300]}")
        taken = json.loads(text)["taken"].get(pool, 0)
        figures["reclaim"] = f"{taken} accounts taken back in {reclaim_seconds:.1f} s ({taken / max(reclaim_seconds, 0.001):.0f}/s, audited one by one)"
        figures["explain_pool"] = rb.psql(owner_url, f"""
BEGIN;
SELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY ON)
SELECT r.id FROM records r WHERE r.tenant_id = '{tenant_id}' AND r.entity = 'account' AND r.deleted_at IS NULL
  AND (r.owner_id = '{seller_id}' OR r.pool_id = ANY(ARRAY['{pool}']::uuid[])) AND r.pool_id = '{pool}'
ORDER BY r.created_at DESC, r.id LIMIT 50;
COMMIT;
""").strip()
        seller.close()
        browser.close()
        admin.close()
    except rb.BenchError as error:
        print(f"activities_bench failed: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_and_clean_up("activities_bench", server, env, owner_url, slug, tenant_id)
    lines = ["================ activities_bench summary ================",
             f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server {args.server}",
             f"timeline    {figures['log']}",
             f"            the first timeline read right after the burst (stale statistics) {rb.fmt_latency(figures['first_timeline'])}",
             f"            GET /api/v1/account/{{id}}/timeline?limit=100  {rb.fmt_latency(figures['timeline_api'])}",
             f"            record page with the timeline panel           {rb.fmt_latency(figures['record_page'])}",
             f"calendar    {figures['calendar_setup']}",
             f"            GET /api/v1/calendar (team, month)            {rb.fmt_latency(figures['calendar_api'])}",
             f"            month view page, team                         {rb.fmt_latency(figures['calendar_page'])}",
             f"pool        {args.rows} accounts of a salesperson, {args.pool} of them in the company pool",
             f"            her account list (own scope, limit 50)        {rb.fmt_latency(figures['own_list'])}",
             f"            the pool's list (?pool=, limit 50)           {rb.fmt_latency(figures['pool_list'])}",
             f"            the pool's list page                          {rb.fmt_latency(figures['pool_page'])}",
             f"            claim, {len(latencies)} one after another            {rb.fmt_latency(figures['claim'])}",
             f"            reclaim: {figures['reclaim']}",
             "plan of the pool's list:", figures["explain_pool"],
             "=========================================================="]
    rb.log("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

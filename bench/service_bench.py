#!/usr/bin/env python3
"""Service desk benchmark: the agent's desk (JSON and page), the service analysis and the SLA
sweep on --cases service cases of one tenant (default 100 000). Prints p50/p99 per request and
the sweep's duration as the server's scheduler ran it. The correctness check is strict: after
the first sweep exactly the seeded cases whose due time has passed are breached and claimed
once in service_escalations_sent, and a second sweep changes nothing; else the bench fails.

    python3 bench/service_bench.py                              # own throwaway cluster in /tmp/pgbench-service
    set -a; . var/pg/env; set +a; python3 bench/service_bench.py  # or any cluster: DATABASE_URL + DATABASE_OWNER_URL
    python3 bench/service_bench.py --cases 20000 --requests 10    # a quick run

Steps:
  setup   cluster as bench/sales_bench.py, tenant bench-<hex> (enterprise: the service module
          on, its settings and SLA policies seeded), an agent (`service_agent`) and a second
          owner, a manual queue with the agent as member, server on a free port with the
          scheduler on.
  seed    one case created through the API is the template: --cases copies with INSERT …
          SELECT generate_series as the schema owner — 10 % running (in progress, owned in
          turn by the agent, the administrator and the second owner; --breached of them due in
          the past, the others due in 2030), 1 % new in the queue, the rest closed (a third of
          them with a satisfaction score) — and their record_index rows (the template's keys,
          status / SLA status / due times derived from the copy's data); then ANALYZE. Search
          tokens are not seeded (nothing here searches).
  time    after --warmup calls, --requests sequential calls on one keep-alive connection:
          GET /api/v1/service/queue and /app/service/queue as the agent (token / signed-in
          session), GET /api/v1/service/analysis as the administrator (every case).
  sweep   the `service.sla_sweep` row of scheduler_jobs is made due; the server's scheduler
          (tick 15 s) runs it; its duration is last_finished_at − last_started_at. Twice:
          the first run writes the new breaches and escalates them, the second finds nothing new.

Needs psql and the built .build/debug/atrium and atrium-admin; it never builds them.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402
import sales_bench as sb  # noqa: E402

PASSWORD = "Service-bench-horse-5"
DEFAULT_PG_DIR = "/tmp/pgbench-service"
# Fields whose value the seed varies; the template's other index keys are copied as they are.
VARIED = {
    "status": "left(lower(r.data->>'status'), 200)",
    "sla_status": "left(lower(r.data->>'sla_status'), 200)",
    "response_due_at": "(r.data->>'response_due_at')",
    "resolution_due_at": "(r.data->>'resolution_due_at')",
    "satisfaction": sb.number_key("(r.data->>'satisfaction')"),
}


def seed(owner_url, tenant_id, template_id, owners, cases, breached):
    owner_values = ", ".join(f"({n}, '{uid}'::uuid)" for n, uid in enumerate(owners))
    running = max(breached, cases // 10)
    waiting_new = max(1, cases // 100)
    varied = ", ".join(f"'{field}'" for field in VARIED)
    keys = ", ".join(f"('{field}', {expression})" for field, expression in VARIED.items())
    body = f"""
CREATE TEMP TABLE seed_owners ON COMMIT DROP AS
    SELECT o.n, o.id, u.department_id FROM (VALUES {owner_values}) AS o (n, id) JOIN users u ON u.id = o.id;
CREATE TEMP TABLE seed_cases ON COMMIT DROP AS
WITH t AS (SELECT data FROM records WHERE id = '{template_id}'),
v AS MATERIALIZED (
    SELECT g,
           CASE WHEN g <= {running} THEN 'in_progress' WHEN g <= {running + waiting_new} THEN 'new' ELSE 'closed' END AS status,
           CASE WHEN g <= {breached} THEN '2026-01-05T02:00:00Z' ELSE '2030-01-07T02:00:00Z' END AS due
    FROM generate_series(1, {cases}) AS g),
ins AS (
    INSERT INTO records (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search)
    SELECT '{tenant_id}'::uuid, 'service_case', w.id, w.department_id, w.id, w.id,
           t.data || jsonb_build_object('number', 'CS-B-' || lpad(v.g::text, 6, '0'), 'subject', 'Bench case ' || v.g,
                                        'status', v.status, 'sla_status', 'ok',
                                        'response_due_at', v.due, 'resolution_due_at', v.due)
                  || CASE WHEN v.status = 'closed' THEN jsonb_build_object('first_response_at', '2026-01-05T01:30:00Z',
                                                                           'resolved_at', '2026-01-05T01:45:00Z', 'closed_at', '2026-01-06T01:00:00Z')
                          WHEN v.status = 'in_progress' THEN jsonb_build_object('first_response_at', '2026-01-05T01:30:00Z')
                          ELSE '{{}}'::jsonb END
                  || CASE WHEN v.status = 'closed' AND v.g % 3 = 0 THEN jsonb_build_object('satisfaction', (1 + v.g % 5)::text) ELSE '{{}}'::jsonb END,
           lower('Bench case ' || v.g)
    FROM v CROSS JOIN t JOIN seed_owners w ON w.n = v.g % {len(owners)}
    RETURNING id)
SELECT id FROM ins;
INSERT INTO record_index (tenant_id, record_id, entity, field, key)
    SELECT k.tenant_id, s.id, k.entity, k.field, k.key FROM seed_cases s CROSS JOIN record_index k
    WHERE k.record_id = '{template_id}' AND k.field NOT IN ({varied});
INSERT INTO record_index (tenant_id, record_id, entity, field, key)
    SELECT r.tenant_id, r.id, r.entity, k.field, k.key FROM records r JOIN seed_cases s ON s.id = r.id
    CROSS JOIN LATERAL (VALUES {keys}) AS k (field, key) WHERE k.key IS NOT NULL;
INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access, created_by)
    SELECT '{tenant_id}'::uuid, r.id, 'user', '{owners[0]}'::uuid, 'write', '{owners[1]}'::uuid
    FROM records r JOIN seed_cases s ON s.id = r.id WHERE r.data->>'status' = 'new';
SELECT count(*), (SELECT count(*) FROM record_index WHERE record_id IN (SELECT id FROM seed_cases)) FROM seed_cases;
"""
    started = time.perf_counter()
    counts = sb.rows(rb.psql(owner_url, sb.tenant_sql(tenant_id, body)))[-1]
    seconds = time.perf_counter() - started
    rb.psql(owner_url, "ANALYZE records; ANALYZE record_index; ANALYZE record_shares;")
    return {"cases": int(counts[0]), "keys": int(counts[1]), "running": running, "new": waiting_new, "seconds": seconds}


def sweep(owner_url, tenant_id, timeout):
    """Makes the sweep due and waits for the server's scheduler to run it; its seconds."""
    rb.psql(owner_url, "UPDATE scheduler_jobs SET next_run_at = now() - interval '1 second', held_until = NULL WHERE job = 'service.sla_sweep';")
    mark = rb.psql(owner_url, "SELECT now();").strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = rb.psql(owner_url, f"""SELECT extract(epoch FROM last_finished_at - last_started_at), coalesce(last_error, '')
            FROM scheduler_jobs WHERE job = 'service.sla_sweep' AND last_started_at >= '{mark}'::timestamptz AND held_until IS NULL
            AND last_finished_at >= last_started_at;""").strip()
        if out:
            seconds, error = out.split("|", 1)
            if error:
                raise rb.BenchError(f"the sweep failed: {error[:500]}")
            return float(seconds)
        time.sleep(1)
    raise rb.BenchError(f"the sweep did not finish within {timeout} s")


def sweep_state(owner_url, tenant_id):
    out = sb.rows(rb.psql(owner_url, sb.tenant_sql(tenant_id, """
SELECT (SELECT count(*) FROM records WHERE entity = 'service_case' AND data->>'sla_status' = 'breached'),
       (SELECT count(*) FROM service_escalations_sent),
       (SELECT count(*) FROM notifications WHERE kind = 'service.sla_breached');""")))[-1]
    return tuple(int(value) for value in out)


def main():
    parser = argparse.ArgumentParser(description="Atrium service desk benchmark (prints figures; fails only on wrong results).")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--breached", type=int, default=200, help="running cases seeded with a due time in the past (default 200)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sweep-timeout", type=int, default=1800)
    parser.add_argument("--pg-dir", default=DEFAULT_PG_DIR)
    args = parser.parse_args()
    if args.cases < 10 or args.breached < 1 or args.breached > args.cases // 10 or args.requests < 1:
        parser.error("--cases >= 10, 1 <= --breached <= cases/10, --requests >= 1")
    for binary in (rb.DEFAULT_SERVER, rb.ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"service_bench: {binary} is missing; build first. This bench never runs swift build.")
    began = time.perf_counter()
    load_before = os.getloadavg()
    env, started_dir = sb.database(args.pg_dir)
    env = dict(env, ATRIUM_SCHEDULER="true", ATRIUM_OUTBOX_WORKER="false")
    owner_url = env["DATABASE_OWNER_URL"]
    log_path = os.path.join(tempfile.mkdtemp(prefix="atrium-service-bench-"), "server.log")
    server = None
    slug = tenant_id = None
    report = []
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        agent_email, other_email = f"agent@{slug}.test", f"other@{slug}.test"
        for email, name in ((agent_email, "Agent"), (other_email, "Other owner")):
            rb.run_admin(env, "user", "create", "--tenant", slug, "--email", email, "--name", name, "--password", PASSWORD, "--locale", "en")
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        admin = rb.Client(port, slug)
        admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        users = {u["email"]: u["id"].lower() for u in admin.json("GET", "/api/v1/admin/users")["users"]}
        admin.json("PATCH", f"/api/v1/admin/users/{users[agent_email]}", {"roles": ["service_agent"], "manager_id": users[f"admin@{slug}.test"]})
        owners = [users[agent_email], users[f"admin@{slug}.test"], users[other_email]]
        queue = admin.json("POST", "/api/v1/service_queue", {"name": "Bench desk", "rule": "manual"}, expected=201)["id"]
        admin.json("POST", "/api/v1/service_queue_member", {"queue": queue, "member": users[agent_email]}, expected=201)
        template = admin.json("POST", "/api/v1/service_case", {"subject": "Template", "priority": "normal", "queue": queue}, expected=201)

        rb.log(f"seed: {args.cases} cases with INSERT … SELECT generate_series …")
        seeded = seed(owner_url, tenant_id, template["id"].lower(), owners, args.cases, args.breached)
        line = (f"seed        {seeded['cases']} cases ({seeded['running']} in progress, {args.breached} of them overdue; "
                f"{seeded['new']} new in the queue; the rest closed) + {seeded['keys']} record_index rows in {seeded['seconds']:.1f} s")
        report.append(line)
        rb.log(line)

        agent = rb.Client(port, slug)
        agent.sign_in_and_create_token(agent_email, PASSWORD)
        desk = agent.json("GET", "/api/v1/service/queue")
        # Open (in progress or new) cases owned by the agent: every g with g % 3 == 0.
        expected_mine = (seeded["running"] + seeded["new"]) // 3
        if desk["my_cases_total"] != min(expected_mine, 1000) or len(desk["my_cases"]) != min(100, expected_mine):
            raise rb.BenchError(f"the desk shows {len(desk['my_cases'])} of {desk['my_cases_total']} open cases; expected {expected_mine}")
        page_client = sb.sign_in_session(port, slug, agent_email, PASSWORD)
        for label, client, path, accept in (
            ("desk JSON, agent", agent, "/api/v1/service/queue", "application/json"),
            ("desk page, agent", page_client, "/app/service/queue", "text/html"),
            ("analysis JSON, administrator", admin, "/api/v1/service/analysis", "application/json"),
        ):
            summary, size = rb.timed_get(client, path, accept, args.requests, args.warmup)
            line = f"time        {label:32s} {rb.fmt_latency(summary)}  ({size} bytes)"
            report.append(line)
            rb.log(line)

        for run in (1, 2):
            seconds = sweep(owner_url, tenant_id, args.sweep_timeout)
            breached, claimed, told = sweep_state(owner_url, tenant_id)
            line = (f"sweep {run}     {seeded['running'] + seeded['new']} running cases: {seconds:.2f} s; breached {breached}, "
                    f"escalations claimed {claimed}, breach notifications {told}")
            report.append(line)
            rb.log(line)
            if breached != args.breached or claimed != args.breached:
                raise rb.BenchError(f"after sweep {run}: {breached} breached and {claimed} claimed; expected {args.breached} each")
    except rb.BenchError as error:
        rb.log(f"service_bench FAILED: {error}")
        rb.log(rb.log_tail(log_path))
        return 1
    finally:
        rb.stop_server(server)
        if started_dir:
            sb.stop_database(started_dir)
    rb.log("\n--- summary ---")
    rb.log(f"machine     {machine}")
    rb.log(f"load        before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; total {time.perf_counter() - began:.0f} s")
    for line in report:
        rb.log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

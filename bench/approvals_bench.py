#!/usr/bin/env python3
"""Approvals benchmark: the approval engine's inbox and its approve action on --submissions
pending expense-claim submissions (default 1000) of one tenant, next to the inbox's main SQL
straight to PostgreSQL through pgbench, all in one run. Prints p50/p99 per request and the ratio
API / SQL. Fails (exit 1) when an API answer is wrong: a seeding call that is refused, an inbox
without the expected waiting items, an approval that does not finish its submission, or counts
in the database that differ from the approvals made.

    python3 bench/approvals_bench.py                                  # own throwaway cluster in /tmp/pgbench-approvals
    set -a; . var/pg/env; set +a; python3 bench/approvals_bench.py    # or any cluster: DATABASE_URL + DATABASE_OWNER_URL
    python3 bench/approvals_bench.py --submissions 300 --approvals 100   # a quick run

Steps:
  setup   a PostgreSQL cluster (DATABASE_URL/DATABASE_OWNER_URL from the environment, else
          scripts/pg-cluster.sh in --pg-dir with fsync off, stopped and removed afterwards),
          migrate, tenant bench-<hex> on plan enterprise (expenses module on), two users with
          `atrium-admin user create`: a manager (role sales_manager) and an employee (role
          salesperson) whose manager_id is the manager (PATCH /api/v1/admin/users/{id}); a
          process for expense_claim with one step, approvers [{"kind": "manager"}], priority 10
          (before the module's default process, priority 1000); server on a free port.
  seed    --submissions times, through the HTTP API as the employee, --workers threads with one
          keep-alive connection each: POST /api/v1/expense_claim, POST /api/v1/expense_line (one
          line, travel, today), POST /api/v1/approvals/records/expense_claim/{id}/submit. Each
          submit answer must be pending at step 0 with exactly one pending task for the manager;
          its task id is kept. Timed: submissions/s and requests/s.
  inbox   GET /api/v1/approvals/inbox as the manager: --warmup untimed, then --requests timed on
          one keep-alive connection; the answer must list min(N, 200) waiting items, all pending
          tasks of the manager from the seed, step 1, none on behalf of someone else.
  sql     the inbox's main statement (pending tasks of the caller or of whom the caller stands in
          for today, ORDER BY activated_at, id LIMIT 200) in BEGIN; set_config('app.tenant_id'),
          jit off; …; COMMIT through pgbench -M extended -c 1 as the application role, after a
          warm-up run; p50/p99 from pgbench's per-transaction log; ratio API / SQL. The API also
          resolves the tenant, checks the token, loads the 200 instances and records one by
          one, the entities and people's names; the SQL side is that one statement only.
  approve POST /api/v1/approvals/tasks/{id}/approve as the manager on --approvals distinct tasks
          (oldest first), one after another on one keep-alive connection; the process has one
          step, so each answer must say the submission is approved. Then in SQL: approved
          instances = approvals made, pending = N − approvals, approved claims = approvals, and
          the inbox lists min(N − approvals, 200) items again.

Needs psql and pgbench, and the built .build/debug/atrium and atrium-admin; it never builds
them. Reuses the helpers of bench/records_bench.py and bench/sales_bench.py. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402
import sales_bench as sb  # noqa: E402

PASSWORD = "Approvals-bench-horse-5"
DEFAULT_PG_DIR = "/tmp/pgbench-approvals"
INBOX_LIMIT = 200  # ApprovalEngine.inbox: LIMIT 200 on the waiting tasks

# ApprovalEngine.inbox's first statement, the caller as :me (taskColumns, Self.today).
INBOX_SQL = ("SELECT t.id, t.instance_id, t.step, t.approver_id, t.status, t.decided_by, t.comment, t.activated_at, t.decided_at "
             "FROM approval_tasks t "
             "WHERE t.status = 'pending' AND (t.approver_id = :me OR t.approver_id IN ("
             "SELECT user_id FROM approval_delegations WHERE delegate_id = :me "
             "AND (now() AT TIME ZONE 'Asia/Shanghai')::date BETWEEN starts_on AND ends_on)) "
             "ORDER BY t.activated_at, t.id LIMIT 200;")


def today_shanghai():
    """ExpenseAnalysis.today(): the tenants' calendar day (Asia/Shanghai, UTC+8, no DST)."""
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date().isoformat()


# --- seed ----------------------------------------------------------------------------------------

def seed(port, slug, token, manager_id, travel_id, count, workers):
    """`count` claims with one line each, submitted, through the API with `workers` threads.
    Returns the task ids (in submission order per worker) and timings; raises on a wrong answer."""
    tasks = [None] * count
    latencies = {"claim": [], "line": [], "submit": []}
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers + 1)
    day = today_shanghai()

    def work(index):
        client = rb.Client(port, slug, token)
        mine = {"claim": [], "line": [], "submit": []}
        try:
            barrier.wait()
            for number in range(index, count, workers):
                if errors:
                    return
                try:
                    started = time.perf_counter()
                    claim = client.json("POST", "/api/v1/expense_claim", {"title": f"Bench trip {number:05d}"}, expected=201)
                    mine["claim"].append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    client.json("POST", "/api/v1/expense_line", {
                        "claim": claim["id"], "category": travel_id, "date": day,
                        "amount": f"{100 + number % 900}.{number % 100:02d}", "description": f"Bench trip {number:05d} taxi"}, expected=201)
                    mine["line"].append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    instance = client.json("POST", f"/api/v1/approvals/records/expense_claim/{claim['id']}/submit",
                                           {"comment": "bench"}, expected=201)
                    mine["submit"].append((time.perf_counter() - started) * 1000)
                    pending = [t for s in instance["steps"] for t in s["tasks"] if t["status"] == "pending"]
                    if (instance["status"] != "pending" or instance["current_step"] != 0 or len(instance["steps"]) != 1
                            or len(pending) != 1 or pending[0]["approver_id"].lower() != manager_id):
                        raise rb.BenchError(f"submit of claim {claim['id']} answered an unexpected instance: {json.dumps(instance)[:600]}")
                    tasks[number] = (pending[0]["id"].lower(), instance["id"].lower(), claim["id"].lower())
                except Exception as error:  # noqa: BLE001 - reported by the main thread
                    with lock:
                        errors.append(f"submission {number}: {type(error).__name__}: {error}")
                    return
        finally:
            with lock:
                for key in latencies:
                    latencies[key] += mine[key]
            client.close()

    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise rb.BenchError(f"seeding failed ({len(errors)} error(s)); first: {errors[0]}")
    return {"tasks": tasks, "seconds": seconds, "per_second": count / seconds, "requests_per_second": 3 * count / seconds,
            "latency": {key: rb.latency_summary(values) for key, values in latencies.items()}}


# --- checks --------------------------------------------------------------------------------------

def check_inbox(client, manager_id, pending_tasks):
    """The manager's inbox lists min(len(pending_tasks), 200) waiting items, all from pending_tasks."""
    inbox = client.json("GET", "/api/v1/approvals/inbox")
    waiting = inbox["waiting"]
    expected = min(len(pending_tasks), INBOX_LIMIT)
    wrong = [item for item in waiting
             if item["task_id"].lower() not in pending_tasks or item["status"] != "pending" or item["step"] != 1
             or item["on_behalf_of"] is not None or item["entity"] != "expense_claim"
             or not str(item.get("title", "")).startswith("Bench trip")]
    ids = {item["task_id"].lower() for item in waiting}
    ok = len(waiting) == expected and not wrong and len(ids) == len(waiting)
    line = (f"check       inbox (manager): {len(waiting)} waiting items, expected min({len(pending_tasks)}, {INBOX_LIMIT}) = {expected}; "
            f"copied {len(inbox['copied'])}, submitted {len(inbox['submitted'])} — " + ("ok" if ok else "WRONG"))
    if wrong:
        line += f"\n              first unexpected item: {json.dumps(wrong[0])[:500]}"
    return ok, line, waiting


def db_counts(owner_url, tenant_id):
    result = sb.rows(rb.psql(owner_url, sb.tenant_sql(tenant_id, """
SELECT (SELECT count(*) FROM approval_instances WHERE status = 'approved'),
       (SELECT count(*) FROM approval_instances WHERE status = 'pending'),
       (SELECT count(*) FROM approval_tasks WHERE status = 'approved'),
       (SELECT count(*) FROM approval_tasks WHERE status = 'pending'),
       (SELECT count(*) FROM records WHERE entity = 'expense_claim' AND deleted_at IS NULL AND data->>'status' = 'approved'),
       (SELECT count(*) FROM records WHERE entity = 'expense_claim' AND deleted_at IS NULL AND data->>'status' = 'submitted');""")))[-1]
    keys = ["instances_approved", "instances_pending", "tasks_approved", "tasks_pending", "claims_approved", "claims_submitted"]
    return dict(zip(keys, (int(value) for value in result)))


# --- approve ------------------------------------------------------------------------------------

def approve(client, tasks):
    """POST approve on each task in turn; each answer must be the finished, approved instance."""
    latencies = []
    started_all = time.perf_counter()
    for task_id, instance_id, _claim in tasks:
        started = time.perf_counter()
        status, text = client.request("POST", f"/api/v1/approvals/tasks/{task_id}/approve", {"comment": "ok"})
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise rb.BenchError(f"approve of task {task_id} answered {status}: {text[:500]}")
        instance = json.loads(text)
        decided = [t for s in instance["steps"] for t in s["tasks"] if t["id"].lower() == task_id]
        if (instance["id"].lower() != instance_id or instance["status"] != "approved" or instance["current_step"] is not None
                or not instance["finished_at"] or len(decided) != 1 or decided[0]["status"] != "approved"):
            raise rb.BenchError(f"approve of task {task_id} did not finish its submission: {text[:600]}")
    seconds = time.perf_counter() - started_all
    return {"count": len(tasks), "seconds": seconds, "per_second": len(tasks) / seconds, "latency": rb.latency_summary(latencies)}


# --- main ----------------------------------------------------------------------------------------

def cleanup(env, slug):
    """Suspends and deletes the bench tenant (every row of it, in every table)."""
    rb.run_admin(env, "tenant", "suspend", slug)
    rb.run_admin(env, "tenant", "delete", slug, "--confirm", slug)


def main():
    parser = argparse.ArgumentParser(description="Atrium approvals benchmark (prints figures; fails only on wrong answers).")
    parser.add_argument("--submissions", type=int, default=1000, help="pending expense-claim submissions seeded through the API (default 1000)")
    parser.add_argument("--requests", type=int, default=30, help="timed inbox requests (and pgbench transactions) (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed inbox requests (and pgbench transactions) first (default 3)")
    parser.add_argument("--approvals", type=int, default=200, help="distinct tasks approved, one request each (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent API clients while seeding (default 4)")
    parser.add_argument("--pg-dir", default=DEFAULT_PG_DIR, help="throwaway cluster when DATABASE_URL is not set (default /tmp/pgbench-approvals)")
    parser.add_argument("--keep", action="store_true", help="keep the tenant (and a cluster this bench started)")
    args = parser.parse_args()
    if args.submissions < 1 or args.requests < 1 or args.warmup < 0 or args.workers < 1 or not 1 <= args.approvals <= args.submissions:
        parser.error("--submissions, --requests, --workers >= 1, --warmup >= 0, 1 <= --approvals <= --submissions")
    for binary in (rb.DEFAULT_SERVER, rb.ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"approvals_bench: {binary} is missing (a build may be running); wait for it. This bench never runs swift build.")
    if not rb.postgres_tool("pgbench"):
        sys.exit("approvals_bench: pgbench is not installed (package postgresql-contrib or the server package)")
    began = time.perf_counter()
    load_before = os.getloadavg()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("DATABASE_OWNER_URL")) and os.path.exists(args.pg_dir):
        sys.exit(f"approvals_bench: {args.pg_dir} already exists; remove it (stop its cluster first: "
                 f"scripts/pg-cluster.sh stop {args.pg_dir}) or pass --pg-dir.")
    env, started_dir = sb.database(args.pg_dir)  # the environment's cluster, else a throwaway one in --pg-dir
    app_url, owner_url = env["DATABASE_URL"], env["DATABASE_OWNER_URL"]
    work_dir = tempfile.mkdtemp(prefix="atrium-approvals-bench-")
    log_path = os.path.join(work_dir, "server.log")
    server = None
    slug = tenant_id = None
    step = "setup"
    report = []
    try:
        machine = rb.machine_info(owner_url)
        slug, tenant_id = rb.setup(env)
        manager_email, employee_email = f"manager@{slug}.test", f"employee@{slug}.test"
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", manager_email, "--name", "Bench Manager", "--password", PASSWORD, "--locale", "en")
        rb.run_admin(env, "user", "create", "--tenant", slug, "--email", employee_email, "--name", "Bench Employee", "--password", PASSWORD, "--locale", "en")
        port = rb.free_port()
        server = rb.start_server(rb.DEFAULT_SERVER, env, port, log_path)
        admin = rb.Client(port, slug)
        admin.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        users = {u["email"]: u["id"].lower() for u in admin.json("GET", "/api/v1/admin/users")["users"]}
        manager_id, employee_id = users[manager_email], users[employee_email]
        admin.json("PATCH", f"/api/v1/admin/users/{manager_id}", {"roles": ["sales_manager"]})
        patched = admin.json("PATCH", f"/api/v1/admin/users/{employee_id}", {"manager_id": manager_id, "roles": ["salesperson"]})
        shown = {u["email"]: u for u in admin.json("GET", "/api/v1/admin/users")["users"]}
        if str(shown[employee_email].get("manager_id") or "").lower() != manager_id:
            raise rb.BenchError(f"the employee's manager_id was not set: {json.dumps(patched)[:400]}")
        process = admin.json("POST", "/api/v1/admin/approval-processes", {
            "entity": "expense_claim", "name": "Bench: manager only", "priority": 10,
            "steps": [{"name": "Manager", "approvers": [{"kind": "manager"}]}]}, expected=201)
        categories = admin.json("GET", "/api/v1/expense_category?limit=50")["records"]
        travel = [c["id"] for c in categories if c.get("code") == "travel"]
        if not travel:
            raise rb.BenchError(f"no expense category 'travel' (is the expenses module on?): {json.dumps(categories)[:300]}")
        admin.close()
        employee = rb.Client(port, slug)
        employee_token = employee.sign_in_and_create_token(employee_email, PASSWORD)
        employee.close()
        manager = rb.Client(port, slug)
        manager.sign_in_and_create_token(manager_email, PASSWORD)
        rb.log(f"setup: server on port {port}; manager {manager_id}, employee {employee_id} (manager_id = manager); "
               f"process {process['id']} for expense_claim: one step, approvers manager, priority 10")

        step = "seed"
        n = args.submissions
        rb.log(f"seed: {n} claims + lines + submissions through the API as the employee, {args.workers} workers …")
        seeded = seed(port, slug, employee_token, manager_id, travel[0], n, args.workers)
        latency = seeded["latency"]
        rb.log(f"seed: {n} submissions ({3 * n} requests) in {seeded['seconds']:.1f} s = {seeded['per_second']:.1f} submissions/s, "
               f"{seeded['requests_per_second']:.1f} requests/s; p50 claim {latency['claim']['p50']:.1f} / line {latency['line']['p50']:.1f} / "
               f"submit {latency['submit']['p50']:.1f} ms")
        counts = db_counts(owner_url, tenant_id)
        ok = counts["instances_pending"] == n and counts["tasks_pending"] == n and counts["claims_submitted"] == n
        report.append(f"check       after seeding: {counts['instances_pending']} pending instances, {counts['tasks_pending']} pending tasks, "
                      f"{counts['claims_submitted']} claims 'submitted' (expected {n} each) — " + ("ok" if ok else "WRONG"))
        rb.log(report[-1])
        if not ok:
            raise rb.BenchError("the database does not hold the submissions the API acknowledged")
        rb.psql(owner_url, "ANALYZE approval_tasks; ANALYZE approval_instances; ANALYZE approval_delegations; ANALYZE records;")

        step = "inbox"
        pending = {task for task, _, _ in seeded["tasks"]}
        ok, line, waiting = check_inbox(manager, manager_id, pending)
        report.append(line)
        rb.log(line)
        if not ok:
            raise rb.BenchError("the inbox does not list the manager's waiting tasks")
        rb.log(f"inbox: {args.warmup} warm-up + {args.requests} requests …")
        inbox_latency, inbox_bytes = rb.timed_get(manager, "/api/v1/approvals/inbox", "application/json", args.requests, args.warmup)
        rb.log(f"inbox: {rb.fmt_latency(inbox_latency)} ({inbox_bytes} bytes)")

        step = "sql"
        script = os.path.join(work_dir, "inbox.pgbench")
        with open(script, "w", encoding="utf-8") as text:
            text.write(f"BEGIN;\nSELECT set_config('app.tenant_id', :tenant, true), set_config('jit', 'off', true);\n{INBOX_SQL}\nCOMMIT;\n")
        variables = {"tenant": tenant_id, "me": manager_id}
        rb.run_pgbench(app_url, script, max(args.warmup, 1), variables, work_dir, "warm_inbox")
        sql = rb.run_pgbench(app_url, script, args.requests, variables, work_dir, "inbox")
        if sql["failed"]:
            raise rb.BenchError(f"pgbench inbox: {sql['failed']} failed transactions")
        returned = sb.rows(rb.psql(app_url, sb.tenant_sql(tenant_id, "SELECT count(*) FROM (" + INBOX_SQL.rstrip(";").replace(":me", f"'{manager_id}'") + ") AS q;")))[-1][0]
        if int(returned) != min(n, INBOX_LIMIT):
            raise rb.BenchError(f"the inbox SQL returns {returned} rows as the application role, expected {min(n, INBOX_LIMIT)}")
        rb.log(f"sql: inbox statement ({returned} rows): {rb.fmt_latency(sql['latency'])}")
        with open(script, encoding="utf-8") as text:
            rb.log("sql: pgbench script:\n    " + text.read().strip().replace("\n", "\n    "))

        step = "approve"
        oldest = [task for task in seeded["tasks"] if task[0] in {item["task_id"].lower() for item in waiting}]
        order = {item["task_id"].lower(): position for position, item in enumerate(waiting)}
        chosen = sorted(oldest, key=lambda task: order[task[0]])
        rest = [task for task in seeded["tasks"] if task[0] not in order]
        chosen = (chosen + rest)[:args.approvals]
        rb.log(f"approve: {len(chosen)} distinct tasks, one request each, one keep-alive connection …")
        approved = approve(manager, chosen)
        rb.log(f"approve: {approved['count']} in {approved['seconds']:.1f} s = {approved['per_second']:.1f} approvals/s; "
               f"{rb.fmt_latency(approved['latency'])}")
        counts = db_counts(owner_url, tenant_id)
        a = approved["count"]
        ok = (counts["instances_approved"] == a and counts["tasks_approved"] == a and counts["claims_approved"] == a
              and counts["instances_pending"] == n - a and counts["claims_submitted"] == n - a)
        report.append(f"check       after approving: {counts['instances_approved']} approved instances, {counts['tasks_approved']} approved tasks, "
                      f"{counts['claims_approved']} claims 'approved' (expected {a} each); {counts['instances_pending']} still pending, "
                      f"{counts['claims_submitted']} claims 'submitted' (expected {n - a}) — " + ("ok" if ok else "WRONG"))
        rb.log(report[-1])
        if not ok:
            raise rb.BenchError("the database does not match the approvals the API acknowledged")
        left = {task for task, _, _ in seeded["tasks"]} - {task for task, _, _ in chosen}
        ok, line, _ = check_inbox(manager, manager_id, left)
        report.append(line.replace("inbox (manager)", "inbox (manager) after approving"))
        rb.log(report[-1])
        if not ok:
            raise rb.BenchError("the inbox after approving does not list the remaining tasks")
        manager.close()
    except rb.BenchError as error:
        print(f"approvals_bench: {step} failed: {error}\n--- server log (last lines of {log_path}) ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("approvals_bench: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # an unexpected answer: say where, keep the server log
        print(f"approvals_bench: {step} failed: {type(error).__name__}: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_server(server)
        if started_dir:
            if args.keep:
                rb.log(f"cleanup: kept the cluster in {started_dir} (env in {started_dir}/env; stop with scripts/pg-cluster.sh stop {started_dir})")
            else:
                sb.stop_database(started_dir)
        elif slug and tenant_id and not args.keep:
            try:
                cleanup(env, slug)
                rb.log(f"cleanup: tenant {slug} suspended and deleted")
            except rb.BenchError as error:
                print(f"approvals_bench: cleanup failed: {error}", file=sys.stderr)

    seconds = time.perf_counter() - began
    latency = seeded["latency"]
    lines = ["==================== approvals_bench summary ====================",
             f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} (fsync {machine['fsync']}) "
             f"| server .build/debug/atrium",
             f"data        1 tenant, manager + employee (manager_id = manager), process expense_claim: 1 step (manager); "
             f"{n} pending submissions (claim + 1 line + submit each)",
             f"seed        {n} submissions = {3 * n} API requests, {args.workers} workers: {seeded['seconds']:.1f} s = "
             f"{seeded['per_second']:.1f} submissions/s ({seeded['requests_per_second']:.1f} requests/s)",
             f"            per request p50/p99: claim {latency['claim']['p50']:.1f}/{latency['claim']['p99']:.1f} ms, "
             f"line {latency['line']['p50']:.1f}/{latency['line']['p99']:.1f} ms, submit {latency['submit']['p50']:.1f}/{latency['submit']['p99']:.1f} ms"]
    lines += [line for line in report if line.startswith("check")]
    api, db = inbox_latency, sql["latency"]
    lines += [f"inbox API   GET /api/v1/approvals/inbox (manager, {min(n, INBOX_LIMIT)} waiting), {args.requests} after {args.warmup} warm-up: "
              f"p50 {api['p50']:8.1f} ms  p99 {api['p99']:8.1f} ms  ({inbox_bytes} bytes)",
              f"inbox SQL   pending-tasks statement, pgbench -M extended -c 1 -t {args.requests}, app role:       "
              f"p50 {db['p50']:8.3f} ms  p99 {db['p99']:8.3f} ms",
              f"ratio       inbox API / inbox SQL: p50 {api['p50'] / db['p50']:.1f}x, p99 {api['p99'] / db['p99']:.1f}x "
              f"(the API also loads the {min(n, INBOX_LIMIT)} instances and records, entities and names)",
              f"approve     POST /api/v1/approvals/tasks/{{id}}/approve × {approved['count']} distinct tasks, sequential: "
              f"p50 {approved['latency']['p50']:.1f} ms  p99 {approved['latency']['p99']:.1f} ms  max {approved['latency']['max']:.1f} ms  "
              f"mean {approved['latency']['mean']:.1f} ms",
              f"            {approved['count']} approvals in {approved['seconds']:.1f} s = {approved['per_second']:.1f} approvals/s "
              f"(each finishes its submission: task, instance, claim status, audit)"]
    load_after = os.getloadavg()
    lines.append(f"run time    {seconds:.0f} s | load average (1/5/15 min) at start {load_before[0]:.2f} {load_before[1]:.2f} "
                 f"{load_before[2]:.2f}, at end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
                 f"(the client, server and PostgreSQL share {os.cpu_count()} cores; other load skews the figures)")
    lines.append("=================================================================")
    rb.log("\n".join(lines))
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Outbox benchmark: how fast the server's outbox worker delivers (issue 16). Prints figures,
no thresholds.

    scripts/with-test-db.sh python3 bench/outbox_bench.py [--server .build-release/release/atrium] [--mails 500 --webhooks 500]

Three runs, each timed from the moment the items are committed to the moment the receiver has
them all (and the outbox says `sent`):
  1. mail     — N "message" e-mails put in the tenant's outbox in one statement, sent through
                the server's SMTP client to a local aiosmtpd catcher (Tests/support/smtp_catcher.py);
  2. notices  — N in-app notifications of one user with an e-mail each: the worker reads the
                notification, the user and the tenant, renders the mail in the user's language
                and sends it;
  3. webhooks — N records created through the API with a webhook endpoint listening for them,
                POSTed signed to a local receiver (Tests/support/webhook_receiver.py); also
                times the record creations with and without the endpoint (the cost a webhook
                adds to a write).
Baseline in the same run: the same N mails sent by Python's smtplib straight to the catcher,
one connection each (what the receiving side manages). Needs DATABASE_URL, DATABASE_OWNER_URL,
the built server and atrium-admin, and aiosmtpd (PyPI).
"""

import argparse
import glob
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import records_bench as rb  # noqa: E402

SUPPORT = os.path.join(rb.REPO_ROOT, "Tests", "support")


def start_helper(script, directory, *options):
    process = subprocess.Popen([sys.executable, os.path.join(SUPPORT, script), directory, *options],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        raise rb.BenchError(f"{script} did not start: {line!r} (is aiosmtpd installed?)")
    return process, int(line.split()[1])


def wait_for_files(directory, pattern, count, limit_seconds):
    """Seconds until `count` files match, or a BenchError."""
    started = time.perf_counter()
    while True:
        found = len(glob.glob(os.path.join(directory, pattern)))
        if found >= count:
            return time.perf_counter() - started
        if time.perf_counter() - started > limit_seconds:
            raise rb.BenchError(f"only {found} of {count} deliveries in {directory} after {limit_seconds} s")
        time.sleep(0.02)


def in_tenant(owner_url, tenant_id, sql):
    return rb.psql(owner_url, f"BEGIN;\nSELECT set_config('app.tenant_id', '{tenant_id}', true) \\g /dev/null\n{sql}\nCOMMIT;\n")


def outbox_counts(owner_url, tenant_id, channel):
    text = in_tenant(owner_url, tenant_id, f"SELECT status || '=' || count(*) FROM outbox WHERE channel = '{channel}' GROUP BY status;")
    return dict(line.split("=") for line in text.split() if "=" in line)


def smtp_baseline(port, count):
    started = time.perf_counter()
    for index in range(count):
        with smtplib.SMTP("127.0.0.1", port) as connection:
            connection.sendmail("bench@atrium.test", [f"base{index}@baseline.test"],
                                f"Subject: baseline {index}\r\nMessage-ID: <b{index}@bench>\r\n\r\nhello\r\n")
    return time.perf_counter() - started


def timed_creations(client, count, label):
    started = time.perf_counter()
    for index in range(count):
        client.json("POST", f"/api/v1/{rb.ENTITY}", {"x_name": f"{label} {index}"}, expected=201)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description="Atrium outbox benchmark (prints figures, no thresholds).")
    parser.add_argument("--server", default=rb.DEFAULT_SERVER)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--writes-only", action="store_true",
                        help="no outbox worker in the server: only the record writes with and without an endpoint (what the offer itself costs)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="atrium-outbox-bench-")
    mail_dir, hook_dir, base_dir = (os.path.join(work, name) for name in ("mail", "hooks", "baseline"))
    helpers, server, slug, tenant_id = [], None, None, None
    env = rb.environment()
    owner_url = env["DATABASE_OWNER_URL"]
    log_path = os.path.join(work, "server.log")
    figures = {}
    try:
        machine = rb.machine_info(owner_url)
        catcher, smtp_port = start_helper("smtp_catcher.py", mail_dir)
        baseline, baseline_port = start_helper("smtp_catcher.py", base_dir)
        receiver, hook_port = start_helper("webhook_receiver.py", hook_dir)
        helpers += [catcher, baseline, receiver]
        slug, tenant_id = rb.setup(env)
        server_env = dict(env, ATRIUM_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?starttls=off", ATRIUM_MAIL_FROM="bench@atrium.test",
                          ATRIUM_OUTBOX_POLL_MS="20", ATRIUM_WEBHOOK_ALLOW_PRIVATE="true", ATRIUM_SCHEDULER="false",
                          ATRIUM_OUTBOX_WORKER="false" if args.writes_only else "true")
        port = rb.free_port()
        server = rb.start_server(args.server, server_env, port, log_path)
        client = rb.Client(port, slug)
        client.sign_in_and_create_token(f"admin@{slug}.test", rb.ADMIN_PASSWORD)
        rb.create_object(client)
        n = args.mails
        if args.writes_only:
            w = args.webhooks
            figures["writes_plain"] = timed_creations(client, w, "plain")
            client.json("POST", "/api/v1/admin/webhooks", {"url": f"http://127.0.0.1:{hook_port}/hook", "events": [f"{rb.ENTITY}.created"]},
                        expected=201)
            figures["writes_hooked"] = timed_creations(client, w, "hooked")
            print("==================== outbox_bench --writes-only summary ====================")
            print(f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server {args.server}")
            print(f"writes      {w} record creations, no endpoint:            {w / figures['writes_plain']:8.1f} writes/s")
            print(f"writes      {w} record creations, one endpoint, no worker: {w / figures['writes_hooked']:8.1f} writes/s")
            client.close()
            return 0

        rb.log(f"baseline: {n} mails by smtplib …")
        figures["baseline"] = smtp_baseline(baseline_port, n)

        rb.log(f"mail: {n} messages through the outbox …")
        in_tenant(owner_url, tenant_id, f"""
INSERT INTO outbox (tenant_id, channel, payload)
SELECT '{tenant_id}', 'email', jsonb_build_object('kind', 'message', 'to', jsonb_build_array('m' || g || '@mail.test'),
       'subject', '报价单 ' || g, 'text', 'Bench message ' || g)
FROM generate_series(1, {n}) g;""")
        figures["mail"] = wait_for_files(mail_dir, "*.eml", n, 600)

        rb.log(f"notices: {n} notifications mailed through the outbox …")
        in_tenant(owner_url, tenant_id, f"""
WITH made AS (
  INSERT INTO notifications (tenant_id, user_id, kind, arguments)
  SELECT '{tenant_id}', (SELECT id FROM users WHERE email = 'admin@{slug}.test'), 'record.shared',
         jsonb_build_object('actor', '王芳', 'record', '上海华联 ' || g)
  FROM generate_series(1, {n}) g RETURNING tenant_id, id)
INSERT INTO outbox (tenant_id, channel, payload)
SELECT tenant_id, 'email', jsonb_build_object('kind', 'notification', 'notification_id', id) FROM made;""")
        figures["notices"] = wait_for_files(mail_dir, "*.eml", 2 * n, 600)

        w = args.webhooks
        rb.log(f"webhooks: {w} record creations without an endpoint, then {w} with one …")
        figures["writes_plain"] = timed_creations(client, w, "plain")
        client.json("POST", "/api/v1/admin/webhooks", {"url": f"http://127.0.0.1:{hook_port}/hook", "events": [f"{rb.ENTITY}.created"]},
                    expected=201)
        started = time.perf_counter()
        figures["writes_hooked"] = timed_creations(client, w, "hooked")
        figures["webhooks"] = wait_for_files(hook_dir, "*.json", w, 600) + figures["writes_hooked"]
        figures["webhooks_after_writes"] = time.perf_counter() - started - figures["writes_hooked"]
        figures["mail_status"] = outbox_counts(owner_url, tenant_id, "email")
        figures["hook_status"] = outbox_counts(owner_url, tenant_id, "webhook")
        client.close()
    except rb.BenchError as error:
        print(f"outbox_bench failed: {error}\n--- server log ---\n{rb.log_tail(log_path)}", file=sys.stderr)
        return 1
    finally:
        rb.stop_and_clean_up("outbox_bench", server, env, owner_url, slug, tenant_id)
        for helper in helpers:
            helper.kill()
        shutil.rmtree(work, ignore_errors=True)
    n, w = args.mails, args.webhooks
    print("==================== outbox_bench summary ====================")
    print(f"machine     nproc {machine['nproc']} | {machine['cpu']} | postgres {machine['postgres']} | server {args.server}")
    print(f"baseline    {n} mails, smtplib → catcher, one connection each: {n / figures['baseline']:8.1f} mails/s")
    print(f"mail        {n} outbox messages → SMTP → catcher:              {n / figures['mail']:8.1f} mails/s "
          f"({figures['baseline'] / figures['mail'] * 100:5.1f} % of the baseline)")
    print(f"notices     {n} notifications rendered and mailed:            {n / figures['notices']:8.1f} mails/s")
    print(f"writes      {w} record creations, no endpoint:                 {w / figures['writes_plain']:8.1f} writes/s")
    print(f"writes      {w} record creations, one endpoint listening:      {w / figures['writes_hooked']:8.1f} writes/s")
    print(f"webhooks    {w} signed POSTs (from first write to last POST):   {w / figures['webhooks']:8.1f} deliveries/s; "
          f"last one {figures['webhooks_after_writes']:.2f} s after the last write")
    print(f"outbox      email {figures['mail_status']} | webhook {figures['hook_status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

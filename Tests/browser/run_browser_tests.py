#!/usr/bin/env python3
"""Browser tests for Atrium's server-rendered web UI.

What it tests, end to end, through a real headless Chromium:
  * the login page shows the tenant's name as text (no HTML injection), labels its inputs,
    and switches between English and Chinese;
  * a wrong password is refused with a plain message, the right one lands on the home page
    with the user's name and the tenant's enabled modules;
  * an API token created in the UI works against the JSON API (/api/v1/me);
  * the UI language can be changed from the home page;
  * the home page does not scroll sideways on a phone-sized screen;
  * signing out ends the session; the session cookie is HttpOnly and SameSite=Lax;
  * the tenant CRM pages, through the UI as a user would (crm_checks.py): custom objects with
    a lookup and a picklist made in the designer, layout ordering, create forms, related lists,
    filters and sorting, required-field errors, edit conflicts, delete with undo, Chinese
    labels, escaping of record names, salesperson data scope (list, search, 404), global
    search (Chinese substrings) and the list and record pages on a phone.
  * the sales module (sales_checks.py): quote → order → receipt to the cent, funnel, board, leads.
  * the knowledge module (knowledge_checks.py): an article written, published and found by a Chinese word;
    in zh-CN at 390 px an article's Markdown read and voted helpful, an announcement read from the home page.
  * the service module (service_checks.py): at 390 px an agent takes a case from her queue, logs
    work, resolves and closes it; the customer's survey answer (no sign-in) shows on the case.
  * the marketing module (marketing_checks.py): a campaign, members from a segment, a response that becomes a lead, results on a phone.
  * Excel (excel_checks.py): a workbook written by LibreOffice Calc imported on the import page, the Excel export read back by LibreOffice.
  * the activities module: a visit logged from an account page at 390 px shows on its timeline,
    and the calendar page is a list of days on a phone.
  * customer pools (pool_checks.py): a zh-CN salesperson claims a customer from the pool at 390 px
    and returns it; an administrator sets a department pool up.
  * visits and the daily report (visit_checks.py): at 390 px in Chinese a salesperson checks in
    and out of a visit from an account page (without a position), sees it on the timeline and
    in the day's report pre-fill, and submits the report.
  * comments and discussions (discussion_checks.py): at 390 px a comment on a customer mentions a
    colleague who can read it (picked in the form) and one who cannot; only the first is notified;
    a discussion topic is replied to at 390 px, its answer accepted and turned into a draft article.
  * two-factor sign-in (twofactor_checks.py): the enrolment QR code read back with zbarimg, a
    code computed from it confirms the enrolment and completes the next sign-in.
  * the document library (doclib_checks.py): at 390 px in Chinese a document uploaded, a new
    version uploaded (both listed), the document found by a Chinese word of its file name.

How it is run: `make test` runs it from the repository root, after `swift build`, as

    python3 Tests/browser/run_browser_tests.py

with DATABASE_URL (application role) and DATABASE_OWNER_URL (schema owner) exported for a
throwaway PostgreSQL. It migrates that database, creates a fresh tenant `ui-<8 hex>`, starts
.build/debug/atrium on a free port, and drives /usr/bin/chromium through /usr/bin/chromedriver
(selenium). It prints one line per passed check. A failed check prints its message and the
page it was on, saves a screenshot and the page source; the browser is then reset (signed in
as the administrator) and the remaining checks still run; at the end the server log's tail is
printed and the script exits non-zero.

Artifacts: screenshots of key pages (designer, list, record page, form with an error, phone
layout, …) are saved on every run, and of the page at each failure (FAILED-<check>.png and
.html), into Tests/browser/artifacts/ or $ATRIUM_TEST_ARTIFACTS; their names are printed.

The CRM checks (custom objects, forms, lists, recycle bin, language, escaping, permissions,
search, phone layout) are in crm_checks.py; the shared helpers in browser_support.py.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:
    sys.exit("run_browser_tests: the 'selenium' Python package is missing; install it with `pip install selenium`.")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_support import (ADMIN_PASSWORD, DESKTOP_HEIGHT, DESKTOP_WIDTH, WAIT_SECONDS, Artifacts,  # noqa: E402
                             CheckFailed, Ui, expect)
from crm_checks import CRM_CHECKS  # noqa: E402
from sales_checks import SALES_CHECKS  # noqa: E402
from expenses_checks import EXPENSES_CHECKS  # noqa: E402
from knowledge_checks import KNOWLEDGE_CHECKS  # noqa: E402
from marketing_checks import MARKETING_CHECKS  # noqa: E402
from notification_checks import NOTIFICATION_CHECKS  # noqa: E402
from automation_checks import AUTOMATION_CHECKS  # noqa: E402
from excel_checks import EXCEL_CHECKS  # noqa: E402
from service_checks import SERVICE_CHECKS  # noqa: E402
from twofactor_checks import TWOFACTOR_CHECKS  # noqa: E402
from purchasing_checks import PURCHASING_CHECKS  # noqa: E402
from pool_checks import POOL_CHECKS  # noqa: E402
from visit_checks import VISIT_CHECKS  # noqa: E402
from discussion_checks import DISCUSSION_CHECKS  # noqa: E402
from doclib_checks import DOCLIB_CHECKS  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium")
ADMIN_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium-admin")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

TENANT_NAME = "Browser <script>alert(1)</script> 测试公司"
ADMIN_DISPLAY_NAME = "Administrator"  # the default administrator name for locale en
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
SERVER_START_SECONDS = 30


# --- checks, in the order they run ---------------------------------------------------------

def login_page_shows_tenant_name_as_text_and_labels_its_inputs(ui):
    ui.open("/login")
    try:  # first: while an alert is open, every other WebDriver command fails
        alert = ui.driver.switch_to.alert
        raise CheckFailed(f"a JavaScript alert opened on the login page: {alert.text!r}")
    except NoAlertPresentException:
        pass
    name = ui.find("[data-testid=tenant-name]")
    expect("<script>alert(1)</script>" in name.text,
           f"tenant name should show '<script>alert(1)</script>' literally; shows {name.text!r}")
    expect("测试公司" in name.text, f"tenant name should keep its Chinese part; shows {name.text!r}")
    expect(not name.find_elements(By.CSS_SELECTOR, "*"), "tenant name was rendered as HTML elements")
    for input_id in ("email", "password"):
        labels = ui.driver.find_elements(By.CSS_SELECTOR, f"label[for='{input_id}']")
        expect(labels, f"input #{input_id} has no <label for={input_id}>")
    visible_inputs = ui.driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden])")
    for field in visible_inputs:
        field_id = field.get_attribute("id")
        expect(field_id and ui.driver.find_elements(By.CSS_SELECTOR, f"label[for='{field_id}']"),
               f"input {field.get_attribute('name')!r} has no label")


def login_page_switches_between_chinese_and_english(ui):
    ui.open("/login")
    ui.find("h1")
    ui.driver.find_element(By.LINK_TEXT, "中文").click()
    ui.wait_for_text("h1", "登录 Atrium")
    ui.driver.find_element(By.LINK_TEXT, "English").click()
    ui.wait_for_text("h1", "Sign in to Atrium")


def wrong_password_is_refused_with_a_plain_message(ui):
    ui.open("/login")
    ui.submit_login(ui.admin_email, "wrong-password")
    error = ui.find("[data-testid=login-error]")
    expect(error.is_displayed(), "the login error is not visible")
    ui.wait_for_text("[data-testid=login-error]", "Email or password is wrong")
    expect(ui.path() != "/", "a wrong password signed the user in")


def right_password_lands_on_home_with_name_and_modules(ui):
    ui.open("/login")
    ui.submit_login(ui.admin_email, ADMIN_PASSWORD)
    ui.wait_for_path("/")
    ui.wait_for_text("[data-testid=user-name]", ADMIN_DISPLAY_NAME)
    modules = ui.find("[data-testid=modules]")
    ids = [li.get_attribute("data-module") for li in modules.find_elements(By.CSS_SELECTOR, "li[data-module]")]
    expect("sales" in ids, f"the trial plan should enable 'sales'; modules listed: {ids}")


def api_token_created_in_ui_authenticates_api_calls(ui):
    ui.find("#token-name").send_keys("ci")
    button = ui.find("form[action='/tokens'] button[type=submit]")
    expect(button.text == "Create token", f"token button should read 'Create token'; reads {button.text!r}")
    button.click()
    token = ui.wait_for_text("[data-testid=new-token]", "atr_").strip()
    expect(token.startswith("atr_"), f"a new token should start with 'atr_'; got {token!r}")
    ui.state["admin_token"] = token  # the permission check sets up salespeople with it

    request = urllib.request.Request(f"{ui.api_url}/api/v1/me", headers={
        "X-Tenant": ui.slug, "Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode(errors="replace")
    expect(status == 200, f"GET /api/v1/me with the token should be 200; got {status}: {body[:300]}")
    email = (json.loads(body).get("user") or {}).get("email")
    expect(email == ui.admin_email, f"/api/v1/me should name {ui.admin_email}; names {email!r}")


def home_page_switches_ui_language_to_chinese(ui):
    ui.open("/")
    Select(ui.find("select#locale")).select_by_value("zh-CN")
    button = ui.find("form[action='/settings/locale'] button[type=submit]")
    expect(button.text == "Switch", f"language button should read 'Switch'; reads {button.text!r}")
    button.click()
    ui.wait_for_text("h1", "欢迎")


def home_page_fits_a_phone_screen_without_sideways_scrolling(ui):
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open("/")
        ui.find("[data-testid=user-name]")
        scroll_width = ui.driver.execute_script("return document.documentElement.scrollWidth")
        inner_width = ui.driver.execute_script("return window.innerWidth")
        ui.screenshot("phone-home")
        expect(scroll_width <= PHONE_WIDTH + 1,
               f"page is {scroll_width}px wide on a {PHONE_WIDTH}px phone (viewport {inner_width}px): "
               f"it scrolls sideways; see phone-home.png in the artifacts")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)


def logout_ends_the_session(ui):
    ui.find("[data-testid=logout]").click()
    ui.wait_for_path("/login")
    ui.open("/")
    ui.wait_for_path("/login")


def session_cookie_is_httponly_and_samesite_lax(ui):
    ui.open("/login")
    ui.submit_login(ui.admin_email, ADMIN_PASSWORD)
    ui.wait_for_path("/")
    cookies = {cookie["name"]: cookie for cookie in ui.driver.get_cookies()}
    session = cookies.get("atrium_session")
    expect(session, f"no atrium_session cookie after signing in; cookies: {sorted(cookies)}")
    expect(session.get("httpOnly") is True, f"atrium_session should be HttpOnly; is {session}")
    expect(session.get("sameSite") == "Lax", f"atrium_session should be SameSite=Lax; is {session}")


def activities_visit_logged_on_a_phone_shows_on_the_timeline_and_the_calendar(ui):
    """At 390 px: log a visit from an account page with a contact who took part, see it on the
    account's and the contact's timelines, then the calendar
    page (an event made through the API today) as a list of days without sideways scrolling."""
    from sales_checks import new_record
    suffix = secrets.token_hex(3)
    account = new_record(ui, "account", {"name": f"拜访测试客户 {suffix}"}, "an account for the visit")
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    event = json.dumps({"subject": f"Calendar check {suffix}", "starts_at": f"{today}T23:00:00+08:00",
                        "ends_at": f"{today}T23:30:00+08:00", "location": "Room 301"}).encode()
    request = urllib.request.Request(f"{ui.api_url}/api/v1/event", data=event, method="POST", headers={
        "X-Tenant": ui.slug, "Authorization": f"Bearer {ui.state['admin_token']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        expect(response.status == 201, f"POST /api/v1/event should be 201; got {response.status}")
    contact_body = json.dumps({"name": f"刘洋 {suffix}", "account": account}).encode()
    request = urllib.request.Request(f"{ui.api_url}/api/v1/contact", data=contact_body, method="POST", headers={
        "X-Tenant": ui.slug, "Authorization": f"Bearer {ui.state['admin_token']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        contact = json.loads(response.read())["id"]
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open(f"/app/account/{account}")
        ui.find("[data-testid=followup-open]").click()
        Select(ui.find("select#followup-kind")).select_by_value("visit")
        ui.type_into("#followup-subject", f"上门拜访 {suffix}")
        ui.type_into("#followup-notes", "演示了移动端")
        # Who took part: the account's contact, ticked in the picker.
        ui.find("[data-testid=followup-people] summary").click()
        box = ui.find(f"input[name='contact_{contact}']")
        expect(not box.is_selected(), "the account's contact should not be ticked before choosing")
        box.click()
        ui.click_and_load(ui.find("[data-testid=followup-submit]"))
        ui.wait_for_path(f"/app/account/{account}")
        ui.wait_for_text("[data-testid=timeline] li[data-timeline-type=activity]", f"上门拜访 {suffix}")
        kind = ui.find("[data-testid=timeline] li[data-timeline-type=activity] strong").text
        expect(kind in ("Visit", "拜访"), f"the timeline entry should name the kind visit; names {kind!r}")
        ui.no_sideways_scroll("the account page with its timeline on a phone")
        ui.screenshot("phone-timeline-visit")
        # The contact who took part has the visit on her own timeline, "about" the account.
        ui.open(f"/app/contact/{contact}")
        ui.wait_for_text("[data-testid=timeline] li[data-timeline-type=activity]", f"上门拜访 {suffix}")
        ui.wait_for_text("[data-testid=timeline-via]", f"拜访测试客户 {suffix}")

        ui.open("/app/calendar?view=week")
        ui.wait_for_text(f"[data-testid=calendar-day][data-date='{today}']", f"Calendar check {suffix}")
        layout = ui.driver.execute_script(
            "return getComputedStyle(document.querySelector('[data-testid=calendar]')).display;")
        expect(layout != "grid", f"at {PHONE_WIDTH}px the week should be a list of days, not a grid; display is {layout!r}")
        ui.no_sideways_scroll("the calendar's week on a phone")
        ui.open("/app/calendar?view=month")
        ui.find("[data-testid=calendar][data-view=month]")
        ui.no_sideways_scroll("the calendar's month on a phone")
        ui.screenshot("phone-calendar-month")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)


CHECKS = [
    login_page_shows_tenant_name_as_text_and_labels_its_inputs,
    login_page_switches_between_chinese_and_english,
    wrong_password_is_refused_with_a_plain_message,
    right_password_lands_on_home_with_name_and_modules,
    api_token_created_in_ui_authenticates_api_calls,
    home_page_switches_ui_language_to_chinese,
    home_page_fits_a_phone_screen_without_sideways_scrolling,
    logout_ends_the_session,
    session_cookie_is_httponly_and_samesite_lax,
] + CRM_CHECKS + SALES_CHECKS + EXPENSES_CHECKS + KNOWLEDGE_CHECKS + MARKETING_CHECKS + SERVICE_CHECKS + [
    activities_visit_logged_on_a_phone_shows_on_the_timeline_and_the_calendar,
] + VISIT_CHECKS + NOTIFICATION_CHECKS + AUTOMATION_CHECKS + TWOFACTOR_CHECKS + PURCHASING_CHECKS + EXCEL_CHECKS + POOL_CHECKS + DISCUSSION_CHECKS
CHECKS += DOCLIB_CHECKS


def chosen_checks():
    """Every check, or while developing only those whose names contain one of the comma-separated
    words of ATRIUM_BROWSER_ONLY (e.g. `excel,report`); `make test` never sets it."""
    words = [word.strip() for word in os.environ.get("ATRIUM_BROWSER_ONLY", "").split(",") if word.strip()]
    return [check for check in CHECKS if not words or any(word in check.__name__ for word in words)]


# --- setup: database, tenant, server, browser ----------------------------------------------

def test_environment():
    """The caller's environment plus cheap password hashing, for every subprocess."""
    missing = [name for name in ("DATABASE_URL", "DATABASE_OWNER_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(f"run_browser_tests: {' and '.join(missing)} must be set (run it through `make test`).")
    for binary in (SERVER_BINARY, ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"run_browser_tests: {binary} is missing; run `swift build` first.")
    return dict(os.environ, ATRIUM_ARGON2_MEMORY_KIB="1024", ATRIUM_ARGON2_ITERATIONS="1",
                ATRIUM_API_RATE_LIMITS="off")


def run_admin(env, *args):
    result = subprocess.run([ADMIN_BINARY, *args], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise CheckFailed(f"atrium-admin {args[0]} {args[1] if len(args) > 1 else ''} exited "
                          f"{result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def create_tenant(env):
    slug = f"ui-{secrets.token_hex(4)}"
    run_admin(env, "migrate")
    print("ok - atrium-admin migrate")
    run_admin(env, "tenant", "create", "--slug", slug, "--name", TENANT_NAME,
              "--admin-email", f"admin@{slug}.test", "--admin-password", ADMIN_PASSWORD,
              "--locale", "en", "--plan", "trial")
    print(f"ok - atrium-admin tenant create --slug {slug}")
    return slug


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env, port, log_path):
    server_env = dict(env, ATRIUM_PORT=str(port), ATRIUM_HOST="127.0.0.1", ATRIUM_BASE_DOMAIN="localhost")
    log = open(log_path, "wb")
    server = subprocess.Popen([SERVER_BINARY], cwd=REPO_ROOT, env=server_env,
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"the server exited with code {server.returncode} before answering /healthz")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    print(f"ok - server answers /healthz on port {port}")
                    return server
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.1)
    raise CheckFailed(f"the server did not answer /healthz within {SERVER_START_SECONDS} s")


def stop_server(server):
    if server is None or server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    # Leave unexpected alerts open, so the XSS check can see them rather than a WebDriver error.
    options.unhandled_prompt_behavior = "ignore"
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def log_tail(path, lines=40):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
    except OSError as error:
        return f"(no server log: {error})"


def report_failure(name, error, driver, artifacts):
    """Says what failed and saves the page (PNG and HTML) into the artifacts directory."""
    print(f"FAIL - {name.replace('_', ' ')}: {error}", file=sys.stderr)
    if driver is None:
        return
    try:
        alert = driver.switch_to.alert  # an open dialog blocks screenshots: note it, close it
        print(f"  an alert was open: {alert.text!r}", file=sys.stderr)
        alert.dismiss()
    except (NoAlertPresentException, WebDriverException):
        pass
    try:
        print(f"  page: {driver.current_url}", file=sys.stderr)
        print(f"  screenshot: {artifacts.screenshot(driver, 'FAILED-' + name)}", file=sys.stderr)
        print(f"  page source: {artifacts.page_source(driver, 'FAILED-' + name)}", file=sys.stderr)
    except Exception as page_error:  # the browser itself may be what failed
        print(f"  (could not capture the page: {page_error})", file=sys.stderr)


def main():
    started = time.monotonic()
    env = test_environment()
    artifacts = Artifacts()
    work_dir = tempfile.mkdtemp(prefix="atrium-browser-")
    log_path = os.path.join(work_dir, "server.log")
    server = driver = None
    passed, failed = [], []
    step = "setup"
    try:
        slug = create_tenant(env)
        port = free_port()
        server = start_server(env, port, log_path)
        step = "start Chromium"
        driver = start_browser()
        ui = Ui(driver=driver, slug=slug, port=port, artifacts=artifacts, env=env)
        ui.state.update(admin_binary=ADMIN_BINARY, repo_root=REPO_ROOT, admin_password=ADMIN_PASSWORD)
        # Every check runs; after a failure the browser is reset (signed in as the administrator,
        # English, desktop size) so later checks still say something. Later checks build on
        # what earlier ones created, so one failure can cause others: read the first one first.
        for check in chosen_checks():
            step = check.__name__
            missing = [earlier for earlier in getattr(check, "needs", ()) if earlier in failed]
            if missing:
                print(f"FAIL - {step.replace('_', ' ')}: not run, it builds on {', '.join(missing)}, which failed",
                      file=sys.stderr)
                failed.append(step)
                continue
            check_started = time.monotonic()
            try:
                check(ui)
                print(f"ok - {step.replace('_', ' ')} ({time.monotonic() - check_started:.1f} s)")
                passed.append(step)
                continue
            except (CheckFailed, TimeoutException) as error:
                report_failure(step, getattr(error, "msg", None) or error, driver, artifacts)
            except WebDriverException as error:
                report_failure(step, f"{type(error).__name__}: {error.msg}", driver, artifacts)
            failed.append(step)
            step = f"reset the browser after {step}"
            ui.reset()
    except Exception as error:
        if not failed or failed[-1] != step:
            failed.append(step)
        report_failure(step, getattr(error, "msg", None) or f"{type(error).__name__}: {error}", driver, artifacts)
    finally:
        if driver is not None:
            driver.quit()
        stop_server(server)
    elapsed = time.monotonic() - started
    if artifacts.saved:
        print(f"screenshots in {artifacts.directory}: {', '.join(artifacts.saved)}")
    not_run = [check.__name__ for check in chosen_checks() if check.__name__ not in passed + failed]
    if failed or not_run:
        print(f"--- server log (last lines of {log_path}) ---", file=sys.stderr)
        print(log_tail(log_path), file=sys.stderr)
        print(f"{len(passed)} of {len(chosen_checks())} browser checks passed in {elapsed:.1f} s; failed: {', '.join(failed)}"
              + (f"; not run: {', '.join(not_run)}" if not_run else ""), file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)  # keep the server log only when something failed
    print(f"all {len(chosen_checks())} browser checks passed in {elapsed:.1f} s"
          + (f" (only those matching ATRIUM_BROWSER_ONLY, of {len(CHECKS)})" if len(chosen_checks()) < len(CHECKS) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
  * signing out ends the session; the session cookie is HttpOnly and SameSite=Lax.

How it is run: `make test` runs it from the repository root, after `swift build`, as

    python3 Tests/browser/run_browser_tests.py

with DATABASE_URL (application role) and DATABASE_OWNER_URL (schema owner) exported for a
throwaway PostgreSQL. It migrates that database, creates a fresh tenant `ui-<8 hex>`, starts
.build/debug/atrium on a free port, and drives /usr/bin/chromium through /usr/bin/chromedriver
(selenium). It prints one line per passed check and exits non-zero with a message, the page
it was on and the server log's tail on the first failure.
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
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                            TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    sys.exit("run_browser_tests: the 'selenium' Python package is missing; install it with `pip install selenium`.")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium")
ADMIN_BINARY = os.path.join(REPO_ROOT, ".build", "debug", "atrium-admin")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

TENANT_NAME = "Browser <script>alert(1)</script> 测试公司"
ADMIN_PASSWORD = "Correct-horse-9"
ADMIN_DISPLAY_NAME = "Administrator"  # the default administrator name for locale en
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHONE_SCREENSHOT = "/tmp/atrium-ui-phone.png"
FAILURE_SCREENSHOT = "/tmp/atrium-ui-failure.png"
WAIT_SECONDS = 10
SERVER_START_SECONDS = 30


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says what was expected and seen."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


@dataclass
class Ui:
    """Everything a check needs: the browser, the tenant and where the server listens."""

    driver: object
    slug: str
    port: int

    @property
    def base_url(self):
        return f"http://{self.slug}.localhost:{self.port}"

    @property
    def api_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_email(self):
        return f"admin@{self.slug}.test"

    def open(self, path):
        self.driver.get(self.base_url + path)

    def path(self):
        return urllib.parse.urlparse(self.driver.current_url).path

    def wait(self):
        # A page load can replace an element between finding it and reading it: just look again.
        return WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=[StaleElementReferenceException])

    def find(self, css):
        return self.wait().until(EC.presence_of_element_located((By.CSS_SELECTOR, css)),
                                 message=f"no element matches {css!r} on {self.driver.current_url}")

    def wait_for_path(self, path):
        self.wait().until(lambda _: self.path() == path,
                          message=f"expected to be on {path}, still on {self.driver.current_url}")

    def wait_for_text(self, css, fragment):
        """Waits until the element matching `css` contains `fragment`; returns its text."""
        def text_if_present(driver):
            elements = driver.find_elements(By.CSS_SELECTOR, css)
            return elements and fragment in elements[0].text and elements[0].text
        try:
            return self.wait().until(text_if_present)
        except TimeoutException:
            elements = self.driver.find_elements(By.CSS_SELECTOR, css)
            seen = repr(elements[0].text) if elements else "no such element"
            raise CheckFailed(f"{css} should contain {fragment!r}; saw {seen} on {self.driver.current_url}")

    def submit_login(self, email, password):
        email_input = self.find("#email")
        email_input.clear()
        email_input.send_keys(email)
        self.find("#password").send_keys(password)
        self.find("form[action='/login'] button[type=submit]").click()
        self.wait().until(EC.staleness_of(email_input), message="the login form was not submitted")


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
    ui.open("/")
    ui.find("[data-testid=user-name]")
    scroll_width = ui.driver.execute_script("return document.documentElement.scrollWidth")
    inner_width = ui.driver.execute_script("return window.innerWidth")
    ui.driver.save_screenshot(PHONE_SCREENSHOT)
    expect(scroll_width <= PHONE_WIDTH + 1,
           f"page is {scroll_width}px wide on a {PHONE_WIDTH}px phone (viewport {inner_width}px): "
           f"it scrolls sideways; see {PHONE_SCREENSHOT}")


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
]


# --- setup: database, tenant, server, browser ----------------------------------------------

def test_environment():
    """The caller's environment plus cheap password hashing, for every subprocess."""
    missing = [name for name in ("DATABASE_URL", "DATABASE_OWNER_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(f"run_browser_tests: {' and '.join(missing)} must be set (run it through `make test`).")
    for binary in (SERVER_BINARY, ADMIN_BINARY):
        if not os.access(binary, os.X_OK):
            sys.exit(f"run_browser_tests: {binary} is missing; run `swift build` first.")
    return dict(os.environ, ATRIUM_ARGON2_MEMORY_KIB="1024", ATRIUM_ARGON2_ITERATIONS="1")


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


def report_failure(name, error, driver, log_path):
    print(f"FAIL - {name}: {error}", file=sys.stderr)
    if driver is not None:
        try:
            print(f"  page: {driver.current_url}", file=sys.stderr)
            driver.save_screenshot(FAILURE_SCREENSHOT)
            print(f"  screenshot: {FAILURE_SCREENSHOT}", file=sys.stderr)
        except Exception as page_error:  # the browser itself may be what failed
            print(f"  (could not capture the page: {page_error})", file=sys.stderr)
    print(f"--- server log (last lines of {log_path}) ---", file=sys.stderr)
    print(log_tail(log_path), file=sys.stderr)


def main():
    started = time.monotonic()
    env = test_environment()
    work_dir = tempfile.mkdtemp(prefix="atrium-browser-")
    log_path = os.path.join(work_dir, "server.log")
    server = driver = None
    step = "setup"
    try:
        slug = create_tenant(env)
        port = free_port()
        server = start_server(env, port, log_path)
        step = "start Chromium"
        driver = start_browser()
        ui = Ui(driver=driver, slug=slug, port=port)
        for check in CHECKS:
            step = check.__name__
            check(ui)
            print(f"ok - {step.replace('_', ' ')}")
    except (CheckFailed, TimeoutException) as error:
        report_failure(step, getattr(error, "msg", None) or error, driver, log_path)
        return 1
    except Exception as error:
        report_failure(step, f"{type(error).__name__}: {error}", driver, log_path)
        return 1
    finally:
        if driver is not None:
            driver.quit()
        stop_server(server)
    shutil.rmtree(work_dir, ignore_errors=True)  # keep the server log only when something failed
    print(f"all {len(CHECKS)} browser checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

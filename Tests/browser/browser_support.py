"""What every browser check uses: the failure type, the `Ui` driver wrapper and the artifacts
directory (screenshots and page sources). Imported by run_browser_tests.py and crm_checks.py.
"""

import os
import re
import urllib.parse
from dataclasses import dataclass, field

import time

from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                        TimeoutException, UnexpectedAlertPresentException, WebDriverException)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BROWSER_DIR = os.path.dirname(os.path.abspath(__file__))
WAIT_SECONDS = 10
DESKTOP_WIDTH, DESKTOP_HEIGHT = 1280, 900
ADMIN_PASSWORD = "Correct-horse-9"


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says what was expected and seen."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Artifacts:
    """Screenshots and page sources: Tests/browser/artifacts/ unless ATRIUM_TEST_ARTIFACTS says
    otherwise. The directory ignores its own *.png and *.html (a .gitignore is written there)."""

    def __init__(self, directory=None):
        self.directory = os.path.abspath(directory or os.environ.get("ATRIUM_TEST_ARTIFACTS")
                                         or os.path.join(BROWSER_DIR, "artifacts"))
        os.makedirs(self.directory, exist_ok=True)
        for name in os.listdir(self.directory):  # an old failure's pictures would mislead
            if name.startswith("FAILED-") and name.endswith((".png", ".html")):
                os.remove(os.path.join(self.directory, name))
        ignore = os.path.join(self.directory, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w", encoding="utf-8") as handle:
                handle.write("# screenshots and page sources written by run_browser_tests.py\n*.png\n*.html\n")
        self.saved = []

    def path(self, name, extension):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
        return os.path.join(self.directory, f"{safe}.{extension}")

    def screenshot(self, driver, name):
        """Saves a PNG of the current page as `<name>.png`; returns its path."""
        target = self.path(name, "png")
        driver.save_screenshot(target)
        self.saved.append(os.path.basename(target))
        return target

    def page_source(self, driver, name):
        target = self.path(name, "html")
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(driver.page_source)
        return target


def stale_as_such(driver):
    """chromedriver sometimes reports an element of a document that a page load replaced as
    "unhandled inspector error … Node with given id does not belong to the document" instead of
    a stale element; turn that into StaleElementReferenceException, which the waits retry."""
    execute = driver.execute

    def execute_mapping_stale(command, params=None):
        try:
            return execute(command, params)
        except WebDriverException as error:
            if "does not belong to the document" in (error.msg or ""):
                raise StaleElementReferenceException(error.msg) from error
            raise

    driver.execute = execute_mapping_stale


@dataclass
class Ui:
    """Everything a check needs: the browser, the tenant and where the server listens, plus
    what earlier checks created (record ids, tokens, users) in `state`."""

    driver: object
    slug: str
    port: int
    artifacts: Artifacts = None
    env: dict = None
    state: dict = field(default_factory=dict)

    def __post_init__(self):
        stale_as_such(self.driver)

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

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)

    def wait(self, seconds=WAIT_SECONDS):
        # A page load can replace an element between finding it and reading it: just look again.
        return WebDriverWait(self.driver, seconds, ignored_exceptions=[StaleElementReferenceException])

    def find(self, css, within=None):
        if within is not None:
            return self.wait().until(lambda _: within.find_element(By.CSS_SELECTOR, css),
                                     message=f"no element matches {css!r} on {self.driver.current_url}")
        return self.wait().until(EC.presence_of_element_located((By.CSS_SELECTOR, css)),
                                 message=f"no element matches {css!r} on {self.driver.current_url}")

    def find_all(self, css):
        # Right after a page load the list may come from the page being replaced: look again.
        for attempt in range(3):
            try:
                elements = self.driver.find_elements(By.CSS_SELECTOR, css)
                for element in elements:
                    element.tag_name  # touches each element, so a stale one fails here
                return elements
            except StaleElementReferenceException:
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def wait_for_path(self, path):
        """`path` is a string or a compiled regular expression matched against the whole path."""
        if isinstance(path, re.Pattern):
            self.wait().until(lambda _: path.fullmatch(self.path()),
                              message=f"expected a path like {path.pattern}, still on {self.driver.current_url}")
        else:
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

    def click_and_load(self, element):
        """Clicks something that loads a new page and waits until the old page is gone."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        self.wait().until(EC.staleness_of(page), message=f"clicking did not load a new page ({self.driver.current_url})")

    def type_into(self, css, text):
        element = self.find(css)
        element.clear()
        if text:
            element.send_keys(text)
        return element

    def choose(self, css, visible_text=None, value=None):
        select = Select(self.find(css))
        if value is not None:
            select.select_by_value(value)
        else:
            select.select_by_visible_text(visible_text)
        return select

    def submit_login(self, email, password):
        email_input = self.find("#email")
        email_input.clear()
        email_input.send_keys(email)
        self.find("#password").send_keys(password)
        self.find("form[action='/login'] button[type=submit]").click()
        self.wait().until(EC.staleness_of(email_input), message="the login form was not submitted")

    def sign_in(self, email, password):
        """Signs in from the login page (signing out first if someone is signed in)."""
        self.open("/")
        if self.find_all("[data-testid=logout]"):
            self.click_and_load(self.find("[data-testid=logout]"))
        self.open("/login")
        self.submit_login(email, password)
        self.wait_for_path("/")

    def sign_out(self):
        self.click_and_load(self.find("[data-testid=logout]"))
        self.wait_for_path("/login")

    def open_alert(self):
        """The open JavaScript dialog, or None."""
        try:
            return self.driver.switch_to.alert
        except NoAlertPresentException:
            return None

    def wait_for_load_or_alert(self, path_pattern):
        """After a click that navigates: waits until a dialog is open, or the page at a path
        matching `path_pattern` has finished loading (its scripts have run)."""
        def settled(driver):
            if self.open_alert() is not None:
                return True
            return (path_pattern.fullmatch(self.path())
                    and driver.execute_script("return document.readyState") == "complete")
        WebDriverWait(self.driver, WAIT_SECONDS, ignored_exceptions=[StaleElementReferenceException, UnexpectedAlertPresentException]).until(
            settled, message=f"no page like {path_pattern.pattern} finished loading")

    def expect_no_alert(self, where):
        alert = self.open_alert()
        if alert is not None:
            text = alert.text
            alert.accept()
            raise CheckFailed(f"a JavaScript alert opened on {where}: {text!r} (markup was not escaped)")

    def search_everywhere(self, text):
        """Types into the top bar's search box and presses Enter, as a user would."""
        box = self.find("[data-testid=global-search]")
        box.clear()
        box.send_keys(text)
        page = self.driver.find_element(By.TAG_NAME, "html")
        box.send_keys(Keys.ENTER)
        self.wait().until(EC.staleness_of(page), message="the top-bar search did not load a page")
        self.wait_for_path("/app/search")

    def http_status(self, path):
        """The status the server gives this browser session (its cookies) for a page, by fetch()."""
        return self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {credentials: 'same-origin', headers: {Accept: 'text/html'}})"
            ".then(r => done(r.status), e => done('fetch failed: ' + e));", path)

    def no_sideways_scroll(self, what):
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];")
        expect(widths[0] <= widths[1],
               f"{what} scrolls sideways: document is {widths[0]}px wide, the window {widths[1]}px")

    def screenshot(self, name):
        if self.artifacts is not None:
            self.artifacts.screenshot(self.driver, name)

    def reset(self):
        """After a failed check: close dialogs and extra tabs, desktop size, signed in as the
        administrator with English pages, so the next check starts from a known state."""
        driver = self.driver
        alert = self.open_alert()
        if alert is not None:
            alert.dismiss()
        handles = driver.window_handles
        for handle in handles[1:]:
            driver.switch_to.window(handle)
            driver.close()
        driver.switch_to.window(handles[0])
        driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
        driver.delete_all_cookies()
        self.open("/login")
        self.submit_login(self.admin_email, ADMIN_PASSWORD)
        self.wait_for_path("/")
        if self.find("html").get_attribute("lang") != "en":
            Select(self.find("select#locale")).select_by_value("en")
            self.click_and_load(self.find("[data-testid=change-language]"))

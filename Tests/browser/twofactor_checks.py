"""Browser check of TOTP two-factor sign-in (issue 23), with the QR code read for real: a new
user opens "Two-factor sign-in" from the home page, the QR element Chromium drew is saved as a
PNG and decoded with zbarimg (Debian's zbar-tools), the decoded otpauth:// URI must be the one
the page gives as text and carry the secret shown as text; the code is computed here (RFC 6238
with hmac/hashlib), confirms the enrolment, the recovery codes are shown once, and the next
sign-in goes through the second step with a fresh code. At 390 px the page does not scroll
sideways and the shrunk QR code still reads the same. Runs last; leaves the administrator
signed in.
"""

import base64
import hashlib
import hmac
import os
import shutil
import struct
import subprocess
import time
import urllib.parse

from selenium.webdriver.common.by import By

from browser_support import DESKTOP_HEIGHT, DESKTOP_WIDTH, expect
from crm_checks import PHONE_HEIGHT, PHONE_WIDTH, run_admin
from expenses_checks import back_to_the_administrator

TOTP_PASSWORD = "Totp-browser-7"


def totp(secret_base32, step):
    """RFC 6238 / RFC 4226 with HMAC-SHA1, 6 digits, for the 30-second step `step`."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{number:06d}"


def fresh_code(secret, used_steps):
    """The current step's code, or the next step's (still inside the ±1 window) when the current
    one was used already: the server takes each step once."""
    step = int(time.time()) // 30
    if step in used_steps:
        step += 1
    used_steps.add(step)
    return totp(secret, step)


def decode_qr(ui, element, name):
    """Saves the element's picture and returns what zbarimg reads from it."""
    zbarimg = shutil.which("zbarimg")
    expect(zbarimg, "zbarimg is missing: run scripts/ensure-deps.sh --browser (Debian package zbar-tools)")
    path = ui.artifacts.path(name, "png") if ui.artifacts is not None else os.path.join("/tmp", f"{name}.png")
    element.screenshot(path)
    result = subprocess.run([zbarimg, "--quiet", "--raw", path], capture_output=True, text=True, timeout=30)
    expect(result.returncode == 0, f"zbarimg could not read the QR code in {path}: exit {result.returncode} {result.stderr.strip()}")
    return result.stdout.strip()


def a_user_enrols_by_scanning_the_server_drawn_qr_code_and_signs_in_with_its_code(ui):
    slug = ui.slug
    email = f"totp@{slug}.test"
    run_admin(ui, "tenant", "limits", slug, "--max-users", "40")
    run_admin(ui, "user", "create", "--tenant", slug, "--email", email, "--name", "Wang Tao",
              "--password", TOTP_PASSWORD, "--locale", "en")
    ui.sign_in(email, TOTP_PASSWORD)
    ui.click_and_load(ui.find("[data-testid=two-factor-link]"))
    ui.wait_for_path("/settings/two-factor")

    qr = ui.find("[data-testid=totp-qr] svg")
    expect(qr.size["width"] >= 150, f"the QR code should be large enough to scan; it is {qr.size}")
    decoded = decode_qr(ui, qr, "two-factor-qr")
    uri = ui.find("[data-testid=totp-uri]").get_attribute("textContent").strip()
    secret = ui.find("[data-testid=totp-secret]").text.replace(" ", "")
    expect(decoded == uri, f"the QR code should hold the page's setup link {uri!r}; zbarimg read {decoded!r}")
    parsed = urllib.parse.urlparse(decoded)
    parameters = urllib.parse.parse_qs(parsed.query)
    expect(parsed.scheme == "otpauth" and parsed.netloc == "totp", f"not a TOTP setup link: {decoded!r}")
    expect(parameters.get("secret") == [secret], f"the QR code's secret {parameters.get('secret')} is not the text secret {secret!r}")
    expect(urllib.parse.unquote(parsed.path).endswith(":" + email), f"the account in the link should be {email}: {parsed.path!r}")
    expect(parameters.get("digits") == ["6"] and parameters.get("period") == ["30"] and parameters.get("algorithm") == ["SHA1"],
           f"the link should say SHA1, 6 digits, 30 s: {parameters}")
    ui.screenshot("two-factor-enrol")
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open("/settings/two-factor")
        ui.no_sideways_scroll("the two-factor enrolment page at 390×844")
        phone_qr = ui.find("[data-testid=totp-qr] svg")
        expect(decode_qr(ui, phone_qr, "two-factor-qr-390") == uri, "the QR code shrunk to a phone's width must still read the same")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)

    used = set()
    ui.type_into("[data-testid=two-factor-code]", fresh_code(secret, used))
    ui.click_and_load(ui.find("[data-testid=enable-two-factor]"))
    codes = [item.text for item in ui.find_all("[data-testid=recovery-codes] li code")]
    expect(len(codes) == 10, f"ten recovery codes should be shown once after turning it on; saw {codes}")
    expect(ui.find_all("[data-testid=two-factor-on]"), "the page should say two-factor sign-in is on")
    ui.open("/settings/two-factor")
    expect(not ui.find_all("[data-testid=recovery-codes]"), "the recovery codes must not be shown a second time")

    # Signing in again: the password leads to the second step, not into the app.
    ui.sign_out()
    ui.open("/login")
    ui.submit_login(email, TOTP_PASSWORD)
    ui.wait_for_path("/login/two-factor")
    expect(not any(cookie["name"] == "atrium_session" for cookie in ui.driver.get_cookies()),
           "no session may exist before the second step")
    pending = [cookie for cookie in ui.driver.get_cookies() if cookie["name"] == "atrium_2fa"]
    expect(pending and pending[0].get("httpOnly") and pending[0].get("sameSite") == "Strict",
           f"the pending-step cookie should be HttpOnly and SameSite=Strict: {pending}")
    ui.screenshot("two-factor-step")
    ui.type_into("[data-testid=two-factor-code]", "000000" if fresh_code(secret, set()) != "000000" else "111111")
    ui.click_and_load(ui.find("[data-testid=two-factor-submit]"))
    ui.wait_for_text("[data-testid=login-error]", "That code is not right")
    ui.type_into("[data-testid=two-factor-code]", fresh_code(secret, used))
    ui.click_and_load(ui.find("[data-testid=two-factor-submit]"))
    ui.wait_for_path("/")
    ui.wait_for_text("[data-testid=user-name]", "Wang Tao")
    ui.wait_for_text("[data-testid=two-factor-status]", "on")
    back_to_the_administrator(ui)


TWOFACTOR_CHECKS = [
    a_user_enrols_by_scanning_the_server_drawn_qr_code_and_signs_in_with_its_code,
]

"""Browser check of visits (拜访) and the daily report (日报) on a 390 px wide phone, in Chinese.

A salesperson with Chinese pages (made once with `atrium-admin user create --locale zh-CN` and
the admin JSON API: role salesperson) opens her account's page, presses 签到 in the timeline
section, lands on 我的拜访 with the visit checked in, writes the visit notes and presses 签退;
the visit is done, the account's timeline shows the visit (kind 拜访), and the day's report
opened from 我的拜访 is a draft whose summary is pre-filled with that visit. She saves it and
submits it to her manager.

Headless Chromium gives no position (the permission is not granted, or the request times
out): visits.js then sends the forms without one, which is the flow checked here. The check
grants nothing and mocks nothing.
"""
import secrets
import time

from browser_support import ADMIN_PASSWORD, DESKTOP_HEIGHT, DESKTOP_WIDTH, CheckFailed, expect
from crm_checks import api, run_admin

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PASSWORD = "Visit-pass-42"
GEO_WAIT_SECONDS = 20  # visits.js waits at most 8 s for a position before sending the form


def china_today():
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))


def visiting_salesperson(ui):
    """A Chinese-speaking salesperson (made once): (email, name, id)."""
    if ui.state.get("visit_salesperson"):
        return ui.state["visit_salesperson"]
    if not ui.find_all("[data-testid=user-name]"):
        ui.sign_in(ui.admin_email, ADMIN_PASSWORD)
    email, name = f"visitor@{ui.slug}.test", "赵敏"
    run_admin(ui, "tenant", "limits", ui.slug, "--max-users", "20")
    run_admin(ui, "user", "create", "--tenant", ui.slug, "--email", email, "--name", name, "--password", PASSWORD, "--locale", "zh-CN")
    status, body = api(ui, "GET", "/api/v1/admin/users")
    expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
    user_id = next((user.get("id") for user in body.get("users", []) if user.get("email") == email), None)
    expect(user_id, f"{email} is missing from /api/v1/admin/users")
    status, changed = api(ui, "PATCH", f"/api/v1/admin/users/{user_id}", {"roles": ["salesperson"]})
    expect(status == 200, f"making {email} a salesperson should be 200; got {status}: {changed}")
    ui.state["visit_salesperson"] = (email, name, user_id)
    return ui.state["visit_salesperson"]


def visit_status(ui):
    cards = ui.find_all("[data-testid=visit]")
    return cards[0].get_attribute("data-status") if cards else None


def salesperson_checks_in_and_out_of_a_visit_on_a_phone_in_chinese(ui):
    email, name, user_id = visiting_salesperson(ui)
    suffix = secrets.token_hex(3)
    account_name = f"拜访签到客户 {suffix}"
    status, account = api(ui, "POST", "/api/v1/account", {"name": account_name, "owner_id": user_id})
    expect(status == 201, f"POST /api/v1/account should be 201; got {status}: {account}")
    account_id = account["id"]
    ui.sign_in(email, PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", name)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open(f"/app/account/{account_id}")
        expect(ui.find("html").get_attribute("lang") == "zh-CN", "her pages should be Chinese")
        button = ui.find("[data-testid=visit-check-in]")
        expect(button.text == "拜访签到", f"the check-in button should read 拜访签到; reads {button.text!r}")
        ui.no_sideways_scroll("the account page with the visit buttons on a phone")
        button.click()
        # visits.js asks for the position first (refused or timed out in headless Chromium).
        ui.wait(GEO_WAIT_SECONDS).until(lambda _: ui.path() == "/app/visits",
                                        message=f"checking in did not open 我的拜访 (still on {ui.driver.current_url})")
        ui.wait_for_text("h1", "我的拜访")
        ui.wait_for_text("[data-testid=visit]", account_name)
        expect(visit_status(ui) == "checked_in", f"the visit should be checked in; is {visit_status(ui)!r}")
        expect(not ui.find_all("[data-testid=visit-out]"), "a checked-in visit should show no check-out time yet")
        ui.wait_for_text("[data-testid=visit-status]", "已签到")
        ui.no_sideways_scroll("my visits with a checked-in visit on a phone")
        ui.screenshot("phone-visit-checked-in")

        ui.type_into("[data-testid=visit-notes]", f"演示了移动端签到 {suffix}")
        ui.find("[data-testid=visit-check-out]").click()
        ui.wait(GEO_WAIT_SECONDS).until(lambda _: visit_status(ui) == "done" and "notice=" in ui.driver.current_url,
                                        message=f"checking out did not finish the visit (status {visit_status(ui)!r} on {ui.driver.current_url})")
        ui.wait_for_text("[data-testid=visit-status]", "已完成")
        ui.find("[data-testid=visit-duration]")
        ui.no_sideways_scroll("my visits with a finished visit on a phone")
        ui.screenshot("phone-visit-done")

        ui.open(f"/app/account/{account_id}")
        ui.wait_for_text("[data-testid=timeline] li[data-timeline-type=activity]", account_name)
        kind = ui.find("[data-testid=timeline] li[data-timeline-type=activity] strong").text
        expect(kind == "拜访", f"the timeline entry should name the kind 拜访; names {kind!r}")
        last = ui.find("[data-testid=last-activity]").text
        expect(last and last != "never" and "从未" not in last, f"the account's last activity should be set; reads {last!r}")

        ui.open("/app/visits")
        ui.click_and_load(ui.find("[data-testid=report-open]"))
        ui.wait().until(lambda _: ui.path().startswith("/app/work_report/") and ui.path().endswith("/edit"),
                        message=f"the daily report did not open as a draft (on {ui.driver.current_url})")
        summary = ui.find("#field-summary").get_attribute("value")
        expect(account_name in summary and "拜访" in summary,
               f"the report's summary should be pre-filled with the visit of {account_name!r}; reads {summary!r}")
        ui.no_sideways_scroll("the daily report form on a phone")
        ui.type_into("#field-next_plans", "明天确认试用安排")
        ui.click_and_load(ui.find("[data-testid=save]"))
        ui.wait().until(lambda _: ui.path().startswith("/app/work_report/") and not ui.path().endswith("/edit"),
                        message=f"saving the report did not open its page (on {ui.driver.current_url})")
        submit = ui.find("button[data-action]")
        expect(submit.text == "提交给上级", f"the report page should offer 提交给上级; offers {submit.text!r}")
        ui.click_and_load(submit)
        ui.wait_for_text("div.field[data-field=status] dd", "已提交")
        ui.screenshot("phone-daily-report-submitted")
    except CheckFailed:
        raise
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
        ui.sign_in(ui.admin_email, ADMIN_PASSWORD)


VISIT_CHECKS = [
    salesperson_checks_in_and_out_of_a_visit_on_a_phone_in_chinese,
]

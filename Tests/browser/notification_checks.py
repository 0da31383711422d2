"""Browser check of the e-mail notification preferences (issue 16): from the inbox the
administrator opens "E-mail settings" on a 390 px phone, turns one kind off and another on,
saves, sees the confirmation and the choices again after a reload, and the JSON API reports the
same choices. Runs after the knowledge checks.
"""

from browser_support import expect
from crm_checks import PHONE_HEIGHT, PHONE_WIDTH, api
from expenses_checks import back_to_the_administrator


def email_preferences_are_chosen_on_a_phone_and_kept(ui):
    back_to_the_administrator(ui)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    ui.open("/app/notifications")
    ui.click_and_load(ui.find("[data-testid=notification-preferences-link]"))
    ui.wait_for_path("/app/notifications/preferences")
    ui.no_sideways_scroll("the e-mail preferences at 390×844")
    assigned = ui.find("[data-testid='email-approval.task_assigned']")
    shared = ui.find("[data-testid='email-record.shared']")
    expect(assigned.is_selected(), "an approval waiting for me is mailed by default")
    expect(not shared.is_selected(), "a shared record stays in the inbox by default")
    assigned.click()
    shared.click()
    ui.click_and_load(ui.find("[data-testid=save-preferences]"))
    ui.wait_for_path("/app/notifications/preferences")
    notice = ui.find("main").text
    expect("saved" in notice, f"saving should confirm; the page reads {notice[:200]!r}")
    ui.open("/app/notifications/preferences")
    expect(not ui.find("[data-testid='email-approval.task_assigned']").is_selected(), "the choice to stop approval mail is kept")
    expect(ui.find("[data-testid='email-record.shared']").is_selected(), "the choice to mail shares is kept")
    ui.screenshot("notification-preferences-390")
    status, body = api(ui, "GET", "/api/v1/notifications/preferences")
    expect(status == 200, f"GET /api/v1/notifications/preferences answered {status}")
    email = (body or {}).get("email", {})
    expect(email.get("approval.task_assigned") is False and email.get("record.shared") is True,
           f"the API should report the page's choices; it says {email}")


NOTIFICATION_CHECKS = [
    email_preferences_are_chosen_on_a_phone_and_kept,
]

"""Browser checks of the service module (first slice): a service agent, on a 390 px phone,
finds a case waiting in her (manual) queue on the service desk, takes it, logs work on it,
resolves and closes it and issues the customer's survey link; the customer answers the survey
without signing in; the agent then sees the score on the case. They run after the knowledge
checks and end signed in as the administrator at the desktop size.
"""

import secrets
import urllib.parse

from browser_support import DESKTOP_HEIGHT, DESKTOP_WIDTH, expect
from crm_checks import api, make_user
from expenses_checks import back_to_the_administrator
from sales_checks import expect_field, fill, save_form

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
AGENT_PASSWORD = "Agent-pass-73"


def service_agent(ui):
    """The agent (made once): (email, name, id)."""
    if not ui.state.get("service_agent"):
        email, name = f"agent@{ui.slug}.test", "Zhao Lei"
        ui.state["service_agent"] = (email, name, make_user(ui, email, name, AGENT_PASSWORD, {"roles": ["service_agent"]}))
    return ui.state["service_agent"]


def create(ui, entity, values):
    status, body = api(ui, "POST", f"/api/v1/{entity}", values)
    expect(status == 201, f"POST /api/v1/{entity} {values} should be 201; got {status}: {body}")
    return body["id"]


def service_agent_takes_a_case_logs_work_resolves_it_and_the_survey_answer_appears_at_390px(ui):
    back_to_the_administrator(ui)
    email, name, agent_id = service_agent(ui)
    suffix = secrets.token_hex(3)
    queue = create(ui, "service_queue", {"name": f"Browser desk {suffix}", "rule": "manual"})
    create(ui, "service_queue_member", {"queue": queue, "member": agent_id})
    account = create(ui, "account", {"name": f"服务测试客户 {suffix}"})
    contact = create(ui, "contact", {"name": "刘经理", "account": account})
    subject = f"Scanner offline {suffix}"
    case = create(ui, "service_case", {"subject": subject, "case_type": "repair", "priority": "high", "queue": queue,
                                       "account": account, "contact": contact})

    ui.sign_in(email, AGENT_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", name)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open("/app/service/queue")
        row = ui.find(f"[data-testid=unassigned-row][data-id='{case}']")
        expect(subject in row.text, f"the desk should list {subject!r} as unassigned; the row reads {row.text!r}")
        ui.no_sideways_scroll("the service desk on a phone")
        ui.screenshot("service-desk-phone")
        ui.click_and_load(row.find_element("css selector", "[data-testid=take-case]"))
        ui.wait_for_path(f"/app/service_case/{case}")
        expect_field(ui, "status", "Assigned", "the case she took")
        ui.no_sideways_scroll("a service case on a phone")

        # Log work from the case page's button (the form comes with the case filled in).
        ui.click_and_load(ui.find("[data-action='service.actions.log_work']"))
        ui.wait_for_path("/app/service_work_record/new")
        fill(ui, {"summary": "Reset the scanner's pairing remotely", "minutes": "25"})
        save_form(ui, "service_work_record", "the work record")
        ui.open(f"/app/service_case/{case}")
        expect_field(ui, "work_minutes", "25", "the case after the work was logged")
        first_response = ui.find_all("div.field[data-field=first_response_at] dd")
        expect(first_response and first_response[0].text.strip(), "logging work should stamp the first response")

        # Resolve, then close; then issue the survey link (shown once).
        ui.open(f"/app/service_case/{case}/edit")
        fill(ui, {"status": ("Resolved",), "resolution": "Re-paired the scanner; the customer confirmed it scans."})
        save_form(ui, "service_case", "resolving the case")
        expect_field(ui, "status", "Resolved", "the resolved case")
        ui.open(f"/app/service_case/{case}/edit")
        fill(ui, {"status": ("Closed",)})
        save_form(ui, "service_case", "closing the case")
        expect_field(ui, "status", "Closed", "the closed case")
        ui.click_and_load(ui.find("[data-action='service.actions.survey_link']"))
        link = ui.find("[data-testid=survey-link]").get_attribute("value")
        expect("/survey/" in link, f"the survey link page should show a /survey/ link; shows {link!r}")
        ui.no_sideways_scroll("the survey link on a phone")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)

    # The customer answers without signing in.
    ui.sign_out()
    ui.open(urllib.parse.urlparse(link).path)
    ui.find("[data-testid=survey-form]")
    ui.find("[data-testid=score-4]").click()
    ui.type_into("#comment", "响应很快，谢谢！")
    ui.click_and_load(ui.find("[data-testid=survey-submit]"))
    ui.find("[data-testid=survey-thanks]")
    ui.screenshot("service-survey-answered")

    ui.sign_in(email, AGENT_PASSWORD)
    ui.open(f"/app/service_case/{case}")
    expect_field(ui, "satisfaction", "4", "the case after the customer's answer")
    comment = ui.find_all("div.field[data-field=satisfaction_comment] dd")
    expect(comment and "响应很快" in comment[0].text, f"the case should show the customer's comment; shows {[c.text for c in comment]}")
    back_to_the_administrator(ui)
    ui.open("/app/service/analysis")
    rows = [row.text for row in ui.find_all("[data-testid=agent-row]")]
    expect(any(name in row and "4" in row for row in rows), f"the analysis should list {name} with the score 4; rows: {rows}")
    ui.find("[data-testid=satisfaction-chart]")


SERVICE_CHECKS = [
    service_agent_takes_a_case_logs_work_resolves_it_and_the_survey_answer_appears_at_390px,
]

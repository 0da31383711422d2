"""Browser check of automation rules (issue 16): the administrator builds a rule from the form
(when the value class changes to A, notify the owner and set the lifecycle), sees a rule that
cannot be used refused with the part named and the input kept, watches the rule act on a
customer saved through the API (the field is set, the run is listed on the page), and turns
the rule off. Then, on a 390 px phone, registers a webhook endpoint on its page: a bad address
is refused naming it, the secret is shown once, a ping is queued and the endpoint turned off.
Runs after the notification checks, as the administrator.
"""

from browser_support import expect
from crm_checks import PHONE_HEIGHT, PHONE_WIDTH, api
from expenses_checks import back_to_the_administrator


def fill_rule(ui, name, trigger_field, trigger_to):
    ui.open("/app/admin/automation")
    ui.type_into("#ar-name", name)
    ui.choose("#ar-entity", value="account")
    ui.choose("#ar-trigger", value="field_changed")
    ui.type_into("#ar-trigger-field", trigger_field)
    ui.type_into("#ar-trigger-to", trigger_to)
    if not ui.find("input[name=notify_owner]").is_selected():
        ui.find("input[name=notify_owner]").click()
    ui.type_into("#ar-notify-message", "{record} 升为 A 类客户")
    ui.type_into("#ar-set-field", "lifecycle")
    ui.type_into("#ar-set-value", "customer")
    ui.click_and_load(ui.find("[data-testid=new-rule] button[type=submit]"))


def an_automation_rule_built_in_the_form_acts_on_a_saved_customer(ui):
    back_to_the_administrator(ui)
    fill_rule(ui, "坏规则", "no_such_field", "A")
    error = ui.find("[data-testid=form-error]").text
    expect("trigger.field" in error, f"the refusal should name trigger.field; it reads {error!r}")
    expect(ui.find("#ar-name").get_attribute("value") == "坏规则", "the refused form keeps what was typed")

    fill_rule(ui, "大客户提醒", "level", "A")
    ui.wait_for_path("/app/admin/automation")
    card = ui.find("[data-rule='大客户提醒']")
    expect("Notify" in card.text and "Set a field" in card.text, f"the rule's card should list its actions; it reads {card.text[:300]!r}")
    ui.find("[data-rule='大客户提醒'] [data-testid=rule-on]")

    status, account = api(ui, "POST", "/api/v1/account", {"name": "自动化测试客户", "level": "A"})
    expect(status == 201, f"creating the customer answered {status}: {account}")
    expect(account.get("lifecycle") == "customer", f"the rule should have set the lifecycle; the record reads {account}")
    status, inbox = api(ui, "GET", "/api/v1/notifications")
    texts = [item.get("text") for item in (inbox or {}).get("notifications", []) if item.get("kind") == "automation.rule"]
    expect("自动化测试客户 升为 A 类客户" in texts, f"the owner should be told; the inbox has {texts}")

    ui.open("/app/admin/automation")
    runs = ui.find_all("[data-rule='大客户提醒'] [data-testid=rule-runs] li[data-status=done]")
    expect(len(runs) == 1, f"the page should list the rule's one run; it lists {len(runs)}")
    ui.screenshot("automation-rules")
    ui.click_and_load(ui.find("form[action$='/active'] button[type=submit]"))
    ui.find("[data-rule='大客户提醒'] [data-testid=rule-off]")
    status, rules = api(ui, "GET", "/api/v1/admin/automation/rules")
    states = [(rule.get("name"), rule.get("active")) for rule in (rules or {}).get("rules", [])]
    expect(states == [("大客户提醒", False)], f"only the good rule is stored, now off; the API lists {states}")


def a_webhook_endpoint_is_registered_pinged_and_turned_off_on_a_phone(ui):
    back_to_the_administrator(ui)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    ui.open("/app/admin/webhooks")
    ui.type_into("#wh-url", "ftp://erp.example.cn/atrium")
    ui.type_into("#wh-events", "account.*, sales_order.created")
    ui.click_and_load(ui.find("[data-testid=new-endpoint] button[type=submit]"))
    error = ui.find("[data-testid=form-error]").text
    expect("url" in error, f"the refusal should name the url; it reads {error!r}")
    expect(ui.find("#wh-events").get_attribute("value") == "account.*, sales_order.created", "the refused form keeps the events")

    ui.type_into("#wh-url", "https://203.0.113.10/atrium")
    ui.click_and_load(ui.find("[data-testid=new-endpoint] button[type=submit]"))
    secret = ui.find("[data-testid=endpoint-secret] code").text
    expect(secret.startswith("whsec_"), f"the new endpoint's secret is shown once; the page shows {secret!r}")
    ui.no_sideways_scroll("the webhook page at 390x844")
    ui.screenshot("webhooks-390")
    ui.open("/app/admin/webhooks")
    expect(not ui.find_all("[data-testid=endpoint-secret]"), "the secret is not shown again")
    ui.click_and_load(ui.find("[data-testid=ping]"))
    ui.wait_for_text("main", "ping")
    ui.click_and_load(ui.find("form[action$='/active'] button[type=submit]"))
    ui.find("[data-testid=endpoint-off]")
    status, body = api(ui, "GET", "/api/v1/admin/webhooks")
    hooks = [(hook.get("url"), hook.get("events"), hook.get("active")) for hook in (body or {}).get("webhooks", [])]
    expect(hooks == [("https://203.0.113.10/atrium", ["account.*", "sales_order.created"], False)], f"the API should list the page's endpoint; it lists {hooks}")


AUTOMATION_CHECKS = [
    an_automation_rule_built_in_the_form_acts_on_a_saved_customer,
    a_webhook_endpoint_is_registered_pinged_and_turned_off_on_a_phone,
]

"""Browser checks of the expenses module and the approval workflow on a 390 px wide phone:
an employee files a claim with two lines and submits it, the employee's manager approves it
from the approval inbox, finance approves the finance step and records the payment; a
claim returned for changes goes back to the employee, who resubmits it; the inbox in Chinese.

They run after the sales checks. The people are set up once, as the CRM checks set up their
salespeople: `atrium-admin user create` and the admin JSON API with the administrator's API
token (a department, POST /api/v1/admin/departments; roles, department and manager, PATCH
/api/v1/admin/users/{id}). The trial plan allows five active users and the CRM checks already
made three, so the set-up first lifts the tenant's user limit (`atrium-admin tenant limits`).
Everything else is done through the UI as a user would, at 390×844: the claim's New form, the
lines' form opened from the claim's related list (which pre-fills the claim), the approval
panel on the record page, the inbox cards and the payment form.

The tenant's seeded claim process is: step 1 直属上级 (the submitter's manager), step 2 财务审核
(role finance, any one). The tenant is fresh on every run, so the manager's inbox holds
exactly the claims these checks submit.
"""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By

from browser_support import DESKTOP_HEIGHT, DESKTOP_WIDTH, CheckFailed, expect
from crm_checks import api, needs, run_admin, switch_language
from sales_checks import (english_on_a_desktop, expect_field, field_text, fill, new_record, open_related_new, save_form,
                          selected_value, yuan)

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PEOPLE_PASSWORD = "Expense-pass-42"
DEPARTMENT = "华东销售部"

CLAIM = "上海客户拜访 – Shanghai customer visit"
# Lines: description, amount, category (English title, Chinese title). 123.45 + 76.55 = 200.00.
CLAIM_LINES = [
    ("Train Hangzhou–Shanghai", "123.45", ("Transport", "交通费")),
    ("Client lunch", "76.55", ("Meals", "餐费")),
]
CLAIM_TOTAL = Decimal("200.00")
SUBMIT_COMMENT = "Visit to Shanghai Harbour, 2 lines"
MANAGER_COMMENT = "OK – needed for the racking deal"
FINANCE_COMMENT = "Receipts checked"
PAY_REFERENCE = "HSBC-20240517-001"

RETURNED_CLAIM = "杭州展会 – Hangzhou trade fair"
RETURNED_LINE = ("Fair hotel, one night", "480.00", ("Hotel", "住宿费"))
RETURN_COMMENT = "Please attach the hotel invoice number"
RESUBMIT_COMMENT = "Invoice number added"


# --- helpers -------------------------------------------------------------------------------

def china_today():
    """Today's date as the module sees it (Asia/Shanghai), e.g. the payment date's default."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def expense_people(ui):
    """The employee, their manager and a finance user (made once): {role: (email, name, id)}."""
    if ui.state.get("expense_people"):
        return ui.state["expense_people"]
    slug = ui.slug
    people = {"employee": (f"claimant@{slug}.test", "Li Na", ["salesperson"]),
              "manager": (f"manager@{slug}.test", "Zhou Min", ["sales_manager"]),
              "finance": (f"finance@{slug}.test", "Chen Jie", ["finance"])}
    # The trial plan's five active users are not enough for the CRM checks' salespeople and these three.
    run_admin(ui, "tenant", "limits", slug, "--max-users", "20")
    for email, name, _ in people.values():
        run_admin(ui, "user", "create", "--tenant", slug, "--email", email, "--name", name,
                  "--password", PEOPLE_PASSWORD, "--locale", "en")
    status, department = api(ui, "POST", "/api/v1/admin/departments", {"name": DEPARTMENT})
    expect(status == 201, f"POST /api/v1/admin/departments should be 201; got {status}: {department}")
    status, body = api(ui, "GET", "/api/v1/admin/users")
    expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
    ids = {user.get("email"): user.get("id") for user in body.get("users", [])}
    result = {}
    for role in ("manager", "finance", "employee"):
        email, name, roles = people[role]
        expect(ids.get(email), f"{email} is missing from /api/v1/admin/users: {body}")
        change = {"roles": roles, "department_id": department["id"]}
        if role == "employee":
            change["manager_id"] = ids[people["manager"][0]]
        status, changed = api(ui, "PATCH", f"/api/v1/admin/users/{ids[email]}", change)
        expect(status == 200, f"PATCH /api/v1/admin/users/{ids[email]} {change} should be 200; got {status}: {changed}")
        result[role] = (email, name, ids[email])
    ui.state["expense_people"] = result
    return result


def sign_in_as(ui, people, role):
    email, name, _ = people[role]
    ui.sign_in(email, PEOPLE_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", name)


def approval_state(ui):
    return ui.find("section[data-testid=approval]").get_attribute("data-state")


def expect_approval_state(ui, state, what):
    ui.wait().until(lambda _: approval_state(ui) == state,
                    message=f"{what}: the approval panel should be {state!r}; is {approval_state(ui)!r} on {ui.driver.current_url}")


def new_claim_with_lines(ui, title, lines):
    """As the signed-in user: a claim made with the list's New form, its lines added from the
    claim page's related list; returns the claim's id (the browser is on the claim page)."""
    claim = new_record(ui, "expense_claim", {"title": title}, f"the claim {title!r}")
    ui.wait_for_text("[data-testid=record-title]", title)
    today = china_today()
    for description, amount, category in lines:
        open_related_new(ui, "expense_line")
        expect(selected_value(ui, "#field-claim") == claim, "the line form opened from the claim should have the claim chosen")
        fill(ui, {"category": category, "date": today, "description": description, "amount": amount})
        save_form(ui, "expense_line", f"the line {description!r}")
        ui.wait_for_text("[data-testid=flash]", "Created.")
        expect_field(ui, "amount_cny", yuan(Decimal(amount)), f"the line {description!r} at the default rate 1")
        ui.click_and_load(ui.find("div.field[data-field=claim] dd a"))
        ui.wait_for_path(f"/app/expense_claim/{claim}")
    return claim


def submit_for_approval(ui, comment):
    ui.type_into("#submit-comment", comment)
    ui.click_and_load(ui.find("[data-testid=submit-approval]"))
    ui.wait_for_text("[data-testid=flash]", "Submitted for approval.")


def inbox_card(ui, title):
    """The inbox card of the record titled `title`, or None."""
    for card in ui.find_all("section[data-testid=inbox-waiting] article[data-testid=inbox-item]"):
        links = card.find_elements(By.CSS_SELECTOR, "h3 a")
        if links and links[0].text == title:
            return card
    return None


def waiting_titles(ui):
    return [a.text for a in ui.find_all("section[data-testid=inbox-waiting] article[data-testid=inbox-item] h3 a")]


def panel_text(ui):
    return ui.find("section[data-testid=approval]").text


def back_to_the_administrator(ui):
    ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    ui.sign_in(ui.admin_email, ui.state["admin_password"])
    english_on_a_desktop(ui)


# --- checks --------------------------------------------------------------------------------

def expenses_claim_submitted_approved_by_manager_and_paid_by_finance_on_a_390px_phone(ui):
    english_on_a_desktop(ui)
    people = expense_people(ui)
    later = []  # problems that do not stop the flow, reported at the end
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        # The employee files the claim with two lines and submits it.
        sign_in_as(ui, people, "employee")
        claim = new_claim_with_lines(ui, CLAIM, CLAIM_LINES)
        ui.state["expense_claim"] = claim
        expect_field(ui, "total", yuan(CLAIM_TOTAL), "the claim with lines of 123.45 and 76.55")
        expect_field(ui, "status", "Draft", "the new claim")
        expect_approval_state(ui, "draft", "the new claim")
        lines = sorted(a.text for a in ui.find_all("section.related[data-related=expense_line] ul li a"))
        expect(lines == sorted(line[0] for line in CLAIM_LINES), f"the claim should list its two lines; lists {lines}")
        submit_for_approval(ui, SUBMIT_COMMENT)
        ui.wait_for_path(f"/app/expense_claim/{claim}")
        expect_approval_state(ui, "pending", "the submitted claim")
        expect_field(ui, "status", "Submitted", "the submitted claim")
        expect(not ui.find_all("[data-testid=edit]"), "a claim waiting for approval should have no Edit button")
        expect(not ui.find_all("[data-testid=approval-submit-form]"), "a pending claim should not offer Submit again")
        expect(ui.find_all("[data-testid=withdraw]"), "the submitter should be able to withdraw a pending claim")
        expect(not ui.find_all("[data-testid=approval-decision]"), "the submitter has no step to decide")
        ui.no_sideways_scroll("the submitted claim at 390×844")

        # The manager approves it from the inbox card.
        sign_in_as(ui, people, "manager")
        ui.open("/app/approvals")
        ui.find("section[data-testid=inbox-waiting]")
        card = inbox_card(ui, CLAIM)
        expect(card is not None, f"the manager's inbox should hold the claim {CLAIM!r}; holds {waiting_titles(ui)}")
        count = ui.find("[data-testid=waiting-count]").text
        expect(count == "1", f"the manager's waiting count should be 1; is {count!r}")
        text = card.text
        expect("Li Na" in text, f"the inbox card should name the submitter Li Na; reads {text!r}")
        expect(yuan(CLAIM_TOTAL) in text, f"the inbox card should show the claim's total {yuan(CLAIM_TOTAL)}; reads {text!r}")
        expect("直属上级" in text, f"the inbox card should name the step 直属上级; reads {text!r}")
        ui.no_sideways_scroll("the approval inbox at 390×844")
        ui.screenshot("phone-approvals-inbox")
        card.find_element(By.CSS_SELECTOR, "textarea[name=comment]").send_keys(MANAGER_COMMENT)
        ui.click_and_load(card.find_element(By.CSS_SELECTOR, "[data-testid=approve]"))
        ui.wait_for_path("/app/approvals")
        ui.wait_for_text("[data-testid=flash]", "Your decision was recorded.")
        expect(inbox_card(ui, CLAIM) is None, f"after approving, the claim should leave the manager's inbox; it holds {waiting_titles(ui)}")

        # Finance approves the finance step on the record page, then records the payment.
        sign_in_as(ui, people, "finance")
        ui.open("/app/approvals")
        expect(inbox_card(ui, CLAIM) is not None, f"finance's inbox should hold the claim after the manager's approval; holds {waiting_titles(ui)}")
        ui.click_and_load(inbox_card(ui, CLAIM).find_element(By.CSS_SELECTOR, "h3 a"))
        ui.wait_for_path(f"/app/expense_claim/{claim}")
        expect_approval_state(ui, "pending", "the claim at the finance step")
        expect(MANAGER_COMMENT in panel_text(ui), f"the approval panel should show the manager's comment {MANAGER_COMMENT!r}; reads {panel_text(ui)!r}")
        ui.type_into("#approval-comment", FINANCE_COMMENT)
        ui.click_and_load(ui.find("[data-testid=approval-decision] [data-testid=approve]"))
        ui.wait_for_path(f"/app/expense_claim/{claim}")
        ui.wait_for_text("[data-testid=flash]", "Your decision was recorded.")
        expect_approval_state(ui, "approved", "the claim approved by finance")
        expect_field(ui, "status", "Approved", "the claim approved by finance")
        expect(not ui.find_all("[data-testid=edit]"), "an approved claim should have no Edit button")

        ui.click_and_load(ui.find("a[data-action='expenses.actions.pay']"))
        ui.wait_for_path(f"/app/expenses/claims/{claim}/pay")
        shown = ui.find("[data-testid=pay-total]").text
        expect(shown == yuan(CLAIM_TOTAL), f"the payment form should show the amount {yuan(CLAIM_TOTAL)}; shows {shown!r}")
        paid_on = ui.find("#paid_on").get_attribute("value")
        expect(paid_on == china_today(), f"the payment date should default to today in China, {china_today()}; is {paid_on!r}")
        ui.choose("#method", visible_text="Bank transfer")
        ui.type_into("#reference", PAY_REFERENCE)
        ui.no_sideways_scroll("the payment form at 390×844")
        ui.screenshot("phone-expense-pay")
        ui.click_and_load(ui.find("[data-testid=pay]"))
        if ui.path() != f"/app/expense_claim/{claim}":
            errors = [e.text for e in ui.find_all("[data-testid=form-error]")]
            raise CheckFailed(f"recording the payment should return to the claim; is on {ui.driver.current_url}; errors: {errors}")
        expect_field(ui, "status", "Paid", "the paid claim")
        expect(field_text(ui, "paid_on"), f"the paid claim should show its payment date; Paid on reads {field_text(ui, 'paid_on')!r}")
        expect_field(ui, "payment_method", "Bank transfer", "the paid claim")
        expect_field(ui, "payment_reference", PAY_REFERENCE, "the paid claim")
        expect_field(ui, "total", yuan(CLAIM_TOTAL), "the paid claim")
        expect(not ui.find_all("[data-testid=edit]"), "a paid claim should have no Edit button")
        ui.no_sideways_scroll("the paid claim at 390×844")
        ui.screenshot("phone-expense-claim")
        if ui.find_all("a[data-action='expenses.actions.pay']"):  # reported at the end: the rest still runs
            later.append("a paid claim still shows the Record payment button (its form can only refuse a second payment)")
        # A second payment of the same claim is refused.
        ui.open(f"/app/expenses/claims/{claim}/pay")
        ui.click_and_load(ui.find("[data-testid=pay]"))
        error = ui.find_all("[data-testid=form-error]")
        expect(ui.path() == f"/app/expenses/claims/{claim}/pay" and error and error[0].text.strip(),
               f"paying a paid claim again should be refused with a message; now on {ui.driver.current_url}")
        ui.open(f"/app/expense_claim/{claim}")
        expect_field(ui, "status", "Paid", "the claim after a refused second payment")
        expect(not later, "; ".join(later))
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    back_to_the_administrator(ui)


def expenses_claim_returned_for_changes_shows_the_comment_and_can_be_resubmitted(ui):
    english_on_a_desktop(ui)
    people = expense_people(ui)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        sign_in_as(ui, people, "employee")
        claim = new_claim_with_lines(ui, RETURNED_CLAIM, [RETURNED_LINE])
        ui.state["returned_claim"] = claim
        expect_field(ui, "total", yuan(Decimal(RETURNED_LINE[1])), "the second claim")
        submit_for_approval(ui, SUBMIT_COMMENT)
        expect_approval_state(ui, "pending", "the second claim")

        # The manager returns it from the record page, with a comment.
        sign_in_as(ui, people, "manager")
        ui.open(f"/app/expense_claim/{claim}")
        expect_approval_state(ui, "pending", "the second claim as the manager sees it")
        ui.type_into("#approval-comment", RETURN_COMMENT)
        ui.click_and_load(ui.find("[data-testid=approval-decision] [data-testid=return]"))
        ui.wait_for_path(f"/app/expense_claim/{claim}")
        ui.wait_for_text("[data-testid=flash]", "Your decision was recorded.")
        expect_approval_state(ui, "returned", "the returned claim as the manager sees it")

        # The employee sees why, may edit, and resubmits.
        sign_in_as(ui, people, "employee")
        ui.open(f"/app/expense_claim/{claim}")
        expect_approval_state(ui, "returned", "the returned claim")
        expect_field(ui, "status", "Returned", "the returned claim")
        badge = ui.find("[data-testid=approval-state]").text
        expect(badge == "Returned for changes", f"the approval badge should read 'Returned for changes'; reads {badge!r}")
        expect(RETURN_COMMENT in panel_text(ui), f"the returned claim should show the manager's comment {RETURN_COMMENT!r}; the panel reads {panel_text(ui)!r}")
        expect(ui.find_all("[data-testid=edit]"), "a claim returned for changes should be editable (Edit button)")
        ui.no_sideways_scroll("the returned claim at 390×844")
        ui.screenshot("phone-expense-claim-returned")
        submit_for_approval(ui, RESUBMIT_COMMENT)
        ui.wait_for_path(f"/app/expense_claim/{claim}")
        expect_approval_state(ui, "pending", "the resubmitted claim")
        expect_field(ui, "status", "Submitted", "the resubmitted claim")
        expect(not ui.find_all("[data-testid=edit]"), "a resubmitted claim should have no Edit button")
        expect(ui.find_all("section[data-testid=approval] details"), "the resubmitted claim should list its earlier submission")

        # It is back in the manager's inbox.
        sign_in_as(ui, people, "manager")
        ui.open("/app/approvals")
        ui.find("section[data-testid=inbox-waiting]")
        expect(RETURNED_CLAIM in waiting_titles(ui), f"the manager's inbox should hold the resubmitted claim again; holds {waiting_titles(ui)}")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    back_to_the_administrator(ui)


@needs(expenses_claim_returned_for_changes_shows_the_comment_and_can_be_resubmitted)
def expenses_approval_inbox_in_chinese_shows_chinese_labels(ui):
    english_on_a_desktop(ui)
    people = expense_people(ui)
    sign_in_as(ui, people, "manager")
    ui.open("/app/approvals")
    switch_language(ui, "中文", "Switch")
    try:
        ui.wait_for_path("/app/approvals")
        expect(ui.find("html").get_attribute("lang") == "zh-CN", "<html lang> should be zh-CN")
        heading = ui.find("h1").text
        expect(heading.startswith("审批中心"), f"the inbox should be headed 审批中心 in Chinese; is {heading!r}")
        card = inbox_card(ui, RETURNED_CLAIM)
        expect(card is not None, f"the Chinese inbox should hold the resubmitted claim; holds {waiting_titles(ui)}")
        buttons = [b.text for b in card.find_elements(By.CSS_SELECTOR, "button[data-testid]")]
        expect(buttons == ["同意", "退回修改", "驳回"], f"the card's buttons should read 同意 / 退回修改 / 驳回; read {buttons}")
        waiting = ui.find("section[data-testid=inbox-waiting] h2").text
        expect(waiting == "待我审批", f"the waiting section should be headed 待我审批; is {waiting!r}")
        ui.screenshot("approvals-inbox-zh")
    finally:
        switch_language(ui, "English", "切换")
    back_to_the_administrator(ui)


EXPENSES_CHECKS = [
    expenses_claim_submitted_approved_by_manager_and_paid_by_finance_on_a_390px_phone,
    expenses_claim_returned_for_changes_shows_the_comment_and_can_be_resubmitted,
    expenses_approval_inbox_in_chinese_shows_chinese_labels,
]

"""Browser checks of the purchasing module (first slice): a purchaser turns a reorder
suggestion into a purchase plan and a purchase order, submits it, her manager approves it
from the inbox, she marks it sent and receives it in two parts on the order page; then a
confirmed sales order is delivered from the warehouse and the stock page shows what is left.
They run after the service checks and end signed in as the administrator at the desktop size.
"""

import secrets

from browser_support import expect
from crm_checks import api, run_admin
from expenses_checks import back_to_the_administrator, inbox_card, submit_for_approval, waiting_titles

BUYER_PASSWORD = "Buyer-pass-58"


def purchasing_people(ui):
    """The purchaser and her manager (made once): {key: (email, name, id)}."""
    if ui.state.get("purchasing_people"):
        return ui.state["purchasing_people"]
    run_admin(ui, "tenant", "modules", ui.slug, "--enable", "purchasing")
    run_admin(ui, "tenant", "limits", ui.slug, "--max-users", "40")
    people = {"buyer": (f"buyer@{ui.slug}.test", "Sun Li"), "boss": (f"buyboss@{ui.slug}.test", "Qian Hao")}
    ids = {}
    for key, (email, name) in people.items():
        run_admin(ui, "user", "create", "--tenant", ui.slug, "--email", email, "--name", name, "--password", BUYER_PASSWORD, "--locale", "en")
        status, body = api(ui, "GET", "/api/v1/admin/users")
        expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
        ids[key] = next((user.get("id") for user in body.get("users", []) if user.get("email") == email), None)
        expect(ids[key], f"{email} is missing from /api/v1/admin/users")
    for key, change in [("boss", {"roles": ["purchaser"]}), ("buyer", {"roles": ["purchaser"], "manager_id": ids["boss"]})]:
        status, body = api(ui, "PATCH", f"/api/v1/admin/users/{ids[key]}", change)
        expect(status == 200, f"PATCH {key} {change} should be 200; got {status}: {body}")
    ui.state["purchasing_people"] = {key: (email, name, ids[key]) for key, (email, name) in people.items()}
    return ui.state["purchasing_people"]


def create(ui, entity, values):
    status, body = api(ui, "POST", f"/api/v1/{entity}", values)
    expect(status == 201, f"POST /api/v1/{entity} {values} should be 201; got {status}: {body}")
    return body["id"]


def sign_in_as(ui, person):
    email, name, _ = person
    ui.sign_in(email, BUYER_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", name)


def order_status(ui):
    return ui.find("[data-testid=order-status]").get_attribute("data-status")


def line_received(ui, code):
    return ui.find(f"[data-testid=order-line][data-code='{code}'] [data-testid=line-received]").text.strip()


def purchaser_orders_from_a_suggestion_gets_it_approved_and_receives_it_in_two_parts(ui):
    back_to_the_administrator(ui)
    people = purchasing_people(ui)
    suffix = secrets.token_hex(3)
    code, name = f"BW-{suffix}", f"浏览器测试交换机 {suffix}"
    supplier = create(ui, "supplier", {"name": f"浏览器供应商 {suffix}", "code": f"BS-{suffix}"})
    product = create(ui, "product", {"code": code, "name": name, "category": "hardware", "list_price": "99.00", "tax_rate": "13"})
    create(ui, "supplier_price", {"supplier": supplier, "product": product, "price": "12.50", "preferred": True})
    create(ui, "stock_rule", {"product": product, "min_quantity": "10", "reorder_quantity": "20"})
    warehouse = create(ui, "warehouse", {"code": f"W{suffix}", "name": f"浏览器仓 {suffix}"})
    ui.state["purchasing_product"] = (product, code, warehouse)

    # The purchaser: suggestion → plan → draft order.
    sign_in_as(ui, people["buyer"])
    ui.open("/app/purchasing/suggestions")
    rows = [row.text for row in ui.find_all("[data-testid=suggestion-row]")]
    expect(any(name in row and "20" in row for row in rows), f"the suggestions should propose 20 of {name!r}; rows: {rows}")
    ui.click_and_load(ui.find("[data-testid=make-plan]"))
    ui.wait_for_text("[data-testid=suggestions-notice]", "Purchase plan created.")
    ui.click_and_load(ui.find_all("[data-testid=order-plan]")[0])
    expect(ui.path().startswith("/app/purchasing/orders/"), f"ordering the plan should open the order page; is on {ui.driver.current_url}")
    order = ui.path().rsplit("/", 1)[1]
    expect(order_status(ui) == "draft", f"the new order should be a draft; is {order_status(ui)!r}")
    total = ui.find("[data-testid=order-total]").text
    expect(total == "282.50", f"20 × 12.50 + 13 % should total 282.50; the page shows {total!r}")
    number = ui.find("h1").text.split()[-1]

    # Submitted from the record page; the manager approves it from the inbox.
    ui.click_and_load(ui.find("[data-testid=order-record]"))
    ui.wait_for_path(f"/app/purchase_order/{order}")
    submit_for_approval(ui, "请审批")
    sign_in_as(ui, people["boss"])
    ui.open("/app/approvals")
    card = inbox_card(ui, number)
    expect(card is not None, f"the manager's inbox should hold {number}; holds {waiting_titles(ui)}")
    ui.click_and_load(card.find_element("css selector", "[data-testid=approve]"))
    ui.wait_for_text("[data-testid=flash]", "Your decision was recorded.")

    # Sent, then received in two parts.
    sign_in_as(ui, people["buyer"])
    ui.open(f"/app/purchasing/orders/{order}")
    expect(order_status(ui) == "approved", f"the approved order should read approved; reads {order_status(ui)!r}")
    ui.click_and_load(ui.find("[data-testid=send-order]"))
    expect(order_status(ui) == "sent", f"after Mark as sent the order should be sent; is {order_status(ui)!r}")
    ui.choose("[data-testid=receive-warehouse]", value=warehouse)
    quantity = ui.find(f"[data-testid=order-line][data-code='{code}'] [data-testid=receive-qty]")
    quantity.clear()
    quantity.send_keys("8")
    ui.click_and_load(ui.find("[data-testid=receive-submit]"))
    ui.wait_for_text("[data-testid=order-notice]", "Goods received.")
    expect(order_status(ui) == "partially_received", f"after 8 of 20 the order should be partially received; is {order_status(ui)!r}")
    expect(line_received(ui, code) == "8", f"the line should show 8 received; shows {line_received(ui, code)!r}")
    # Too much is refused whole, with the reason on the page.
    quantity = ui.find(f"[data-testid=order-line][data-code='{code}'] [data-testid=receive-qty]")
    quantity.clear()
    quantity.send_keys("13")
    ui.click_and_load(ui.find("[data-testid=receive-submit]"))
    ui.wait_for_text("[data-testid=order-notice]", "Nothing was received")
    expect(line_received(ui, code) == "8", f"a refused receipt should change nothing; the line shows {line_received(ui, code)!r}")
    ui.choose("[data-testid=receive-warehouse]", value=warehouse)
    ui.click_and_load(ui.find("[data-testid=receive-submit]"))  # the rest: 12, filled in
    ui.wait_for_text("[data-testid=order-notice]", "Goods received.")
    expect(order_status(ui) == "received", f"after all 20 the order should be received; is {order_status(ui)!r}")
    ui.screenshot("purchase-order-received")

    ui.open("/app/purchasing/stock")
    on_hand = ui.find(f"[data-testid=stock-row][data-code='{code}'] [data-testid=stock-on-hand]").text
    expect(on_hand == "20", f"the stock page should show 20 of {code}; shows {on_hand!r}")
    back_to_the_administrator(ui)


def a_confirmed_sales_order_is_delivered_and_the_stock_page_shows_what_is_left(ui):
    back_to_the_administrator(ui)
    expect(ui.state.get("purchasing_product"), "the purchasing check before this one should have received the product")
    product, code, warehouse = ui.state["purchasing_product"]
    account = create(ui, "account", {"name": f"发货测试客户 {secrets.token_hex(3)}"})
    order = create(ui, "sales_order", {"account": account})
    create(ui, "order_line", {"sales_order": order, "product": product, "quantity": "5", "unit_price": "99.00"})
    status, body = api(ui, "GET", f"/api/v1/sales_order/{order}")
    status, body = api(ui, "PATCH", f"/api/v1/sales_order/{order}", {"status": "confirmed", "version": body["version"]})
    expect(status == 200, f"confirming the order should be 200; got {status}: {body}")
    status, note = api(ui, "POST", "/api/v1/purchasing/deliveries", {"sales_order": order, "warehouse": warehouse})
    expect(status == 201, f"delivering the order should be 201; got {status}: {note}")
    ui.open(f"/app/sales_order/{order}")
    shown = ui.find("div.field[data-field=status] dd").text.strip()
    expect(shown == "Delivered", f"the delivered order should read Delivered; reads {shown!r}")
    ui.open("/app/purchasing/stock")
    on_hand = ui.find(f"[data-testid=stock-row][data-code='{code}'] [data-testid=stock-on-hand]").text
    expect(on_hand == "15", f"after delivering 5 the stock page should show 15 of {code}; shows {on_hand!r}")
    check = ui.find("[data-testid=stock-check]").text
    expect("equals the sum of its movements" in check, f"the ledger check should pass; reads {check!r}")
    ui.screenshot("purchasing-stock")


PURCHASING_CHECKS = [
    purchaser_orders_from_a_suggestion_gets_it_approved_and_receives_it_in_two_parts,
    a_confirmed_sales_order_is_delivered_and_the_stock_page_shows_what_is_left,
]

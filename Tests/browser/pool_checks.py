"""Browser checks of the customer pool (公海, issue 15): on a 390 px phone a Chinese-speaking
salesperson opens the pools from the menu, claims a customer from the pool's list, sees it as
hers on its page and gives it back with a reason; the administrator sets a pool up on the
pools page. They end signed in as the administrator at the desktop size.
"""

import secrets

from browser_support import expect
from crm_checks import api, make_user
from expenses_checks import back_to_the_administrator

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
SELLER_PASSWORD = "Seller-pass-58"


def pool_seller(ui):
    """A zh-CN salesperson (made once): (email, name, id)."""
    if not ui.state.get("pool_seller"):
        email, name = f"pool-seller@{ui.slug}.test", "陈晓"
        user_id = make_user(ui, email, name, SELLER_PASSWORD, {"roles": ["salesperson"]}, locale="zh-CN")
        ui.state["pool_seller"] = (email, name, user_id)
    return ui.state["pool_seller"]


def salesperson_claims_a_customer_from_the_pool_and_returns_it_at_390px(ui):
    back_to_the_administrator(ui)
    email, name, seller = pool_seller(ui)
    suffix = secrets.token_hex(3)
    status, pool = api(ui, "POST", "/api/v1/admin/pools", {"entity": "account", "name": f"浏览器公海 {suffix}", "claim_limit": 5,
                                                          "department_id": None})
    if status == 422 and "department_id" in str(pool):
        # The company pool exists already (demo data or an earlier run): use it.
        status, pools = api(ui, "GET", "/api/v1/pools")
        pool = next(p for p in pools["pools"] if p["entity"] == "account" and p["department_id"] is None)
    else:
        expect(status == 201, f"creating a pool should be 201; got {status}: {pool}")
    customer = f"公海测试客户 {suffix}"
    status, account = api(ui, "POST", "/api/v1/account", {"name": customer})
    expect(status == 201, f"creating {customer} should be 201; got {status}: {account}")
    status, released = api(ui, "POST", f"/api/v1/account/{account['id']}/release", {"pool_id": pool["id"], "reason": "浏览器测试"})
    expect(status == 200 and released.get("owner_id") is None, f"returning it to the pool should leave no owner; got {status}: {released}")

    ui.sign_in(email, SELLER_PASSWORD)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open("/app/pools")
        entry = ui.find(f"[data-testid=pools] li[data-pool='{pool['name']}']")
        expect(int(entry.find_element("css selector", "[data-testid=pool-waiting]").text) >= 1, f"the pool should have a waiting customer: {entry.text!r}")
        ui.no_sideways_scroll("the pools page on a phone")
        ui.click_and_load(entry.find_element("css selector", "a"))
        row = ui.find(f"tr[data-id='{account['id']}']")
        expect(customer in row.text, f"the pool's list should show {customer!r}; the row reads {row.text!r}")
        claim = row.find_element("css selector", "[data-testid=claim-row]")
        expect(claim.text.strip() == "领取", f"the claim button should read 领取; reads {claim.text!r}")
        ui.screenshot("pool-list-phone")
        ui.click_and_load(claim)
        ui.wait_for_path(f"/app/account/{account['id']}")
        owner_line = ui.find("main p.muted.small").text
        expect(name in owner_line, f"the claimed customer should be hers ({name}); the page says {owner_line!r}")
        ui.no_sideways_scroll("a claimed customer on a phone")

        # Give it back with a reason: it waits in the pool again.
        ui.find("[data-testid=release-open]").click()
        ui.type_into("#release-reason", "客户暂无需求")
        ui.click_and_load(ui.find("[data-testid=release]"))
        ui.find(f"tr[data-id='{account['id']}']")
        expect("pool" in ui.query(), f"returning it should lead to the pool's list; at {ui.path()}?{ui.query()}")
    finally:
        back_to_the_administrator(ui)
    status, moves = api(ui, "GET", f"/api/v1/account/{account['id']}/pool-moves")
    kinds = [move["kind"] for move in moves.get("moves", [])]
    expect(kinds[:3] == ["released", "claimed", "released"], f"the moves should be released, claimed, released (newest first); are {kinds}")
    expect(moves["moves"][0].get("reason") == "客户暂无需求", f"the reason should be kept: {moves['moves'][0]}")


def administrator_sets_up_a_department_pool_on_the_pools_page(ui):
    back_to_the_administrator(ui)
    suffix = secrets.token_hex(3)
    status, department = api(ui, "POST", "/api/v1/admin/departments", {"name": f"华南 {suffix}"})
    expect(status == 201, f"creating a department should be 201; got {status}: {department}")
    ui.open("/app/admin/pools")
    ui.type_into("#pool-name", f"华南公海 {suffix}")
    ui.choose("#pool-entity", value="account")
    ui.choose("#pool-department", value=department["id"])
    ui.type_into("#pool-idle", "45")
    ui.type_into("#pool-limit", "10")
    ui.click_and_load(ui.find("[data-testid=pool-create]"))
    row = ui.find(f"[data-testid=admin-pools] tr[data-pool='华南公海 {suffix}']")
    expect(f"华南 {suffix}" in row.text, f"the new pool's row should name its department: {row.text!r}")
    # A bad number is refused with the field named, nothing made.
    ui.type_into("#pool-name", f"坏的 {suffix}")
    ui.type_into("#pool-idle", "0")
    ui.click_and_load(ui.find("[data-testid=pool-create]"))
    expect("idle_days" in ui.driver.page_source, "a pool with 0 idle days should be refused naming idle_days")
    status, pools = api(ui, "GET", "/api/v1/pools")
    expect(not any(p["name"] == f"坏的 {suffix}" for p in pools["pools"]), "the refused pool should not exist")


POOL_CHECKS = [
    salesperson_claims_a_customer_from_the_pool_and_returns_it_at_390px,
    administrator_sets_up_a_department_pool_on_the_pools_page,
]

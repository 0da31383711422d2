"""Browser checks of the tenant CRM pages (/app/…): designer, forms, lists, record pages,
recycle bin, language, escaping, permissions, search and phone layout.

They run in order after the sign-in checks of run_browser_tests.py, signed in as the tenant
administrator, and build on each other: the first creates the custom objects the others use.
Everything is done as a user would — clicking links and buttons, typing, choosing from
selects, accepting the confirm dialog — except setting up the two salespeople, which uses
`atrium-admin user create` and the admin JSON API (PATCH /api/v1/admin/users/{id} with the
administrator's API token from the token check).

A check marked @needs(...) is reported as not run when a check it builds on failed.
"""

import json
import re
import subprocess
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from browser_support import DESKTOP_HEIGHT, DESKTOP_WIDTH, WAIT_SECONDS, CheckFailed, expect

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PHONE_WIDTH, PHONE_HEIGHT = 390, 844

ACME = "Acme Holdings"
ALICE = "Alice Zhang"
COBALT = "Cobalt IT Services"
BOLT = "Bolt Manufacturing Co"
HUATONG = "北京华通科技有限公司"
DOOMED = "Dunmore Trading"
MARKUP = "<script>alert(1)</script>"
PRIVATE = "Sales3 private account"
SELLER_PASSWORD = "Seller-pass-42"


# --- helpers -------------------------------------------------------------------------------

def needs(*checks):
    """Marks a check as building on what earlier checks made: if one of them failed, the runner
    reports this one as not run instead of letting it time out on missing pages."""
    def mark(check):
        check.needs = [earlier.__name__ for earlier in checks]
        return check
    return mark


def record_path(entity, name_or_id, ui):
    record_id = ui.state.get("ids", {}).get(name_or_id, name_or_id)
    return f"/app/{entity}/{record_id}"


def row_titles(ui):
    """Titles of the list's rows, top to bottom (the title cell is the only link in a row)."""
    return [link.text for link in ui.find_all("table[data-testid=records] tbody tr td a")]


def wait_for_rows(ui, expected, what):
    try:
        ui.wait().until(lambda _: row_titles(ui) == expected)
    except Exception:
        raise CheckFailed(f"{what}: the list should show {expected}; shows {row_titles(ui)} on {ui.driver.current_url}")


def nav_link(ui, key):
    return ui.find(f"nav#sidenav a[data-entity='{key}']")


def fill_form(ui, values):
    """Fills a record form: text for inputs, the visible option for selects."""
    for key, value in values.items():
        element = ui.find(f"#field-{key}")
        if element.tag_name == "select":
            Select(element).select_by_visible_text(value)
        else:
            element.clear()
            if value:
                element.send_keys(value)


def create_record(ui, entity, values, from_list=True):
    """Opens the entity's list, clicks New, fills the form, saves; returns the new record's id."""
    if from_list:
        ui.open(f"/app/{entity}")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    ui.wait_for_path(f"/app/{entity}/new")
    fill_form(ui, values)
    ui.click_and_load(ui.find("[data-testid=save]"))
    try:
        ui.wait_for_path(re.compile(f"/app/{entity}/{UUID}"))
    except Exception:
        errors = [e.text for e in ui.find_all("[data-testid=form-error], [data-testid=field-error]")]
        raise CheckFailed(f"saving a new {entity} {values} did not open its record page; errors shown: {errors}")
    ui.wait_for_text("[data-testid=flash]", "Created.")
    record_id = ui.path().rsplit("/", 1)[1]
    ui.state.setdefault("ids", {})[values.get("x_name")] = record_id
    return record_id


def make_user(ui, email, name, password, change, locale="en"):
    """A user made with atrium-admin (the tenant's user limit raised to 40), then changed through
    the admin API (`change`: roles, department_id, manager_id …); returns the user's id."""
    run_admin(ui, "tenant", "limits", ui.slug, "--max-users", "40")
    run_admin(ui, "user", "create", "--tenant", ui.slug, "--email", email, "--name", name, "--password", password, "--locale", locale)
    status, body = api(ui, "GET", "/api/v1/admin/users")
    expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
    user_id = next((user.get("id") for user in body.get("users", []) if user.get("email") == email), None)
    expect(user_id, f"{email} is missing from /api/v1/admin/users")
    status, changed = api(ui, "PATCH", f"/api/v1/admin/users/{user_id}", change)
    expect(status == 200, f"PATCH /api/v1/admin/users/{user_id} {change} should be 200; got {status}: {changed}")
    return user_id


def api(ui, method, path, body=None):
    """A JSON API call with the administrator's API token; returns (status, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{ui.api_url}{path}", data=data, method=method, headers={
        "X-Tenant": ui.slug, "Authorization": f"Bearer {admin_token(ui)}", "Accept": "application/json",
        "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except json.JSONDecodeError:
        return status, text


def admin_token(ui):
    """The administrator's API token made by the token check, else one made now on the home page."""
    if not ui.state.get("admin_token"):
        ui.open("/")
        ui.find("#token-name").send_keys("browser-admin")
        ui.click_and_load(ui.find("form[action='/tokens'] button[type=submit]"))
        ui.state["admin_token"] = ui.wait_for_text("[data-testid=new-token]", "atr_").strip()
    return ui.state["admin_token"]


def run_admin(ui, *args):
    result = subprocess.run([ui.state["admin_binary"], *args], cwd=ui.state["repo_root"], env=ui.env,
                            capture_output=True, text=True, timeout=120)
    expect(result.returncode == 0, f"atrium-admin {' '.join(args[:2])} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout


def switch_language(ui, option_text, button_text):
    """Chooses a language in the top bar's control and presses its button."""
    Select(ui.find("select#locale")).select_by_visible_text(option_text)
    button = ui.find("[data-testid=change-language]")
    expect(button.text == button_text, f"the language button should read {button_text!r}; reads {button.text!r}")
    ui.click_and_load(button)


# --- checks --------------------------------------------------------------------------------

def top_bar_language_control_switches_an_app_page_to_english(ui):
    # The sign-in checks left the administrator on Chinese pages, and the phone check on a
    # phone-sized window.
    ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    ui.open("/")
    expect(ui.find("html").get_attribute("lang") == "zh-CN", "the administrator's pages should still be Chinese here")
    switch_language(ui, "English", "切换")
    ui.wait_for_path("/")
    ui.wait_for_text("h1", "Welcome")
    expect(ui.find("html").get_attribute("lang") == "en", "<html lang> should be en after switching to English")


def designer_creates_account_and_contact_objects_and_a_lookup(ui):
    ui.open("/")
    heading = ui.find("nav#sidenav .nav-group[data-group=admin] h2").get_attribute("textContent")
    expect(heading == "Administration", f"the navigation should have an Administration group; its heading is {heading!r}")
    link = nav_link(ui, "admin-objects")
    expect(link.text == "Objects and fields", f"the administration link should read 'Objects and fields'; reads {link.text!r}")
    ui.click_and_load(link)
    ui.wait_for_path("/app/admin/objects")
    ui.wait_for_text("h1", "Objects and fields")
    ui.screenshot("designer-objects")

    for key, english, chinese in (("x_account", "Account", "客户"), ("x_contact", "Contact", "联系人")):
        if ui.path() != "/app/admin/objects":
            ui.click_and_load(ui.find("nav.breadcrumbs a[href='/app/admin/objects']"))
        ui.type_into("#obj-key", key)
        ui.type_into("#obj-en", english)
        ui.type_into("#obj-zh", chinese)
        expect(ui.find("#obj-name-en").get_attribute("value") == "Name", "the title field should be called 'Name' by default")
        ui.click_and_load(ui.find("[data-testid=create-object]"))
        ui.wait_for_path(f"/app/admin/objects/{key}/fields")
        ui.wait_for_text("[data-testid=flash]", "Object created")
        ui.wait_for_text("h1", f"Fields of {english}")
        ui.find("table[data-testid=fields] tr[data-field=x_name]")

    # x_contact's field page is open: add the lookup to x_account.
    ui.type_into("#fld-key", "x_account")
    ui.type_into("#fld-en", "Account")
    ui.type_into("#fld-zh", "客户")
    ui.choose("#fld-type", value="lookup")
    # By key: the sales module has an object labelled Account too (key `account`).
    ui.choose("#fld-target", value="x_account")
    ui.click_and_load(ui.find("[data-testid=add-field]"))
    ui.wait_for_path("/app/admin/objects/x_contact/fields")
    ui.wait_for_text("[data-testid=flash]", "Field added.")
    row = ui.find("table[data-testid=fields] tr[data-field=x_account]")
    expect("Lookup" in row.text, f"the new field's row should say its type is Lookup; reads {row.text!r}")

    ui.open("/")
    custom = ui.find("nav#sidenav .nav-group[data-group=custom]").get_attribute("textContent")
    expect("Account" in custom and "Contact" in custom, f"the navigation's custom objects should list Account and Contact; lists {custom!r}")


@needs(designer_creates_account_and_contact_objects_and_a_lookup)
def account_record_page_lists_its_contact_created_through_new_forms(ui):
    ui.open("/")
    ui.click_and_load(nav_link(ui, "x_account"))
    ui.wait_for_path("/app/x_account")
    ui.find("[data-testid=empty]")
    acme = create_record(ui, "x_account", {"x_name": ACME}, from_list=False)
    ui.wait_for_text("[data-testid=record-title]", ACME)

    ui.click_and_load(nav_link(ui, "x_contact"))
    ui.wait_for_path("/app/x_contact")
    contact = create_record(ui, "x_contact", {"x_name": ALICE, "x_account": ACME}, from_list=False)
    account_link = ui.find("div.field[data-field=x_account] dd a")
    expect(account_link.text == ACME, f"the contact's Account field should show {ACME!r}; shows {account_link.text!r}")
    ui.click_and_load(account_link)
    ui.wait_for_path(f"/app/x_account/{acme}")
    related = ui.find("section.related[data-related=x_contact]")
    names = [a.text for a in related.find_elements(By.CSS_SELECTOR, "ul li a")]
    expect(names == [ALICE], f"the account's related list of contacts should show [{ALICE!r}]; shows {names}")
    href = related.find_element(By.CSS_SELECTOR, "ul li a").get_attribute("href")
    expect(href.endswith(f"/app/x_contact/{contact}"), f"the related contact should link to its record; links to {href}")
    ui.screenshot("record")


@needs(designer_creates_account_and_contact_objects_and_a_lookup)
def designer_adds_picklist_and_layout_puts_it_above_name(ui):
    ui.open("/app/x_account")
    ui.click_and_load(ui.find(".page-head .actions a[href='/app/admin/objects/x_account/fields']"))
    ui.wait_for_path("/app/admin/objects/x_account/fields")
    ui.type_into("#fld-key", "x_industry")
    ui.type_into("#fld-en", "Industry")
    ui.type_into("#fld-zh", "行业")
    ui.choose("#fld-type", visible_text="Picklist")
    ui.type_into("#fld-options", "it | IT | 信息技术\nmfg | Manufacturing | 制造业")
    filterable = ui.find("#fld-filterable")
    if not filterable.is_selected():
        ui.find("label[for=fld-filterable]").click()
    expect(filterable.is_selected(), "clicking the Filterable label should tick it")
    ui.click_and_load(ui.find("[data-testid=add-field]"))
    ui.wait_for_text("[data-testid=flash]", "Field added.")
    row = ui.find("table[data-testid=fields] tr[data-field=x_industry]")
    for text in ("Industry", "Picklist", "IT, Manufacturing", "Filterable"):
        expect(text in row.text, f"the Industry row should mention {text!r}; reads {row.text!r}")
    ui.screenshot("designer-fields")

    ui.click_and_load(ui.find("[data-testid=layout-link]"))
    ui.wait_for_path("/app/admin/objects/x_account/layout")

    def detail_order():
        return [li.get_attribute("data-key") for li in ui.find_all("ol[data-testid=detail-fields] > li")]

    expect(detail_order() == ["x_name", "x_industry"], f"the record page layout should list Name then Industry; lists {detail_order()}")
    ui.find("ol[data-testid=detail-fields] li[data-key=x_industry] button[data-move=up]").click()
    expect(detail_order() == ["x_industry", "x_name"], f"↑ should move Industry above Name; order is {detail_order()}")
    positions = (ui.find("#pos-x_industry").get_attribute("value"), ui.find("#pos-x_name").get_attribute("value"))
    expect(positions == ("1", "2"), f"↑ should renumber the positions to Industry 1, Name 2; they are {positions}")

    # List columns: show Industry, moved up to second place (after Name).
    column = ui.find("#col-x_industry")
    if not column.is_selected():
        column.click()
    for _ in range(5):
        keys = [li.get_attribute("data-key") for li in ui.find_all("ol[data-testid=list-columns] > li")]
        if keys.index("x_industry") <= 1:
            break
        ui.find("ol[data-testid=list-columns] li[data-key=x_industry] button[data-move=up]").click()
    ui.screenshot("designer-layout")
    ui.click_and_load(ui.find("[data-testid=save-layout]"))
    ui.wait_for_path("/app/admin/objects/x_account/layout")
    ui.wait_for_text("[data-testid=flash]", "Layout saved.")
    expect(detail_order() == ["x_industry", "x_name"], f"the saved layout should keep Industry above Name; lists {detail_order()}")

    ui.open("/app/x_account")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    order = [div.get_attribute("data-field") for div in ui.find_all("form.record-form .form-field")]
    expect(order[:2] == ["x_industry", "x_name"], f"the New form should show Industry before Name; shows {order}")
    label = ui.find("label[for=field-x_industry]").text
    expect(label == "Industry", f"the Industry input should be labelled 'Industry'; is {label!r}")
    options = [o.text for o in Select(ui.find("#field-x_industry")).options]
    expect(options == ["—", "IT", "Manufacturing"], f"Industry should offer —, IT, Manufacturing; offers {options}")


@needs(account_record_page_lists_its_contact_created_through_new_forms, designer_adds_picklist_and_layout_puts_it_above_name)
def list_filters_by_picklist_label_and_sorts_by_column_header(ui):
    create_record(ui, "x_account", {"x_industry": "IT", "x_name": COBALT})
    create_record(ui, "x_account", {"x_industry": "Manufacturing", "x_name": BOLT})
    industry = ui.find("div.field[data-field=x_industry] dd").text
    expect(industry == "Manufacturing", f"the record page should show Industry 'Manufacturing'; shows {industry!r}")
    shown = [div.get_attribute("data-field") for div in ui.find_all("dl.fields div.field")]
    expect(shown == ["x_industry", "x_name"], f"the record page should show Industry, then Name (the saved layout); shows {shown}")

    ui.click_and_load(ui.find("nav.breadcrumbs a[href='/app/x_account']"))
    wait_for_rows(ui, [BOLT, COBALT, ACME], "newest first by default")
    ui.choose("#f0", visible_text="Industry")
    ui.choose("#op0", visible_text="is")
    ui.type_into("#v0", "Manufacturing")
    ui.click_and_load(ui.find("[data-testid=apply-filter]"))
    problem = ui.find_all("form[data-testid=filters] .error")
    expect(not problem, f"the filter was refused: {problem[0].text if problem else ''}")
    wait_for_rows(ui, [BOLT], "Industry is Manufacturing")
    expect(ui.find("[data-testid=total]").text == "1", f"the count should be 1; is {ui.find('[data-testid=total]').text!r}")
    cell = ui.find("table[data-testid=records] tbody tr td:nth-child(3)").text
    expect(cell == "Manufacturing", f"the Industry column should read 'Manufacturing'; reads {cell!r}")
    ui.screenshot("list-filtered")
    ui.click_and_load(ui.find("th[data-column=x_name] a"))
    query = ui.query()
    expect(query.get("sort") == ["x_name"] and query.get("f0") == ["x_industry"] and query.get("v0") == ["Manufacturing"],
           f"sorting a filtered list should keep the filter; URL is {ui.driver.current_url}")
    wait_for_rows(ui, [BOLT], "Industry is Manufacturing, sorted by Name")

    ui.click_and_load(ui.find("form[data-testid=filters] .filter-actions a"))  # "Clear filters"
    ui.wait_for_path("/app/x_account")
    header = ui.find("th[data-column=x_name] a")
    expect(header.text.startswith("Name"), f"the first column header should read 'Name'; reads {header.text!r}")
    ui.click_and_load(header)
    expect(ui.query().get("sort") == ["x_name"], f"clicking Name should sort by x_name; URL is {ui.driver.current_url}")
    wait_for_rows(ui, [ACME, BOLT, COBALT], "sorted by Name, ascending")
    expect(ui.find("th[data-column=x_name]").get_attribute("aria-sort") == "ascending", "the Name header should say aria-sort=ascending")
    ui.click_and_load(ui.find("th[data-column=x_name] a"))
    wait_for_rows(ui, [COBALT, BOLT, ACME], "sorted by Name, descending (second click)")
    expect(ui.find("th[data-column=x_name]").get_attribute("aria-sort") == "descending", "the Name header should say aria-sort=descending")
    ui.screenshot("list")


@needs(designer_adds_picklist_and_layout_puts_it_above_name)
def required_name_left_empty_shows_error_next_to_it_and_keeps_input(ui):
    ui.open("/app/x_account")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    fill_form(ui, {"x_industry": "IT", "x_name": ""})
    ui.click_and_load(ui.find("[data-testid=save]"))
    field = ui.find("form.record-form .form-field[data-field=x_name]")
    errors = field.find_elements(By.CSS_SELECTOR, "[data-testid=field-error]")
    expect(errors and errors[0].is_displayed(), "an error should show inside the Name field's block")
    expect(errors[0].text == "Name is required.", f"the Name error should read 'Name is required.'; reads {errors[0].text!r}")
    name_input = ui.find("#field-x_name")
    expect(name_input.get_attribute("aria-invalid") == "true", "the Name input should be aria-invalid")
    described = name_input.get_attribute("aria-describedby") or ""
    expect(errors[0].get_attribute("id") in described.split(), "the Name input should be described by its error")
    kept = Select(ui.find("#field-x_industry")).first_selected_option.text
    expect(kept == "IT", f"the Industry chosen before saving should be kept; shows {kept!r}")
    others = ui.find_all("form.record-form .form-field[data-field=x_industry] [data-testid=field-error]")
    expect(not others, "Industry should not show an error")
    ui.screenshot("form-error")

    fill_form(ui, {"x_name": HUATONG})
    ui.click_and_load(ui.find("[data-testid=save]"))
    ui.wait_for_path(re.compile(f"/app/x_account/{UUID}"))
    ui.wait_for_text("[data-testid=record-title]", HUATONG)
    ui.state.setdefault("ids", {})[HUATONG] = ui.path().rsplit("/", 1)[1]
    industry = ui.find("div.field[data-field=x_industry] dd").text
    expect(industry == "IT", f"the saved record should keep Industry IT; shows {industry!r}")


@needs(list_filters_by_picklist_label_and_sorts_by_column_header)
def stale_edit_shows_conflict_and_does_not_overwrite(ui):
    driver = ui.driver
    ui.open(record_path("x_account", COBALT, ui))
    ui.click_and_load(ui.find("[data-testid=edit]"))
    edit_path = ui.path()
    expect(edit_path.endswith("/edit"), f"Edit should open the edit form; opened {ui.driver.current_url}")
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        ui.open(edit_path)
        fill_form(ui, {"x_name": COBALT + " Ltd"})
        ui.click_and_load(ui.find("[data-testid=save]"))
        ui.wait_for_text("[data-testid=flash]", "Saved.")
    finally:
        driver.close()
        driver.switch_to.window(first)

    fill_form(ui, {"x_name": "Cobalt stale edit"})
    ui.click_and_load(ui.find("[data-testid=save]"))
    conflict = ui.find("[data-testid=conflict]")
    expect("Someone else changed this record" in conflict.text and "version 2" in conflict.text,
           f"the conflict message should say someone else changed it (now version 2); reads {conflict.text!r}")
    kept = ui.find("#field-x_name").get_attribute("value")
    expect(kept == "Cobalt stale edit", f"the conflict page should keep the user's input; the Name input holds {kept!r}")
    ui.screenshot("form-conflict")
    ui.click_and_load(conflict.find_element(By.CSS_SELECTOR, "a"))  # "Open the current version"
    ui.wait_for_path(edit_path)
    current = ui.find("#field-x_name").get_attribute("value")
    expect(current == COBALT + " Ltd", f"the stale save must not overwrite: the record's name is {current!r}")
    ui.open(record_path("x_account", COBALT, ui))
    ui.wait_for_text("[data-testid=record-title]", COBALT + " Ltd")


@needs(stale_edit_shows_conflict_and_does_not_overwrite)
def record_history_names_who_changed_what(ui):
    ui.open(record_path("x_account", COBALT, ui))
    entries = ui.find_all("[data-testid=history] ol.timeline > li")
    texts = [entry.text for entry in entries]
    expect(len(entries) == 2, f"the history should have two entries (created, changed) after one saved edit; has {texts}")
    changed, created = texts  # newest first
    expect(" · changed" in changed and f"Name: {COBALT} → {COBALT} Ltd" in changed,
           f"the newest history entry should say Name changed from {COBALT!r} to {COBALT + ' Ltd'!r}; reads {changed!r}")
    expect("Cobalt stale edit" not in " ".join(texts), "the refused (stale) edit must not appear in the history")
    expect(" · created" in created, f"the oldest history entry should say created; reads {created!r}")
    # WebApp.actorName: "Audit actors are written as user:<id> (or a system name): show the user's name."
    for text in texts:
        actor = text.split(" · ")[1] if text.count(" · ") >= 2 else text
        expect(actor == "Administrator",
               f"the history should name who did it by their name, 'Administrator'; names {actor!r} in {text!r}")


@needs(designer_creates_account_and_contact_objects_and_a_lookup)
def deleted_record_goes_to_recycle_bin_and_undo_brings_it_back(ui):
    doomed = create_record(ui, "x_account", {"x_name": DOOMED})
    ui.find("[data-testid=delete]").click()
    alert = ui.wait().until(EC.alert_is_present(), message="Delete should ask for confirmation")
    alert.dismiss()
    expect(ui.path() == f"/app/x_account/{doomed}" and ui.find_all("[data-testid=delete]"),
           "cancelling the confirmation should leave the record page as it was")
    page = ui.find("html")
    ui.find("[data-testid=delete]").click()
    alert = ui.wait().until(EC.alert_is_present(), message="Delete should ask for confirmation")
    expect(alert.text == "Move this record to the recycle bin?", f"the confirmation should ask 'Move this record to the recycle bin?'; asks {alert.text!r}")
    alert.accept()
    ui.wait().until(EC.staleness_of(page), message="accepting the confirmation did not delete")
    ui.wait_for_path("/app/x_account")
    ui.wait_for_text("[data-testid=flash]", "Moved to the recycle bin.")
    undo = ui.find("[data-testid=undo]")
    expect(undo.text == "Undo", f"the undo button should read 'Undo'; reads {undo.text!r}")
    expect(DOOMED not in row_titles(ui), f"{DOOMED!r} should be gone from the list; it shows {row_titles(ui)}")
    ui.screenshot("list-after-delete")
    ui.click_and_load(undo)
    ui.wait_for_path(f"/app/x_account/{doomed}")
    ui.wait_for_text("[data-testid=flash]", "Restored.")
    ui.wait_for_text("[data-testid=record-title]", DOOMED)
    ui.click_and_load(ui.find("nav.breadcrumbs a[href='/app/x_account']"))
    expect(DOOMED in row_titles(ui), f"{DOOMED!r} should be back in the list; it shows {row_titles(ui)}")
    ui.click_and_load(ui.find(".page-head a[href='/app/x_account/recycle-bin']"))
    expect(not ui.find_all("[data-testid=recycle]") or DOOMED not in ui.find("[data-testid=recycle]").text,
           "the restored record should no longer be in the recycle bin")


@needs(list_filters_by_picklist_label_and_sorts_by_column_header)
def language_control_shows_chinese_labels(ui):
    ui.open("/app/x_account")
    switch_language(ui, "中文", "Switch")
    ui.wait_for_path("/app/x_account")
    ui.wait_for_text("[data-testid=new-record]", "新建")
    ui.wait_for_text("h1", "客户")
    expect(ui.find("html").get_attribute("lang") == "zh-CN", "<html lang> should be zh-CN")
    options = [o.text for o in Select(ui.find("#f0")).options]
    expect("行业" in options, f"the filter's field choices should include 行业; are {options}")
    header = ui.find("th[data-column=x_industry]").text
    expect(header == "行业", f"the Industry column should be headed 行业; is {header!r}")
    nav = ui.find("nav#sidenav .nav-group[data-group=custom]").get_attribute("textContent")
    expect("客户" in nav and "联系人" in nav and "自定义对象" in nav, f"the navigation should read 自定义对象 / 客户 / 联系人; reads {nav!r}")
    ui.screenshot("list-zh")
    ui.open(record_path("x_account", BOLT, ui))
    field = ui.find("div.field[data-field=x_industry]")
    expect(field.find_element(By.TAG_NAME, "dt").text == "行业" and field.find_element(By.TAG_NAME, "dd").text == "制造业",
           f"the record page should show 行业 制造业; shows {field.text!r}")
    ui.wait_for_text("[data-testid=edit]", "编辑")
    ui.screenshot("record-zh")


@needs(language_control_shows_chinese_labels)
def record_page_section_keeps_its_chinese_title_after_layout_saved_in_english(ui):
    # Still in Chinese. The layout was saved (from English pages) with the section untouched;
    # before that the section was titled with the object's label in each language.
    ui.open(record_path("x_account", BOLT, ui))
    heading = ui.find("section.card h2").text
    switch_language(ui, "English", "切换")
    ui.wait_for_text("[data-testid=edit]", "Edit")
    english = ui.find("section.card h2").text
    expect(english == "Account", f"the record page's section should be titled 'Account' in English; is {english!r}")
    expect(heading == "客户", f"in Chinese the record page's section should be titled 客户 (the object's Chinese label, "
                             f"as before the layout was saved from English pages); is {heading!r}")


@needs(list_filters_by_picklist_label_and_sorts_by_column_header)
def language_switch_returns_to_the_same_filtered_list(ui):
    ui.open("/app/x_account")
    ui.choose("#f0", visible_text="Industry")
    ui.choose("#op0", visible_text="is")
    ui.type_into("#v0", "Manufacturing")
    ui.click_and_load(ui.find("[data-testid=apply-filter]"))
    wait_for_rows(ui, [BOLT], "Industry is Manufacturing")
    switch_language(ui, "中文", "Switch")
    after_url, after_rows = ui.driver.current_url, row_titles(ui)
    switch_language(ui, "English", "切换")
    expect(ui.find("html").get_attribute("lang") == "en", "switching back to English did not work")
    expect(after_rows == [BOLT] and "v0=Manufacturing" in after_url,
           f"switching language on a filtered list should come back to that list, still filtered (rows [{BOLT!r}]); "
           f"it came back to {after_url} showing {after_rows}")


@needs(designer_adds_picklist_and_layout_puts_it_above_name)
def record_named_like_markup_shows_as_literal_text(ui):
    ui.open("/app/x_account")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    fill_form(ui, {"x_industry": "IT", "x_name": MARKUP})
    # An injected script would open an alert while the next page loads; while a dialog is open
    # every other WebDriver command fails, so look for one first.
    ui.find("[data-testid=save]").click()
    ui.wait_for_load_or_alert(re.compile(f"/app/x_account/{UUID}"))
    ui.expect_no_alert("the record page")
    ui.state.setdefault("ids", {})[MARKUP] = ui.path().rsplit("/", 1)[1]
    title = ui.find("[data-testid=record-title]")
    expect(title.text == MARKUP, f"the record title should read {MARKUP!r} literally; reads {title.text!r}")
    expect(not title.find_elements(By.CSS_SELECTOR, "*"), "the record title was rendered as HTML elements")
    crumb = ui.find("nav.breadcrumbs [aria-current=page]").text
    expect(crumb == MARKUP, f"the breadcrumb should read {MARKUP!r}; reads {crumb!r}")
    ui.find("nav.breadcrumbs a[href='/app/x_account']").click()
    ui.wait_for_load_or_alert(re.compile("/app/x_account"))
    ui.expect_no_alert("the list page")
    expect(MARKUP in row_titles(ui), f"the list should show {MARKUP!r} as a title; shows {row_titles(ui)}")
    injected = ui.driver.execute_script("return document.querySelectorAll('main script').length")
    expect(injected == 0, f"the list page's content holds {injected} <script> elements")


@needs(account_record_page_lists_its_contact_created_through_new_forms)
def salesperson_cannot_see_another_salespersons_account(ui):
    slug = ui.slug
    sellers = {"second": (f"sales2@{slug}.test", "Second Seller"), "third": (f"sales3@{slug}.test", "Third Seller")}
    for email, name in sellers.values():
        run_admin(ui, "user", "create", "--tenant", slug, "--email", email, "--name", name,
                  "--password", SELLER_PASSWORD, "--locale", "en")
    status, body = api(ui, "GET", "/api/v1/admin/users")
    expect(status == 200, f"GET /api/v1/admin/users should be 200; got {status}: {body}")
    ids = {user.get("email"): user.get("id") for user in body.get("users", [])}
    for email, _ in sellers.values():
        expect(ids.get(email), f"{email} is missing from /api/v1/admin/users: {body}")
        status, changed = api(ui, "PATCH", f"/api/v1/admin/users/{ids[email]}", {"roles": ["salesperson"]})
        expect(status == 200, f"PATCH /api/v1/admin/users/{ids[email]} roles=[salesperson] should be 200; got {status}: {changed}")

    # The third salesperson creates an account and sees it.
    ui.sign_in(sellers["third"][0], SELLER_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", "Third Seller")
    expect(not ui.find_all("nav#sidenav a[data-entity=admin-objects]"), "a salesperson should not see the Administration menu")
    ui.click_and_load(nav_link(ui, "x_account"))
    expect(ACME not in row_titles(ui), "a salesperson (scope own) should not list the administrator's accounts")
    private = create_record(ui, "x_account", {"x_name": PRIVATE}, from_list=False)
    ui.click_and_load(ui.find("nav.breadcrumbs a[href='/app/x_account']"))
    expect(row_titles(ui) == [PRIVATE], f"the third salesperson should list just their account; lists {row_titles(ui)}")

    # The second does not see it: not in the list, not in search, and its URL is a 404 page.
    ui.sign_in(sellers["second"][0], SELLER_PASSWORD)
    ui.wait_for_text("[data-testid=user-name]", "Second Seller")
    ui.click_and_load(nav_link(ui, "x_account"))
    ui.wait_for_path("/app/x_account")
    expect(PRIVATE not in row_titles(ui), f"the second salesperson's list shows the third's account: {row_titles(ui)}")
    expect(ui.find("[data-testid=total]").text == "0", f"the second salesperson should see 0 accounts; sees {ui.find('[data-testid=total]').text}")
    expect(not ui.find_all(".page-head a[href='/app/admin/objects/x_account/fields']"), "a salesperson should not see the Fields button")
    status = ui.http_status("/app/admin/objects")
    expect(status == 403, f"/app/admin/objects should be a 403 for a salesperson; got {status}")
    ui.search_everywhere("private")
    expect(PRIVATE not in ui.find("main").text, "global search shows the third salesperson's account to the second")
    ui.find("[data-testid=no-results]")
    path = f"/app/x_account/{private}"
    ui.open(path)
    message = ui.wait_for_text("[data-testid=error-message]", "does not exist")
    expect(PRIVATE not in ui.driver.page_source, "the not-found page shows the record's name")
    status = ui.http_status(path)
    expect(status == 404, f"{path} should be a 404 for the second salesperson; the server answered {status} ({message!r})")
    ui.screenshot("not-found")
    for action in ("edit",):
        status = ui.http_status(f"{path}/{action}")
        expect(status == 404, f"{path}/{action} should be a 404 for the second salesperson; got {status}")

    # Positive control: the administrator finds it in global search.
    ui.sign_in(ui.admin_email, ui.state["admin_password"])
    ui.search_everywhere("private")
    found = [a.text for a in ui.find_all("section.search-group[data-entity=x_account] ul li a")]
    expect(found == [PRIVATE], f"the administrator's search for 'private' should find [{PRIVATE!r}]; finds {found}")


@needs(list_filters_by_picklist_label_and_sorts_by_column_header, required_name_left_empty_shows_error_next_to_it_and_keeps_input)
def top_bar_search_finds_accounts_by_part_of_their_name(ui):
    ui.open("/app/x_account")
    ui.search_everywhere("华通")
    box = ui.find("[data-testid=global-search]").get_attribute("value")
    expect(box == "华通", f"the search box should keep the query 华通; holds {box!r}")
    found = [a.text for a in ui.find_all("section.search-group[data-entity=x_account] ul li a")]
    expect(found == [HUATONG], f"searching 华通 should find [{HUATONG!r}] among accounts; finds {found}")
    ui.screenshot("search")
    # Letters and digits match the start of a word (Chinese matches anywhere): see README "Search".
    ui.search_everywhere("manufac")
    found = [a.text for a in ui.find_all("section.search-group[data-entity=x_account] ul li a")]
    expect(found == [BOLT], f"searching 'manufac' should find [{BOLT!r}]; finds {found}")
    ui.click_and_load(ui.find("section.search-group[data-entity=x_account] ul li a"))
    ui.wait_for_text("[data-testid=record-title]", BOLT)


@needs(account_record_page_lists_its_contact_created_through_new_forms)
def list_and_record_pages_fit_a_phone_and_the_menu_button_opens_navigation(ui):
    driver = ui.driver
    driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    try:
        ui.open("/app/x_account")
        ui.find("table[data-testid=records]")
        ui.no_sideways_scroll("the account list at 390×844")
        ui.screenshot("phone-list")
        nav = ui.find("nav#sidenav")
        expect(not nav.is_displayed(), "on a phone the navigation should be folded away until ☰ is pressed")
        toggle = ui.find("button.nav-toggle")
        expect(toggle.is_displayed() and "☰" in toggle.text, "the ☰ menu button should show on a phone")
        toggle.click()
        ui.wait().until(lambda _: nav.is_displayed(), message="pressing ☰ did not open the navigation")
        expect(toggle.get_attribute("aria-expanded") == "true", "the ☰ button should say aria-expanded=true once open")
        expect(nav_link(ui, "x_contact").is_displayed(), "the opened navigation should show the Contact link")
        ui.screenshot("phone-nav")
        ui.no_sideways_scroll("the account list with the navigation open")
        toggle.click()
        ui.wait().until(lambda _: not nav.is_displayed(), message="pressing ☰ again did not close the navigation")

        ui.open(record_path("x_account", ACME, ui))
        ui.find("section.related")
        ui.no_sideways_scroll("the account record page at 390×844")
        ui.screenshot("phone-record")
    finally:
        driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)


CRM_CHECKS = [
    top_bar_language_control_switches_an_app_page_to_english,
    designer_creates_account_and_contact_objects_and_a_lookup,
    account_record_page_lists_its_contact_created_through_new_forms,
    designer_adds_picklist_and_layout_puts_it_above_name,
    list_filters_by_picklist_label_and_sorts_by_column_header,
    required_name_left_empty_shows_error_next_to_it_and_keeps_input,
    stale_edit_shows_conflict_and_does_not_overwrite,
    record_history_names_who_changed_what,
    deleted_record_goes_to_recycle_bin_and_undo_brings_it_back,
    language_control_shows_chinese_labels,
    record_page_section_keeps_its_chinese_title_after_layout_saved_in_english,
    language_switch_returns_to_the_same_filtered_list,
    record_named_like_markup_shows_as_literal_text,
    salesperson_cannot_see_another_salespersons_account,
    top_bar_search_finds_accounts_by_part_of_their_name,
    list_and_record_pages_fit_a_phone_and_the_menu_button_opens_navigation,
]

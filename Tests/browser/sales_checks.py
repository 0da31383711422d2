"""Browser checks of the sales module's pages: the generic record pages of its objects
(/app/account, /app/opportunity, /app/quote, …), the pipeline board, the reports, lead
conversion, quote → order and the printable quote.

They run after the CRM checks, signed in as the tenant administrator, on the tenant's own
seeded pipeline (Qualification 10 %, Needs analysis 30 %, Proposal 50 %, Negotiation 70 %,
Won, Lost). Everything is done through the UI as a user would: the New forms (lookups are
selects listing the target records by title), the related lists' New links (which pre-fill
the parent), the record pages' module buttons (`[data-action=<locale key>]`) and the board's
fallback "move to stage" form under each card. The tenant is fresh on every run, so counts
in the funnel are exact; the checks run in order and the first one's opportunity is the only
one at Proposal and, later, the only one won.

Money is checked to the cent against figures computed here with the module's rule: per line
net = qty × price × (100 − discount %) / 100 and tax = net × rate % / 100, each rounded half
away from zero to 0.01; the document's total is the sum of the lines' net + tax.
"""

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser_support import DESKTOP_HEIGHT, DESKTOP_WIDTH, CheckFailed, expect
from crm_checks import UUID, switch_language

PHONE_WIDTH, PHONE_HEIGHT = 390, 844

ACCOUNT = "Shanghai Harbour Logistics"
OPPORTUNITY = "Harbour – warehouse racking"
QUOTE = "Racking and installation"
LEAD = "Wang Lei"
LEAD_COMPANY = "Hangzhou Lakeside Trading"
LOST_ACCOUNT = "Qingdao Coastal Foods"
LOST_OPPORTUNITY = "Coastal – cold store"

# Seeded stages: (Chinese name, English name).
QUALIFICATION = ("初步接洽", "Qualification")
PROPOSAL = ("方案报价", "Proposal")
WON = ("赢单", "Won")
LOST = ("输单", "Lost")

OPPORTUNITY_AMOUNT = Decimal("50000")
# Quote lines: description, quantity, unit price, discount %, tax rate %. The second line's
# tax is 1000.50 × 13 % = 130.065: half away from zero gives 130.07 (banker's would give 130.06).
# Lines: 3,333.15 + 433.31 = 3,766.46 and 1,000.50 + 130.07 = 1,130.57; the quote: ¥4,897.03.
QUOTE_LINES = [
    ("Pallet racking bay", "3", "1234.50", "10", "13"),
    ("Installation (days)", "2.5", "400.20", "0", "13"),
]
RECEIPT_AMOUNT = Decimal("2000")


# --- helpers -------------------------------------------------------------------------------

CENT = Decimal("0.01")


def cents(value):
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # ROUND_HALF_UP is half away from zero


def line_figures(quantity, price, discount, rate):
    """(net, tax, total) of one line, each rounded to the cent as the module does."""
    net = cents(Decimal(quantity) * Decimal(price) * (100 - Decimal(discount)) / 100)
    tax = cents(net * Decimal(rate) / 100)
    return net, tax, net + tax


def yuan(amount):
    """How the UI shows CNY: ¥1,234.50."""
    return f"¥{cents(amount):,.2f}"


def english_on_a_desktop(ui):
    ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    ui.open("/")
    if ui.find("html").get_attribute("lang") != "en":
        switch_language(ui, "English", ui.find("[data-testid=change-language]").text)
        ui.wait_for_text("h1", "Welcome")


def choose_option(ui, css, *labels):
    """Chooses the first option of a select whose text is one of `labels` (a lookup lists
    records by their title); returns the chosen option's text."""
    select = Select(ui.find(css))
    texts = [option.text for option in select.options]
    for label in labels:
        if label in texts:
            select.select_by_visible_text(label)
            return label
    raise CheckFailed(f"{css} should offer one of {list(labels)}; offers {texts} on {ui.driver.current_url}")


def type_date(ui, css, iso):
    """Types a date into an <input type=date> as a user would (Chromium's field is mm/dd/yyyy
    in English); checks the input then holds `iso`."""
    element = ui.find(css)
    year, month, day = iso.split("-")
    element.send_keys(month + day + year)  # focusing it by keyboard starts at the month
    value = element.get_attribute("value")
    expect(value == iso, f"typing the date {iso} into {css} left it holding {value!r}")


def fill(ui, values):
    """Fills a record form: text for inputs, dates for date inputs, the visible option (or one
    of a tuple of options) for selects."""
    for key, value in values.items():
        css = f"#field-{key}"
        element = ui.find(css)
        if element.tag_name == "select":
            choose_option(ui, css, *(value if isinstance(value, tuple) else (value,)))
        elif element.get_attribute("type") == "date":
            type_date(ui, css, value)
        else:
            element.clear()
            if value:
                element.send_keys(value)


def save_form(ui, entity, what):
    """Presses Save on a record form; waits for the record page; returns the record's id."""
    ui.click_and_load(ui.find("[data-testid=save]"))
    if not re.fullmatch(f"/app/{entity}/{UUID}", ui.path()):
        errors = [e.text for e in ui.find_all("[data-testid=form-error], [data-testid=field-error]")]
        raise CheckFailed(f"saving {what} did not open the record page (now on {ui.driver.current_url}); errors shown: {errors}")
    return ui.path().rsplit("/", 1)[1]


def new_record(ui, entity, values, what):
    """Opens /app/{entity}/new (the list's New button), fills the form, saves; returns the id."""
    ui.open(f"/app/{entity}")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    ui.wait_for_path(f"/app/{entity}/new")
    fill(ui, values)
    record_id = save_form(ui, entity, what)
    ui.wait_for_text("[data-testid=flash]", "Created.")
    return record_id


def field_text(ui, key):
    """The text a record page shows for a field ('' when the field is not on the page)."""
    shown = ui.find_all(f"div.field[data-field={key}] dd")
    return shown[0].text if shown else None


def expect_field(ui, key, expected, what):
    ui.wait().until(lambda _: field_text(ui, key) == expected,
                    message=f"{what}: {key} should read {expected!r}; reads {field_text(ui, key)!r} on {ui.driver.current_url}")


def open_related_new(ui, related_entity):
    """Clicks the New link of a record page's related list of `related_entity`."""
    section = ui.find(f"section.related[data-related={related_entity}]")
    link = section.find_element(By.CSS_SELECTOR, f"a[href^='/app/{related_entity}/new']")
    ui.click_and_load(link)
    ui.wait_for_path(f"/app/{related_entity}/new")


def selected_value(ui, css):
    return Select(ui.find(css)).first_selected_option.get_attribute("value")


def funnel_rows(ui):
    """The reports page's funnel table: {stage: (count, amount)}."""
    rows = {}
    for row in ui.find_all("tr[data-testid=funnel-row]"):
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        if len(cells) >= 4:
            rows[cells[0]] = (cells[2], cells[3])
    return rows


def expect_funnel(ui, stage, count, amount=None):
    rows = funnel_rows(ui)
    expect(stage in rows, f"the funnel should have a {stage!r} row; has {sorted(rows)}")
    seen_count, seen_amount = rows[stage]
    expect(seen_count == str(count), f"the funnel's {stage} row should count {count}; counts {seen_count!r} (rows: {rows})")
    if amount is not None:
        expect(seen_amount == amount, f"the funnel's {stage} row should show {amount}; shows {seen_amount!r}")


def card(ui, opportunity_id):
    return ui.find(f"li.board-card[data-id='{opportunity_id}']")


def card_column(ui, opportunity_id):
    """The heading (stage name) of the board column that holds the card, or None."""
    return ui.driver.execute_script(
        "const card = document.querySelector(`li.board-card[data-id='${arguments[0]}']`);"
        "const column = card && card.closest('.board-column');"
        "return column ? column.querySelector('h2').firstChild.textContent.trim() : null;", opportunity_id)


def move_on_board(ui, opportunity_id, stage, reason=None):
    """Uses the card's fallback form: chooses the stage (and a lost reason), presses Move."""
    ui.open("/app/sales/pipeline")
    item = card(ui, opportunity_id)
    Select(item.find_element(By.CSS_SELECTOR, "[data-testid=move-stage]")).select_by_visible_text(stage)
    reasons = Select(item.find_element(By.CSS_SELECTOR, "[data-testid=move-reason]"))
    if reason is None:
        reasons.select_by_value("")
    else:
        reasons.select_by_visible_text(reason)
    ui.click_and_load(item.find_element(By.CSS_SELECTOR, "[data-testid=move]"))
    # The board redirects back to its own path, so wait for the answer's query (error= or
    # notice=saved) and a loaded document, not just the path (it never changed).
    ui.wait().until(lambda driver: ("error=" in driver.current_url or "notice=saved" in driver.current_url)
                    and driver.execute_script("return document.readyState") == "complete",
                    message=f"the board did not answer the move; still on {ui.driver.current_url}")
    ui.wait_for_path("/app/sales/pipeline")


def no_page_scroll_sideways(ui, what):
    widths = ui.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    expect(widths[0] <= widths[1] + 1,
           f"{what} scrolls sideways: the page is {widths[0]}px wide in a {widths[1]}px window "
           f"(a board wider than the screen must scroll inside its own box, not the page)")


def board_scrolls_in_its_box(ui):
    board = ui.driver.execute_script(
        "const b = document.querySelector('[data-board]');"
        "return [b.scrollWidth, b.clientWidth, getComputedStyle(b).overflowX];")
    if board[0] > board[1] + 1:
        expect(board[2] in ("auto", "scroll"),
               f"the board is {board[0]}px wide in a {board[1]}px box: it should scroll inside its box (overflow-x is {board[2]!r})")


# --- checks --------------------------------------------------------------------------------

def sales_account_to_opportunity_quote_order_receipt_and_funnel(ui):
    english_on_a_desktop(ui)
    later = []  # problems that do not stop the flow, reported at the end

    # Account, then an opportunity for it at Proposal.
    account = new_record(ui, "account", {"name": ACCOUNT, "industry": "Manufacturing"}, "a new account")
    ui.wait_for_text("[data-testid=record-title]", ACCOUNT)

    ui.open("/app/opportunity")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    probability = ui.find("#field-probability")
    expect(probability.tag_name != "input" and probability.tag_name != "select",
           f"Probability is computed from the stage: the form should show it read-only, not as a <{probability.tag_name}>")
    close = (date.today() + timedelta(days=45)).isoformat()
    fill(ui, {"name": OPPORTUNITY, "account": ACCOUNT, "amount": "50000", "close_date": close, "stage": PROPOSAL[::-1]})
    opportunity = save_form(ui, "opportunity", "a new opportunity")
    ui.wait_for_text("[data-testid=flash]", "Created.")
    expect_field(ui, "amount", yuan(OPPORTUNITY_AMOUNT), "the new opportunity")
    expect_field(ui, "probability", "50%", "an opportunity at Proposal")
    stage = field_text(ui, "stage")
    expect(stage in PROPOSAL, f"the opportunity's Stage should read Proposal (方案报价); reads {stage!r}")
    expect_field(ui, "weighted_amount", yuan(OPPORTUNITY_AMOUNT / 2), "an opportunity at Proposal (50 %)")
    account_link = ui.find("div.field[data-field=account] dd a")
    expect(account_link.text == ACCOUNT and account_link.get_attribute("href").endswith(f"/app/account/{account}"),
           f"the opportunity's Account should link to {ACCOUNT!r}; shows {account_link.text!r} → {account_link.get_attribute('href')}")

    # The funnel counts it at Proposal.
    ui.open("/app/sales/reports")
    ui.find("[data-testid=funnel-chart]")
    expect_funnel(ui, PROPOSAL[1], 1, yuan(OPPORTUNITY_AMOUNT))
    for other in ("Qualification", "Needs analysis", "Negotiation", "Won", "Lost"):
        expect_funnel(ui, other, 0)
    total = ui.find("[data-testid=pipeline-total]").text
    expect(total == yuan(OPPORTUNITY_AMOUNT), f"the open pipeline should total {yuan(OPPORTUNITY_AMOUNT)}; shows {total!r}")
    chart = ui.find("[data-testid=funnel-chart]").get_attribute("textContent")
    expect(f"Proposal · 1 · {yuan(OPPORTUNITY_AMOUNT)}" in chart,
           f"the funnel chart should label the Proposal bar 'Proposal · 1 · {yuan(OPPORTUNITY_AMOUNT)}'; its texts are {chart!r}")

    # A quote for the account, with two lines added from the quote's related list.
    ui.open("/app/quote")
    ui.click_and_load(ui.find("[data-testid=new-record]"))
    expect(ui.find("#field-total").tag_name not in ("input", "select"), "the quote's Total is computed: it should be read-only on the form")
    fill(ui, {"name": QUOTE, "account": ACCOUNT, "opportunity": OPPORTUNITY})
    quote = save_form(ui, "quote", "a new quote")
    number = ui.find("[data-testid=record-title]").text
    expect(re.fullmatch(r"QT-\d{4}-\d{5}", number), f"a quote should be titled by its number QT-YYYY-nnnnn; is titled {number!r}")

    expected_total = Decimal(0)
    expected_tax = Decimal(0)
    for description, quantity, price, discount, rate in QUOTE_LINES:
        open_related_new(ui, "quote_line")
        expect(selected_value(ui, "#field-quote") == quote, "the quote line form opened from the quote should have the quote chosen")
        fill(ui, {"description": description, "quantity": quantity, "unit_price": price, "discount": discount, "tax_rate": rate})
        save_form(ui, "quote_line", f"the quote line {description!r}")
        net, tax, line_total = line_figures(quantity, price, discount, rate)
        expected_total += line_total
        expected_tax += tax
        expect_field(ui, "net_amount", yuan(net), f"the line {description!r}")
        expect_field(ui, "tax_amount", yuan(tax), f"the line {description!r}")
        expect_field(ui, "line_total", yuan(line_total), f"the line {description!r}")
        ui.click_and_load(ui.find("div.field[data-field=quote] dd a"))
        ui.wait_for_path(f"/app/quote/{quote}")
    expect_field(ui, "total", yuan(expected_total), "the quote with two lines")
    expect_field(ui, "tax_total", yuan(expected_tax), "the quote with two lines")
    lines = [a.text for a in ui.find_all("section.related[data-related=quote_line] ul li a")]
    expect(lines == [line[0] for line in QUOTE_LINES], f"the quote's related lines should be {[line[0] for line in QUOTE_LINES]}; are {lines}")

    ui.click_and_load(ui.find("[data-action='sales.actions.print_quote']"))
    ui.wait_for_path(f"/app/sales/quotes/{quote}/print")
    printed = ui.find("[data-testid=quote-total]").text
    expect(printed == yuan(expected_total), f"the printed quote's total should be {yuan(expected_total)}; is {printed!r}")
    ui.screenshot("sales-quote-print")
    printed_rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")][1] for tr in ui.find_all("[data-testid=quote-print] tbody tr")]
    expect(printed_rows == [line[0] for line in QUOTE_LINES], f"the printed quote should list {[line[0] for line in QUOTE_LINES]}; lists {printed_rows}")
    # The quote has no valid-until date and no terms: the print should not show their empty labels.
    header = ui.find("[data-testid=quote-print] header").text
    if "Valid until" in header:
        later.append(f"the printed quote shows an empty 'Valid until' for a quote without that date: {header.splitlines()[-1]!r}")
    if ui.find_all("[data-testid=quote-print] section h2"):
        later.append("the printed quote shows an empty 'Terms' section for a quote without terms")

    # Convert to order: a draft order with the same lines and total.
    ui.open(f"/app/quote/{quote}")
    ui.click_and_load(ui.find("button[data-action='sales.actions.convert_quote']"))
    ui.wait_for_path(re.compile(f"/app/sales_order/{UUID}"))
    order = ui.path().rsplit("/", 1)[1]
    ui.wait_for_text("[data-testid=flash]", "Quote converted to a draft order.")
    expect_field(ui, "status", "Draft", "the order made from the quote")
    expect_field(ui, "total", yuan(expected_total), "the order made from the quote")
    order_lines = [a.text for a in ui.find_all("section.related[data-related=order_line] ul li a")]
    expect(sorted(order_lines) == sorted(line[0] for line in QUOTE_LINES), f"the order should have the quote's lines; has {order_lines}")
    if order_lines != [line[0] for line in QUOTE_LINES]:  # reported at the end: the rest of the flow still runs
        later.append(f"the order should list the quote's lines in the quote's order {[line[0] for line in QUOTE_LINES]}; lists {order_lines}")

    # Confirm it (edit → status), then record part of the payment.
    ui.click_and_load(ui.find("[data-testid=edit]"))
    ui.wait_for_path(f"/app/sales_order/{order}/edit")
    fill(ui, {"status": "Confirmed"})
    ui.click_and_load(ui.find("[data-testid=save]"))
    if ui.path() != f"/app/sales_order/{order}":
        errors = [e.text for e in ui.find_all("[data-testid=form-error], [data-testid=field-error]")]
        raise CheckFailed(f"confirming the order did not save (now on {ui.driver.current_url}); errors: {errors}")
    expect_field(ui, "status", "Confirmed", "the confirmed order")
    expect_field(ui, "outstanding", yuan(expected_total), "the confirmed order before any receipt")

    open_related_new(ui, "receipt")
    expect(selected_value(ui, "#field-sales_order") == order, "the receipt form opened from the order should have the order chosen")
    fill(ui, {"received_on": date.today().isoformat(), "amount": "2000", "method": "Bank transfer"})
    save_form(ui, "receipt", "a receipt of 2000")
    ui.wait_for_text("[data-testid=flash]", "Created.")
    expect_field(ui, "amount", yuan(RECEIPT_AMOUNT), "the receipt")
    ui.click_and_load(ui.find("div.field[data-field=sales_order] dd a"))
    ui.wait_for_path(f"/app/sales_order/{order}")
    expect_field(ui, "received", yuan(RECEIPT_AMOUNT), "the order after a receipt of 2000")
    expect_field(ui, "outstanding", yuan(expected_total - RECEIPT_AMOUNT), "the order after a receipt of 2000")

    # Won on the board: the funnel moves it from Proposal to Won.
    ui.open("/app/sales/pipeline")
    ui.wait().until(lambda _: card_column(ui, opportunity) is not None, message="the opportunity's card is not on the board")
    expect(card_column(ui, opportunity) == PROPOSAL[1], f"the card should be in the Proposal column; is in {card_column(ui, opportunity)!r}")
    ui.screenshot("sales-pipeline")
    move_on_board(ui, opportunity, WON[1])
    expect(not ui.find_all("[data-testid=board-error]"),
           f"moving to Won was refused: {ui.find_all('[data-testid=board-error]')[0].text if ui.find_all('[data-testid=board-error]') else ''}")
    expect(card_column(ui, opportunity) == WON[1], f"after Move the card should be in the Won column; is in {card_column(ui, opportunity)!r}")
    ui.open("/app/sales/reports")
    ui.find("[data-testid=funnel-chart]")
    expect_funnel(ui, WON[1], 1, yuan(OPPORTUNITY_AMOUNT))
    expect_funnel(ui, PROPOSAL[1], 0)
    ui.screenshot("sales-reports")
    ui.open(f"/app/account/{account}")
    expect_field(ui, "lifecycle", "Customer", "an account with a won opportunity")
    expect(not later, "; ".join(later))


def sales_lead_conversion_lands_on_the_opportunity_and_links_the_lead(ui):
    english_on_a_desktop(ui)
    lead = new_record(ui, "lead", {"name": LEAD, "company": LEAD_COMPANY, "email": "wang.lei@lakeside.example",
                                   "source": "Web form"}, "a new lead")
    expect_field(ui, "status", "New", "a new lead")
    ui.click_and_load(ui.find("[data-action='sales.actions.convert_lead']"))
    ui.wait_for_path(f"/app/sales/leads/{lead}/convert")
    expect(ui.find("#account_name").get_attribute("value") == LEAD_COMPANY,
           f"the new account's name should default to the lead's company {LEAD_COMPANY!r}; is {ui.find('#account_name').get_attribute('value')!r}")
    # The opportunity needs an amount and a close date, as on its own form: without them the
    # conversion is refused with a message and nothing is created (one transaction).
    ui.click_and_load(ui.find("[data-testid=convert]"))
    ui.wait_for_path(f"/app/sales/leads/{lead}/convert")
    error = ui.find_all("[data-testid=form-error]")
    expect(error and error[0].text.strip(), "converting without an amount should show why it was refused")
    expect(ui.find("#account_name").get_attribute("value") == LEAD_COMPANY, "the refused form should keep the account name")
    ui.open(f"/app/lead/{lead}")
    expect_field(ui, "status", "New", "a lead whose conversion was refused")
    ui.open("/app/account")
    ui.find("[data-testid=total]")
    expect(LEAD_COMPANY not in ui.find("main").text, f"a refused conversion should not leave an account {LEAD_COMPANY!r} behind")
    ui.open(f"/app/sales/leads/{lead}/convert")
    ui.type_into("#amount", "120000")
    type_date(ui, "#close_date", (date.today() + timedelta(days=60)).isoformat())
    ui.click_and_load(ui.find("[data-testid=convert]"))
    if not re.fullmatch(f"/app/opportunity/{UUID}", ui.path()):
        errors = [e.text for e in ui.find_all("[data-testid=form-error]")]
        raise CheckFailed(f"converting the lead should land on the new opportunity; is on {ui.driver.current_url}; errors: {errors}")
    opportunity = ui.path().rsplit("/", 1)[1]
    ui.wait_for_text("[data-testid=flash]", "Lead converted.")
    expect_field(ui, "amount", yuan(Decimal("120000")), "the opportunity from the lead")
    stage = field_text(ui, "stage")
    expect(stage in QUALIFICATION, f"the opportunity from the lead should be at the first open stage, Qualification (初步接洽); is at {stage!r}")
    from_lead = ui.find("div.field[data-field=lead] dd a")
    expect(from_lead.get_attribute("href").endswith(f"/app/lead/{lead}"), f"the opportunity's From lead should link to the lead; links to {from_lead.get_attribute('href')}")

    ui.open(f"/app/lead/{lead}")
    expect_field(ui, "status", "Converted", "the converted lead")
    links = {}
    for key, entity in (("converted_account", "account"), ("converted_contact", "contact"), ("converted_opportunity", "opportunity")):
        anchors = ui.find_all(f"div.field[data-field={key}] dd a")
        expect(anchors, f"the converted lead should link its {key.split('_')[1]}; shows {field_text(ui, key)!r}")
        href = anchors[0].get_attribute("href")
        expect(re.search(f"/app/{entity}/{UUID}$", href), f"the lead's {key} should link to an {entity}; links to {href}")
        links[key] = (anchors[0].text, href)
    expect(links["converted_opportunity"][1].endswith(f"/app/opportunity/{opportunity}"),
           f"the lead's opportunity link should be the opportunity it landed on; is {links['converted_opportunity']}")
    expect(links["converted_account"][0] == LEAD_COMPANY, f"the lead's account link should read {LEAD_COMPANY!r}; reads {links['converted_account'][0]!r}")
    expect(links["converted_contact"][0] == LEAD, f"the lead's contact link should read {LEAD!r}; reads {links['converted_contact'][0]!r}")


def sales_lost_without_reason_is_refused_on_the_board(ui):
    english_on_a_desktop(ui)
    new_record(ui, "account", {"name": LOST_ACCOUNT}, "a second account")
    close = (date.today() + timedelta(days=30)).isoformat()
    opportunity = new_record(ui, "opportunity", {"name": LOST_OPPORTUNITY, "account": LOST_ACCOUNT, "amount": "8000",
                                                 "close_date": close, "stage": QUALIFICATION[::-1]}, "an opportunity at Qualification")
    ui.open("/app/sales/pipeline")
    expect(card_column(ui, opportunity) == QUALIFICATION[1],
           f"the new opportunity's card should be in the Qualification column; is in {card_column(ui, opportunity)!r}")

    move_on_board(ui, opportunity, LOST[1])
    error_text = ui.wait_for_text("[data-testid=board-error]", "reason")
    expect("reason" in error_text.lower(), f"the board's error should ask for a lost reason; reads {error_text!r}")
    expect(card_column(ui, opportunity) == QUALIFICATION[1],
           f"a refused move should leave the card in Qualification; it is in {card_column(ui, opportunity)!r}")
    ui.screenshot("sales-pipeline-lost-refused")

    move_on_board(ui, opportunity, LOST[1], reason="Price")
    expect(not ui.find_all("[data-testid=board-error]"),
           f"moving to Lost with a reason was refused: {ui.find_all('[data-testid=board-error]')[0].text if ui.find_all('[data-testid=board-error]') else ''}")
    expect(card_column(ui, opportunity) == LOST[1], f"with a reason the card should move to Lost; it is in {card_column(ui, opportunity)!r}")
    ui.open(f"/app/opportunity/{opportunity}")
    expect_field(ui, "lost_reason", "Price", "the lost opportunity")


def sales_pipeline_board_and_reports_fit_a_390px_phone(ui):
    english_on_a_desktop(ui)
    ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    problems = []
    try:
        ui.open("/app/sales/pipeline")
        ui.find("[data-board]")
        ui.screenshot("phone-sales-pipeline")
        for test in (lambda: no_page_scroll_sideways(ui, "the pipeline board at 390×844"), lambda: board_scrolls_in_its_box(ui)):
            try:
                test()
            except CheckFailed as problem:
                problems.append(str(problem))
        ui.open("/app/sales/reports")
        ui.find("[data-testid=funnel-chart]")
        ui.screenshot("phone-sales-reports")
        try:
            no_page_scroll_sideways(ui, "the sales reports at 390×844")
        except CheckFailed as problem:
            problems.append(str(problem))
        expect(not problems, "; ".join(problems) + " (see phone-sales-pipeline.png, phone-sales-reports.png)")
    finally:
        ui.driver.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)


def sales_reports_page_in_chinese_shows_the_funnel(ui):
    english_on_a_desktop(ui)
    ui.open("/app/sales/reports")
    switch_language(ui, "中文", "Switch")
    try:
        ui.wait_for_path("/app/sales/reports")
        heading = ui.find("section[data-report=funnel] h2").text
        expect(heading == "销售漏斗", f"the funnel section should be headed 销售漏斗 in Chinese; is {heading!r}")
        expect(ui.find("html").get_attribute("lang") == "zh-CN", "<html lang> should be zh-CN")
        rows = funnel_rows(ui)
        expect(PROPOSAL[0] in rows and WON[0] in rows, f"the funnel should name the stages in Chinese (方案报价, 赢单); names {sorted(rows)}")
        ui.screenshot("sales-reports-zh")
    finally:
        switch_language(ui, "English", "切换")


SALES_CHECKS = [
    sales_account_to_opportunity_quote_order_receipt_and_funnel,
    sales_lead_conversion_lands_on_the_opportunity_and_links_the_lead,
    sales_lost_without_reason_is_refused_on_the_board,
    sales_pipeline_board_and_reports_fit_a_390px_phone,
    sales_reports_page_in_chinese_shows_the_funnel,
]

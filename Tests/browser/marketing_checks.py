"""Browser checks of the marketing module: the administrator switches the module on for the
browser tenant (its plan has no marketing), creates a campaign and a segment through the New
forms, adds the segment's contacts as members with the campaign's button, records a response
from the campaign's related list that becomes a lead of the campaign, and sees the results
with their charts — last on a 390 px phone without sideways scrolling. They run signed in as
the administrator, in English, after the knowledge checks.
"""

from datetime import date, timedelta

from browser_support import expect
from crm_checks import api, run_admin
from expenses_checks import back_to_the_administrator
from sales_checks import PHONE_HEIGHT, PHONE_WIDTH, expect_field, fill, new_record, no_page_scroll_sideways, open_related_new, save_form

CAMPAIGN = "Hangzhou dealer seminar"
SEGMENT = "Seminar invitees"
VISITOR = "Zhou Min"


def marketing_campaign_members_from_a_segment_and_a_response_that_becomes_a_lead(ui):
    back_to_the_administrator(ui)
    run_admin(ui, "tenant", "modules", ui.slug, "--enable", "marketing")
    # Two contacts the segment will find (made through the API: the forms are the CRM checks' subject).
    status, account = api(ui, "POST", "/api/v1/account", {"name": "Westlake Dealers"})
    expect(status == 201, f"creating an account should be 201; got {status}: {account}")
    for name, email in (("Qian Yu", "qian.yu@westlake.test"), ("Sun Hao", "sun.hao@westlake.test")):
        status, body = api(ui, "POST", "/api/v1/contact", {"name": name, "account": account["id"], "email": email, "title": "Dealer owner"})
        expect(status == 201, f"creating the contact {name} should be 201; got {status}: {body}")

    start = (date.today() + timedelta(days=14)).isoformat()
    campaign = new_record(ui, "campaign", {"name": CAMPAIGN, "campaign_type": ("Seminar",), "start_date": start, "end_date": start},
                          f"the campaign {CAMPAIGN!r}")
    ui.state["campaign"] = campaign
    expect_field(ui, "status", "Planned", "a new campaign")
    new_record(ui, "segment", {"name": SEGMENT, "target": ("Contacts",),
                               "filter": '{"field": "title", "op": "eq", "value": "Dealer owner"}'}, f"the segment {SEGMENT!r}")

    ui.open(f"/app/campaign/{campaign}")
    ui.click_and_load(ui.find(f"a[href='/app/marketing/campaigns/{campaign}/add-members']"))
    fill_select = ui.find("#segment")
    expect(SEGMENT in fill_select.text, f"the segment list should offer {SEGMENT!r}; offers {fill_select.text!r}")
    ui.choose("#segment", visible_text=f"{SEGMENT} (Contacts)")
    ui.click_and_load(ui.find("[data-testid=add-members]"))
    ui.wait_for_path(f"/app/campaign/{campaign}")
    members = [row.text for row in ui.find_all("section.related[data-related=campaign_member] ul li")]
    expect(len(members) == 2 and any("Qian Yu" in m for m in members),
           f"the campaign should list the segment's two contacts as members; lists {members}")

    # A visitor's response, recorded from the campaign's related list, becomes a lead of it.
    open_related_new(ui, "campaign_response")
    fill(ui, {"name": VISITOR, "company": "Binjiang Motors", "email": "zhou.min@binjiang.test", "kind": ("Attended",)})
    response = save_form(ui, "campaign_response", "the response")
    lead_links = ui.find_all("div.field[data-field=lead] dd a")
    expect(lead_links and VISITOR in lead_links[0].text, f"the response should link its new lead {VISITOR!r}; shows {[a.text for a in lead_links]}")
    ui.click_and_load(lead_links[0])
    expect_field(ui, "source", "Campaign", "the lead made from a response")
    expect_field(ui, "campaign", CAMPAIGN, "the lead made from a response")
    ui.state["marketing_response"] = response
    ui.screenshot("marketing-lead")


def marketing_results_show_the_lead_on_a_390px_phone(ui):
    campaign = ui.state.get("campaign")
    expect(campaign, "the campaign check did not run")
    try:
        ui.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
        ui.open(f"/app/marketing/campaigns/{campaign}/results")
        ui.wait_for_text("[data-testid=figure-leads]", "1")
        expect(ui.find("[data-testid=figure-members]").text == "3",
               f"two contacts from the segment and the visitor are members; the page says {ui.find('[data-testid=figure-members]').text!r}")
        expect(ui.find_all("svg[data-testid=results-funnel] rect"), "the results page should draw the funnel chart")
        no_page_scroll_sideways(ui, "the campaign results page")
        ui.screenshot("marketing-results-phone")
        status, results = api(ui, "GET", f"/api/v1/marketing/campaigns/{campaign}/results")
        expect(status == 200 and results.get("leads") == 1, f"the JSON results should count one lead; got {status}: {results}")
    finally:
        back_to_the_administrator(ui)


MARKETING_CHECKS = [
    marketing_campaign_members_from_a_segment_and_a_response_that_becomes_a_lead,
    marketing_results_show_the_lead_on_a_390px_phone,
]

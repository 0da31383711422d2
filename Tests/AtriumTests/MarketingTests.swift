import AtriumApp
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Tenancy
import Testing

/// The marketing module (issue 17): campaigns with exact costs and ROI, responses that become
/// leads once, segments evaluated when used, mass e-mail through the outbox to a real SMTP
/// server with unsubscribe, web-to-lead forms that refuse abuse and stay in their tenant, and
/// the module's scope and switch. Real PostgreSQL, the real server, a real SMTP server.
@Suite struct MarketingTests {
    /// New tenants on the `pro` plan (marketing is on for pro and enterprise) and the live app.
    static func withMarketing(_ prefixes: String...,
                              body: @escaping @Sendable (any TestClientProtocol, [TestEnvironment.Tenant]) async throws -> Void) async throws {
        try await RecordTestGate.shared.run {
            var tenants: [TestEnvironment.Tenant] = []
            for prefix in prefixes { tenants.append(try await TestEnvironment.provisionTenant(prefix, plan: "pro")) }
            let provisioned = tenants
            var config = try await TestEnvironment.ready()
            config.databasePoolSize = 3
            let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
            try await app.test(.live) { client in try await body(client, provisioned) }
        }
    }

    static func patch(_ api: RecordAPIClient, _ entity: String, _ id: String, _ body: String) async throws -> RecordAPIResponse {
        let version = try #require(try await api.call(.get, "/api/v1/\(entity)/\(id)").version)
        return try await api.call(.patch, "/api/v1/\(entity)/\(id)", json: #"{"version": \#(version), "# + body.dropFirst())
    }

    static func campaign(_ api: RecordAPIClient, _ name: String, type: String = "seminar") async throws -> String {
        try await api.createID("campaign", #"{"name": "\#(name)", "campaign_type": "\#(type)", "start_date": "2026-11-01", "end_date": "2026-11-02"}"#)
    }

    static func stage(_ api: RecordAPIClient, kind: String) async throws -> String {
        let stages = try await api.list("sales_stage", limit: 50)
        return try #require(stages.records.first { $0["kind"] == .string(kind) }?["id"]?.stringValue)
    }

    static func results(_ api: RecordAPIClient, _ campaign: String) async throws -> JSONValue {
        let response = try await api.call(.get, "/api/v1/marketing/campaigns/\(campaign)/results")
        try #require(response.status == .ok, "\(response.text)")
        return response.json
    }

    // MARK: Campaigns, costs, results

    @Test func roiAndCostPerLeadAreExactOnFixedData() async throws {
        try await Self.withMarketing("mkroi") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let campaign = try await Self.campaign(api, "Trade fair", type: "trade_show")
            let cheap = try await api.createID("campaign_cost", #"{"campaign": "\#(campaign)", "description": "Booth", "amount": "1000.10"}"#)
            _ = try await api.createID("campaign_cost", #"{"campaign": "\#(campaign)", "description": "Print", "amount": "2000.20"}"#)
            _ = try await api.createID("campaign_cost", #"{"campaign": "\#(campaign)", "description": "Travel", "amount": "0.03"}"#)
            #expect(try await api.call(.get, "/api/v1/campaign/\(campaign)").json["actual_cost"]?["amount"] == .string("3000.33"))
            // Binning a line takes it out of the actual cost; the field is the rules' alone.
            let travel = try await api.list("campaign_cost", filter: #"{"field": "description", "op": "eq", "value": "Travel"}"#)
            let travelID = try #require(travel.records.first?["id"]?.stringValue)
            #expect(try await api.call(.delete, "/api/v1/campaign_cost/\(travelID)").status == .noContent)
            #expect(try await api.call(.get, "/api/v1/campaign/\(campaign)").json["actual_cost"]?["amount"] == .string("3000.30"))
            let written = try await Self.patch(api, "campaign", campaign, #"{"actual_cost": "1"}"#)
            #expect(written.status == .forbidden, "\(written.text)")

            // Three visitors → three leads of the campaign.
            var leads: [String] = []
            for (name, email) in [("A One", "a@one.test"), ("B Two", "b@two.test"), ("C Three", "c@three.test")] {
                let response = try await api.create("campaign_response", #"{"campaign": "\#(campaign)", "name": "\#(name)", "email": "\#(email)", "company": "\#(name) Ltd"}"#)
                let id = try #require(response["id"]?.stringValue)
                leads.append(try #require(try await api.call(.get, "/api/v1/campaign_response/\(id)").json["lead"]?.stringValue))
            }
            let won = try await Self.stage(api, kind: "won")
            let account = try await api.createID("account", #"{"name": "Direct Buyer Co"}"#)
            // A deal of the campaign itself, won: 4000.00.
            _ = try await api.createID("opportunity", #"{"name": "Direct", "account": "\#(account)", "amount": "4000.00", "close_date": "2026-12-01", "stage": "\#(won)", "campaign": "\#(campaign)"}"#)
            // A lead converted into a deal later won: 6000.00, attributed through the lead.
            let converted = try await api.call(.post, "/api/v1/sales/leads/\(leads[0])/convert",
                                               json: #"{"account_name": "A One Ltd", "opportunity": {"name": "From lead", "amount": "6000.00", "close_date": "2026-12-15"}}"#)
            try #require(converted.status == .created, "\(converted.text)")
            let fromLead = try #require(converted.json["opportunity"]?["id"]?.stringValue)
            #expect(try await Self.patch(api, "opportunity", fromLead, #"{"stage": "\#(won)"}"#).status == .ok)
            // An open deal of the campaign: pipeline, not won.
            let open = try await Self.stage(api, kind: "open")
            _ = try await api.createID("opportunity", #"{"name": "Open", "account": "\#(account)", "amount": "500.00", "close_date": "2026-12-20", "stage": "\#(open)", "campaign": "\#(campaign)"}"#)
            // A deal of no campaign does not count.
            _ = try await api.createID("opportunity", #"{"name": "Other", "account": "\#(account)", "amount": "99999.00", "close_date": "2026-12-20", "stage": "\#(won)"}"#)

            let results = try await Self.results(api, campaign)
            #expect(results["leads"] == .number(3))
            #expect(results["opportunities"] == .number(3))
            #expect(results["won_opportunities"] == .number(2))
            #expect(results["won_amount"] == .string("10000.00"))
            #expect(results["open_pipeline"] == .string("500.00"))
            #expect(results["actual_cost"] == .string("3000.30"))
            #expect(results["cost_per_lead"] == .string("1000.10"))
            // (10000.00 − 3000.30) / 3000.30 = 2.33299996… → 2.3330; in percent 233.30.
            #expect(results["roi"] == .string("2.3330"), "\(results)")
            #expect(results["roi_percent"] == .string("233.30"))

            // The page shows the same figures with its charts.
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenants[0].info.slug, email: tenants[0].adminEmail, password: tenants[0].password)
            let (status, html, _) = try await browser.get("/app/marketing/campaigns/\(campaign)/results")
            #expect(status == .ok)
            #expect(html.contains("data-testid=\"results-funnel\"") && html.contains("data-testid=\"results-money\""))
            #expect(html.contains("233.30 %"), "ROI on the page")
            #expect(html.contains("1,000.10"), "cost per lead on the page")
            _ = cheap
        }
    }

    @Test func campaignStatusFlowAndDatesAreChecked() async throws {
        try await Self.withMarketing("mkflow") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let backwards = try await api.call(.post, "/api/v1/campaign", json: #"{"name": "X", "campaign_type": "online", "start_date": "2026-11-05", "end_date": "2026-11-01"}"#)
            #expect(backwards.status == .unprocessableContent && backwards.errorField == "end_date", "\(backwards.text)")
            let campaign = try await Self.campaign(api, "Webinar", type: "online")
            #expect(try await api.call(.get, "/api/v1/campaign/\(campaign)").json["status"] == .string("planned"))
            let skip = try await Self.patch(api, "campaign", campaign, #"{"status": "completed"}"#)
            #expect(skip.status == .unprocessableContent && skip.errorField == "status", "\(skip.text)")
            #expect(skip.errorMessage.contains("planned"))
            #expect(try await Self.patch(api, "campaign", campaign, #"{"status": "active"}"#).status == .ok)
            #expect(try await Self.patch(api, "campaign", campaign, #"{"status": "completed"}"#).status == .ok)
            let reopen = try await Self.patch(api, "campaign", campaign, #"{"status": "active"}"#)
            #expect(reopen.status == .unprocessableContent && reopen.errorField == "status")
            let bad = try await api.call(.post, "/api/v1/campaign", json: #"{"name": "Y", "campaign_type": "no_such_type"}"#)
            #expect(bad.status == .unprocessableContent && bad.errorField == "campaign_type", "\(bad.text)")

            // A plan: budget lines per type sum exactly; plan vs actual by type.
            let plan = try await api.createID("marketing_plan", #"{"name": "2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}"#)
            _ = try await api.createID("marketing_plan_budget", #"{"plan": "\#(plan)", "campaign_type": "online", "budget": "1000.25"}"#)
            _ = try await api.createID("marketing_plan_budget", #"{"plan": "\#(plan)", "campaign_type": "seminar", "budget": "2000.50"}"#)
            let twice = try await api.call(.post, "/api/v1/marketing_plan_budget", json: #"{"plan": "\#(plan)", "campaign_type": "online", "budget": "1"}"#)
            #expect(twice.status == .unprocessableContent && twice.errorField == "campaign_type")
            #expect(try await api.call(.get, "/api/v1/marketing_plan/\(plan)").json["total_budget"]?["amount"] == .string("3000.75"))
            #expect(try await Self.patch(api, "campaign", campaign, #"{"plan": "\#(plan)"}"#).status == .ok)
            _ = try await api.createID("campaign_cost", #"{"campaign": "\#(campaign)", "description": "Ads", "amount": "1200.00"}"#)
            let actuals = try await api.call(.get, "/api/v1/marketing/plans/\(plan)/actuals")
            let online = actuals.json["types"]?.asArray?.first { $0["campaign_type"] == .string("online") }
            #expect(online?["budget"] == .string("1000.25") && online?["actual"] == .string("1200.00") && online?["remaining"] == .string("-199.75"), "\(actuals.text)")
        }
    }

    // MARK: Responses → leads

    @Test func aResponseCreatesTheLeadOnceWithTheCampaignAndASecondMerges() async throws {
        try await Self.withMarketing("mkresp") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let campaign = try await Self.campaign(api, "Seminar")
            let account = try await api.createID("account", #"{"name": "Huatong"}"#)
            let contact = try await api.createID("contact", #"{"name": "李明", "account": "\#(account)", "email": "li.ming@huatong.test", "mobile": "+86 138 0000 1001"}"#)
            let member = try await api.createID("campaign_member", #"{"campaign": "\#(campaign)", "contact": "\#(contact)"}"#)
            let twice = try await api.call(.post, "/api/v1/campaign_member", json: #"{"campaign": "\#(campaign)", "contact": "\#(contact)"}"#)
            #expect(twice.status == .conflict && twice.errorField == "contact", "\(twice.text)")
            let nobody = try await api.call(.post, "/api/v1/campaign_member", json: #"{"campaign": "\#(campaign)"}"#)
            #expect(nobody.status == .unprocessableContent && nobody.errorField == "contact")

            let first = try await api.create("campaign_response", #"{"campaign": "\#(campaign)", "member": "\#(member)", "kind": "registered"}"#)
            let firstID = try #require(first["id"]?.stringValue)
            let stored = try await api.call(.get, "/api/v1/campaign_response/\(firstID)").json
            let lead = try #require(stored["lead"]?.stringValue)
            #expect(stored["merged"] == .bool(false))
            let leadRecord = try await api.call(.get, "/api/v1/lead/\(lead)").json
            #expect(leadRecord["source"] == .string("campaign"))
            #expect(leadRecord["campaign"] == .string(campaign))
            #expect(leadRecord["name"] == .string("李明") && leadRecord["company"] == .string("Huatong") && leadRecord["email"] == .string("li.ming@huatong.test"))
            #expect(try await api.call(.get, "/api/v1/campaign_member/\(member)").json["status"] == .string("registered"))

            // The same person again (as the contact, in another campaign too): the same lead.
            let second = try await api.createID("campaign_response", #"{"campaign": "\#(campaign)", "contact": "\#(contact)", "kind": "attended", "notes": "Asked for a quote"}"#)
            let secondStored = try await api.call(.get, "/api/v1/campaign_response/\(second)").json
            #expect(secondStored["lead"] == .string(lead))
            #expect(secondStored["merged"] == .bool(true))
            #expect(try await api.call(.get, "/api/v1/campaign_member/\(member)").json["status"] == .string("attended"))
            let later = try await Self.campaign(api, "Later webinar", type: "online")
            let third = try await api.createID("campaign_response", #"{"campaign": "\#(later)", "name": "Li Ming", "email": "LI.MING@huatong.test"}"#)
            #expect(try await api.call(.get, "/api/v1/campaign_response/\(third)").json["lead"] == .string(lead))
            let merged = try await api.call(.get, "/api/v1/lead/\(lead)").json
            #expect(merged["campaign"] == .string(campaign), "first touch: the lead stays with the campaign that reached it first")
            #expect(merged["notes"]?.stringValue?.contains("Asked for a quote") == true)
            #expect(try await api.count("lead") == 1)
            // The later campaign got a member for the person, not a second lead.
            let laterMembers = try await api.list("campaign_member", filter: #"{"field": "campaign", "op": "eq", "value": "\#(later)"}"#)
            #expect(laterMembers.records.map { $0["lead"] } == [.string(lead)])
            #expect(try await Self.results(api, campaign)["leads"] == .number(1))
            #expect(try await Self.results(api, later)["leads"] == .number(0))

            let anonymous = try await api.call(.post, "/api/v1/campaign_response", json: #"{"campaign": "\#(campaign)"}"#)
            #expect(anonymous.status == .unprocessableContent && anonymous.errorField == "name", "\(anonymous.text)")
        }
    }

    /// The demo: a completed trade show whose four responses made three leads (one came back),
    /// one of them won as a ¥180,000 deal, against ¥80,120.80 of costs; seeding twice adds nothing.
    @Test func demoDataShowsRealResultsAndSeedsOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("mkdemo", plan: "pro")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let (results, campaigns) = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let demo = ModuleDemoContext(engine: RecordEngine(catalog: catalog), admin: admin, people: [:], connection: connection, logger: logger)
                try await MarketingDemoData.seed(demo)
                try await MarketingDemoData.seed(demo)
                let store = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: admin, access: .system), connection: connection, logger: logger)
                let campaigns = try await store.all("campaign")
                let show = try #require(campaigns.first { $0.string("campaign_type") == "trade_show" })
                return (try await CampaignResults.load(show.id, store: store).json, campaigns.count)
            }
        }
        #expect(campaigns == 2)
        #expect(results["campaign"]?["status"] == .string("completed"))
        #expect(results["leads"] == .number(3) && results["responses"] == .number(4))
        #expect(results["won_amount"] == .string("180000.00") && results["actual_cost"] == .string("80120.80"))
        #expect(results["cost_per_lead"] == .string("26706.93"))
        #expect(results["roi"] == .string("1.2466") && results["roi_percent"] == .string("124.66"), "\(results)")
    }

    /// The module's pages render for the administrator: a plan against its actuals, a segment's
    /// preview, a mailing sent from its page (CSRF-checked) with its recipients, win/loss against
    /// competitors, a web form's public address.
    @Test func thePagesRenderAndTheMailingPageSends() async throws {
        try await Self.withMarketing("mkpages") { client, tenants in
            let tenant = tenants[0], slug = tenant.info.slug
            let api = try await RecordAPIClient.admin(client, tenant)
            let plan = try await api.createID("marketing_plan", #"{"name": "Plan 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31"}"#)
            _ = try await api.createID("marketing_plan_budget", #"{"plan": "\#(plan)", "campaign_type": "seminar", "budget": "5000"}"#)
            let campaign = try await api.createID("campaign", #"{"name": "Roadshow", "campaign_type": "seminar", "plan": "\#(plan)"}"#)
            _ = try await api.createID("campaign_cost", #"{"campaign": "\#(campaign)", "description": "Hall", "amount": "6000"}"#)
            let account = try await api.createID("account", #"{"name": "Page Co"}"#)
            let contact = try await api.createID("contact", #"{"name": "Page Person", "account": "\#(account)", "email": "page@\#(slug).test"}"#)
            _ = try await api.createID("campaign_member", #"{"campaign": "\#(campaign)", "contact": "\#(contact)"}"#)
            let segment = try await api.createID("segment", #"{"name": "Page people", "target": "contact", "filter": "{\"field\": \"account\", \"op\": \"eq\", \"value\": \"\#(account)\"}"}"#)
            let template = try await api.createID("email_template", #"{"name": "T", "subject": "S", "body": "B {{unsubscribe_url}}"}"#)
            let mailing = try await api.createID("mass_mail", #"{"name": "Page mailing", "campaign": "\#(campaign)", "template": "\#(template)"}"#)
            let competitor = try await api.createID("competitor", #"{"name": "Rival Soft"}"#)
            let lost = try await Self.stage(api, kind: "lost")
            let deal = try await api.createID("opportunity", #"{"name": "Lost one", "account": "\#(account)", "amount": "700.00", "close_date": "2027-02-01", "stage": "\#(lost)", "lost_reason": "competitor"}"#)
            _ = try await api.createID("competitive_deal", #"{"opportunity": "\#(deal)", "competitor": "\#(competitor)"}"#)
            let form = try await api.create("web_form", #"{"name": "Sign up", "campaign": "\#(campaign)", "fields": ["name", "email"]}"#)

            var browser = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)
            let planPage = try await browser.get("/app/marketing/plans/\(plan)")
            #expect(planPage.0 == .ok && planPage.1.contains("⚠"), "the seminar budget is overspent: \(planPage.0)")
            let preview = try await browser.get("/app/marketing/segments/\(segment)/preview")
            #expect(preview.0 == .ok && preview.1.contains("data-testid=\"segment-size\">1<") && preview.1.contains("Page Person"))
            let before = try await browser.get("/app/marketing/mailings/\(mailing)")
            #expect(before.0 == .ok && before.1.contains("data-testid=\"send\""))
            let forged = try await browser.post("/app/marketing/mailings/\(mailing)/send", [:], csrf: false)
            #expect(forged.0 == .forbidden, "a send without the form's CSRF token is refused")
            let sent = try await browser.post("/app/marketing/mailings/\(mailing)/send", [:])
            #expect(sent.0 == .seeOther, "\(sent.0)")
            let after = try await browser.get("/app/marketing/mailings/\(mailing)")
            #expect(after.1.contains("data-testid=\"mailing-sent\"") && after.1.contains("page@\(slug).test") && !after.1.contains("data-testid=\"send\""))
            let report = try await browser.get("/app/marketing/competitors")
            #expect(report.0 == .ok && report.1.contains("Rival Soft"))
            let json = try await api.call(.get, "/api/v1/marketing/competitors/report")
            #expect(json.json["competitors"]?[0]?["lost"] == .number(1) && json.json["competitors"]?[0]?["lost_amount"] == .string("700.00"), "\(json.text)")
            let open = try await browser.get("/app/marketing/forms/\(form["id"]?.stringValue ?? "")/open")
            #expect(open.0 == .seeOther && open.2[.location] == "/f/\(slug)/\(form["form_key"]?.stringValue ?? "")")
            let added = try await browser.post("/app/marketing/campaigns/\(campaign)/add-members", ["segment": segment])
            #expect(added.0 == .seeOther, "\(added.0)")
        }
    }

    // MARK: Scope and module switch

    @Test func aSalespersonReadsCampaignsButNotBeyondTheirLeadScopeAndCannotWrite() async throws {
        try await Self.withMarketing("mkscope") { client, tenants in
            let tenant = tenants[0]
            let admin = try await RecordAPIClient.admin(client, tenant)
            let campaign = try await Self.campaign(admin, "Expo")
            for (name, email) in [("P1", "p1@x.test"), ("P2", "p2@x.test")] {
                _ = try await admin.createID("campaign_response", #"{"campaign": "\#(campaign)", "name": "\#(name)", "email": "\#(email)"}"#)
            }
            let member = try await RecordFixtures.createMember(in: tenant, role: "salesperson")
            let sales = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: member.email, password: member.password)
            #expect(try await sales.call(.get, "/api/v1/campaign/\(campaign)").status == .ok)
            let write = try await sales.call(.post, "/api/v1/campaign", json: #"{"name": "Mine", "campaign_type": "online"}"#)
            #expect(write.status == .forbidden, "\(write.text)")
            #expect(try await sales.call(.post, "/api/v1/campaign_response", json: #"{"campaign": "\#(campaign)", "name": "Z"}"#).status == .forbidden)
            #expect(try await Self.results(admin, campaign)["leads"] == .number(2))
            #expect(try await Self.results(sales, campaign)["leads"] == .number(0), "the leads are the administrator's, outside the salesperson's own scope")
            // One lead handed to the salesperson: now their results count it.
            let me = try #require(try await sales.call(.get, "/api/v1/me").json["user"]?["id"]?.stringValue?.lowercased())
            let leads = try await admin.list("lead")
            let first = try #require(leads.records.first?["id"]?.stringValue)
            #expect(try await Self.patch(admin, "lead", first, #"{"owner_id": "\#(me)"}"#).status == .ok)
            #expect(try await Self.results(sales, campaign)["leads"] == .number(1))
            // The suppression list is for who may send mailings.
            #expect(try await sales.call(.post, "/api/v1/marketing/suppressions", json: #"{"email": "x@y.test"}"#).status == .forbidden)
        }
    }

    @Test func withoutTheModuleEverythingIsA404AndReEnablingBringsTheDataBack() async throws {
        try await RecordFixtures.withTenant("mkoff") { client, tenant in
            // A trial tenant has no marketing.
            let api = try await RecordAPIClient.admin(client, tenant)
            #expect(try await api.call(.get, "/api/v1/campaign").status == .notFound)
            #expect(try await api.call(.get, "/api/v1/marketing/campaigns/\(UUID())/results").status == .notFound)
            #expect(try await api.call(.get, "/api/v1/marketing/suppressions").status == .notFound)
            let form = try await client.execute(uri: "/f/\(tenant.info.slug)/wfanything", method: .get, headers: [TenantResolver.header: tenant.info.slug])
            #expect(form.status == .notFound)
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            #expect(try await browser.get("/app/marketing/competitors").0 == .notFound)

            let on = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--enable", "marketing"])
            #expect(on.status == 0, "\(on.stderr)")
            let campaign = try await Self.campaign(api, "Back soon")
            #expect(try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "marketing"]).status == 0)
            #expect(try await api.call(.get, "/api/v1/campaign/\(campaign)").status == .notFound)
            #expect(try await api.call(.get, "/api/v1/marketing/campaigns/\(campaign)/results").status == .notFound)
            #expect(try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--enable", "marketing"]).status == 0)
            #expect(try await api.call(.get, "/api/v1/campaign/\(campaign)").json["name"] == .string("Back soon"))
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Testing

/// The sales module's pages in the shared shell: pipeline board and its move form, reports
/// with SVG charts (also in Chinese), lead conversion form, quote → order button, printable
/// quote, merge page and reminders; the module's menu entries and record buttons.
@Suite struct SalesPagesTests {
    typealias S = SalesTests

    @Test func boardReportsConversionPrintAndMergePagesWork() async throws {
        try await RecordFixtures.withTenant("sales-web") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let stages = try await S.stages(api)
            let account = try await S.account(api, "Gamma <b>Trading</b>")
            let opportunity = try await api.create("opportunity", S.body([
                "name": "Gamma deal", "account": .string(account), "amount": "88000", "close_date": "2026-12-20", "stage": .string(stages["Proposal"]!)]))
            let id = try #require(opportunity["id"]?.stringValue)

            // Stage lookups read in the page's language: Proposal in English, 方案报价 in Chinese.
            let recordPage = try await browser.get("/app/opportunity/\(id)")
            #expect(recordPage.1.contains(">Proposal<") && !recordPage.1.contains("方案报价"), "English stage title on the record page")
            let editPage = try await browser.get("/app/opportunity/\(id)/edit")
            #expect(editPage.1.contains(">Negotiation<"), "English stage names in the stage picker")

            // The menu lists the module's pages; the board shows the card in its column, escaped.
            let board = try await browser.get("/app/sales/pipeline")
            #expect(board.0 == .ok)
            #expect(board.1.contains(#"href="/app/sales/reports""#) && board.1.contains(#"href="/app/sales/pipeline""#))
            #expect(board.1.contains("Gamma &lt;b&gt;Trading&lt;/b&gt;"), "account names are escaped")
            #expect(board.1.contains(#"data-id="\#(id)""#))
            // Moving to Lost without a reason is refused with the reason's message; nothing changes.
            let noReason = try await browser.post("/app/sales/pipeline/move", ["id": id, "version": "1", "stage": stages["Lost"]!])
            #expect(noReason.0 == .seeOther)
            let refusedLocation = noReason.2[.location] ?? ""
            #expect(refusedLocation.contains("error=lost_reason_required"), "\(refusedLocation)")
            let shown = try await browser.get(refusedLocation)
            #expect(shown.1.contains("Choose a lost reason"), "\(shown.1)")
            #expect(try await api.call(.get, "/api/v1/opportunity/\(id)").json["stage"]?.stringValue == stages["Proposal"])
            // A stale version is refused too (another tab moved it).
            let stale = try await browser.post("/app/sales/pipeline/move", ["id": id, "version": "7", "stage": stages["Negotiation"]!])
            #expect((stale.2[.location] ?? "").contains("error="), "\(stale.2)")
            let moved = try await browser.post("/app/sales/pipeline/move", ["id": id, "version": "1", "stage": stages["Negotiation"]!])
            #expect(moved.2[.location] == "/app/sales/pipeline?notice=saved")
            #expect(try await api.call(.get, "/api/v1/opportunity/\(id)").json["probability"]?.stringValue == "70")
            // No CSRF token: refused.
            #expect(try await browser.post("/app/sales/pipeline/move", ["id": id, "version": "2", "stage": stages["Won"]!], csrf: false).0 == .forbidden)

            // Reports: funnel SVG and table, forecast, in English and Chinese.
            let reports = try await browser.get("/app/sales/reports")
            #expect(reports.0 == .ok)
            #expect(reports.1.contains(#"data-testid="funnel-chart""#) && reports.1.contains("<rect"))
            #expect(reports.1.contains("¥88,000.00"), "amounts are formatted")
            #expect(reports.1.contains("2026-12"))
            _ = try await browser.post("/settings/locale", ["locale": "zh-CN", "back": "/app/sales/reports"])
            let zhText = try await browser.get("/app/sales/reports").1
            #expect(zhText.contains("销售漏斗") && zhText.contains("谈判审核"), "Chinese labels and stage names")
            #expect(try await browser.get("/app/opportunity/\(id)").1.contains("谈判审核"), "the Chinese stage title on the record page")
            _ = try await browser.post("/settings/locale", ["locale": "en", "back": "/"])

            // Lead conversion through the form; a possible duplicate account brings the form back with a confirm box.
            let lead = try await api.createID("lead", #"{"name": "Ivy Chen", "company": "Gamma <b>Trading</b>"}"#)
            let leadPage = try await browser.get("/app/lead/\(lead)")
            #expect(leadPage.1.contains("/app/sales/leads/\(lead)/convert"), "the lead page has a Convert button")
            let form = try await browser.get("/app/sales/leads/\(lead)/convert")
            #expect(form.0 == .ok && form.1.contains(#"name="opportunity_name""#))
            let duplicate = try await browser.post("/app/sales/leads/\(lead)/convert", [
                "account_name": "Gamma <b>Trading</b>", "create_opportunity": "on", "opportunity_name": "Ivy deal", "amount": "1000",
                "close_date": "2027-01-31", "stage": stages["Qualification"]!])
            #expect(duplicate.0 == .unprocessableContent, "\(duplicate.1)")
            #expect(duplicate.1.contains(#"data-testid="confirm-duplicate""#))
            #expect(try await api.count("contact") == 0, "nothing was created")
            let converted = try await browser.post("/app/sales/leads/\(lead)/convert", [
                "account_id": account, "create_opportunity": "on", "opportunity_name": "Ivy deal", "amount": "1000",
                "close_date": "2027-01-31", "stage": stages["Qualification"]!])
            #expect(converted.0 == .seeOther && (converted.2[.location] ?? "").hasPrefix("/app/opportunity/"), "\(converted.1)")

            // Quote → order button, then the printable quote.
            let quote = try await api.createID("quote", S.body(["name": "Gamma quote", "account": .string(account)]))
            _ = try await api.create("quote_line", #"{"quote": "\#(quote)", "description": "Licence", "quantity": "3", "unit_price": "100", "discount": "10", "tax_rate": "13"}"#)
            let quotePage = try await browser.get("/app/quote/\(quote)")
            #expect(quotePage.1.contains(#"action="/app/sales/quotes/\#(quote)/convert""#))
            let printed = try await browser.get("/app/sales/quotes/\(quote)/print")
            #expect(printed.0 == .ok)
            #expect(printed.1.contains("¥305.10"), "3 × 100 − 10 % = 270.00 + 13 % tax 35.10")
            let order = try await browser.post("/app/sales/quotes/\(quote)/convert", [:])
            #expect(order.0 == .seeOther && (order.2[.location] ?? "").hasPrefix("/app/sales_order/"), "\(order.1)")

            // Merge page lists the look-alike account; merging moves its records.
            let twin = try await api.createID("account", #"{"name": "Gamma <b>Trading</b>", "confirm_duplicate": true}"#)
            let contact = try await api.createID("contact", #"{"name": "Kai", "account": "\#(twin)"}"#)
            let mergePage = try await browser.get("/app/sales/accounts/\(account)/merge")
            #expect(mergePage.1.contains(#"value="\#(twin)""#))
            let merged = try await browser.post("/app/sales/accounts/\(account)/merge", ["duplicate": twin])
            #expect(merged.0 == .seeOther, "\(merged.1)")
            #expect(try await api.call(.get, "/api/v1/contact/\(contact)").json["account"]?.stringValue == account)

            // Reminders page renders its sections (a birthday in two days here; nothing overdue).
            let birthday = "1990-" + String(ChinaCalendar.day(2).dropFirst(5))
            _ = try await api.createID("contact", S.body(["name": "Lin Birthday", "account": .string(account), "birthday": .string(birthday)]))
            let reminders = try await browser.get("/app/sales/reminders")
            #expect(reminders.0 == .ok && reminders.1.contains("Reminders"))
            #expect(reminders.1.contains("Lin Birthday"), "the birthdays section is shown")
        }
    }

    @Test func aSalespersonSeesTheBoardButNotAdministrationOrOthersCards() async throws {
        try await RecordFixtures.withTenant("sales-web-sp") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let stages = try await S.stages(admin)
            let account = try await S.account(admin, "Admin's customer")
            _ = try await admin.create("opportunity", S.body([
                "name": "Admin's secret deal", "account": .string(account), "amount": "5", "close_date": "2026-12-20", "stage": .string(stages["Proposal"]!)]))
            let seller = try await PermissionFixtures.member(client, tenant, admin, "seller", department: nil, roles: ["salesperson"])
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: seller.email, password: PermissionFixtures.password)
            let board = try await browser.get("/app/sales/pipeline")
            #expect(board.0 == .ok)
            #expect(!board.1.contains("Admin's secret deal") && !board.1.contains("Admin&#39;s secret deal"))
            let reports = try await browser.get("/app/sales/reports")
            #expect(reports.0 == .ok && !reports.1.contains("¥5.00"), "the funnel counts her own pipeline only")
            #expect(try await browser.get("/app/sales/accounts/\(account)/merge").0 == .notFound)
        }
    }
}

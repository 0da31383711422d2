import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// The sales module on the shared engine, over the HTTP API: exact money, lead conversion,
/// stage rules and history, receipts and ageing, scopes on its entities, reports, duplicate
/// check and merge, quote → order, and switching the module off and on.
@Suite struct SalesTests {
    typealias J = JSONValue

    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    /// Pipeline stage ids by English name (seeded when the tenant was provisioned).
    static func stages(_ api: RecordAPIClient) async throws -> [String: String] {
        let page = try await api.call(.get, "/api/v1/sales_stage?sort=position&limit=50")
        try #require(page.status == .ok, "\(page.text)")
        return Dictionary(uniqueKeysWithValues: page.records.map { ($0["name_en"]?.stringValue ?? "", $0["id"]?.stringValue ?? "") })
    }

    static func account(_ api: RecordAPIClient, _ name: String, owner: String? = nil) async throws -> String {
        var values: [String: JSONValue] = ["name": .string(name)]
        if let owner { values["owner_id"] = .string(owner) }
        return try await api.createID("account", body(values))
    }

    static func amount(_ record: JSONValue, _ key: String) -> String? { record[key]?["amount"]?.stringValue }

    // MARK: Money

    @Test func lineFiguresAreExactToTheCentWithHalfAwayFromZero() {
        // 3 × 33.33 with 10 % off: 99.99 gross, 89.991 → 89.99 net, tax 13 % of 89.99 = 11.6987 → 11.70.
        let figures = Money.figures(Money.Line(quantity: 3, unitPrice: Decimal(string: "33.33")!, discount: 10, taxRate: 13))
        #expect(Money.text(figures.gross) == "99.99")
        #expect(Money.text(figures.net) == "89.99")
        #expect(Money.text(figures.discount) == "10.00")
        #expect(Money.text(figures.tax) == "11.70")
        #expect(Money.text(figures.total) == "101.69")
        // A half cent rounds away from zero: 0.125 → 0.13, −0.125 → −0.13.
        #expect(Money.text(Decimal(string: "0.125")!) == "0.13")
        #expect(Money.text(Decimal(string: "-0.125")!) == "-0.13")
        // Floating point would give 0.30000000000000004 here; Decimal is exact.
        #expect(Money.text(Decimal(string: "0.1")! + Decimal(string: "0.2")!) == "0.30")
    }

    @Test func aQuoteWithThreeDiscountedLinesAt13PercentTotalsExactlyAndConvertsToAnOrder() async throws {
        try await RecordFixtures.withTenant("sales-quote") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await Self.account(api, "北京华通科技有限公司")
            let product = try await api.createID("product", #"{"code": "SRV-01", "name": "服务器", "unit": "台", "list_price": "12999.00", "tax_rate": "13"}"#)
            let quote = try await api.createID("quote", Self.body(["name": "服务器采购报价", "account": .string(account)]))
            // Line 1 from the product: price and tax rate come from the catalog.
            let first = try await api.create("quote_line", Self.body(["quote": .string(quote), "product": .string(product), "quantity": "2", "discount": "5"]))
            #expect(Self.amount(first, "unit_price") == "12999.00")
            #expect(first["tax_rate"]?.stringValue == "13.00")
            #expect(first["description"]?.stringValue == "服务器")
            // 2 × 12999 = 25998.00; −5 % → 24698.10; tax 3210.753 → 3210.75; total 27908.85.
            #expect(Self.amount(first, "net_amount") == "24698.10")
            #expect(Self.amount(first, "tax_amount") == "3210.75")
            #expect(Self.amount(first, "line_total") == "27908.85")
            // Line 2: 3 × 33.33, 10 % off → net 89.99, tax 11.70, total 101.69.
            _ = try await api.create("quote_line", #"{"quote": "\#(quote)", "description": "安装调试", "quantity": "3", "unit_price": "33.33", "discount": "10", "tax_rate": "13"}"#)
            // Line 3: 7 × 0.15, 3 % off → 1.05 → 1.0185 → 1.02; tax 0.1326 → 0.13; total 1.15.
            _ = try await api.create("quote_line", #"{"quote": "\#(quote)", "description": "线缆", "quantity": "7", "unit_price": "0.15", "discount": "3", "tax_rate": "13"}"#)
            let totals = try await api.call(.get, "/api/v1/quote/\(quote)")
            #expect(Self.amount(totals.json, "subtotal") == "26099.04")      // 25998.00 + 99.99 + 1.05
            #expect(Self.amount(totals.json, "discount_total") == "1309.93")  // 1299.90 + 10.00 + 0.03
            #expect(Self.amount(totals.json, "tax_total") == "3222.58")       // 3210.75 + 11.70 + 0.13
            #expect(Self.amount(totals.json, "total") == "28011.69")          // 27908.85 + 101.69 + 1.15
            // Totals are computed: a caller cannot set them.
            let forged = try await api.call(.patch, "/api/v1/quote/\(quote)", json: #"{"total": "1.00", "version": \#(totals.version ?? 0)}"#)
            #expect(forged.status == .forbidden && forged.errorCode == "field_read_only", "\(forged.text)")

            // Quote → order copies the lines; the order's totals are the same; the quote is locked.
            let converted = try await api.call(.post, "/api/v1/sales/quotes/\(quote)/convert")
            #expect(converted.status == .created, "\(converted.text)")
            let orderID = try #require(converted.id)
            let order = try await api.call(.get, "/api/v1/sales_order/\(orderID)")
            #expect(Self.amount(order.json, "total") == "28011.69")
            #expect(Self.amount(order.json, "outstanding") == "0.00", "a draft order owes nothing yet")
            #expect(order.json["quote"]?.stringValue == quote)
            #expect(try await api.list("order_line", filter: #"{"field": "sales_order", "op": "eq", "value": "\#(orderID)"}"#).total == 3)
            let quoteAfter = try await api.call(.get, "/api/v1/quote/\(quote)")
            #expect(quoteAfter.json["status"]?.stringValue == "converted")
            let again = try await api.call(.post, "/api/v1/sales/quotes/\(quote)/convert")
            #expect(again.status == .conflict && again.errorCode == "quote_converted")
            let lateLine = try await api.call(.post, "/api/v1/quote_line", json: #"{"quote": "\#(quote)", "description": "late", "quantity": "1", "unit_price": "1"}"#)
            #expect(lateLine.status == .unprocessableContent, "\(lateLine.text)")
        }
    }

    // MARK: Leads

    @Test func leadConversionIsAllOrNothingAndLinksAllThree() async throws {
        try await RecordFixtures.withTenant("sales-lead") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let stages = try await Self.stages(api)
            let lead = try await api.createID("lead", #"{"name": "张伟", "company": "上海明远贸易", "phone": "+86 21 5555 0101", "email": "zhang.wei@mingyuan.example", "source": "web_form"}"#)
            // A bad opportunity amount fails the last step: no account or contact may remain.
            let failed = try await api.call(.post, "/api/v1/sales/leads/\(lead)/convert",
                                            json: #"{"opportunity": {"name": "明远 ERP", "amount": "lots", "close_date": "2026-12-31"}}"#)
            #expect(failed.status == .unprocessableContent, "\(failed.text)")
            #expect(failed.errorField == "amount")
            #expect(try await api.count("account") == 0)
            #expect(try await api.count("contact") == 0)
            #expect(try await api.count("opportunity") == 0)
            let unchanged = try await api.call(.get, "/api/v1/lead/\(lead)")
            #expect(unchanged.json["status"]?.stringValue == "new")

            let converted = try await api.call(.post, "/api/v1/sales/leads/\(lead)/convert",
                                               json: #"{"opportunity": {"name": "明远 ERP", "amount": "180000", "close_date": "2026-12-31"}}"#)
            #expect(converted.status == .created, "\(converted.text)")
            let account = try #require(converted.json["account"]?["id"]?.stringValue)
            let contact = try #require(converted.json["contact"]?["id"]?.stringValue)
            let opportunity = try #require(converted.json["opportunity"]?["id"]?.stringValue)
            #expect(converted.json["account"]?["name"]?.stringValue == "上海明远贸易")
            #expect(converted.json["contact"]?["account"]?.stringValue == account)
            #expect(converted.json["contact"]?["mobile"]?.stringValue == "+86 21 5555 0101")
            #expect(converted.json["opportunity"]?["stage"]?.stringValue == stages["Qualification"], "first open stage")
            #expect(converted.json["opportunity"]?["lead"]?.stringValue == lead)
            #expect(converted.json["opportunity"]?["source"]?.stringValue == "web_form")
            let after = try await api.call(.get, "/api/v1/lead/\(lead)")
            #expect(after.json["status"]?.stringValue == "converted")
            #expect(after.json["converted_account"]?.stringValue == account)
            #expect(after.json["converted_contact"]?.stringValue == contact)
            #expect(after.json["converted_opportunity"]?.stringValue == opportunity)
            // The lead's history keeps its life: created, then converted.
            let history = try await api.call(.get, "/api/v1/lead/\(lead)/history")
            #expect((history.json["entries"]?.asArray ?? []).count >= 2, "\(history.text)")
            // Converted leads are closed to edits and to a second conversion.
            let edit = try await api.call(.patch, "/api/v1/lead/\(lead)", json: #"{"name": "x", "version": \#(after.version ?? 0)}"#)
            #expect(edit.status == .unprocessableContent)
            let twice = try await api.call(.post, "/api/v1/sales/leads/\(lead)/convert", json: "{}")
            #expect(twice.status == .conflict && twice.errorCode == "lead_converted")
            // Setting the status by hand is refused: conversion is the only way.
            let other = try await api.createID("lead", #"{"name": "李娜"}"#)
            let manual = try await api.call(.patch, "/api/v1/lead/\(other)", json: #"{"status": "converted", "version": 1}"#)
            #expect(manual.status == .unprocessableContent)
        }
    }

    // MARK: Opportunities

    @Test func stageChangesSetProbabilityWeightedAmountAndHistoryAndLostNeedsAReason() async throws {
        try await RecordFixtures.withTenant("sales-stage") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let stages = try await Self.stages(api)
            let account = try await Self.account(api, "Acme Holdings")
            let created = try await api.create("opportunity", Self.body([
                "name": "Acme CRM rollout", "account": .string(account), "amount": "250000", "close_date": "2027-01-15",
                "stage": .string(stages["Needs analysis"]!)]))
            let id = try #require(created["id"]?.stringValue)
            #expect(created["probability"]?.stringValue == "30")
            #expect(Self.amount(created, "weighted_amount") == "75000.00")
            let moved = try await api.call(.patch, "/api/v1/opportunity/\(id)", json: Self.body(["stage": .string(stages["Negotiation"]!), "version": 1]))
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(moved.json["probability"]?.stringValue == "70")
            #expect(Self.amount(moved.json, "weighted_amount") == "175000.00")
            // Amount changes keep the weighting right.
            let bigger = try await api.call(.patch, "/api/v1/opportunity/\(id)", json: Self.body(["amount": "300000", "version": 2]))
            #expect(Self.amount(bigger.json, "weighted_amount") == "210000.00")
            // Probability is the stage's, not the caller's.
            let forged = try await api.call(.patch, "/api/v1/opportunity/\(id)", json: #"{"probability": "99", "version": 3}"#)
            #expect(forged.status == .forbidden)
            // Lost without a reason → 422 naming lost_reason; with a reason it is lost at 0 %.
            let noReason = try await api.call(.patch, "/api/v1/opportunity/\(id)", json: Self.body(["stage": .string(stages["Lost"]!), "version": 3]))
            #expect(noReason.status == .unprocessableContent && noReason.errorField == "lost_reason", "\(noReason.text)")
            let lost = try await api.call(.patch, "/api/v1/opportunity/\(id)", json: Self.body(["stage": .string(stages["Lost"]!), "lost_reason": "price", "version": 3]))
            #expect(lost.status == .ok, "\(lost.text)")
            #expect(lost.json["probability"]?.stringValue == "0")
            #expect(Self.amount(lost.json, "weighted_amount") == "0.00")
            // Stage history: one row per stage entered, every earlier one closed with its days.
            let history = try await api.list("stage_change", filter: #"{"field": "opportunity", "op": "eq", "value": "\#(id)"}"#, sort: "entered_at,created_at")
            #expect(history.records.compactMap { $0["stage"]?.stringValue } == [stages["Needs analysis"]!, stages["Negotiation"]!, stages["Lost"]!])
            #expect(history.records.prefix(2).allSatisfy { $0["left_at"] != nil && $0["days"] != nil }, "\(history.text)")
            #expect(history.records.last?["left_at"] == nil)
            #expect(history.records.last?["from_stage"]?.stringValue == stages["Negotiation"])
            // Nobody writes the history by hand.
            let forgedHistory = try await api.call(.post, "/api/v1/stage_change", json: Self.body(["opportunity": .string(id), "stage": .string(stages["Won"]!)]))
            #expect(forgedHistory.status == .forbidden, "\(forgedHistory.text)")
            // Reports: the funnel counts the lost one under Lost, the stage durations count two moves out.
            let funnel = try await api.call(.get, "/api/v1/sales/reports/funnel")
            let lostRow = funnel.json["stages"]?.asArray?.first { $0["stage"]?["name_en"]?.stringValue == "Lost" }
            #expect(lostRow?["count"]?.asInt == 1 && lostRow?["amount"]?.stringValue == "300000.00", "\(funnel.text)")
            let durations = try await api.call(.get, "/api/v1/sales/reports/stage-durations")
            let moves = (durations.json["stages"]?.asArray ?? []).compactMap { $0["transitions"]?.asInt }.reduce(0, +)
            #expect(moves == 2, "\(durations.text)")

            // Winning turns the account into a customer.
            let won = try await api.create("opportunity", Self.body([
                "name": "Acme support", "account": .string(account), "amount": "20000", "close_date": "2026-12-01", "stage": .string(stages["Won"]!)]))
            #expect(won["probability"]?.stringValue == "100")
            let acme = try await api.call(.get, "/api/v1/account/\(account)")
            #expect(acme.json["lifecycle"]?.stringValue == "customer")
        }
    }

    // MARK: Receivables

    @Test func ageingBucketsAndInstalmentAllocationOnFixedDates() {
        #expect(SalesReports.bucket(due: "2026-11-30", asOf: "2026-11-23") == "current")
        #expect(SalesReports.bucket(due: "2026-11-23", asOf: "2026-11-23") == "d0_30")
        #expect(SalesReports.bucket(due: "2026-10-24", asOf: "2026-11-23") == "d0_30")   // 30 days
        #expect(SalesReports.bucket(due: "2026-10-23", asOf: "2026-11-23") == "d31_60")  // 31 days
        #expect(SalesReports.bucket(due: "2026-08-25", asOf: "2026-11-23") == "d61_90")  // 90 days
        #expect(SalesReports.bucket(due: "2026-08-24", asOf: "2026-11-23") == "d90_plus")
        // Receipts pay the earliest instalment first; the unplanned rest falls due on the fallback.
        let open = SalesReports.unpaid(total: 1000, received: 350, plan: [.init(due: "2026-12-01", amount: 300), .init(due: "2026-10-01", amount: 400)],
                                       fallbackDue: "2027-01-01")
        #expect(open == [.init(due: "2026-10-01", amount: 50), .init(due: "2026-12-01", amount: 300), .init(due: "2027-01-01", amount: 300)])
        #expect(SalesReports.periodRange("2026-Q4")! == ("2026-10-01", "2026-12-31"))
        #expect(SalesReports.periodRange("2028-02")! == ("2028-02-01", "2028-02-29"))
        #expect(SalesReports.periodRange("2026-13") == nil)
    }

    @Test func receiptsReduceTheReceivableOverpaymentIsRefusedAndAgeingIsRight() async throws {
        try await RecordFixtures.withTenant("sales-ar") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await Self.account(api, "Shenzhen Nanfang Ltd")
            let order = try await api.createID("sales_order", #"{"account": "\#(account)", "order_date": "2026-08-01", "due_date": "2026-09-01"}"#)
            _ = try await api.create("order_line", #"{"sales_order": "\#(order)", "description": "License", "quantity": "10", "unit_price": "1000", "tax_rate": "0"}"#)
            // A draft order takes no receipts.
            let early = try await api.call(.post, "/api/v1/receipt", json: #"{"sales_order": "\#(order)", "received_on": "2026-08-02", "amount": "100"}"#)
            #expect(early.status == .unprocessableContent && early.errorField == "sales_order", "\(early.text)")
            var current = try await api.call(.get, "/api/v1/sales_order/\(order)")
            let confirmed = try await api.call(.patch, "/api/v1/sales_order/\(order)", json: #"{"status": "confirmed", "version": \#(current.version ?? 0)}"#)
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            #expect(Self.amount(confirmed.json, "outstanding") == "10000.00")
            // Skipping a status is refused.
            let skip = try await api.call(.patch, "/api/v1/sales_order/\(order)", json: #"{"status": "closed", "version": \#(confirmed.version ?? 0)}"#)
            #expect(skip.status == .unprocessableContent && skip.errorField == "status")
            // Payment plan: 4 000 due 2026-09-01, 6 000 due 2026-11-01; more than the total is refused.
            _ = try await api.create("payment_installment", #"{"sales_order": "\#(order)", "due_date": "2026-09-01", "amount": "4000"}"#)
            _ = try await api.create("payment_installment", #"{"sales_order": "\#(order)", "due_date": "2026-11-01", "amount": "6000"}"#)
            let tooMuchPlan = try await api.call(.post, "/api/v1/payment_installment", json: #"{"sales_order": "\#(order)", "due_date": "2026-12-01", "amount": "0.01"}"#)
            #expect(tooMuchPlan.status == .unprocessableContent && tooMuchPlan.errorField == "amount")
            // Two partial receipts.
            _ = try await api.create("receipt", #"{"sales_order": "\#(order)", "received_on": "2026-09-05", "amount": "2500.50", "method": "bank_transfer"}"#)
            let second = try await api.create("receipt", #"{"sales_order": "\#(order)", "received_on": "2026-10-10", "amount": "1000"}"#)
            #expect(second["account"]?.stringValue == account)
            current = try await api.call(.get, "/api/v1/sales_order/\(order)")
            #expect(Self.amount(current.json, "received") == "3500.50")
            #expect(Self.amount(current.json, "outstanding") == "6499.50")
            // Overpaying by one cent is refused with the figures, and nothing is stored.
            let over = try await api.call(.post, "/api/v1/receipt", json: #"{"sales_order": "\#(order)", "received_on": "2026-11-01", "amount": "6499.51"}"#)
            #expect(over.status == .unprocessableContent && over.errorField == "amount", "\(over.text)")
            #expect(over.errorMessage.contains("10000.00"), "\(over.errorMessage)")
            #expect(try await api.count("receipt") == 2)
            // Ageing on 2026-11-23: 499.50 of the first instalment is 83 days overdue (61–90),
            // the second's 6 000 is 22 days overdue (0–30).
            let ageing = try await api.call(.get, "/api/v1/sales/reports/ageing?as_of=2026-11-23")
            #expect(ageing.json["buckets"]?["d61_90"]?.stringValue == "499.50", "\(ageing.text)")
            #expect(ageing.json["buckets"]?["d0_30"]?.stringValue == "6000.00")
            #expect(ageing.json["buckets"]?["current"]?.stringValue == "0.00")
            // The rest is paid exactly: outstanding 0 and nothing left to age.
            _ = try await api.create("receipt", #"{"sales_order": "\#(order)", "received_on": "2026-11-20", "amount": "6499.50"}"#)
            current = try await api.call(.get, "/api/v1/sales_order/\(order)")
            #expect(Self.amount(current.json, "outstanding") == "0.00")
            let cleared = try await api.call(.get, "/api/v1/sales/reports/ageing?as_of=2026-11-23")
            #expect(cleared.json["lines"]?.asArray?.isEmpty == true, "\(cleared.text)")
            // Deleting a receipt puts the amount back on the receivable; cancelling is refused while receipts exist.
            let receipts = try await api.list("receipt", sort: "received_on")
            let last = try #require(receipts.records.last?["id"]?.stringValue)
            #expect(try await api.call(.delete, "/api/v1/receipt/\(last)").status == .noContent)
            current = try await api.call(.get, "/api/v1/sales_order/\(order)")
            #expect(Self.amount(current.json, "outstanding") == "6499.50")
            let cancel = try await api.call(.patch, "/api/v1/sales_order/\(order)", json: #"{"status": "cancelled", "version": \#(current.version ?? 0)}"#)
            #expect(cancel.status == .unprocessableContent)
        }
    }

    // MARK: Scopes

    @Test func salespeopleSeeTheirOwnSalesRecordsAndTheManagerTheDepartments() async throws {
        try await RecordFixtures.withTenant("sales-scope") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await PermissionFixtures.department(admin, "East", parent: nil)
            let west = try await PermissionFixtures.department(admin, "West", parent: nil)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: east, roles: ["salesperson"])
            let wes = try await PermissionFixtures.member(client, tenant, admin, "wes", department: west, roles: ["salesperson"])
            let boss = try await PermissionFixtures.member(client, tenant, admin, "boss", department: east, roles: ["sales_manager"])
            let stages = try await Self.stages(admin)
            var accounts: [String: String] = [:]
            for person in [amy, bob, wes] {
                // Each salesperson creates her own account, opportunity and order.
                let account = try await person.api.createID("account", #"{"name": "Customer of \#(person.email)"}"#)
                accounts[person.email] = account
                _ = try await person.api.createID("opportunity", Self.body(["name": .string("Deal of \(person.email)"), "account": .string(account),
                                                                            "amount": "1000", "close_date": "2026-12-31", "stage": .string(stages["Proposal"]!)]))
                _ = try await person.api.createID("sales_order", #"{"account": "\#(account)"}"#)
            }
            for entity in ["account", "opportunity", "sales_order"] {
                #expect(try await amy.api.count(entity) == 1, "amy \(entity)")
                #expect(try await wes.api.count(entity) == 1, "wes \(entity)")
                #expect(try await boss.api.count(entity) == 2, "manager sees East's \(entity)")
                #expect(try await admin.count(entity) == 3)
            }
            // A colleague's account is a 404, even by id; reports follow the same scope.
            #expect(try await amy.api.call(.get, "/api/v1/account/\(accounts[bob.email]!)").status == .notFound)
            let amyFunnel = try await amy.api.call(.get, "/api/v1/sales/reports/funnel")
            let bossFunnel = try await boss.api.call(.get, "/api/v1/sales/reports/funnel")
            func proposal(_ response: RecordAPIResponse) -> Int? {
                response.json["stages"]?.asArray?.first { $0["stage"]?["name_en"]?.stringValue == "Proposal" }?["count"]?.asInt
            }
            #expect(proposal(amyFunnel) == 1)
            #expect(proposal(bossFunnel) == 2)
            // Converting someone else's lead, or merging into an account one cannot see, is a 404.
            let bobsLead = try await bob.api.createID("lead", #"{"name": "Lead of bob", "company": "Bob Co"}"#)
            #expect(try await amy.api.call(.post, "/api/v1/sales/leads/\(bobsLead)/convert", json: "{}").status == .notFound)
            let merge = try await amy.api.call(.post, "/api/v1/sales/accounts/\(accounts[amy.email]!)/merge", json: #"{"duplicate": "\#(accounts[bob.email]!)"}"#)
            #expect(merge.status == .notFound, "\(merge.text)")
        }
    }

    @Test func leadsCreatedForADepartmentAreDealtOutInTurn() async throws {
        try await RecordFixtures.withTenant("sales-rr") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let desk = try await PermissionFixtures.department(admin, "Inside sales", parent: nil)
            let empty = try await PermissionFixtures.department(admin, "Nobody", parent: nil)
            let a = try await PermissionFixtures.member(client, tenant, admin, "rr-a", department: desk, roles: ["salesperson"])
            let b = try await PermissionFixtures.member(client, tenant, admin, "rr-b", department: desk, roles: ["salesperson"])
            var owners: [String] = []
            for index in 1...4 {
                let lead = try await admin.create("lead", #"{"name": "Lead \#(index)", "pool": "\#(desk)"}"#)
                owners.append(lead["owner_id"]?.stringValue ?? "")
            }
            // a (email first) gets the first, then they alternate; each sees her two.
            #expect(owners == [a.id, b.id, a.id, b.id], "\(owners)")
            #expect(try await a.api.count("lead") == 2)
            #expect(try await b.api.count("lead") == 2)
            let nobody = try await admin.call(.post, "/api/v1/lead", json: #"{"name": "Lost lead", "pool": "\#(empty)"}"#)
            #expect(nobody.status == .unprocessableContent && nobody.errorField == "pool", "\(nobody.text)")
        }
    }

    // MARK: Duplicates

    @Test func duplicateAccountsAreFlaggedAndMergeMovesEveryRelatedRecord() async throws {
        try await RecordFixtures.withTenant("sales-dup") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let first = try await api.createID("account", #"{"name": "杭州云帆网络", "tax_id": "91330100MA2B3C4D5E"}"#)
            let same = try await api.call(.post, "/api/v1/account", json: #"{"name": "云帆网络（杭州）", "tax_id": "91330100MA2B3C4D5E"}"#)
            #expect(same.status == .conflict && same.errorCode == "possible_duplicate", "\(same.text)")
            #expect(same.text.contains(first))
            let second = try await api.createID("account", #"{"name": "云帆网络（杭州）", "tax_id": "91330100MA2B3C4D5E", "phone": "+86 571 8888 0000", "confirm_duplicate": true}"#)
            let contact = try await api.createID("contact", #"{"name": "周敏", "account": "\#(second)"}"#)
            let child = try await api.createID("account", #"{"name": "云帆子公司", "parent": "\#(second)"}"#)
            let merged = try await api.call(.post, "/api/v1/sales/accounts/\(first)/merge", json: #"{"duplicate": "\#(second)"}"#)
            #expect(merged.status == .ok, "\(merged.text)")
            #expect(merged.json["moved"]?.asInt == 2)
            #expect(merged.json["account"]?["phone"]?.stringValue == "+86 571 8888 0000", "empty fields take the duplicate's values")
            #expect(try await api.call(.get, "/api/v1/contact/\(contact)").json["account"]?.stringValue == first)
            #expect(try await api.call(.get, "/api/v1/account/\(child)").json["parent"]?.stringValue == first)
            #expect(try await api.call(.get, "/api/v1/account/\(second)").status == .notFound, "the duplicate is in the recycle bin")
        }
    }

    // MARK: Module switch

    @Test func disablingTheModuleHidesItsMenusAndAPIAndEnablingRestoresEverything() async throws {
        try await RecordFixtures.withTenant("sales-off") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await Self.account(api, "Kept while off")
            // Expenses depends on sales: sales cannot go while expenses is on.
            let refused = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "sales"])
            #expect(refused.status != 0 && refused.stderr.contains("expenses"), "\(refused.stderr)")
            #expect(try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "expenses"]).status == 0)
            let off = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "sales"])
            #expect(off.status == 0, "\(off.stderr)")
            #expect(try await api.call(.get, "/api/v1/account").status == .notFound)
            #expect(try await api.call(.get, "/api/v1/account/\(account)").status == .notFound)
            #expect(try await api.call(.get, "/api/v1/sales/reports/funnel").status == .notFound)
            #expect(try await api.call(.post, "/api/v1/account", json: #"{"name": "x"}"#).status == .notFound)
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let home = try await browser.get("/app/search?q=kept")
            #expect(!home.1.contains("data-group=\"sales\""), "the sales menu is gone")
            #expect(try await browser.get("/app/sales/pipeline").0 == .notFound)
            // Marketing depends on sales: it cannot stay on alone.
            let marketing = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--enable", "marketing"])
            #expect(marketing.status != 0 && marketing.stderr.contains("depends on 'sales'"), "\(marketing.stderr)")

            let on = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--enable", "sales"])
            #expect(on.status == 0, "\(on.stderr)")
            let back = try await api.call(.get, "/api/v1/account/\(account)")
            #expect(back.status == .ok && back.json["name"]?.stringValue == "Kept while off")
            #expect(try await Self.stages(api).count == SalesPipelineDefaults.count, "set-up does not seed the pipeline twice")
            let again = try await browser.get("/app/sales/pipeline")
            #expect(again.0 == .ok)
            #expect(again.1.contains("data-group=\"sales\""))
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// Test bodies: `["amount": "12.50", "version": 1]`.
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Decimal(value)) }
}

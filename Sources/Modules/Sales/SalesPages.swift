import Foundation
import Hummingbird
import Platform

/// Web pages of the sales module, rendered in the shared shell: pipeline board, reports with
/// server-rendered SVG charts, lead conversion, quote → order, printable quote, account merge
/// and reminders.
struct SalesPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/sales/pipeline", use: pipeline)
        router.post("app/sales/pipeline/move", use: move)
        router.get("app/sales/reports", use: reports)
        router.get("app/sales/reminders", use: reminders)
        router.get("app/sales/leads/:id/convert", use: convertForm)
        router.post("app/sales/leads/:id/convert", use: convert)
        router.post("app/sales/quotes/:id/convert", use: convertQuote)
        router.get("app/sales/quotes/:id/print", use: printQuote)
        router.get("app/sales/accounts/:id/merge", use: mergeForm)
        router.post("app/sales/accounts/:id/merge", use: merge)
    }

    static func names(store: ModuleStore) async throws -> [String: String] {
        Dictionary(try await OrganisationAdmin().members(on: store.connection, logger: store.logger).map { ($0.id.uuidString.lowercased(), $0.displayName) },
                   uniquingKeysWith: { a, _ in a })
    }

    static func organisation(store: ModuleStore) async throws -> ([OrganisationAdmin.Member], [String: String]) {
        let admin = OrganisationAdmin()
        let people = try await admin.members(on: store.connection, logger: store.logger)
        let departments = Dictionary(try await admin.departments(on: store.connection, logger: store.logger).map { ($0.id.uuidString.lowercased(), $0.name) },
                                     uniquingKeysWith: { a, _ in a })
        return (people, departments)
    }

    func money(_ value: Decimal, _ page: WebApp.Page) -> String {
        DisplayFormat.money(Money.text(value), currency: "CNY")
    }

    func formValues(_ request: Request) async throws -> [String: String] {
        try await FormBody.parse(request, limit: 64 * 1024)
    }

    // MARK: Pipeline board

    @Sendable func pipeline(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/sales/pipeline") { page, db in
            let store = store(page, db)
            let stages = try await SalesPipeline.stages(store: store)
            let open = stages.filter { $0.kind == "open" }
            let lostReasons = (page.definitions["opportunity"]?.field("lost_reason")?.options ?? []).map {
                ["value": $0.value, "label": DisplayFormat.label($0.labels, locale: page.locale, fallback: $0.value)]
            }
            var columns: [[String: Any]] = []
            for stage in stages {
                let filter = ModuleStore.eq("stage", stage.id)
                let limit = stage.kind == "open" ? 100 : 10
                let found = try await web.engine.list("opportunity", query: RecordQuery(filter: filter, sort: "close_date", limit: limit),
                                                      as: page.actor, on: db.connection, logger: db.logger)
                var accounts: [String: String] = [:]
                for id in Set(found.records.compactMap { $0.string("account") }) {
                    if let account = try await store.get("account", id) { accounts[id] = account.string("name") }
                }
                let total = found.records.reduce(Decimal(0)) { $0 + $1.money("amount") }
                columns.append([
                    "id": stage.id, "name": stage.label(page.locale), "probability": Money.text(stage.probability, scale: 0), "kind": stage.kind,
                    "is_lost": stage.kind == "lost", "count": found.total, "amount": money(total, page), "more": found.total > found.records.count,
                    "cards": found.records.map { record in [
                        "id": record.idText, "version": record.version, "name": record.string("name") ?? "",
                        "account": accounts[record.string("account") ?? ""] ?? "", "amount": money(record.money("amount"), page),
                        "close_date": record.string("close_date") ?? "",
                        "targets": stages.filter { $0.id != stage.id }.map { ["id": $0.id, "name": $0.label(page.locale)] },
                    ] as [String: Any] },
                ])
            }
            let errorCode = request.uri.queryParameters["error"].map(String.init) ?? ""
            let errorText = errorCode.isEmpty ? "" : (web.services.renderer.localizer.string("validation.sales.\(errorCode)", locale: page.locale, [:])
                ?? web.t("sales.board.refused", page.locale))
            return web.render("sales_pipeline", page, [
                "error": errorText,
                "columns": columns, "lost_reasons": lostReasons, "has_open": !open.isEmpty,
                "can_move": page.actor.access.scope(page.entities["opportunity"]!, .update) > .none,
            ])
        }
    }

    /// Moves a card (form post from the board, or the board's script).
    @Sendable func move(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await formValues(request)
        guard let id = form["id"].flatMap(UUID.init(uuidString:)), let version = form["version"].flatMap(Int.init), let stage = form["stage"] else {
            throw AtriumError.validation(field: "stage", "choose a stage")
        }
        do {
            return try await web.page(request, context, form: form) { page, db in
                let store = store(page, db)
                let record = try await store.get("opportunity", id)
                guard record.version == version else {
                    throw AtriumError(status: .conflict, code: "version_conflict", message: "someone else changed this opportunity; reload the board")
                }
                var values: [String: JSONValue] = ["stage": .string(stage)]
                if let reason = form["lost_reason"], !reason.isEmpty { values["lost_reason"] = .string(reason) }
                _ = try await store.update(record, values)
                return WebApp.redirect("/app/sales/pipeline?notice=saved")
            }
        } catch let error as AtriumError where error.status == .unprocessableContent || error.status == .conflict {
            // Only a known message key travels in the URL (no reflected text).
            let code = error.messageKey.map { String($0.split(separator: ".").last ?? "") } ?? error.code
            return WebApp.redirect("/app/sales/pipeline?error=" + (code.range(of: "^[a-z_]{1,40}$", options: .regularExpression) != nil ? code : "refused"))
        }
    }

    // MARK: Reports

    @Sendable func reports(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let period = request.uri.queryParameters["period"].map(String.init) ?? String(SalesRules.today().prefix(7))
        let asOf = SalesRules.today()
        return try await web.page(request, context, current: "/app/sales/reports") { page, db in
            let store = store(page, db)
            let lang = page.locale
            let funnel = try await SalesReports.funnel(store: store)
            let forecast = try await SalesReports.forecast(store: store)
            let wins = try await SalesReports.winRates(store: store, names: page.format.names)
            let durations = try await SalesReports.stageDurations(store: store)
            let (people, departments) = try await Self.organisation(store: store)
            let targets = (try? await SalesReports.targets(period: period, store: store, people: people, departments: departments)) ?? []
            let ageing: SalesReports.Ageing? = page.entities["sales_order"] != nil ? try await SalesReports.ageing(asOf: asOf, store: store) : nil
            let openFunnel = funnel.filter { $0.stage.kind == "open" }
            return web.render("sales_reports", page, [
                "period": period, "as_of": asOf,
                "funnel_chart": Charts.funnel(openFunnel.map { ($0.stage.label(lang), $0.count, money($0.amount, page)) }),
                "funnel": funnel.map { ["stage": $0.stage.label(lang), "probability": Money.text($0.stage.probability, scale: 0), "count": $0.count,
                                        "amount": money($0.amount, page), "weighted": money($0.weighted, page), "kind": $0.stage.kind] },
                "pipeline_total": money(openFunnel.reduce(0) { $0 + $1.amount }, page),
                "pipeline_weighted": money(openFunnel.reduce(0) { $0 + $1.weighted }, page),
                "forecast_chart": Charts.bars(forecast.map { ($0.month, $0.weighted, money($0.weighted, page)) }),
                "forecast": forecast.map { ["month": $0.month, "count": $0.count, "amount": money($0.amount, page), "weighted": money($0.weighted, page)] },
                "wins": wins.map { ["name": $0.name, "won": $0.won, "lost": $0.lost, "open": $0.open, "rate": $0.rate.map { "\($0) %" } ?? "–"] },
                "durations": durations.map { ["stage": $0.stage.label(lang), "transitions": $0.transitions, "days": $0.averageDays.map { "\($0)" } ?? "–"] },
                "targets": targets.map { row in [
                    "name": row.name, "order_target": money(row.orderTarget, page), "ordered": money(row.ordered, page),
                    "order_pct": Self.percent(row.ordered, of: row.orderTarget), "collection_target": money(row.collectionTarget, page),
                    "collected": money(row.collected, page), "collection_pct": Self.percent(row.collected, of: row.collectionTarget),
                    "chart": Charts.progress([(web.t("sales.reports.ordered", lang), row.ordered, row.orderTarget),
                                                   (web.t("sales.reports.collected", lang), row.collected, row.collectionTarget)]),
                ] as [String: Any] },
                "ageing": ageing.map { ageing in SalesReports.buckets.map { ["label": web.t("sales.ageing.\($0)", lang), "amount": money(ageing.totals[$0] ?? 0, page), "key": $0] } } ?? [],
                "ageing_chart": ageing.map { ageing in Charts.bars(SalesReports.buckets.map { (web.t("sales.ageing.\($0)", lang), ageing.totals[$0] ?? 0, money(ageing.totals[$0] ?? 0, page)) }) } ?? [:],
                "has_ageing": ageing != nil,
            ])
        }
    }

    static func percent(_ value: Decimal, of target: Decimal) -> String {
        target > 0 ? "\(Money.round(value * 100 / target, scale: 0)) %" : "–"
    }

    @Sendable func reminders(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let asOf = SalesRules.today()
        return try await web.page(request, context, current: "/app/sales/reminders") { page, db in
            let reminders = try await SalesReminders.load(asOf: asOf, store: store(page, db))
            return web.render("sales_reminders", page, [
                "as_of": asOf,
                "overdue": reminders.overdue.map { ["href": "/app/sales_order/\($0.order.idText)", "number": $0.order.string("number") ?? "",
                                                    "due": $0.due, "amount": money($0.amount, page), "days": $0.daysOverdue] },
                "contracts": reminders.contracts.map { ["href": "/app/contract/\($0.idText)", "name": $0.string("name") ?? "", "end": $0.string("end_date") ?? ""] },
                "birthdays": reminders.birthdays.map { ["href": "/app/contact/\($0.idText)", "name": $0.string("name") ?? "", "birthday": String(($0.string("birthday") ?? "").dropFirst(5))] },
                "none": reminders.overdue.isEmpty && reminders.contracts.isEmpty && reminders.birthdays.isEmpty,
            ])
        }
    }

    // MARK: Lead conversion

    func convertPage(_ page: WebApp.Page, store: ModuleStore, lead: Record, form: [String: String], error: String?) async throws -> Response {
        let stages = try await SalesPipeline.stages(store: store).filter { $0.kind == "open" }
        let chosen = form["stage"] ?? stages.first?.id ?? ""
        let company = lead.string("company") ?? lead.string("name") ?? ""
        return web.render("sales_convert", page, status: error == nil ? .ok : .unprocessableContent, [
            "title": web.t("sales.convert.title", page.locale, ["name": lead.string("name") ?? ""]),
            "lead": ["id": lead.idText, "name": lead.string("name") ?? "", "company": lead.string("company") ?? ""],
            "account_name": form["account_name"] ?? company,
            "account_id": form["account_id"] ?? "",
            "opportunity_name": form["opportunity_name"] ?? "\(company) – \(lead.string("name") ?? "")",
            "amount": form["amount"] ?? "", "close_date": form["close_date"] ?? "",
            "create_opportunity": form.isEmpty || form["create_opportunity"] == "on",
            "stages": stages.map { ["id": $0.id, "name": $0.label(page.locale), "selected": $0.id == chosen] },
            "error": error ?? "", "show_confirm": error != nil && form["duplicate"] == "1",
        ])
    }

    @Sendable func convertForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "lead") { page, db in
            let store = store(page, db)
            return try await convertPage(page, store: store, lead: try await store.get("lead", id), form: [:], error: nil)
        }
    }

    @Sendable func convert(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let form = try await formValues(request)
        struct Refused: Error { let form: [String: String]; let error: AtriumError }
        do {
            return try await web.page(request, context, form: form, current: "lead") { page, db in
                var input = SalesActions.LeadConversion()
                input.accountID = form["account_id"].flatMap { $0.isEmpty ? nil : UUID(uuidString: $0) }
                input.accountName = form["account_name"]
                input.createOpportunity = form["create_opportunity"] == "on"
                input.opportunityName = form["opportunity_name"]
                input.amount = form["amount"].map(JSONValue.string)
                input.closeDate = form["close_date"].flatMap { $0.isEmpty ? nil : $0 }
                input.stageID = form["stage"]
                input.confirmDuplicate = form["confirm_duplicate"] == "on"
                do {
                    let result = try await SalesActions.convertLead(id, input, store: store(page, db))
                    let target = result.opportunity.map { "/app/opportunity/\($0.idText)" } ?? "/app/account/\(result.account.idText)"
                    return WebApp.redirect(target + "?notice=lead_converted")
                } catch let error as AtriumError where [.unprocessableContent, .conflict].contains(error.status) {
                    throw Refused(form: form, error: error)
                }
            }
        } catch let refused as Refused {
            // The transaction rolled back: nothing was created. Show the form again with the reason.
            return try await web.page(request, context, current: "lead") { page, db in
                var form = refused.form
                if refused.error.code == "possible_duplicate" { form["duplicate"] = "1" }
                let store = store(page, db)
                let label = refused.error.field.flatMap { page.definitions["opportunity"]?.field($0).map { DisplayFormat.label($0.labels, locale: page.locale, fallback: $0.key) } }
                return try await convertPage(page, store: store, lead: try await store.get("lead", id), form: form,
                                             error: web.message(refused.error, locale: page.locale, label: label))
            }
        }
    }

    // MARK: Quotes

    @Sendable func convertQuote(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let form = try await formValues(request)
        return try await web.page(request, context, form: form) { page, db in
            let order = try await SalesActions.convertQuote(id, store: store(page, db))
            return WebApp.redirect("/app/sales_order/\(order.idText)?notice=quote_converted")
        }
    }

    @Sendable func printQuote(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "quote") { page, db in
            let store = store(page, db)
            let quote = try await store.get("quote", id)
            let account = try await store.get("account", quote.string("account"))
            let lines = try await store.all("quote_line", filter: ModuleStore.eq("quote", quote.idText), sort: "position,created_at")
            let tenant = page.shell["tenant"] as? [String: Any]
            var header: [String: Any] = [
                "number": quote.string("number") ?? "", "name": quote.string("name") ?? "", "revision": quote.string("revision") ?? "1",
                "account": account?.string("name") ?? "", "subtotal": money(quote.money("subtotal"), page),
                "discount": money(quote.money("discount_total"), page), "tax": money(quote.money("tax_total"), page),
                "total": money(quote.money("total"), page), "id": quote.idText]
            // Absent values stay absent: Mustache treats "" as true in {{#section}}.
            if let validUntil = quote.string("valid_until") { header["valid_until"] = validUntil }
            if let terms = quote.string("terms") { header["terms"] = terms }
            return web.render("sales_quote_print", page, [
                "title": quote.string("number") ?? "",
                "company": tenant?["name"] as? String ?? "",
                "quote": header,
                "lines": lines.enumerated().map { index, line in [
                    "n": index + 1, "description": line.string("description") ?? "", "quantity": line.string("quantity") ?? "",
                    "unit_price": money(line.money("unit_price"), page), "discount": line.string("discount") ?? "0",
                    "tax_rate": line.string("tax_rate") ?? "0", "net": money(line.money("net_amount"), page),
                    "tax": money(line.money("tax_amount"), page), "total": money(line.money("line_total"), page),
                ] as [String: Any] },
            ])
        }
    }

    // MARK: Merge

    @Sendable func mergeForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "account") { page, db in
            let store = store(page, db)
            let account = try await store.get("account", id)
            // Candidates: accounts with the same name, phone or tax id the caller can see.
            var candidates: [Record] = []
            if let filter = AccountRules.lookAlike(account.values) {
                candidates = try await store.all("account", filter: filter).filter { $0.id != account.id }
            }
            return web.render("sales_merge", page, [
                "title": web.t("sales.merge.title", page.locale, ["name": account.string("name") ?? ""]),
                "account": ["id": account.idText, "name": account.string("name") ?? ""],
                "candidates": candidates.map { ["id": $0.idText, "name": $0.string("name") ?? "", "phone": $0.string("phone") ?? "", "tax_id": $0.string("tax_id") ?? ""] },
                "none": candidates.isEmpty,
            ])
        }
    }

    @Sendable func merge(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let form = try await formValues(request)
        guard let duplicate = form["duplicate"].flatMap(UUID.init(uuidString:)) else {
            throw AtriumError.validation(field: "duplicate", "choose the account to merge into this one")
        }
        return try await web.page(request, context, form: form) { page, db in
            _ = try await SalesActions.mergeAccounts(survivor: id, duplicate: duplicate, store: store(page, db))
            return WebApp.redirect("/app/account/\(id.uuidString.lowercased())?notice=accounts_merged")
        }
    }
}

import Foundation
import Hummingbird
import Platform

/// The sales module: a manifest of entities on the shared record engine, the business rules
/// as hooks, actions that span records (lead conversion, quote → order, account merge), and
/// report pages. Nothing here writes SQL or checks permissions itself.
public enum SalesModule {
    public static let manifest = ModuleManifest(
        id: "sales", version: "0.2.0", names: ["en": "Sales", "zh-CN": "销售"],
        entities: SalesEntities.all, hooks: SalesRules.hooks, routes: SalesRoutes(), setUp: SalesPipeline.setUp,
        pages: [ModulePage(path: "/app/sales/reports", labelKey: "sales.nav.reports", requires: "opportunity"),
                ModulePage(path: "/app/sales/reminders", labelKey: "sales.nav.reminders", requires: "sales_order"),
                ModulePage(path: "/app/sales/pipeline", labelKey: "sales.nav.pipeline", requires: "opportunity")],
        actions: [ModuleAction(entity: "lead", labelKey: "sales.actions.convert_lead", path: "/app/sales/leads/{id}/convert"),
                  ModuleAction(entity: "quote", labelKey: "sales.actions.convert_quote", path: "/app/sales/quotes/{id}/convert", post: true),
                  ModuleAction(entity: "quote", labelKey: "sales.actions.print_quote", path: "/app/sales/quotes/{id}/print", right: .read),
                  ModuleAction(entity: "account", labelKey: "sales.actions.merge", path: "/app/sales/accounts/{id}/merge")],
        defaultGrants: defaultGrants, roles: roles, migrations: [ReceivableReminders.migration], demoData: SalesDemoData.seed,
        layouts: SalesLayouts.all, jobs: [ReceivableReminders.job], notificationKinds: ["sales.receivable_overdue", "sales.contract_renewal"],
        reports: SalesReadyReports.all)

    /// The sales team: the director works everything, a manager the department tree, a
    /// salesperson their own records (custom objects included).
    static let roles: [ModuleRole] = [
        ModuleRole(key: "sales_director", labels: ["en": "Sales Director", "zh-CN": "销售总监"], customGrants: DefaultRoles.working(.all)),
        ModuleRole(key: "sales_manager", labels: ["en": "Sales Manager", "zh-CN": "销售经理"], customGrants: DefaultRoles.working(.departmentTree)),
        ModuleRole(key: "salesperson", labels: ["en": "Salesperson", "zh-CN": "销售员"], customGrants: DefaultRoles.working(.own)),
    ]

    /// Salespeople work their own records, managers their department tree, the director all
    /// (plus import and approval); service, finance and read-only roles read everything.
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "sales_director": DefaultRoles.working(.all).merging(DefaultRoles.rights([(.import, .all), (.approve, .all)])) { $1 },
        "sales_manager": DefaultRoles.working(.departmentTree).merging(DefaultRoles.rights([(.approve, .departmentTree)])) { $1 },
        "salesperson": DefaultRoles.working(.own),
        "service_agent": DefaultRoles.rights([(.read, .all)]),
        "finance": DefaultRoles.readAll,
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]
}

/// JSON API of the module's actions and reports:
///
///     POST /api/v1/sales/leads/{id}/convert      {account_id?, account_name?, create_opportunity?, opportunity: {name, amount, close_date, stage}, confirm_duplicate?}
///     POST /api/v1/sales/quotes/{id}/convert     → the new draft order
///     POST /api/v1/sales/accounts/{id}/merge     {duplicate: id}
///     GET  /api/v1/sales/reports/funnel | forecast | win-rates | stage-durations
///     GET  /api/v1/sales/reports/targets?period=2026-11 | ageing?as_of=2026-11-23
///     GET  /api/v1/sales/reminders?as_of=
struct SalesRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = SalesAPI(web: web)
        router.post("api/v1/sales/leads/:id/convert", use: api.convertLead)
        router.post("api/v1/sales/quotes/:id/convert", use: api.convertQuote)
        router.post("api/v1/sales/accounts/:id/merge", use: api.merge)
        router.get("api/v1/sales/reports/:report", use: api.report)
        router.get("api/v1/sales/reminders", use: api.reminders)
        SalesPages(web: web).register(on: router)
    }
}

struct SalesAPI: ModuleHandlers {
    let web: WebApp

    static func uuid(_ value: JSONValue?, field: String) throws -> UUID? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue, let id = UUID(uuidString: text) else { throw AtriumError.validation(field: field, "must be a record id") }
        return id
    }

    static func conversion(_ body: [String: JSONValue]) throws -> SalesActions.LeadConversion {
        var input = SalesActions.LeadConversion()
        input.accountID = try uuid(body["account_id"], field: "account_id")
        input.accountName = body["account_name"]?.stringValue
        if case .bool(let create)? = body["create_opportunity"] { input.createOpportunity = create }
        input.confirmDuplicate = body["confirm_duplicate"] == .bool(true)
        let opportunity = body["opportunity"]?.objectValue ?? [:]
        input.opportunityName = opportunity["name"]?.stringValue
        input.amount = opportunity["amount"]
        input.closeDate = opportunity["close_date"]?.stringValue
        input.stageID = opportunity["stage"]?.stringValue
        return input
    }

    @Sendable func convertLead(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let input = try Self.conversion(try await RecordRoutes.object(request))
        return try await run(request, context, write: true) { store in
            let result = try await SalesActions.convertLead(id, input, store: store)
            return RecordRoutes.json(.object(["account": result.account.json, "contact": result.contact.json,
                                              "opportunity": result.opportunity?.json ?? .null]), status: .created)
        }
    }

    @Sendable func convertQuote(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            RecordRoutes.json(try await SalesActions.convertQuote(id, store: store).json, status: .created)
        }
    }

    @Sendable func merge(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        guard let duplicate = try Self.uuid(try await RecordRoutes.object(request)["duplicate"], field: "duplicate") else {
            throw AtriumError.validation(field: "duplicate", "is required: the id of the account to merge into this one")
        }
        return try await run(request, context, write: true) { store in
            let (merged, moved) = try await SalesActions.mergeAccounts(survivor: id, duplicate: duplicate, store: store)
            return RecordRoutes.json(.object(["account": merged.json, "moved": .number(Decimal(moved))]))
        }
    }

    static func money(_ value: Decimal) -> JSONValue { .string(Money.text(value)) }

    static func stageJSON(_ stage: SalesPipeline.Stage) -> JSONValue {
        .object(["id": .string(stage.id), "name": .string(stage.name), "name_en": stage.nameEN.map(JSONValue.string) ?? .null,
                 "position": .number(Decimal(stage.position)), "probability": .string(Money.text(stage.probability, scale: 0)), "kind": .string(stage.kind)])
    }

    @Sendable func report(_ request: Request, context: AtriumContext) async throws -> Response {
        let name = context.parameters.get("report") ?? ""
        let query = request.uri.queryParameters
        let period = query["period"].map(String.init) ?? String(SalesRules.today().prefix(7))
        let asOf = query["as_of"].map(String.init) ?? SalesRules.today()
        return try await run(request, context) { store in
            RecordRoutes.json(try await Self.reportJSON(name, period: period, asOf: asOf, store: store))
        }
    }

    static func reportJSON(_ name: String, period: String, asOf: String, store: ModuleStore) async throws -> JSONValue {
        switch name {
        case "funnel":
            return .object(["stages": .array(try await SalesReports.funnel(store: store).map { row in
                .object(["stage": stageJSON(row.stage), "count": .number(Decimal(row.count)), "amount": money(row.amount), "weighted": money(row.weighted)])
            })])
        case "forecast":
            return .object(["months": .array(try await SalesReports.forecast(store: store).map { row in
                .object(["month": .string(row.month), "count": .number(Decimal(row.count)), "amount": money(row.amount), "weighted": money(row.weighted)])
            })])
        case "win-rates":
            let names = try await SalesPages.names(store: store)
            return .object(["owners": .array(try await SalesReports.winRates(store: store, names: names).map { row in
                .object(["owner_id": .string(row.owner), "name": .string(row.name), "won": .number(Decimal(row.won)), "lost": .number(Decimal(row.lost)),
                         "open": .number(Decimal(row.open)), "win_rate": row.rate.map { .string("\($0)") } ?? .null])
            })])
        case "stage-durations":
            return .object(["stages": .array(try await SalesReports.stageDurations(store: store).map { row in
                .object(["stage": stageJSON(row.stage), "transitions": .number(Decimal(row.transitions)),
                         "average_days": row.averageDays.map { .string("\($0)") } ?? .null])
            })])
        case "targets":
            let (people, departments) = try await SalesPages.organisation(store: store)
            return .object(["period": .string(period), "targets": .array(try await SalesReports.targets(period: period, store: store, people: people, departments: departments).map { row in
                .object(["name": .string(row.name), "kind": .string(row.isDepartment ? "department" : "user"),
                         "order_target": money(row.orderTarget), "ordered": money(row.ordered),
                         "collection_target": money(row.collectionTarget), "collected": money(row.collected)])
            })])
        case "ageing":
            guard SalesReports.daysBetween(asOf, asOf) != nil else { throw AtriumError.validation(field: "as_of", "must be a date like 2026-11-23") }
            let ageing = try await SalesReports.ageing(asOf: asOf, store: store)
            return .object(["as_of": .string(asOf),
                            "buckets": .object(ageing.totals.mapValues(money)),
                            "lines": .array(ageing.lines.map { line in
                                .object(["order_id": .string(line.order.idText), "number": line.order.values["number"] ?? .null,
                                         "account": line.order.values["account"] ?? .null, "due": .string(line.due), "amount": money(line.amount),
                                         "bucket": .string(line.bucket), "days_overdue": .number(Decimal(line.daysOverdue))])
                            })])
        default:
            throw AtriumError(status: .notFound, code: "report_not_found", message: "no sales report '\(name)'; reports: funnel, forecast, win-rates, stage-durations, targets, ageing")
        }
    }

    @Sendable func reminders(_ request: Request, context: AtriumContext) async throws -> Response {
        let asOf = request.uri.queryParameters["as_of"].map(String.init) ?? SalesRules.today()
        return try await run(request, context) { store in
            let reminders = try await SalesReminders.load(asOf: asOf, store: store)
            return RecordRoutes.json(.object([
                "as_of": .string(asOf),
                "overdue": .array(reminders.overdue.map { .object(["order_id": .string($0.order.idText), "number": $0.order.values["number"] ?? .null,
                                                                   "due": .string($0.due), "amount": Self.money($0.amount), "days_overdue": .number(Decimal($0.daysOverdue))]) }),
                "contracts": .array(reminders.contracts.map { .object(["contract_id": .string($0.idText), "name": $0.values["name"] ?? .null, "end_date": $0.values["end_date"] ?? .null]) }),
                "birthdays": .array(reminders.birthdays.map { .object(["contact_id": .string($0.idText), "name": $0.values["name"] ?? .null, "birthday": $0.values["birthday"] ?? .null]) }),
            ]))
        }
    }
}

/// What a salesperson should act on today, within her own scope: overdue receivables of her
/// orders, contracts reaching their renewal notice, and contacts' birthdays in the next 7 days.
enum SalesReminders {
    struct Reminders: Sendable {
        let overdue: [SalesReports.AgeingLine]
        let contracts: [Record]
        let birthdays: [Record]
    }

    static func load(asOf: String, store: ModuleStore) async throws -> Reminders {
        guard SalesReports.daysBetween(asOf, asOf) != nil else { throw AtriumError.validation(field: "as_of", "must be a date like 2026-11-23") }
        let ageing = try await SalesReports.ageing(asOf: asOf, store: store)
        let contracts = try await store.all("contract", filter: ModuleStore.op("status", "in", .array([.string("active"), .string("draft")])), sort: "end_date")
            .filter { contract in
                guard let end = contract.string("end_date"), let days = SalesReports.daysBetween(asOf, end) else { return false }
                let notice = contract.decimal("renewal_notice_days").map { NSDecimalNumber(decimal: $0).intValue } ?? 30
                return days >= 0 && days <= notice
            }
        let contacts = try await store.all("contact", filter: ModuleStore.op("birthday", "is_empty", .bool(false)))
        let birthdays = contacts.filter { contact in
            guard let birthday = contact.string("birthday") else { return false }
            let year = asOf.prefix(4)
            for candidate in ["\(year)\(birthday.dropFirst(4))", "\(Int(year).map { $0 + 1 } ?? 0)\(birthday.dropFirst(4))"] {
                if let days = SalesReports.daysBetween(asOf, candidate), (0...7).contains(days) { return true }
            }
            return false
        }
        return Reminders(overdue: ageing.lines.filter { $0.bucket != "current" }, contracts: contracts, birthdays: birthdays)
    }
}

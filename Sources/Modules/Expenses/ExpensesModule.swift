import Foundation
import Hummingbird
import Platform

/// The expenses module (费用): expense requests before spending and claims after, approved
/// through the platform's approval engine, paid by finance, checked against department
/// budgets, analysed by person, department, category, customer and month.
public enum ExpensesModule {
    public static let manifest = ModuleManifest(
        id: "expenses", version: "1.0.0", names: ["en": "Expenses", "zh-CN": "费用"], depends: ["sales"],
        entities: ExpensesEntities.all, hooks: ExpenseRules.hooks, routes: ExpensesRoutes(), setUp: ExpensesSetUp.run,
        pages: [ModulePage(path: "/app/approvals", labelKey: "approvals.nav", requires: "expense_claim"),
                ModulePage(path: "/app/expenses/analysis", labelKey: "expenses.nav.analysis", requires: "expense_line")],
        actions: [ModuleAction(entity: "expense_claim", labelKey: "expenses.actions.pay", path: "/app/expenses/claims/{id}/pay", right: .approve,
                                onlyWhen: ("status", ["approved"]))],
        approvals: [ExpenseRules.claimBinding, ExpenseRules.requestBinding],
        defaultGrants: defaultGrants, demoData: ExpensesDemoData.seed, reports: ExpensesReadyReports.all)

    /// Everyone files their own expense requests and claims; managers see their department's
    /// (approvers also reach what they approve through the approval engine's read shares);
    /// finance reads and pays every claim and files its own.
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "sales_director": DefaultRoles.working(.all),
        "sales_manager": DefaultRoles.working(.departmentTree).merging(DefaultRoles.rights([(.update, .own), (.delete, .own)])) { $1 },
        "salesperson": DefaultRoles.working(.own),
        "service_agent": DefaultRoles.working(.own),
        "purchaser": DefaultRoles.working(.own),
        "finance": DefaultRoles.readAll.merging(DefaultRoles.rights([(.approve, .all), (.update, .all), (.create, .all),
                                                                     (.delete, .own), (.share, .own)])) { $1 },
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]
}

/// What a tenant gets when it enables the module: the six expense categories and a default
/// process per document (manager — skipped for someone without one —, then finance).
enum ExpensesSetUp {
    static let categories: [(String, String, String)] = [
        ("travel", "差旅费", "Travel"), ("hotel", "住宿费", "Hotel"), ("meals", "餐费", "Meals"),
        ("transport", "交通费", "Transport"), ("entertainment", "业务招待费", "Entertainment"), ("gifts", "礼品费", "Gifts"),
    ]

    static let run: ModuleSetUp = { engine, actor, connection, logger in
        let store = ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
        if try await store.all("expense_category").isEmpty {
            for (code, name, english) in categories {
                _ = try await store.create("expense_category", ["code": .string(code), "name": .string(name), "name_en": .string(english)])
            }
        }
        let processes = ApprovalProcesses(engine: engine)
        for (entity, name, finance) in [("expense_claim", "费用报销审批", true), ("expense_request", "费用申请审批", false)] {
            guard try await processes.list(entity: entity, on: connection, logger: logger).isEmpty else { continue }
            var steps = [ApprovalProcess.Step(name: "直属上级", approvers: [.init(kind: .manager)], skipIfNoApprover: true)]
            if finance { steps.append(.init(name: "财务审核", approvers: [.init(kind: .role, key: "finance")], skipIfNoApprover: true)) }
            _ = try await processes.save(ApprovalProcess(entity: entity, name: name, priority: 1000, steps: steps), as: actor, on: connection, logger: logger)
        }
    }
}

/// JSON API of the module:
///
///     POST /api/v1/expenses/claims/{id}/pay     {"paid_on", "method", "reference"?}  (approve right; approved claims only)
///     GET  /api/v1/expenses/analysis?from=&to=  spending by person, department, category, customer and month
///     GET  /app/expenses/analysis.csv?from=&to=&by=category   the same as CSV
struct ExpensesRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = ExpensesAPI(web: web)
        router.post("api/v1/expenses/claims/:id/pay", use: api.pay)
        router.get("api/v1/expenses/analysis", use: api.analysis)
        ExpensesPages(web: web).register(on: router)
    }
}

/// Finance records a claim's payment: only approved claims, by someone with the approve right
/// on it; written as derived fields (read-only to everyone), after which the claim is paid.
enum ExpenseActions {
    struct Payment: Sendable {
        var paidOn: String?
        var method: String?
        var reference: String?
    }

    static func pay(_ id: UUID, _ payment: Payment, store: ModuleStore) async throws -> Record {
        let claim = try await store.get("expense_claim", id)
        let (entity, _) = try await store.engine.entity("expense_claim", on: store.connection, logger: store.logger)
        guard store.actor.access.scope(entity, .approve) > .none else {
            throw ExpenseRules.error(.forbidden, code: "no_permission", field: nil, "only finance (the approve right on claims) may record payments", key: "pay_forbidden")
        }
        guard claim.string("status") == "approved" else {
            throw ExpenseRules.error(.conflict, code: "not_approved", field: nil, "only an approved claim can be paid (this one is \(claim.string("status") ?? "draft"))",
                                     key: "not_approved", ["status": claim.string("status") ?? "draft"])
        }
        guard let paidOn = payment.paidOn, ExpenseAnalysis.isDate(paidOn) else {
            throw ExpenseRules.error(.unprocessableContent, code: "invalid_field", field: "paid_on", "paid_on: give the payment date (YYYY-MM-DD)", key: "paid_on")
        }
        guard let method = payment.method, ExpensesEntities.paymentMethods.contains(where: { $0.value == method }) else {
            throw ExpenseRules.error(.unprocessableContent, code: "invalid_field", field: "method", "method: choose bank_transfer, cash, alipay or wechat_pay", key: "method")
        }
        let reference = payment.reference?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard reference.count <= 60 else {
            throw ExpenseRules.error(.unprocessableContent, code: "invalid_field", field: "reference", "reference: at most 60 characters", key: "reference")
        }
        return try await store.derived.update(claim, ["paid_on": .string(paidOn), "payment_method": .string(method),
                                                      "payment_reference": reference.isEmpty ? .null : .string(reference), "status": .string("paid")])
    }
}

struct ExpensesAPI: ModuleHandlers {
    let web: WebApp

    @Sendable func pay(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        let payment = ExpenseActions.Payment(paidOn: body["paid_on"]?.stringValue, method: body["method"]?.stringValue, reference: body["reference"]?.stringValue)
        return try await run(request, context, write: true) { store in
            RecordRoutes.json(try await ExpenseActions.pay(id, payment, store: store).json)
        }
    }

    @Sendable func analysis(_ request: Request, context: AtriumContext) async throws -> Response {
        let (from, to) = try ExpenseAnalysis.period(request)
        return try await run(request, context) { store in
            let analysis = try await ExpenseAnalysis.load(from: from, to: to, store: store, locale: "en")
            return RecordRoutes.json(.object(["from": .string(from), "to": .string(to), "total": .string(Money.text(analysis.total)),
                                              "by": .object(analysis.dimensions.mapValues { rows in
                .array(rows.map { .object(["key": .string($0.key), "label": .string($0.label), "count": .number(Decimal($0.count)),
                                           "amount": .string(Money.text($0.amount))]) })
            })]))
        }
    }
}

/// Spending of approved and paid claims, from their lines (CNY), within the caller's read
/// scope of expense lines (a salesperson sees her own, a manager her department's).
enum ExpenseAnalysis {
    struct Row: Sendable {
        let key: String
        let label: String
        let count: Int
        let amount: Decimal
    }

    struct Result: Sendable {
        let total: Decimal
        let dimensions: [String: [Row]]
    }

    static let dimensions = ["person", "department", "category", "customer", "month"]

    static func isDate(_ text: String) -> Bool {
        text.range(of: #"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"#, options: .regularExpression) != nil
    }

    /// `from`/`to` from the query (default: this year so far).
    static func period(_ request: Request) throws -> (String, String) {
        let query = request.uri.queryParameters
        let today = ExpenseAnalysis.today()
        let from = query["from"].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? "\(today.prefix(4))-01-01"
        let to = query["to"].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? today
        guard isDate(from) else { throw AtriumError.validation(field: "from", "must be a date like 2026-01-01") }
        guard isDate(to) else { throw AtriumError.validation(field: "to", "must be a date like 2026-11-23") }
        guard from <= to else { throw AtriumError.validation(field: "to", "must not be before from") }
        return (from, to)
    }

    static func today() -> String { ChinaCalendar.today() }

    static func load(from: String, to: String, store: ModuleStore, locale: String) async throws -> Result {
        let filter = ModuleStore.and([
            ModuleStore.op("claim.status", "in", .array([.string("approved"), .string("paid")])),
            ModuleStore.op("date", "between", .array([.string(from), .string(to)])),
        ])
        let (people, departments) = try await store.organisationNames()
        let categories = Dictionary(uniqueKeysWithValues: try await store.all("expense_category").map {
            ($0.idText, (locale == "en" ? $0.string("name_en") : nil) ?? $0.string("name") ?? "")
        })
        var result: [String: [Row]] = [:]
        var total = Decimal(0)
        for dimension in dimensions {
            let group: RecordAggregate.Group
            switch dimension {
            case "person": group = .owner
            case "department": group = .department
            case "category": group = .field("category")
            case "customer": group = .field("account")
            default: group = .month("date")
            }
            let rows = try await store.aggregate("expense_line", RecordAggregate(groups: [group], sums: ["amount_cny"], filter: filter))
            var labelled: [Row] = []
            for row in rows {
                let key = row.keys[0] ?? ""
                let label: String
                switch dimension {
                case "person": label = people[key] ?? key
                case "department": label = key.isEmpty ? "—" : departments[key] ?? key
                case "category": label = categories[key] ?? key
                case "customer": label = key.isEmpty ? "—" : (try await store.get("account", key))?.string("name") ?? key
                default: label = key
                }
                labelled.append(Row(key: key, label: label, count: row.count, amount: row.sums[0]))
            }
            if dimension == "month" {
                total = labelled.reduce(0) { $0 + $1.amount }
                labelled.sort { $0.key < $1.key }
            } else {
                labelled.sort { $0.amount != $1.amount ? $0.amount > $1.amount : $0.label < $1.label }
            }
            result[dimension] = labelled
        }
        return Result(total: total, dimensions: result)
    }
}

import Foundation
import Hummingbird
import Platform

/// The expenses module's business rules, as record hooks and approval rules:
/// - a line's CNY amount = amount × exchange rate, rounded half away from zero to the cent;
///   the claim's total is the exact sum of its lines' CNY amounts;
/// - lines change only while their claim is a draft (or returned for changes);
/// - the budget check: per line category and month, the department's budget minus what its
///   submitted, approved and paid claims already use; a claim needing more than is left is
///   flagged `over_budget` with a note for the approvers (a flag, not a refusal);
/// - a claim referencing an expense request is flagged when its total exceeds the estimate.
enum ExpenseRules {
    static let editableStatuses: Set<String> = ["draft", "returned"]
    /// Claims whose lines count against a budget.
    static let committedStatuses = ["submitted", "approved", "paid"]

    static var hooks: [(String, any RecordHooks)] {
        [("expense_line", LineRules()), ("expense_claim", ClaimRules()), ("expense_budget", BudgetRules())]
    }

    static func error(_ status: HTTPResponse.Status, code: String, field: String?, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("expenses", status, code: code, field: field, message, key: key, arguments)
    }

    /// CNY amount of a line: amount × rate (1 for CNY), to the cent.
    static func cny(amount: Decimal, currency: String, rate: Decimal) -> Decimal {
        Money.round(currency == "CNY" ? amount : amount * rate)
    }

    struct LineRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            let store = ModuleStore(derived: write.context)
            if !write.isCreate, let moved = write.values["claim"], moved != write.existing?.values["claim"] {
                throw ExpenseRules.error(.unprocessableContent, code: "invalid_field", field: "claim", "claim: a line cannot move to another claim", key: "line_moved")
            }
            guard let claim = try await store.get("expense_claim", write.value("claim")?.stringValue) else { return }
            try ExpenseRules.checkEditable(claim)
            if let amountValue = write.value("amount"), let amount = Money.amount(amountValue) {
                let currency = Money.currency(amountValue) ?? "CNY"
                var rate = write.value("exchange_rate")?.stringValue.flatMap { Decimal(string: $0, locale: Money.posix) } ?? 1
                if currency == "CNY" {
                    rate = 1
                    if write.values["exchange_rate"] != nil || write.isCreate { write.values["exchange_rate"] = .string("1") }
                } else if rate <= 0 {
                    throw ExpenseRules.error(.unprocessableContent, code: "invalid_field", field: "exchange_rate",
                                             "exchange_rate: give the rate to CNY for an amount in \(currency)", key: "rate_required", ["currency": currency])
                }
                write.values["amount_cny"] = Money.value(ExpenseRules.cny(amount: amount, currency: currency, rate: rate))
            }
            // A line without a customer is charged to the claim's customer (cost of sale).
            if write.isCreate, write.value("account") == nil, let account = claim.values["account"], !account.isNull {
                write.values["account"] = account
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            if let claim = try await store.get("expense_claim", record.string("claim")) { try ExpenseRules.checkEditable(claim) }
        }

        func afterCreate(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterDelete(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterRestore(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            if let claim = try await store.get("expense_claim", record.string("claim")) { try ExpenseRules.checkEditable(claim) }
            try await recompute(record, context)
        }

        func recompute(_ line: Record, _ context: HookContext) async throws {
            guard let id = line.string("claim").flatMap(UUID.init(uuidString:)) else { return }
            try await ExpenseRules.recompute(claim: id, store: ModuleStore(derived: context))
        }
    }

    static func checkEditable(_ claim: Record) throws {
        let status = claim.string("status") ?? "draft"
        guard editableStatuses.contains(status) else {
            throw error(.conflict, code: "claim_locked", field: "claim",
                        "the claim is \(status); its lines can only change while it is a draft or returned for changes", key: "claim_locked", ["status": status])
        }
    }

    struct ClaimRules: RecordHooks {
        func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
            // Re-check the request comparison when the claim's request changes (not on the
            // derived writes the recomputation itself makes).
            guard !context.actor.access.writesComputed, record.values["request"] != previous.values["request"] else { return }
            try await ExpenseRules.recompute(claim: record.id, store: ModuleStore(derived: context))
        }
    }

    /// One budget per department, month and category.
    struct BudgetRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            guard let department = write.value("department")?.stringValue, let month = write.value("month")?.stringValue,
                  let category = write.value("category")?.stringValue else { return }
            let store = ModuleStore(derived: write.context)
            let same = try await store.all("expense_budget", filter: ModuleStore.and([
                ModuleStore.eq("department", department), ModuleStore.eq("month", month), ModuleStore.eq("category", category),
            ])).filter { $0.id != write.existing?.id }
            if !same.isEmpty {
                throw ExpenseRules.error(.conflict, code: "duplicate_budget", field: "category",
                                         "category: this department already has a budget for this category in \(month)", key: "duplicate_budget", ["month": month])
            }
        }
    }

    /// Recomputes a claim's total and its request and budget flags from its lines.
    static func recompute(claim id: UUID, store: ModuleStore) async throws {
        try await store.lock("expense_claim", id)
        let claim = try await store.get("expense_claim", id)
        let lines = try await store.all("expense_line", filter: ModuleStore.eq("claim", claim.idText))
        let total = lines.reduce(Decimal(0)) { $0 + $1.money("amount_cny") }
        var notes: [String] = []
        var exceeds = false
        if let request = try await store.get("expense_request", claim.string("request")) {
            let estimate = request.money("estimated_amount")
            if total > estimate {
                exceeds = true
                notes.append("Exceeds request \(request.string("number") ?? ""): estimated \(Money.text(estimate)), claimed \(Money.text(total)) (+\(Money.text(total - estimate)))")
            }
        }
        let budget = try await budgetCheck(claim: claim, lines: lines, store: store)
        notes += budget.notes
        let values: [String: JSONValue] = [
            "total": Money.value(total), "exceeds_request": .bool(exceeds), "over_budget": .bool(budget.over),
            "budget_note": notes.isEmpty ? .null : .string(notes.joined(separator: "\n")),
        ]
        let changed = values.filter { key, value in (claim.values[key] ?? .null) != value }
        if !changed.isEmpty { try await store.update(claim, changed) }
    }

    struct BudgetCheck {
        var over = false
        var notes: [String] = []
    }

    /// For each category and month of the claim's lines that has a budget for the claim
    /// owner's department: budget − used by other committed claims − this claim.
    static func budgetCheck(claim: Record, lines: [Record], store: ModuleStore) async throws -> BudgetCheck {
        var result = BudgetCheck()
        guard let department = claim.departmentID?.uuidString.lowercased(), !lines.isEmpty else { return result }
        var needed: [String: Decimal] = [:]  // "category|YYYY-MM" → this claim's CNY
        for line in lines {
            guard let category = line.string("category"), let date = line.string("date") else { continue }
            needed["\(category)|\(date.prefix(7))", default: 0] += line.money("amount_cny")
        }
        let months = Set(needed.keys.map { String($0.split(separator: "|")[1]) }).sorted()
        let budgets = try await store.all("expense_budget", filter: ModuleStore.and([
            ModuleStore.eq("department", department), ModuleStore.op("month", "in", .array(months.map(JSONValue.string))),
        ]))
        var budgeted: [String: Decimal] = [:]
        for budget in budgets {
            guard let category = budget.string("category"), let month = budget.string("month") else { continue }
            budgeted["\(category)|\(month)", default: 0] += budget.money("amount")
        }
        guard !budgeted.isEmpty, let first = months.first, let last = months.last else { return result }
        let used = try await store.aggregate("expense_line", RecordAggregate(groups: [.field("category"), .month("date")], sums: ["amount_cny"], filter: ModuleStore.and([
            ModuleStore.op("claim.department_id", "eq", .string(department)),
            ModuleStore.op("claim.status", "in", .array(committedStatuses.map(JSONValue.string))),
            ModuleStore.op("claim", "ne", .string(claim.idText)),
            ModuleStore.op("date", "between", .array([.string("\(first)-01"), .string(monthEnd(last))])),
        ])))
        var usedBy: [String: Decimal] = [:]
        for row in used { usedBy["\(row.keys[0] ?? "")|\(row.keys[1] ?? "")"] = row.sums[0] }
        let categories = Dictionary(uniqueKeysWithValues: try await store.all("expense_category").map { ($0.idText, $0.string("name") ?? "") })
        for key in needed.keys.sorted() {
            guard let budget = budgeted[key] else { continue }
            let parts = key.split(separator: "|").map(String.init)
            let spent = usedBy[key] ?? 0
            let mine = needed[key]!
            if mine > budget - spent {
                result.over = true
                result.notes.append("Over budget \(categories[parts[0]] ?? parts[0]) \(parts[1]): budget \(Money.text(budget)), used \(Money.text(spent)), "
                                    + "this claim \(Money.text(mine)) (over by \(Money.text(mine - (budget - spent))))")
            }
        }
        return result
    }

    /// The last day of a `YYYY-MM` month.
    static func monthEnd(_ month: String) -> String {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2 else { return "\(month)-31" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1))!
        let days = calendar.range(of: .day, in: .month, for: start)?.count ?? 31
        return String(format: "%@-%02d", month, days)
    }

    /// Before a claim is submitted: it needs lines with a positive total; the flags are fresh.
    struct ClaimApproval: ApprovalRules {
        func beforeSubmit(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            let lines = try await store.all("expense_line", filter: ModuleStore.eq("claim", record.idText))
            guard !lines.isEmpty else {
                throw ExpenseRules.error(.unprocessableContent, code: "no_lines", field: nil, "add at least one expense line before submitting", key: "no_lines")
            }
            try await ExpenseRules.recompute(claim: record.id, store: store)
            let claim = try await store.get("expense_claim", record.id)
            guard claim.money("total") > 0 else {
                throw ExpenseRules.error(.unprocessableContent, code: "no_lines", field: nil, "a claim of 0.00 cannot be submitted", key: "zero_total")
            }
        }
    }

    static let claimBinding = ApprovalBinding(
        entity: "expense_claim", statusField: "status",
        statuses: [.pending: "submitted", .approved: "approved", .rejected: "rejected", .returned: "returned", .withdrawn: "draft"],
        summaryFields: ["number", "total", "over_budget", "exceeds_request", "budget_note"], rules: ClaimApproval())

    static let requestBinding = ApprovalBinding(
        entity: "expense_request", statusField: "status",
        statuses: [.pending: "submitted", .approved: "approved", .rejected: "rejected", .returned: "returned", .withdrawn: "draft"],
        summaryFields: ["number", "estimated_amount", "trip_start", "trip_end", "destination"])
}

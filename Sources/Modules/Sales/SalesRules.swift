import Foundation
import Platform

/// The sales module's business rules, as record hooks on the shared engine. Each runs inside
/// the write's transaction; an error aborts the whole write (nothing partly stored).
enum SalesRules {
    static var hooks: [(String, any RecordHooks)] {
        [("opportunity", OpportunityRules()), ("stage_change", DerivedOnly(message: "stage history is written when an opportunity changes stage")),
         ("quote_line", LineRules(parent: "quote")), ("order_line", LineRules(parent: "sales_order")),
         ("quote", QuoteRules()), ("sales_order", OrderRules()), ("receipt", ReceiptRules()),
         ("payment_installment", InstallmentRules()), ("lead", LeadRules()), ("account", AccountRules()),
         ("contract", DateRangeRule(start: "start_date", end: "end_date")), ("sales_target", TargetRules())]
    }

    static func isDerived(_ context: HookContext) -> Bool { context.actor.access.writesComputed }

    static func now() -> String { Date().formatted(.iso8601) }

    static func today() -> String { ChinaCalendar.today() }
}

/// Records only the module's rules create, change or delete.
struct DerivedOnly: RecordHooks {
    let message: String

    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard SalesRules.isDerived(write.context) else {
            throw AtriumError(status: .forbidden, code: "computed_record", message: message)
        }
    }

    func beforeDelete(_ record: Record, context: HookContext) async throws {
        guard SalesRules.isDerived(context) else {
            throw AtriumError(status: .forbidden, code: "computed_record", message: message)
        }
    }
}

struct DateRangeRule: RecordHooks {
    let start: String
    let end: String

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let from = write.value(start)?.stringValue, let to = write.value(end)?.stringValue, to < from {
            throw SalesErrors.invalid(end, "must not be before \(start)", key: "end_before_start")
        }
    }
}

/// Stage → probability, weighted amount, lost reason, stage history; winning marks the account a customer.
struct OpportunityRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        let stageChanged = write.isCreate || (write.values["stage"] != nil && write.values["stage"] != write.existing?.values["stage"])
        var probability = write.existing?.decimal("probability") ?? 0
        if stageChanged, let stageID = write.value("stage")?.stringValue {
            guard let stage = try await store.get("sales_stage", stageID) else {
                throw SalesErrors.invalid("stage", "no pipeline stage \(stageID)", key: "no_stage")
            }
            probability = stage.decimal("probability") ?? 0
            write.values["probability"] = .string(Money.text(probability, scale: 0))
            write.values["stage_changed_at"] = .string(SalesRules.now())
            if stage.string("kind") == "lost" && write.value("lost_reason") == nil {
                throw SalesErrors.invalid("lost_reason", "is required when an opportunity is lost", key: "lost_reason_required")
            }
            if stage.string("kind") != "lost" && write.existing?.values["lost_reason"] != nil && write.values["lost_reason"] == nil {
                write.values["lost_reason"] = .null  // reopened: the old reason no longer applies
            }
        }
        if stageChanged || write.values["amount"] != nil, let amountValue = write.value("amount") {
            // The engine normalises amount after this hook; parse what was sent or stored.
            let amount = Money.amount(amountValue) ?? 0
            let currency = Money.currency(amountValue) ?? "CNY"
            write.values["weighted_amount"] = Money.value(Money.round(amount * probability / 100), currency: currency)
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await enter(record, from: nil, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.values["stage"] != previous.values["stage"] else { return }
        let store = ModuleStore(derived: context)
        let open = try await store.all("stage_change", filter: ModuleStore.and([
            ModuleStore.eq("opportunity", record.idText), ModuleStore.op("left_at", "is_empty", .bool(true))]))
        let leftAt = record.string("stage_changed_at") ?? SalesRules.now()
        let iso = ISO8601DateFormatter()
        for change in open {
            var days: Decimal = 0
            if let entered = change.string("entered_at").flatMap(iso.date), let left = iso.date(from: leftAt) {
                days = Money.round(Decimal(max(0, left.timeIntervalSince(entered))) / 86_400)
            }
            try await store.update(change, ["left_at": .string(leftAt), "days": .string(Money.text(days))])
        }
        try await enter(record, from: previous.string("stage"), context: context)
    }

    func enter(_ record: Record, from: String?, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        var values: [String: JSONValue] = ["opportunity": .string(record.idText), "stage": record.values["stage"] ?? .null,
                                           "entered_at": .string(record.string("stage_changed_at") ?? SalesRules.now())]
        if let from { values["from_stage"] = .string(from) }
        if let amount = record.values["amount"] { values["amount"] = amount }
        _ = try await store.create("stage_change", values)
        if let stage = try await store.get("sales_stage", record.string("stage")), stage.string("kind") == "won",
           let account = try await store.get("account", record.string("account")), account.string("lifecycle") != "customer" {
            try await store.update(account, ["lifecycle": .string("customer"), "account_type": .string("customer")])
        }
    }
}

/// Quote and order lines: price from the price list, exact line figures, parent totals.
struct LineRules: RecordHooks {
    let parent: String

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        guard let parentID = write.value(parent)?.stringValue, let header = try await store.get(parent, parentID) else {
            return  // the engine reports the missing or unknown parent, naming the field
        }
        if write.values[parent] != nil, let old = write.existing?.string(parent), old != parentID {
            throw SalesErrors.invalid(parent, "a line cannot move to another document", key: "line_moved")
        }
        try Self.checkEditable(header)
        if write.isCreate && write.value("position") == nil {
            // Lines keep the order they were added in (created_at ties inside one transaction).
            let lines = try await store.all(write.entity.key, filter: ModuleStore.eq(parent, parentID))
            let last = lines.compactMap { $0.decimal("position") }.max() ?? Decimal(lines.count)
            write.values["position"] = .string(Money.text(last + 1, scale: 0))
        }
        if let productID = write.value("product")?.stringValue, write.values["product"] != nil,
           let product = try await store.get("product", productID) {
            if write.value("unit_price") == nil {
                write.values["unit_price"] = try await price(of: product, for: header, store: store)
            }
            if write.value("tax_rate") == nil, let rate = product.values["tax_rate"] { write.values["tax_rate"] = rate }
            if write.value("description") == nil, let name = product.values["name"] { write.values["description"] = name }
        }
        if write.value("description") == nil && write.value("product") == nil {
            throw SalesErrors.invalid("description", "is required when no product is chosen", key: "line_description")
        }
        guard let quantity = decimal(write.value("quantity")) else { return }
        let unitPriceValue = write.value("unit_price")
        let line = Money.Line(quantity: quantity, unitPrice: Money.amount(unitPriceValue) ?? 0,
                              discount: decimal(write.value("discount")) ?? 0, taxRate: decimal(write.value("tax_rate")) ?? 0)
        let figures = Money.figures(line)
        let currency = Money.currency(unitPriceValue) ?? "CNY"
        write.values["net_amount"] = Money.value(figures.net, currency: currency)
        write.values["tax_amount"] = Money.value(figures.tax, currency: currency)
        write.values["line_total"] = Money.value(figures.total, currency: currency)
    }

    func decimal(_ value: JSONValue?) -> Decimal? {
        switch value {
        case .string(let text)?: return Decimal(string: text.trimmingCharacters(in: .whitespaces), locale: Money.posix)
        case .number(let number)?: return number
        default: return nil
        }
    }

    /// The customer's price: a price-list entry for the account's value class and region,
    /// then one for its class, then the product's list price.
    func price(of product: Record, for header: Record, store: ModuleStore) async throws -> JSONValue? {
        let account = try await store.get("account", header.string("account"))
        let entries = try await store.all("price_list_item", filter: ModuleStore.eq("product", product.idText))
        let level = account?.string("level"), region = account?.string("region")
        let best = entries.first { $0.string("level") == level && level != nil && $0.string("region") == region && region != nil }
            ?? entries.first { $0.string("level") == level && level != nil && $0.string("region") == nil }
            ?? entries.first { $0.string("level") == nil && $0.string("region") == region && region != nil }
        return best?.values["price"] ?? product.values["list_price"]
    }

    static func checkEditable(_ header: Record) throws {
        switch (header.entity, header.string("status")) {
        case ("quote", "converted"):
            throw SalesErrors.invalid("status", "the quote was converted to an order; its lines can no longer change", key: "quote_converted")
        case ("sales_order", let status?) where status != "draft":
            throw SalesErrors.invalid("status", "only a draft order's lines can change", key: "order_not_draft")
        default:
            break
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws { try await recompute(record, context) }
    func beforeDelete(_ record: Record, context: HookContext) async throws { try await checkHeader(of: record, context) }
    func afterDelete(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
    func afterRestore(_ record: Record, context: HookContext) async throws {
        try await checkHeader(of: record, context)
        try await recompute(record, context)
    }

    func checkHeader(of line: Record, _ context: HookContext) async throws {
        if let header = try await ModuleStore(derived: context).get(parent, line.string(parent)) { try Self.checkEditable(header) }
    }

    func recompute(_ line: Record, _ context: HookContext) async throws {
        guard let id = line.string(parent).flatMap(UUID.init(uuidString:)) else { return }
        try await Totals.recompute(parent, id, store: ModuleStore(derived: context))
    }
}

/// Document totals from lines, and an order's received / outstanding from its receipts.
enum Totals {
    static func lineEntity(_ header: String) -> String { header == "quote" ? "quote_line" : "order_line" }

    static func recompute(_ entity: String, _ id: UUID, store: ModuleStore) async throws {
        try await store.lock(entity, id)
        let header = try await store.get(entity, id)
        let lines = try await store.all(lineEntity(entity), filter: ModuleStore.eq(entity, header.idText))
        var figures = Money.Figures()
        for line in lines {
            var lineFigures = Money.Figures()
            lineFigures.net = line.money("net_amount")
            lineFigures.tax = line.money("tax_amount")
            lineFigures.total = line.money("line_total")
            let quantity = line.decimal("quantity") ?? 0
            lineFigures.gross = Money.round(quantity * line.money("unit_price"))
            lineFigures.discount = lineFigures.gross - lineFigures.net
            figures = figures + lineFigures
        }
        var values: [String: JSONValue] = [
            "subtotal": Money.value(figures.gross), "discount_total": Money.value(figures.discount),
            "tax_total": Money.value(figures.tax), "total": Money.value(figures.total),
        ]
        if entity == "sales_order" {
            values.merge(try await receivable(header, total: figures.total, store: store)) { $1 }
        }
        try await store.update(header, values)
    }

    /// Received and outstanding of an order; refuses receipts beyond the order's total.
    static func receivable(_ order: Record, total: Decimal, store: ModuleStore) async throws -> [String: JSONValue] {
        let receipts = try await store.aggregate("receipt", RecordAggregate(groups: [.field("sales_order")], sums: ["amount"],
                                                                             filter: ModuleStore.eq("sales_order", order.idText)))
        let received = receipts.first?.sums.first ?? 0
        // A receivable exists once the order is confirmed (drafts and returns owe nothing).
        let owed = order.string("kind") != "return" && ["confirmed", "delivered", "closed"].contains(order.string("status") ?? "") ? total : 0
        if received > owed {
            throw SalesErrors.invalid("amount", "receipts of \(Money.text(received)) would exceed the order total \(Money.text(owed))",
                                      key: "overpaid", ["received": Money.text(received), "total": Money.text(owed)])
        }
        return ["received": Money.value(received), "outstanding": Money.value(owed - received)]
    }
}

struct QuoteRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if SalesRules.isDerived(write.context) { return }
        if write.existing?.string("status") == "converted" {
            throw SalesErrors.invalid("status", "the quote was converted to an order and can no longer change", key: "quote_converted")
        }
        if write.values["status"] == .string("converted") {
            throw SalesErrors.invalid("status", "use Convert to order", key: "use_convert")
        }
        if write.isCreate {
            write.values["revision"] = .string("1")
        } else if write.values["status"] == .string("sent"), write.existing?.string("status") != "sent" {
            // Each time a quote goes out again it is a new revision; history keeps the old figures.
            let revision = write.existing?.decimal("revision") ?? 0
            write.values["revision"] = .string(Money.text(revision + 1, scale: 0))
        }
    }
}

/// Order status flow and dates; totals and receivables are kept by ``Totals``.
struct OrderRules: RecordHooks {
    static let transitions: [String: Set<String>] = [
        "draft": ["confirmed", "cancelled"], "confirmed": ["delivered", "cancelled"], "delivered": ["closed"], "closed": [], "cancelled": [],
    ]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if write.isCreate {
            if write.value("order_date") == nil { write.values["order_date"] = .string(SalesRules.today()) }
            if let status = write.value("status")?.stringValue, status != "draft", !SalesRules.isDerived(write.context) {
                throw SalesErrors.invalid("status", "a new order starts as draft", key: "order_starts_draft")
            }
            return
        }
        guard let next = write.values["status"]?.stringValue, let current = write.existing?.string("status"), next != current else { return }
        guard Self.transitions[current, default: []].contains(next) else {
            throw SalesErrors.invalid("status", "cannot go from \(current) to \(next)", key: "order_transition", ["from": current, "to": next])
        }
        if next == "cancelled", let existing = write.existing, existing.money("received") > 0 {
            throw SalesErrors.invalid("status", "an order with receipts cannot be cancelled", key: "order_has_receipts")
        }
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        if record.string("status") != previous.string("status") || record.string("kind") != previous.string("kind") {
            try await Totals.recompute("sales_order", record.id, store: ModuleStore(derived: context))
        }
    }

    func beforeDelete(_ record: Record, context: HookContext) async throws {
        if record.money("received") > 0 {
            throw AtriumError(status: .conflict, code: "order_has_receipts", message: "an order with receipts cannot be deleted; delete its receipts first")
        }
    }
}

struct ReceiptRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        guard let orderID = write.value("sales_order")?.stringValue, let order = try await store.get("sales_order", orderID) else { return }
        if write.values["sales_order"] != nil, let old = write.existing?.string("sales_order"), old != orderID {
            throw SalesErrors.invalid("sales_order", "a receipt cannot move to another order; delete it and record a new one", key: "receipt_moved")
        }
        guard order.string("kind") != "return" else {
            throw SalesErrors.invalid("sales_order", "receipts are recorded against orders, not returns", key: "receipt_on_return")
        }
        guard ["confirmed", "delivered", "closed"].contains(order.string("status") ?? "") else {
            throw SalesErrors.invalid("sales_order", "receipts need a confirmed order", key: "receipt_needs_confirmed")
        }
        write.values["account"] = order.values["account"] ?? .null
        // Collections count for the order's salesperson (targets), whoever keys the receipt in.
        write.values["salesperson"] = order.ownerID.map { .string($0.uuidString.lowercased()) } ?? .null
    }

    func afterCreate(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws { try await recompute(record, context) }
    func afterDelete(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
    func afterRestore(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }

    func recompute(_ receipt: Record, _ context: HookContext) async throws {
        guard let id = receipt.string("sales_order").flatMap(UUID.init(uuidString:)) else { return }
        try await Totals.recompute("sales_order", id, store: ModuleStore(derived: context))
    }
}

/// A payment plan never promises more than the order's total.
struct InstallmentRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        guard let orderID = write.value("sales_order")?.stringValue, let order = try await store.get("sales_order", orderID),
              let amount = Money.amount(write.value("amount")) else { return }
        let others = try await store.all("payment_installment", filter: ModuleStore.eq("sales_order", orderID))
            .filter { $0.id != write.existing?.id }.reduce(Decimal(0)) { $0 + $1.money("amount") }
        if others + amount > order.money("total") {
            throw SalesErrors.invalid("amount", "the payment plan would total \(Money.text(others + amount)), more than the order's \(Money.text(order.money("total")))",
                                      key: "plan_exceeds", ["planned": Money.text(others + amount), "total": Money.text(order.money("total"))])
        }
    }
}

struct LeadRules: RecordHooks {
    /// Round-robin assignment: a lead created with a department in `pool` goes to the active
    /// member of that department with the fewest open leads (new or working); ties go by email,
    /// so leads are dealt out in turn.
    func afterCreate(_ record: Record, context: HookContext) async throws {
        guard let pool = record.string("pool") else { return }
        let members = try await OrganisationAdmin().members(on: context.connection, logger: context.logger)
            .filter { $0.active && $0.departmentID?.uuidString.lowercased() == pool }
        guard !members.isEmpty else {
            throw SalesErrors.invalid("pool", "the department has no active members to assign the lead to", key: "pool_empty")
        }
        let store = ModuleStore(derived: context)
        let rows = try await store.aggregate("lead", RecordAggregate(groups: [.owner], filter: ModuleStore.and([
            ModuleStore.op("status", "in", .array([.string("new"), .string("working")])),
            ModuleStore.op("id", "ne", .string(record.idText))])))
        let load = Dictionary(rows.map { ($0.keys[0] ?? "", $0.count) }, uniquingKeysWith: +)
        let order = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($0.element.id, $0.offset) })
        let chosen = members.min { (load[$0.id.uuidString.lowercased()] ?? 0, order[$0.id]!) < (load[$1.id.uuidString.lowercased()] ?? 0, order[$1.id]!) }!
        try await store.update(try await store.get("lead", record.id), ["owner_id": .string(chosen.id.uuidString.lowercased())])
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if SalesRules.isDerived(write.context) { return }
        if write.existing?.string("status") == "converted" {
            throw SalesErrors.invalid("status", "a converted lead can no longer change", key: "lead_converted")
        }
        if write.values["status"] == .string("converted") {
            throw SalesErrors.invalid("status", "use Convert to turn a lead into an account, contact and opportunity", key: "use_convert")
        }
    }
}

/// Duplicate check (查重) on new accounts: same name, phone or tax id across the whole tenant,
/// so two salespeople do not chase one customer. Send `"confirm_duplicate": true` to create anyway.
struct AccountRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let confirmed = write.values.removeValue(forKey: "confirm_duplicate") == .bool(true)
        guard write.isCreate, !confirmed, !SalesRules.isDerived(write.context) else { return }
        if let duplicate = try await Self.duplicate(of: write.values, context: write.context) {
            throw duplicate
        }
    }

    /// Accounts with the same name, phone or tax id as `values` (nil when none is given); also
    /// the merge page's candidates.
    static func lookAlike(_ values: [String: JSONValue]) -> JSONValue? {
        var checks: [JSONValue] = []
        for key in ["name", "phone", "tax_id"] {
            if let text = values[key]?.stringValue?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                checks.append(ModuleStore.eq(key, text))
            }
        }
        return checks.isEmpty ? nil : .object(["or": .array(checks)])
    }

    static func duplicate(of values: [String: JSONValue], context: HookContext) async throws -> AtriumError? {
        let store = ModuleStore(derived: context)
        guard let filter = lookAlike(values) else { return nil }
        let page = try await store.engine.list("account", query: RecordQuery(filter: filter, limit: 5),
                                              as: store.actor, on: store.connection, logger: store.logger)
        guard let existing = page.records.first else { return nil }
        let name = existing.string("name") ?? ""
        var error = AtriumError(status: .conflict, code: "possible_duplicate",
                                message: "an account that looks the same already exists: \(name) (\(existing.idText)); send confirm_duplicate: true to create it anyway, or merge",
                                field: "name",
                                details: page.records.map { .init(field: $0.idText, message: $0.string("name") ?? "") })
        error.messageKey = "sales.possible_duplicate"
        error.messageArguments = ["name": name]
        return error
    }
}

/// A target is for one salesperson or one department.
struct TargetRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let hasUser = write.value("user") != nil, hasDepartment = write.value("department") != nil
        if hasUser == hasDepartment {
            throw SalesErrors.invalid("user", "choose either a salesperson or a department", key: "target_owner")
        }
    }
}

enum SalesErrors {
    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("sales", .unprocessableContent, code: "invalid_field", field: field, "\(field): \(message)", key: key, arguments)
    }
}

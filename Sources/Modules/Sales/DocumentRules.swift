// Quote, order, receipt and payment-plan rules: line figures, document totals, status flow.
import Foundation
import Platform

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

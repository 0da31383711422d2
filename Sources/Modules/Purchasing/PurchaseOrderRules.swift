import Foundation
import Hummingbird
import Platform

/// Purchase orders: line prices default from the supplier's valid price list, exact totals
/// (each line's net and tax to the cent, the order the sum of its lines), the status flow
/// draft → (approval) → approved → sent → partially received → received → closed, or
/// cancelled before anything was received. Lines change only while the order is a draft
/// or returned for changes; the approval engine locks the order itself while pending and after.
enum PurchaseOrderRules {
    static let editableStatuses: Set<String> = ["draft", "returned"]
    /// Orders goods can be received against.
    static let receivableStatuses: Set<String> = ["approved", "sent", "partially_received"]
    /// Orders whose unreceived quantities count as on the way (reorder suggestions).
    static let openStatuses = ["submitted", "approved", "sent", "partially_received"]

    static func error(_ status: HTTPResponse.Status, code: String, field: String?, _ message: String, key: String,
                      _ arguments: [String: String] = [:]) -> AtriumError {
        StockLedger.error(status, code: code, field: field, message, key: key, arguments)
    }

    static func today() -> String { ChinaCalendar.today() }

    /// The supplier's price for a product on `date` at `quantity`: valid on the date, minimum
    /// quantity reached; among several the preferred, then the lowest.
    static func supplierPrice(supplier: String, product: String, quantity: Decimal, date: String, store: ModuleStore) async throws -> Record? {
        let prices = try await store.all("supplier_price", filter: ModuleStore.and([ModuleStore.eq("supplier", supplier), ModuleStore.eq("product", product)]))
        return prices.filter { price in
            if let from = price.string("valid_from"), from > date { return false }
            if let to = price.string("valid_to"), to < date { return false }
            return StockLedger.number(price.values["min_quantity"]) <= quantity
        }.sorted { a, b in
            let (pa, pb) = (a.values["preferred"] == .bool(true), b.values["preferred"] == .bool(true))
            return pa != pb ? pa : a.money("price") < b.money("price")
        }.first
    }

    static func checkEditable(_ order: Record) throws {
        let status = order.string("status") ?? "draft"
        guard editableStatuses.contains(status) else {
            throw error(.conflict, code: "order_locked", field: "purchase_order",
                        "the purchase order is \(status); its lines change only while it is a draft or returned for changes", key: "order_locked", ["status": status])
        }
    }

    struct OrderRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.isCreate, write.value("order_date") == nil { write.values["order_date"] = .string(PurchaseOrderRules.today()) }
            guard !write.context.actor.access.writesComputed else { return }
            if let supplier = write.values["supplier"]?.stringValue {
                if let existing = write.existing, existing.string("supplier") != supplier {
                    try PurchaseOrderRules.checkEditable(existing)
                }
                let store = ModuleStore(derived: write.context)
                if let record = try await store.get("supplier", supplier), record.string("status") == "blocked" {
                    throw PurchaseOrderRules.error(.unprocessableContent, code: "invalid_field", field: "supplier", "supplier: \(record.string("name") ?? "") is blocked",
                                                   key: "supplier_blocked")
                }
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            guard ["draft", "returned", "cancelled"].contains(record.string("status") ?? "draft") else {
                throw PurchaseOrderRules.error(.conflict, code: "order_locked", field: nil, "only a draft or cancelled purchase order can be deleted", key: "order_not_deletable")
            }
        }
    }

    struct LineRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.context.actor.access.writesComputed { return }
            let store = ModuleStore(derived: write.context)
            if !write.isCreate, let moved = write.values["purchase_order"], moved != write.existing?.values["purchase_order"] {
                throw PurchaseOrderRules.error(.unprocessableContent, code: "invalid_field", field: "purchase_order", "purchase_order: a line cannot move to another order",
                                               key: "line_moved")
            }
            guard let order = try await store.get("purchase_order", write.value("purchase_order")?.stringValue) else { return }
            try PurchaseOrderRules.checkEditable(order)
            let quantity = StockLedger.number(write.value("quantity"))
            if write.values["quantity"] != nil || write.isCreate, quantity <= 0 {
                throw PurchaseOrderRules.error(.unprocessableContent, code: "invalid_field", field: "quantity", "quantity: must be more than 0", key: "quantity_positive")
            }
            // No price given: the supplier's valid price for this quantity, else refuse naming the field.
            if write.value("unit_price") == nil, let product = write.value("product")?.stringValue, let supplier = order.string("supplier") {
                guard let price = try await PurchaseOrderRules.supplierPrice(supplier: supplier, product: product, quantity: quantity,
                                                                             date: order.string("order_date") ?? PurchaseOrderRules.today(), store: store) else {
                    throw PurchaseOrderRules.error(.unprocessableContent, code: "invalid_field", field: "unit_price",
                                                   "unit_price: the supplier has no valid price for this product and quantity; enter one", key: "no_supplier_price")
                }
                write.values["unit_price"] = price.values["price"]
            }
            if write.isCreate, write.value("tax_rate") == nil, let product = try await store.get("product", write.value("product")?.stringValue),
               let rate = product.values["tax_rate"] {
                write.values["tax_rate"] = rate
            }
            let figures = Money.figures(Money.Line(quantity: quantity, unitPrice: Money.amount(write.value("unit_price")) ?? 0,
                                                   taxRate: StockLedger.number(write.value("tax_rate"))))
            write.values["net_amount"] = Money.value(figures.net)
            write.values["tax_amount"] = Money.value(figures.tax)
            write.values["line_total"] = Money.value(figures.total)
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            if let order = try await ModuleStore(derived: context).get("purchase_order", record.string("purchase_order")) {
                try PurchaseOrderRules.checkEditable(order)
            }
        }

        func afterCreate(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
            guard !context.actor.access.writesComputed else { return }
            try await recompute(record, context)
        }
        func afterDelete(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterRestore(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            if let order = try await store.get("purchase_order", record.string("purchase_order")) { try PurchaseOrderRules.checkEditable(order) }
            try await recompute(record, context)
        }

        func recompute(_ line: Record, _ context: HookContext) async throws {
            guard let id = line.string("purchase_order").flatMap(UUID.init(uuidString:)) else { return }
            try await PurchaseOrderRules.recompute(order: id, store: ModuleStore(derived: context))
        }
    }

    /// Totals from the lines; the receiving status from the received quantities.
    static func recompute(order id: UUID, store: ModuleStore) async throws {
        try await store.lock("purchase_order", id)
        let order = try await store.get("purchase_order", id)
        let lines = try await store.all("purchase_order_line", filter: ModuleStore.eq("purchase_order", order.idText))
        var net = Decimal(0), tax = Decimal(0), received = Decimal(0)
        var anyReceived = false, allReceived = !lines.isEmpty
        for line in lines {
            net += line.money("net_amount")
            tax += line.money("tax_amount")
            let quantity = StockLedger.number(line.values["quantity"])
            let got = StockLedger.number(line.values["received_quantity"])
            if got > 0 { anyReceived = true }
            if got < quantity { allReceived = false }
        }
        let receipts = try await store.aggregate("stock_receipt", RecordAggregate(groups: [.field("purchase_order")], sums: ["total"],
                                                                                    filter: ModuleStore.eq("purchase_order", order.idText)))
        received = receipts.first?.sums.first ?? 0
        var values: [String: JSONValue] = ["subtotal": Money.value(net), "tax_total": Money.value(tax), "total": Money.value(net + tax),
                                           "received_amount": Money.value(received)]
        let status = order.string("status") ?? "draft"
        if ["approved", "sent", "partially_received", "received"].contains(status) {
            values["status"] = .string(allReceived ? "received" : anyReceived ? "partially_received" : status == "approved" ? "approved" : "sent")
        }
        let changed = values.filter { (order.values[$0.key] ?? .null) != $0.value }
        if !changed.isEmpty { try await store.update(order, changed) }
    }

    /// Before submitting: lines with a positive total.
    struct Approval: ApprovalRules {
        func beforeSubmit(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            try await PurchaseOrderRules.recompute(order: record.id, store: store)
            let order = try await store.get("purchase_order", record.id)
            guard order.money("total") > 0 else {
                throw PurchaseOrderRules.error(.unprocessableContent, code: "no_lines", field: nil, "add lines with a price before submitting the purchase order", key: "no_lines")
            }
        }
    }

    static let binding = ApprovalBinding(
        entity: "purchase_order", statusField: "status",
        statuses: [.pending: "submitted", .approved: "approved", .rejected: "rejected", .returned: "returned", .withdrawn: "draft"],
        summaryFields: ["number", "supplier", "total", "expected_date"], rules: Approval())

    /// The status moves the buyer makes by hand (approval moves the rest).
    enum Move: String {
        case send, close, cancel
    }

    static func move(_ id: UUID, _ move: Move, store: ModuleStore) async throws -> Record {
        // Only an order in the caller's update scope (the engine's scope, 404 otherwise).
        _ = try await PurchasingDocuments.forUpdate("purchase_order", id, store: store)
        try await store.lock("purchase_order", id)
        let order = try await store.get("purchase_order", id)
        let status = order.string("status") ?? "draft"
        let next: String
        var values: [String: JSONValue] = [:]
        switch move {
        case .send:
            guard status == "approved" else {
                throw error(.conflict, code: "invalid_transition", field: "status", "only an approved purchase order can be sent (this one is \(status))",
                            key: "send_needs_approval", ["status": status])
            }
            next = "sent"
            values["sent_at"] = .string(PurchasingTime.text(Date()))
        case .close:
            guard ["partially_received", "received"].contains(status) else {
                throw error(.conflict, code: "invalid_transition", field: "status", "only a (partially) received purchase order can be closed (this one is \(status))",
                            key: "close_needs_receipt", ["status": status])
            }
            next = "closed"
        case .cancel:
            guard ["draft", "returned", "rejected", "approved", "sent"].contains(status) else {
                throw error(.conflict, code: "invalid_transition", field: "status", "a purchase order that is \(status) cannot be cancelled",
                            key: "cancel_refused", ["status": status])
            }
            next = "cancelled"
        }
        values["status"] = .string(next)
        return try await store.derived.update(order, values)
    }
}

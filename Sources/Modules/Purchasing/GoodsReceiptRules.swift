import Foundation
import Hummingbird
import Platform

/// Goods receipts (入库) and purchase returns (采购退货):
/// - a receipt is against one approved or sent purchase order, into one warehouse; each line
///   receives part of an order line, never more than is still open (over-receipt → 422 naming
///   `quantity`); it posts an incoming movement at the order line's net unit price and owes
///   the supplier its net plus tax;
/// - a return line takes back part of a receipt line, never more than was received there
///   minus what was already returned; it posts an outgoing movement (at the moving average)
///   and credits the supplier the receipt line's price plus tax for the quantity;
/// - posted lines are never changed or deleted (the stock and the payables rest on them).
enum GoodsReceiptRules {
    static func posted(_ what: String) -> AtriumError {
        StockLedger.error(.conflict, code: "document_posted", field: nil, "\(what) is posted; correct it with a return or an adjustment", key: "document_posted")
    }

    /// Receipt headers: the supplier comes from the order; the order must be receivable.
    struct ReceiptHeaderRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.context.actor.access.writesComputed, !write.isCreate { return }
            if !write.isCreate, write.values["purchase_order"] != nil || write.values["warehouse"] != nil {
                throw GoodsReceiptRules.posted("the receipt")
            }
            guard write.isCreate else { return }
            if write.value("received_on") == nil { write.values["received_on"] = .string(PurchaseOrderRules.today()) }
            let store = ModuleStore(derived: write.context)
            guard let order = try await store.get("purchase_order", write.value("purchase_order")?.stringValue) else { return }
            let status = order.string("status") ?? "draft"
            guard PurchaseOrderRules.receivableStatuses.contains(status) else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "purchase_order",
                                        "purchase_order: goods are received against an approved or sent order (this one is \(status))", key: "order_not_receivable",
                                        ["status": status])
            }
            write.values["supplier"] = order.values["supplier"] ?? .null
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            let lines = try await ModuleStore(derived: context).all("stock_receipt_line", filter: ModuleStore.eq("receipt", record.idText))
            if !lines.isEmpty { throw GoodsReceiptRules.posted("the receipt") }
        }
    }

    struct ReceiptLineRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            guard write.isCreate else {
                if write.context.actor.access.writesComputed { return }
                throw GoodsReceiptRules.posted("the receipt line")
            }
            let store = ModuleStore(derived: write.context)
            guard let receipt = try await store.get("stock_receipt", write.value("receipt")?.stringValue),
                  let line = try await store.get("purchase_order_line", write.value("order_line")?.stringValue) else { return }
            guard line.string("purchase_order") == receipt.string("purchase_order") else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "order_line", "order_line: the line belongs to another purchase order",
                                        key: "line_other_order")
            }
            guard let orderID = line.string("purchase_order").flatMap(UUID.init(uuidString:)) else { return }
            // One receipt of an order at a time: the open quantity is read under the order's lock.
            try await store.lock("purchase_order", orderID)
            let order = try await store.get("purchase_order", orderID)
            guard PurchaseOrderRules.receivableStatuses.contains(order.string("status") ?? "") else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "order_line",
                                        "order_line: the purchase order is \(order.string("status") ?? "draft"); nothing more can be received", key: "order_not_receivable",
                                        ["status": order.string("status") ?? "draft"])
            }
            let current = try await store.get("purchase_order_line", line.id)
            let quantity = StockLedger.number(write.value("quantity"))
            guard quantity > 0 else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "quantity", "quantity: must be more than 0", key: "quantity_positive")
            }
            let open = StockLedger.number(current.values["quantity"]) - StockLedger.number(current.values["received_quantity"])
            guard quantity <= open else {
                throw StockLedger.error(.unprocessableContent, code: "over_receipt", field: "quantity",
                                        "quantity: \(StockLedger.quantityText(quantity)) is more than the \(StockLedger.quantityText(open)) still open on the order line",
                                        key: "over_receipt", ["quantity": StockLedger.quantityText(quantity), "open": StockLedger.quantityText(open)])
            }
            let price = current.money("unit_price")
            let rate = StockLedger.number(current.values["tax_rate"])
            let figures = Money.figures(Money.Line(quantity: quantity, unitPrice: price, taxRate: rate))
            write.values["product"] = current.values["product"] ?? .null
            write.values["supplier"] = receipt.values["supplier"] ?? .null
            write.values["warehouse"] = receipt.values["warehouse"] ?? .null
            write.values["unit_cost"] = Money.value(price)
            write.values["tax_rate"] = .string(Money.text(rate))
            write.values["amount"] = Money.value(figures.total)
        }

        func afterCreate(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            guard let product = record.string("product"), let warehouse = record.string("warehouse"),
                  let line = try await store.get("purchase_order_line", record.string("order_line")),
                  let receiptID = record.string("receipt").flatMap(UUID.init(uuidString:)) else { return }
            let quantity = StockLedger.number(record.values["quantity"])
            try await StockLedger.post(kind: "receipt", product: product, warehouse: warehouse, quantity: quantity, unitCost: record.money("unit_cost"),
                                       source: record, store: store)
            try await store.update(line, ["received_quantity": StockLedger.quantityValue(StockLedger.number(line.values["received_quantity"]) + quantity)])
            try await GoodsReceiptRules.recomputeReceipt(receiptID, store: store)
            if let order = line.string("purchase_order").flatMap(UUID.init(uuidString:)) {
                try await PurchaseOrderRules.recompute(order: order, store: store)
            }
            if let supplier = record.string("supplier").flatMap(UUID.init(uuidString:)) {
                try await Payables.recompute(supplier: supplier, store: store)
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws { throw GoodsReceiptRules.posted("the receipt line") }
    }

    static func recomputeReceipt(_ id: UUID, store: ModuleStore) async throws {
        let receipt = try await store.get("stock_receipt", id)
        let sums = try await store.aggregate("stock_receipt_line", RecordAggregate(groups: [.field("receipt")], sums: ["amount"],
                                                                                    filter: ModuleStore.eq("receipt", receipt.idText)))
        let total = Money.value(sums.first?.sums.first ?? 0)
        if receipt.values["total"] != total { try await store.update(receipt, ["total": total]) }
    }

    struct ReturnHeaderRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.context.actor.access.writesComputed { return }
            if write.isCreate, write.value("returned_on") == nil { write.values["returned_on"] = .string(PurchaseOrderRules.today()) }
            if !write.isCreate, write.values["supplier"] != nil, write.values["supplier"] != write.existing?.values["supplier"] {
                throw GoodsReceiptRules.posted("the return")
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            let lines = try await ModuleStore(derived: context).all("purchase_return_line", filter: ModuleStore.eq("purchase_return", record.idText))
            if !lines.isEmpty { throw GoodsReceiptRules.posted("the return") }
        }
    }

    struct ReturnLineRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            guard write.isCreate else {
                if write.context.actor.access.writesComputed { return }
                throw GoodsReceiptRules.posted("the return line")
            }
            let store = ModuleStore(derived: write.context)
            guard let header = try await store.get("purchase_return", write.value("purchase_return")?.stringValue),
                  let found = try await store.get("stock_receipt_line", write.value("receipt_line")?.stringValue) else { return }
            guard found.string("supplier") == header.string("supplier") else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "receipt_line", "receipt_line: the goods came from another supplier",
                                        key: "return_other_supplier")
            }
            try await store.lock("stock_receipt_line", found.id)
            let line = try await store.get("stock_receipt_line", found.id)
            let quantity = StockLedger.number(write.value("quantity"))
            guard quantity > 0 else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "quantity", "quantity: must be more than 0", key: "quantity_positive")
            }
            let returnable = StockLedger.number(line.values["quantity"]) - StockLedger.number(line.values["returned_quantity"])
            guard quantity <= returnable else {
                throw StockLedger.error(.unprocessableContent, code: "over_return", field: "quantity",
                                        "quantity: \(StockLedger.quantityText(quantity)) is more than the \(StockLedger.quantityText(returnable)) received and not yet returned",
                                        key: "over_return", ["quantity": StockLedger.quantityText(quantity), "returnable": StockLedger.quantityText(returnable)])
            }
            let figures = Money.figures(Money.Line(quantity: quantity, unitPrice: line.money("unit_cost"), taxRate: StockLedger.number(line.values["tax_rate"])))
            write.values["product"] = line.values["product"] ?? .null
            write.values["warehouse"] = line.values["warehouse"] ?? .null
            write.values["amount"] = Money.value(figures.total)
        }

        func afterCreate(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            guard let product = record.string("product"), let warehouse = record.string("warehouse"),
                  let line = try await store.get("stock_receipt_line", record.string("receipt_line")),
                  let header = try await store.get("purchase_return", record.string("purchase_return")) else { return }
            let quantity = StockLedger.number(record.values["quantity"])
            try await StockLedger.post(kind: "purchase_return", product: product, warehouse: warehouse, quantity: -quantity, source: record, store: store)
            try await store.update(line, ["returned_quantity": StockLedger.quantityValue(StockLedger.number(line.values["returned_quantity"]) + quantity)])
            if let orderLine = try await store.get("purchase_order_line", line.string("order_line")) {
                try await store.update(orderLine, ["returned_quantity": StockLedger.quantityValue(StockLedger.number(orderLine.values["returned_quantity"]) + quantity)])
            }
            let sums = try await store.aggregate("purchase_return_line", RecordAggregate(groups: [.field("purchase_return")], sums: ["amount"],
                                                                                          filter: ModuleStore.eq("purchase_return", header.idText)))
            try await store.update(header, ["total": Money.value(sums.first?.sums.first ?? 0)])
            if let supplier = header.string("supplier").flatMap(UUID.init(uuidString:)) {
                try await Payables.recompute(supplier: supplier, store: store)
            }
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws { throw GoodsReceiptRules.posted("the return line") }
    }
}

/// What is owed to each supplier: receipts (net + tax) − returns − payments, kept on the
/// supplier; a payment may be partial but never more than is owed.
enum Payables {
    static func figures(supplier: UUID, store: ModuleStore) async throws -> (received: Decimal, returned: Decimal, paid: Decimal) {
        let id = supplier.uuidString.lowercased()
        func sum(_ entity: String, _ field: String) async throws -> Decimal {
            try await store.aggregate(entity, RecordAggregate(groups: [.field("supplier")], sums: [field], filter: ModuleStore.eq("supplier", id))).first?.sums.first ?? 0
        }
        return (try await sum("stock_receipt", "total"), try await sum("purchase_return", "total"), try await sum("supplier_payment", "amount"))
    }

    static func recompute(supplier id: UUID, store: ModuleStore) async throws {
        try await store.lock("supplier", id)
        let supplier = try await store.get("supplier", id)
        let (received, returned, paid) = try await figures(supplier: id, store: store)
        let values: [String: JSONValue] = ["received_total": Money.value(received), "returned_total": Money.value(returned),
                                           "paid_total": Money.value(paid), "payable": Money.value(max(received - returned - paid, 0))]
        let changed = values.filter { (supplier.values[$0.key] ?? .null) != $0.value }
        if !changed.isEmpty { try await store.update(supplier, changed) }
    }

    struct PaymentRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.context.actor.access.writesComputed { return }
            if !write.isCreate, write.values["supplier"] != nil || write.values["amount"] != nil {
                throw StockLedger.error(.conflict, code: "document_posted", field: nil, "a payment's supplier and amount do not change; delete it and record it again",
                                        key: "payment_posted")
            }
            guard write.isCreate, let supplier = write.value("supplier")?.stringValue.flatMap(UUID.init(uuidString:)),
                  let amount = Money.amount(write.value("amount")) else { return }
            let store = ModuleStore(derived: write.context)
            try await store.lock("supplier", supplier)
            let (received, returned, paid) = try await Payables.figures(supplier: supplier, store: store)
            let owed = received - returned - paid
            guard amount <= owed else {
                throw StockLedger.error(.unprocessableContent, code: "overpayment", field: "amount",
                                        "amount: \(Money.text(amount)) is more than the \(Money.text(max(owed, 0))) owed to the supplier",
                                        key: "overpayment", ["amount": Money.text(amount), "owed": Money.text(max(owed, 0))])
            }
        }

        func afterCreate(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterDelete(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }
        func afterRestore(_ record: Record, context: HookContext) async throws { try await recompute(record, context) }

        func recompute(_ payment: Record, _ context: HookContext) async throws {
            guard let supplier = payment.string("supplier").flatMap(UUID.init(uuidString:)) else { return }
            try await Payables.recompute(supplier: supplier, store: ModuleStore(derived: context))
        }
    }
}

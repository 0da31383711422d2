import Foundation
import Hummingbird
import Platform

/// Sales delivery notes (发货单): a confirmed sales order is delivered fully or in parts from
/// a warehouse. Each line takes part of an order line (never more than is still to deliver),
/// posts an outgoing movement at the moving average (refused with 422 when the warehouse has
/// too little, under the stock level's lock) and records its cost; once every product line of
/// the order is delivered the order becomes `delivered` (the sales module's status flow).
enum DeliveryRules {
    /// Quantities delivered per order line of a sales order.
    static func delivered(order: String, store: ModuleStore) async throws -> [String: Decimal] {
        let rows = try await store.aggregate("delivery_note_line", RecordAggregate(groups: [.field("order_line")], sums: ["quantity"],
                                                                                   filter: ModuleStore.eq("sales_order", order)))
        return Dictionary(rows.map { ($0.keys[0] ?? "", $0.sums[0]) }, uniquingKeysWith: +)
    }

    /// Services are sold, not delivered from stock.
    static func stocked(_ product: Record?) -> Bool { product.map { $0.string("category") != "service" } ?? false }

    /// The stocked products among `ids`.
    static func stockedProducts(_ ids: [String], store: ModuleStore) async throws -> Set<String> {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [] }
        let products = try await store.all("product", filter: ModuleStore.op("id", "in", .array(unique.map(JSONValue.string))))
        return Set(products.filter { stocked($0) }.map(\.idText))
    }

    struct NoteRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            if write.context.actor.access.writesComputed, !write.isCreate { return }
            if !write.isCreate {
                if write.values["sales_order"] != nil || write.values["warehouse"] != nil { throw GoodsReceiptRules.posted("the delivery note") }
                return
            }
            if write.value("delivered_on") == nil { write.values["delivered_on"] = .string(PurchaseOrderRules.today()) }
            let store = ModuleStore(derived: write.context)
            guard let order = try await store.get("sales_order", write.value("sales_order")?.stringValue) else { return }
            guard order.string("kind") != "return", order.string("status") == "confirmed" else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "sales_order",
                                        "sales_order: only a confirmed sales order is delivered (this one is \(order.string("status") ?? "draft"))",
                                        key: "order_not_deliverable", ["status": order.string("status") ?? "draft"])
            }
            write.values["account"] = order.values["account"] ?? .null
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws {
            let lines = try await ModuleStore(derived: context).all("delivery_note_line", filter: ModuleStore.eq("delivery_note", record.idText))
            if !lines.isEmpty { throw GoodsReceiptRules.posted("the delivery note") }
        }
    }

    struct LineRules: RecordHooks {
        func beforeValidate(_ write: inout RecordWrite) async throws {
            guard write.isCreate else {
                if write.context.actor.access.writesComputed { return }
                throw GoodsReceiptRules.posted("the delivery line")
            }
            let store = ModuleStore(derived: write.context)
            guard let note = try await store.get("delivery_note", write.value("delivery_note")?.stringValue),
                  let line = try await store.get("order_line", write.value("order_line")?.stringValue) else { return }
            guard let orderID = note.string("sales_order"), line.string("sales_order") == orderID, let orderUUID = UUID(uuidString: orderID) else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "order_line", "order_line: the line belongs to another sales order",
                                        key: "line_other_order")
            }
            guard let product = line.string("product"), DeliveryRules.stocked(try await store.get("product", product)) else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "order_line", "order_line: the line has no stocked product to deliver (services are not delivered)",
                                        key: "line_without_product")
            }
            // One delivery of an order at a time: what is left to deliver is read under its lock.
            try await store.lock("sales_order", orderUUID)
            let order = try await store.get("sales_order", orderUUID)
            guard order.string("status") == "confirmed" else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "order_line",
                                        "order_line: the sales order is \(order.string("status") ?? "draft"); nothing more is delivered", key: "order_not_deliverable",
                                        ["status": order.string("status") ?? "draft"])
            }
            let quantity = StockLedger.number(write.value("quantity"))
            guard quantity > 0 else {
                throw StockLedger.error(.unprocessableContent, code: "invalid_field", field: "quantity", "quantity: must be more than 0", key: "quantity_positive")
            }
            let done = try await DeliveryRules.delivered(order: orderID, store: store)[line.idText] ?? 0
            let open = StockLedger.number(line.values["quantity"]) - done
            guard quantity <= open else {
                throw StockLedger.error(.unprocessableContent, code: "over_delivery", field: "quantity",
                                        "quantity: \(StockLedger.quantityText(quantity)) is more than the \(StockLedger.quantityText(open)) still to deliver on the order line",
                                        key: "over_delivery", ["quantity": StockLedger.quantityText(quantity), "open": StockLedger.quantityText(open)])
            }
            write.values["product"] = .string(product)
            write.values["sales_order"] = .string(orderID)
        }

        func afterCreate(_ record: Record, context: HookContext) async throws {
            let store = ModuleStore(derived: context)
            guard let product = record.string("product"), let note = try await store.get("delivery_note", record.string("delivery_note")),
                  let warehouse = note.string("warehouse"), let orderID = record.string("sales_order") else { return }
            let quantity = StockLedger.number(record.values["quantity"])
            let movement = try await StockLedger.post(kind: "delivery", product: product, warehouse: warehouse, quantity: -quantity, source: record, store: store)
            let line = try await store.get("delivery_note_line", record.id)
            try await store.update(line, ["cost": Money.value(-movement.money("value"))])
            let costs = try await store.aggregate("delivery_note_line", RecordAggregate(groups: [.field("delivery_note")], sums: ["cost"],
                                                                                        filter: ModuleStore.eq("delivery_note", note.idText)))
            try await store.update(note, ["cost_total": Money.value(costs.first?.sums.first ?? 0)])
            try await DeliveryRules.followOrder(orderID, store: store)
        }

        func beforeDelete(_ record: Record, context: HookContext) async throws { throw GoodsReceiptRules.posted("the delivery line") }
    }

    /// The order is delivered once every line with a product is.
    static func followOrder(_ orderID: String, store: ModuleStore) async throws {
        guard let order = try await store.get("sales_order", orderID), order.string("status") == "confirmed" else { return }
        let all = try await store.all("order_line", filter: ModuleStore.eq("sales_order", orderID))
        let stocked = try await stockedProducts(all.compactMap { $0.string("product") }, store: store)
        let lines = all.filter { stocked.contains($0.string("product") ?? "") }
        let done = try await delivered(order: orderID, store: store)
        let complete = !lines.isEmpty && lines.allSatisfy { (done[$0.idText] ?? 0) >= StockLedger.number($0.values["quantity"]) }
        if complete { try await store.update(order, ["status": .string("delivered")]) }
    }
}

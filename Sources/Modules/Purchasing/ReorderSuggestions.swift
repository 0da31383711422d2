import Foundation
import Platform

/// Reorder suggestions (补货建议): for each product with a reorder rule or with confirmed
/// sales orders still to deliver, the projected stock = on hand (all warehouses) + still to
/// receive on open purchase orders − still to deliver on confirmed sales orders. Below the
/// rule's minimum (0 without a rule) the product is suggested: what is missing, at least the
/// rule's reorder quantity, from the preferred supplier with a valid price.
enum ReorderSuggestions {
    struct Suggestion: Sendable, Equatable {
        let product: String
        let productName: String
        let onHand: Decimal
        let onOrder: Decimal
        let demand: Decimal
        let minimum: Decimal
        let quantity: Decimal
        let supplier: String?
        let price: Decimal?
        let reason: String

        var json: JSONValue {
            .object(["product": .string(product), "product_name": .string(productName), "on_hand": StockLedger.quantityValue(onHand),
                     "on_order": StockLedger.quantityValue(onOrder), "demand": StockLedger.quantityValue(demand), "minimum": StockLedger.quantityValue(minimum),
                     "quantity": StockLedger.quantityValue(quantity), "supplier": supplier.map(JSONValue.string) ?? .null,
                     "price": price.map { .string(Money.text($0)) } ?? .null, "reason": .string(reason)])
        }
    }

    static func compute(store: ModuleStore) async throws -> [Suggestion] {
        var onHand: [String: Decimal] = [:]
        for row in try await store.aggregate("stock_level", RecordAggregate(groups: [.field("product")], sums: ["on_hand"])) {
            onHand[row.keys[0] ?? "", default: 0] += row.sums[0]
        }
        var onOrder: [String: Decimal] = [:]
        let openLines = try await store.all("purchase_order_line", filter: ModuleStore.op("purchase_order.status", "in",
                                                                                             .array(PurchaseOrderRules.openStatuses.map(JSONValue.string))))
        for line in openLines {
            let open = StockLedger.number(line.values["quantity"]) - StockLedger.number(line.values["received_quantity"])
            if open > 0, let product = line.string("product") { onOrder[product, default: 0] += open }
        }
        var demand: [String: Decimal] = [:]
        let orderLines = try await store.all("order_line", filter: ModuleStore.op("sales_order.status", "eq", .string("confirmed")))
        var delivered: [String: Decimal] = [:]
        if !orderLines.isEmpty {
            for row in try await store.aggregate("delivery_note_line", RecordAggregate(groups: [.field("order_line")], sums: ["quantity"])) {
                delivered[row.keys[0] ?? ""] = row.sums[0]
            }
        }
        // Sales returns (kind `return`) are confirmed orders too, but bring goods back: not demand.
        let returns = Set(try await store.all("sales_order", filter: ModuleStore.eq("status", "confirmed")).filter { $0.string("kind") == "return" }.map(\.idText))
        let stocked = try await DeliveryRules.stockedProducts(orderLines.compactMap { $0.string("product") }, store: store)
        for line in orderLines where !returns.contains(line.string("sales_order") ?? "") {
            guard let product = line.string("product"), stocked.contains(product) else { continue }
            let open = StockLedger.number(line.values["quantity"]) - (delivered[line.idText] ?? 0)
            if open > 0 { demand[product, default: 0] += open }
        }
        var rules: [String: Record] = [:]
        for rule in try await store.all("stock_rule") { if let product = rule.string("product") { rules[product] = rule } }
        var suggestions: [Suggestion] = []
        for product in Set(rules.keys).union(demand.keys).sorted() {
            let minimum = rules[product].map { StockLedger.number($0.values["min_quantity"]) } ?? 0
            let projected = (onHand[product] ?? 0) + (onOrder[product] ?? 0) - (demand[product] ?? 0)
            guard projected < minimum else { continue }
            let quantity = max(minimum - projected, rules[product].map { StockLedger.number($0.values["reorder_quantity"]) } ?? 0)
            let price = try await PurchaseOrderRules.preferredPrice(product: product, quantity: quantity, store: store)
            let name = try await store.get("product", product)?.string("name") ?? product
            let reason = (demand[product] ?? 0) > 0 && projected < 0 ? "uncovered_orders" : "below_minimum"
            suggestions.append(Suggestion(product: product, productName: name, onHand: onHand[product] ?? 0, onOrder: onOrder[product] ?? 0,
                                          demand: demand[product] ?? 0, minimum: minimum, quantity: quantity, supplier: price?.string("supplier"),
                                          price: price?.money("price"), reason: reason))
        }
        return suggestions
    }

    /// A purchase plan with one line per suggestion.
    static func plan(title: String?, neededBy: String?, store: ModuleStore) async throws -> Record {
        let suggestions = try await compute(store: store)
        guard !suggestions.isEmpty else {
            throw AtriumError(status: .unprocessableContent, code: "nothing_to_plan", message: "no product needs reordering now")
        }
        var values: [String: JSONValue] = ["title": .string(title ?? "补货计划 \(PurchaseOrderRules.today())")]
        if let neededBy { values["needed_by"] = .string(neededBy) }
        let plan = try await store.create("purchase_plan", values)
        for suggestion in suggestions {
            var line: [String: JSONValue] = ["purchase_plan": .string(plan.idText), "product": .string(suggestion.product),
                                             "quantity": StockLedger.quantityValue(suggestion.quantity), "reason": .string(suggestion.reason)]
            if let supplier = suggestion.supplier { line["supplier"] = .string(supplier) }
            _ = try await store.create("purchase_plan_line", line)
        }
        return try await store.get("purchase_plan", plan.id)
    }

    /// Draft purchase orders from a plan's lines not yet ordered, one per supplier (prices
    /// from the supplier's price list); lines without a supplier stay open.
    static func orders(plan id: UUID, store: ModuleStore) async throws -> [Record] {
        let plan = try await PurchasingDocuments.forUpdate("purchase_plan", id, store: store)
        let lines = try await store.all("purchase_plan_line", filter: ModuleStore.eq("purchase_plan", plan.idText)).filter { $0.values["purchase_order"] == nil }
        let bySupplier = Dictionary(grouping: lines.filter { $0.string("supplier") != nil }) { $0.string("supplier")! }
        guard !bySupplier.isEmpty else {
            throw AtriumError.validation(field: "supplier", "no open plan line names a supplier; set the supplier on the plan lines first")
        }
        var orders: [Record] = []
        for supplier in bySupplier.keys.sorted() {
            let order = try await store.create("purchase_order", ["supplier": .string(supplier)])
            for line in bySupplier[supplier] ?? [] {
                _ = try await store.create("purchase_order_line", ["purchase_order": .string(order.idText), "product": line.values["product"] ?? .null,
                                                                   "quantity": line.values["quantity"] ?? .null])
                try await store.derived.update(line, ["purchase_order": .string(order.idText)])
            }
            orders.append(try await store.get("purchase_order", order.id))
        }
        let left = try await store.all("purchase_plan_line", filter: ModuleStore.eq("purchase_plan", plan.idText)).filter { $0.values["purchase_order"] == nil }
        if left.isEmpty { try await store.derived.update(try await store.get("purchase_plan", plan.id), ["status": .string("ordered")]) }
        return orders
    }
}

extension PurchaseOrderRules {
    /// The best valid price of any supplier for a product today (preferred first, then lowest).
    static func preferredPrice(product: String, quantity: Decimal, store: ModuleStore) async throws -> Record? {
        let date = today()
        return try await store.all("supplier_price", filter: ModuleStore.eq("product", product)).filter { price in
            if let from = price.string("valid_from"), from > date { return false }
            if let to = price.string("valid_to"), to < date { return false }
            return StockLedger.number(price.values["min_quantity"]) <= max(quantity, 0)
        }.sorted { a, b in
            let (pa, pb) = (a.values["preferred"] == .bool(true), b.values["preferred"] == .bool(true))
            return pa != pb ? pa : a.money("price") < b.money("price")
        }.first
    }
}

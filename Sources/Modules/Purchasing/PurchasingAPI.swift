import Foundation
import Hummingbird
import Platform

/// JSON API of the module (its entities are also served by the records API, e.g.
/// `/api/v1/supplier`, `/api/v1/purchase_order_line`, with the same rules):
///
///     POST /api/v1/purchasing/orders/{id}/send | close | cancel        status moves by the buyer
///     POST /api/v1/purchasing/orders/{id}/receive  {"warehouse"?, "received_on"?, "lines": [{"order_line", "quantity"}]}
///                                                  (no lines: everything still open)
///     POST /api/v1/purchasing/returns              {"supplier", "reason"?, "lines": [{"receipt_line", "quantity"}]}
///     POST /api/v1/purchasing/deliveries           {"sales_order", "warehouse", "lines"?: [{"order_line", "quantity"}]}
///     GET  /api/v1/purchasing/stock                stock levels (product × warehouse)
///     GET  /api/v1/purchasing/stock/check          the ledger check: levels that differ from their movements
///     GET  /api/v1/purchasing/suggestions          reorder suggestions
///     POST /api/v1/purchasing/suggestions/plan     a purchase plan from the suggestions
///     POST /api/v1/purchasing/plans/{id}/orders    draft purchase orders (one per supplier) from a plan
///
/// Each call is one transaction: a document with its lines is written whole or not at all.
struct PurchasingRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = PurchasingAPI(web: web)
        router.post("api/v1/purchasing/orders/:id/receive", use: api.receive)
        for move in [PurchaseOrderRules.Move.send, .close, .cancel] {
            router.post("api/v1/purchasing/orders/:id/\(move.rawValue)") { request, context in try await api.move(request, context: context, move) }
        }
        router.post("api/v1/purchasing/returns", use: api.purchaseReturn)
        router.post("api/v1/purchasing/deliveries", use: api.deliver)
        router.get("api/v1/purchasing/stock", use: api.stock)
        router.get("api/v1/purchasing/stock/check", use: api.check)
        router.get("api/v1/purchasing/suggestions", use: api.suggestions)
        router.post("api/v1/purchasing/suggestions/plan", use: api.plan)
        router.post("api/v1/purchasing/plans/:id/orders", use: api.orders)
        PurchasingPages(web: web).register(on: router)
    }
}

/// The documents the API writes, shared with the pages.
enum PurchasingDocuments {
    struct Line: Sendable {
        let source: String
        let quantity: JSONValue
    }

    static func lines(_ body: [String: JSONValue], key: String) throws -> [Line]? {
        guard let value = body["lines"], !value.isNull else { return nil }
        guard case .array(let items) = value else { throw AtriumError.validation(field: "lines", "must be a list of {\(key), quantity}") }
        return try items.enumerated().map { index, item in
            guard let source = item[key]?.stringValue, UUID(uuidString: source) != nil else {
                throw AtriumError.validation(field: "lines[\(index)].\(key)", "must be a record id")
            }
            guard let quantity = item["quantity"], !quantity.isNull else {
                throw AtriumError.validation(field: "lines[\(index)].quantity", "is required")
            }
            return Line(source: source.lowercased(), quantity: quantity)
        }
    }

    /// Checks the caller may update the record (its update scope, through the engine).
    static func forUpdate(_ entity: String, _ id: UUID, store: ModuleStore) async throws -> Record {
        let page = try await store.engine.list(entity, query: RecordQuery(filter: ModuleStore.eq("id", id.uuidString.lowercased()), limit: 1),
                                               action: .update, as: store.actor, on: store.connection, logger: store.logger)
        guard let record = page.records.first else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no \(entity) record \(id.uuidString.lowercased())")
        }
        return record
    }

    /// A goods receipt of an order: the lines given, or everything still open.
    static func receive(order id: UUID, warehouse: String?, receivedOn: String?, lines: [Line]?, store: ModuleStore) async throws -> Record {
        let order = try await forUpdate("purchase_order", id, store: store)
        guard let warehouse = warehouse ?? order.string("warehouse") else {
            throw AtriumError.validation(field: "warehouse", "is required (the order names no warehouse)")
        }
        var header: [String: JSONValue] = ["purchase_order": .string(order.idText), "warehouse": .string(warehouse)]
        if let receivedOn { header["received_on"] = .string(receivedOn) }
        let receipt = try await store.create("stock_receipt", header)
        var wanted = lines ?? []
        if lines == nil {
            for line in try await store.all("purchase_order_line", filter: ModuleStore.eq("purchase_order", order.idText)) {
                let open = StockLedger.number(line.values["quantity"]) - StockLedger.number(line.values["received_quantity"])
                if open > 0 { wanted.append(Line(source: line.idText, quantity: StockLedger.quantityValue(open))) }
            }
        }
        guard !wanted.isEmpty else { throw AtriumError.validation(field: "lines", "nothing to receive: the order has no open quantity") }
        for (index, line) in wanted.enumerated() {
            try await indexed(index) {
                _ = try await store.create("stock_receipt_line", ["receipt": .string(receipt.idText), "order_line": .string(line.source), "quantity": line.quantity])
            }
        }
        return try await store.get("stock_receipt", receipt.id)
    }

    static func purchaseReturn(supplier: String, reason: String?, lines: [Line], store: ModuleStore) async throws -> Record {
        guard !lines.isEmpty else { throw AtriumError.validation(field: "lines", "give at least one line to return") }
        var header: [String: JSONValue] = ["supplier": .string(supplier)]
        if let reason { header["reason"] = .string(reason) }
        let document = try await store.create("purchase_return", header)
        for (index, line) in lines.enumerated() {
            try await indexed(index) {
                _ = try await store.create("purchase_return_line", ["purchase_return": .string(document.idText), "receipt_line": .string(line.source),
                                                                    "quantity": line.quantity])
            }
        }
        return try await store.get("purchase_return", document.id)
    }

    /// A delivery of a sales order: the lines given, or every product line still to deliver.
    /// Lines are posted in product order, so two deliveries lock stock levels in one order.
    static func deliver(order: String, warehouse: String, lines: [Line]?, store: ModuleStore) async throws -> Record {
        let note = try await store.create("delivery_note", ["sales_order": .string(order), "warehouse": .string(warehouse)])
        var wanted = lines ?? []
        var products: [String: String] = [:]
        let orderLines = try await store.all("order_line", filter: ModuleStore.eq("sales_order", order))
        let stocked = try await DeliveryRules.stockedProducts(orderLines.compactMap { $0.string("product") }, store: store.derived)
        for line in orderLines {
            products[line.idText] = line.string("product") ?? ""
            if lines == nil, stocked.contains(line.string("product") ?? "") {
                let done = try await DeliveryRules.delivered(order: order, store: store.derived)[line.idText] ?? 0
                let open = StockLedger.number(line.values["quantity"]) - done
                if open > 0 { wanted.append(Line(source: line.idText, quantity: StockLedger.quantityValue(open))) }
            }
        }
        guard !wanted.isEmpty else { throw AtriumError.validation(field: "lines", "nothing to deliver: the order has nothing left to deliver") }
        let ordered = wanted.enumerated().sorted { (products[$0.element.source] ?? "", $0.offset) < (products[$1.element.source] ?? "", $1.offset) }
        for (index, line) in ordered {
            try await indexed(index) {
                _ = try await store.create("delivery_note_line", ["delivery_note": .string(note.idText), "order_line": .string(line.source), "quantity": line.quantity])
            }
        }
        return try await store.get("delivery_note", note.id)
    }

    /// A line's refusal names the line: `lines[2].quantity`.
    static func indexed(_ index: Int, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as AtriumError {
            guard let field = error.field else { throw error }
            var named = AtriumError(status: error.status, code: error.code, message: "line \(index + 1): \(error.message)", field: "lines[\(index)].\(field)")
            named.messageKey = error.messageKey
            named.messageArguments = error.messageArguments
            throw named
        }
    }
}

struct PurchasingAPI: ModuleHandlers {
    let web: WebApp

    func enabled<T: Sendable>(_ request: Request, _ context: AtriumContext, write: Bool = false,
                              _ body: @escaping @Sendable (ModuleStore) async throws -> T) async throws -> T {
        try await run(request, context, write: write) { store in
            try await PurchasingModule.requireEnabled(store)
            return try await body(store)
        }
    }

    @Sendable func move(_ request: Request, context: AtriumContext, _ move: PurchaseOrderRules.Move) async throws -> Response {
        let id = try Self.id(context)
        return try await enabled(request, context, write: true) { store in
            return RecordRoutes.json(try await PurchaseOrderRules.move(id, move, store: store).json)
        }
    }

    @Sendable func receive(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request, emptyAllowed: true)
        let lines = try PurchasingDocuments.lines(body, key: "order_line")
        return try await enabled(request, context, write: true) { store in
            let receipt = try await PurchasingDocuments.receive(order: id, warehouse: body["warehouse"]?.stringValue, receivedOn: body["received_on"]?.stringValue,
                                                                lines: lines, store: store)
            return RecordRoutes.json(receipt.json, status: .created)
        }
    }

    @Sendable func purchaseReturn(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        guard let supplier = body["supplier"]?.stringValue else { throw AtriumError.validation(field: "supplier", "is required") }
        let lines = try PurchasingDocuments.lines(body, key: "receipt_line") ?? []
        return try await enabled(request, context, write: true) { store in
            let document = try await PurchasingDocuments.purchaseReturn(supplier: supplier, reason: body["reason"]?.stringValue, lines: lines, store: store)
            return RecordRoutes.json(document.json, status: .created)
        }
    }

    @Sendable func deliver(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        guard let order = body["sales_order"]?.stringValue else { throw AtriumError.validation(field: "sales_order", "is required") }
        guard let warehouse = body["warehouse"]?.stringValue else { throw AtriumError.validation(field: "warehouse", "is required") }
        let lines = try PurchasingDocuments.lines(body, key: "order_line")
        return try await enabled(request, context, write: true) { store in
            let note = try await PurchasingDocuments.deliver(order: order, warehouse: warehouse, lines: lines, store: store)
            return RecordRoutes.json(note.json, status: .created)
        }
    }

    @Sendable func stock(_ request: Request, context: AtriumContext) async throws -> Response {
        try await enabled(request, context) { store in
            let levels = try await store.all("stock_level", sort: "key")
            return RecordRoutes.json(.object(["levels": .array(levels.map(\.json))]))
        }
    }

    @Sendable func check(_ request: Request, context: AtriumContext) async throws -> Response {
        try await enabled(request, context) { store in
            let problems = try await StockLedger.check(store: store)
            return RecordRoutes.json(.object(["consistent": .bool(problems.isEmpty), "discrepancies": .array(problems.map {
                .object(["key": .string($0.key), "on_hand": .string(StockLedger.quantityText($0.onHand)), "moved": .string(StockLedger.quantityText($0.movedQuantity)),
                         "value": .string(Money.text($0.value)), "moved_value": .string(Money.text($0.movedValue))])
            })]))
        }
    }

    @Sendable func suggestions(_ request: Request, context: AtriumContext) async throws -> Response {
        try await enabled(request, context) { store in
            RecordRoutes.json(.object(["suggestions": .array(try await ReorderSuggestions.compute(store: store).map(\.json))]))
        }
    }

    @Sendable func plan(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request, emptyAllowed: true)
        return try await enabled(request, context, write: true) { store in
            let plan = try await ReorderSuggestions.plan(title: body["title"]?.stringValue, neededBy: body["needed_by"]?.stringValue, store: store)
            return RecordRoutes.json(plan.json, status: .created)
        }
    }

    @Sendable func orders(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await enabled(request, context, write: true) { store in
            let orders = try await ReorderSuggestions.orders(plan: id, store: store)
            return RecordRoutes.json(.object(["orders": .array(orders.map(\.json))]), status: .created)
        }
    }
}

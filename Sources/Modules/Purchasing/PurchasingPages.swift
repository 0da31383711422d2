import Foundation
import HTTPTypes
import Hummingbird
import Platform

/// Web pages of the purchasing module: the stock page (levels per warehouse with the ledger
/// check), the reorder suggestions page (make a plan, order it), and the purchase order page
/// (lines with received quantities; send, receive in parts, close, cancel). Every read and
/// write is the signed-in user's, through the engine and the module's rules.
struct PurchasingPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/purchasing/stock", use: stockPage)
        router.get("app/purchasing/suggestions", use: suggestionsPage)
        router.post("app/purchasing/suggestions/plan", use: makePlan)
        router.post("app/purchasing/plans/:id/orders", use: orderPlan)
        router.get("app/purchasing/orders/:id", use: orderPage)
        router.post("app/purchasing/orders/:id/receive", use: receive)
        for move in [PurchaseOrderRules.Move.send, .close, .cancel] {
            router.post("app/purchasing/orders/:id/\(move.rawValue)") { request, context in try await self.move(request, context: context, move) }
        }
    }

    static func quantity(_ value: Decimal) -> String {
        var text = StockLedger.quantityText(value)
        while text.contains("."), text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Names of the products among `ids` (one query).
    static func productNames(_ ids: [String], store: ModuleStore) async throws -> [String: (String, String)] {
        let unique = Array(Set(ids.filter { !$0.isEmpty }))
        guard !unique.isEmpty else { return [:] }
        let products = try await store.all("product", filter: ModuleStore.op("id", "in", .array(unique.map(JSONValue.string))))
        return Dictionary(products.map { ($0.idText, ($0.string("name") ?? "", $0.string("code") ?? "")) }, uniquingKeysWith: { a, _ in a })
    }

    func notice(_ request: Request, _ locale: String) -> String {
        request.uri.queryParameters["notice"].map { web.t("purchasing.notices.\($0)", locale) } ?? ""
    }

    @Sendable func stockPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/purchasing/stock") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            let warehouses = try await store.all("warehouse", sort: "code")
            let levels = try await store.all("stock_level", sort: "key")
            let names = try await Self.productNames(levels.compactMap { $0.string("product") }, store: store)
            let problems = try await StockLedger.check(store: store)
            var total = Decimal(0)
            let groups: [[String: Any]] = warehouses.map { warehouse in
                let rows = levels.filter { $0.string("warehouse") == warehouse.idText }
                let value = rows.reduce(Decimal(0)) { $0 + $1.money("stock_value") }
                total += value
                return ["name": warehouse.string("name") ?? "", "code": warehouse.string("code") ?? "", "value": Money.text(value), "empty": rows.isEmpty,
                        "rows": rows.map { level -> [String: Any] in
                            let product = names[level.string("product") ?? ""] ?? ("", "")
                            return ["product": product.0, "code": product.1, "on_hand": Self.quantity(StockLedger.number(level.values["on_hand"])),
                                    "average_cost": Money.text(StockLedger.number(level.values["average_cost"]), scale: 4),
                                    "value": Money.text(level.money("stock_value")), "href": "/app/stock_movement?f0=product&op0=eq&v0=\(level.string("product") ?? "")"]
                        }]
            }
            return web.render("purchasing_stock", page, [
                "title": web.t("purchasing.stock.title", page.locale), "warehouses": groups, "total": Money.text(total),
                "consistent": problems.isEmpty, "problems": problems.map { ["key": $0.key, "on_hand": Self.quantity($0.onHand), "moved": Self.quantity($0.movedQuantity)] },
                "notice": notice(request, page.locale),
            ])
        }
    }

    @Sendable func suggestionsPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/purchasing/suggestions") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            let suggestions = try await ReorderSuggestions.compute(store: store)
            var suppliers: [String: String] = [:]
            for id in Set(suggestions.compactMap(\.supplier)) { suppliers[id] = try await store.get("supplier", id)?.string("name") ?? "" }
            let plans = try await store.all("purchase_plan", filter: ModuleStore.eq("status", "open"), sort: "-number")
            return web.render("purchasing_suggestions", page, [
                "title": web.t("purchasing.suggestions.title", page.locale), "empty": suggestions.isEmpty,
                "suggestions": suggestions.map { suggestion -> [String: Any] in
                    ["product": suggestion.productName, "on_hand": Self.quantity(suggestion.onHand), "on_order": Self.quantity(suggestion.onOrder),
                     "demand": Self.quantity(suggestion.demand), "minimum": Self.quantity(suggestion.minimum), "quantity": Self.quantity(suggestion.quantity),
                     "supplier": suggestion.supplier.flatMap { suppliers[$0] } ?? "—", "price": suggestion.price.map { Money.text($0) } ?? "—",
                     "reason": web.t("purchasing.suggestions.reasons.\(suggestion.reason)", page.locale)]
                },
                "plans": plans.map { ["id": $0.idText, "number": $0.string("number") ?? "", "title": $0.string("title") ?? "", "href": "/app/purchase_plan/\($0.idText)"] },
                "has_plans": !plans.isEmpty, "notice": notice(request, page.locale),
            ])
        }
    }

    @Sendable func makePlan(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form, current: "/app/purchasing/suggestions") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            do {
                _ = try await ReorderSuggestions.plan(title: nil, neededBy: nil, store: store)
            } catch let error as AtriumError where error.status == .unprocessableContent {
                return WebApp.redirect("/app/purchasing/suggestions?notice=nothing_to_plan")
            }
            return WebApp.redirect("/app/purchasing/suggestions?notice=plan_created")
        }
    }

    @Sendable func orderPlan(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form, current: "/app/purchasing/suggestions") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            let orders = try await ReorderSuggestions.orders(plan: id, store: store)
            guard let first = orders.first else { return WebApp.redirect("/app/purchasing/suggestions") }
            return WebApp.redirect("/app/purchasing/orders/\(first.idText)?notice=order_created")
        }
    }

    @Sendable func orderPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "purchase_order") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            let order = try await store.get("purchase_order", id)
            let lines = try await store.all("purchase_order_line", filter: ModuleStore.eq("purchase_order", order.idText), sort: "created_at")
            let names = try await Self.productNames(lines.compactMap { $0.string("product") }, store: store)
            let supplier = try await store.get("supplier", order.string("supplier"))
            let warehouses = try await store.all("warehouse", sort: "code").filter { $0.values["active"] != .bool(false) }
            let receipts = try await store.all("stock_receipt", filter: ModuleStore.eq("purchase_order", order.idText), sort: "number")
            let status = order.string("status") ?? "draft"
            let field = page.entities["purchase_order"]?.field("status")
            let receivable = PurchaseOrderRules.receivableStatuses.contains(status)
            return web.render("purchasing_order", page, [
                "title": "\(web.t("purchasing.order.title", page.locale)) \(order.string("number") ?? "")",
                "id": order.idText, "number": order.string("number") ?? "", "supplier": supplier?.string("name") ?? "",
                "status": field.map { page.format.text(.string(status), field: $0) } ?? status, "status_key": status,
                "order_date": order.string("order_date") ?? "", "subtotal": Money.text(order.money("subtotal")), "tax": Money.text(order.money("tax_total")),
                "total": Money.text(order.money("total")), "received_amount": Money.text(order.money("received_amount")),
                "lines": lines.map { line -> [String: Any] in
                    let ordered = StockLedger.number(line.values["quantity"]), received = StockLedger.number(line.values["received_quantity"])
                    let product = names[line.string("product") ?? ""] ?? ("", "")
                    return ["id": line.idText, "product": product.0, "code": product.1, "quantity": Self.quantity(ordered),
                            "unit_price": Money.text(line.money("unit_price")), "tax_rate": line.string("tax_rate") ?? "",
                            "line_total": Money.text(line.money("line_total")), "received": Self.quantity(received),
                            "open": Self.quantity(max(ordered - received, 0)), "receivable": receivable && received < ordered]
                },
                "receipts": receipts.map { ["number": $0.string("number") ?? "", "date": $0.string("received_on") ?? "", "total": Money.text($0.money("total")),
                                            "href": "/app/stock_receipt/\($0.idText)"] },
                "has_receipts": !receipts.isEmpty,
                "warehouses": warehouses.map { ["id": $0.idText, "name": $0.string("name") ?? "", "selected": $0.idText == order.string("warehouse")] },
                "can_send": status == "approved", "can_receive": receivable, "can_close": ["partially_received", "received"].contains(status),
                "can_cancel": ["draft", "returned", "rejected", "approved", "sent"].contains(status),
                "can_edit": PurchaseOrderRules.editableStatuses.contains(status), "record_href": "/app/purchase_order/\(order.idText)",
                "notice": notice(request, page.locale), "error": request.uri.queryParameters["error"].map(String.init) ?? "",
            ])
        }
    }

    @Sendable func receive(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        let lines = form.keys.filter { $0.hasPrefix("qty_") }.sorted().compactMap { key -> PurchasingDocuments.Line? in
            let value = (form[key] ?? "").trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty, value != "0" else { return nil }
            return PurchasingDocuments.Line(source: String(key.dropFirst(4)), quantity: .string(value))
        }
        let back = "/app/purchasing/orders/\(id.uuidString.lowercased())"
        do {
            return try await web.page(request, context, form: form, current: "purchase_order") { page, db in
                let store = store(page, db)
                try await PurchasingModule.requireEnabled(store)
                guard !lines.isEmpty else { return WebApp.redirect("\(back)?notice=nothing_received") }
                _ = try await PurchasingDocuments.receive(order: id, warehouse: form["warehouse"], receivedOn: nil, lines: lines, store: store)
                return WebApp.redirect("\(back)?notice=received")
            }
        } catch let error as AtriumError where [.unprocessableContent, .conflict].contains(error.status) {
            // The error left the transaction, so nothing of the receipt was written; the page says why.
            return WebApp.redirect("\(back)?notice=receive_failed&error=\(Self.query(error.message))")
        }
    }

    @Sendable func move(_ request: Request, context: AtriumContext, _ move: PurchaseOrderRules.Move) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        let back = "/app/purchasing/orders/\(id.uuidString.lowercased())"
        return try await web.page(request, context, form: form, current: "purchase_order") { page, db in
            let store = store(page, db)
            try await PurchasingModule.requireEnabled(store)
            _ = try await PurchaseOrderRules.move(id, move, store: store)
            return WebApp.redirect("\(back)?notice=\(move.rawValue)")
        }
    }

    static func query(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}

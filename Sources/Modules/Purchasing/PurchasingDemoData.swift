import Foundation
import Platform

/// Sample purchasing for the demo tenant (`atrium-admin demo`), after the sales demo: two
/// suppliers with price lists, reorder rules, a Shanghai warehouse next to the main one, a
/// purchase order approved, sent and received in full (opening stock), one received in part
/// (still open), and the sales demo's server order delivered from stock. Everything goes
/// through the record and approval engines, so stock, costs, payables and statuses are real.
enum PurchasingDemoData {
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        let boss = RecordEngine.Actor(user: demo.admin, access: .system)
        let store = ModuleStore(engine: demo.engine, actor: boss, connection: demo.connection, logger: demo.logger)
        guard try await store.all("supplier").isEmpty else { return }
        let approvals = ApprovalEngine(records: demo.engine)
        var products: [String: String] = [:]
        for product in try await store.all("product") { products[product.string("code") ?? ""] = product.idText }
        for (code, name, unit, price, cost) in [("HW-SW24", "24口千兆交换机", "台", "2680.00", "1800.00"), ("HW-SCAN", "无线扫码枪", "把", "399.00", "260.00")]
        where products[code] == nil {
            products[code] = try await store.create("product", ["code": .string(code), "name": .string(name), "category": .string("hardware"), "unit": .string(unit),
                                                                "list_price": .string(price), "cost": .string(cost), "tax_rate": .string("13")]).idText
        }
        guard let server = products["HW-SRV"], let switchID = products["HW-SW24"], let scanner = products["HW-SCAN"] else { return }
        var main = try await store.all("warehouse", filter: ModuleStore.eq("code", "WH01")).first
        if main == nil { main = try await store.create("warehouse", ["code": .string("WH01"), "name": .string("主仓库")]) }
        guard let main else { return }
        _ = try await store.create("warehouse", ["code": .string("WH02"), "name": .string("上海仓"), "address": .string("上海市闵行区莘庄工业区")])
        let lenovo = try await store.create("supplier", [
            "name": .string("联想（北京）有限公司"), "code": .string("S001"), "contact_name": .string("赵敏"), "phone": .string("010-58868888"),
            "tax_id": .string("91110108700000000X"), "bank_name": .string("中国工商银行北京海淀支行"), "bank_account": .string("0200004509000000000"),
            "payment_terms": .string("net30"), "rating": .string("A")])
        let huaqiang = try await store.create("supplier", [
            "name": .string("深圳华强电子供应链有限公司"), "code": .string("S002"), "contact_name": .string("陈伟"), "phone": .string("0755-83000000"),
            "payment_terms": .string("cod"), "rating": .string("B")])
        for (supplier, product, price, minimum, lead, preferred) in [
            (lenovo, server, "30500.00", "1", "10", true), (huaqiang, server, "31200.00", "1", "5", false),
            (huaqiang, switchID, "1800.00", "1", "3", true), (huaqiang, scanner, "260.00", "10", "3", true), (lenovo, switchID, "1850.00", "10", "7", false),
        ] {
            _ = try await store.create("supplier_price", ["supplier": .string(supplier.idText), "product": .string(product), "price": .string(price),
                                                          "min_quantity": .string(minimum), "lead_time_days": .string(lead), "preferred": .bool(preferred),
                                                          "valid_from": .string(ChinaCalendar.day(-90)), "valid_to": .string(ChinaCalendar.day(275))])
        }
        _ = try await store.create("stock_rule", ["product": .string(switchID), "min_quantity": .string("10"), "reorder_quantity": .string("20")])
        _ = try await store.create("stock_rule", ["product": .string(scanner), "min_quantity": .string("30"), "reorder_quantity": .string("50")])
        _ = try await store.create("stock_rule", ["product": .string(server), "min_quantity": .string("2"), "reorder_quantity": .string("4")])

        /// An order approved through the default process (finance approves what needs it) and sent.
        func approvedOrder(_ supplier: Record, _ lines: [(String, String)]) async throws -> Record {
            let order = try await store.create("purchase_order", ["supplier": .string(supplier.idText), "warehouse": .string(main.idText),
                                                                  "expected_date": .string(ChinaCalendar.day(7))])
            for (product, quantity) in lines {
                _ = try await store.create("purchase_order_line", ["purchase_order": .string(order.idText), "product": .string(product), "quantity": .string(quantity)])
            }
            var instance = try await approvals.submit("purchase_order", id: order.id, comment: "请审批", as: boss, on: demo.connection, logger: demo.logger)
            while let task = instance.tasks.first(where: { $0.status == "pending" }) {
                let approver = RecordEngine.Actor(user: demo.people["finance"] ?? demo.admin, access: .system)
                instance = try await approvals.decide(task: task.id, .approve, comment: "同意", as: approver, on: demo.connection, logger: demo.logger)
            }
            return try await PurchaseOrderRules.move(order.id, .send, store: store)
        }
        let opening = try await approvedOrder(huaqiang, [(switchID, "30"), (scanner, "80")])
        _ = try await PurchasingDocuments.receive(order: opening.id, warehouse: nil, receivedOn: ChinaCalendar.day(-20), lines: nil, store: store)
        let servers = try await approvedOrder(lenovo, [(server, "8")])
        let serverLine = try await store.all("purchase_order_line", filter: ModuleStore.eq("purchase_order", servers.idText))
        _ = try await PurchasingDocuments.receive(order: servers.id, warehouse: nil, receivedOn: ChinaCalendar.day(-10),
                                                  lines: serverLine.map { .init(source: $0.idText, quantity: .string("5")) }, store: store)
        // A part payment of the opening order.
        _ = try await store.create("supplier_payment", ["supplier": .string(huaqiang.idText), "paid_on": .string(ChinaCalendar.day(-5)),
                                                        "amount": .string("40000.00"), "method": .string("bank_transfer"), "reference": .string("HQ-20260001")])
        // The sales demo's confirmed server order, delivered from the main warehouse.
        let serverOrders = try await store.all("order_line", filter: ModuleStore.eq("product", server)).compactMap { $0.string("sales_order") }
        for order in try await store.all("sales_order", filter: ModuleStore.eq("status", "confirmed")) where serverOrders.contains(order.idText) {
            _ = try await PurchasingDocuments.deliver(order: order.idText, warehouse: main.idText, lines: nil, store: store)
            break
        }
    }
}

import Foundation
import Logging
import Platform
import PostgresNIO

/// Sample sales data for the demo tenant (`atrium-admin demo`, used by `make run`): Chinese
/// and English customers, contacts, leads, a pipeline in every stage, products, a quote,
/// orders with payment plans and receipts (some overdue), a contract near renewal and this
/// month's targets. Everything is written through the engine, so the rules compute totals,
/// probabilities and history exactly as for a user.
public enum SalesDemoData {
    /// Seeds once: does nothing when the tenant already has accounts.
    /// The module's ``ModuleManifest/demoData``: seeds with the demo's salesperson.
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        guard let salesperson = demo.people["salesperson"] else { return }
        try await seed(engine: demo.engine, admin: demo.admin, salesperson: salesperson.id, on: demo.connection, logger: demo.logger)
    }

    public static func seed(engine: RecordEngine, admin: AuthenticatedUser, salesperson: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let store = ModuleStore(engine: engine, actor: RecordEngine.Actor(user: admin, access: .system), connection: connection, logger: logger)
        guard try await engine.list("account", query: RecordQuery(limit: 1), as: store.actor, on: connection, logger: logger).total == 0 else { return }
        let wang = JSONValue.string(salesperson.uuidString.lowercased())
        let boss = JSONValue.string(admin.id.uuidString.lowercased())
        func day(_ offset: Int) -> String { ChinaCalendar.day(offset) }
        let stages = Dictionary(uniqueKeysWithValues: try await SalesPipeline.stages(store: store).map { ($0.nameEN ?? $0.name, $0.id) })

        var accounts: [String: String] = [:]
        for (name, industry, level, region, phone, owner) in [
            ("北京华通科技有限公司", "it", "A", "华北", "+86 10 6588 1200", wang), ("上海明远贸易有限公司", "retail", "B", "华东", "+86 21 6233 8800", wang),
            ("深圳南方电子股份有限公司", "manufacturing", "A", "华南", "+86 755 8833 2100", boss), ("杭州云帆网络科技", "it", "C", "华东", "+86 571 8866 3300", wang),
            ("成都蜀光医疗器械", "healthcare", "B", "西南", "+86 28 8555 7700", boss), ("Acme Holdings Ltd", "finance", "A", "Overseas", "+1 415 555 0100", boss),
            ("Northwind Traders", "retail", "C", "Overseas", "+44 20 7946 0100", wang), ("武汉长江教育集团", "education", "B", "华中", "+86 27 8777 6600", boss),
        ] {
            let record = try await store.create("account", ["name": .string(name), "industry": .string(industry), "level": .string(level),
                                                            "region": .string(region), "phone": .string(phone), "owner_id": owner, "account_type": .string("customer")])
            accounts[name] = record.idText
        }
        var contacts: [String: String] = [:]
        for (name, account, title, mobile, role, birthday) in [
            ("李明", "北京华通科技有限公司", "信息中心主任", "+86 138 0000 1001", "decision_maker", day(3)), ("赵静", "北京华通科技有限公司", "采购经理", "+86 139 0000 1002", "influencer", "1988-05-12"),
            ("陈强", "上海明远贸易有限公司", "总经理", "+86 137 0000 2001", "decision_maker", "1975-09-30"), ("刘洋", "深圳南方电子股份有限公司", "CIO", "+86 136 0000 3001", "decision_maker", "1980-01-15"),
            ("Sarah Miller", "Acme Holdings Ltd", "VP Operations", "+1 415 555 0111", "decision_maker", "1979-03-08"), ("Tom Baker", "Northwind Traders", "Buyer", "+44 7700 900123", "user", "1990-11-02"),
        ] {
            let record = try await store.create("contact", ["name": .string(name), "account": .string(accounts[account]!), "title": .string(title),
                                                            "mobile": .string(mobile), "decision_role": .string(role), "birthday": .string(birthday)])
            contacts[name] = record.idText
        }
        for (name, company, source, status, owner) in [
            ("王磊", "南京金陵物流", "web_form", "new", wang), ("孙丽", "苏州工业园区设备厂", "phone", "working", wang),
            ("Emma Clark", "Blue Harbor Foods", "campaign", "qualified", boss), ("周杰", "青岛海信达", "referral", "new", boss),
        ] {
            _ = try await store.create("lead", ["name": .string(name), "company": .string(company), "source": .string(source), "status": .string(status), "owner_id": owner])
        }
        var products: [String: String] = [:]
        for (code, name, category, unit, price, cost) in [
            ("CRM-STD", "Atrium CRM 标准版（年）", "software", "用户", "1200.00", "200.00"), ("CRM-PRO", "Atrium CRM 专业版（年）", "software", "用户", "2400.00", "400.00"),
            ("SRV-IMP", "实施服务", "service", "人天", "3000.00", "1500.00"), ("HW-SRV", "机架服务器", "hardware", "台", "38999.00", "31000.00"),
        ] {
            let record = try await store.create("product", ["code": .string(code), "name": .string(name), "category": .string(category), "unit": .string(unit),
                                                            "list_price": .string(price), "cost": .string(cost), "tax_rate": .string(category == "service" ? "6" : "13")])
            products[code] = record.idText
        }
        _ = try await store.create("price_list_item", ["product": .string(products["CRM-PRO"]!), "level": .string("A"), "price": .string("2100.00")])

        // A pipeline in every stage, moved step by step so stage history has durations.
        let path = ["Qualification", "Needs analysis", "Proposal", "Negotiation"]
        for (index, (name, account, amount, months, target, owner)) in [
            ("华通 CRM 升级", "北京华通科技有限公司", "360000", 1, "Negotiation", wang), ("明远门店管理系统", "上海明远贸易有限公司", "120000", 2, "Proposal", wang),
            ("南方电子 ERP 集成", "深圳南方电子股份有限公司", "880000", 3, "Needs analysis", boss), ("云帆客服平台", "杭州云帆网络科技", "45000", 1, "Qualification", wang),
            ("蜀光医疗渠道管理", "成都蜀光医疗器械", "210000", 2, "Proposal", boss), ("Acme global rollout", "Acme Holdings Ltd", "1500000", 4, "Negotiation", boss),
            ("Northwind POS", "Northwind Traders", "60000", 1, "Won", wang), ("长江教育招生 CRM", "武汉长江教育集团", "95000", 2, "Lost", boss),
            ("华通服务器扩容", "北京华通科技有限公司", "156000", 0, "Won", wang), ("明远会员积分", "上海明远贸易有限公司", "30000", 3, "Qualification", wang),
        ].enumerated() {
            var record = try await store.create("opportunity", [
                "name": .string(name), "account": .string(accounts[account]!), "amount": .string(amount), "close_date": .string(day(months * 30 + index)),
                "stage": .string(stages["Qualification"]!), "owner_id": owner, "source": .string(index % 2 == 0 ? "referral" : "web_form")])
            let steps = target == "Won" || target == "Lost" ? path + [target] : Array(path.prefix((path.firstIndex(of: target) ?? 0) + 1))
            for step in steps.dropFirst() {
                var values: [String: JSONValue] = ["stage": .string(stages[step]!)]
                if step == "Lost" { values["lost_reason"] = .string("price") }
                record = try await store.update(record, values)
            }
        }

        // A quote with lines, converted to an order; more orders with plans and receipts.
        let quote = try await store.create("quote", ["name": .string("华通 CRM 升级报价"), "account": .string(accounts["北京华通科技有限公司"]!),
                                                     "valid_until": .string(day(30)), "owner_id": wang])
        _ = try await store.create("quote_line", ["quote": .string(quote.idText), "product": .string(products["CRM-PRO"]!), "quantity": .string("120"), "discount": .string("8")])
        _ = try await store.create("quote_line", ["quote": .string(quote.idText), "product": .string(products["SRV-IMP"]!), "quantity": .string("15")])
        _ = try await SalesActions.convertQuote(quote.id, store: store)

        for (account, owner, ordered, lines, receipts, plan) in [
            ("上海明远贸易有限公司", wang, -95, [("CRM-STD", "50")], [(-60, "30000.00")], [(-65, "35000.00"), (-35, "32800.00")]),
            ("深圳南方电子股份有限公司", boss, -40, [("HW-SRV", "4"), ("SRV-IMP", "10")], [(-20, "100000.00")], []),
            ("Northwind Traders", wang, -12, [("CRM-PRO", "20")], [], [(18, "54240.00")]),
        ] {
            var order = try await store.create("sales_order", ["account": .string(accounts[account]!), "order_date": .string(day(ordered)),
                                                               "due_date": .string(day(ordered + 30)), "owner_id": owner])
            for (code, quantity) in lines {
                _ = try await store.create("order_line", ["sales_order": .string(order.idText), "product": .string(products[code]!), "quantity": .string(quantity)])
            }
            order = try await store.get("sales_order", order.id)
            order = try await store.update(order, ["status": .string("confirmed")])
            for (due, amount) in plan {
                _ = try await store.create("payment_installment", ["sales_order": .string(order.idText), "due_date": .string(day(due)), "amount": .string(amount)])
            }
            for (received, amount) in receipts {
                _ = try await store.create("receipt", ["sales_order": .string(order.idText), "received_on": .string(day(received)), "amount": .string(amount),
                                                       "method": .string("bank_transfer")])
            }
        }
        _ = try await store.create("contract", ["name": .string("深圳南方电子 年度维保合同"), "account": .string(accounts["深圳南方电子股份有限公司"]!),
                                                "start_date": .string(day(-340)), "end_date": .string(day(25)), "amount": .string("86000"),
                                                "status": .string("active"), "owner_id": boss])
        let month = String(day(0).prefix(7))
        _ = try await store.create("sales_target", ["period": .string(month), "user": wang, "order_target": .string("300000"), "collection_target": .string("200000")])
        _ = try await store.create("sales_target", ["period": .string(month), "user": boss, "order_target": .string("500000"), "collection_target": .string("300000")])
        _ = contacts
        // A small customer pool (公海): three customers nobody follows, waiting to be claimed.
        let pool = try await RecordPools.create(["entity": .string("account"), "name": .string("公司公海"), "idle_days": .number(60),
                                                 "claim_limit": .number(20)], engine: engine, as: store.actor, on: connection, logger: logger)
        for (name, region) in [("厦门鹭岛食品有限公司", "华南"), ("天津港航物流", "华北"), ("西安古城文旅发展", "西北")] {
            let record = try await store.create("account", ["name": .string(name), "region": .string(region), "level": .string("C"),
                                                            "account_type": .string("prospect"), "owner_id": boss])
            _ = try await RecordPools.release("account", id: record.id, to: pool.id, reason: "前任销售离职，待重新分配", engine: engine, as: store.actor,
                                              on: connection, logger: logger)
        }
    }
}

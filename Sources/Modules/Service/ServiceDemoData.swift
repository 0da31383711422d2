import Foundation
import Logging
import Platform
import PostgresNIO

/// Demo records for the service desk: a round-robin queue (after-sales team 1) with the demo
/// agent and the administrator, assets under and out of warranty on the sales demo's
/// customers, and cases in every state — open, breached, waiting, resolved, closed with survey
/// answers — played on the service clock over the last days, so the SLA times are real (once).
enum ServiceDemoData {
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        let admin = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        // Once: the queue is the demo's mark (won demo deals may already have opened onboarding cases).
        guard try await admin.all("service_queue").isEmpty else { return }
        let agentUser = demo.people["service_agent"] ?? demo.admin
        let agent = admin.acting(as: RecordEngine.Actor(user: agentUser, access: .system))
        let accounts = try await admin.all("account", sort: "created_at")
        guard accounts.count >= 2 else { return }
        let contacts = try await admin.all("contact", sort: "created_at")
        func contact(of account: Record) -> String? { contacts.first { $0.string("account") == account.idText }?.idText }
        let now = Date()
        func ago(_ days: Double, hours: Double = 0) -> Date { now.addingTimeInterval(-(days * 86_400 + hours * 3600)) }
        func at<T: Sendable>(_ date: Date, _ body: () async throws -> T) async throws -> T {
            try await ServiceClock.$override.withValue(date) { try await body() }
        }

        let queue = try await admin.create("service_queue", ["name": .string("售后一组 / After-sales team 1"), "rule": .string("round_robin"),
                                                             "supervisor": .string(demo.admin.id.uuidString.lowercased()),
                                                             "description": .string("电话与微信报修、投诉。Phone and WeChat repairs and complaints.")])
        for person in agentUser.id == demo.admin.id ? [demo.admin] : [agentUser, demo.admin] {
            _ = try await admin.create("service_queue_member", ["queue": .string(queue.idText), "member": .string(person.id.uuidString.lowercased())])
        }
        let today = ChinaCalendar.day(of: now)
        let printer = try await admin.create("service_asset", [
            "name": .string("工业打印机 P-900"), "account": .string(accounts[0].idText), "serial_number": .string("P900-2025-0042"),
            "install_date": .string(ChinaCalendar.day(of: ago(200))), "warranty_end": .string(ChinaCalendar.day(of: now.addingTimeInterval(165 * 86_400))),
            "location": .string("上海浦东工厂 2 号车间"),
        ])
        _ = try await admin.create("service_asset", [
            "name": .string("Label scanner S-20"), "account": .string(accounts[1].idText), "serial_number": .string("S20-7781"),
            "install_date": .string(ChinaCalendar.day(of: ago(100))), "warranty_end": .string(ChinaCalendar.day(of: now.addingTimeInterval(265 * 86_400))),
        ])
        let oldServer = try await admin.create("service_asset", [
            "name": .string("存储服务器 NAS-4"), "account": .string(accounts[1].idText), "serial_number": .string("NAS4-2021-0007"),
            "install_date": .string("2021-03-01"), "warranty_end": .string(today < "2024-03-01" ? today : "2024-03-01"),
        ])

        func open(_ subject: String, type: String, priority: String, account: Record, asset: Record? = nil, opened: Date) async throws -> Record {
            var values: [String: JSONValue] = ["subject": .string(subject), "case_type": .string(type), "priority": .string(priority),
                                               "channel": .string(type == "complaint" ? "wechat" : "phone"), "account": .string(account.idText),
                                               "queue": .string(queue.idText), "description": .string(subject)]
            if let contact = contact(of: account) { values["contact"] = .string(contact) }
            if let asset { values["asset"] = .string(asset.idText) }
            return try await at(opened) { try await admin.create("service_case", values) }
        }
        func move(_ record: Record, to status: String, at date: Date, _ extra: [String: JSONValue] = [:]) async throws -> Record {
            let current = try await admin.get("service_case", record.id)
            var values = extra
            values["status"] = .string(status)
            return try await at(date) { try await agent.update(current, values) }
        }
        func work(_ record: Record, _ summary: String, minutes: Int, at date: Date) async throws {
            _ = try await at(date) {
                try await agent.create("service_work_record", ["service_case": .string(record.idText), "summary": .string(summary),
                                                               "minutes": .number(Decimal(minutes)), "kind": .string("remote")])
            }
        }

        // Open and on time: a repair under warranty, opened an hour ago.
        _ = try await open("打印机卡纸，无法出标签", type: "repair", priority: "high", account: accounts[0], asset: printer, opened: ago(0, hours: 1))
        // Open on an asset out of warranty.
        _ = try await open("NAS-4 硬盘告警", type: "repair", priority: "normal", account: accounts[1], asset: oldServer, opened: ago(0, hours: 2))
        // Breached: urgent, opened four days ago, still in progress.
        let breached = try await open("生产线扫码枪全部离线", type: "request", priority: "urgent", account: accounts[1], opened: ago(4))
        _ = try await move(breached, to: "in_progress", at: ago(3))
        // Waiting for the customer.
        let waiting = try await open("Invoice address change", type: "consultation", priority: "low", account: accounts[0], opened: ago(2))
        _ = try await move(waiting, to: "waiting_customer", at: ago(1, hours: 20))
        // Resolved yesterday.
        let resolved = try await open("How to export the label history?", type: "consultation", priority: "normal", account: accounts[0], opened: ago(2))
        try await work(resolved, "电话指导导出步骤", minutes: 20, at: ago(1, hours: 22))
        _ = try await move(resolved, to: "resolved", at: ago(1, hours: 21), ["resolution": .string("Sent the export guide; the customer confirmed."),
                                                                           "root_cause": .string("usage")])
        // Closed with survey answers: a happy repair and an unhappy complaint.
        let closed = [
            (try await open("打印头更换", type: "repair", priority: "high", account: accounts[0], asset: printer, opened: ago(6)), 5, "工程师很专业，当天解决。"),
            (try await open("投诉：上门服务迟到两小时", type: "complaint", priority: "high", account: accounts[1], opened: ago(5)), 2, "迟到且没有提前通知。"),
        ]
        for (record, score, comment) in closed {
            guard let opened = ServiceClock.date(record.values["opened_at"]) else { continue }
            _ = try await move(record, to: "in_progress", at: opened.addingTimeInterval(1800))
            try await work(record, "上门处理", minutes: 90, at: opened.addingTimeInterval(3600))
            _ = try await move(record, to: "resolved", at: opened.addingTimeInterval(3 * 3600),
                               ["resolution": .string("已处理并回访。"), "root_cause": .string(score > 3 ? "product_defect" : "service_attitude")])
            let closedCase = try await move(record, to: "closed", at: ago(3))
            let token = try await Surveys.issue(for: closedCase, on: demo.connection, logger: demo.logger)
            _ = try await at(ago(2)) {
                try await Surveys.answer(token: token, score: "\(score)", comment: comment, engine: demo.engine, on: demo.connection, logger: demo.logger)
            }
        }
    }
}

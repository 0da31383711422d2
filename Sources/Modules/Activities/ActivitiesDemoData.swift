import Foundation
import Platform

/// A week of follow-ups and tasks for the demo team (once): 王芳 calls, visits and WeChats her
/// customers and leads, the administrator meets his; tasks open, in progress, overdue and done.
/// Related to the sales module's accounts and leads when the tenant has them.
enum ActivitiesDemoData {
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        let admin = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        try await seedEvents(demo, admin: admin)
        if try await admin.all("activity").isEmpty { try await seedFollowUps(demo, admin: admin) }
        try await seedVisitsAndReport(demo, admin: admin)
    }

    /// A week of follow-ups of the salesperson and the administrator, and tasks.
    static func seedFollowUps(_ demo: ModuleDemoContext, admin: ModuleStore) async throws {
        let people = [demo.people["salesperson"], demo.admin].compactMap { $0 }
        let entities = try await demo.engine.entities(on: demo.connection, logger: demo.logger)
        // Each person's own customers and leads (the accounts the sales demo gave them).
        var related: [(entity: String, record: Record)] = []
        for key in ["account", "lead"] where entities[key] != nil {
            related += try await admin.all(key, sort: "created_at").map { (key, $0) }
        }
        func time(_ daysAgo: Int, _ hour: Int) -> JSONValue { .string("\(ChinaCalendar.day(-daysAgo))T\(String(format: "%02d", hour)):30:00+08:00") }
        let plan: [(kind: String, subject: String, notes: String, outcome: String, next: String, minutes: Int)] = [
            ("call", "电话沟通续约意向", "客户对专业版感兴趣，关注价格和实施周期。", "有意向", "发送报价单", 15),
            ("visit", "上门拜访信息中心", "演示了销售漏斗和报表，李主任提出移动端需求。", "需求确认", "准备方案", 90),
            ("wechat", "微信发送产品资料", "发送了产品介绍和案例。", "已读", "三天后电话回访", 5),
            ("meeting", "Solution workshop", "Walked through the import of 20 000 contacts.", "Positive", "Send a proposal", 60),
            ("email", "Quote follow-up", "Sent the revised quote with a 5 % discount.", "Waiting for reply", "Call on Friday", 10),
            ("call", "回款提醒", "提醒客户第二期款项即将到期。", "承诺月底付款", "月底确认到账", 8),
        ]
        for (index, person) in people.enumerated() {
            let store = admin.acting(as: RecordEngine.Actor(user: person, access: .system))
            let mine = related.filter { $0.record.ownerID == person.id }
            guard !mine.isEmpty else { continue }
            for day in 0..<7 {
                let item = plan[(day + index) % plan.count]
                let (entity, record) = mine[(day + index) % mine.count]
                _ = try await store.create("activity", [
                    "kind": .string(item.kind), "subject": .string(item.subject), "notes": .string(item.notes), "outcome": .string(item.outcome),
                    "next_step": .string(item.next), "duration_minutes": .number(Decimal(item.minutes)), "occurred_at": time(day, 9 + day % 8),
                    "related_entity": .string(entity), "related_id": .string(record.idText),
                ])
            }
        }
        // Tasks the administrator gives the salesperson (she is told), and his own.
        let salesperson = demo.people["salesperson"] ?? demo.admin
        let target = related.first { $0.record.ownerID == salesperson.id } ?? related.first
        func about() -> [String: JSONValue] {
            guard let target else { return [:] }
            return ["related_entity": .string(target.entity), "related_id": .string(target.record.idText)]
        }
        let tasks: [(String, UUID, Int, String, String)] = [
            ("准备华通专业版方案", salesperson.id, 2, "high", "open"),
            ("确认第二期回款", salesperson.id, -1, "high", "open"),
            ("整理本周拜访纪要", salesperson.id, 1, "normal", "in_progress"),
            ("Review the Q4 forecast", demo.admin.id, 3, "normal", "open"),
            ("发送产品资料", salesperson.id, -3, "low", "done"),
        ]
        for (subject, assignee, dueIn, priority, status) in tasks {
            var values = about()
            values["subject"] = .string(subject)
            values["assignee"] = .string(assignee.uuidString.lowercased())
            values["priority"] = .string(priority)
            values["due_at"] = .string("\(ChinaCalendar.day(dueIn))T18:00:00+08:00")
            values["reminder_at"] = .string("\(ChinaCalendar.day(dueIn))T09:00:00+08:00")
            let task = try await admin.create("task", values)
            if status != "open" { try await admin.update(task, ["status": .string(status)]) }
        }
    }

    /// A week of the team's calendar (once, also for a tenant seeded before events existed):
    /// the Monday sales meeting as a weekly series the administrator runs with the salesperson
    /// attending, her customer visit and call block, an all-day training, his quarterly review.
    static func seedEvents(_ demo: ModuleDemoContext, admin: ModuleStore) async throws {
        guard try await admin.all("event").isEmpty else { return }
        let salesperson = demo.people["salesperson"] ?? demo.admin
        let organiser = demo.people["sales_manager"] ?? demo.admin
        let zone = Recurrence.tenantZone
        let today = Recurrence.day(ChinaCalendar.today(), zone: zone) ?? Date()
        let monday = Recurrence.calendar(zone).date(byAdding: .day, value: -Recurrence.weekday(today, zone: zone), to: today) ?? today
        func day(_ offset: Int, from base: Date = today) -> String {
            Recurrence.dayText(Recurrence.calendar(zone).date(byAdding: .day, value: offset, to: base) ?? base, zone: zone)
        }
        func at(_ day: String, _ time: String) -> JSONValue { .string("\(day)T\(time):00+08:00") }
        let accounts = try await CalendarWindow.visible("account", filter: ModuleStore.eq("owner_id", salesperson.id.uuidString.lowercased()), store: admin)
        var meeting: [String: JSONValue] = [
            "subject": .string("销售周例会"), "starts_at": at(day(0, from: monday), "09:30"), "ends_at": at(day(0, from: monday), "10:30"),
            "location": .string("总部 3 楼会议室"), "recurrence": .string("weekly"), "recurrence_weekdays": .array([.string("mo")]), "recurrence_count": .number(12),
            "reminder_minutes": .number(15), "notes": .string("回顾上周商机进展，安排本周拜访。"),
        ]
        if salesperson.id != organiser.id { meeting["attendee_ids"] = .string(salesperson.id.uuidString.lowercased()) }
        _ = try await admin.acting(as: RecordEngine.Actor(user: organiser, access: .system)).create("event", meeting)
        let hers = admin.acting(as: RecordEngine.Actor(user: salesperson, access: .system))
        var visit: [String: JSONValue] = ["subject": .string("拜访客户：方案演示"), "starts_at": at(day(1), "14:00"), "ends_at": at(day(1), "15:30"),
                                          "location": .string("北京市海淀区中关村大街 1 号"), "reminder_minutes": .number(60)]
        if let account = accounts.first { visit["related_entity"] = .string("account"); visit["related_id"] = .string(account.idText) }
        _ = try await hers.create("event", visit)
        _ = try await hers.create("event", ["subject": .string("电话回访老客户"), "starts_at": at(day(0), "16:00"), "ends_at": at(day(0), "17:00"), "reminder_minutes": .number(10)])
        _ = try await hers.create("event", ["subject": .string("产品培训（全天）"), "starts_at": at(day(3), "09:00"), "ends_at": at(day(3), "18:00"), "all_day": .bool(true)])
        _ = try await admin.create("event", ["subject": .string("Quarterly business review"), "starts_at": at(day(4), "10:00"), "ends_at": at(day(4), "12:00"),
                                             "location": .string("Board room")])
    }

    /// The salesperson's visits (once): today one customer visited (checked in and out, so its
    /// follow-up is on the customer's timeline) and one still planned, tomorrow one more; then
    /// her daily report of today, pre-filled from her day and submitted to her manager.
    static func seedVisitsAndReport(_ demo: ModuleDemoContext, admin: ModuleStore) async throws {
        guard let salesperson = demo.people["salesperson"], try await admin.all("visit").isEmpty else { return }
        let hers = admin.acting(as: RecordEngine.Actor(user: salesperson, access: .system))
        let accounts = try await CalendarWindow.visible("account", filter: ModuleStore.eq("owner_id", salesperson.id.uuidString.lowercased()), store: admin)
        guard !accounts.isEmpty else { return }
        let today = ChinaCalendar.today(), tomorrow = ChinaCalendar.day(1)
        let purposes = ["演示移动端方案", "商谈续约价格", "回款对账"]
        var visits: [Record] = []
        for (index, account) in accounts.prefix(3).enumerated() {
            visits.append(try await Visits.plan(entity: "account", id: account.id, day: index < 2 ? today : tomorrow, purpose: purposes[index], store: hers))
        }
        if let first = visits.first {
            _ = try await Visits.checkIn(first.id, position: Visits.Position(latitude: .number(Decimal(string: "39.983424")!),
                                                                            longitude: .number(Decimal(string: "116.322987")!), accuracy: .number(35)), store: hers)
            _ = try await Visits.checkOut(first.id, position: .none, notes: "演示了移动端签到和日报，客户希望下周安排试用。", outcome: "同意试用", store: hers)
        }
        guard try await hers.all("work_report", filter: ModuleStore.eq("owner_id", salesperson.id.uuidString.lowercased())).isEmpty else { return }
        let report = try await WorkReports.open(kind: "daily", day: today, store: hers)
        let planned = try await hers.update(report, ["next_plans": .string("明天上午拜访客户，确认试用安排；下午整理本周商机。")])
        _ = try await WorkReports.submit(planned.id, store: hers)
    }
}

import Foundation
import Logging
import Platform
import PostgresNIO

/// Sample expenses for the demo tenant (`atrium-admin demo`): 王芳 (salesperson, 销售部, reports
/// to the administrator) has a trip request, a claim waiting for her manager (over the travel
/// budget), one waiting for finance (李强) and one paid. Everything goes through the record and
/// approval engines, so totals, flags, statuses and the audit trail are real.
public enum ExpensesDemoData {
    /// Seeds once: does nothing when the tenant already has claims.
    /// The module's ``ModuleManifest/demoData``: claims by the demo's salesperson, paid by its finance user.
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        guard let salesperson = demo.people["salesperson"], let finance = demo.people["finance"] else { return }
        try await seed(engine: demo.engine, admin: demo.admin, salesperson: salesperson, finance: finance, on: demo.connection, logger: demo.logger)
    }

    public static func seed(engine: RecordEngine, admin: AuthenticatedUser, salesperson: AuthenticatedUser, finance: AuthenticatedUser,
                            on connection: PostgresConnection, logger: Logger) async throws {
        let boss = RecordEngine.Actor(user: admin, access: .system)
        let wang = RecordEngine.Actor(user: salesperson, access: .system)
        let li = RecordEngine.Actor(user: finance, access: .system)
        let store = ModuleStore(engine: engine, actor: wang, connection: connection, logger: logger)
        guard try await engine.list("expense_claim", query: RecordQuery(limit: 1), as: boss, on: connection, logger: logger).total == 0 else { return }
        let approvals = ApprovalEngine(records: engine)
        let categories = Dictionary(uniqueKeysWithValues: try await store.all("expense_category").map { ($0.string("code") ?? "", $0.idText) })
        let today = ExpenseAnalysis.today()
        func day(_ offset: Int) -> String { ChinaCalendar.day(offset) }
        let account = try await engine.list("account", query: RecordQuery(filter: ModuleStore.eq("name", "北京华通科技有限公司"), limit: 1),
                                            as: boss, on: connection, logger: logger).records.first?.idText
        // This month's travel budget of 王芳's department: 1 000.00 (the Beijing trip goes over it).
        if let department = try await connection.query("SELECT department_id FROM users WHERE id = \(salesperson.id)", logger: logger)
            .collect().first?.decode(UUID?.self) {
            _ = try await store.acting(as: boss).create("expense_budget", [
                "department": .string(department.uuidString.lowercased()), "month": .string(String(today.prefix(7))),
                "category": .string(categories["travel"]!), "amount": .string("1000.00")])
        }
        var requestValues: [String: JSONValue] = [
            "title": .string("北京出差拜访华通科技"), "purpose": .string("方案交流与合同谈判"), "estimated_amount": .string("2500.00"),
            "trip_start": .string(day(-6)), "trip_end": .string(day(-4)), "destination": .string("北京")]
        if let account { requestValues["account"] = .string(account) }
        let request = try await store.create("expense_request", requestValues)
        let requestSubmission = try await approvals.submit("expense_request", id: request.id, comment: "请审批", as: wang, on: connection, logger: logger)
        for task in requestSubmission.tasks where task.status == "pending" {
            _ = try await approvals.decide(task: task.id, .approve, comment: "同意", as: boss, on: connection, logger: logger)
        }

        func claim(_ title: String, lines: [(String, String, Int, String)], request: Record? = nil) async throws -> Record {
            var values: [String: JSONValue] = ["title": .string(title)]
            if let request { values["request"] = .string(request.idText) }
            if let account { values["account"] = .string(account) }
            let claim = try await store.create("expense_claim", values)
            for (category, amount, offset, description) in lines {
                _ = try await store.create("expense_line", ["claim": .string(claim.idText), "category": .string(categories[category]!),
                                                            "date": .string(day(offset)), "amount": .string(amount), "description": .string(description)])
            }
            return claim
        }
        func approve(_ instance: ApprovalEngine.Instance, as actor: RecordEngine.Actor) async throws -> ApprovalEngine.Instance {
            var current = instance
            for task in instance.tasks where task.status == "pending" && task.approverID == actor.user.id {
                current = try await approvals.decide(task: task.id, .approve, comment: "同意", as: actor, on: connection, logger: logger)
            }
            return current
        }

        // Waiting for the manager (the administrator): over the travel budget and over the request.
        let beijing = try await claim("北京出差报销", lines: [("travel", "1280.00", -6, "往返高铁"), ("hotel", "880.00", -5, "酒店两晚"),
                                                         ("meals", "236.50", -5, "工作餐")], request: request)
        _ = try await approvals.submit("expense_claim", id: beijing.id, comment: "含酒店发票", as: wang, on: connection, logger: logger)
        // Approved by the manager, waiting for finance.
        let dinner = try await claim("上海客户招待", lines: [("entertainment", "1500.00", -3, "客户晚宴")])
        _ = try await approve(try await approvals.submit("expense_claim", id: dinner.id, as: wang, on: connection, logger: logger), as: boss)
        // Approved by both and paid.
        let transport = try await claim("上月市内交通费", lines: [("transport", "126.40", -20, "出租车"), ("transport", "200.00", -18, "网约车")])
        var paid = try await approvals.submit("expense_claim", id: transport.id, as: wang, on: connection, logger: logger)
        paid = try await approve(paid, as: boss)
        _ = try await approve(paid, as: li)
        _ = try await ExpenseActions.pay(transport.id, .init(paidOn: today, method: "bank_transfer", reference: "HX-2026-0001"),
                                         store: store.acting(as: li))
    }
}

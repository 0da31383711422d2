import AtriumApp
import Foundation
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Testing

/// The scheduler (issues 15/16): periodic jobs run per tenant in the tenant's RLS context, once
/// across app nodes, when the (injected) clock says they are due — and the first job on it,
/// task reminders.
@Suite(.serialized) struct SchedulerTests {
    /// A clock a test moves by hand.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Date
        init(_ start: Date) { value = start }
        var now: Date { lock.withLock { value } }
        func advance(_ seconds: TimeInterval) { lock.withLock { value = value.addingTimeInterval(seconds) } }
    }

    /// Counts runs per tenant.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [UUID: Int] = [:]
        func add(_ tenant: UUID) { lock.withLock { counts[tenant, default: 0] += 1 } }
        func count(_ tenant: UUID) -> Int { lock.withLock { counts[tenant] ?? 0 } }
    }

    /// Runs `body` with a database pool for schedulers built by `make`.
    static func withDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        let config = try await TestEnvironment.ready()
        let database = Database(url: config.databaseURL, poolSize: 4, logger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await body(database)
        }
    }

    static func scheduler(_ database: Database, jobs: [ScheduledJob], clock: Clock, node: String, tenants: Set<UUID>) throws -> Scheduler {
        var configuration = Scheduler.Configuration()
        configuration.clock = { clock.now }
        configuration.node = node
        configuration.onlyTenants = tenants
        configuration.hold = .seconds(300)
        return Scheduler(database: database, engine: RecordEngine(catalog: try TestEnvironment.catalog()), jobs: jobs,
                         configuration: configuration, logger: TestEnvironment.logger)
    }

    /// One of the server's jobs (`job`, as the server defines it), on `clock`, serving `tenant`
    /// only. Only that job: a job's schedule is one row in `scheduler_jobs` for all tenants, so
    /// a test that ran every job on its moved clock would move the other jobs' next runs under
    /// the suites running beside it (a digest test once found its job not due).
    static func hostScheduler(_ database: Database, clock: Clock, tenant: UUID, job: String) throws -> Scheduler {
        var configuration = Scheduler.Configuration()
        configuration.clock = { clock.now }
        configuration.onlyTenants = [tenant]
        let catalog = try TestEnvironment.catalog()
        let jobs = AtriumHost.jobs(catalog: catalog).filter { $0.key == job }
        try #require(jobs.count == 1, "the server has no job \(job)")
        return Scheduler(database: database, engine: AtriumHost.recordEngine(catalog: catalog), jobs: jobs, configuration: configuration,
                         logger: TestEnvironment.logger)
    }

    @Test func aDueJobRunsOnceAcrossTwoNodesAndAgainOnlyWhenTheClockSaysSo() async throws {
        let tenant = try await TestEnvironment.provisionTenant("sched")
        let tally = Tally()
        let key = "tests.tally_\(UUID().uuidString.prefix(8).lowercased())"
        let job = ScheduledJob(key: key, every: .seconds(60)) { run in
            // Inside the tenant's RLS context: the tenant's own users are visible, no others.
            let users = try await run.connection.query("SELECT count(*)::int FROM users", logger: run.logger).one(Int.self)
            #expect(users == 1)
            tally.add(run.tenantID)
        }
        let clock = Clock(Date())
        try await Self.withDatabase { database in
            let first = try Self.scheduler(database, jobs: [job], clock: clock, node: "node-a", tenants: [tenant.info.id])
            let second = try Self.scheduler(database, jobs: [job], clock: clock, node: "node-b", tenants: [tenant.info.id])
            async let a = first.runDue()
            async let b = second.runDue()
            let ran = try await [a, b]
            #expect(ran.map(\.count).sorted() == [0, 1], "one node ran the job, the other found it taken")
            #expect(tally.count(tenant.info.id) == 1)

            // Not due again until a minute has passed on the clock.
            clock.advance(30)
            #expect(try await first.runDue().isEmpty)
            clock.advance(31)
            #expect(try await second.runDue() == [key])
            #expect(tally.count(tenant.info.id) == 2)
            let state = try #require(try await first.state(of: key))
            #expect(state.runs == 2 && state.heldBy == nil && state.lastError == nil)
            #expect(abs(state.nextRunAt.timeIntervalSince(clock.now.addingTimeInterval(60))) < 1)

            // A node that claims the job and dies holds it until the hold ends; then another runs it.
            clock.advance(61)
            #expect(try await first.claim(job))
            #expect(try await second.runDue().isEmpty, "held by the dead node")
            clock.advance(301)
            #expect(try await second.runDue() == [key])
            #expect(tally.count(tenant.info.id) == 3)
        }
    }

    @Test func aTenantWhoseRunFailsIsRolledBackAloneAndNamed() async throws {
        let good = try await TestEnvironment.provisionTenant("schedok")
        let bad = try await TestEnvironment.provisionTenant("schedbad")
        let key = "tests.partial_\(UUID().uuidString.prefix(8).lowercased())"
        let job = ScheduledJob(key: key, every: .seconds(60)) { run in
            try await run.connection.query("UPDATE users SET display_name = 'touched by the job'", logger: run.logger)
            if run.tenantID == bad.info.id { throw AtriumError(status: .conflict, code: "boom", message: "this tenant's run fails") }
        }
        try await Self.withDatabase { database in
            let scheduler = try Self.scheduler(database, jobs: [job], clock: Clock(Date()), node: "node-a", tenants: [good.info.id, bad.info.id])
            #expect(try await scheduler.runDue() == [key])
            let state = try #require(try await scheduler.state(of: key))
            #expect(state.lastError?.contains(bad.info.slug) == true)
            #expect(state.lastError?.contains(good.info.slug) == false)
        }
        for (tenant, touched) in [(good, true), (bad, false)] {
            let names = try await TestEnvironment.withAppRole { plain in
                try await plain.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                    try await connection.query("SELECT display_name FROM users", logger: TestEnvironment.logger).collect().map { try $0.decode(String.self) }
                }
            }
            #expect(names.allSatisfy { ($0 == "touched by the job") == touched }, "\(tenant.info.slug): \(names)")
        }
    }

    @Test func aTaskReminderReachesTheAssigneeOnceAndAgainWhenItIsMoved() async throws {
        try await RecordFixtures.withTenant("remind") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let member = try await PermissionFixtures.member(client, tenant, admin, "rep", department: nil, roles: ["salesperson"])
            let start = Date().addingTimeInterval(3600)
            let at = start.formatted(.iso8601)
            let task = try await admin.createID("task", #"{"subject": "Call 华联 back", "assignee": "\#(member.id)", "reminder_at": "\#(at)"}"#)
            _ = try await admin.createID("task", #"{"subject": "Later", "assignee": "\#(member.id)", "reminder_at": "\#(start.addingTimeInterval(86_400).formatted(.iso8601))"}"#)
            let done = try await admin.createID("task", #"{"subject": "Done already", "assignee": "\#(member.id)", "reminder_at": "\#(at)"}"#)
            @Sendable func version(_ id: String) async throws -> Int { try await admin.call(.get, "/api/v1/task/\(id)").json["version"]?.asInt ?? 0 }
            let finished = try await admin.call(.patch, "/api/v1/task/\(done)", json: #"{"status": "done", "version": \#(try await version(done))}"#)
            #expect(finished.status == .ok, "\(finished.text)")
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'activities.task_reminders'", logger: TestEnvironment.logger)
            }
            let clock = Clock(start.addingTimeInterval(-120))
            @Sendable func reminders() async throws -> [JSONValue] {
                try await NotificationTests.inbox(member).items.filter { $0["kind"] == .string("activities.task_reminder") }
            }
            try await Self.withDatabase { database in
                let scheduler = try Self.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "activities.task_reminders")
                #expect(try await scheduler.runDue().contains("activities.task_reminders"))
                #expect(try await reminders().isEmpty, "not yet time")
                clock.advance(180)
                #expect(try await scheduler.runDue().contains("activities.task_reminders"))
                let told = try await reminders()
                #expect(told.count == 1, "only the open task whose time has come")
                #expect(told.first?["record_id"] == .string(task))
                #expect(told.first?["text"]?.stringValue?.contains("Call 华联 back") == true, "\(told)")
                clock.advance(61)
                #expect(try await scheduler.runDue().contains("activities.task_reminders"))
                #expect(try await reminders().count == 1, "told once")

                // Moved: the new time is a new reminder.
                let moved = clock.now.addingTimeInterval(30).formatted(.iso8601)
                let move = try await admin.call(.patch, "/api/v1/task/\(task)", json: #"{"reminder_at": "\#(moved)", "version": \#(try await version(task))}"#)
                #expect(move.status == .ok, "\(move.text)")
                clock.advance(61)
                #expect(try await scheduler.runDue().contains("activities.task_reminders"))
                #expect(try await reminders().count == 2)
            }
        }
    }

    @Test func overdueReceivablesReachTheOrderOwnerOncePerInstalment() async throws {
        try await RecordFixtures.withTenant("dunning") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "上海华联"}"#)
            let order = try await api.createID("sales_order", #"{"account": "\#(account)", "order_date": "2026-08-01", "due_date": "2026-09-01"}"#)
            _ = try await api.create("order_line", #"{"sales_order": "\#(order)", "description": "License", "quantity": "10", "unit_price": "1000", "tax_rate": "0"}"#)
            let current = try await api.call(.get, "/api/v1/sales_order/\(order)")
            let confirmed = try await api.call(.patch, "/api/v1/sales_order/\(order)", json: #"{"status": "confirmed", "version": \#(current.version ?? 0)}"#)
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            _ = try await api.create("payment_installment", #"{"sales_order": "\#(order)", "due_date": "2026-09-01", "amount": "4000"}"#)
            _ = try await api.create("payment_installment", #"{"sales_order": "\#(order)", "due_date": "2026-11-01", "amount": "6000"}"#)
            @Sendable func dunning() async throws -> [JSONValue] {
                let inbox = try await api.call(.get, "/api/v1/notifications")
                return inbox.json["notifications"]?.arrayValue?.filter { $0["kind"] == .string("sales.receivable_overdue") } ?? []
            }
            // 2026-10-15, noon in China: the first instalment is overdue, the second is not due yet.
            let clock = Clock(try Date("2026-10-15T04:00:00Z", strategy: .iso8601))
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'sales.receivable_reminders'", logger: TestEnvironment.logger)
            }
            try await Self.withDatabase { database in
                let scheduler = try Self.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "sales.receivable_reminders")
                #expect(try await scheduler.runDue().contains("sales.receivable_reminders"))
                let first = try await dunning()
                #expect(first.count == 1, "\(first)")
                #expect(first.first?["record_id"] == .string(order))
                #expect(first.first?["text"]?.stringValue?.contains("44 days overdue: 4000.00 outstanding") == true, "\(first)")
                clock.advance(3601)
                #expect(try await scheduler.runDue().contains("sales.receivable_reminders"))
                #expect(try await dunning().count == 1, "told once per instalment")
                // 2026-11-23: the second instalment is overdue too.
                clock.advance(39 * 86_400)
                #expect(try await scheduler.runDue().contains("sales.receivable_reminders"))
                #expect(try await dunning().count == 2)
            }
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Testing

/// The service module (first slice of issue 18): cases with their status flow and reopen
/// window, SLA clocks in business hours over weekends and China's holidays (paused while the
/// customer is waiting), escalation once, queue assignment, scope of the lookups, the agents'
/// desk and the satisfaction survey with the per-agent analysis.
@Suite struct ServiceTests {
    typealias Member = PermissionFixtures.Member

    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    /// An instant written in China time, e.g. `2026-09-24T16:00`.
    static func cst(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + ":00+08:00")! }
    static func utc(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// The module's store as the tenant's administrator inside one tenant transaction, for
    /// rules played on the service clock.
    static func withStore(_ prefix: String, _ body: @escaping @Sendable (ModuleStore) async throws -> Void) async throws {
        let tenant = try await TestEnvironment.provisionTenant(prefix)
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let store = ModuleStore(engine: RecordEngine(catalog: catalog), actor: RecordEngine.Actor(user: admin, access: .system),
                                        connection: connection, logger: logger)
                try await body(store)
            }
        }
    }

    static func inTenant(_ tenant: TestEnvironment.Tenant, _ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in try await body(connection) }
        }
    }

    static func at<T: Sendable>(_ date: Date, _ body: () async throws -> T) async throws -> T {
        try await ServiceClock.$override.withValue(date) { try await body() }
    }

    /// Moves a case (by id, at the current version) on the service clock at `date`.
    static func move(_ store: ModuleStore, _ id: UUID, at date: Date, _ values: [String: JSONValue]) async throws -> Record {
        try await at(date) { try await store.update(try await store.get("service_case", id), values) }
    }

    /// PATCH with the version just read.
    static func patch(_ api: RecordAPIClient, _ entity: String, _ id: String, _ values: [String: JSONValue]) async throws -> RecordAPIResponse {
        let version = try #require(try await api.call(.get, "/api/v1/\(entity)/\(id)").version)
        var values = values
        values["version"] = .number(Decimal(version))
        return try await api.call(.patch, "/api/v1/\(entity)/\(id)", json: body(values))
    }

    // MARK: Business hours and the SLA clock

    @Test func businessHoursSkipTheWeekendAndChinasHolidays() {
        let hours = BusinessHours.standard
        // Thursday 17:00 + 240 working minutes: one hour on Thursday, then the Mid-Autumn
        // holiday (Fri 25 Sep 2026) and the weekend, three hours on Monday → Monday 12:00.
        #expect(Self.utc(hours.adding(minutes: 240, to: Self.cst("2026-09-24T17:00"))) == "2026-09-28T04:00:00Z")
        #expect(hours.minutes(from: Self.cst("2026-09-24T17:00"), to: Self.cst("2026-09-28T12:00")) == 240)
        // National Day (1–7 Oct) is off; Saturday 10 Oct is an adjusted working day.
        #expect(Self.utc(hours.adding(minutes: 120, to: Self.cst("2026-09-30T17:00"))) == "2026-10-08T02:00:00Z")
        #expect(hours.minutes(from: Self.cst("2026-10-09T17:00"), to: Self.cst("2026-10-10T10:00")) == 120)
        // Outside working hours the clock starts at the next opening; nothing is counted backwards.
        #expect(Self.utc(hours.adding(minutes: 30, to: Self.cst("2026-12-05T22:00"))) == "2026-12-07T01:30:00Z")
        #expect(hours.minutes(from: Self.cst("2026-12-07T12:00"), to: Self.cst("2026-12-07T11:00")) == 0)
        #expect(ChinaCalendar.isWorkday("2026-10-10") && !ChinaCalendar.isWorkday("2026-10-07") && ChinaCalendar.isWorkday("2026-10-08") && !ChinaCalendar.isWorkday("2026-12-06"))
        // A tenant's own day off counts like a holiday.
        var own = hours
        own.holidays = ["2026-09-28"]
        #expect(Self.utc(own.adding(minutes: 240, to: Self.cst("2026-09-24T17:00"))) == "2026-09-29T04:00:00Z")
    }

    /// Normal priority (240 / 1620 working minutes) opened before the Mid-Autumn holiday,
    /// waiting for the customer for 360 working minutes, resolved after National Day.
    @Test func theSLAClockRunsInBusinessHoursAndPausesWhileWaiting() async throws {
        try await Self.withStore("svc-sla") { store in
            let opened = try await Self.at(Self.cst("2026-09-24T16:00")) {
                try await store.create("service_case", ["subject": "扫码枪无法连接", "priority": "normal"])
            }
            #expect(opened.string("status") == "new")
            #expect(opened.string("opened_at") == "2026-09-24T08:00:00Z")
            #expect(opened.string("response_due_at") == "2026-09-28T03:00:00Z", "Thu 16–18 + Mon 09–11")
            #expect(opened.string("resolution_due_at") == "2026-09-30T08:00:00Z", "Thu 2 h + Mon 9 h + Tue 9 h + Wed 7 h")
            #expect(opened.string("sla_status") == "ok")

            let answered = try await Self.move(store, opened.id, at: Self.cst("2026-09-28T10:00"), ["status": "in_progress"])
            #expect(answered.string("first_response_at") == "2026-09-28T02:00:00Z")
            #expect(answered.decimal("response_minutes") == 180)

            let waiting = try await Self.move(store, opened.id, at: Self.cst("2026-09-28T14:00"), ["status": "waiting_customer"])
            #expect(waiting.string("sla_status") == "paused")
            #expect(waiting.string("paused_at") == "2026-09-28T06:00:00Z")

            // Back Tuesday 11:00: Mon 14–18 and Tue 09–11 did not count; the 1200 minutes left at
            // the pause run from now, over the National Day holiday, to Thursday 8 Oct 13:00.
            let resumed = try await Self.move(store, opened.id, at: Self.cst("2026-09-29T11:00"), ["status": "in_progress"])
            #expect(resumed.decimal("paused_minutes") == 360)
            #expect(resumed.string("resolution_due_at") == "2026-10-08T05:00:00Z", "\(resumed.values)")
            #expect(resumed.values["paused_at"] == nil)

            // Resolving without a resolution names the field; with one it stamps the times.
            do {
                _ = try await Self.move(store, opened.id, at: Self.cst("2026-10-08T12:00"), ["status": "resolved"])
                Issue.record("resolved without a resolution")
            } catch let error as AtriumError {
                #expect(error.status == .unprocessableContent && error.field == "resolution")
            }
            let resolved = try await Self.move(store, opened.id, at: Self.cst("2026-10-08T12:00"), ["status": "resolved", "resolution": "换了蓝牙模块"])
            #expect(resolved.string("resolved_at") == "2026-10-08T04:00:00Z")
            #expect(resolved.decimal("resolution_minutes") == 1560, "1920 working minutes since opening less 360 paused")
            #expect(resolved.string("sla_status") == "ok")

            // The same case resolved an hour after its due time is breached.
            let late = try await Self.at(Self.cst("2026-09-24T16:00")) {
                try await store.create("service_case", ["subject": "Late one", "priority": "normal"])
            }
            _ = try await Self.move(store, late.id, at: Self.cst("2026-09-28T10:00"), ["status": "in_progress"])
            let breached = try await Self.move(store, late.id, at: Self.cst("2026-09-30T17:00"), ["status": "resolved", "resolution": "done"])
            #expect(breached.string("sla_status") == "breached")
        }
    }

    @Test func aCaseReopensWithinTheWindowAndNotAfter() async throws {
        try await Self.withStore("svc-reopen") { store in
            let start = Self.cst("2026-11-02T10:00")
            let record = try await Self.at(start) { try await store.create("service_case", ["subject": "Reopen me", "case_type": "complaint"]) }
            _ = try await Self.move(store, record.id, at: start.addingTimeInterval(600), ["status": "in_progress"])
            _ = try await Self.move(store, record.id, at: start.addingTimeInterval(3600), ["status": "resolved", "resolution": "Refunded"])
            // Six days later: within the default seven.
            let reopened = try await Self.move(store, record.id, at: start.addingTimeInterval(6 * 86_400), ["status": "in_progress"])
            #expect(reopened.string("status") == "in_progress" && reopened.decimal("reopen_count") == 1)
            #expect(reopened.values["resolved_at"] == nil)
            let resolvedAgain = start.addingTimeInterval(6 * 86_400 + 3600)
            _ = try await Self.move(store, record.id, at: resolvedAgain, ["status": "resolved"])
            _ = try await Self.move(store, record.id, at: resolvedAgain.addingTimeInterval(86_400), ["status": "closed"])
            // Eight days after the second resolution: refused, naming status and the window.
            do {
                _ = try await Self.move(store, record.id, at: resolvedAgain.addingTimeInterval(8 * 86_400), ["status": "in_progress"])
                Issue.record("reopened after the window")
            } catch let error as AtriumError {
                #expect(error.status == .unprocessableContent)
                #expect(error.field == "status")
                #expect(error.message.contains("within 7 days"), "\(error.message)")
            }
            #expect(try await store.get("service_case", record.id).string("status") == "closed")
            // A tenant with a 30-day window may.
            let settings = try #require(try await store.all("service_settings").first)
            try await store.update(settings, ["reopen_days": .number(30)])
            let late = try await Self.move(store, record.id, at: resolvedAgain.addingTimeInterval(8 * 86_400), ["status": "in_progress"])
            #expect(late.decimal("reopen_count") == 2)
        }
    }

    @Test func statusMovesAlongTheFlowOverTheAPI() async throws {
        try await RecordFixtures.withTenant("svc-flow") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let id = try await api.createID("service_case", #"{"subject": "Printer jams", "case_type": "repair", "priority": "high"}"#)
            for (status, field) in [("closed", "status"), ("someday", "status")] {
                let refused = try await Self.patch(api, "service_case", id, ["status": .string(status)])
                #expect(refused.status == .unprocessableContent, "\(status): \(refused.text)")
                #expect(refused.errorField == field)
            }
            let startsResolved = try await api.call(.post, "/api/v1/service_case", json: #"{"subject": "x", "status": "resolved"}"#)
            #expect(startsResolved.status == .unprocessableContent && startsResolved.errorField == "status")
            // Computed SLA fields are the rule's, not the caller's.
            let forged = try await Self.patch(api, "service_case", id, ["sla_status": "ok"])
            #expect(forged.status == .forbidden && forged.errorField == "sla_status", "\(forged.text)")
            let stored = try await api.call(.get, "/api/v1/service_case/\(id)")
            #expect(stored.json["number"]?.stringValue?.hasPrefix("CS-") == true)
            #expect(stored.json["response_target_minutes"] == .string("60") || stored.json["response_target_minutes"] == .number(60), "\(stored.text)")
            // Service tasks are the activities module's tasks related to the case.
            let task = try await api.create("task", Self.body(["subject": "Send a replacement part", "related_entity": "service_case", "related_id": .string(id)]))
            #expect(task["related_title"] == .string("Printer jams"), "\(task)")
            let timeline = try await api.call(.get, "/api/v1/service_case/\(id)/timeline")
            #expect(timeline.json["items"]?.arrayValue?.contains { $0["type"] == .string("task") } == true, "\(timeline.text)")
        }
    }

    // MARK: Escalation

    @Test func aBreachWarnsThenEscalatesToTheManagerExactlyOnce() async throws {
        try await RecordFixtures.withTenant("svc-esc") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let agent = try await PermissionFixtures.member(client, tenant, admin, "agent", department: nil, roles: ["service_agent"])
            let boss = try await PermissionFixtures.member(client, tenant, admin, "boss", department: nil, roles: ["service_agent"])
            let managed = try await admin.call(.patch, "/api/v1/admin/users/\(agent.id)", json: #"{"manager_id": "\#(boss.id)"}"#)
            #expect(managed.status == .ok, "\(managed.text)")
            let created = try await admin.create("service_case", Self.body(["subject": "产线停机", "priority": "urgent", "owner_id": .string(agent.id)]))
            let id = try #require(created["id"]?.stringValue)
            let due = try #require(ServiceClock.date(created["response_due_at"]))
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'service.sla_sweep'", logger: TestEnvironment.logger)
            }
            @Sendable func told(_ who: Member, _ kind: String) async throws -> [JSONValue] {
                try await NotificationTests.inbox(who).items.filter { $0["kind"] == .string("service.\(kind)") }
            }
            // A minute before the response is due: at risk, the owner is warned.
            let clock = SchedulerTests.Clock(due.addingTimeInterval(-60))
            try await SchedulerTests.withDatabase { database in
                let scheduler = try SchedulerTests.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "service.sla_sweep")
                #expect(try await scheduler.runDue().contains("service.sla_sweep"))
                #expect(try await told(agent, "sla_warning").count == 1)
                #expect(try await admin.call(.get, "/api/v1/service_case/\(id)").json["sla_status"] == .string("warning"))
                #expect(try await told(boss, "sla_breached").isEmpty)
                // Long after: breached, the manager and the owner are told once, however often the sweep runs.
                clock.advance(20 * 86_400)
                #expect(try await scheduler.runDue().contains("service.sla_sweep"))
                clock.advance(61)
                #expect(try await scheduler.runDue().contains("service.sla_sweep"))
                let escalated = try await told(boss, "sla_breached")
                #expect(escalated.count == 1, "\(escalated)")
                #expect(escalated.first?["record_id"] == .string(id))
                #expect(escalated.first?["text"]?.stringValue?.contains("产线停机") == true, "\(escalated)")
                #expect(try await told(agent, "sla_breached").count == 1)
                #expect(try await told(agent, "sla_warning").count == 1)
                #expect(try await admin.call(.get, "/api/v1/service_case/\(id)").json["sla_status"] == .string("breached"))
            }
            let sent = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                    try await connection.query("SELECT kind FROM service_escalations_sent ORDER BY kind", logger: TestEnvironment.logger)
                        .collect().map { try $0.decode(String.self) }
                }
            }
            #expect(sent == ["response_breach", "response_warning"])
        }
    }

    // MARK: Queues

    @Test func queuesAssignRoundRobinAndByFewestOpenCases() async throws {
        try await RecordFixtures.withTenant("svc-assign") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            var agents: [Member] = []
            for name in ["amy", "bob", "cara"] {
                agents.append(try await PermissionFixtures.member(client, tenant, admin, name, department: nil, roles: ["service_agent"]))
            }
            func queue(_ name: String, rule: String) async throws -> String {
                let id = try await admin.createID("service_queue", Self.body(["name": .string(name), "rule": .string(rule)]))
                for agent in agents {
                    _ = try await admin.createID("service_queue_member", Self.body(["queue": .string(id), "member": .string(agent.id)]))
                }
                return id
            }
            func open(_ queue: String, _ subject: String) async throws -> JSONValue {
                try await admin.create("service_case", Self.body(["subject": .string(subject), "queue": .string(queue)]))
            }
            let roundRobin = try await queue("售后一组", rule: "round_robin")
            var owners: [String] = []
            for number in 1...4 {
                let record = try await open(roundRobin, "rr \(number)")
                #expect(record["status"] == .string("assigned"), "\(record)")
                #expect(record["assigned_at"]?.stringValue != nil)
                owners.append(record["owner_id"]?.stringValue ?? "")
            }
            #expect(owners == [agents[0].id, agents[1].id, agents[2].id, agents[0].id])
            // Open now: amy 2, bob 1, cara 1. Fewest open first, ties in the order they joined.
            let fewest = try await queue("售后二组", rule: "least_open")
            var picked: [String] = []
            for number in 1...3 { picked.append(try await open(fewest, "lo \(number)")["owner_id"]?.stringValue ?? "") }
            #expect(picked == [agents[1].id, agents[2].id, agents[0].id])
            // A resolved case no longer counts: bob resolves one and gets the next.
            let bobs = try #require(try await agents[1].api.list("service_case", sort: "created_at").records.first?["id"]?.stringValue)
            #expect(try await Self.patch(agents[1].api, "service_case", bobs, ["status": "resolved", "resolution": "ok"]).status == .ok)
            #expect(try await open(fewest, "lo 4")["owner_id"]?.stringValue == agents[1].id)
            // The assignee is told.
            let inbox = try await NotificationTests.inbox(agents[2])
            #expect(inbox.items.contains { $0["kind"] == .string("service.case_assigned") }, "\(inbox.items)")
            // Pure rule: round robin wraps, an unknown last member starts at the first.
            let (a, b) = (UUID(), UUID())
            #expect(CaseAssignment.pick(rule: "round_robin", members: [a, b], last: b, open: [:]) == a)
            #expect(CaseAssignment.pick(rule: "round_robin", members: [a, b], last: UUID(), open: [:]) == a)
            #expect(CaseAssignment.pick(rule: "least_open", members: [a, b], last: nil, open: [a: 3, b: 2]) == b)
            #expect(CaseAssignment.pick(rule: "manual", members: [a, b], last: nil, open: [:]) == nil)
        }
    }

    /// Agents see their own cases and the unassigned cases of their queues — nobody else's —
    /// and take one from the desk.
    @Test func anAgentSeesHerQueueAndTakesACase() async throws {
        try await RecordFixtures.withTenant("svc-desk") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["service_agent"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: nil, roles: ["service_agent"])
            let manual = try await admin.createID("service_queue", #"{"name": "VIP", "rule": "manual"}"#)
            _ = try await admin.createID("service_queue_member", Self.body(["queue": .string(manual), "member": .string(amy.id)]))
            let waiting = try await admin.create("service_case", Self.body(["subject": "VIP printer down", "queue": .string(manual)]))
            let id = try #require(waiting["id"]?.stringValue)
            #expect(waiting["status"] == .string("new"))
            let bobsOwn = try await bob.api.createID("service_case", #"{"subject": "Bob's own case"}"#)

            let desk = try await amy.api.call(.get, "/api/v1/service/queue")
            #expect(desk.status == .ok, "\(desk.text)")
            #expect(desk.json["unassigned"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            #expect(desk.json["my_cases"]?.arrayValue?.isEmpty == true)
            // Not hers to see: Bob's case; not Bob's: the VIP queue's case.
            #expect(try await amy.api.call(.get, "/api/v1/service_case/\(bobsOwn)").status == .notFound)
            #expect(try await bob.api.call(.get, "/api/v1/service_case/\(id)").status == .notFound)
            #expect(try await bob.api.call(.get, "/api/v1/service/queue").json["unassigned"]?.arrayValue?.isEmpty == true)
            #expect(try await bob.api.call(.post, "/api/v1/service/cases/\(id)/take").status == .notFound)

            let taken = try await amy.api.call(.post, "/api/v1/service/cases/\(id)/take")
            #expect(taken.status == .ok, "\(taken.text)")
            #expect(taken.json["owner_id"] == .string(amy.id) && taken.json["status"] == .string("assigned"))
            let after = try await amy.api.call(.get, "/api/v1/service/queue")
            #expect(after.json["my_cases"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            #expect(after.json["unassigned"]?.arrayValue?.isEmpty == true)
            let again = try await amy.api.call(.post, "/api/v1/service/cases/\(id)/take")
            #expect(again.status == .unprocessableContent && again.errorField == "status")

            // The web desk lists it for her.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/service/queue").body)
            #expect(page.contains(#"data-testid="my-case-row" data-id="\#(id)""#), "\(page.suffix(2000))")
        }
    }

    // MARK: Lookups and scope

    @Test func aCasesCustomerMustBeInTheTenantAndTheCallersScope() async throws {
        try await RecordFixtures.withTenants("svc-scope", "svc-scope-other") { client, tenants in
            let admin = try await RecordAPIClient.admin(client, tenants[0])
            let stranger = try await RecordAPIClient.admin(client, tenants[1])
            let foreign = try await stranger.createID("account", #"{"name": "Other tenant's customer"}"#)
            let refused = try await admin.call(.post, "/api/v1/service_case", json: Self.body(["subject": "x", "account": .string(foreign)]))
            #expect(refused.status.code >= 400 && refused.status.code < 500, "\(refused.text)")
            #expect(refused.errorField == "account", "\(refused.text)")

            // A help-desk role that reads only its own customers cannot open a case on another's.
            let role = try await admin.call(.post, "/api/v1/admin/roles", json: #"""
                {"key": "helpdesk", "labels": {"en": "Help desk"},
                 "grants": {"module:service": {"read": "own", "create": "all", "update": "own"}, "module:sales": {"read": "own", "create": "all"}}}
                """#)
            #expect(role.status == .created, "\(role.text)")
            let desk = try await PermissionFixtures.member(client, tenants[0], admin, "desk", department: nil, roles: ["helpdesk"])
            let others = try await admin.createID("account", #"{"name": "Admin's customer"}"#)
            let mine = try await desk.api.createID("account", #"{"name": "Desk's customer"}"#)
            let outOfScope = try await desk.api.call(.post, "/api/v1/service_case", json: Self.body(["subject": "x", "account": .string(others)]))
            #expect(outOfScope.status.code >= 400 && outOfScope.status.code < 500, "\(outOfScope.text)")
            #expect(outOfScope.errorField == "account")
            #expect(try await admin.count("service_case") == 0, "nothing written by the refusals")
            #expect(try await desk.api.call(.post, "/api/v1/service_case", json: Self.body(["subject": "ok", "account": .string(mine)])).status == .created)

            // An asset must belong to the case's customer; out of warranty is flagged.
            let expired = try await admin.createID("service_asset", Self.body(["name": "NAS", "account": .string(others), "serial_number": "NAS-1",
                                                                                "install_date": "2020-01-01", "warranty_end": "2023-01-01"]))
            let mismatch = try await admin.call(.post, "/api/v1/service_case", json: Self.body(["subject": "x", "account": .string(mine), "asset": .string(expired)]))
            #expect(mismatch.status == .unprocessableContent && mismatch.errorField == "asset", "\(mismatch.text)")
            let flagged = try await admin.create("service_case", Self.body(["subject": "NAS alarm", "asset": .string(expired)]))
            #expect(flagged["out_of_warranty"] == .bool(true))
            #expect(flagged["account"] == .string(others), "the asset's customer")
            let covered = try await admin.createID("service_asset", Self.body(["name": "Printer", "account": .string(others), "serial_number": "P-1",
                                                                                "warranty_end": .string(ChinaCalendar.day(30))]))
            #expect(try await admin.create("service_case", Self.body(["subject": "jam", "asset": .string(covered)]))["out_of_warranty"] == .bool(false))
            let backwards = try await admin.call(.post, "/api/v1/service_asset", json: Self.body(["name": "x", "account": .string(others),
                                                                                                   "install_date": "2026-01-02", "warranty_end": "2026-01-01"]))
            #expect(backwards.status == .unprocessableContent && backwards.errorField == "warranty_end")
        }
    }

    // MARK: Work records, surveys and analysis

    @Test func workSurveyAndAnalysisAreExact() async throws {
        try await RecordFixtures.withTenant("svc-survey") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["service_agent"])
            let account = try await admin.createID("account", #"{"name": "华联超市"}"#)
            let contact = try await admin.createID("contact", Self.body(["name": "刘经理", "account": .string(account), "email": "liu@hualian.test"]))
            // Amy: three cases, one complaint; Admin: one case, a complaint.
            var amys: [String] = []
            for (subject, type) in [("Scanner", "repair"), ("Late engineer", "complaint"), ("Question", "consultation")] {
                amys.append(try await admin.createID("service_case", Self.body(["subject": .string(subject), "case_type": .string(type),
                                                                                  "account": .string(account), "contact": .string(contact),
                                                                                  "owner_id": .string(amy.id)])))
            }
            _ = try await admin.createID("service_case", #"{"subject": "Admin's complaint", "case_type": "complaint"}"#)

            // Work logged on a case counts as the first response and adds up.
            for minutes in [25, 35] {
                let work = try await amy.api.call(.post, "/api/v1/service_work_record", json: Self.body([
                    "service_case": .string(amys[0]), "summary": "Remote session", "minutes": .number(Decimal(minutes))]))
                #expect(work.status == .created, "\(work.text)")
            }
            var first = try await amy.api.call(.get, "/api/v1/service_case/\(amys[0])").json
            #expect(first["work_minutes"] == .string("60") || first["work_minutes"] == .number(60), "\(first)")
            #expect(first["first_response_at"]?.stringValue != nil)
            let noMinutes = try await amy.api.call(.post, "/api/v1/service_work_record", json: Self.body(["service_case": .string(amys[0]), "summary": "x"]))
            #expect(noMinutes.status == .unprocessableContent && noMinutes.errorField == "minutes")

            // Resolve and close two of Amy's cases; the customer answers 5 and 2.
            var links: [String] = []
            for id in amys.prefix(2) {
                #expect(try await Self.patch(amy.api, "service_case", id, ["status": "resolved", "resolution": "Fixed"]).status == .ok)
                #expect(try await Self.patch(amy.api, "service_case", id, ["status": "closed"]).status == .ok)
                let link = try await amy.api.call(.post, "/api/v1/service/cases/\(id)/survey")
                #expect(link.status == .created, "\(link.text)")
                links.append(try #require(link.json["link"]?.stringValue))
            }
            // Closing mailed the contact a link through the outbox.
            let mails = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                    try await connection.query("SELECT payload->>'text' FROM outbox WHERE channel = 'email' AND payload->>'kind' = 'message'",
                                               logger: TestEnvironment.logger).collect().map { try $0.decode(String.self) }
                }
            }
            #expect(mails.count == 2 && mails.allSatisfy { $0.contains("/survey/") }, "\(mails)")
            // The token is stored only as its hash.
            let token = String(links[0].split(separator: "/").last ?? "")
            let stored = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                    try await connection.query("""
                        SELECT count(*) FILTER (WHERE token_hash = \(token))::int, count(*) FILTER (WHERE token_hash = \(SecureToken.hash(token)))::int
                        FROM service_surveys
                        """, logger: TestEnvironment.logger).one((Int, Int).self)
                }
            }
            #expect(stored.0 == 0 && stored.1 == 1, "\(stored)")

            for (link, score) in zip(links, ["5", "2"]) {
                var customer = BrowserSession(client: client, tenant: tenant.info.slug)
                let path = "/survey/" + (link.split(separator: "/").last.map(String.init) ?? "")
                let page = try await customer.send(.get, path)
                #expect(page.status == .ok)
                let csrf = try #require(BrowserSession.csrfToken(in: String(buffer: page.body)))
                let bad = try await customer.send(.post, path, form: ["_csrf": csrf, "score": "6"])
                #expect(bad.status == .unprocessableContent && String(buffer: bad.body).contains(#"data-field="score""#))
                #expect(try await customer.send(.post, path, form: ["score": score]).status == .forbidden, "no CSRF token")
                let answered = try await customer.send(.post, path, form: ["_csrf": csrf, "score": score, "comment": "评价 \(score)"])
                #expect(answered.status == .ok && String(buffer: answered.body).contains("survey-thanks"))
                #expect(try await customer.send(.post, path, form: ["_csrf": csrf, "score": "1"]).status == .conflict, "one answer per link")
            }
            var stranger = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await stranger.send(.get, "/survey/not-a-token").status == .notFound)
            first = try await amy.api.call(.get, "/api/v1/service_case/\(amys[0])").json
            #expect(first["satisfaction"] == .string("5") || first["satisfaction"] == .number(5), "\(first)")
            #expect(first["satisfaction_comment"] == .string("评价 5"))

            let analysis = try await admin.call(.get, "/api/v1/service/analysis")
            #expect(analysis.status == .ok, "\(analysis.text)")
            let rows = analysis.json["agents"]?.arrayValue ?? []
            let amyRow = try #require(rows.first { $0["owner_id"] == .string(amy.id) }, "\(analysis.text)")
            #expect(amyRow["cases"] == .number(3) && amyRow["complaints"] == .number(1))
            #expect(amyRow["complaint_rate"] == .string("0.3333"))
            #expect(amyRow["surveys"] == .number(2) && amyRow["satisfaction"] == .string("3.5"))
            #expect(amyRow["resolved"] == .number(2) && amyRow["sla_compliance"] == .string("1"))
            let adminRow = try #require(rows.first { $0["owner_id"] != .string(amy.id) })
            #expect(adminRow["complaint_rate"] == .string("1") && adminRow["satisfaction"] == .null)
            // Amy's own analysis shows only what she may read.
            #expect(try await amy.api.call(.get, "/api/v1/service/analysis").json["agents"]?.arrayValue?.count == 1)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/service/analysis").body)
            #expect(page.contains(#"data-testid="satisfaction-chart""#), "\(page.suffix(1500))")
        }
    }

    /// The sales link: winning a deal opens one onboarding case for its customer, only while the
    /// tenant has the service module.
    @Test func aWonDealOpensOneOnboardingCase() async throws {
        try await RecordFixtures.withTenant("svc-onboard") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let stages = try await SalesTests.stages(api)
            let account = try await api.createID("account", #"{"name": "新华书店"}"#)
            let deal = try await api.createID("opportunity", Self.body(["name": "门店系统", "account": .string(account), "amount": "50000",
                                                                        "close_date": "2026-12-20", "stage": .string(stages["Qualification"] ?? stages.values.first!)]))
            #expect(try await api.count("service_case") == 0)
            #expect(try await Self.patch(api, "opportunity", deal, ["stage": .string(stages["Won"]!)]).status == .ok)
            let cases = try await api.list("service_case").records
            #expect(cases.count == 1, "\(cases)")
            #expect(cases.first?["related_opportunity"] == .string(deal) && cases.first?["account"] == .string(account))
            #expect(cases.first?["case_type"] == .string("request") && cases.first?["status"] == .string("new"))
            // Reopened and won again: still one case.
            #expect(try await Self.patch(api, "opportunity", deal, ["stage": .string(stages["Negotiation"]!)]).status == .ok)
            #expect(try await Self.patch(api, "opportunity", deal, ["stage": .string(stages["Won"]!)]).status == .ok)
            #expect(try await api.count("service_case") == 1)
            // Without the service module a won deal opens nothing.
            try await Self.inTenant(tenant) { connection in try await TenantModules.disable(["service"], on: connection, logger: TestEnvironment.logger) }
            _ = try await api.createID("opportunity", Self.body(["name": "另一单", "account": .string(account), "amount": "1000",
                                                                  "close_date": "2026-12-20", "stage": .string(stages["Won"]!)]))
            try await Self.inTenant(tenant) { connection in try await TenantModules.enable(["service"], on: connection, logger: TestEnvironment.logger) }
            #expect(try await api.count("service_case") == 1)
        }
    }

    /// The module's demo data: a queue with cases in every state, breached ones among them,
    /// assets under warranty, survey answers; seeding again adds nothing.
    @Test func demoDataSeedsOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("svc-demo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let counts = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let engine = RecordEngine(catalog: catalog)
                try await SalesDemoData.seed(engine: engine, admin: admin, salesperson: admin.id, on: connection, logger: logger)
                let demo = ModuleDemoContext(engine: engine, admin: admin, people: [:], connection: connection, logger: logger)
                try await ServiceDemoData.seed(demo)
                try await ServiceDemoData.seed(demo)
                var counts: [String: Int] = [:]
                for try await (key, count) in try await connection.query("""
                    SELECT entity || ':' || coalesce(data->>'status', '') || ':' || coalesce(data->>'sla_status', ''), count(*)::int FROM records
                    WHERE entity = 'service_case' AND deleted_at IS NULL GROUP BY 1
                    """, logger: logger).decode((String, Int).self) {
                    counts[key] = count
                }
                counts["surveys"] = try await connection.query("SELECT count(*)::int FROM records WHERE entity = 'service_case' AND data ? 'satisfaction'",
                                                               logger: logger).one(Int.self)
                counts["assets"] = try await connection.query("SELECT count(*)::int FROM records WHERE entity = 'service_asset'", logger: logger).one(Int.self)
                return counts
            }
        }
        #expect(counts["service_case:closed:ok"] == 2, "\(counts)")
        #expect(counts["service_case:in_progress:breached"] == 1, "\(counts)")
        #expect(counts["service_case:resolved:ok"] == 1 && counts["service_case:assigned:ok"] == 2, "\(counts)")
        #expect(counts["service_case:waiting_customer:paused"] == 1, "\(counts)")
        #expect(counts["surveys"] == 2 && counts["assets"] == 3, "\(counts)")
    }
}

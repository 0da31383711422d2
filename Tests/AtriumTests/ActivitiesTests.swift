import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// The activities module (first slice of issue 15) over the HTTP API and the web pages:
/// follow-ups and tasks on any record, the last activity date, the dormant list on fixed
/// dates, the task flow, the related record's checks, and the timeline under the viewer's scope.
@Suite struct ActivitiesTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    /// `YYYY-MM-DDT10:00:00+08:00` of the day `offset` days from today (China time).
    static func at(_ offset: Int, hour: Int = 10) -> String { "\(ChinaCalendar.day(offset))T\(String(format: "%02d", hour)):00:00+08:00" }

    /// The same instant as the API writes it (UTC, `Z`).
    static func utc(_ offset: Int, hour: Int = 10) -> String {
        let date = ISO8601DateFormatter().date(from: at(offset, hour: hour))!
        return ISO8601DateFormatter().string(from: date)
    }

    static func log(_ api: RecordAPIClient, _ entity: String, _ id: String, _ subject: String, daysAgo: Int, kind: String = "call") async throws -> String {
        try await api.createID("activity", body(["subject": .string(subject), "kind": .string(kind), "occurred_at": .string(at(-daysAgo)),
                                                 "related_entity": .string(entity), "related_id": .string(id)]))
    }

    static func timeline(_ api: RecordAPIClient, _ entity: String, _ id: String) async throws -> RecordAPIResponse {
        let response = try await api.call(.get, "/api/v1/\(entity)/\(id)/timeline")
        try #require(response.status == .ok, "timeline of \(entity) \(id): \(response.text)")
        return response
    }

    static func lastActivity(_ api: RecordAPIClient, _ entity: String, _ id: String) async throws -> String? {
        try await timeline(api, entity, id).json["last_activity_at"]?.stringValue
    }

    static func dormant(_ api: RecordAPIClient, _ query: String) async throws -> RecordAPIResponse {
        try await api.call(.get, "/api/v1/activities/dormant?\(query)")
    }

    @Test func loggingAnActivityKeepsTheLastActivityDateOfAnyRecord() async throws {
        try await RecordFixtures.withTenant("act-last") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "北京华通科技有限公司"}"#)
            #expect(try await Self.lastActivity(api, "account", account) == nil)

            _ = try await Self.log(api, "account", account, "first call", daysAgo: 10)
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-10))
            let recent = try await Self.log(api, "account", account, "visit", daysAgo: 3, kind: "visit")
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-3))
            // Logging an older follow-up later does not move the date back.
            _ = try await Self.log(api, "account", account, "late note about an old call", daysAgo: 20)
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-3))

            // Binning the latest one goes back to the one before; restoring brings it back.
            #expect(try await api.call(.delete, "/api/v1/activity/\(recent)").status == .noContent)
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-10))
            #expect(try await api.call(.post, "/api/v1/activity/\(recent)/restore").status == .ok)
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-3))

            // Moving an activity to another record recomputes both.
            let other = try await api.createID("account", #"{"name": "上海明远贸易有限公司"}"#)
            let version = try #require(try await api.call(.get, "/api/v1/activity/\(recent)").version)
            let moved = try await api.call(.patch, "/api/v1/activity/\(recent)", json: Self.body(["version": .number(Decimal(version)), "related_id": .string(other)]))
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(moved.json["related_title"] == .string("上海明远贸易有限公司"))
            #expect(try await Self.lastActivity(api, "account", account) == Self.utc(-10))
            #expect(try await Self.lastActivity(api, "account", other) == Self.utc(-3))

            // A tenant's custom object is related like any module entity.
            try await api.createObject(RecordFixtures.simpleObject("x_site"))
            let site = try await api.createID("x_site", #"{"x_name": "Shenzhen plant"}"#)
            _ = try await Self.log(api, "x_site", site, "site visit", daysAgo: 1, kind: "visit")
            #expect(try await Self.lastActivity(api, "x_site", site) == Self.utc(-1))
            // Every write is audited on the activity like on any record.
            let history = try await api.call(.get, "/api/v1/activity/\(recent)/history")
            #expect(history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } == ["record.created", "record.deleted", "record.restored", "record.updated"])
        }
    }

    @Test func dormantRecordsOnFixedDates() async throws {
        try await RecordFixtures.withTenant("act-dormant") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let old = try await amy.api.createID("account", #"{"name": "Old customer"}"#)
            let fresh = try await amy.api.createID("account", #"{"name": "Fresh customer"}"#)
            let never = try await amy.api.createID("account", #"{"name": "Never called"}"#)
            let others = try await admin.createID("account", #"{"name": "Someone else's"}"#)
            _ = try await Self.log(amy.api, "account", old, "call", daysAgo: 40)
            _ = try await Self.log(amy.api, "account", fresh, "call", daysAgo: 10)

            // As of tomorrow, 30 days: only the account last called 40 days ago (the one never
            // called was created today, so it has not been dormant for 30 days yet).
            let tomorrow = try await Self.dormant(amy.api, "days=30&as_of=\(ChinaCalendar.day(1))")
            #expect(tomorrow.status == .ok, "\(tomorrow.text)")
            #expect(tomorrow.records.strings("id") == [old])
            #expect(tomorrow.records.first?["last_activity_at"]?.stringValue == Self.utc(-40))
            // 40 days from now, 30 days: all three of hers, never-called first, then oldest
            // first; the administrator's account is outside her scope.
            let later = try await Self.dormant(amy.api, "entity=account&days=30&as_of=\(ChinaCalendar.day(40))")
            #expect(later.records.strings("id") == [never, old, fresh], "\(later.text)")
            #expect(later.records.first?["last_activity_at"] == .null)
            #expect(later.total == 3)
            // The administrator sees every account; owner=me narrows to his own.
            let all = try await Self.dormant(admin, "days=30&as_of=\(ChinaCalendar.day(40))")
            #expect(Set(all.records.strings("id")) == [never, old, fresh, others])
            #expect(try await Self.dormant(admin, "days=30&as_of=\(ChinaCalendar.day(40))&owner=me").records.strings("id") == [others])
            // Today with the default 30 days: nothing of hers yet... except the old one.
            #expect(try await Self.dormant(amy.api, "").records.strings("id") == [old])

            // Bad parameters name the parameter.
            for (query, field) in [("days=0", "days"), ("days=abc", "days"), ("as_of=2026-13-45", "as_of"), ("entity=no_such_thing", "entity"),
                                   ("entity=Account;drop", "entity"), ("limit=0", "limit")] {
                let refused = try await Self.dormant(amy.api, query)
                #expect(refused.status.code >= 400 && refused.status.code < 500, "\(query): \(refused.text)")
                #expect(refused.errorField == field, "\(query): \(refused.text)")
            }
        }
    }

    @Test func aTaskMovesAlongItsFlowAndStampsCompletion() async throws {
        try await RecordFixtures.withTenant("act-task") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Acme"}"#)
            func patch(_ id: String, _ values: [String: JSONValue]) async throws -> RecordAPIResponse {
                let version = try #require(try await api.call(.get, "/api/v1/task/\(id)").version)
                var values = values
                values["version"] = .number(Decimal(version))
                return try await api.call(.patch, "/api/v1/task/\(id)", json: Self.body(values))
            }
            let task = try await api.create("task", Self.body(["subject": "Send the proposal", "due_at": .string(Self.at(2)),
                                                                "related_entity": "account", "related_id": .string(account)]))
            let id = try #require(task["id"]?.stringValue)
            #expect(task["status"] == .string("open"))
            #expect(task["assignee"]?.stringValue == task["owner_id"]?.stringValue, "no assignee: the creator")
            #expect(task["related_title"] == .string("Acme"))

            #expect(try await patch(id, ["status": "in_progress"]).status == .ok)
            let done = try await patch(id, ["status": "done"])
            #expect(done.status == .ok, "\(done.text)")
            #expect(done.json["completed_at"]?.stringValue?.isEmpty == false)
            // done → in progress is not a step of the flow: 422 naming status, nothing written.
            let refused = try await patch(id, ["status": "in_progress", "subject": "changed"])
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.errorField == "status")
            #expect(refused.errorMessage.contains("done") && refused.errorMessage.contains("in_progress"))
            let stored = try await api.call(.get, "/api/v1/task/\(id)")
            #expect(stored.json["status"] == .string("done") && stored.json["subject"] == .string("Send the proposal"))
            // Reopening clears the completion time; cancelled cannot become done.
            let reopened = try await patch(id, ["status": "open"])
            #expect(reopened.status == .ok)
            #expect(reopened.json["completed_at"] == nil || reopened.json["completed_at"] == .null)
            #expect(try await patch(id, ["status": "cancelled"]).status == .ok)
            let cancelledToDone = try await patch(id, ["status": "done"])
            #expect(cancelledToDone.status == .unprocessableContent && cancelledToDone.errorField == "status")
            // Nobody sets the completion time by hand; a new task starts open; a reminder comes before the due time.
            #expect(try await patch(id, ["completed_at": .string(Self.at(0))]).errorField == "completed_at")
            let startsDone = try await api.call(.post, "/api/v1/task", json: Self.body(["subject": "x", "status": "done"]))
            #expect(startsDone.status == .unprocessableContent && startsDone.errorField == "status", "\(startsDone.text)")
            let lateReminder = try await api.call(.post, "/api/v1/task", json: Self.body(["subject": "x", "due_at": .string(Self.at(1)), "reminder_at": .string(Self.at(2))]))
            #expect(lateReminder.status == .unprocessableContent && lateReminder.errorField == "reminder_at", "\(lateReminder.text)")
            let unknown = try await api.call(.post, "/api/v1/task", json: Self.body(["subject": "x", "status": "someday"]))
            #expect(unknown.status == .unprocessableContent && unknown.errorField == "status")
        }
    }

    /// A task assigned to someone else becomes theirs (their scope reaches it) and tells them.
    @Test func anAssignedTaskBelongsToTheAssignee() async throws {
        try await RecordFixtures.withTenant("act-assign") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let task = try await admin.create("task", Self.body(["subject": "Call Acme back", "assignee": .string(amy.id)]))
            #expect(task["owner_id"]?.stringValue == amy.id)
            let id = try #require(task["id"]?.stringValue)
            #expect(try await amy.api.call(.get, "/api/v1/task/\(id)").status == .ok)
            let inbox = try await amy.api.call(.get, "/api/v1/notifications")
            #expect(inbox.json["notifications"]?.asArray?.contains { $0["kind"] == .string("activities.task_assigned") } == true, "\(inbox.text)")
        }
    }

    @Test func theRelatedRecordMustBeOneTheCallerMayReadInTheTenant() async throws {
        try await RecordFixtures.withTenants("act-rel", "act-rel-other") { client, tenants in
            let admin = try await RecordAPIClient.admin(client, tenants[0])
            let stranger = try await RecordAPIClient.admin(client, tenants[1])
            let foreign = try await stranger.createID("account", #"{"name": "Other tenant's customer"}"#)
            let amy = try await PermissionFixtures.member(client, tenants[0], admin, "amy", department: nil, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenants[0], admin, "bob", department: nil, roles: ["salesperson"])
            let bobs = try await bob.api.createID("account", #"{"name": "Bob's customer"}"#)
            let amys = try await amy.api.createID("account", #"{"name": "Amy's customer"}"#)
            func attempt(_ api: RecordAPIClient, _ entity: String, _ related: [String: JSONValue]) async throws -> RecordAPIResponse {
                var values: [String: JSONValue] = ["subject": "call"]
                values.merge(related) { $1 }
                return try await api.call(.post, "/api/v1/\(entity)", json: Self.body(values))
            }
            let cases: [(RecordAPIClient, String, [String: JSONValue], String)] = [
                (admin, "activity", ["related_entity": "account", "related_id": .string(foreign)], "related_id"),   // another tenant's
                (amy.api, "activity", ["related_entity": "account", "related_id": .string(bobs)], "related_id"),    // out of her scope
                (amy.api, "task", ["related_entity": "account", "related_id": .string(bobs)], "related_id"),
                (amy.api, "activity", ["related_entity": "no_such_object", "related_id": .string(amys)], "related_entity"),
                (amy.api, "activity", ["related_entity": "account", "related_id": "not-an-id"], "related_id"),
                (amy.api, "activity", ["related_entity": "account"], "related_id"),
                (amy.api, "activity", ["related_id": .string(amys)], "related_entity"),
                (amy.api, "activity", [:], "related_entity"),
                (amy.api, "activity", ["related_entity": "account", "related_id": .string(amys), "occurred_at": .string(Self.at(3))], "occurred_at"),
            ]
            for (api, entity, related, field) in cases {
                let refused = try await attempt(api, entity, related)
                #expect(refused.status == .unprocessableContent, "\(related): \(refused.text)")
                #expect(refused.errorField == field, "\(related): \(refused.text)")
            }
            // Nothing was written by the refusals; her own account works.
            #expect(try await admin.count("activity") == 0)
            #expect(try await attempt(amy.api, "activity", ["related_entity": "account", "related_id": .string(amys)]).status == .created)
            // A timeline of a record of another tenant or out of scope is a 404.
            #expect(try await amy.api.call(.get, "/api/v1/account/\(bobs)/timeline").status == .notFound)
            #expect(try await admin.call(.get, "/api/v1/account/\(foreign)/timeline").status == .notFound)
        }
    }

    @Test func aSalespersonsTimelineNeverShowsAColleaguesActivitySheCannotRead() async throws {
        try await RecordFixtures.withTenant("act-scope") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await PermissionFixtures.department(admin, "East", parent: nil)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let boss = try await PermissionFixtures.member(client, tenant, admin, "boss", department: east, roles: ["sales_manager"])
            let account = try await amy.api.createID("account", #"{"name": "Amy's customer"}"#)
            let hers = try await Self.log(amy.api, "account", account, "Amy's call", daysAgo: 2)
            // The manager reads Amy's account (department) and logs his own visit on it.
            let his = try await Self.log(boss.api, "account", account, "Manager's visit", daysAgo: 1, kind: "visit")

            func activityIDs(_ response: RecordAPIResponse) -> [String] {
                (response.json["items"]?.asArray ?? []).filter { $0["type"] == .string("activity") }.compactMap { $0["record"]?["id"]?.stringValue }
            }
            #expect(activityIDs(try await Self.timeline(amy.api, "account", account)) == [hers])
            #expect(try await amy.api.call(.get, "/api/v1/activity/\(his)").status == .notFound)
            #expect(activityIDs(try await Self.timeline(boss.api, "account", account)) == [his, hers])
            // The last activity date is a fact about the customer: the manager's visit counts for everyone.
            #expect(try await Self.lastActivity(amy.api, "account", account) == Self.utc(-1))

            // The record page's timeline follows the same rule.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(page.contains(#"data-testid="timeline""#), "\(page.suffix(2000))")
            #expect(page.contains("Amy&#39;s call") || page.contains("Amy's call"))
            #expect(!page.contains("Manager&#39;s visit") && !page.contains("Manager's visit"))
        }
    }

    @Test func theTimelineIsNewestFirstWithActivitiesTasksAndFieldChanges() async throws {
        try await RecordFixtures.withTenant("act-order") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Timeline Co"}"#)
            let five = try await Self.log(api, "account", account, "five days ago", daysAgo: 5)
            let one = try await Self.log(api, "account", account, "yesterday", daysAgo: 1)
            let three = try await Self.log(api, "account", account, "three days ago", daysAgo: 3)
            let task = try await api.createID("task", Self.body(["subject": "follow up", "related_entity": "account", "related_id": .string(account)]))
            let version = try #require(try await api.call(.get, "/api/v1/account/\(account)").version)
            #expect(try await api.call(.patch, "/api/v1/account/\(account)", json: Self.body(["version": .number(Decimal(version)), "name": "Timeline Co Ltd"])).status == .ok)

            let timeline = try await Self.timeline(api, "account", account)
            let items = timeline.json["items"]?.asArray ?? []
            let times = items.compactMap { $0["at"]?.stringValue }
            #expect(times == times.sorted(by: >), "newest first: \(times)")
            // The rename and the task happened now, the creation of the account a moment before them.
            #expect(items.map { $0["type"]?.stringValue ?? "" } == ["change", "task", "change", "activity", "activity", "activity"], "\(timeline.text)")
            #expect(items[0]["action"] == .string("record.updated"))
            #expect(items[0]["changes"]?["name"]?["after"] == .string("Timeline Co Ltd"))
            #expect(items[1]["record"]?["id"]?.stringValue == task)
            #expect(items.suffix(3).compactMap { $0["record"]?["id"]?.stringValue } == [one, three, five])
            #expect(try await api.call(.get, "/api/v1/account/\(account)/timeline?limit=2").json["items"]?.asArray?.count == 2)
            #expect(try await api.call(.get, "/api/v1/account/\(account)/timeline?limit=0").errorField == "limit")
        }
    }

    @Test func theRecordPageLogsAFollowUpWithItsCSRFToken() async throws {
        try await RecordFixtures.withTenant("act-web") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Web Co"}"#)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(page.contains(#"data-testid="followup-form""#), "\(page.suffix(3000))")
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            let form = ["kind": "visit", "subject": "On-site demo", "occurred_at": "\(ChinaCalendar.day(-1))T02:30", "duration_minutes": "45",
                        "notes": "Showed the pipeline", "outcome": "Interested", "next_step": "Send quote"]
            // Without the token nothing is written.
            #expect(try await browser.send(.post, "/app/activities/log/account/\(account)", form: form).status == .forbidden)
            var withToken = form
            withToken["_csrf"] = csrf
            let posted = try await browser.send(.post, "/app/activities/log/account/\(account)", form: withToken)
            #expect(posted.status == .seeOther, "\(String(buffer: posted.body))")
            #expect(posted.headers[.location] == "/app/account/\(account)?notice=activity_logged#timeline")
            let activities = try await api.list("activity")
            #expect(activities.records.count == 1)
            #expect(activities.records.first?["occurred_at"] == .string("\(ChinaCalendar.day(-1))T02:30:00Z"))
            #expect(activities.records.first?["duration_minutes"] == .string("45"))
            let shown = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(shown.contains("On-site demo"))
            // A follow-up without a subject is shown again with the error, not a 500.
            var empty = withToken
            empty["subject"] = ""
            let refused = try await browser.send(.post, "/app/activities/log/account/\(account)", form: empty)
            #expect(refused.status == .unprocessableContent)
            #expect(String(buffer: refused.body).contains(#"data-field="subject""#))
            // The dormant page renders for the administrator.
            let dormant = try await browser.send(.get, "/app/activities/dormant?days=30")
            #expect(dormant.status == .ok)
        }
    }

    /// The module's demo data: a week of follow-ups on the sales demo's accounts and leads, and
    /// tasks in every state; seeding again adds nothing; the last activity dates are kept.
    @Test func demoDataSeedsAWeekOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("act-demo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let counts = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let engine = RecordEngine(catalog: catalog)
                try await SalesDemoData.seed(engine: engine, admin: admin, salesperson: admin.id, on: connection, logger: logger)
                let demo = ModuleDemoContext(engine: engine, admin: admin, people: [:], connection: connection, logger: logger)
                try await ActivitiesDemoData.seed(demo)
                try await ActivitiesDemoData.seed(demo)
                var counts: [String: Int] = [:]
                for try await (key, count) in try await connection.query("""
                    SELECT entity || ':' || coalesce(data->>'status', ''), count(*)::int FROM records
                    WHERE entity IN ('activity', 'task') AND deleted_at IS NULL GROUP BY 1
                    """, logger: logger).decode((String, Int).self) {
                    counts[key] = count
                }
                counts["touched"] = try await connection.query("SELECT count(*)::int FROM records WHERE last_activity_at IS NOT NULL", logger: logger).one(Int.self)
                return counts
            }
        }
        #expect(counts["activity:"] == 7, "\(counts)")
        #expect(counts["task:open"] == 3 && counts["task:in_progress"] == 1 && counts["task:done"] == 1, "\(counts)")
        #expect((counts["touched"] ?? 0) >= 1 && (counts["touched"] ?? 0) <= 7, "\(counts)")
    }

    /// Every working role logs its own follow-ups; a manager reads the department tree's, the
    /// director everyone's; read-only reads all and writes nothing.
    @Test func theModuleGrantsFollowTheSalesHierarchy() {
        let roles = Dictionary(uniqueKeysWithValues: DefaultRoles.roles(modules: BuiltInModules.all).map { ($0.key, $0.grants["module:activities"] ?? [:]) })
        #expect(roles["salesperson"]?["read"] == .own && roles["salesperson"]?["create"] == .all)
        #expect(roles["sales_manager"]?["read"] == .departmentTree)
        #expect(roles["sales_director"]?["read"] == .all)
        #expect(roles["read_only"] == ["read": .all])
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// Visits (拜访) over the HTTP API and the "my visits" page: a day's plan in order, check-in
/// and check-out with server times and an optional position, the duration, the activity a
/// check-out logs on the account (timeline, last activity), and every refusal naming its field
/// with nothing written.
@Suite struct VisitTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    static func plan(_ api: RecordAPIClient, _ account: String, day: String = ChinaCalendar.today(), sequence: Int? = nil, purpose: String? = nil) async throws -> String {
        var values: [String: JSONValue] = ["related_entity": "account", "related_id": .string(account), "planned_on": .string(day)]
        if let sequence { values["sequence"] = .number(Decimal(sequence)) }
        if let purpose { values["purpose"] = .string(purpose) }
        return try await api.createID("visit", body(values))
    }

    static func visit(_ api: RecordAPIClient, _ id: String) async throws -> JSONValue {
        let response = try await api.call(.get, "/api/v1/visit/\(id)")
        try #require(response.status == .ok, "\(response.text)")
        return response.json
    }

    @Test func checkingInAndOutLogsTheVisitOnTheAccountsTimeline() async throws {
        try await RecordFixtures.withTenant("visit-flow") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "北京华通科技有限公司"}"#)
            let other = try await amy.api.createID("account", #"{"name": "上海明远贸易有限公司"}"#)
            // The day's plan, in the order given (not the order written).
            let second = try await Self.plan(amy.api, other, sequence: 2)
            let first = try await Self.plan(amy.api, account, sequence: 1, purpose: "演示移动端")
            let tomorrow = try await Self.plan(amy.api, other, day: ChinaCalendar.day(1), sequence: 1)
            let plan = try await amy.api.call(.get, "/api/v1/visits/plan")
            #expect(plan.status == .ok, "\(plan.text)")
            #expect(plan.json["visits"]?.asArray?.strings("id") == [first, second])
            #expect(try await amy.api.call(.get, "/api/v1/visits/plan?date=\(ChinaCalendar.day(1))").json["visits"]?.asArray?.strings("id") == [tomorrow])
            #expect(try await Self.visit(amy.api, first)["status"] == "planned")

            // Checking out first is refused, naming status; nothing is written.
            let early = try await amy.api.call(.post, "/api/v1/visits/\(first)/check-out", json: #"{"notes": "too early"}"#)
            #expect(early.status == .unprocessableContent && early.errorField == "status", "\(early.text)")
            let untouched = try await Self.visit(amy.api, first)
            #expect(untouched["status"] == "planned" && untouched["notes"] == nil && untouched["version"]?.asInt == 1)

            // Check-in with a position: server time, the position kept.
            let before = Date().addingTimeInterval(-1)
            let checkIn = try await amy.api.call(.post, "/api/v1/visits/\(first)/check-in", json: #"{"latitude": 39.983424, "longitude": 116.322987, "accuracy": 35}"#)
            #expect(checkIn.status == .ok, "\(checkIn.text)")
            #expect(checkIn.json["status"] == "checked_in")
            let checkedInAt = try #require(StoredTime.date(checkIn.json["checked_in_at"]))
            #expect(checkedInAt >= before.addingTimeInterval(-1) && checkedInAt <= Date().addingTimeInterval(1))
            #expect(VisitFlow.number(checkIn.json["check_in_latitude"]) == Decimal(string: "39.983424"))
            #expect(VisitFlow.number(checkIn.json["check_in_longitude"]) == Decimal(string: "116.322987"))
            #expect(VisitFlow.number(checkIn.json["check_in_accuracy"]) == 35)
            // A second check-in is refused, naming status.
            let twice = try await amy.api.call(.post, "/api/v1/visits/\(first)/check-in", json: "{}")
            #expect(twice.status == .conflict && twice.errorField == "status", "\(twice.text)")
            #expect(try await ActivitiesTests.lastActivity(amy.api, "account", account) == nil, "no activity before the check-out")

            // Check-out without a position (geolocation refused): the activity is logged.
            let checkOut = try await amy.api.call(.post, "/api/v1/visits/\(first)/check-out", json: #"{"notes": "演示了移动端签到", "outcome": "同意试用"}"#)
            #expect(checkOut.status == .ok, "\(checkOut.text)")
            let done = checkOut.json
            #expect(done["status"] == "done")
            let checkedOutAt = try #require(StoredTime.date(done["checked_out_at"]))
            #expect(checkedOutAt >= checkedInAt)
            #expect(VisitFlow.number(done["duration_minutes"]) == Decimal(Int((checkedOutAt.timeIntervalSince(checkedInAt) / 60).rounded())))
            #expect(done["check_out_latitude"] == nil && done["check_out_longitude"] == nil)
            let activityID = try #require(done["activity_id"]?.stringValue)
            let activity = try await amy.api.call(.get, "/api/v1/activity/\(activityID)")
            #expect(activity.status == .ok, "\(activity.text)")
            #expect(activity.json["kind"] == "visit" && activity.json["related_entity"] == "account" && activity.json["related_id"] == .string(account))
            #expect(activity.json["subject"] == "演示移动端" && activity.json["notes"] == "演示了移动端签到" && activity.json["outcome"] == "同意试用")
            #expect(activity.json["occurred_at"] == done["checked_in_at"])
            #expect(activity.json["owner_id"] == .string(amy.id))
            // On the account's timeline, and its last activity date is the visit's.
            let timeline = try await ActivitiesTests.timeline(amy.api, "account", account)
            #expect(timeline.json["items"]?.asArray?.contains { $0["record"]?["id"] == .string(activityID) || $0["id"] == .string(activityID) } == true, "\(timeline.text)")
            #expect(timeline.json["last_activity_at"] == done["checked_in_at"])
            // A second check-out is refused; the check-in cannot come back; the visited account is fixed.
            let again = try await amy.api.call(.post, "/api/v1/visits/\(first)/check-out", json: "{}")
            #expect(again.status == .conflict && again.errorField == "status", "\(again.text)")
            let version = try #require(done["version"]?.asInt)
            let back = try await amy.api.call(.patch, "/api/v1/visit/\(first)", json: Self.body(["version": .number(Decimal(version)), "status": "checked_in"]))
            #expect(back.status == .unprocessableContent && back.errorField == "status", "\(back.text)")
            let moved = try await amy.api.call(.patch, "/api/v1/visit/\(first)", json: Self.body(["version": .number(Decimal(version)), "related_id": .string(other)]))
            #expect(moved.status == .unprocessableContent && moved.errorField == "related_id", "\(moved.text)")
            // The plan shows it done, the second still planned.
            let after = try await amy.api.call(.get, "/api/v1/visits/plan")
            #expect(after.json["visits"]?.asArray?.compactMap { $0["status"]?.stringValue } == ["done", "planned"])
        }
    }

    @Test func refusedInputNamesTheFieldAndWritesNothing() async throws {
        try await RecordFixtures.withTenant("visit-refused") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "Acme"}"#)
            let bobs = try await bob.api.createID("account", #"{"name": "Bob's customer"}"#)
            let visit = try await Self.plan(amy.api, account)
            let cases: [(String, String)] = [
                (#"{"latitude": 91, "longitude": 116}"#, "check_in_latitude"),
                (#"{"latitude": 39.9, "longitude": -181}"#, "check_in_longitude"),
                (#"{"latitude": 39.9}"#, "check_in_longitude"),
                (#"{"longitude": 116.3}"#, "check_in_latitude"),
                (#"{"accuracy": 20}"#, "check_in_accuracy"),
                (#"{"latitude": "north", "longitude": 116}"#, "check_in_latitude"),
            ]
            for (bad, field) in cases {
                let refused = try await amy.api.call(.post, "/api/v1/visits/\(visit)/check-in", json: bad)
                #expect(refused.status.code >= 400 && refused.status.code < 500 && refused.errorField == field, "\(bad): \(refused.text)")
                let stored = try await Self.visit(amy.api, visit)
                #expect(stored["status"] == "planned" && stored["checked_in_at"] == nil && stored["version"]?.asInt == 1, "\(bad) wrote: \(stored)")
            }
            // A position only comes with its step; times and the activity are computed.
            let sneaky = try await amy.api.call(.patch, "/api/v1/visit/\(visit)", json: #"{"version": 1, "check_in_latitude": 39.9, "check_in_longitude": 116.3}"#)
            #expect(sneaky.status == .unprocessableContent && sneaky.errorField == "check_in_latitude", "\(sneaky.text)")
            let stamped = try await amy.api.call(.patch, "/api/v1/visit/\(visit)", json: #"{"version": 1, "checked_in_at": "2026-01-01T00:00:00Z"}"#)
            #expect(stamped.status == .forbidden && stamped.errorField == "checked_in_at", "\(stamped.text)")
            let skip = try await amy.api.call(.patch, "/api/v1/visit/\(visit)", json: #"{"version": 1, "status": "done"}"#)
            #expect(skip.status == .unprocessableContent && skip.errorField == "status", "\(skip.text)")
            // A new visit starts planned (or checked in), names a record the caller may read, and a day.
            let startsDone = try await amy.api.call(.post, "/api/v1/visit", json: Self.body(["related_entity": "account", "related_id": .string(account),
                                                                                           "planned_on": .string(ChinaCalendar.today()), "status": "done"]))
            #expect(startsDone.status == .unprocessableContent && startsDone.errorField == "status", "\(startsDone.text)")
            let foreign = try await amy.api.call(.post, "/api/v1/visit", json: Self.body(["related_entity": "account", "related_id": .string(bobs),
                                                                                        "planned_on": .string(ChinaCalendar.today())]))
            #expect(foreign.status == .unprocessableContent && foreign.errorField == "related_id", "\(foreign.text)")
            let noDay = try await amy.api.call(.post, "/api/v1/visit", json: Self.body(["related_entity": "account", "related_id": .string(account)]))
            #expect(noDay.status == .unprocessableContent && noDay.errorField == "planned_on", "\(noDay.text)")
            let badDate = try await amy.api.call(.get, "/api/v1/visits/plan?date=2026-02-30")
            #expect(badDate.status == .badRequest && badDate.errorField == "date", "\(badDate.text)")
            // Bob cannot check in at Amy's visit (out of his scope: 404).
            #expect(try await bob.api.call(.post, "/api/v1/visits/\(visit)/check-in", json: "{}").status == .notFound)
            #expect(try await amy.api.count("visit") == 1)
            #expect(try await amy.api.count("activity") == 0)
        }
    }

    @Test func checkingInAtARecordUsesTodaysPlannedVisitOrStartsOne() async throws {
        try await RecordFixtures.withTenant("visit-at") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let planned = try await amy.api.createID("account", #"{"name": "Planned customer"}"#)
            let walkIn = try await amy.api.createID("account", #"{"name": "Walk-in customer"}"#)
            let visit = try await Self.plan(amy.api, planned, sequence: 1)
            let atPlanned = try await amy.api.call(.post, "/api/v1/visits/check-in", json: Self.body(["related_entity": "account", "related_id": .string(planned)]))
            #expect(atPlanned.status == .created, "\(atPlanned.text)")
            #expect(atPlanned.json["id"] == .string(visit) && atPlanned.json["status"] == "checked_in")
            #expect(atPlanned.json["check_in_latitude"] == nil, "no position: geolocation refused")
            let started = try await amy.api.call(.post, "/api/v1/visits/check-in", json: Self.body(["related_entity": "account", "related_id": .string(walkIn),
                                                                                                  "latitude": .number(Decimal(string: "31.2304")!), "longitude": .number(Decimal(string: "121.4737")!), "accuracy": 12]))
            #expect(started.status == .created, "\(started.text)")
            #expect(started.json["id"] != .string(visit) && started.json["status"] == "checked_in")
            #expect(started.json["planned_on"] == .string(ChinaCalendar.today()) && VisitFlow.number(started.json["sequence"]) == 2)
            #expect(VisitFlow.number(started.json["check_in_latitude"]) == Decimal(string: "31.2304"))
            let missing = try await amy.api.call(.post, "/api/v1/visits/check-in", json: #"{"related_entity": "account"}"#)
            #expect(missing.status == .unprocessableContent && missing.errorField == "related_id", "\(missing.text)")
        }
    }

    /// The "my visits" page and the check-in form of an account page's timeline (what the
    /// browser sends when geolocation is refused: empty position fields).
    @Test func theVisitsPageChecksInAndOutWithoutAPosition() async throws {
        try await RecordFixtures.withTenant("visit-page") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "页面拜访客户"}"#)
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: amy.email, password: PermissionFixtures.password)
            let (pageStatus, accountPage, _) = try await browser.get("/app/account/\(account)")
            #expect(pageStatus == .ok)
            #expect(accountPage.contains("/app/visits/at/account/\(account)") && accountPage.contains("data-geo"), "the account page offers a check-in")
            let (status, _, headers) = try await browser.post("/app/visits/at/account/\(account)", ["latitude": "", "longitude": "", "accuracy": ""])
            #expect(status == .seeOther || status == .found, "\(status)")
            #expect(headers[.location]?.hasPrefix("/app/visits?date=\(ChinaCalendar.today())") == true)
            let visits = try await amy.api.call(.get, "/api/v1/visits/plan")
            let visit = try #require(visits.json["visits"]?.asArray?.first)
            let id = try #require(visit["id"]?.stringValue)
            #expect(visit["status"] == "checked_in" && visit["check_in_latitude"] == nil)
            let (listStatus, list, _) = try await browser.get("/app/visits")
            #expect(listStatus == .ok)
            #expect(list.contains("页面拜访客户") && list.contains("/app/visits/\(id)/check-out"))
            #expect(!list.contains("data-testid=\"visit-out\""), "no check-out time before the check-out")
            // A second check-in from the page is refused on the page, naming the field.
            let (twice, refusal, _) = try await browser.post("/app/visits/\(id)/check-in", [:])
            #expect(twice == .conflict && refusal.contains("data-field=\"status\""), "\(twice)")
            let (outStatus, _, _) = try await browser.post("/app/visits/\(id)/check-out", ["notes": "页面签退", "outcome": "", "latitude": "", "longitude": "", "accuracy": ""])
            #expect(outStatus == .seeOther || outStatus == .found)
            let (_, timelinePage, _) = try await browser.get("/app/account/\(account)")
            #expect(timelinePage.contains("data-timeline-type=\"activity\"") && timelinePage.contains("页面拜访客户"))
            let (_, doneList, _) = try await browser.get("/app/visits")
            #expect(doneList.contains("data-status=\"done\""))
        }
    }
}

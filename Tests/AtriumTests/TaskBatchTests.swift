import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// Issue 15's remaining daily-work pieces: one task assigned to several people at once (all or
/// none), completion figures per assignee under the caller's scope, and colleagues and contacts
/// present at a follow-up (checked, and each colleague can read it).
@Suite struct TaskBatchTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    @Test func aBatchMakesOneTaskPerPersonAndCompletionIsCountedPerAssigneeInScope() async throws {
        try await RecordFixtures.withTenant("task-batch") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await PoolTests.department(admin, "华东")
            let west = try await PoolTests.department(admin, "华西")
            let boss = try await PermissionFixtures.member(client, tenant, admin, "boss", department: east, roles: ["sales_manager"])
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let ben = try await PermissionFixtures.member(client, tenant, admin, "ben", department: east, roles: ["salesperson"])
            let wes = try await PermissionFixtures.member(client, tenant, admin, "wes", department: west, roles: ["salesperson"])
            let due = Date().addingTimeInterval(-3600).formatted(.iso8601)  // already overdue

            // A bad person anywhere: nothing is written.
            let refused = try await boss.api.call(.post, "/api/v1/activities/tasks/batch", json: Self.body([
                "subject": .string("月底前回访全部 A 类客户"), "assignees": .array([.string(amy.id), .string(UUID().uuidString)])]))
            #expect(refused.status == .unprocessableContent && refused.errorField == "assignee", "\(refused.text)")
            #expect(try await admin.call(.get, "/api/v1/task").total == 0)
            for (object, field) in [(["subject": JSONValue.string("x"), "assignees": .array([])], "assignees"),
                                    (["subject": .string("x"), "assignees": .array([.string("nobody")])], "assignees"),
                                    (["subject": .string("x"), "assignees": .array([.string(amy.id)]), "status": .string("done")], "status")] {
                let bad = try await boss.api.call(.post, "/api/v1/activities/tasks/batch", json: Self.body(object))
                #expect(bad.status == .unprocessableContent && bad.errorField == field, "\(object): \(bad.text)")
            }

            let made = try await boss.api.call(.post, "/api/v1/activities/tasks/batch", json: Self.body([
                "subject": .string("月底前回访全部 A 类客户"), "due_at": .string(due), "priority": .string("high"),
                "assignees": .array([.string(amy.id), .string(ben.id), .string(wes.id), .string(amy.id)])]))
            #expect(made.status == .created, "\(made.text)")
            let batch = try #require(made.json["batch_id"]?.stringValue)
            let tasks = made.json["tasks"]?.asArray?.compactMap(\.stringValue) ?? []
            #expect(tasks.count == 3, "one per person, duplicates dropped")
            for (task, person) in zip(tasks, [amy, ben, wes]) {
                let record = try await admin.call(.get, "/api/v1/task/\(task)").json
                #expect(record["assignee"] == .string(person.id))
                #expect(record["owner_id"] == .string(person.id))
                #expect(record["batch_id"] == .string(batch))
            }
            // Amy finishes hers; the batch's figures.
            let amys = tasks[0]
            let version = try #require(try await amy.api.call(.get, "/api/v1/task/\(amys)").version)
            #expect(try await amy.api.call(.patch, "/api/v1/task/\(amys)", json: Self.body(["version": .number(Decimal(version)), "status": .string("done")])).status == .ok)
            let seen = try await admin.call(.get, "/api/v1/activities/tasks/completion?batch_id=\(batch)")
            #expect(seen.status == .ok, "\(seen.text)")
            let rows = seen.json["assignees"]?.asArray ?? []
            func row(_ id: String) -> JSONValue? { rows.first { $0["assignee"] == .string(id) } }
            let amyRow = row(amy.id), benRow = row(ben.id), total = seen.json["total"]
            #expect(amyRow?["done"]?.asInt == 1, "\(seen.text)")
            #expect(amyRow?["rate"] == .number(100))
            #expect(benRow?["open"]?.asInt == 1)
            #expect(benRow?["overdue"]?.asInt == 1)
            #expect(benRow?["rate"] == .number(0))
            #expect(total?["total"]?.asInt == 3)
            #expect(total?["rate"] == .number(Decimal(string: "33.3")!), "\(seen.text)")
            // The manager of East sees his department's people, not the West's; Ben only himself.
            let managed = try await boss.api.call(.get, "/api/v1/activities/tasks/completion?batch_id=\(batch)")
            let managedPeople = Set(managed.json["assignees"]?.asArray?.compactMap { $0["assignee"]?.stringValue } ?? [])
            #expect(managedPeople == [amy.id, ben.id], "\(managed.text)")
            let own = try await ben.api.call(.get, "/api/v1/activities/tasks/completion")
            #expect(own.json["assignees"]?.asArray?.compactMap { $0["assignee"]?.stringValue } == [ben.id], "\(own.text)")

            // The pages: the form and the completion table.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: boss.email, password: PermissionFixtures.password).status == .seeOther)
            let form = String(buffer: try await browser.send(.get, "/app/activities/tasks/batch").body)
            #expect(form.contains("name=\"assignees\"") && form.contains(amy.id))
            let table = String(buffer: try await browser.send(.get, "/app/activities/tasks/completion?batch_id=\(batch)").body)
            #expect(table.contains("data-testid=\"completion-row\"") && table.contains("100 %"), "\(table.prefix(300))")
        }
    }

    @Test func colleaguesPresentAtAFollowUpAreCheckedAndMayReadIt() async throws {
        try await RecordFixtures.withTenant("act-people") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let ben = try await PermissionFixtures.member(client, tenant, admin, "ben", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "成都蜀光医疗器械"}"#)
            let contact = try await amy.api.createID("contact", Self.body(["name": .string("刘洋"), "account": .string(account)]))
            let theirs = try await admin.createID("account", #"{"name": "Someone else's customer"}"#)
            let others = try await admin.createID("contact", Self.body(["name": .string("Someone else's contact"), "account": .string(theirs)]))
            func log(_ extra: [String: JSONValue]) async throws -> RecordAPIResponse {
                try await amy.api.call(.post, "/api/v1/activity", json: Self.body(["subject": .string("联合拜访"), "kind": .string("visit"),
                                                                                     "related_entity": .string("account"), "related_id": .string(account)]
                                                                                    .merging(extra) { $1 }))
            }
            for (extra, field) in [(["participant_ids": JSONValue.string(UUID().uuidString)], "participant_ids"),
                                   (["contact_ids": .string(others)], "contact_ids"),
                                   (["contact_ids": .string("not-an-id")], "contact_ids")] {
                let refused = try await log(extra)
                #expect(refused.status == .unprocessableContent && refused.errorField == field, "\(extra): \(refused.text)")
            }
            let logged = try await log(["participant_ids": .string("\(ben.id), \(ben.id)"), "contact_ids": .string(contact)])
            #expect(logged.status == .created, "\(logged.text)")
            #expect(logged.json["participant_ids"] == .string(ben.id))
            #expect(logged.json["contact_ids"] == .string(contact))
            let id = try #require(logged.id)
            #expect(try await ben.api.call(.get, "/api/v1/activity/\(id)").status == .ok, "a colleague present reads it")
            // Taken off the list, he no longer does.
            let version = try #require(logged.version)
            #expect(try await amy.api.call(.patch, "/api/v1/activity/\(id)", json: Self.body(["version": .number(Decimal(version)), "participant_ids": .null])).status == .ok)
            #expect(try await ben.api.call(.get, "/api/v1/activity/\(id)").status == .notFound)
        }
    }

    @Test func theTimelineShowsEventsAboutTheRecordToThoseWhoMayReadThem() async throws {
        try await RecordFixtures.withTenant("act-tl-event") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let ben = try await PermissionFixtures.member(client, tenant, admin, "ben", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "武汉长江教育集团"}"#)
            #expect(try await admin.call(.post, "/api/v1/account/\(account)/shares", json: #"{"kind": "user", "id": "\#(ben.id)", "access": "read"}"#).status == .created)
            let start = Date().addingTimeInterval(86_400)
            let mine = try await amy.api.createID("event", Self.body([
                "subject": .string("方案讲解会"), "starts_at": .string(start.formatted(.iso8601)), "ends_at": .string(start.addingTimeInterval(3600).formatted(.iso8601)),
                "location": .string("武汉"), "related_entity": .string("account"), "related_id": .string(account)]))
            let timeline = try await amy.api.call(.get, "/api/v1/account/\(account)/timeline")
            let events = timeline.json["items"]?.asArray?.filter { $0["type"] == .string("event") } ?? []
            #expect(events.count == 1 && events.first?["record"]?["id"] == .string(mine), "\(timeline.text)")
            // Ben reads the account (shared) but not Amy's event: it is not on his timeline.
            let his = try await ben.api.call(.get, "/api/v1/account/\(account)/timeline")
            #expect(his.status == .ok)
            #expect(his.json["items"]?.asArray?.contains { $0["type"] == .string("event") } == false, "\(his.text)")
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(page.contains("data-timeline-type=\"event\"") && page.contains("方案讲解会"))
        }
    }
}

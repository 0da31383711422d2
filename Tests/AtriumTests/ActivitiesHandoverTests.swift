import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// A handover (issue 15) moves the leaver's daily work too: open tasks assigned to them —
/// also those a colleague owns — go to the heir, done ones stay as history, and the heir takes
/// the leaver's place among the attendees of future events but not of past ones.
@Suite struct ActivitiesHandoverTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    @Test func openTasksAndFutureEventsFollowTheHeir() async throws {
        try await RecordFixtures.withTenant("act-handover") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let leaver = try await PermissionFixtures.member(client, tenant, admin, "leaver", department: nil, roles: ["salesperson"])
            let heir = try await PermissionFixtures.member(client, tenant, admin, "heir", department: nil, roles: ["salesperson"])
            let colleague = try await PermissionFixtures.member(client, tenant, admin, "colleague", department: nil, roles: ["salesperson"])
            let hour: TimeInterval = 3600
            func at(_ hours: Double) -> String { Date().addingTimeInterval(hours * hour).formatted(.iso8601) }
            let open = try await leaver.api.createID("task", Self.body(["subject": .string("发送报价"), "due_at": .string(at(48))]))
            // A colleague's task assigned to the leaver.
            let assigned = try await colleague.api.createID("task", Self.body(["subject": .string("准备演示"), "assignee": .string(leaver.id)]))
            let done = try await leaver.api.createID("task", Self.body(["subject": .string("首次拜访"), "status": .string("in_progress")]))
            let doneVersion = try #require(try await leaver.api.call(.get, "/api/v1/task/\(done)").version)
            #expect(try await leaver.api.call(.patch, "/api/v1/task/\(done)", json: Self.body(["version": .number(Decimal(doneVersion)), "status": .string("done")])).status == .ok)
            let future = try await colleague.api.createID("event", Self.body([
                "subject": .string("客户评审会"), "starts_at": .string(at(72)), "ends_at": .string(at(73)),
                "attendee_ids": .string("\(leaver.id),\(colleague.id)")]))
            let past = try await colleague.api.createID("event", Self.body([
                "subject": .string("上周例会"), "starts_at": .string(at(-72)), "ends_at": .string(at(-71)), "attendee_ids": .string(leaver.id)]))

            let result = try await admin.call(.post, "/api/v1/admin/users/\(leaver.id)/handover", json: Self.body(["to": .string(heir.id)]))
            #expect(result.status == .ok, "\(result.text)")
            #expect(result.json["moved"]?["task.assignee"]?.asInt == 2, "\(result.text)")
            #expect(result.json["moved"]?["event.attendees"]?.asInt == 1, "\(result.text)")

            for id in [open, assigned] {
                let task = try await heir.api.call(.get, "/api/v1/task/\(id)")
                #expect(task.status == .ok && task.json["assignee"] == .string(heir.id) && task.json["owner_id"] == .string(heir.id), "\(task.text)")
            }
            let history = try await admin.call(.get, "/api/v1/task/\(done)")
            #expect(history.json["assignee"] == .string(leaver.id), "a done task keeps who did it: \(history.text)")
            let coming = try await heir.api.call(.get, "/api/v1/event/\(future)")
            #expect(coming.status == .ok, "the heir reads the event through the attendee share: \(coming.text)")
            #expect(coming.json["attendee_ids"] == .string("\(heir.id),\(colleague.id)"), "\(coming.text)")
            #expect(try await admin.call(.get, "/api/v1/event/\(past)").json["attendee_ids"] == .string(leaver.id))
            // The changes are on the records' trails.
            let trail = try await admin.call(.get, "/api/v1/task/\(assigned)/history")
            #expect(trail.json["entries"]?.asArray?.last?["action"] == .string("record.updated"), "\(trail.text)")
        }
    }
}

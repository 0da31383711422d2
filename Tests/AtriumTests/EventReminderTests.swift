import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import Testing

/// Event reminders (issue 15): the scheduler tells an event's owner and attendees when its
/// reminder time comes — for a single event and for today's occurrence of a daily series —
/// once each, on a clock the test moves; an occurrence that has long begun is not told.
@Suite(.serialized) struct EventReminderTests {
    @Test func ownersAndAttendeesAreToldOncePerOccurrence() async throws {
        try await RecordFixtures.withTenant("evremind") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rep = try await PermissionFixtures.member(client, tenant, admin, "rep", department: nil, roles: ["salesperson"])
            let guest = try await PermissionFixtures.member(client, tenant, admin, "guest", department: nil, roles: ["salesperson"])
            let now = Date()
            func at(_ minutes: Double) -> String { now.addingTimeInterval(minutes * 60).formatted(.iso8601) }
            let single = try await admin.createID("event", JSONValue.object([
                "subject": .string("拜访华联"), "starts_at": .string(at(30)), "ends_at": .string(at(90)), "reminder_minutes": .number(15),
                "owner_id": .string(rep.id), "attendee_ids": .string(guest.id), "location": .string("上海"),
            ]).jsonText)
            let daily = try await admin.createID("event", JSONValue.object([
                "subject": .string("晨会"), "starts_at": .string(at(40 - 1440)), "ends_at": .string(at(70 - 1440)), "reminder_minutes": .number(20),
                "recurrence": .string("daily"), "recurrence_count": .number(5),
            ]).jsonText)
            _ = try await admin.createID("event", JSONValue.object([
                "subject": .string("No reminder"), "starts_at": .string(at(5)), "ends_at": .string(at(10)), "owner_id": .string(rep.id),
            ]).jsonText)
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'activities.event_reminders'", logger: TestEnvironment.logger)
            }
            @Sendable func told(_ api: RecordAPIClient) async throws -> [JSONValue] {
                let inbox = try await api.call(.get, "/api/v1/notifications")
                return (inbox.json["notifications"]?.arrayValue ?? []).filter { $0["kind"] == .string("activities.event_reminder") }
            }
            let clock = SchedulerTests.Clock(now)
            try await SchedulerTests.withDatabase { database in
                let scheduler = try SchedulerTests.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "activities.event_reminders")
                #expect(try await scheduler.runDue().contains("activities.event_reminders"))
                let state = try await scheduler.state(of: "activities.event_reminders")
                #expect(state?.lastError == nil, "\(String(describing: state?.lastError))")
                let early = (try await told(rep.api).count, try await told(admin).count)
                #expect(early == (0, 0), "not yet; yesterday's occurrence has long begun")

                clock.advance(16 * 60)
                #expect(try await scheduler.runDue().contains("activities.event_reminders"))
                let repTold = try await told(rep.api)
                #expect(repTold.count == 1 && repTold.first?["record_id"] == .string(single), "\(repTold)")
                #expect(repTold.first?["text"]?.stringValue?.contains("拜访华联") == true, "\(repTold)")
                #expect(try await told(guest.api).count == 1, "the attendee too")
                #expect(try await told(admin).isEmpty, "the series' reminder is at +20 minutes")

                clock.advance(5 * 60)
                #expect(try await scheduler.runDue().contains("activities.event_reminders"))
                let adminTold = try await told(admin)
                #expect(adminTold.count == 1 && adminTold.first?["record_id"] == .string(daily), "\(adminTold)")
                #expect(try await told(rep.api).count == 1, "told once")

                clock.advance(61)
                #expect(try await scheduler.runDue().contains("activities.event_reminders"))
                let counts = [try await told(admin).count, try await told(rep.api).count, try await told(guest.api).count]
                #expect(counts == [1, 1, 1])
            }
        }
    }
}

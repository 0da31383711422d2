import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import Testing

/// The daily e-mail digest (issue 16): a user who asks for it gets one mail from 08:00 China
/// time listing their unread notifications of the last day — through the scheduler, the
/// outbox and a real local SMTP server — once per day, and only if something is unread.
@Suite(.serialized) struct NotificationDigestTests {
    /// Today (China time) at `hour`:`minute`.
    static func chinaToday(_ hour: Int, _ minute: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.date(bySettingHour: hour, minute: minute, second: 0, of: Date())!
    }

    @Test func oneMorningMailListsWhatIsUnreadOncePerDay() async throws {
        let catcher = try OutboxTests.Catcher()
        try await ApprovalTests.withOrg("digest") { _, tenant, org in
            let on = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"digest": true, "email": {"approval.task_assigned": false}}"#)
            #expect(on.status == .ok && on.json["digest"] == .bool(true), "\(on.text)")
            #expect(on.json["email"]?["approval.task_assigned"] == .bool(false))
            let bad = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"digest": "yes"}"#)
            #expect(bad.status == .unprocessableContent && bad.errorField == "digest", "\(bad.text)")
            for title in ["Train to Nanjing", "Hotel in Nanjing"] {
                let claim = try await ApprovalTests.claim(org, org.emp, title, ["200.00"])
                #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            }
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'platform.email_digest'", logger: TestEnvironment.logger)
            }
            let clock = SchedulerTests.Clock(Self.chinaToday(7, 50))
            try await SchedulerTests.withDatabase { database in
                let scheduler = try SchedulerTests.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "platform.email_digest")
                #expect(try await scheduler.runDue().contains("platform.email_digest"))
                try await OutboxTests.withWorker(relay: OutboxTests.relay(catcher), tenants: [tenant.info.id]) { worker in try await worker.runOnce() }
                #expect(try catcher.mails(to: tenant.info.slug).isEmpty, "before 08:00 nothing; the single mails are turned off")

                clock.advance(15 * 60)
                #expect(try await scheduler.runDue().contains("platform.email_digest"))
                try await OutboxTests.withWorker(relay: OutboxTests.relay(catcher), tenants: [tenant.info.id]) { worker in try await worker.runOnce() }
                let mails = try catcher.mails(to: tenant.info.slug)
                try #require(mails.count == 1, "one digest, to the manager only")
                #expect(mails[0].to == [org.mgr.email])
                #expect(mails[0].header("X-Atrium-Notification") == "digest.daily")
                let text = mails[0].plain
                #expect(text.contains("2 unread") && text.contains("Train to Nanjing") && text.contains("Hotel in Nanjing"), "\(text)")
                #expect(text.contains("https://\(tenant.info.slug).crm.test/app/expense_claim/"), "\(text)")

                clock.advance(11 * 60)
                #expect(try await scheduler.runDue().contains("platform.email_digest"))
                try await OutboxTests.withWorker(relay: OutboxTests.relay(catcher), tenants: [tenant.info.id]) { worker in try await worker.runOnce() }
                #expect(try catcher.mails(to: tenant.info.slug).count == 1, "one per day")
            }
        }
    }
}

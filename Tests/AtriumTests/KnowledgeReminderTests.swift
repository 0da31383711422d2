import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import Testing

/// The knowledge base's reminders (issue 19): an article's owner is told once when its review
/// date comes, on a clock the test moves; an announcement's author reminds those who have not
/// read it — exactly them, at most once an hour, audited — and a reader may not.
@Suite(.serialized) struct KnowledgeReminderTests {
    typealias R = KnowledgeReadingTests

    static func told(_ api: RecordAPIClient, _ kind: String) async throws -> [JSONValue] {
        let inbox = try await api.call(.get, "/api/v1/notifications")
        try #require(inbox.status == .ok, "\(inbox.text)")
        return (inbox.json["notifications"]?.arrayValue ?? []).filter { $0["kind"] == .string(kind) }
    }

    @Test func theOwnerIsToldOnceWhenAnArticleIsDueForReview() async throws {
        try await RecordFixtures.withTenant("kbreview") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let faq = try await KnowledgeTests.categoryID(api, named: "FAQ")
            func article(_ title: String, review: Int?, status: String) async throws -> String {
                var values: [String: JSONValue] = ["title": .string(title), "category": .string(faq), "body": "内容"]
                if let review { values["review_by"] = .string(ChinaCalendar.day(review)) }
                let id = try await api.createID("kb_article", JSONValue.object(values).jsonText)
                if status != "draft" {
                    #expect(try await KnowledgeTests.patch(api, "kb_article", id, #"{"status": "\#(status)"}"#).status == .ok)
                }
                return id
            }
            let due = try await article("退货流程", review: 3, status: "published")
            _ = try await article("草稿不提醒", review: 1, status: "draft")
            _ = try await article("没有复审日期", review: nil, status: "published")
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'knowledge.review_due'", logger: TestEnvironment.logger)
            }
            let clock = SchedulerTests.Clock(Date())
            try await SchedulerTests.withDatabase { database in
                let scheduler = try SchedulerTests.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "knowledge.review_due")
                #expect(try await scheduler.runDue().contains("knowledge.review_due"))
                #expect(try await scheduler.state(of: "knowledge.review_due")?.lastError == nil)
                #expect(try await Self.told(api, "knowledge.review_due").isEmpty, "not due yet")

                clock.advance(4 * 86_400)
                #expect(try await scheduler.runDue().contains("knowledge.review_due"))
                let told = try await Self.told(api, "knowledge.review_due")
                #expect(told.count == 1 && told.first?["record_id"] == .string(due), "\(told)")
                #expect(told.first?["text"]?.stringValue?.contains("退货流程") == true, "\(told)")

                clock.advance(3_601)
                #expect(try await scheduler.runDue().contains("knowledge.review_due"))
                #expect(try await Self.told(api, "knowledge.review_due").count == 1, "told once per review date")

                // A new review date arms it again.
                #expect(try await KnowledgeTests.patch(api, "kb_article", due, #"{"review_by": "\#(ChinaCalendar.day(4))"}"#).status == .ok)
                clock.advance(3_601)
                #expect(try await scheduler.runDue().contains("knowledge.review_due"))
                #expect(try await Self.told(api, "knowledge.review_due").count == 2)
            }
        }
    }

    @Test func theAuthorRemindsExactlyTheUnreadAtMostOnceAnHour() async throws {
        try await RecordFixtures.withTenant("kbunread") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let notice = try await api.createID("announcement", #"{"title": "年终盘点通知", "body": "周五盘点。", "starts_on": "\#(ChinaCalendar.day(0))"}"#)
            let ann = try await R.member(client, tenant, "ann"), bo = try await R.member(client, tenant, "bo"), cy = try await R.member(client, tenant, "cy")
            #expect(try await ann.api.call(.post, "/api/v1/knowledge/announcements/\(notice)/read").status == .ok)

            // A reader may not remind.
            let refused = try await bo.api.call(.post, "/api/v1/knowledge/announcements/\(notice)/remind")
            #expect(refused.status == .forbidden, "\(refused.text)")

            let reminded = try await api.call(.post, "/api/v1/knowledge/announcements/\(notice)/remind")
            #expect(reminded.status == .ok, "\(reminded.text)")
            let ids = Set((reminded.json["users"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            #expect(ids == [bo.id.uuidString.lowercased(), cy.id.uuidString.lowercased()], "the unread, not the author: \(reminded.text)")
            #expect(try await Self.told(bo.api, "knowledge.announcement_unread").count == 1)
            #expect(try await Self.told(cy.api, "knowledge.announcement_unread").first?["record_id"] == .string(notice))
            #expect(try await Self.told(ann.api, "knowledge.announcement_unread").isEmpty, "she has read it")
            #expect(try await Self.told(api, "knowledge.announcement_unread").isEmpty, "the author does not remind himself")

            // Again within the hour: a 409 naming when, nobody told twice.
            let again = try await api.call(.post, "/api/v1/knowledge/announcements/\(notice)/remind")
            #expect(again.status == .conflict && again.errorCode == "reminded_recently", "\(again.text)")
            #expect(try await Self.told(bo.api, "knowledge.announcement_unread").count == 1)

            // The act is in the audit trail; the receipts page says when and hides the button.
            let audited = try await BulkImportTests.sqlInt(tenant, "SELECT count(*)::int FROM audit_log WHERE action = 'announcement.reminded' AND record_id = '\(notice)'")
            #expect(audited == 1)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/knowledge/announcements/\(notice)").body)
            #expect(page.contains(#"data-testid="reminded-at""#), "\(page.suffix(2000))")
            #expect(!page.contains(#"data-testid="remind-unread""#))
        }
    }
}

import Foundation
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// The knowledge module (first slice of issue 19), built on the module kit alone: its
/// entities, rules, grants, layouts, set-up and demo data live in Sources/Modules/Knowledge.
@Suite struct KnowledgeTests {
    typealias F = RecordFixtures

    static func categoryID(_ api: RecordAPIClient, named english: String) async throws -> String {
        let page = try await api.list("kb_category", limit: 200)
        return try #require(page.records.first { $0["name_en"] == .string(english) }?["id"]?.stringValue, "no category \(english): \(page.text)")
    }

    /// PATCH with the version just read (updates are optimistically locked).
    static func patch(_ api: RecordAPIClient, _ entity: String, _ id: String, _ body: String) async throws -> RecordAPIResponse {
        let version = try #require(try await api.call(.get, "/api/v1/\(entity)/\(id)").version)
        return try await api.call(.patch, "/api/v1/\(entity)/\(id)", json: #"{"version": \#(version), "# + body.dropFirst())
    }

    @Test func anArticleGoesThroughReviewAndIsStampedWhenPublished() async throws {
        try await F.withTenant("kb") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            // The module's set-up seeded the top categories.
            #expect(try await api.count("kb_category") == KnowledgeDefaults.categories)
            let faq = try await Self.categoryID(api, named: "FAQ")
            let article = try await api.create("kb_article", #"{"title": "如何重置密码", "category": "\#(faq)", "body": "在登录页点击“忘记密码”。"}"#)
            let id = try #require(article["id"]?.stringValue)
            #expect(article["status"] == .string("draft"))
            #expect(article["number"]?.stringValue?.hasPrefix("KB-") == true)
            #expect(article["published_at"] == nil || article["published_at"] == .null)

            let review = try await Self.patch(api, "kb_article", id, #"{"status": "in_review"}"#)
            #expect(review.status == .ok, "\(review.text)")
            let published = try await Self.patch(api, "kb_article", id, #"{"status": "published"}"#)
            #expect(published.status == .ok, "\(published.text)")
            let stamp = try #require(published.json["published_at"]?.stringValue)
            #expect(stamp.hasPrefix(String(ChinaCalendar.day(0).prefix(4))))
            #expect(try await Self.patch(api, "kb_article", id, #"{"status": "archived"}"#).status == .ok)

            // Archived articles go back to draft before anything else; nothing is written.
            let refused = try await Self.patch(api, "kb_article", id, #"{"status": "in_review", "title": "changed"}"#)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.errorField == "status")
            #expect(refused.errorMessage.contains("archived"))
            let stored = try await api.call(.get, "/api/v1/kb_article/\(id)")
            #expect(stored.json["status"] == .string("archived"))
            #expect(stored.json["title"] == .string("如何重置密码"))

            // Chinese search finds the article by a word inside its title.
            let found = try await api.list("kb_article", q: "密码")
            #expect(found.records.strings("id") == [id])
        }
    }

    @Test func categoriesFormATreeAndAnnouncementsAWindow() async throws {
        try await F.withTenant("kbtree") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let playbook = try await Self.categoryID(api, named: "Sales playbook")
            let child = try await api.createID("kb_category", #"{"name": "报价", "parent": "\#(playbook)"}"#)
            let grandchild = try await api.createID("kb_category", #"{"name": "折扣", "parent": "\#(child)"}"#)
            let cycle = try await Self.patch(api, "kb_category", playbook, #"{"parent": "\#(grandchild)"}"#)
            #expect(cycle.status == .unprocessableContent, "\(cycle.text)")
            #expect(cycle.errorField == "parent")
            let itself = try await Self.patch(api, "kb_category", child, #"{"parent": "\#(child)"}"#)
            #expect(itself.status == .unprocessableContent)
            #expect(try await Self.patch(api, "kb_category", grandchild, #"{"parent": "\#(playbook)"}"#).status == .ok)

            let backwards = try await api.call(.post, "/api/v1/announcement",
                                               json: #"{"title": "放假通知", "body": "元旦放假三天。", "starts_on": "2027-01-01", "ends_on": "2026-12-31"}"#)
            #expect(backwards.status == .unprocessableContent)
            #expect(backwards.errorField == "ends_on")
            let notice = try await api.create("announcement", #"{"title": "放假通知", "body": "元旦放假三天。", "starts_on": "2026-12-25", "ends_on": "2027-01-03", "pinned": true}"#)
            #expect(notice["importance"] == .string("normal"))
        }
    }

    /// Salespeople read published articles but not drafts, and do not write; the record page
    /// shows the module's sections.
    @Test func aSalespersonReadsPublishedArticlesButNotDraftsAndDoesNotWrite() async throws {
        try await F.withTenant("kbsales") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let faq = try await Self.categoryID(admin, named: "FAQ")
            let id = try await admin.createID("kb_article", #"{"title": "Export to Excel", "category": "\#(faq)"}"#)
            let draft = try await admin.createID("kb_article", #"{"title": "Unfinished draft", "category": "\#(faq)"}"#)
            #expect(try await Self.patch(admin, "kb_article", id, #"{"status": "published"}"#).status == .ok)
            let member = try await F.createMember(in: tenant, role: "salesperson")
            let sales = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: member.email, password: member.password)
            #expect(try await sales.call(.get, "/api/v1/kb_article/\(id)").status == .ok)
            // The draft is private: a 404, absent from lists, search and counts.
            #expect(try await sales.call(.get, "/api/v1/kb_article/\(draft)").status == .notFound)
            #expect(try await sales.list("kb_article").records.strings("id") == [id])
            #expect(try await sales.list("kb_article", q: "draft").records.isEmpty)
            #expect(try await sales.count("kb_article") == 1)
            #expect(try await sales.call(.get, "/api/v1/knowledge/articles/\(draft)/versions").status == .notFound)
            #expect(try await sales.count("kb_category") == KnowledgeDefaults.categories)
            let write = try await sales.call(.post, "/api/v1/kb_article", json: #"{"title": "Mine", "category": "\#(faq)"}"#)
            #expect(write.status == .forbidden, "\(write.text)")
            let meta = try await sales.call(.get, "/api/v1/meta/kb_article")
            let titles = (meta.json["layouts"]?["detail"]?["sections"]?.arrayValue ?? []).compactMap { $0["title"]?["en"]?.stringValue }
            #expect(titles.starts(with: ["Article", "Content"]), "\(titles)")
        }
    }

    /// The module's demo data: a sub-category, articles in each state, a pinned announcement;
    /// seeding again adds nothing.
    @Test func demoDataSeedsOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("kbdemo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let counts = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let demo = ModuleDemoContext(engine: RecordEngine(catalog: catalog), admin: admin, people: [:], connection: connection, logger: logger)
                try await KnowledgeDemoData.seed(demo)
                try await KnowledgeDemoData.seed(demo)
                var counts: [String: Int] = [:]
                for try await (key, count) in try await connection.query("""
                    SELECT entity || ':' || coalesce(data->>'status', ''), count(*)::int FROM records
                    WHERE entity IN ('kb_article', 'announcement', 'kb_category') GROUP BY 1
                    """, logger: logger).decode((String, Int).self) {
                    counts[key] = count
                }
                return counts
            }
        }
        #expect(counts["kb_article:published"] == 3)
        #expect(counts["kb_article:in_review"] == 1)
        #expect(counts["kb_article:draft"] == 1)
        #expect(counts["announcement:"] == 1)
        #expect(counts["kb_category:"] == KnowledgeDefaults.categories + 1)
    }
}

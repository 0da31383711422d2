import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// Reading the knowledge base (issue 19, second slice): the article page renders the stored
/// Markdown safely, published edits keep versions (diff, restore), helpful votes are one per
/// user, views are counted, and announcements carry read receipts and show on the home page.
@Suite struct KnowledgeReadingTests {
    typealias F = RecordFixtures

    /// A user with a default role and a name of its own (several per tenant).
    static func member(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant, _ name: String,
                       role: String = "salesperson") async throws -> (api: RecordAPIClient, id: UUID, email: String) {
        let email = "\(name)@\(tenant.info.slug).test"
        let password = "Member-password-1"
        let hash = try PasswordHasher(memoryKiB: 1024, iterations: 1, parallelism: 1).hash(password)
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        let id = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                let id = try await UserStore.create(.init(email: email, displayName: name, locale: "en", passwordHash: hash, isAdmin: false),
                                                    tenantID: tenantID, on: connection, logger: logger)
                try await connection.query("""
                    INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, \(id), id FROM roles WHERE key = \(role)
                    """, logger: logger)
                return id
            }
        }
        return (try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: email, password: password), id, email)
    }

    /// The article's revision (numbers are decimal strings in the records API).
    static func revision(_ json: JSONValue) -> Int? {
        json["revision"]?.asInt ?? json["revision"]?.stringValue.flatMap { Int($0) }
    }

    static func publishedArticle(_ api: RecordAPIClient, title: String, body: String) async throws -> String {
        let faq = try await KnowledgeTests.categoryID(api, named: "FAQ")
        let id = try await api.createID("kb_article", #"{"title": "\#(title)", "category": "\#(faq)", "body": \#(JSONValue.string(body).jsonText)}"#)
        let published = try await KnowledgeTests.patch(api, "kb_article", id, #"{"status": "published"}"#)
        try #require(published.status == .ok, "\(published.text)")
        return id
    }

    @Test func publishedEditsKeepVersionsThatDiffAndRestore() async throws {
        try await F.withTenant("kbver") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let id = try await Self.publishedArticle(api, title: "退货流程", body: "第一步：登记\n第二步：质检\n第三步：退款")
            // A draft's edits before publishing keep nothing; the first published edit keeps revision 1.
            var versions = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/versions")
            #expect(versions.json["revisions"]?.arrayValue?.count == 1)
            let edited = try await KnowledgeTests.patch(api, "kb_article", id, #"{"body": "第一步：登记\n第二步：质检并拍照\n第三步：退款"}"#)
            #expect(edited.status == .ok, "\(edited.text)")
            #expect(Self.revision(edited.json) == 2)
            // A change outside the content (tags) keeps no version.
            #expect(Self.revision(try await KnowledgeTests.patch(api, "kb_article", id, #"{"tags": "售后"}"#).json) == 2)
            _ = try await KnowledgeTests.patch(api, "kb_article", id, #"{"title": "退货与换货流程"}"#)

            versions = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/versions")
            let revisions = versions.json["revisions"]?.arrayValue ?? []
            #expect(revisions.compactMap { $0["revision"]?.asInt } == [3, 2, 1], "\(versions.text)")
            #expect(revisions.first?["current"] == .bool(true))
            #expect(revisions.last?["body"]?.stringValue == "第一步：登记\n第二步：质检\n第三步：退款")
            #expect(revisions[1]["title"]?.stringValue == "退货流程")

            let diff = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/diff?from=1&to=3")
            let changed = (diff.json["lines"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue != "same" }
                .map { "\($0["kind"]?.stringValue ?? "") \($0["text"]?.stringValue ?? "")" }
            #expect(changed == ["removed # 退货流程", "added # 退货与换货流程", "removed 第二步：质检", "added 第二步：质检并拍照"], "\(diff.text)")
            #expect(try await api.call(.get, "/api/v1/knowledge/articles/\(id)/diff?from=1&to=9").status == .notFound)

            // Restoring revision 1 is a new revision; revision 3's content is kept.
            let restored = try await api.call(.post, "/api/v1/knowledge/articles/\(id)/versions/1/restore")
            #expect(restored.status == .ok, "\(restored.text)")
            #expect(restored.json["title"]?.stringValue == "退货流程")
            #expect(restored.json["body"]?.stringValue == "第一步：登记\n第二步：质检\n第三步：退款")
            #expect(Self.revision(restored.json) == 4)
            versions = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/versions")
            #expect((versions.json["revisions"]?.arrayValue ?? []).compactMap { $0["revision"]?.asInt } == [4, 3, 2, 1])
            #expect(versions.json["revisions"]?.arrayValue?[1]["title"]?.stringValue == "退货与换货流程")

            // The pages: the list with restore buttons, a diff shown escaped, a restore from the form.
            _ = try await KnowledgeTests.patch(api, "kb_article", id, #"{"body": "第一步：登记\n<img src=x onerror=alert(1)>"}"#)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            let list = String(buffer: try await browser.send(.get, "/app/knowledge/articles/\(id)/versions").body)
            #expect(list.contains("data-testid=\"restore-4\"") && !list.contains("data-testid=\"restore-5\""), "\(list.prefix(300))")
            let page = try await browser.send(.get, "/app/knowledge/articles/\(id)/diff?from=4&to=5")
            let shown = String(buffer: page.body)
            #expect(page.status == .ok)
            #expect(shown.contains("&lt;img src=x onerror=alert(1)&gt;") && !shown.contains("<img src=x"), "the diff shows text, escaped")
            #expect(shown.contains("data-kind=\"added\"") && shown.contains("data-kind=\"removed\""))
            let csrf = try #require(BrowserSession.csrfToken(in: list))
            let restoredByForm = try await browser.send(.post, "/app/knowledge/articles/\(id)/versions/4/restore", form: ["_csrf": csrf])
            #expect(restoredByForm.status == .seeOther)
            let now = try await api.call(.get, "/api/v1/kb_article/\(id)")
            #expect(Self.revision(now.json) == 6 && now.json["body"]?.stringValue == "第一步：登记\n第二步：质检\n第三步：退款")

            // Readers see the versions through the article but cannot restore or write versions.
            let seller = try await Self.member(client, tenant, "seller")
            #expect(try await seller.api.call(.get, "/api/v1/knowledge/articles/\(id)/versions").json["revisions"]?.arrayValue?.count == 6)
            let refused = try await seller.api.call(.post, "/api/v1/knowledge/articles/\(id)/versions/2/restore")
            #expect(refused.status == .forbidden, "\(refused.text)")
            let forged = try await seller.api.call(.post, "/api/v1/kb_article_version",
                                                   json: #"{"article": "\#(id)", "revision": 9, "title": "forged"}"#)
            #expect(forged.status == .forbidden || forged.status == .notFound, "\(forged.text)")
            // An editor (service agent) cannot forge a version either: versions come from the rule only.
            let agent = try await Self.member(client, tenant, "agent", role: "service_agent")
            let agentForged = try await agent.api.call(.post, "/api/v1/kb_article_version", json: #"{"article": "\#(id)", "revision": 9, "title": "forged"}"#)
            #expect(agentForged.status == .forbidden, "\(agentForged.text)")
            #expect(try await agent.api.count("kb_article_version") == 5)
            // Not even an administrator writes one.
            let adminForged = try await api.call(.post, "/api/v1/kb_article_version", json: #"{"article": "\#(id)", "revision": 9, "title": "forged"}"#)
            #expect(adminForged.status == .unprocessableContent, "\(adminForged.text)")
        }
    }

    @Test func theArticlePageRendersStoredMarkdownSafelyAndCountsViewsAndVotes() async throws {
        try await F.withTenant("kbvote") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let body = "## 步骤\n\n- [手册](https://example.com/m)\n- [坏链接](javascript:alert(1))\n\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>"
            let id = try await Self.publishedArticle(api, title: "安全渲染", body: body)
            // A document attached through the platform's files shows on the reading page.
            let uploaded = try await AttachmentTests.upload(api, "/api/v1/kb_article/\(id)",
                                                            [.init(fileName: "报价模板.pdf", contentType: "application/pdf", content: AttachmentTests.pdf)])
            #expect(uploaded.status == .created, "\(uploaded.text)")
            let rendered = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/rendered")
            let html = try #require(rendered.json["html"]?.stringValue)
            KnowledgeMarkdownTests.expectSafe(html, body)
            #expect(html.contains("<h2>步骤</h2>"))
            #expect(html.contains(#"<a href="https://example.com/m" rel="nofollow noopener noreferrer">手册</a>"#))
            #expect(html.contains("<li>坏链接</li>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))

            // The page, as a salesperson: the body rendered, a view counted per opening.
            let seller = try await Self.member(client, tenant, "reader")
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: seller.email, password: "Member-password-1")
            for _ in 0..<2 {
                let page = try await browser.send(.get, "/app/knowledge/articles/\(id)")
                #expect(page.status == .ok)
                let text = String(buffer: page.body)
                #expect(text.contains("<h2>步骤</h2>") && !text.contains("<script>alert(1)"), "\(text.prefix(400))")
                #expect(text.contains("data-testid=\"kb-files\"") && text.contains("报价模板.pdf"))
            }
            var feedback = try await api.call(.get, "/api/v1/knowledge/articles/\(id)/rendered").json["feedback"]
            #expect(feedback?["views"]?.asInt == 2)
            #expect(feedback?["readers"]?.asInt == 1)

            // One vote per user: voting again changes it rather than adding one.
            let page = try await browser.send(.get, "/app/knowledge/articles/\(id)")
            let csrf = try #require(BrowserSession.csrfToken(in: String(buffer: page.body)))
            let voted = try await browser.send(.post, "/app/knowledge/articles/\(id)/vote", form: ["_csrf": csrf, "helpful": "yes"])
            #expect(voted.status == .seeOther)
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(id)/vote", json: #"{"helpful": true}"#).json["feedback"]?["helpful"]?.asInt == 1)
            feedback = try await api.call(.post, "/api/v1/knowledge/articles/\(id)/vote", json: #"{"helpful": false}"#).json["feedback"]
            #expect(feedback?["helpful"]?.asInt == 1)
            #expect(feedback?["not_helpful"]?.asInt == 1)
            #expect(feedback?["my_vote"] == .bool(false))
            feedback = try await seller.api.call(.post, "/api/v1/knowledge/articles/\(id)/vote", json: #"{"helpful": false}"#).json["feedback"]
            #expect(feedback?["helpful"]?.asInt == 0)
            #expect(feedback?["not_helpful"]?.asInt == 2)
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(id)/vote", json: #"{"helpful": "maybe"}"#).status == .unprocessableContent)
            // Another tenant's id, or none at all, is a 404 (the engine reads the article first).
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(UUID().uuidString)/vote", json: #"{"helpful": true}"#).status == .notFound)
            // The salesperson still cannot edit the article.
            #expect(try await KnowledgeTests.patch(seller.api, "kb_article", id, #"{"title": "changed"}"#).status == .forbidden)
        }
    }

    @Test func announcementReceiptsAreExactAndTheHomePageShowsCurrentOnes() async throws {
        try await F.withTenant("kbread") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let today = ChinaCalendar.day(0)
            let current = try await api.createID("announcement", #"{"title": "年终盘点通知", "body": "**周五**盘点库存。", "starts_on": "\#(today)", "importance": "important"}"#)
            _ = try await api.createID("announcement", #"{"title": "已过期的通知", "body": "旧", "starts_on": "2020-01-01", "ends_on": "2020-01-31"}"#)
            _ = try await api.createID("announcement", #"{"title": "下个月的通知", "body": "新", "starts_on": "\#(ChinaCalendar.day(40))"}"#)

            let people = [try await Self.member(client, tenant, "ann"), try await Self.member(client, tenant, "bo"),
                          try await Self.member(client, tenant, "cy"), try await Self.member(client, tenant, "di")]
            let shown = try await people[0].api.call(.get, "/api/v1/knowledge/announcements/current")
            #expect((shown.json["announcements"]?.arrayValue ?? []).compactMap { $0["title"]?.stringValue } == ["年终盘点通知"], "\(shown.text)")
            #expect(shown.json["announcements"]?.arrayValue?.first?["read"] == .bool(false))

            // The home page shows it unread; opening it marks it read.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: people[0].email, password: "Member-password-1")
            var home = String(buffer: try await browser.send(.get, "/").body)
            #expect(home.contains("data-testid=\"home-announcements\"") && home.contains("年终盘点通知") && !home.contains("已过期的通知"))
            #expect(home.contains("data-read=\"false\""))
            let opened = try await browser.send(.get, "/app/knowledge/announcements/\(current)")
            #expect(opened.status == .ok)
            #expect(String(buffer: opened.body).contains("<strong>周五</strong>"))
            #expect(!String(buffer: opened.body).contains("data-testid=\"receipts\""), "a reader does not see the receipts")
            home = String(buffer: try await browser.send(.get, "/").body)
            #expect(home.contains("data-read=\"true\"") && !home.contains("data-read=\"false\""))

            // Two more read it (one twice, through the API); the fourth does not.
            #expect(try await people[1].api.call(.post, "/api/v1/knowledge/announcements/\(current)/read").status == .ok)
            _ = try await people[2].api.call(.post, "/api/v1/knowledge/announcements/\(current)/read")
            _ = try await people[2].api.call(.post, "/api/v1/knowledge/announcements/\(current)/read")
            let receipts = try await api.call(.get, "/api/v1/knowledge/announcements/\(current)/receipts")
            #expect(receipts.status == .ok, "\(receipts.text)")
            let readers = Set((receipts.json["read"]?.arrayValue ?? []).compactMap { $0["email"]?.stringValue })
            #expect(readers == Set(people[0...2].map(\.email)))
            let unread = Set((receipts.json["unread"]?.arrayValue ?? []).compactMap { $0["email"]?.stringValue })
            #expect(unread == [people[3].email, tenant.adminEmail], "\(receipts.text)")
            #expect(receipts.json["read_count"]?.asInt == 3)
            // Readers do not see who has read it.
            #expect(try await people[3].api.call(.get, "/api/v1/knowledge/announcements/\(current)/receipts").status == .forbidden)
            // The announcer's page lists both groups (opening it is the announcer's own receipt).
            var admin = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await admin.login(email: tenant.adminEmail, password: tenant.password)
            let page = String(buffer: try await admin.send(.get, "/app/knowledge/announcements/\(current)").body)
            #expect(page.contains("data-testid=\"receipts\""))
            #expect(page.contains("data-testid=\"read-count\">4<") && page.contains("data-testid=\"unread-count-receipts\">1<"))

            // Targeted to a department and below: only its people see it, and only they are its audience.
            let east = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "华东"}"#).json["id"]?.stringValue)
            let shanghai = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "上海", "parent_id": "\#(east)"}"#).json["id"]?.stringValue)
            #expect(try await api.call(.patch, "/api/v1/admin/users/\(people[0].id.uuidString.lowercased())", json: #"{"department_id": "\#(shanghai)"}"#).status == .ok)
            let targeted = try await api.createID("announcement", #"{"title": "华东区季度会", "body": "周一上午。", "starts_on": "\#(today)", "audience": "departments", "target_department": "\#(east)"}"#)
            func titles(_ client: RecordAPIClient) async throws -> [String] {
                (try await client.call(.get, "/api/v1/knowledge/announcements/current").json["announcements"]?.arrayValue ?? []).compactMap { $0["title"]?.stringValue }
            }
            #expect(try await titles(people[0].api).contains("华东区季度会"))
            #expect(try await !titles(people[1].api).contains("华东区季度会"))
            #expect(try await people[1].api.call(.get, "/api/v1/announcement/\(targeted)").status == .notFound)
            #expect(try await people[1].api.call(.post, "/api/v1/knowledge/announcements/\(targeted)/read").status == .notFound)
            let targetedReceipts = try await api.call(.get, "/api/v1/knowledge/announcements/\(targeted)/receipts")
            #expect((targetedReceipts.json["unread"]?.arrayValue ?? []).compactMap { $0["email"]?.stringValue } == [people[0].email], "\(targetedReceipts.text)")
            // Opened to chosen roles instead, it reaches the salespeople and no longer the department.
            #expect(try await KnowledgeTests.patch(api, "announcement", targeted, #"{"audience": "roles", "target_roles": ["salesperson"]}"#).status == .ok)
            #expect(try await titles(people[1].api).contains("华东区季度会"))
            #expect((try await api.call(.get, "/api/v1/knowledge/announcements/\(targeted)/receipts").json["unread_count"]?.asInt) == 4)
        }
    }

    /// 收藏夹: starring is per user; the list shows only articles the user can still read.
    @Test func favouritesListTheStarredArticlesTheUserCanRead() async throws {
        try await F.withTenant("kbfav") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let first = try await Self.publishedArticle(api, title: "客户分级标准", body: "A/B/C 三级。")
            let second = try await Self.publishedArticle(api, title: "合同审批流程", body: "法务 → 财务。")
            let seller = try await Self.member(client, tenant, "fan")
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(first)/favourite", json: #"{"starred": true}"#).status == .ok)
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(second)/favourite", json: #"{"starred": true}"#).status == .ok)
            _ = try await seller.api.call(.post, "/api/v1/knowledge/articles/\(second)/favourite", json: #"{"starred": true}"#)
            var mine = try await seller.api.call(.get, "/api/v1/knowledge/favourites")
            #expect((mine.json["articles"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == [second, first], "\(mine.text)")
            // The administrator's list is their own.
            #expect(try await api.call(.get, "/api/v1/knowledge/favourites").json["articles"]?.arrayValue?.isEmpty == true)
            // Unpublished, the article drops out of the seller's list (the engine no longer lets them read it).
            #expect(try await KnowledgeTests.patch(api, "kb_article", second, #"{"status": "draft"}"#).status == .ok)
            mine = try await seller.api.call(.get, "/api/v1/knowledge/favourites")
            #expect((mine.json["articles"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == [first])
            #expect(try await seller.api.call(.post, "/api/v1/knowledge/articles/\(second)/favourite", json: #"{"starred": true}"#).status == .notFound)
            // The page lists it; unstarring from the page empties the list.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: seller.email, password: "Member-password-1")
            let page = String(buffer: try await browser.send(.get, "/app/knowledge/favourites").body)
            #expect(page.contains("客户分级标准") && !page.contains("合同审批流程"))
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            let removed = try await browser.send(.post, "/app/knowledge/articles/\(first)/favourite",
                                                 form: ["_csrf": csrf, "starred": "no", "back": "/app/knowledge/favourites"])
            #expect(removed.status == .seeOther && removed.headers[.location] == "/app/knowledge/favourites")
            #expect(try await seller.api.call(.get, "/api/v1/knowledge/favourites").json["articles"]?.arrayValue?.isEmpty == true)
        }
    }
}

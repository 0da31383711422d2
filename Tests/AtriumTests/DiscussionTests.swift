import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// Discussions of the knowledge module (issue 19): topics on boards, replies as the topic's
/// comments, an accepted answer that solves the topic (its author or an administrator, as
/// the engine's update scope says), a solved topic turned into a draft article that links
/// back, and mentions in a topic that notify its readers only.
@Suite struct DiscussionTests {
    typealias Member = PermissionFixtures.Member

    struct Forum: Sendable {
        let admin: RecordAPIClient
        let asker: Member
        let other: Member
        let board: String
        let faq: String
    }

    /// A tenant with a board (its articles go to the FAQ) and two salespeople.
    static func withForum(_ prefix: String, _ body: @escaping @Sendable (Forum, any TestClientProtocol, TestEnvironment.Tenant) async throws -> Void) async throws {
        try await RecordFixtures.withTenant(prefix) { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let faq = try await KnowledgeTests.categoryID(admin, named: "FAQ")
            let board = try await admin.createID("kb_board", #"{"name": "产品使用问答", "category": "\#(faq)"}"#)
            let asker = try await PermissionFixtures.member(client, tenant, admin, "asker", department: nil, roles: ["salesperson"])
            let other = try await PermissionFixtures.member(client, tenant, admin, "other", department: nil, roles: ["salesperson"])
            try await body(Forum(admin: admin, asker: asker, other: other, board: board, faq: faq), client, tenant)
        }
    }

    static func topic(_ forum: Forum, _ title: String, body: String = "怎么办？") async throws -> String {
        try await forum.asker.api.createID("kb_topic", JSONValue.object(["title": .string(title), "board": .string(forum.board), "body": .string(body)]).jsonText)
    }

    static func reply(_ api: RecordAPIClient, _ topic: String, _ text: String) async throws -> String {
        let posted = try await api.call(.post, "/api/v1/kb_topic/\(topic)/comments", json: JSONValue.object(["body": .string(text)]).jsonText)
        try #require(posted.status == .created, "\(posted.text)")
        return try #require(posted.id)
    }

    static func accept(_ api: RecordAPIClient, _ topic: String, _ reply: String) async throws -> RecordAPIResponse {
        try await api.call(.post, "/api/v1/knowledge/topics/\(topic)/accept", json: #"{"reply_id": "\#(reply)"}"#)
    }

    @Test func acceptingAReplySolvesTheTopicForItsAuthorOrAnAdministratorOnly() async throws {
        try await Self.withForum("bbsaccept") { forum, _, _ in
            let topic = try await Self.topic(forum, "导入客户时电话格式报错")
            let stored = try await forum.other.api.call(.get, "/api/v1/kb_topic/\(topic)")
            #expect(stored.status == .ok && stored.json["status"] == .string("open"), "every salesperson reads the topic: \(stored.text)")
            let answer = try await Self.reply(forum.other.api, topic, "先用“只检查不导入”试一次。")
            let second = try await Self.reply(forum.admin, topic, "区号-号码的格式即可。")

            // A reader who is not the author may not accept, nor set the computed fields.
            let refused = try await Self.accept(forum.other.api, topic, answer)
            #expect(refused.status == .forbidden && refused.errorCode == "topic_answer_not_allowed", "\(refused.text)")
            let version = try #require(stored.version)
            let forced = try await forum.asker.api.call(.patch, "/api/v1/kb_topic/\(topic)", json: #"{"version": \#(version), "status": "solved"}"#)
            #expect(forced.status == .forbidden && forced.errorField == "status", "\(forced.text)")

            let solved = try await Self.accept(forum.asker.api, topic, answer)
            #expect(solved.status == .ok, "\(solved.text)")
            #expect(solved.json["status"] == .string("solved") && solved.json["accepted_reply"] == .string(answer))
            #expect(solved.json["solved_at"]?.stringValue != nil)
            // The administrator may choose another reply; a reply of another topic is no answer here.
            let switched = try await Self.accept(forum.admin, topic, second)
            #expect(switched.status == .ok && switched.json["accepted_reply"] == .string(second), "\(switched.text)")
            let elsewhere = try await Self.reply(forum.asker.api, try await Self.topic(forum, "另一个问题"), "别处的回复")
            let wrong = try await Self.accept(forum.asker.api, topic, elsewhere)
            #expect(wrong.status == .unprocessableContent && wrong.errorField == "reply_id", "\(wrong.text)")
            let history = try await forum.admin.call(.get, "/api/v1/kb_topic/\(topic)/history")
            let actions = history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions.filter { $0 == "record.updated" }.count == 2 && actions.filter { $0 == "comment.created" }.count == 2, "\(actions)")
        }
    }

    @Test func aSolvedTopicBecomesADraftArticleThatLinksBack() async throws {
        try await Self.withForum("bbsarticle") { forum, _, _ in
            let topic = try await Self.topic(forum, "电话格式不正确怎么办？", body: "导入时有 30 行提示**电话格式不正确**。")
            let early = try await forum.admin.call(.post, "/api/v1/knowledge/topics/\(topic)/article")
            #expect(early.status == .conflict && early.errorCode == "topic_not_solved", "\(early.text)")
            let answer = try await Self.reply(forum.other.api, topic, "统一写成 010-62532288 再导入。")
            #expect(try await Self.accept(forum.asker.api, topic, answer).status == .ok)

            // Writing articles is the knowledge writers' right, not every salesperson's.
            let salesperson = try await forum.asker.api.call(.post, "/api/v1/knowledge/topics/\(topic)/article")
            #expect(salesperson.status == .forbidden, "\(salesperson.text)")
            let made = try await forum.admin.call(.post, "/api/v1/knowledge/topics/\(topic)/article")
            #expect(made.status == .created, "\(made.text)")
            let article = try #require(made.id)
            #expect(made.json["status"] == .string("draft") && made.json["title"] == .string("电话格式不正确怎么办？"))
            #expect(made.json["category"] == .string(forum.faq), "the board's category for articles")
            let body = made.json["body"]?.stringValue ?? ""
            #expect(body.contains("导入时有 30 行提示**电话格式不正确**。") && body.contains("统一写成 010-62532288 再导入。"), "\(body)")
            #expect(body.contains("(/app/knowledge/topics/\(topic))"), "the article links back to the discussion: \(body)")
            #expect(try await forum.admin.call(.get, "/api/v1/kb_topic/\(topic)").json["article"] == .string(article))
            let again = try await forum.admin.call(.post, "/api/v1/knowledge/topics/\(topic)/article")
            #expect(again.status == .ok && again.id == article, "made once: \(again.text)")
            #expect(try await forum.admin.count("kb_article") == 1)
        }
    }

    @Test func mentionsInATopicNotifyItsReadersOnly() async throws {
        try await Self.withForum("bbsmention") { forum, client, tenant in
            // Someone without any role reads no topic.
            let outsider = try await PermissionFixtures.member(client, tenant, forum.admin, "outsider", department: nil, roles: [])
            let body = "请 @[other](\(forum.other.id.lowercased())) 和 @[outsider](\(outsider.id.lowercased())) 帮忙看看"
            let topic = try await Self.topic(forum, "需要帮忙", body: body)
            #expect(try await CommentTests.mentions(forum.other.api).first?["link"] == .string("/app/kb_topic/\(topic)"))
            #expect(try await CommentTests.mentions(outsider.api).isEmpty)
            #expect(try await outsider.api.call(.get, "/api/v1/kb_topic/\(topic)").status != .ok)
            // A reply's mention goes the same way (the platform's comments).
            _ = try await Self.reply(forum.other.api, topic, "@[asker](\(forum.asker.id.lowercased())) 已回复")
            #expect(try await CommentTests.mentions(forum.asker.api).count == 1)
            // Mentioning someone who is not a user here is refused naming the body; nothing is written.
            let ghost = try await forum.asker.api.call(.post, "/api/v1/kb_topic", json: JSONValue.object([
                "title": .string("x"), "board": .string(forum.board), "body": .string("@[ghost](\(UUID().uuidString))")]).jsonText)
            #expect(ghost.status == .unprocessableContent && ghost.errorField == "body", "\(ghost.text)")
            #expect(try await forum.admin.count("kb_topic") == 1)
        }
    }

    @Test func theTopicPageShowsTheQuestionRepliesAndTheAnswer() async throws {
        try await Self.withForum("bbsweb") { forum, client, tenant in
            let topic = try await Self.topic(forum, "页面上的问题", body: "## 问题\n<script>alert(1)</script>")
            let answer = try await Self.reply(forum.other.api, topic, "这是答案 <b>粗体</b>")
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: forum.asker.email, password: PermissionFixtures.password).status == .seeOther)
            let boards = String(buffer: try await browser.send(.get, "/app/knowledge/boards").body)
            #expect(boards.contains("/app/knowledge/boards/\(forum.board)") && boards.contains("产品使用问答"), "\(boards.suffix(2000))")
            let board = String(buffer: try await browser.send(.get, "/app/knowledge/boards/\(forum.board)").body)
            #expect(board.contains("/app/knowledge/topics/\(topic)") && board.contains("/app/kb_topic/new?board=\(forum.board)"), "\(board.suffix(2000))")
            let page = String(buffer: try await browser.send(.get, "/app/knowledge/topics/\(topic)").body)
            #expect(page.contains("<h2>问题</h2>") || page.contains("<h2>问题"), "the Markdown is rendered: \(page.suffix(3000))")
            #expect(!page.contains("<script>alert(1)</script>") && !page.contains("<b>粗体</b>") && page.contains("&lt;b&gt;粗体&lt;/b&gt;"))
            #expect(page.contains(#"name="back" value="/app/knowledge/topics/\#(topic)""#) && page.contains(#"data-testid="accept""#))
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            let accepted = try await browser.send(.post, "/app/knowledge/topics/\(topic)/accept", form: ["_csrf": csrf, "reply_id": answer])
            #expect(accepted.status == .seeOther && accepted.headers[.location] == "/app/knowledge/topics/\(topic)?notice=topic_solved")
            let replied = try await browser.send(.post, "/app/kb_topic/\(topic)/comments", form: ["_csrf": csrf, "body": "谢谢！",
                                                                                                   "back": "/app/knowledge/topics/\(topic)"])
            #expect(replied.headers[.location] == "/app/knowledge/topics/\(topic)?notice=comment_added#comments")
            let solved = String(buffer: try await browser.send(.get, "/app/knowledge/topics/\(topic)").body)
            #expect(solved.contains(#"data-solved="true""#) && solved.contains(#"data-highlighted="true""#) && solved.contains("谢谢！"), "\(solved.suffix(3000))")
            #expect(solved.contains(#"data-testid="comment-badge">已采纳的答案</span>"#) || solved.contains(#"data-testid="comment-badge">Accepted answer</span>"#),
                    "the answer is badged: \(solved.suffix(3000))")
        }
    }

    /// The demo board has a Chinese question with an accepted answer; seeding again adds nothing.
    @Test func demoDiscussionHasAnAcceptedAnswer() async throws {
        let tenant = try await TestEnvironment.provisionTenant("bbsdemo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let (topics, solved, replies) = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let demo = ModuleDemoContext(engine: RecordEngine(catalog: catalog), admin: admin, people: [:], connection: connection, logger: logger)
                try await DiscussionDemoData.seed(demo)
                try await DiscussionDemoData.seed(demo)
                return try await connection.query("""
                    SELECT count(*)::int, count(*) FILTER (WHERE data->>'status' = 'solved' AND data ? 'accepted_reply')::int,
                           (SELECT count(*)::int FROM record_comments)
                    FROM records WHERE entity = 'kb_topic'
                    """, logger: logger).one((Int, Int, Int).self)
            }
        }
        #expect(topics == 1 && solved == 1 && replies == 2, "\(topics) \(solved) \(replies)")
    }
}

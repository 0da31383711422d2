import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Tenancy
import Testing

/// Comments on any record (issue 19): the thread follows the record's read access (404 for
/// whoever cannot read it, other tenants included); a mention notifies only people who can
/// read the record, and the author learns who was not notified; authors edit and remove their
/// own comments, administrators remove any; bad text is a 422 naming `body`; the record page
/// shows the thread escaped, mentions as names.
@Suite struct CommentTests {
    static func comments(_ api: RecordAPIClient, _ path: String) async throws -> [JSONValue] {
        try await api.call(.get, "\(path)/comments").json["comments"]?.asArray ?? []
    }

    static func post(_ api: RecordAPIClient, _ path: String, _ body: String) async throws -> RecordAPIResponse {
        try await api.call(.post, "\(path)/comments", json: JSONValue.object(["body": .string(body)]).jsonText)
    }

    /// The user's notifications of kind `comment.mentioned`.
    static func mentions(_ api: RecordAPIClient) async throws -> [JSONValue] {
        (try await api.call(.get, "/api/v1/notifications").json["notifications"]?.asArray ?? []).filter { $0["kind"] == .string("comment.mentioned") }
    }

    static func mention(_ name: String, _ id: String) -> String { "@[\(name)](\(id.lowercased()))" }

    @Test func aSalespersonCannotReadOrCommentOnAColleaguesRecord() async throws {
        try await PermissionFixtures.withOrg("cmtscope") { org in
            let path = "/api/v1/x_deal/\(org.deals["west"]!)"
            let posted = try await Self.post(org["west"].api, path, "客户要求周五前报价")
            try #require(posted.status == .created, "the owner comments: \(posted.text)")
            let id = try #require(posted.id)

            // 李雷 of Shanghai reads only his own deals: West's thread is as absent as the deal.
            let sh = org["sh"].api
            let list = try await sh.call(.get, "\(path)/comments")
            #expect(list.status == .notFound && list.errorCode == "record_not_found", "\(list.text)")
            let refused = try await Self.post(sh, path, "我也来看看")
            #expect(refused.status == .notFound && refused.errorCode == "record_not_found", "\(refused.text)")
            #expect(try await sh.call(.patch, "\(path)/comments/\(id)", json: #"{"body": "改"}"#).status == .notFound)
            #expect(try await sh.call(.delete, "\(path)/comments/\(id)").status == .notFound)
            // Nor through a deal of his own.
            let own = "/api/v1/x_deal/\(org.deals["sh1"]!)"
            let foreign = try await sh.call(.delete, "\(own)/comments/\(id)")
            #expect(foreign.status == .notFound && foreign.errorCode == "comment_not_found", "\(foreign.text)")

            let thread = try await Self.comments(org["west"].api, path)
            #expect(thread.compactMap { $0["body"]?.stringValue } == ["客户要求周五前报价"], "nothing of his was written")
            #expect(thread.first?["author_name"] == .string("west"))
            // The reader role reads every deal, and so its thread.
            #expect(try await Self.comments(org["reader"].api, path).count == 1)
        }
    }

    @Test func aMentionReachesAReaderAndNotANonReader() async throws {
        try await PermissionFixtures.withOrg("cmtmention") { org in
            let path = "/api/v1/x_deal/\(org.deals["west"]!)"
            let (reader, sh, manager) = (org["reader"], org["sh"], org["manager"])
            let text = "请 \(Self.mention("reader", reader.id)) 和 \(Self.mention("sh", sh.id)) 看一下"
            let posted = try await Self.post(org["west"].api, path, text)
            try #require(posted.status == .created, "\(posted.text)")
            #expect(posted.json["mentions"]?.asArray?.compactMap(\.stringValue) == [reader.id.lowercased(), sh.id.lowercased()])
            #expect(posted.json["notified"]?.asArray?.compactMap(\.stringValue) == [reader.id.lowercased()])
            #expect(posted.json["not_notified"]?.asArray?.compactMap(\.stringValue) == [sh.id.lowercased()], "the author learns who was not notified")

            let heard = try await Self.mentions(reader.api)
            #expect(heard.count == 1, "\(heard)")
            #expect(heard.first?["link"] == .string("/app/x_deal/\(org.deals["west"]!)"))
            #expect(heard.first?["text"]?.stringValue?.contains("deal gamma west") == true, "\(heard)")
            #expect(try await Self.mentions(sh.api).isEmpty, "who cannot read the deal hears nothing of it")

            // An edit notifies only people mentioned for the first time who can read the deal:
            // the reader not again, the East manager (West is not his) not at all, the director yes.
            let id = try #require(posted.id)
            let director = org["director"]
            let edited = try await org["west"].api.call(.patch, "\(path)/comments/\(id)", json: JSONValue.object(["body": .string(
                text + " \(Self.mention("manager", manager.id)) \(Self.mention("director", director.id))")]).jsonText)
            #expect(edited.status == .ok, "\(edited.text)")
            #expect(edited.json["edited_at"]?.stringValue != nil)
            #expect(Set(edited.json["notified"]?.asArray?.compactMap(\.stringValue) ?? []) == [reader.id.lowercased(), director.id.lowercased()])
            #expect(Set(edited.json["not_notified"]?.asArray?.compactMap(\.stringValue) ?? []) == [sh.id.lowercased(), manager.id.lowercased()])
            #expect(try await Self.mentions(reader.api).count == 1, "not notified twice")
            #expect(try await Self.mentions(director.api).count == 1)
            #expect(try await Self.mentions(manager.api).isEmpty)
            // Mentioning oneself notifies nobody and is no "not notified".
            let me = try await Self.post(org["west"].api, path, "备忘 \(Self.mention("west", org["west"].id))")
            #expect(me.status == .created && me.json["not_notified"]?.asArray?.isEmpty == true, "\(me.text)")
            #expect(try await Self.mentions(org["west"].api).isEmpty)
        }
    }

    @Test func theAuthorEditsAndRemovesAndAnAdministratorRemovesAnyone() async throws {
        try await PermissionFixtures.withOrg("cmtrules") { org in
            let path = "/api/v1/x_deal/\(org.deals["west"]!)"
            let (west, reader) = (org["west"].api, org["reader"].api)
            let first = try #require(try await Self.post(west, path, "first").id)
            let second = try #require(try await Self.post(reader, path, "a reader's note").id)

            let notYours = try await reader.call(.patch, "\(path)/comments/\(first)", json: #"{"body": "taken over"}"#)
            #expect(notYours.status == .forbidden && notYours.errorCode == "comment_not_yours", "\(notYours.text)")
            #expect(try await reader.call(.delete, "\(path)/comments/\(first)").status == .forbidden)
            #expect(try await west.call(.delete, "\(path)/comments/\(second)").status == .forbidden, "the record's owner is not the comment's author")
            #expect(try await org.admin.call(.patch, "\(path)/comments/\(second)", json: #"{"body": "admin edit"}"#).status == .forbidden,
                    "administrators remove, they do not put words in others' mouths")

            let edited = try await west.call(.patch, "\(path)/comments/\(first)", json: #"{"body": "first, corrected"}"#)
            #expect(edited.status == .ok && edited.json["body"] == .string("first, corrected"), "\(edited.text)")
            #expect(try await org.admin.call(.delete, "\(path)/comments/\(second)").status == .noContent)
            #expect(try await west.call(.delete, "\(path)/comments/\(first)").status == .noContent)
            #expect(try await Self.comments(west, path).isEmpty)
            let again = try await west.call(.delete, "\(path)/comments/\(first)")
            #expect(again.status == .notFound && again.errorCode == "comment_not_found")

            let history = try await org.admin.call(.get, "\(path)/history")
            let actions = history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions.filter { $0.hasPrefix("comment.") } == ["comment.created", "comment.created", "comment.edited", "comment.deleted", "comment.deleted"],
                    "\(history.text)")
            let edit = history.json["entries"]?.asArray?.first { $0["action"] == .string("comment.edited") }
            #expect(edit?["details"]?["changes"]?["comment"]?["before"] == .string("first"))
            #expect(edit?["details"]?["changes"]?["comment"]?["after"] == .string("first, corrected"))
        }
    }

    @Test func anotherTenantGetsNotFoundAndCannotBeMentioned() async throws {
        try await RecordFixtures.withTenants("cmta", "cmtb") { client, tenants in
            let a = try await RecordAPIClient.admin(client, tenants[0])
            let b = try await RecordAPIClient.admin(client, tenants[1])
            for api in [a, b] { try await api.createObject(RecordFixtures.projectObject) }
            let path = "/api/v1/x_project/\(try await a.createID("x_project", #"{"x_name": "A's"}"#))"
            let id = try #require(try await Self.post(a, path, "only for A").id)

            #expect(try await b.call(.get, "\(path)/comments").status == .notFound)
            #expect(try await Self.post(b, path, "from B").status == .notFound)
            #expect(try await b.call(.patch, "\(path)/comments/\(id)", json: #"{"body": "B"}"#).status == .notFound)
            #expect(try await b.call(.delete, "\(path)/comments/\(id)").status == .notFound)
            // B's own record does not reach A's comment, and A's people are nobody in B.
            let own = "/api/v1/x_project/\(try await b.createID("x_project", #"{"x_name": "B's"}"#))"
            #expect(try await b.call(.delete, "\(own)/comments/\(id)").errorCode == "comment_not_found")
            let users = try await a.call(.get, "/api/v1/admin/users")
            let aAdmin = try #require(users.json["users"]?.asArray?.first?["id"]?.stringValue)
            let foreign = try await Self.post(b, own, "hi \(Self.mention("A", aAdmin))")
            #expect(foreign.status == .unprocessableContent && foreign.errorCode == "comment_mention_unknown" && foreign.errorField == "body",
                    "\(foreign.text)")
            #expect(try await Self.comments(b, own).isEmpty)
            #expect(try await Self.comments(a, path).compactMap { $0["body"]?.stringValue } == ["only for A"])
        }
    }

    @Test func badInputIsRefusedNamingBody() async throws {
        try await RecordFixtures.withTenant("cmtbad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(RecordFixtures.projectObject)
            let path = "/api/v1/x_project/\(try await api.createID("x_project", #"{"x_name": "Input"}"#))"
            for (body, code) in [(#"{"body": ""}"#, "comment_body_required"), (#"{"body": "  \n\t "}"#, "comment_body_required"),
                                 (#"{}"#, "comment_body_required"), (#"{"body": null}"#, "comment_body_required"),
                                 (#"{"body": 42}"#, "invalid_body"),
                                 (JSONValue.object(["body": .string(String(repeating: "长", count: 5_001))]).jsonText, "comment_body_too_long"),
                                 (JSONValue.object(["body": .string("hi @[Ghost](\(UUID().uuidString))")]).jsonText, "comment_mention_unknown")] {
                let refused = try await api.call(.post, "\(path)/comments", json: body)
                #expect(refused.status == .unprocessableContent && refused.errorCode == code && refused.errorField == "body", "\(body.prefix(40)): \(refused.text)")
            }
            #expect(try await api.call(.post, "\(path)/comments", json: "not json").status == .badRequest)
            #expect(try await Self.comments(api, path).isEmpty, "nothing was written")
            let history = try await api.call(.get, "\(path)/history")
            #expect(history.json["entries"]?.asArray?.count == 1, "nothing was audited but the record: \(history.text)")

            let longest = try await Self.post(api, path, String(repeating: "长", count: 5_000))
            #expect(longest.status == .created, "\(longest.text.prefix(200))")
            let id = try #require(longest.id)
            let emptied = try await api.call(.patch, "\(path)/comments/\(id)", json: #"{"body": ""}"#)
            #expect(emptied.status == .unprocessableContent && emptied.errorField == "body")
            #expect(try await Self.comments(api, path).first?["body"]?.stringValue?.count == 5_000, "the refused edit changed nothing")
        }
    }

    /// The record page shows the thread with mentions as names and hostile text escaped, posts
    /// through its form with the CSRF token, and tells the author who was not notified.
    @Test func theRecordPageShowsThreadEscapedAndPostsWithCSRF() async throws {
        try await PermissionFixtures.withOrg("cmtweb") { org in
            let deal = org.deals["west"]!
            var browser = BrowserSession(client: org.client, tenant: org.tenant.info.slug)
            #expect(try await browser.login(email: org["west"].email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/x_deal/\(deal)").body)
            #expect(page.contains(#"data-testid="comments""#) && page.contains(#"data-mention-target="comment-body""#), "\(page.suffix(3000))")
            let csrf = try #require(BrowserSession.csrfToken(in: page))

            let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> \(Self.mention("R", org["reader"].id)) \(Self.mention("S", org["sh"].id))"
            let posted = try await browser.send(.post, "/app/x_deal/\(deal)/comments", form: ["_csrf": csrf, "body": hostile])
            #expect(posted.status == .seeOther, "\(String(buffer: posted.body))")
            #expect(posted.headers[.location] == "/app/x_deal/\(deal)?notice=comment_not_notified#comments")
            let forged = try await browser.send(.post, "/app/x_deal/\(deal)/comments", form: ["body": "no token"])
            #expect(forged.status == .forbidden, "no token, no comment")
            let empty = try await browser.send(.post, "/app/x_deal/\(deal)/comments", form: ["_csrf": csrf, "body": " "])
            #expect(empty.status == .unprocessableContent)

            let shown = String(buffer: try await browser.send(.get, "/app/x_deal/\(deal)").body)
            let section = Self.commentsSection(shown)
            #expect(!section.contains("<script>alert") && !section.contains("<img src=x"), "\(section)")
            #expect(section.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(section)")
            #expect(section.contains(">@reader</span>") && section.contains(">@sh</span>"), "mentions show the people's names: \(section)")
            #expect(section.contains(#"data-testid="comment-not-notified""#) && section.contains("sh"), "\(section)")
            #expect(!section.contains("no token"))
            #expect(try await Self.mentions(org["reader"].api).count == 1)
        }
    }

    /// The record page's comments section alone.
    static func commentsSection(_ page: String) -> String {
        guard let start = page.range(of: #"data-testid="comments""#) else { return "" }
        let rest = page[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</section>")?.lowerBound ?? rest.endIndex)])
    }

    @Test func mentionsAreReadFromTheBodyOnceEachInOrder() throws {
        let a = UUID(), b = UUID()
        let body = CommentBody("@[甲](\(a.uuidString)) 和 @[乙](\(b.uuidString.lowercased()))，再次 @[甲](\(a.uuidString)) @[broken](nope) @[](\(b))")
        #expect(body.mentions == [a, b])
        #expect(body.plain(names: [b.uuidString.lowercased(): "乙二"]) == "@甲 和 @乙二，再次 @甲 @[broken](nope) @[](\(b))")
        #expect(throws: CommentError.bodyRequired) { try CommentBody.checked(" \r\n ") }
        #expect(throws: CommentError.bodyTooLong(limit: 5_000)) { try CommentBody.checked(String(repeating: "é", count: 5_001)) }
        #expect(try CommentBody.checked(" a\r\nb\u{0} ").text == "a\nb")
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import NIOCore
import Testing

/// 批量修改 and 复制 (issue 22): one field set on chosen records through the API and the list's
/// bulk form — as the caller, audited per record, all or none — a record cloned into a new
/// form, and the small HTTP courtesies (HEAD /, /favicon.ico).
@Suite struct MassUpdateTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    @Test func theSameValueOnChosenRecordsAllOrNone() async throws {
        try await RecordFixtures.withTenant("mass-api") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let first = try await amy.api.createID("account", #"{"name": "华通科技"}"#)
            let second = try await amy.api.createID("account", #"{"name": "明远贸易"}"#)
            let theirs = try await admin.createID("account", #"{"name": "Someone else's"}"#)

            let done = try await amy.api.call(.post, "/api/v1/account/bulk-update", json: Self.body([
                "ids": .array([.string(first), .string(second), .string(first)]), "values": .object(["region": "华东", "industry": "retail"])]))
            #expect(done.status == .ok, "\(done.text)")
            #expect(done.json["updated"] == .number(2), "a repeated id counts once")
            for id in [first, second] {
                let record = try await amy.api.call(.get, "/api/v1/account/\(id)")
                #expect(record.json["region"] == "华东" && record.json["industry"] == "retail")
                let history = try await amy.api.call(.get, "/api/v1/account/\(id)/history")
                #expect(history.json["entries"]?.asArray?.strings("action") == ["record.created", "record.updated"], "one audit entry per record")
            }

            // One record out of her scope, or one value a rule refuses: nothing is written.
            let outOfScope = try await amy.api.call(.post, "/api/v1/account/bulk-update", json: Self.body([
                "ids": .array([.string(first), .string(theirs)]), "values": .object(["region": "华南"])]))
            #expect(outOfScope.status == .notFound, "\(outOfScope.text)")
            let refused = try await amy.api.call(.post, "/api/v1/account/bulk-update", json: Self.body([
                "ids": .array([.string(first), .string(second)]), "values": .object(["industry": "no_such_industry"])]))
            #expect(refused.status == .unprocessableContent && refused.errorField == "industry", "\(refused.text)")
            #expect(try await amy.api.call(.get, "/api/v1/account/\(first)").json["region"] == "华东")
            #expect(try await amy.api.call(.get, "/api/v1/account/\(second)").json["industry"] == "retail")
            #expect((try await admin.call(.get, "/api/v1/account/\(theirs)").json["region"] ?? .null) == .null)

            // Bad requests name what is wrong.
            for (json, field) in [(#"{"values": {"region": "x"}}"#, "ids"), (#"{"ids": [], "values": {"region": "x"}}"#, "ids"),
                                  (#"{"ids": ["not-an-id"], "values": {"region": "x"}}"#, "ids"), (#"{"ids": ["\#(first)"]}"#, "values"),
                                  (#"{"ids": ["\#(first)"], "values": {}}"#, "values")] {
                let bad = try await amy.api.call(.post, "/api/v1/account/bulk-update", json: json)
                #expect(bad.status == .unprocessableContent && bad.errorField == field, "\(json): \(bad.text)")
            }
            let tooMany = (0...RecordEngine.maxMassUpdate).map { _ in JSONValue.string(UUID().uuidString) }
            let many = try await amy.api.call(.post, "/api/v1/account/bulk-update", json: Self.body(["ids": .array(tooMany), "values": .object(["region": "x"])]))
            #expect(many.status == .unprocessableContent && many.errorField == "ids")
        }
    }

    @Test func theListsBulkFormSetsAFieldAndTheRecordPageClones() async throws {
        try await RecordFixtures.withTenant("mass-web") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let first = try await amy.api.createID("account", #"{"name": "华通科技", "region": "华北", "industry": "it", "notes": "老客户"}"#)
            let second = try await amy.api.createID("account", #"{"name": "明远贸易"}"#)
            let theirs = try await admin.createID("account", #"{"name": "Someone else's"}"#)

            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let list = String(buffer: try await browser.send(.get, "/app/account").body)
            #expect(list.contains(#"<option value="set">"#) && list.contains(#"data-testid="bulk-field""#), "\(list.suffix(3000))")
            #expect(list.contains(#"<option value="industry">"#))
            let csrf = try #require(BrowserSession.csrfToken(in: list))
            func bulk(_ form: String) async throws -> TestResponse {
                try await browser.send(.post, "/app/account/bulk", headers: [.contentType: "application/x-www-form-urlencoded"],
                                       body: ByteBuffer(string: "_csrf=\(csrf)&" + form))
            }
            // The value is typed as in an import file: the picklist's label in either language.
            let set = try await bulk("action=set&field=industry&value=\(BrowserSession.escape("零售"))&id=\(first)&id=\(second)")
            #expect(set.status == .seeOther, "\(String(buffer: set.body))")
            #expect(try await amy.api.call(.get, "/api/v1/account/\(first)").json["industry"] == "retail")
            #expect(try await amy.api.call(.get, "/api/v1/account/\(second)").json["industry"] == "retail")
            // A computed field or an unknown one is refused by name; nothing is written.
            let computed = try await bulk("action=set&field=last_activity_at&value=x&id=\(first)")
            #expect(computed.status == .unprocessableContent, "\(String(buffer: computed.body))")
            let outOfScope = try await bulk("action=set&field=region&value=x&id=\(first)&id=\(theirs)")
            #expect(outOfScope.status == .notFound)
            #expect(try await amy.api.call(.get, "/api/v1/account/\(first)").json["region"] == "华北")

            // Clone: the record page offers it; the new form starts from the record's values.
            let page = String(buffer: try await browser.send(.get, "/app/account/\(first)").body)
            #expect(page.contains(#"href="/app/account/new?clone=\#(first)""#))
            let form = String(buffer: try await browser.send(.get, "/app/account/new?clone=\(first)").body)
            #expect(form.contains(#"value="华通科技""#) && form.contains(#"value="华北""#) && form.contains("老客户"), "\(form.suffix(4000))")
            #expect(!form.contains(#"name="version""#) || form.contains(#"name="version" value="""#), "a new record, not an edit")
            #expect(try await browser.send(.get, "/app/account/new?clone=\(theirs)").status == .notFound)
            #expect(try await browser.send(.get, "/app/account/new?clone=nonsense").status == .notFound)
        }
    }

    @Test func headOfTheHomePageAndTheFavicon() async throws {
        try await RecordFixtures.withTenant("mass-head") { client, tenant in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            let head = try await browser.send(.head, "/login")
            #expect(head.status == .ok && head.body.readableBytes == 0)
            let get = try await browser.send(.get, "/login")
            #expect(get.status == .ok && get.body.readableBytes > 0)
            #expect(try await browser.send(.head, "/").status != .notFound)
            let icon = try await browser.send(.get, "/favicon.ico")
            #expect(icon.status == .movedPermanently && icon.headers[.location] == "/static/favicon.svg")
            let svg = try await browser.send(.get, "/static/favicon.svg")
            #expect(svg.status == .ok && svg.headers[.contentType] == "image/svg+xml")
        }
    }
}

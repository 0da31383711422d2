import Foundation
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// Per-category read rules: a category's published articles are shared with its readers
/// (everyone, a department and below, or chosen roles) through the platform's record shares,
/// so the engine hides them from everyone else — record, list, search, count, module routes.
@Suite struct KnowledgeReadRuleTests {
    typealias F = RecordFixtures
    typealias Member = (api: RecordAPIClient, id: UUID, email: String)

    /// Departments 华东 (with 上海 below it) and 华西, a salesperson in 上海 ("inside") and one in
    /// 华西 ("outside"); returns 华东's id and the two.
    static func eastAndWest(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant,
                            _ api: RecordAPIClient) async throws -> (east: String, inside: Member, outside: Member) {
        let east = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "华东"}"#).json["id"]?.stringValue)
        let shanghai = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "上海", "parent_id": "\#(east)"}"#).json["id"]?.stringValue)
        let west = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "华西"}"#).json["id"]?.stringValue)
        let inside = try await KnowledgeReadingTests.member(client, tenant, "inside")
        let outside = try await KnowledgeReadingTests.member(client, tenant, "outside")
        #expect(try await api.call(.patch, "/api/v1/admin/users/\(inside.id.uuidString.lowercased())", json: #"{"department_id": "\#(shanghai)"}"#).status == .ok)
        #expect(try await api.call(.patch, "/api/v1/admin/users/\(outside.id.uuidString.lowercased())", json: #"{"department_id": "\#(west)"}"#).status == .ok)
        return (east, inside, outside)
    }

    @Test func aCategoryOfOneDepartmentHidesItsArticlesFromOthers() async throws {
        try await F.withTenant("kbrule") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let (east, inside, outside) = try await KnowledgeReadRuleTests.eastAndWest(client, tenant, api)

            let category = try await api.createID("kb_category", #"{"name": "华东区价格政策", "readers": "departments", "reader_department": "\#(east)"}"#)
            let article = try await api.createID("kb_article", #"{"title": "华东区特价审批", "category": "\#(category)", "body": "特价须经区域总监批准。"}"#)
            #expect(try await KnowledgeTests.patch(api, "kb_article", article, #"{"status": "published"}"#).status == .ok)

            // Inside (Shanghai, below East) reads it; outside (West) gets 404 everywhere.
            #expect(try await inside.api.call(.get, "/api/v1/kb_article/\(article)").status == .ok)
            #expect(try await inside.api.list("kb_article", q: "特价").records.strings("id") == [article])
            #expect(try await outside.api.call(.get, "/api/v1/kb_article/\(article)").status == .notFound)
            #expect(try await outside.api.list("kb_article", q: "特价").records.isEmpty)
            #expect(try await outside.api.count("kb_article") == 0)
            #expect(try await outside.api.call(.get, "/api/v1/knowledge/articles/\(article)/rendered").status == .notFound)
            #expect(try await outside.api.call(.post, "/api/v1/knowledge/articles/\(article)/vote", json: #"{"helpful": true}"#).status == .notFound)

            // Opening the category to chosen roles (salesperson) reaches both.
            #expect(try await KnowledgeTests.patch(api, "kb_category", category, #"{"readers": "roles", "reader_roles": ["salesperson"]}"#).status == .ok)
            #expect(try await outside.api.call(.get, "/api/v1/kb_article/\(article)").status == .ok)
            // Back to draft: private again, for both.
            #expect(try await KnowledgeTests.patch(api, "kb_article", article, #"{"status": "draft"}"#).status == .ok)
            #expect(try await inside.api.call(.get, "/api/v1/kb_article/\(article)").status == .notFound)
            #expect(try await outside.api.count("kb_article") == 0)
            // A share to a person made by hand is not the module's to take back.
            #expect(try await api.call(.post, "/api/v1/kb_article/\(article)/shares",
                                       json: #"{"kind": "user", "id": "\#(inside.id.uuidString.lowercased())", "access": "read"}"#).status.code < 300)
            #expect(try await KnowledgeTests.patch(api, "kb_article", article, #"{"status": "published"}"#).status == .ok)
            #expect(try await KnowledgeTests.patch(api, "kb_article", article, #"{"status": "archived"}"#).status == .ok)
            #expect(try await inside.api.call(.get, "/api/v1/kb_article/\(article)").status == .ok)
            #expect(try await outside.api.call(.get, "/api/v1/kb_article/\(article)").status == .notFound)
        }
    }
}

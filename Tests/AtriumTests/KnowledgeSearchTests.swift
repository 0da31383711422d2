import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// Knowledge search (issue 19): a Chinese word finds published articles, title hits first,
/// with an escaped snippet that marks the word; drafts and articles of a category the reader
/// may not read are never found; bad queries name `q`.
@Suite struct KnowledgeSearchTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    static func search(_ api: RecordAPIClient, _ q: String) async throws -> RecordAPIResponse {
        try await api.call(.get, "/api/v1/knowledge/search?q=" + (q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q))
    }

    static func ids(_ response: RecordAPIResponse) -> [String] {
        (response.json["results"]?.asArray ?? []).compactMap { $0["id"]?.stringValue }
    }

    @Test func titleHitsFirstWithMarkedSnippetsAndOnlyWhatTheReaderMayRead() async throws {
        try await RecordFixtures.withTenant("kbsearch") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let faq = try await KnowledgeTests.categoryID(api, named: "FAQ")
            func article(_ title: String, _ body: String, category: String? = nil, publish: Bool = true) async throws -> String {
                let id = try await api.createID("kb_article", Self.body(["title": .string(title), "category": .string(category ?? faq), "body": .string(body)]))
                if publish { #expect(try await KnowledgeTests.patch(api, "kb_article", id, #"{"status": "published"}"#).status == .ok) }
                return id
            }
            let manual = try await article("北京华通科技有限公司产品手册", "安装与配置说明。")
            let contract = try await article("合同模板", "## 客户\n与**华通**签约时用此模板 <script>alert(1)</script>，注意付款条款。")
            let draft = try await article("华通内部草稿", "还没发布", publish: false)
            let returns = try await article("退货流程", "退货时先联系华通的客服。")  // a later body hit
            _ = try await article("报销制度", "差旅标准")

            let found = try await Self.search(api, "华通")
            #expect(found.status == .ok, "\(found.text)")
            let results = found.json["results"]?.asArray ?? []
            #expect(results.first?["id"] == .string(manual) && results.first?["title_hit"] == .bool(true), "\(found.text)")
            // The title hit first; then the body hits, newest first; never the draft.
            #expect(Self.ids(found) == [manual, returns, contract], "\(found.text)")
            #expect(results.dropFirst().allSatisfy { $0["title_hit"] == .bool(false) })
            let snippet = try #require(results.first { $0["id"] == .string(contract) }?["snippet_html"]?.stringValue)
            #expect(snippet.contains("<mark>华通</mark>"), "\(snippet)")
            #expect(snippet.contains("&lt;script") && !snippet.contains("<script"), "escaped: \(snippet)")
            #expect(!snippet.contains("**") && !snippet.contains("##"), "Markdown marks are dropped: \(snippet)")
            #expect(!Self.ids(found).contains(draft))
            #expect(Self.ids(try await Self.search(api, "差旅")).count == 1)

            // A category read by one department only: a salesperson elsewhere never finds its article.
            let east = try await PermissionFixtures.department(api, "华东", parent: nil)
            let west = try await PermissionFixtures.department(api, "华西", parent: nil)
            let insider = try await PermissionFixtures.member(client, tenant, api, "insider", department: east, roles: ["salesperson"])
            let outsider = try await PermissionFixtures.member(client, tenant, api, "outsider", department: west, roles: ["salesperson"])
            let secret = try await api.createID("kb_category", Self.body(["name": "华东资料", "name_en": "East only"]))
            #expect(try await KnowledgeTests.patch(api, "kb_category", secret, #"{"readers": "departments", "reader_department": "\#(east)"}"#).status == .ok)
            let eastern = try await article("华通华东区报价", "仅华东可见", category: secret)
            #expect(Self.ids(try await Self.search(insider.api, "华通")).contains(eastern))
            let outside = try await Self.search(outsider.api, "华通")
            #expect(outside.status == .ok && !Self.ids(outside).contains(eastern), "\(outside.text)")
            #expect(Self.ids(outside).contains(manual), "she still finds what everyone reads")

            // Bad queries name q.
            for q in ["", "   ", String(repeating: "华", count: 101)] {
                let refused = try await Self.search(api, q)
                #expect(refused.status == .unprocessableContent && refused.errorField == "q", "\(q.count): \(refused.text)")
            }

            // The page shows the hits with their marked snippets.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/knowledge/search?q=%E5%8D%8E%E9%80%9A").body)
            #expect(page.contains(#"data-testid="kb-search-hit""#) && page.contains("<mark>华通</mark>") && !page.contains("<script>alert"), "\(page.suffix(3000))")
        }
    }
}

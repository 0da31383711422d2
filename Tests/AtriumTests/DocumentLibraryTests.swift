import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Tenancy
import Testing

/// The document library (文档中心, issue 19): folders whose readers are shared through the
/// platform's record shares (a document outside them is a 404 everywhere, absent from search
/// and counts), documents whose every version is an attachment (kept, listed, downloadable,
/// restorable), Chinese and English search over names, file names, descriptions and tags,
/// tenant isolation, and uploads refused with the field named.
@Suite struct DocumentLibraryTests {
    typealias Part = AttachmentTests.Part

    static func pdf(_ text: String) -> [UInt8] { Array("%PDF-1.4\n\(text)\n%%EOF\n".utf8) }

    /// A multipart `POST` as an API client (bearer token, no CSRF).
    static func post(_ api: RecordAPIClient, _ path: String, _ parts: [Part]) async throws -> RecordAPIResponse {
        let response = try await api.client.execute(uri: path, method: .post, headers: [
            .authorization: "Bearer \(api.token)", TenantResolver.header: api.slug, .accept: "application/json",
            .contentType: AttachmentTests.multipartType,
        ], body: AttachmentTests.multipart(parts))
        let text = String(buffer: response.body)
        return RecordAPIResponse(status: response.status, json: (try? JSONValue.parse(text)) ?? .null, text: text, headers: response.headers)
    }

    static func fields(_ values: [String: String]) -> [Part] {
        values.sorted { $0.key < $1.key }.map { Part(name: $0.key, fileName: nil, contentType: nil, content: Array($0.value.utf8)) }
    }

    /// Uploads a new document; the test stops unless it is 201.
    static func upload(_ api: RecordAPIClient, folder: String, name: String, file: String, bytes: [UInt8], description: String = "",
                       tags: String = "") async throws -> JSONValue {
        let response = try await post(api, "/api/v1/knowledge/documents", fields(["name": name, "folder": folder, "description": description, "tags": tags])
            + [Part(fileName: file, content: bytes)])
        try #require(response.status == .created, "upload failed: \(response.text)")
        return response.json
    }

    static func body(_ api: RecordAPIClient, _ path: String) async throws -> (HTTPResponse.Status, [UInt8]) {
        let response = try await AttachmentTests.download(api, path)
        return (response.status, Array(response.body.readableBytesView))
    }

    /// A whole number as the records API writes numbers (a decimal string) or as a number.
    static func number(_ value: JSONValue?) -> Int? {
        value?.asInt ?? value?.stringValue.flatMap { Int($0) }
    }

    static func search(_ api: RecordAPIClient, _ q: String) async throws -> RecordAPIResponse {
        try await api.call(.get, "/api/v1/knowledge/documents?q=\(RecordAPIClient.escape(q))")
    }

    @Test func aFolderOfOneDepartmentHidesItsDocumentsFromEveryoneElse() async throws {
        try await AttachmentTests.withTenants("docperm") { client, tenants in
            let tenant = tenants[0]
            let api = try await RecordAPIClient.admin(client, tenant)
            let (east, inside, outside) = try await KnowledgeReadRuleTests.eastAndWest(client, tenant, api)

            let closed = try await api.createID("doc_folder", #"{"name": "华东区合同", "readers": "departments", "reader_department": "\#(east)"}"#)
            let open = try await api.createID("doc_folder", #"{"name": "产品资料"}"#)
            let secret = try #require(try await Self.upload(api, folder: closed, name: "华东区框架合同", file: "华东区框架合同.pdf",
                                                            bytes: Self.pdf("contract"), tags: "合同")["id"]?.stringValue)
            let everyone = try #require(try await Self.upload(api, folder: open, name: "产品目录", file: "产品目录.pdf", bytes: Self.pdf("catalog"),
                                                              tags: "合同 模板")["id"]?.stringValue)

            // Inside (Shanghai, below East) reads, finds and downloads it.
            #expect(try await inside.api.call(.get, "/api/v1/knowledge/documents/\(secret)").status == .ok)
            #expect(try await Self.body(inside.api, "/api/v1/knowledge/documents/\(secret)/download") == (.ok, Self.pdf("contract")))
            #expect(try await Self.search(inside.api, "合同").json["documents"]?.asArray?.strings("id").sorted() == [secret, everyone].sorted())
            #expect(try await inside.api.count("doc_document") == 2)

            // Outside (West): 404 on the record, the document, every download; not in search or counts.
            for path in ["/api/v1/doc_document/\(secret)", "/api/v1/knowledge/documents/\(secret)", "/api/v1/knowledge/documents/\(secret)/download",
                         "/api/v1/knowledge/documents/\(secret)/versions/1/download", "/api/v1/doc_folder/\(closed)"] {
                #expect(try await outside.api.call(.get, path).status == .notFound, "\(path)")
            }
            #expect(try await Self.body(outside.api, "/api/v1/knowledge/documents/\(everyone)/download") == (.ok, Self.pdf("catalog")))
            let found = try await Self.search(outside.api, "合同")
            #expect(found.json["documents"]?.asArray?.strings("id") == [everyone])
            #expect(found.total == 1)
            #expect(try await outside.api.list("doc_document", q: "华东").records.isEmpty)
            #expect(try await outside.api.count("doc_document") == 1)
            let folders = try await outside.api.call(.get, "/api/v1/knowledge/folders").json["folders"]?.asArray ?? []
            #expect(folders.strings("id") == [open])
            // A version can neither be added nor restored through the closed folder's door.
            #expect(try await Self.post(outside.api, "/api/v1/knowledge/documents/\(secret)/versions", [Part(fileName: "x.pdf", content: Self.pdf("x"))]).status == .notFound)
            #expect(try await outside.api.call(.post, "/api/v1/knowledge/documents/\(secret)/versions/1/restore").status == .notFound)
            // Nor can a document be put into a folder one cannot read.
            let intruder = try await Self.post(outside.api, "/api/v1/knowledge/documents",
                                               Self.fields(["name": "x", "folder": closed]) + [Part(fileName: "x.pdf", content: Self.pdf("x"))])
            #expect(intruder.status == .unprocessableContent && intruder.errorField == "folder")

            // The pages say the same: 404 for the document and its download, absent from the library.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: outside.email, password: "Member-password-1").status == .seeOther)
            #expect(try await browser.send(.get, "/app/knowledge/library/documents/\(secret)").status == .notFound)
            #expect(try await browser.send(.get, "/app/knowledge/library/documents/\(secret)/download").status == .notFound)
            #expect(try await browser.send(.get, "/app/knowledge/library/folders/\(closed)").status == .notFound)
            let library = try await browser.send(.get, "/app/knowledge/library?q=\(BrowserSession.escape("合同"))")
            let html = String(buffer: library.body)
            #expect(library.status == .ok && html.contains(everyone) && !html.contains(secret) && !html.contains("华东区"), "\(html.prefix(300))")
            // The page's upload form needs its CSRF token.
            let csrf = try #require(BrowserSession.csrfToken(in: html))
            let form = Self.fields(["name": "会议纪要", "folder": open]) + [Part(fileName: "纪要.pdf", content: Self.pdf("minutes"))]
            let forged = try await browser.send(.post, "/app/knowledge/library/documents", headers: [.contentType: AttachmentTests.multipartType],
                                                body: AttachmentTests.multipart(form))
            #expect(forged.status == .forbidden)
            let posted = try await browser.send(.post, "/app/knowledge/library/documents", headers: [.contentType: AttachmentTests.multipartType],
                                                body: AttachmentTests.multipart(Self.fields(["_csrf": csrf]) + form))
            #expect(posted.status == .seeOther)
            let location = posted.headers[.location] ?? ""
            #expect(location.hasPrefix("/app/knowledge/library/documents/"), "\(location)")
            let page = try await browser.send(.get, String(location.prefix { $0 != "?" }))
            #expect(page.status == .ok && String(buffer: page.body).contains("纪要.pdf"))
            // The form's refusals name the field on the error page, and write nothing.
            let unnamed = try await browser.send(.post, "/app/knowledge/library/documents", headers: [.contentType: AttachmentTests.multipartType],
                                                 body: AttachmentTests.multipart(Self.fields(["_csrf": csrf, "name": "", "folder": open])
                                                     + [Part(fileName: "纪要.pdf", content: Self.pdf("minutes"))]))
            #expect(unnamed.status == .unprocessableContent && String(buffer: unnamed.body).contains("Name is required"), "\(String(buffer: unnamed.body).suffix(600))")
            #expect(try await outside.api.count("doc_document") == 2)
            #expect(try await inside.api.count("doc_document") == 3)

            // Opening the folder to everyone reaches the outsider; a private folder then hides from both.
            #expect(try await KnowledgeTests.patch(api, "doc_folder", closed, #"{"readers": "everyone"}"#).status == .ok)
            #expect(try await outside.api.call(.get, "/api/v1/knowledge/documents/\(secret)").status == .ok)
            let mine = try await inside.api.createID("doc_folder", #"{"name": "我的草稿", "readers": "private"}"#)
            let draft = try #require(try await Self.upload(inside.api, folder: mine, name: "草稿", file: "草稿.txt", bytes: Array("私人".utf8))["id"]?.stringValue)
            #expect(try await inside.api.call(.get, "/api/v1/knowledge/documents/\(draft)").status == .ok)
            #expect(try await outside.api.call(.get, "/api/v1/knowledge/documents/\(draft)").status == .notFound)
            #expect(try await outside.api.call(.get, "/api/v1/doc_folder/\(mine)").status == .notFound)
            #expect(try await outside.api.count("doc_document") == 3)
        }
    }

    @Test func uploadingANewVersionKeepsTheEarlierOneAndRestoringMakesItCurrent() async throws {
        try await AttachmentTests.withTenants("docver") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let reader = try await KnowledgeReadingTests.member(client, tenants[0], "reader")
            let folder = try await api.createID("doc_folder", #"{"name": "销售工具"}"#)
            let (v1, v2) = (Self.pdf("version one"), Self.pdf("version two, longer"))
            let created = try await Self.upload(api, folder: folder, name: "报价单模板", file: "quote-v1.pdf", bytes: v1)
            let id = try #require(created["id"]?.stringValue)
            #expect(Self.number(created["current_version"]) == 1)

            let second = try await Self.post(api, "/api/v1/knowledge/documents/\(id)/versions", [Part(fileName: "quote-v2.pdf", content: v2)])
            #expect(second.status == .created)
            #expect(second.json["file_name"]?.stringValue == "quote-v2.pdf")
            #expect(Self.number(second.json["current_version"]) == 2)
            let versions = second.json["versions"]?.asArray ?? []
            #expect(versions.strings("file_name") == ["quote-v1.pdf", "quote-v2.pdf"])
            #expect(versions.map { $0["current"]?.asBool } == [false, true])
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/download") == (.ok, v2))
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/versions/1/download") == (.ok, v1))
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/versions/2/download") == (.ok, v2))
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/versions/3/download").0 == .notFound)
            // A reader of the folder reads every version but may not add or restore one.
            #expect(try await Self.body(reader.api, "/api/v1/knowledge/documents/\(id)/versions/1/download") == (.ok, v1))
            #expect(try await Self.post(reader.api, "/api/v1/knowledge/documents/\(id)/versions", [Part(fileName: "x.pdf", content: v2)]).status == .notFound)
            #expect(try await reader.api.call(.post, "/api/v1/knowledge/documents/\(id)/versions/1/restore").status == .notFound)

            let restored = try await api.call(.post, "/api/v1/knowledge/documents/\(id)/versions/1/restore")
            #expect(restored.status == .ok)
            #expect(restored.json["file_name"]?.stringValue == "quote-v1.pdf")
            #expect(Self.number(restored.json["current_version"]) == 1)
            #expect((restored.json["versions"]?.asArray ?? []).map { $0["current"]?.asBool } == [true, false])
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/download") == (.ok, v1))
            #expect(try await Self.body(api, "/api/v1/knowledge/documents/\(id)/versions/2/download") == (.ok, v2))
            #expect(try await api.call(.post, "/api/v1/knowledge/documents/\(id)/versions/9/restore").status == .notFound)
            let listed = try await api.call(.get, "/api/v1/knowledge/documents/\(id)/versions").json["versions"]?.asArray ?? []
            #expect(listed.strings("sha256") == [AttachmentTests.sha256(v1), AttachmentTests.sha256(v2)])
            #expect(listed.map { Self.number($0["version"]) } == [1, 2])
            #expect(try await reader.api.call(.get, "/api/v1/knowledge/documents/\(id)/versions").status == .ok)
            // Each upload and the restore are on the document's audit trail.
            let history = try await api.call(.get, "/api/v1/doc_document/\(id)/history")
            let actions = (history.json["entries"]?.asArray ?? history.json.asArray ?? []).compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "attachment.added" }.count == 2, "\(history.text.prefix(400))")
        }
    }

    @Test func searchFindsDocumentsByChineseAndEnglishWordsInNamesFilesDescriptionsAndTags() async throws {
        try await AttachmentTests.withTenants("docsearch") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let folder = try await api.createID("doc_folder", #"{"name": "产品资料"}"#)
            let manual = try #require(try await Self.upload(api, folder: folder, name: "产品手册", file: "北京华通科技有限公司产品手册.pdf",
                                                            bytes: Self.pdf("manual"))["id"]?.stringValue)
            let deck = try #require(try await Self.upload(api, folder: folder, name: "Sales deck", file: "deck.pdf", bytes: Self.pdf("deck"),
                                                          description: "Quarterly pitch for 上海客户", tags: "presentation")["id"]?.stringValue)
            _ = try await Self.upload(api, folder: folder, name: "差旅报销制度", file: "travel.txt", bytes: Array("出差".utf8))

            #expect(try await Self.search(api, "华通").json["documents"]?.asArray?.strings("id") == [manual])
            #expect(try await Self.search(api, "华通科技").json["documents"]?.asArray?.strings("id") == [manual])
            #expect(try await Self.search(api, "上海").json["documents"]?.asArray?.strings("id") == [deck])
            #expect(try await Self.search(api, "presen").json["documents"]?.asArray?.strings("id") == [deck])
            #expect(try await Self.search(api, "quarterly").json["documents"]?.asArray?.strings("id") == [deck])
            #expect(try await Self.search(api, "深圳").json["documents"]?.asArray?.isEmpty == true)
            // The records API's search finds the same (one search for every entity).
            #expect(try await api.list("doc_document", q: "华通").records.strings("id") == [manual])
            // A new version's file name is searchable at once.
            #expect(try await Self.post(api, "/api/v1/knowledge/documents/\(deck)/versions", [Part(fileName: "深圳路演.pdf", content: Self.pdf("v2"))]).status == .created)
            #expect(try await Self.search(api, "深圳").json["documents"]?.asArray?.strings("id") == [deck])
        }
    }

    @Test func anotherTenantsDocumentsAreUnreachable() async throws {
        try await AttachmentTests.withTenants("doca", "docb") { client, tenants in
            let a = try await RecordAPIClient.admin(client, tenants[0])
            let b = try await RecordAPIClient.admin(client, tenants[1])
            let folder = try await a.createID("doc_folder", #"{"name": "公司制度"}"#)
            let id = try #require(try await Self.upload(a, folder: folder, name: "考勤制度", file: "考勤制度.pdf", bytes: Self.pdf("a"))["id"]?.stringValue)
            for path in ["/api/v1/knowledge/documents/\(id)", "/api/v1/knowledge/documents/\(id)/download",
                         "/api/v1/knowledge/documents/\(id)/versions/1/download", "/api/v1/doc_document/\(id)", "/api/v1/doc_folder/\(folder)"] {
                #expect(try await b.call(.get, path).status == .notFound, "\(path)")
            }
            #expect(try await b.call(.post, "/api/v1/knowledge/documents/\(id)/versions/1/restore").status == .notFound)
            #expect(try await Self.search(b, "考勤").total == 0)
            #expect(try await b.count("doc_document") == 0)
            // Tenant b cannot file a document into tenant a's folder either.
            let cross = try await Self.post(b, "/api/v1/knowledge/documents", Self.fields(["name": "x", "folder": folder]) + [Part(fileName: "x.pdf", content: Self.pdf("b"))])
            #expect(cross.status == .unprocessableContent && cross.errorField == "folder")
            #expect(try await Self.search(a, "考勤").total == 1)
        }
    }

    @Test func badUploadsAreRefusedNamingTheFieldAndWriteNothing() async throws {
        try await AttachmentTests.withTenants("docbad") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            let folder = try await api.createID("doc_folder", #"{"name": "公司制度"}"#)
            let file = Part(fileName: "a.pdf", content: Self.pdf("a"))
            let cases: [(String, [Part], HTTPResponse.Status, String)] = [
                ("no file", Self.fields(["name": "制度", "folder": folder]), .unprocessableContent, "file"),
                ("empty name", Self.fields(["name": "  ", "folder": folder]) + [file], .unprocessableContent, "name"),
                ("no folder", Self.fields(["name": "制度"]) + [file], .unprocessableContent, "folder"),
                ("too large", Self.fields(["name": "制度", "folder": folder]) + [Part(fileName: "big.pdf", content: Self.pdf(String(repeating: "x", count: 1_100_000)))],
                 .contentTooLarge, "file"),
                ("refused type", Self.fields(["name": "制度", "folder": folder]) + [Part(fileName: "run.exe", content: [0x4D, 0x5A, 1, 2])], .unprocessableContent, "file"),
                ("not a PDF", Self.fields(["name": "制度", "folder": folder]) + [Part(fileName: "fake.pdf", content: Array("hello".utf8))], .unprocessableContent, "file"),
            ]
            for (label, parts, status, field) in cases {
                let response = try await Self.post(api, "/api/v1/knowledge/documents", parts)
                #expect(response.status == status, "\(label): \(response.text)")
                #expect(response.errorField == field, "\(label): \(response.text)")
            }
            let notMultipart = try await api.call(.post, "/api/v1/knowledge/documents", json: #"{"name": "制度"}"#)
            #expect(notMultipart.status == .unsupportedMediaType && notMultipart.errorField == "file")
            // Nothing was written: no document, no attachment row.
            #expect(try await api.count("doc_document") == 0)
            let id = try #require(try await Self.upload(api, folder: folder, name: "制度", file: "a.pdf", bytes: Self.pdf("a"))["id"]?.stringValue)
            let empty = try await Self.post(api, "/api/v1/knowledge/documents/\(id)/versions", [])
            #expect((400..<500).contains(empty.status.code) && empty.errorField == "file", "\(empty.text)")
            #expect(try await api.call(.post, "/api/v1/knowledge/documents/\(id)/versions/x/restore").errorField == "version")
            #expect((try await api.call(.get, "/api/v1/knowledge/documents/\(id)").json["versions"]?.asArray ?? []).count == 1)
            // A folder cannot go below itself.
            let child = try await api.createID("doc_folder", #"{"name": "子目录", "parent": "\#(folder)"}"#)
            let loop = try await KnowledgeTests.patch(api, "doc_folder", folder, #"{"parent": "\#(child)"}"#)
            #expect(loop.status == .unprocessableContent && loop.errorField == "parent")
        }
    }

    /// Demo data: the folder tree with one department-only folder and small generated files,
    /// one with two versions; seeding again adds nothing.
    @Test func demoDataSeedsAFolderTreeWithFilesOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("docdemo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let files = LocalFileStore(path: NSTemporaryDirectory() + "atrium-doc-demo-\(UUID().uuidString)")
        let (folders, documents, attachments, restricted) = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let demo = ModuleDemoContext(engine: RecordEngine(catalog: catalog), admin: admin, people: [:], connection: connection, logger: logger, files: files)
                try await DocumentLibraryDemoData.seed(demo)
                try await DocumentLibraryDemoData.seed(demo)
                func count(_ sql: PostgresQuery) async throws -> Int { try await connection.query(sql, logger: logger).one(Int.self) }
                return (try await count("SELECT count(*)::int FROM records WHERE entity = 'doc_folder'"),
                        try await count("SELECT count(*)::int FROM records WHERE entity = 'doc_document'"),
                        try await count("SELECT count(*)::int FROM attachments WHERE entity = 'doc_document'"),
                        try await count("SELECT count(*)::int FROM records WHERE entity = 'doc_folder' AND data->>'readers' <> 'everyone'"))
            }
        }
        #expect(folders == 5)
        #expect(documents == 5)
        #expect(attachments == 6)
        #expect(restricted == 1)
    }
}

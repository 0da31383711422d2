import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Tenancy
import Testing

/// Files on records (issue 16, attachments part): an upload keeps its bytes exactly, on disk
/// under the tenant's folder by SHA-256 before its row commits; downloads are never pages;
/// access follows the record (scope and tenant → 404); limits and refused types name `file`.
@Suite struct AttachmentTests {
    typealias Member = PermissionFixtures.Member

    /// A file part (or a text field when `fileName` is nil).
    struct Part {
        var name = "file"
        var fileName: String?
        var contentType: String? = "application/octet-stream"
        var content: [UInt8]
    }

    static let boundary = "----AtriumTestBoundary7MA4YWxkTrZu0gW"

    static func multipart(_ parts: [Part]) -> ByteBuffer {
        var body = ByteBuffer()
        for part in parts {
            body.writeString("--\(boundary)\r\n")
            if let fileName = part.fileName {
                body.writeString("Content-Disposition: form-data; name=\"\(part.name)\"; filename=\"\(fileName)\"\r\n")
                if let type = part.contentType { body.writeString("Content-Type: \(type)\r\n") }
            } else {
                body.writeString("Content-Disposition: form-data; name=\"\(part.name)\"\r\n")
            }
            body.writeString("\r\n")
            body.writeBytes(part.content)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return body
    }

    static var multipartType: String { "multipart/form-data; boundary=\(boundary)" }

    /// A small PDF whose body holds what could confuse a multipart parser: line breaks, a
    /// partial boundary, every byte value.
    static let pdf: [UInt8] = Array("%PDF-1.4\r\n".utf8) + Array("\r\n--\(boundary.dropLast(3))\r\n".utf8) + (0...255).map(UInt8.init)
        + Array("\r\n%%EOF\r\n".utf8)

    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 40)

    /// `POST …/attachments` as an API client (bearer token, no CSRF).
    static func upload(_ api: RecordAPIClient, _ path: String, _ parts: [Part], contentType: String = multipartType) async throws -> RecordAPIResponse {
        let response = try await api.client.execute(uri: path + "/attachments", method: .post, headers: [
            .authorization: "Bearer \(api.token)", TenantResolver.header: api.slug, .accept: "application/json", .contentType: contentType,
        ], body: multipart(parts))
        let text = String(buffer: response.body)
        return RecordAPIResponse(status: response.status, json: (try? JSONValue.parse(text)) ?? .null, text: text, headers: response.headers)
    }

    static func download(_ api: RecordAPIClient, _ href: String) async throws -> TestResponse {
        try await api.client.execute(uri: href, method: .get, headers: [.authorization: "Bearer \(api.token)", TenantResolver.header: api.slug])
    }

    static func files(_ api: RecordAPIClient, _ path: String) async throws -> RecordAPIResponse {
        try await api.call(.get, path + "/attachments")
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        FileDigest.sha256(ByteBuffer(bytes: bytes))
    }

    /// New tenants and the live app with a 1 MiB upload limit.
    static func withTenants(_ prefixes: String..., body: @escaping @Sendable (any TestClientProtocol, [TestEnvironment.Tenant]) async throws -> Void) async throws {
        try await RecordFixtures.withTenants(prefixes: prefixes, configure: { $0.maxUploadBytes = 1024 * 1024 }, body: body)
    }

    @Test func anUploadComesBackByteForByteAsADownloadAndLiesOnDiskUnderItsHash() async throws {
        try await Self.withTenants("att") { client, tenants in
            let tenant = tenants[0]
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(RecordFixtures.projectObject)
            let project = try await api.createID("x_project", #"{"x_name": "Harbour racking"}"#)
            let path = "/api/v1/x_project/\(project)"
            #expect(try await Self.files(api, path).json["attachments"]?.asArray?.isEmpty == true)

            let uploaded = try await Self.upload(api, path, [Part(fileName: "合同 2026.pdf", contentType: "application/pdf", content: Self.pdf)])
            try #require(uploaded.status == .created, "\(uploaded.text)")
            let digest = Self.sha256(Self.pdf)
            #expect(uploaded.json["file_name"] == .string("合同 2026.pdf"))
            #expect(uploaded.json["content_type"] == .string("application/pdf"))
            #expect(uploaded.json["byte_size"]?.asInt == Self.pdf.count)
            #expect(uploaded.json["sha256"] == .string(digest))
            let href = try #require(uploaded.json["href"]?.stringValue)

            let listed = try await Self.files(api, path)
            #expect(listed.status == .ok)
            #expect(listed.json["attachments"]?.asArray?.compactMap { $0["href"]?.stringValue } == [href])

            let file = try await Self.download(api, href)
            #expect(file.status == .ok)
            #expect(Array(file.body.readableBytesView) == Self.pdf, "the bytes come back exactly")
            #expect(file.headers[.contentType] == "application/pdf")
            #expect(file.headers[.contentDisposition] == "attachment; filename=\"__ 2026.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C%202026.pdf")
            #expect(file.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(file.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("sandbox") == true)

            // Content-addressed under the tenant's folder, written before the row committed.
            let stored = TestEnvironment.filesDirectory.appendingPathComponent(tenant.info.id.uuidString.lowercased())
                .appendingPathComponent(String(digest.prefix(2))).appendingPathComponent(digest)
            #expect(FileManager.default.contents(atPath: stored.path).map(Array.init) == Self.pdf, "no file at \(stored.path)")

            // The same bytes again are a second attachment over the one stored file.
            let again = try await Self.upload(api, path, [Part(fileName: "copy.pdf", content: Self.pdf)])
            #expect(again.status == .created, "\(again.text)")
            let folder = stored.deletingLastPathComponent().path
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") } == [digest])
            #expect(try await Self.files(api, path).json["attachments"]?.asArray?.count == 2)
            // `tenant show` counts both attachments and the bytes once.
            let tenantID = tenant.info.id
            let usage = try await TestEnvironment.withOwner { try await TenantUsage.read(tenantID: tenantID, on: $0, logger: TestEnvironment.logger) }
            #expect(usage.attachments == 2 && usage.fileBytes == Self.pdf.count, "\(usage.attachments) \(usage.fileBytes)")

            // The record's history tells who attached what.
            let history = try await api.call(.get, "\(path)/history")
            let actions = history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions == ["record.created", "attachment.added", "attachment.added"], "\(history.text)")
            #expect(history.json["entries"]?.asArray?[1]["details"]?["changes"]?["attachment"]?["after"] == .string("合同 2026.pdf"))
        }
    }

    @Test func whoCannotReadTheRecordGetsNotFoundForItsFiles() async throws {
        try await PermissionFixtures.withOrg("attscope") { org in
            let path = "/api/v1/x_deal/\(org.deals["west"]!)"
            let uploaded = try await Self.upload(org["west"].api, path, [Part(fileName: "photo.png", contentType: "image/png", content: Self.png)])
            try #require(uploaded.status == .created, "the owner attaches: \(uploaded.text)")
            let href = try #require(uploaded.json["href"]?.stringValue)
            let id = try #require(uploaded.json["id"]?.stringValue)

            // 李雷 of Shanghai sees only his own deals: West's files are as absent as the deal.
            let sh = org["sh"].api
            let list = try await Self.files(sh, path)
            #expect(list.status == .notFound && list.errorCode == "record_not_found", "\(list.text)")
            #expect(try await Self.download(sh, href).status == .notFound)
            let upload = try await Self.upload(sh, path, [Part(fileName: "x.png", contentType: "image/png", content: Self.png)])
            #expect(upload.status == .notFound, "\(upload.text)")
            #expect(try await sh.call(.delete, "\(path)/attachments/\(id)").status == .notFound)
            // His own deal does not open West's attachment either.
            #expect(try await Self.download(sh, "/api/v1/x_deal/\(org.deals["sh1"]!)/attachments/\(id)").status == .notFound)

            // Reading is enough to list and download; changing needs the update right.
            let reader = org["reader"].api
            #expect(try await Self.files(reader, path).json["attachments"]?.asArray?.count == 1)
            let file = try await Self.download(reader, href)
            #expect(file.status == .ok && Array(file.body.readableBytesView) == Self.png)
            #expect(file.headers[.contentType] == "image/png")
            #expect(try await Self.upload(reader, path, [Part(fileName: "y.png", contentType: "image/png", content: Self.png)]).status == .forbidden)
            #expect(try await reader.call(.delete, "\(path)/attachments/\(id)").status == .forbidden)
            #expect(try await Self.files(org.admin, path).json["attachments"]?.asArray?.count == 1, "nothing was removed")
        }
    }

    @Test func anotherTenantGetsNotFound() async throws {
        try await Self.withTenants("atta", "attb") { client, tenants in
            let a = try await RecordAPIClient.admin(client, tenants[0])
            let b = try await RecordAPIClient.admin(client, tenants[1])
            for api in [a, b] { try await api.createObject(RecordFixtures.projectObject) }
            let project = try await a.createID("x_project", #"{"x_name": "A's"}"#)
            let path = "/api/v1/x_project/\(project)"
            let uploaded = try await Self.upload(a, path, [Part(fileName: "notes.txt", contentType: "text/plain", content: Array("only for A\n".utf8))])
            try #require(uploaded.status == .created, "\(uploaded.text)")
            let href = try #require(uploaded.json["href"]?.stringValue)
            let id = try #require(uploaded.json["id"]?.stringValue)

            #expect(try await Self.files(b, path).status == .notFound)
            #expect(try await Self.download(b, href).status == .notFound)
            #expect(try await b.call(.delete, "\(path)/attachments/\(id)").status == .notFound)
            // Nor through a record of B's own.
            let own = try await b.createID("x_project", #"{"x_name": "B's"}"#)
            let foreign = try await Self.download(b, "/api/v1/x_project/\(own)/attachments/\(id)")
            #expect(foreign.status == .notFound)
            #expect(try await Self.download(a, href).status == .ok, "A still has it")
            // Without a token nobody uploads (401 before the body is read).
            let stranger = try await client.execute(uri: path + "/attachments", method: .post, headers: [
                TenantResolver.header: tenants[0].info.slug, .accept: "application/json", .contentType: Self.multipartType,
            ], body: Self.multipart([Part(fileName: "x.pdf", content: Self.pdf)]))
            #expect(stranger.status == .unauthorized, "\(String(buffer: stranger.body))")
        }
    }

    @Test func oversizedRefusedAndEmptyFilesAreRefusedNamingTheField() async throws {
        try await Self.withTenants("attlim") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            try await api.createObject(RecordFixtures.projectObject)
            let path = "/api/v1/x_project/\(try await api.createID("x_project", #"{"x_name": "Limits"}"#))"

            let big = try await Self.upload(api, path, [Part(fileName: "scan.pdf", content: Array("%PDF-".utf8) + Array(repeating: 0x20, count: 1024 * 1024))])
            #expect(big.status == .contentTooLarge, "\(big.text)")
            #expect(big.errorCode == "file_too_large" && big.errorField == "file")

            for (name, type, content) in [("page.html", "text/html", Array("<script>alert(1)</script>".utf8)),
                                          ("logo.svg", "image/svg+xml", Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8)),
                                          ("setup.exe", "application/octet-stream", Array("MZ\u{90}".utf8)),
                                          ("readme.txt", "text/html", Array("<html>".utf8)),
                                          ("no-extension", "application/octet-stream", Array("x".utf8))] {
                let refused = try await Self.upload(api, path, [Part(fileName: name, contentType: type, content: content)])
                #expect(refused.status == .unprocessableContent, "\(name): \(refused.text)")
                #expect(refused.errorCode == "file_type_not_allowed" && refused.errorField == "file", "\(name): \(refused.text)")
            }
            let fake = try await Self.upload(api, path, [Part(fileName: "photo.png", contentType: "image/png", content: Array("<html>".utf8))])
            #expect(fake.status == .unprocessableContent && fake.errorCode == "file_content_mismatch" && fake.errorField == "file", "\(fake.text)")
            let empty = try await Self.upload(api, path, [Part(fileName: "empty.pdf", content: [])])
            #expect(empty.status == .unprocessableContent && empty.errorCode == "file_empty" && empty.errorField == "file", "\(empty.text)")
            let missing = try await Self.upload(api, path, [Part(name: "note", fileName: nil, content: Array("hi".utf8))])
            #expect(missing.status == .unprocessableContent && missing.errorCode == "file_required", "\(missing.text)")
            let json = try await api.call(.post, "\(path)/attachments", json: #"{"file": "x"}"#)
            #expect(json.status == .unsupportedMediaType && json.errorField == "file", "\(json.text)")

            #expect(try await Self.files(api, path).json["attachments"]?.asArray?.isEmpty == true, "nothing was attached")
            let history = try await api.call(.get, "\(path)/history")
            #expect(history.json["entries"]?.asArray?.count == 1, "nothing was audited but the record: \(history.text)")
        }
    }

    @Test func aRemovedFileIsGoneFromTheRecordAndTheRemovalIsAudited() async throws {
        try await Self.withTenants("attdel") { client, tenants in
            let api = try await RecordAPIClient.admin(client, tenants[0])
            try await api.createObject(RecordFixtures.projectObject)
            let path = "/api/v1/x_project/\(try await api.createID("x_project", #"{"x_name": "Removal"}"#))"
            let uploaded = try await Self.upload(api, path, [Part(fileName: "quote.xlsx", content: Array("PK\u{3}\u{4}sheet".utf8))])
            try #require(uploaded.status == .created, "\(uploaded.text)")
            #expect(uploaded.json["content_type"] == .string("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
            let href = try #require(uploaded.json["href"]?.stringValue)

            #expect(try await api.call(.delete, href).status == .noContent)
            #expect(try await Self.files(api, path).json["attachments"]?.asArray?.isEmpty == true)
            let gone = try await Self.download(api, href)
            #expect(gone.status == .notFound)
            #expect(try await api.call(.delete, href).errorCode == "attachment_not_found")
            let history = try await api.call(.get, "\(path)/history")
            let last = history.json["entries"]?.asArray?.last
            #expect(last?["action"] == .string("attachment.deleted"), "\(history.text)")
            #expect(last?["details"]?["changes"]?["attachment"]?["before"] == .string("quote.xlsx"))
        }
    }

    /// The record page lists the files, uploads through its multipart form (with the CSRF
    /// token) and removes them, in the user's language.
    @Test func theRecordPageUploadsListsAndRemovesFiles() async throws {
        try await Self.withTenants("attweb") { client, tenants in
            let tenant = tenants[0]
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(RecordFixtures.projectObject)
            let project = try await api.createID("x_project", #"{"x_name": "Web files"}"#)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/x_project/\(project)").body)
            #expect(page.contains(#"data-testid="attachments""#) && page.contains(#"enctype="multipart/form-data""#), "\(page.suffix(3000))")
            let csrf = try #require(BrowserSession.csrfToken(in: page))

            let form: [Part] = [Part(name: "_csrf", fileName: nil, content: Array(csrf.utf8)),
                                Part(fileName: "报价单.pdf", contentType: "application/pdf", content: Self.pdf)]
            let posted = try await browser.send(.post, "/app/x_project/\(project)/attachments", headers: [.contentType: Self.multipartType],
                                                body: Self.multipart(form))
            #expect(posted.status == .seeOther, "\(String(buffer: posted.body))")
            #expect(posted.headers[.location] == "/app/x_project/\(project)?notice=attachment_added#attachments")
            let forged = try await browser.send(.post, "/app/x_project/\(project)/attachments", headers: [.contentType: Self.multipartType],
                                                body: Self.multipart([form[1]]))
            #expect(forged.status == .forbidden, "no token, no upload")

            #expect(try await browser.send(.post, "/settings/locale", form: ["_csrf": csrf, "locale": "zh-CN"]).status == .seeOther)
            let shown = String(buffer: try await browser.send(.get, "/app/x_project/\(project)").body)
            let section = Self.attachmentsSection(shown)
            #expect(section.contains("<h2>附件 <span class=\"muted count\">1</span></h2>"), "\(section)")
            #expect(section.contains("报价单.pdf") && section.contains("315 B"), "\(section)")
            let files = try await Self.files(api, "/api/v1/x_project/\(project)").json["attachments"]?.asArray ?? []
            let id = try #require(files.first?["id"]?.stringValue)
            let download = try await browser.send(.get, "/app/x_project/\(project)/attachments/\(id)")
            #expect(download.status == .ok && Array(download.body.readableBytesView) == Self.pdf)

            let removed = try await browser.send(.post, "/app/x_project/\(project)/attachments/\(id)/delete", form: ["_csrf": csrf])
            #expect(removed.status == .seeOther)
            let after = String(buffer: try await browser.send(.get, "/app/x_project/\(project)").body)
            #expect(!Self.attachmentsSection(after).contains("报价单.pdf") && Self.attachmentsSection(after).contains("暂无附件"), "\(Self.attachmentsSection(after))")
            #expect(after.contains("删除附件"), "the history tells of the removal")
        }
    }

    /// The record page's attachments section alone (the history below names files too).
    static func attachmentsSection(_ page: String) -> String {
        guard let start = page.range(of: #"data-testid="attachments""#) else { return "" }
        let rest = page[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</section>")?.lowerBound ?? rest.endIndex)])
    }

    @Test func aMultipartBodyIsReadAsBrowsersWriteIt() throws {
        var body = ByteBuffer()
        body.writeString("preamble\r\n--b1\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n--b1\r\n")
        body.writeString("Content-Disposition: form-data; name=\"file\"; filename=\"C:\\\\Users\\\\li\\\\a \\\"q\\\".pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-\r\n--b\r\n--b1--\r\n")
        let form = try MultipartForm.parse(body, contentType: "multipart/form-data; boundary=\"b1\"")
        #expect(form.fields["_csrf"] == "tok")
        let file = try #require(form.files["file"])
        #expect(file.fileName == #"C:\Users\li\a "q".pdf"#)
        #expect(AttachmentPolicy.safeName(file.fileName) == #"a "q".pdf"#)
        #expect(String(buffer: file.content) == "%PDF-\r\n--b")
        #expect(AttachmentPolicy.contentDisposition(#"a "q".pdf"#) == #"attachment; filename="a _q_.pdf"; filename*=UTF-8''a%20%22q%22.pdf"#)
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm.parse(ByteBuffer(string: "--b1\r\nno end"), contentType: "multipart/form-data; boundary=b1") }
        #expect(FileDigest.sha256(ByteBuffer(string: "abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(DisplayFormat.fileSize(1536) == "1.5 KB" && DisplayFormat.fileSize(20 * 1024 * 1024) == "20.0 MB" && DisplayFormat.fileSize(12) == "12 B")
    }
}

import Foundation
import Hummingbird
import Platform

/// Web pages of the document library (文档中心) in the shared shell: the library with its
/// folder tree, a search box and an upload form; a folder's documents; a document with its
/// versions, downloads, restore buttons and an upload form for a new version. Every page reads
/// and writes through the engine as the signed-in user (a document they cannot read is the
/// 404 page); forms carry the CSRF token.
///
///     GET  /app/knowledge/library?q=                                  folder tree + documents (or search hits)
///     GET  /app/knowledge/library/folders/{id}                        one folder: its sub-folders and documents
///     POST /app/knowledge/library/documents                           upload form (multipart) → the document page
///     GET  /app/knowledge/library/documents/{id}                      the document, its versions, new-version form
///     POST /app/knowledge/library/documents/{id}/versions             new version (multipart)
///     GET  /app/knowledge/library/documents/{id}/download             the current file
///     GET  /app/knowledge/library/documents/{id}/versions/{n}/download
///     POST /app/knowledge/library/documents/{id}/versions/{n}/restore
struct DocumentLibraryPages: ModuleHandlers {
    let web: WebApp
    static let home = "/app/knowledge/library"

    func register(on router: RouterGroup<AtriumContext>) {
        let api = DocumentLibraryAPI(web: web)
        router.get("app/knowledge/library", use: library)
        router.get("app/knowledge/library/folders/:id", use: folder)
        router.post("app/knowledge/library/documents", use: create)
        router.get("app/knowledge/library/documents/:id", use: document)
        router.post("app/knowledge/library/documents/:id/versions", use: upload)
        router.get("app/knowledge/library/documents/:id/download", use: api.download)
        router.get("app/knowledge/library/documents/:id/versions/:version/download", use: api.download)
        router.post("app/knowledge/library/documents/:id/versions/:version/restore", use: restore)
    }

    static func documentPath(_ id: String) -> String { "\(home)/documents/\(id)" }

    /// An engine refusal of the upload form (`name is required`, an unreadable `folder`) says
    /// which of the form's fields it means, by the label the form shows.
    static func namingField(_ error: any Error, locale: String, web: WebApp) -> any Error {
        guard var refusal = error as? AtriumError, let field = refusal.field, refusal.messageArguments["field"] == nil else { return error }
        refusal.messageArguments["field"] = web.t("knowledge.library.\(field)", locale)
        return refusal
    }

    func time(_ text: String?) -> String {
        guard let text, let date = try? Date(text, strategy: .iso8601) else { return text ?? "" }
        return DisplayFormat.dateTime(date)
    }

    func readersLabel(_ folder: Record, _ locale: String) -> String {
        let value = folder.string("readers") ?? "everyone"
        return DocumentLibraryEntities.folderReaders.first { $0.value == value }.map { DisplayFormat.label($0.labels, locale: locale, fallback: value) } ?? value
    }

    /// What the library and folder pages share: the tree (the open folder marked), the
    /// documents shown, and the upload form's folder choices.
    func values(page: WebApp.Page, store: ModuleStore, open: Record?, q: String?) async throws -> [String: Any] {
        let tree = try await DocumentLibraryAPI.tree(store: store)
        let names = Dictionary(tree.map { ($0.folder.idText, $0.folder.string("name") ?? "") }, uniquingKeysWith: { first, _ in first })
        let shown = try await DocumentLibraryAPI.search(q: q, folder: open?.idText, limit: 100, store: store)
        let documents: [[String: Any]] = shown.records.map { document in
            ["id": document.idText, "name": document.string("name") ?? "", "file_name": document.string("file_name") ?? "",
             "folder": names[document.string("folder") ?? ""] ?? "", "folder_id": document.string("folder") ?? "",
             "version": "\(ArticleVersions.number(document.values["current_version"]) ?? 1)", "tags": document.string("tags") ?? "",
             "size": DisplayFormat.fileSize(Int64(ArticleVersions.number(document.values["byte_size"]) ?? 0)),
             "uploaded_at": time(document.string("uploaded_at")),
             "uploader": document.string("uploaded_by").flatMap { page.format.names[$0] } ?? ""]
        }
        let canUpload = page.entities["doc_document"].map { page.actor.access.scope($0, .create) > .none } ?? false
        return [
            "folders": tree.map { entry in
                ["id": entry.folder.idText, "name": entry.folder.string("name") ?? "", "depth": "\(min(entry.depth, 5))",
                 "count": "\(entry.documents)", "open": entry.folder.id == open?.id, "private": entry.folder.string("readers") == "private"] as [String: Any]
            },
            "documents": documents, "none": documents.isEmpty, "total": "\(shown.total)",
            "q": q ?? "", "searching": !(q ?? "").isEmpty,
            "can_upload": canUpload && !tree.isEmpty,
            "can_add_folder": page.entities["doc_folder"].map { page.actor.access.scope($0, .create) > .none } ?? false,
            "choices": tree.map { entry in
                ["id": entry.folder.idText, "label": String(repeating: "— ", count: min(entry.depth, 5)) + (entry.folder.string("name") ?? ""),
                 "selected": entry.folder.id == open?.id] as [String: Any]
            },
            "accept": AttachmentPolicy.allowedTypes.keys.sorted().map { ".\($0)" }.joined(separator: ","),
            "limit_mib": "\(web.attachmentPolicy.maxBytes / (1024 * 1024))",
        ]
    }

    @Sendable func library(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let q = request.uri.queryParameters["q"].map(String.init)
        return try await web.page(request, context, current: Self.home) { page, db in
            let store = store(page, db)
            try await KnowledgeAPI.requireEnabled(store)
            var values = try await values(page: page, store: store, open: nil, q: q)
            values["title"] = web.t("knowledge.library.title", page.locale)
            return web.render("knowledge_library", page, values)
        }
    }

    @Sendable func folder(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: Self.home) { page, db in
            let store = store(page, db)
            let folder = try await KnowledgeAPI.read("doc_folder", id, store: store)
            var values = try await values(page: page, store: store, open: folder, q: nil)
            values["title"] = folder.string("name") ?? ""
            values["folder"] = ["id": folder.idText, "name": folder.string("name") ?? "", "description": folder.string("description") ?? "",
                                "readers": readersLabel(folder, page.locale)]
            return web.render("knowledge_library", page, values)
        }
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await web.receiveUpload(request)
        let web = self.web
        return try await web.page(request, context, form: form.fields) { page, db in
            let store = store(page, db)
            try await KnowledgeAPI.requireEnabled(store)
            do {
                let document = try await DocumentVersions.create(DocumentLibraryAPI.values(form.fields), file: form.files["file"],
                                                                 in: DocumentVersions.Library(store: store, web: web))
                return WebApp.redirect(Self.documentPath(document.idText) + "?notice=document_uploaded")
            } catch {
                throw Self.namingField(error, locale: page.locale, web: web)
            }
        }
    }

    @Sendable func document(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let web = self.web
        return try await web.page(request, context, current: Self.home) { page, db in
            let store = store(page, db)
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let folder = try await store.get("doc_folder", document.string("folder"))
            let versions = try await DocumentVersions.versions(of: document, in: DocumentVersions.Library(store: store, web: web))
            let canEdit = try await KnowledgeAPI.mayUpdate(document, store: store)
            let path = Self.documentPath(document.idText)
            var values: [String: Any] = [
                "title": document.string("name") ?? "", "id": document.idText,
                "description": document.string("description") ?? "", "tags": document.string("tags") ?? "",
                "file_name": document.string("file_name") ?? "", "version": "\(ArticleVersions.number(document.values["current_version"]) ?? 1)",
                "download": "\(path)/download", "can_edit": canEdit,
                "versions": versions.reversed().map { version in
                    ["number": "\(version.number)", "file_name": version.attachment.fileName, "current": version.current,
                     "size": DisplayFormat.fileSize(version.attachment.byteSize), "at": DisplayFormat.dateTime(version.attachment.uploadedAt),
                     "uploader": page.format.names[version.attachment.uploadedBy.uuidString.lowercased()] ?? "",
                     "href": "\(path)/versions/\(version.number)/download", "can_restore": canEdit && !version.current] as [String: Any]
                },
                "accept": AttachmentPolicy.allowedTypes.keys.sorted().map { ".\($0)" }.joined(separator: ","),
                "limit_mib": "\(web.attachmentPolicy.maxBytes / (1024 * 1024))",
            ]
            if let folder { values["folder"] = ["id": folder.idText, "name": folder.string("name") ?? ""] }
            return web.render("knowledge_document", page, values)
        }
    }

    @Sendable func upload(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await web.receiveUpload(request)
        let web = self.web
        return try await web.page(request, context, form: form.fields) { page, db in
            let store = store(page, db)
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            _ = try await DocumentVersions.upload(form.files["file"], to: document, in: DocumentVersions.Library(store: store, web: web))
            return WebApp.redirect(Self.documentPath(document.idText) + "?notice=version_uploaded#versions")
        }
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let number = try DocumentLibraryAPI.versionNumber(context) ?? 0
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        let web = self.web
        return try await web.page(request, context, form: form) { page, db in
            let store = store(page, db)
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            _ = try await DocumentVersions.restore(number, of: document, in: DocumentVersions.Library(store: store, web: web))
            return WebApp.redirect(Self.documentPath(document.idText) + "?notice=version_restored#versions")
        }
    }
}

import Foundation
import Hummingbird
import Platform

/// JSON API of the document library (folders and documents themselves are records too:
/// `/api/v1/doc_folder`, `/api/v1/doc_document`). Uploads are `multipart/form-data` with the
/// file in the field `file`, as for record attachments (a session caller adds `_csrf`). Every
/// handler reads the document through the engine as the caller, so a document the caller
/// cannot read is a 404 here too, its versions and downloads included.
///
///     GET  /api/v1/knowledge/folders                                 {"folders": [{id, name, parent, readers, depth, documents}]}: the readable tree
///     GET  /api/v1/knowledge/documents?q=&folder=&limit=&offset=     {"documents": […], "total"}: search over names, file names, descriptions, tags
///     POST /api/v1/knowledge/documents                               multipart: name, folder, description, tags, file → 201 the document
///     GET  /api/v1/knowledge/documents/{id}                          the document with "versions"
///     GET  /api/v1/knowledge/documents/{id}/download                 the current version's file
///     GET  /api/v1/knowledge/documents/{id}/versions                 {"versions": [{version, current, file_name, content_type, byte_size, sha256, uploaded_by, uploaded_at, href}]}
///     POST /api/v1/knowledge/documents/{id}/versions                 multipart: file → 201 the document (the new version current)
///     GET  /api/v1/knowledge/documents/{id}/versions/{n}/download    version n's file
///     POST /api/v1/knowledge/documents/{id}/versions/{n}/restore     version n current again → the document
struct DocumentLibraryAPI: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/knowledge/folders", use: folders)
        router.get("api/v1/knowledge/documents", use: documents)
        router.post("api/v1/knowledge/documents", use: create)
        router.get("api/v1/knowledge/documents/:id", use: document)
        router.get("api/v1/knowledge/documents/:id/download", use: download)
        router.get("api/v1/knowledge/documents/:id/versions", use: versions)
        router.post("api/v1/knowledge/documents/:id/versions", use: upload)
        router.get("api/v1/knowledge/documents/:id/versions/:version/download", use: download)
        router.post("api/v1/knowledge/documents/:id/versions/:version/restore", use: restore)
        DocumentLibraryPages(web: web).register(on: router)
    }

    static func versionNumber(_ context: AtriumContext) throws -> Int? {
        guard let text = context.parameters.get("version") else { return nil }
        return try KnowledgeAPI.revisionNumber(text, field: "version")
    }

    /// The document's fields from a form: empty optional fields are absent, an empty name is
    /// the engine's "required" naming `name`.
    static func values(_ fields: [String: String]) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for key in ["name", "folder", "description", "tags"] {
            let text = (fields[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            values[key] = text.isEmpty ? .null : .string(text)
        }
        return values
    }

    /// The readable folder tree, depth-first in position order, each with its readable documents' count.
    static func tree(store: ModuleStore) async throws -> [(folder: Record, depth: Int, documents: Int)] {
        let folders = try await store.all("doc_folder", sort: "position")
        let counts = try await store.aggregate("doc_document", RecordAggregate(groups: [.field("folder")]))
        let count = Dictionary(counts.map { ($0.keys[0] ?? "", $0.count) }, uniquingKeysWith: +)
        let ids = Set(folders.map(\.idText))
        // A folder whose parent the caller cannot read is shown at the top.
        let children = Dictionary(grouping: folders) { folder in folder.string("parent").flatMap { ids.contains($0) ? $0 : nil } ?? "" }
        var result: [(folder: Record, depth: Int, documents: Int)] = []
        func walk(_ parent: String, _ depth: Int) {
            for folder in children[parent] ?? [] where depth < 20 {
                result.append((folder: folder, depth: depth, documents: count[folder.idText] ?? 0))
                walk(folder.idText, depth + 1)
            }
        }
        walk("", 0)
        return result
    }

    /// Documents the caller reads, newest first: in a folder, matching a search, or all.
    static func search(q: String?, folder: String?, limit: Int = 50, offset: Int = 0, store: ModuleStore) async throws -> RecordEngine.Page {
        try await KnowledgeAPI.requireEnabled(store)
        let filter = folder.map { ModuleStore.eq("folder", $0) }
        return try await store.engine.list("doc_document", query: RecordQuery(filter: filter, sort: "-updated_at", limit: limit, offset: offset, q: q),
                                           as: store.actor, on: store.connection, logger: store.logger)
    }

    @Sendable func folders(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await KnowledgeAPI.requireEnabled(store)
            return RecordRoutes.json(.object(["folders": .array(try await Self.tree(store: store).map { entry in
                .object(["id": .string(entry.folder.idText), "name": .string(entry.folder.string("name") ?? ""),
                         "parent": entry.folder.string("parent").map(JSONValue.string) ?? .null,
                         "readers": .string(entry.folder.string("readers") ?? "everyone"),
                         "depth": .number(Decimal(entry.depth)), "documents": .number(Decimal(entry.documents))])
            })]))
        }
    }

    @Sendable func documents(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = request.uri.queryParameters
        let q = query["q"].map(String.init)
        let folder = query["folder"].map(String.init)
        let limit = try query["limit"].map { text in
            guard let number = Int(text) else { throw AtriumError.validation(field: "limit", "must be a whole number") }
            return number
        } ?? 50
        let offset = try query["offset"].map { text in
            guard let number = Int(text) else { throw AtriumError.validation(field: "offset", "must be a whole number") }
            return number
        } ?? 0
        return try await run(request, context) { store in
            let page = try await Self.search(q: q, folder: folder, limit: limit, offset: offset, store: store)
            return RecordRoutes.json(.object(["documents": .array(page.records.map(\.json)), "total": .number(Decimal(page.total)),
                                              "limit": .number(Decimal(page.limit)), "offset": .number(Decimal(page.offset))]))
        }
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        // Signed in before the body is read: strangers cannot make the server hold an upload.
        _ = try context.requireUser()
        let form = try await web.receiveUpload(request)
        try CSRF.verify(request, context: context, form: form.fields)
        let web = self.web
        return try await run(request, context) { store in
            try await KnowledgeAPI.requireEnabled(store)
            let library = DocumentVersions.Library(store: store, web: web)
            let document = try await DocumentVersions.create(Self.values(form.fields), file: form.files["file"], in: library)
            return RecordRoutes.json(DocumentVersions.json(document, versions: try await DocumentVersions.versions(of: document, in: library)), status: .created)
        }
    }

    @Sendable func document(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let web = self.web
        return try await run(request, context) { store in
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let library = DocumentVersions.Library(store: store, web: web)
            return RecordRoutes.json(DocumentVersions.json(document, versions: try await DocumentVersions.versions(of: document, in: library)))
        }
    }

    @Sendable func versions(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let web = self.web
        return try await run(request, context) { store in
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let versions = try await DocumentVersions.versions(of: document, in: DocumentVersions.Library(store: store, web: web))
            return RecordRoutes.json(.object(["versions": .array(versions.map { $0.json(document: document.idText) })]))
        }
    }

    /// Version n's file (or the current one): read through the document, then the attachment layer.
    @Sendable func download(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let number = try Self.versionNumber(context)
        let web = self.web
        return try await run(request, context) { store in
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let library = DocumentVersions.Library(store: store, web: web)
            let versions = try await DocumentVersions.versions(of: document, in: library)
            let chosen: DocumentVersions.Version
            if let number {
                chosen = try DocumentVersions.version(number, of: versions)
            } else {
                guard let current = versions.first(where: \.current) else {
                    throw AtriumError(status: .notFound, code: "record_not_found", message: "the document has no file")
                }
                chosen = current
            }
            let (file, content) = try await library.attachments.download(chosen.attachment.id, of: document.entity, id: document.id,
                                                                         as: store.actor, on: store.connection, logger: store.logger)
            return file.download(content)
        }
    }

    @Sendable func upload(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        _ = try context.requireUser()
        let form = try await web.receiveUpload(request)
        try CSRF.verify(request, context: context, form: form.fields)
        let web = self.web
        return try await run(request, context) { store in
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let library = DocumentVersions.Library(store: store, web: web)
            let updated = try await DocumentVersions.upload(form.files["file"], to: document, in: library)
            return RecordRoutes.json(DocumentVersions.json(updated, versions: try await DocumentVersions.versions(of: updated, in: library)), status: .created)
        }
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let number = try Self.versionNumber(context) ?? 0
        let web = self.web
        return try await run(request, context, write: true) { store in
            let document = try await KnowledgeAPI.read("doc_document", id, store: store)
            let library = DocumentVersions.Library(store: store, web: web)
            let restored = try await DocumentVersions.restore(number, of: document, in: library)
            return RecordRoutes.json(DocumentVersions.json(restored, versions: try await DocumentVersions.versions(of: restored, in: library)))
        }
    }
}

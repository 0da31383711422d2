import Foundation
import Platform

/// A document's files: each version is an attachment of the document's record, stored by the
/// platform's file layer (its size limit, type allow-list, content check, storage quota and
/// audit apply as they do to every attachment). Versions are numbered by upload order, the
/// first upload being 1; uploading keeps every earlier one. The document's computed fields
/// (`file_name`, `current_version`, `current_file`, …) describe the current version; restoring
/// an older version makes it current again without copying bytes. Reading goes through the
/// record (whoever cannot read the document gets its 404 for every version), uploading and
/// restoring need the right to change it (the attachment layer's update-scope check; the
/// computed fields are then written by the rule as the derived actor, audited under the user).
/// ```swift
/// let document = try await DocumentVersions.create(["name": …, "folder": …], file: form.files["file"], in: library)
/// let v2 = try await DocumentVersions.upload(form.files["file"], to: document, in: library)
/// _ = try await DocumentVersions.restore(1, of: v2, in: library)
/// ```
enum DocumentVersions {
    /// What the versions need: the caller's store, the attachment layer and the upload rules.
    struct Library: Sendable {
        let store: ModuleStore
        let attachments: Attachments
        let policy: AttachmentPolicy

        init(store: ModuleStore, attachments: Attachments, policy: AttachmentPolicy) {
            self.store = store
            self.attachments = attachments
            self.policy = policy
        }

        init(store: ModuleStore, web: WebApp) {
            self.init(store: store, attachments: Attachments(engine: web.engine, files: web.services.files), policy: web.attachmentPolicy)
        }
    }

    struct Version: Sendable {
        let number: Int
        let attachment: Attachment
        let current: Bool

        func json(document: String) -> JSONValue {
            .object(["version": .number(Decimal(number)), "current": .bool(current), "file_name": .string(attachment.fileName),
                     "content_type": .string(attachment.contentType), "byte_size": .number(Decimal(attachment.byteSize)),
                     "sha256": .string(attachment.sha256), "uploaded_by": .string(attachment.uploadedBy.uuidString.lowercased()),
                     "uploaded_at": .string(attachment.uploadedAt.formatted(.iso8601)),
                     "href": .string("/api/v1/knowledge/documents/\(document)/versions/\(number)/download")])
        }
    }

    /// The document's versions, oldest first (the caller reads the document through the engine).
    static func versions(of document: Record, in library: Library) async throws -> [Version] {
        let store = library.store
        let files = try await library.attachments.list(of: document.entity, id: document.id, as: store.actor, on: store.connection, logger: store.logger)
        // The current one is the file the document names; if that file was removed from the
        // record, the newest remaining one.
        let current = files.first { $0.id.uuidString.lowercased() == document.string("current_file") }?.id ?? files.last?.id
        return files.enumerated().map { Version(number: $0.offset + 1, attachment: $0.element, current: $0.element.id == current) }
    }

    static func version(_ number: Int, of versions: [Version]) throws -> Version {
        guard let found = versions.first(where: { $0.number == number }) else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "the document has no version \(number)")
        }
        return found
    }

    /// A new document with its first version, in the caller's transaction: the record through
    /// the engine (its validation names `name` or `folder`), then the file (a missing, empty,
    /// oversized or refused file names `file`; the whole write is undone then).
    static func create(_ values: [String: JSONValue], file: MultipartForm.File?, in library: Library) async throws -> Record {
        let document = try await library.store.create("doc_document", values)
        return try await upload(file, to: document, in: library)
    }

    /// Stores `file` as the document's newest version and makes it current.
    static func upload(_ file: MultipartForm.File?, to document: Record, in library: Library) async throws -> Record {
        let store = library.store
        let attachment = try await library.attachments.attach(file, policy: library.policy, to: document.entity, id: document.id,
                                                              as: store.actor, on: store.connection, logger: store.logger)
        let number = try await versions(of: document, in: library).count
        return try await makeCurrent(attachment, number: number, of: document, store: store)
    }

    /// Makes version `number` current again (needs the right to change the document).
    static func restore(_ number: Int, of document: Record, in library: Library) async throws -> Record {
        let store = library.store
        _ = try await store.engine.writableRecord(document.entity, id: document.id, as: store.actor, on: store.connection, logger: store.logger)
        let chosen = try version(number, of: try await versions(of: document, in: library))
        return try await makeCurrent(chosen.attachment, number: number, of: document, store: store)
    }

    static func makeCurrent(_ file: Attachment, number: Int, of document: Record, store: ModuleStore) async throws -> Record {
        let fresh = try await store.derived.get(document.entity, document.id)
        return try await store.derived.update(fresh, [
            "file_name": .string(file.fileName), "content_type": .string(file.contentType), "byte_size": .number(Decimal(file.byteSize)),
            "current_version": .number(Decimal(number)), "current_file": .string(file.id.uuidString.lowercased()),
            "uploaded_by": .string(file.uploadedBy.uuidString.lowercased()), "uploaded_at": .string(file.uploadedAt.formatted(.iso8601)),
        ])
    }

    /// The document's fields and its versions, as the API returns a document.
    static func json(_ document: Record, versions: [Version]) -> JSONValue {
        guard case .object(var object) = document.json else { return document.json }
        object["versions"] = .array(versions.map { $0.json(document: document.idText) })
        object["download"] = .string("/api/v1/knowledge/documents/\(document.idText)/download")
        return .object(object)
    }
}

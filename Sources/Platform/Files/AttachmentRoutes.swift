import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Attachments of any record, for API clients and the record page. Uploads are
/// `multipart/form-data` with the file in the field `file` (what an HTML form sends; a session
/// caller adds its CSRF token as the `_csrf` field or the `X-CSRF-Token` header).
///
///     GET    /api/v1/{entity}/{id}/attachments              {"attachments": [{id, file_name, content_type, byte_size, sha256, uploaded_by, uploaded_at, href}]}
///     POST   /api/v1/{entity}/{id}/attachments              multipart, field "file" → 201 the attachment
///     GET    /api/v1/{entity}/{id}/attachments/{aid}        the file: allow-listed Content-Type, Content-Disposition: attachment, nosniff
///     DELETE /api/v1/{entity}/{id}/attachments/{aid}        204; the file leaves the record (audited)
///     POST   /app/{entity}/{id}/attachments                 the record page's upload form
///     GET    /app/{entity}/{id}/attachments/{aid}           download from the record page
///     POST   /app/{entity}/{id}/attachments/{aid}/delete    the record page's remove button
struct AttachmentRoutes: Sendable {
    let web: WebApp

    /// Room for the multipart framing and the form's other fields around the file itself.
    static let framingAllowance = 64 * 1024

    var attachments: Attachments { Attachments(engine: web.engine, files: web.services.files) }
    var policy: AttachmentPolicy { AttachmentPolicy(maxBytes: web.services.configuration.maxUploadBytes) }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/:entity/:id/attachments", use: list)
        router.post("api/v1/:entity/:id/attachments", use: upload)
        router.get("api/v1/:entity/:id/attachments/:aid", use: download)
        router.delete("api/v1/:entity/:id/attachments/:aid", use: delete)
        router.post("app/:entity/:id/attachments", use: pageUpload)
        router.get("app/:entity/:id/attachments/:aid", use: download)
        router.post("app/:entity/:id/attachments/:aid/delete", use: pageDelete)
    }

    static func attachmentID(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("aid"), let id = UUID(uuidString: text) else {
            throw AttachmentError.notFound(context.parameters.get("aid") ?? "")
        }
        return id
    }

    /// The multipart body, read up to the upload limit (413 naming `file` beyond it).
    func receive(_ request: Request) async throws -> MultipartForm {
        let contentType = request.headers[.contentType] ?? ""
        guard MultipartForm.boundary(of: contentType) != nil else { throw AttachmentError.notMultipart }
        let limit = policy.maxBytes + Self.framingAllowance
        let tooLarge = AttachmentError.tooLarge(limitMiB: policy.maxBytes / (1024 * 1024))
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw tooLarge
        }
        do {
            return try MultipartForm.parse(body, contentType: contentType)
        } catch is MultipartForm.Malformed {
            throw AttachmentError.malformedUpload
        }
    }

    // MARK: JSON

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        let attachments = self.attachments
        return RecordRoutes.json(try await web.records.run(request, context) { actor, db in
            JSONValue.object(["attachments": .array(try await attachments.list(of: entity, id: id, as: actor, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func upload(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        // Signed in before the body is read: strangers cannot make the server hold an upload.
        _ = try context.requireUser()
        let form = try await receive(request)
        try CSRF.verify(request, context: context, form: form.fields)
        let (attachments, policy) = (self.attachments, self.policy)
        let attachment = try await web.records.run(request, context) { actor, db in
            try await attachments.attach(form.files["file"], policy: policy, to: entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return RecordRoutes.json(attachment.json, status: .created)
    }

    @Sendable func download(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id, attachmentID) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context), try Self.attachmentID(context))
        let attachments = self.attachments
        let (attachment, content) = try await web.records.run(request, context) { actor, db in
            try await attachments.download(attachmentID, of: entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.fileResponse(attachment, content)
    }

    /// The file as a download, never as a page: the stored (allow-listed) type, `attachment`
    /// disposition, no sniffing, and a sandbox in case a browser renders it anyway.
    static func fileResponse(_ attachment: Attachment, _ content: ByteBuffer) -> Response {
        let type = AttachmentPolicy.allowedTypes.values.contains(attachment.contentType) ? attachment.contentType : "application/octet-stream"
        return Response(status: .ok, headers: [
            .contentType: type,
            .contentDisposition: AttachmentPolicy.contentDisposition(attachment.fileName),
            .cacheControl: "private, no-cache",
            .eTag: "\"\(attachment.sha256)\"",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; sandbox",
        ], body: .init(byteBuffer: content))
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id, attachmentID) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context), try Self.attachmentID(context))
        let attachments = self.attachments
        try await web.records.run(request, context, write: true) { actor, db in
            try await attachments.remove(attachmentID, of: entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    // MARK: Record page

    @Sendable func pageUpload(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id) = (WebApp.entityKey(context), try WebApp.recordID(context))
        let form = try await receive(request)
        let (attachments, policy) = (self.attachments, self.policy)
        return try await web.page(request, context, form: form.fields) { page, db in
            _ = try await attachments.attach(form.files["file"], policy: policy, to: entity, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/\(entity)/\(id.uuidString.lowercased())?notice=attachment_added#attachments")
        }
    }

    @Sendable func pageDelete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id, attachmentID) = (WebApp.entityKey(context), try WebApp.recordID(context), try Self.attachmentID(context))
        let form = try await FormBody.parse(request)
        let attachments = self.attachments
        return try await web.page(request, context, form: form) { page, db in
            try await attachments.remove(attachmentID, of: entity, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/\(entity)/\(id.uuidString.lowercased())?notice=attachment_deleted#attachments")
        }
    }
}

/// What went wrong with an attachment; the upload's problems name the form field `file`.
public enum AttachmentError: DomainError, Equatable {
    /// No such attachment on a record the caller may see (or it was removed).
    case notFound(String)
    /// The file (or the whole upload) is over the limit.
    case tooLarge(limitMiB: Int)
    /// The extension is not on the allow-list, or the declared type is one a browser would run.
    case typeNotAllowed(String)
    /// An image or PDF whose bytes are not of its format.
    case contentMismatch(String)
    case empty(String)
    case invalidName(String)
    /// The form has no file in the field `file`.
    case fileRequired
    /// The body is not `multipart/form-data`.
    case notMultipart
    case malformedUpload

    public var atriumError: AtriumError {
        var error: AtriumError
        switch self {
        case .notFound(let reference):
            return AtriumError(status: .notFound, code: "attachment_not_found", message: "no attachment \(reference)")
        case .tooLarge(let limit):
            error = AtriumError(status: .contentTooLarge, code: "file_too_large", message: "the file is larger than \(limit) MiB", field: "file")
            error.messageArguments = ["limit": "\(limit)"]
        case .typeNotAllowed(let type):
            error = AtriumError(status: .unprocessableContent, code: "file_type_not_allowed",
                                message: "files of type \(type) cannot be attached (allowed: \(AttachmentPolicy.allowedTypes.keys.sorted().joined(separator: ", ")))",
                                field: "file")
            error.messageArguments = ["type": type]
        case .contentMismatch(let type):
            error = AtriumError(status: .unprocessableContent, code: "file_content_mismatch", message: "the file's content is not \(type)", field: "file")
            error.messageArguments = ["type": type]
        case .empty(let name):
            error = AtriumError(status: .unprocessableContent, code: "file_empty", message: "the file \(name) is empty", field: "file")
        case .invalidName(let name):
            error = AtriumError(status: .unprocessableContent, code: "file_name_invalid", message: "'\(name)' is not a usable file name", field: "file")
        case .fileRequired:
            error = AtriumError(status: .unprocessableContent, code: "file_required", message: "send the file in the form field 'file'", field: "file")
        case .notMultipart:
            error = AtriumError(status: .unsupportedMediaType, code: "upload_not_multipart",
                                message: "upload the file as multipart/form-data in the field 'file'", field: "file")
        case .malformedUpload:
            error = AtriumError(status: .badRequest, code: "upload_malformed", message: "the multipart body could not be read", field: "file")
        }
        return error
    }

    /// One of each case, for the locale and status checks.
    public static let examples: [AttachmentError] = [
        .notFound("x"), .tooLarge(limitMiB: 20), .typeNotAllowed(".exe"), .contentMismatch(".png"), .empty("a.pdf"), .invalidName(".."),
        .fileRequired, .notMultipart, .malformedUpload,
    ]
}

import Foundation
import Hummingbird
import NIOCore

/// The attachment layer's upload and download plumbing for modules whose own routes store files
/// (the knowledge module's document library keeps each version of a document as an attachment
/// of its record): the same multipart reading, size limit, type rules and download headers as
/// the record attachments' routes, so a module never handles uploads its own way.
/// ```swift
/// let form = try await web.receiveUpload(request)          // 413 naming "file" beyond the limit
/// let file = try await attachments.attach(form.files["file"], policy: web.attachmentPolicy, …)
/// return file.download(bytes)                              // attachment disposition, nosniff
/// ```
extension WebApp {
    /// The instance's upload rules (size limit from `ATRIUM_MAX_UPLOAD_MB`, allow-listed types).
    public var attachmentPolicy: AttachmentPolicy { AttachmentRoutes(web: self).policy }

    /// The multipart body of an upload, read up to the upload limit; the caller checks CSRF
    /// with its `fields` and must have checked that someone is signed in.
    public func receiveUpload(_ request: Request) async throws -> MultipartForm {
        try await AttachmentRoutes(web: self).receive(request)
    }
}

extension Attachment {
    /// The file as a download, never as a page (see ``AttachmentRoutes/fileResponse(_:_:)``).
    public func download(_ content: ByteBuffer) -> Response {
        AttachmentRoutes.fileResponse(self, content)
    }
}

extension MultipartForm.File {
    /// A file made on the server (a module's demo documents), checked like an upload.
    public static func generated(_ fileName: String, _ content: ByteBuffer) -> MultipartForm.File {
        MultipartForm.File(fileName: fileName, contentType: nil, content: content)
    }
}

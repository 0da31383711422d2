import Foundation
import NIOCore

/// What may be attached, decided on the server: the type comes from the file name's extension
/// through an allow-list (never from what the client declares), images and PDFs must start the
/// way their format does, and nothing a browser would run — HTML, SVG, scripts, programs — is
/// accepted. Downloads are always `Content-Disposition: attachment` with `nosniff` besides, so
/// even a mislabelled file is never rendered as a page of ours (no stored XSS).
/// ```swift
/// let upload = try AttachmentPolicy(maxBytes: 20 << 20).check(file)   // 413 / 422 naming "file"
/// upload.contentType   // "application/pdf"
/// ```
public struct AttachmentPolicy: Sendable {
    public let maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// Extension → the content type we store and serve.
    public static let allowedTypes: [String: String] = [
        "pdf": "application/pdf",
        "ofd": "application/ofd",  // China's e-invoice format (电子发票)
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "heic": "image/heic",
        "txt": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
        "doc": "application/msword", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls": "application/vnd.ms-excel", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt": "application/vnd.ms-powerpoint", "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
        "zip": "application/zip",
    ]

    /// Declared types refused whatever the extension says: what a browser renders or runs.
    static let refusedDeclaredTypes: Set<String> = [
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "application/javascript", "application/x-msdownload",
        "application/x-sh", "application/x-httpd-php", "text/xml", "application/xml",
    ]

    /// How a format's files begin, for the types whose first bytes are fixed.
    static let signatures: [String: [[UInt8?]]] = [
        "pdf": [ascii("%PDF-")],
        "png": [[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]],
        "jpg": [[0xFF, 0xD8, 0xFF]], "jpeg": [[0xFF, 0xD8, 0xFF]],
        "gif": [ascii("GIF87a"), ascii("GIF89a")],
        "webp": [ascii("RIFF") + [nil, nil, nil, nil] + ascii("WEBP")],  // RIFF, length, WEBP
    ]

    static func ascii(_ text: String) -> [UInt8?] { text.utf8.map { $0 } }

    /// A file that passed: its safe name, stored type and bytes.
    public struct Upload: Sendable {
        public let fileName: String
        public let contentType: String
        public let content: ByteBuffer
        public var byteSize: Int { content.readableBytes }
    }

    public func check(_ file: MultipartForm.File) throws -> Upload {
        let name = Self.safeName(file.fileName)
        guard !name.isEmpty else { throw AttachmentError.invalidName(file.fileName) }
        guard file.content.readableBytes > 0 else { throw AttachmentError.empty(name) }
        guard file.content.readableBytes <= maxBytes else { throw AttachmentError.tooLarge(limitMiB: maxBytes / (1024 * 1024)) }
        let ext = Self.fileExtension(name)
        let declared = file.contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let type = Self.allowedTypes[ext], !Self.refusedDeclaredTypes.contains(declared) else {
            throw AttachmentError.typeNotAllowed(ext.isEmpty ? (declared.isEmpty ? name : declared) : ".\(ext)")
        }
        if let signatures = Self.signatures[ext] {
            let head = file.content.getBytes(at: file.content.readerIndex, length: min(16, file.content.readableBytes)) ?? []
            let matches = signatures.contains { signature in
                head.count >= signature.count && zip(signature, head).allSatisfy { expected, actual in expected == nil || expected == actual }
            }
            guard matches else { throw AttachmentError.contentMismatch(".\(ext)") }
        }
        return Upload(fileName: name, contentType: type, content: file.content)
    }

    /// The last path component (browsers on Windows may send `C:\…\合同.pdf`), without control
    /// characters, at most 255 bytes of UTF-8 with its extension kept.
    public static func safeName(_ raw: String) -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var name = String(String.UnicodeScalarView(last.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) && $0 != "\u{FEFF}" }))
            .trimmingCharacters(in: .whitespaces)
        if name == "." || name == ".." { name = "" }
        while name.utf8.count > 255 {
            let ext = fileExtension(name)
            let stem = name.dropLast(ext.isEmpty ? 0 : ext.count + 1)
            guard stem.count > 1 else { return String(name.prefix(100)) }
            name = String(stem.dropLast()) + (ext.isEmpty ? "" : ".\(ext)")
        }
        return name
    }

    static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// `Content-Disposition` that makes a browser save the file under its name: an ASCII
    /// fallback and the UTF-8 name (RFC 6266 / 5987), never `inline`.
    public static func contentDisposition(_ name: String) -> String {
        let fallback = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\" && scalar != "%" ? Character(scalar) : "_"
        })
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? fallback
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}

import Foundation
import NIOCore

/// A `multipart/form-data` body (RFC 7578), as browsers send a form with a file input: its
/// text fields (`_csrf` among them, for ``CSRF/verify(_:context:form:)``) and its files.
///
/// The body is parsed from memory: the route collects it with a size limit first, so a client
/// cannot make the server hold more than that.
/// ```swift
/// let form = try MultipartForm.parse(body, contentType: request.headers[.contentType] ?? "")
/// try CSRF.verify(request, context: context, form: form.fields)
/// let upload = form.files["file"]   // name, content type, bytes
/// ```
public struct MultipartForm: Sendable {
    public struct File: Sendable {
        /// The name the client gave (unsanitised: a path, control characters, anything).
        public let fileName: String
        public let contentType: String?
        public let content: ByteBuffer
    }

    /// Text parts by name (a repeated name keeps its last value).
    public var fields: [String: String] = [:]
    /// File parts (those with a `filename`) by name, the first of each name.
    public var files: [String: File] = [:]

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The boundary of a `multipart/form-data` content type, nil for any other type.
    public static func boundary(of contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// Files are slices of `body` (no copy): an upload is held once, not once per parsing step.
    public static func parse(_ body: ByteBuffer, contentType: String) throws -> MultipartForm {
        guard let boundary = boundary(of: contentType) else { throw Malformed(description: "not multipart/form-data with a boundary") }
        return try body.withUnsafeReadableBytes { bytes in try parse(bytes, of: body, boundary: boundary) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, of body: ByteBuffer, boundary: String) throws -> MultipartForm {
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        let delimiter = Array("--\(boundary)".utf8)
        let nextDelimiter = Array("\r\n--\(boundary)".utf8)
        guard var position = find(delimiter, in: bytes, from: 0) else { throw Malformed(description: "no boundary in the body") }
        position += delimiter.count
        var form = MultipartForm()
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if position + 2 <= bytes.count, bytes[position] == 45, bytes[position + 1] == 45 { break }
            guard position + 2 <= bytes.count, bytes[position] == 13, bytes[position + 1] == 10 else {
                throw Malformed(description: "a boundary is not followed by a line break")
            }
            position += 2
            guard let headerEnd = find([13, 10, 13, 10], in: bytes, from: position) else { throw Malformed(description: "a part has no header end") }
            let headers = parseHeaders(text(position..<headerEnd))
            let contentStart = headerEnd + 4
            guard let contentEnd = find(nextDelimiter, in: bytes, from: contentStart) else { throw Malformed(description: "a part has no closing boundary") }
            let disposition = parameters(headers["content-disposition"] ?? "")
            if let name = disposition["name"] {
                if let fileName = disposition["filename*"].flatMap(decodeExtended) ?? disposition["filename"] {
                    if form.files[name] == nil, let content = body.getSlice(at: body.readerIndex + contentStart, length: contentEnd - contentStart) {
                        form.files[name] = File(fileName: fileName, contentType: headers["content-type"], content: content)
                    }
                } else {
                    form.fields[name] = text(contentStart..<contentEnd)
                }
            }
            position = contentEnd + nextDelimiter.count
        }
        return form
    }

    /// Header lines as lower-cased name → value.
    static func parseHeaders(_ text: String) -> [String: String] {
        var headers: [String: String] = [:]
        for line in text.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }

    /// `form-data; name="file"; filename="合同.pdf"` → ["name": "file", "filename": "合同.pdf"];
    /// quoted values may contain `;` and backslash escapes.
    static func parameters(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        var characters = Substring(header)
        // Skip the disposition type.
        guard let first = characters.firstIndex(of: ";") else { return result }
        characters = characters[characters.index(after: first)...]
        while !characters.isEmpty {
            characters = characters.drop { $0 == " " || $0 == ";" || $0 == "\t" }
            guard let equals = characters.firstIndex(of: "=") else { break }
            let name = characters[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            characters = characters[characters.index(after: equals)...].drop { $0 == " " }
            var value = ""
            if characters.first == "\"" {
                characters = characters.dropFirst()
                var escaped = false
                while let character = characters.first {
                    characters = characters.dropFirst()
                    if escaped { value.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { break }
                    value.append(character)
                }
            } else {
                let end = characters.firstIndex(of: ";") ?? characters.endIndex
                value = characters[..<end].trimmingCharacters(in: .whitespaces)
                characters = characters[end...]
            }
            if !name.isEmpty { result[name] = value }
        }
        return result
    }

    /// RFC 5987 `UTF-8''%E5%90%88%E5%90%8C.pdf` → `合同.pdf`.
    static func decodeExtended(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return String(parts[2]).removingPercentEncoding
    }

    /// The first index of `needle` in `haystack` at or after `start` (memchr for its first
    /// byte, then memcmp: a 20 MiB body is searched in milliseconds, also in debug builds).
    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count - start >= needle.count, let base = haystack.baseAddress else { return nil }
        return needle.withUnsafeBufferPointer { pattern -> Int? in
            var position = start
            let last = haystack.count - pattern.count
            while position <= last {
                guard let found = memchr(base + position, Int32(pattern[0]), last - position + 1) else { return nil }
                let index = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + index, pattern.baseAddress!, pattern.count) == 0 { return index }
                position = index + 1
            }
            return nil
        }
    }
}

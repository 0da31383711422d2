import Foundation

/// A comment's text and the people it mentions. A mention is written `@[Name](user-id)`: the
/// name as the writer saw it and the user's id, so a mention survives a renamed user and two
/// people with the same name (the record page's picker inserts it; API clients write it
/// themselves). Everything else is plain text: shown escaped, never as HTML.
/// ```swift
/// let body = CommentBody("请 @[王芳](6f1c…) 确认报价")
/// body.mentions                  // [6f1c…]
/// body.segments(names: names)    // [.text("请 "), .mention(6f1c…, "王芳"), .text(" 确认报价")]
/// ```
public struct CommentBody: Sendable, Equatable {
    /// At most this many characters (Unicode scalars, as PostgreSQL's `length` counts them).
    public static let maxLength = 5_000

    public let text: String

    public init(_ text: String) {
        self.text = text
    }

    /// One piece of the text: plain, or a mention.
    public enum Segment: Sendable, Equatable {
        case text(String)
        case mention(UUID, name: String)
    }

    /// `@[` name (no brackets or line breaks) `](` a UUID `)` (built per use: a `Regex` is not `Sendable`).
    static var pattern: Regex<(Substring, Substring, Substring)> { #/@\[([^\[\]\r\n]{1,100})\]\(([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\)/# }

    /// The text cut at its mentions, each mention with the name it was written with.
    public var segments: [Segment] {
        var result: [Segment] = []
        var rest = text[...]
        while let match = rest.firstMatch(of: Self.pattern) {
            if match.range.lowerBound > rest.startIndex { result.append(.text(String(rest[rest.startIndex..<match.range.lowerBound]))) }
            if let id = UUID(uuidString: String(match.output.2)) {
                result.append(.mention(id, name: String(match.output.1)))
            } else {
                result.append(.text(String(match.output.0)))
            }
            rest = rest[match.range.upperBound...]
        }
        if !rest.isEmpty { result.append(.text(String(rest))) }
        return result
    }

    /// The mentioned users, each once, in the order they first appear.
    public var mentions: [UUID] {
        var seen: Set<UUID> = []
        return segments.compactMap { segment in
            guard case .mention(let id, _) = segment, seen.insert(id).inserted else { return nil }
            return id
        }
    }

    /// The text with each mention as `@Name`, the name as the tenant now spells it (`names`
    /// by lower-case id) or else as written: for notifications and plain-text views.
    public func plain(names: [String: String] = [:]) -> String {
        segments.map { segment in
            switch segment {
            case .text(let text): text
            case .mention(let id, let name): "@" + (names[id.uuidString.lowercased()] ?? name)
            }
        }.joined()
    }

    /// The text as stored: line breaks normalised, NUL characters (PostgreSQL refuses them)
    /// dropped, outer whitespace trimmed; refused (naming
    /// `body`) when empty or longer than ``maxLength``.
    public static func checked(_ raw: String?) throws -> CommentBody {
        let text = (raw ?? "").replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\u{0}", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw CommentError.bodyRequired }
        guard text.unicodeScalars.count <= maxLength else { throw CommentError.bodyTooLong(limit: maxLength) }
        return CommentBody(text)
    }
}

import Foundation
import Platform

/// Versions of a published article: every edit of a published article's title, summary or body
/// keeps the content it replaced as a `kb_article_version` record (numbered by the article's
/// `revision` at the time, with its editor and time), written by the article's rule through
/// the engine, so it is audited like any write. A restore writes an old version's content back
/// onto the article as an ordinary edit — which in turn keeps the content it replaces, so
/// nothing is ever lost and the history reads forward.
enum ArticleVersions {
    static let content = ["title", "summary", "body"]

    static func revision(of article: Record) -> Int {
        number(article.values["revision"]) ?? 1
    }

    /// A whole number stored as the engine keeps numbers (a decimal string), or as a number.
    static func number(_ value: JSONValue?) -> Int? {
        value?.intValue ?? value?.stringValue.flatMap { Decimal(string: $0) }.map { NSDecimalNumber(decimal: $0).intValue }
    }

    /// Whether writing `values` onto the published article `previous` changes its content.
    static func keepsVersion(previous: Record, values: [String: JSONValue]) -> Bool {
        guard previous.string("status") == "published" else { return false }
        return content.contains { key in values[key].map { text($0) != text(previous.values[key]) } ?? false }
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return ""
        case let value?: return value.stringValue ?? ""
        }
    }

    /// Keeps `previous` (the article before an edit) as a version.
    static func keep(_ previous: Record, store: ModuleStore) async throws {
        var values: [String: JSONValue] = ["article": .string(previous.idText), "revision": .number(Decimal(revision(of: previous))),
                                           "edited_at": .string(previous.updatedAt.formatted(.iso8601))]
        for key in content { values[key] = previous.values[key] ?? .null }
        if let editor = previous.updatedBy ?? previous.createdBy { values["editor"] = .string(editor.uuidString.lowercased()) }
        _ = try await store.create("kb_article_version", values)
    }

    /// One revision of an article's content: a kept version, or the article as it is now.
    struct Revision: Sendable {
        let number: Int
        let title: String
        let summary: String
        let body: String
        let editor: String?
        let editedAt: String
        let current: Bool

        var json: JSONValue {
            .object(["revision": .number(Decimal(number)), "title": .string(title), "summary": .string(summary), "body": .string(body),
                     "editor": editor.map(JSONValue.string) ?? .null, "edited_at": .string(editedAt), "current": .bool(current)])
        }
    }

    /// The article's revisions, newest first (the current content is the first). The caller
    /// reads the article through the engine (so only its readers get here); the kept versions
    /// are its history and read as the derived actor, like the article's audit trail.
    static func revisions(of article: Record, store: ModuleStore) async throws -> [Revision] {
        let kept = try await store.derived.all("kb_article_version", filter: ModuleStore.eq("article", article.idText), sort: "-revision")
        let now = Revision(number: revision(of: article), title: text(article.values["title"]), summary: text(article.values["summary"]),
                           body: text(article.values["body"]), editor: (article.updatedBy ?? article.createdBy)?.uuidString.lowercased(),
                           editedAt: article.updatedAt.formatted(.iso8601), current: true)
        return [now] + kept.map { version in
            Revision(number: number(version.values["revision"]) ?? 0, title: text(version.values["title"]),
                     summary: text(version.values["summary"]), body: text(version.values["body"]), editor: version.string("editor"),
                     editedAt: version.string("edited_at") ?? "", current: false)
        }
    }

    static func revision(_ number: Int, of revisions: [Revision]) throws -> Revision {
        guard let found = revisions.first(where: { $0.number == number }) else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "the article has no revision \(number)")
        }
        return found
    }

    /// The line diff of two revisions, title and summary as the first lines.
    static func diff(_ old: Revision, _ new: Revision) -> [LineDiff.Line] {
        func lines(_ revision: Revision) -> [String] {
            ["# " + revision.title, revision.summary, ""] + LineDiff.split(revision.body)
        }
        return LineDiff.diff(lines(old), lines(new))
    }

    /// Writes revision `number`'s content back onto the article (as the caller: it needs the
    /// right to update the article); the content replaced is kept when the article is published.
    static func restore(_ number: Int, of article: Record, store: ModuleStore) async throws -> Record {
        let old = try revision(number, of: try await revisions(of: article, store: store))
        guard !old.current else { return article }
        return try await store.update(article, ["title": .string(old.title), "summary": .string(old.summary), "body": .string(old.body)])
    }
}

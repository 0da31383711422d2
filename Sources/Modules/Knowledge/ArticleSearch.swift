import Foundation
import Hummingbird
import Platform

/// Knowledge search (知识检索): published articles matching a query, ranked — those whose
/// title holds it first, then the rest, each group newest first — with a highlighted snippet
/// of the body. It reads through the record engine's list as the caller, so the per-category
/// readers, data scopes and RLS apply as in every list, and the engine's `q` finds candidates
/// through its token index (Chinese bigrams and word prefixes: 华通 finds 北京华通科技有限公司),
/// which PostgreSQL can use under forced RLS.
struct ArticleSearch: Sendable {
    struct Hit: Sendable {
        let article: Record
        let titleHit: Bool
        /// The snippet as HTML: escaped text with the query's terms in `<mark>`.
        let snippet: String
    }

    static let maxLimit = 50
    static let snippetBefore = 30, snippetAfter = 90

    let query: String
    let hits: [Hit]

    /// The query's terms: whitespace-separated, at most five, each as typed (case-insensitive).
    static func terms(_ query: String) -> [String] {
        Array(query.split(whereSeparator: \.isWhitespace).map(String.init).prefix(5))
    }

    static func run(_ query: String, limit: Int = 20, store: ModuleStore) async throws -> ArticleSearch {
        let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 100 else { throw AtriumError.validation(field: "q", "must be 1 to 100 characters") }
        guard (1...maxLimit).contains(limit) else { throw AtriumError.validation(field: "limit", "must be 1 to \(maxLimit)") }
        let terms = terms(text)
        let published = ModuleStore.eq("status", "published")
        let inTitle = ModuleStore.and([published] + terms.map { ModuleStore.op("title", "contains", .string($0)) })
        func list(_ filter: JSONValue, _ count: Int) async throws -> [Record] {
            try await store.engine.list("kb_article", query: RecordQuery(filter: filter, sort: "-updated_at", limit: count, q: text),
                                        as: store.actor, on: store.connection, logger: store.logger).records
        }
        let titled = try await list(inTitle, limit)
        var hits = titled.map { Hit(article: $0, titleHit: true, snippet: snippet($0, terms: terms)) }
        if hits.count < limit {
            let seen = Set(titled.map(\.id))
            for article in try await list(published, limit + titled.count) where !seen.contains(article.id) && hits.count < limit {
                hits.append(Hit(article: article, titleHit: false, snippet: snippet(article, terms: terms)))
            }
        }
        return ArticleSearch(query: text, hits: hits)
    }

    /// Around the first term found in the body (else the summary, else the body's start): the
    /// text without Markdown marks, escaped, every term in `<mark>`.
    static func snippet(_ article: Record, terms: [String]) -> String {
        let sources = [article.string("body"), article.string("summary")].compactMap { $0 }.map(plain)
        let lowered = terms.map { $0.lowercased() }
        let text = sources.first { source in lowered.contains { source.lowercased().contains($0) } } ?? sources.first ?? ""
        let characters = Array(text)
        let lowerText = text.lowercased()
        var start = 0
        if let range = lowered.compactMap({ lowerText.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            start = max(0, lowerText.distance(from: lowerText.startIndex, to: range.lowerBound) - snippetBefore)
        }
        let end = min(characters.count, start + snippetBefore + snippetAfter)
        let window = String(characters[start..<end])
        return (start > 0 ? "…" : "") + highlight(window, terms: lowered) + (end < characters.count ? "…" : "")
    }

    /// `text` escaped, with each case-insensitive occurrence of a term wrapped in `<mark>`.
    static func highlight(_ text: String, terms: [String]) -> String {
        let characters = Array(text), lower = Array(text.lowercased())
        guard characters.count == lower.count else { return Markdown.escape(text) }  // a case change altered the length: no marks
        let needles = terms.map(Array.init).filter { !$0.isEmpty }.sorted { $0.count > $1.count }
        var html = "", index = 0
        while index < characters.count {
            if let needle = needles.first(where: { index + $0.count <= lower.count && Array(lower[index..<index + $0.count]) == $0 }) {
                html += "<mark>" + Markdown.escape(String(characters[index..<index + needle.count])) + "</mark>"
                index += needle.count
            } else {
                html += Markdown.escape(String(characters[index]))
                index += 1
            }
        }
        return html
    }

    /// Markdown source as running text: marks and markup characters dropped, whitespace collapsed.
    static func plain(_ markdown: String) -> String {
        let dropped = markdown.replacingOccurrences(of: #"!\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
            .replacingOccurrences(of: #"\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
            .replacingOccurrences(of: #"[#*_`>|]+"#, with: " ", options: .regularExpression)
        return dropped.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    var json: JSONValue {
        .object(["q": .string(query), "results": .array(hits.map { hit in
            .object(["id": .string(hit.article.idText), "title": hit.article.values["title"] ?? .null, "summary": hit.article.values["summary"] ?? .null,
                     "category": hit.article.values["category"] ?? .null, "updated_at": .string(hit.article.updatedAt.formatted(.iso8601)),
                     "title_hit": .bool(hit.titleHit), "snippet_html": .string(hit.snippet)])
        })])
    }
}

extension KnowledgeAPI {
    ///     GET /api/v1/knowledge/search?q=华通&limit=20   {"q", "results": [{"id", "title", "summary", "title_hit", "snippet_html", …}]}
    @Sendable func search(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = request.uri.queryParameters
        let text = query["q"].map(String.init) ?? ""
        guard let limit = query["limit"].map({ Int(String($0)) }) ?? 20 else { throw AtriumError.validation(field: "limit", "must be a whole number") }
        return try await run(request, context) { store in
            try await Self.requireEnabled(store)
            return RecordRoutes.json(try await ArticleSearch.run(text, limit: limit, store: store).json)
        }
    }
}

extension KnowledgePages {
    /// `/app/knowledge/search?q=…`: the ranked hits with their snippets.
    @Sendable func search(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let text = request.uri.queryParameters["q"].map(String.init) ?? ""
        return try await web.page(request, context, current: "/app/knowledge/search") { page, db in
            let store = store(page, db)
            try await KnowledgeAPI.requireEnabled(store)
            var values: [String: Any] = ["title": web.t("knowledge.search.title", page.locale), "q": text]
            if !text.trimmingCharacters(in: .whitespaces).isEmpty {
                do {
                    let result = try await ArticleSearch.run(text, store: store)
                    values["hits"] = result.hits.map { hit -> [String: Any] in
                        ["href": "/app/knowledge/articles/\(hit.article.idText)", "title": hit.article.string("title") ?? "",
                         "snippet": hit.snippet, "updated": DisplayFormat.dateTime(hit.article.updatedAt), "title_hit": hit.titleHit]
                    }
                    values["none"] = result.hits.isEmpty
                } catch let error as AtriumError where error.status == .unprocessableContent {
                    values["error"] = web.message(error, locale: page.locale, label: nil)
                }
            }
            return web.render("knowledge_search", page, values)
        }
    }
}

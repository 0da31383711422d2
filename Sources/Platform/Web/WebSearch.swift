import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The top bar's search across every entity the caller may read.
extension WebApp {
    // MARK: Search

    @Sendable func search(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let q = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        return try await page(request, context) { page, db in
            let lang = page.locale
            var groups: [[String: Any]] = []
            if !q.isEmpty {
                guard q.count <= 100 else { throw AtriumError.validation(field: "q", "must be at most 100 characters") }
                for entity in page.entities.values.sorted(by: { $0.key < $1.key }) where !entity.searchableFields.isEmpty {
                    let found = try await engine.list(entity.key, query: RecordQuery(limit: 5, q: q), as: page.actor, on: db.connection, logger: db.logger)
                    guard found.total > 0 else { continue }
                    groups.append([
                        "label": label(entity, lang), "total": found.total, "key": entity.key,
                        "all_href": "/app/\(entity.key)?q=\(Self.escapeQuery(q))",
                        "rows": found.records.map { ["title": entity.title(of: $0, locale: lang) ?? $0.id.uuidString.lowercased(),
                                                     "href": "/app/\(entity.key)/\($0.id.uuidString.lowercased())"] },
                    ])
                }
            }
            return render("search", page, ["title": t("search.title", lang), "q": q, "groups": groups, "searched": !q.isEmpty, "found": !groups.isEmpty])
        }
    }
}

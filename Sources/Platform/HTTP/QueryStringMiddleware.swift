import HTTPTypes
import Hummingbird

/// Reads `+` in a query string as a space, as HTML forms and most HTTP clients encode it
/// (`application/x-www-form-urlencoded`): a search box's `?q=two+words` must find what
/// `?q=two%20words` finds. Hummingbird decodes only percent escapes, so the query is rewritten
/// once here, before any route reads it; a literal plus arrives as `%2B` and stays a plus.
public struct QueryStringMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let rewritten = Self.rewrite(request.head.path) else {
            return try await next(request, context)
        }
        var head = request.head
        head.path = rewritten
        return try await next(Request(head: head, body: request.body), context)
    }

    /// The path with `+` in its query replaced by `%20`, or nil when there is nothing to change.
    static func rewrite(_ path: String?) -> String? {
        guard let path, let question = path.firstIndex(of: "?") else { return nil }
        let query = path[question...]
        guard query.contains("+") else { return nil }
        return String(path[..<question]) + query.replacingOccurrences(of: "+", with: "%20")
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Turns every error into a response: JSON for API callers, a localised page for browsers.
/// The one place errors become HTTP: a ``DomainError`` (``ApprovalError``, ``AccessError``,
/// `TenancyError`, an ``AtriumError``) through its `atriumError`. Nothing escapes as a bare
/// 500; unexpected errors are logged with the request id and shown as "internal error" with
/// that id.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext
    let renderer: WebRenderer

    public init(renderer: WebRenderer) {
        self.renderer = renderer
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let error = classify(DatabaseErrors.unwrap(error), context: context)
            if wantsJSON(request) {
                return Self.retryLater(Self.json(error))
            }
            let locale = Localizer.choose(userLocale: context.identity?.user.locale, cookie: request.cookies["atrium_lang"]?.value,
                                          acceptLanguage: request.headers[.acceptLanguage])
            let message = renderer.localizer.string("errors.\(error.code)", locale: locale, error.messageArguments) ?? error.message
            var values: [String: Any] = [
                "heading": renderer.localizer.string("errors.title_\(error.status.code)", locale: locale)
                    ?? renderer.localizer.string("errors.title", locale: locale) ?? "Error",
                "message": message,
            ]
            if error.status.code >= 500 { values["request_id"] = context.id }
            return Self.retryLater(renderer.html("error", locale: locale, status: error.status, values))
        }
    }

    /// A 503 (database away) tells clients and proxies when to come back.
    static func retryLater(_ response: Response) -> Response {
        guard response.status == .serviceUnavailable else { return response }
        var response = response
        response.headers[.retryAfter] = "\(AtriumError.retryAfterSeconds)"
        return response
    }

    func classify(_ error: any Error, context: Context) -> AtriumError {
        switch error {
        case let error as any DomainError:
            return error.atriumError
        case let error as HTTPError:
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            return AtriumError(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        case let error as PSQLError where ["22021", "22P05"].contains(error.serverInfo?[.sqlState] ?? ""):
            // Text PostgreSQL cannot store (a NUL character, an invalid byte sequence) that got
            // past the field validators, e.g. in a filter value or an administrator's label.
            return AtriumError(status: .unprocessableContent, code: "invalid_text",
                               message: "the request contains text that cannot be stored (a NUL character or invalid UTF-8)")
        case let error as PSQLError where [.connectionError, .serverClosedConnection, .poolClosed].contains(error.code):
            context.logger.error("database unavailable", metadata: ["error": "\(DatabaseErrors.describe(error))"])
            return .databaseUnavailable
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(DatabaseErrors.describe(error))"])
            return AtriumError(status: .internalServerError, code: "internal", message: "internal error (request id \(context.id))")
        }
    }

    func wantsJSON(_ request: Request) -> Bool {
        let path = request.uri.path
        if path.hasPrefix("/api/") || path.hasPrefix("/admin/") { return true }
        let accept = request.headers[.accept] ?? ""
        return accept.contains("application/json") && !accept.contains("text/html")
    }

    public static func json(_ error: AtriumError) -> Response {
        struct Body: Encodable {
            let code: String, message: String, field: String?
            let details: [AtriumError.Detail]?
        }
        let body = Body(code: error.code, message: error.message, field: error.field, details: error.details.isEmpty ? nil : error.details)
        let data = (try? JSONEncoder().encode(["error": body])) ?? Data()
        return Response(status: error.status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

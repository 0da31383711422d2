import HTTPTypes
import Hummingbird

/// An error the client caused or may see, mapped to HTTP once, in ``ErrorMiddleware``.
///
/// JSON clients get `{"error": {"code", "message", "field"}}`; browsers get an error page in
/// their language (the page looks up `errors.<code>` in the locale file, falling back to
/// `message`).
public struct AtriumError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    /// Itemised problems behind one error (e.g. each bad row of an import), sent as `details`.
    public var details: [Detail] = []
    /// For pages in the user's language: a locale key under `validation.` and its `{name}`
    /// arguments (the English `message` stays what JSON clients get).
    public var messageKey: String?
    public var messageArguments: [String: String] = [:]

    public struct Detail: Sendable, Codable, Equatable {
        public var row: Int?
        public var field: String?
        public var message: String

        public init(row: Int? = nil, field: String? = nil, message: String) {
            self.row = row
            self.field = field
            self.message = message
        }
    }

    public init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil, details: [Detail] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func validation(field: String, _ message: String) -> AtriumError {
        AtriumError(status: .unprocessableContent, code: "invalid_\(field)", message: "\(field) \(message)", field: field)
    }

    public static let unauthenticated = AtriumError(status: .unauthorized, code: "unauthenticated", message: "sign in or send a valid API token")
    public static let csrfRejected = AtriumError(status: .forbidden, code: "csrf_rejected", message: "the form's security token is missing or out of date; reload the page and try again")
}

/// `body`'s result, or nil when it found nothing (a 404 such as `record_not_found`); every other
/// error — a database error above all — is rethrown, so it can never pass for "absent" the way
/// `try?` let it.
/// ```swift
/// let account = try await absentIfNotFound { try await engine.get("account", id: id, as: actor, on: connection, logger: logger) }
/// ```
public func absentIfNotFound<T>(_ body: () async throws -> T) async throws -> T? {
    do {
        return try await body()
    } catch let error as AtriumError where error.status == .notFound {
        return nil
    }
}

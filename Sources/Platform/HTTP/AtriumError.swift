import HTTPTypes
import Hummingbird

/// An error of one domain — ``ApprovalError``, ``AccessError``, `TenancyError` — with a case
/// named for what went wrong. Each case decides its HTTP status, code, English message and
/// field in one switch (`atriumError`); ``ErrorMiddleware`` maps every domain error through it,
/// once, and browsers get the text under its ``localeKey`` (`errors.<code>`).
/// ```swift
/// public enum ApprovalError: DomainError {
///     case taskNotFound(String)
///     public var atriumError: AtriumError {
///         switch self {
///         case .taskNotFound(let id): AtriumError(status: .notFound, code: "task_not_found", message: "no approval task \(id)")
///         }
///     }
/// }
/// throw ApprovalError.taskNotFound("6f1c…")   // 404 {"error": {"code": "task_not_found", …}}
/// ```
/// Catch "any client error" as `any DomainError` (``AtriumError`` is one too), not as
/// `AtriumError`, or a domain error slips past.
public protocol DomainError: Error, Sendable {
    /// What the client sees: status, code, English message, field.
    var atriumError: AtriumError { get }
}

extension DomainError {
    public var status: HTTPResponse.Status { atriumError.status }
    public var code: String { atriumError.code }
    public var message: String { atriumError.message }
    public var field: String? { atriumError.field }
    /// The key of the localised text for browsers (both locale files have one per code).
    public var localeKey: String { "errors.\(code)" }
}

/// The wire form of every client error (and the type of field validation errors,
/// ``validation(field:_:)``), mapped to HTTP once, in ``ErrorMiddleware``.
///
/// JSON clients get `{"error": {"code", "message", "field"}}`; browsers get an error page in
/// their language (the page looks up `errors.<code>` in the locale file, falling back to
/// `message`).
public struct AtriumError: DomainError, CustomStringConvertible {
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

    /// An ``AtriumError`` is its own wire form.
    public var atriumError: AtriumError { self }

    /// The wire form of any client error (a domain error or an ``AtriumError``), nil for
    /// anything else (a database error, a bug).
    public init?(_ error: any Error) {
        guard let error = error as? any DomainError else { return nil }
        self = error.atriumError
    }
}

/// `body`'s result, or nil when it found nothing (a 404 such as `record_not_found` or
/// ``ApprovalError/taskNotFound(_:)``); every other
/// error — a database error above all — is rethrown, so it can never pass for "absent" the way
/// `try?` let it.
/// ```swift
/// let account = try await absentIfNotFound { try await engine.get("account", id: id, as: actor, on: connection, logger: logger) }
/// ```
public func absentIfNotFound<T>(_ body: () async throws -> T) async throws -> T? {
    do {
        return try await body()
    } catch let error as any DomainError where error.status == .notFound {
        return nil
    }
}

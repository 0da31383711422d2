import Foundation
import HTTPTypes

/// Who may do what went wrong: not signed in, a refused form token, a dimension-limited
/// write, an organisation object (department, role, user, share, sharing rule) that does not
/// exist or is still in use. Mapped to HTTP by ``ErrorMiddleware``; every code has a text
/// under `errors.<code>` in both locale files.
/// ```swift
/// guard let identity else { throw AccessError.unauthenticated }   // 401 unauthenticated
/// ```
public enum AccessError: DomainError, Equatable {
    /// No session and no API token where a user is needed.
    case unauthenticated
    /// A bearer token that is unknown, revoked or another tenant's.
    case invalidAPIToken
    /// A form post without the session's CSRF token.
    case csrfRejected
    /// A dimension-limited caller left the dimension field empty (and has several values).
    case dimensionRequired(field: String, allowed: [String])
    /// A dimension-limited caller wrote a value outside their own.
    case dimensionDenied(field: String, allowed: [String])
    /// The argument names what was looked up as the message shows it: an id, or `'text'`
    /// from the URL.
    case departmentNotFound(String)
    case roleNotFound(String)
    case userNotFound(String)
    /// nil: the record has no such share; otherwise what the URL named.
    case shareNotFound(String?)
    case sharingRuleNotFound(String)
    /// A department with sub-departments or users cannot be deleted.
    case departmentInUse(subDepartments: Int, users: Int)
    case roleExists(key: String)
    case sharingRuleExists
    case emailTaken(String)
    /// The tenant's login ranges do not include the caller's address (an API token's user).
    case addressNotAllowed(String)

    public var atriumError: AtriumError {
        switch self {
        case .unauthenticated:
            AtriumError(status: .unauthorized, code: "unauthenticated", message: "sign in or send a valid API token")
        case .invalidAPIToken:
            AtriumError(status: .unauthorized, code: "invalid_token", message: "the API token is unknown, revoked, or belongs to another tenant")
        case .csrfRejected:
            AtriumError(status: .forbidden, code: "csrf_rejected", message: "the form's security token is missing or out of date; reload the page and try again")
        case .dimensionRequired(let field, let allowed):
            AtriumError(status: .forbidden, code: "dimension_required", message: "\(field) must be one of \(allowed.joined(separator: ", "))", field: field)
        case .dimensionDenied(let field, let allowed):
            AtriumError(status: .forbidden, code: "dimension_denied", message: "\(field) must be one of \(allowed.joined(separator: ", "))", field: field)
        case .departmentNotFound(let reference):
            AtriumError(status: .notFound, code: "department_not_found", message: "no department \(reference)")
        case .roleNotFound(let reference):
            AtriumError(status: .notFound, code: "role_not_found", message: "no role \(reference)")
        case .userNotFound(let reference):
            AtriumError(status: .notFound, code: "user_not_found", message: "no user \(reference)")
        case .shareNotFound(let reference):
            AtriumError(status: .notFound, code: "share_not_found", message: reference.map { "no share \($0)" } ?? "no such share on this record")
        case .sharingRuleNotFound(let reference):
            AtriumError(status: .notFound, code: "sharing_rule_not_found", message: "no sharing rule \(reference)")
        case .departmentInUse(let departments, let users):
            AtriumError(status: .conflict, code: "department_in_use",
                        message: "the department still has \(departments) sub-departments and \(users) users; move them first")
        case .roleExists(let key):
            AtriumError(status: .conflict, code: "role_exists", message: "a role '\(key)' already exists", field: "key")
        case .sharingRuleExists:
            AtriumError(status: .conflict, code: "duplicate_rule", message: "a rule for this entity, department and grantee exists; delete it first",
                        field: "grantee_id")
        case .emailTaken(let email):
            AtriumError(status: .conflict, code: "email_taken", message: "a user with email \(email) already exists in this tenant", field: "email")
        case .addressNotAllowed(let ip):
            AtriumError(status: .forbidden, code: "address_not_allowed", message: "this company allows its API tokens only from its own networks, not from \(ip)")
        }
    }

    /// One value of every case (add one with each new case): the tests check each code's
    /// status, uniqueness and locale entries.
    public static let examples: [AccessError] = [
        .unauthenticated, .invalidAPIToken, .csrfRejected,
        .dimensionRequired(field: "x_region", allowed: ["east", "west"]), .dimensionDenied(field: "x_region", allowed: ["east"]),
        .departmentNotFound("'x'"), .roleNotFound("'x'"), .userNotFound("'x'"), .shareNotFound(nil), .shareNotFound("'x'"),
        .sharingRuleNotFound("'x'"), .departmentInUse(subDepartments: 1, users: 2), .roleExists(key: "auditor"), .sharingRuleExists,
        .emailTaken("a@example.com"), .addressNotAllowed("203.0.113.9"),
    ]
}

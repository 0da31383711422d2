import Foundation
import HTTPTypes
import Hummingbird

/// Cross-site request forgery checks for state-changing requests.
///
/// Signed-in browser requests carry the session's token as the `_csrf` form field or the
/// `X-CSRF-Token` header. Before sign-in (the login form) the token is a double-submit pair:
/// the `atrium_csrf` cookie and the same value in the form. API-token requests carry no
/// cookies and need no CSRF token.
public enum CSRF {
    public static let cookie = "atrium_csrf"
    public static let header = HTTPField.Name("X-CSRF-Token")!

    public static func verify(_ request: Request, context: AtriumContext, form: [String: String] = [:]) throws {
        let presented = form["_csrf"] ?? request.headers[header] ?? ""
        let expected: String?
        switch context.identity?.method {
        case .apiToken?:
            return
        case .session(_, let token)?:
            expected = token
        case nil:
            expected = request.cookies[cookie]?.value
        }
        guard let expected, !expected.isEmpty, SecureToken.constantTimeEquals(presented, expected) else {
            throw AccessError.csrfRejected
        }
    }
}

/// `application/x-www-form-urlencoded` bodies, read with a size limit.
public enum FormBody {
    public static func parse(_ request: Request, limit: Int = 64 * 1024) async throws -> [String: String] {
        single(try await parsePairs(request, limit: limit))
    }

    /// Every name/value pair in order (a name may repeat, e.g. checkboxes).
    public static func parsePairs(_ request: Request, limit: Int = 64 * 1024) async throws -> [(String, String)] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw AtriumError(status: .contentTooLarge, code: "body_too_large", message: "the form is larger than \(limit / 1024) KiB")
        }
        return pairs(String(buffer: buffer))
    }

    public static func pairs(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let key = unescape(parts[0])
            return key.isEmpty ? nil : (key, parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    /// The pairs as a dictionary; a repeated name keeps its last value.
    public static func decode(_ text: String) -> [String: String] {
        single(pairs(text))
    }

    public static func single(_ pairs: [(String, String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in pairs { result[key] = value }
        return result
    }
}

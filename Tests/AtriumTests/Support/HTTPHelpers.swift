import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Tenancy

/// A browser-like session against the live test server: remembers cookies, fills in the
/// login form's CSRF token, addresses the tenant with `X-Tenant`.
struct BrowserSession {
    let client: any TestClientProtocol
    var tenant: String
    var cookies: [String: String] = [:]

    init(client: any TestClientProtocol, tenant: String) {
        self.client = client
        self.tenant = tenant
    }

    var cookieHeader: String {
        cookies.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
    }

    /// `body` is sent as is (give its content type in `headers`); `form` is sent URL-encoded.
    mutating func send(_ method: HTTPRequest.Method, _ uri: String, form: [String: String]? = nil,
                       headers extra: HTTPFields = [:], body raw: ByteBuffer? = nil) async throws -> TestResponse {
        var headers = extra
        headers[TenantResolver.header] = tenant
        if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        var body = raw
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form.map { "\(Self.escape($0.key))=\(Self.escape($0.value))" }.joined(separator: "&"))
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2 { cookies[String(pair[0])] = String(pair[1]) }
        }
        return response
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// The value of `<input type="hidden" name="_csrf" value="…">` on a page.
    static func csrfToken(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value="[^"]+""#, options: .regularExpression) else { return nil }
        return html[range].split(separator: "\"").last.map(String.init)
    }

    /// GETs the login page (for its CSRF cookie and token) and posts the form.
    mutating func login(email: String, password: String) async throws -> TestResponse {
        let page = try await send(.get, "/login")
        let token = Self.csrfToken(in: String(buffer: page.body)) ?? ""
        return try await send(.post, "/login", form: ["_csrf": token, "email": email, "password": password])
    }
}

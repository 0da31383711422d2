import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Platform
import Testing

/// Login IP ranges (issue 23, 限制登录范围), against the live server (its clients come from
/// 127.0.0.1): a role's range refuses sign-in from elsewhere (audited, not counted toward the
/// lockout) and, when it says so, that role's API tokens; other roles are not limited; an
/// administrator cannot save a change that would refuse their own address.
@Suite struct LoginRangeTests {
    static func signIn(_ client: any TestClientProtocol, _ slug: String, _ email: String) async throws -> TestResponse {
        var browser = BrowserSession(client: client, tenant: slug)
        return try await browser.login(email: email, password: PermissionFixtures.password)
    }

    @Test func aRolesRangeLimitsSignInAndTokensAndTheAdministratorCannotLockThemselvesOut() async throws {
        try await RecordFixtures.withTenant("ranges") { client, tenant in
            let slug = tenant.info.slug
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rep = try await PermissionFixtures.member(client, tenant, admin, "rep", department: nil, roles: ["salesperson"])
            let fin = try await PermissionFixtures.member(client, tenant, admin, "fin", department: nil, roles: ["finance"])

            // For everyone, outside the administrator's own address: refused, nothing saved.
            let lockout = try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "10.0.0.0/8"}"#)
            #expect(lockout.status == .unprocessableContent && lockout.errorField == "range", "\(lockout.text)")
            #expect(lockout.text.contains("lock you out") && lockout.text.contains("127.0.0.1"), "\(lockout.text)")
            for (body, field) in [(#"{"range": "10.0.0.300/8"}"#, "range"), (#"{"range": "10.0.0.0/33"}"#, "range"),
                                  (#"{"range": "10.1.0.0/16", "role": "nobody"}"#, "role"), (#"{"range": "10.1.0.0/16", "ports": 22}"#, "ports")] {
                let refused = try await admin.call(.post, "/api/v1/admin/login-ranges", json: body)
                #expect(refused.status == .unprocessableContent && refused.errorField == field, "\(body): \(refused.text)")
            }
            let empty = try await admin.call(.get, "/api/v1/admin/login-ranges")
            #expect(empty.json["ranges"]?.arrayValue?.isEmpty == true && empty.json["your_address"] == .string("127.0.0.1"), "\(empty.text)")

            // Salespeople may sign in from the office network only (a host address is widened to its network).
            let office = try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "10.1.2.3/16", "role": "salesperson", "description": "上海办公室"}"#)
            #expect(office.status == .created && office.json["range"] == .string("10.1.0.0/16") && office.json["role"] == .string("salesperson"), "\(office.text)")
            let refusedLogin = try await Self.signIn(client, slug, rep.email)
            #expect(refusedLogin.status == .forbidden)
            #expect(String(buffer: refusedLogin.body).contains("127.0.0.1"), "the page names the refused address")
            #expect(try await Self.signIn(client, slug, fin.email).status == .seeOther, "finance is not limited")
            #expect(try await rep.api.call(.get, "/api/v1/me").status == .ok, "the range does not apply to tokens")
            // Refusals by address are audited and do not lock the account.
            for _ in 0..<6 { _ = try await Self.signIn(client, slug, rep.email) }
            let audit = try await admin.call(.get, "/api/v1/audit?limit=50")
            let refusals = audit.json["entries"]?.arrayValue?.filter { $0["action"] == .string("user.login_refused_address") } ?? []
            #expect(refusals.count == 7, "\(refusals.count)")

            // A range that applies to tokens stops the salesperson's token, not finance's.
            let tokens = try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "10.2.0.0/16", "role": "salesperson", "applies_to_tokens": true}"#)
            #expect(tokens.status == .created, "\(tokens.text)")
            let stopped = try await rep.api.call(.get, "/api/v1/me")
            #expect(stopped.status == .forbidden && stopped.errorCode == "address_not_allowed", "\(stopped.text)")
            #expect(try await fin.api.call(.get, "/api/v1/me").status == .ok)

            // Loopback for salespeople, tokens included: both work again.
            let loopback = try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "127.0.0.0/8", "role": "salesperson", "applies_to_tokens": true}"#)
            #expect(loopback.status == .created, "\(loopback.text)")
            #expect(try await rep.api.call(.get, "/api/v1/me").status == .ok)
            #expect(try await Self.signIn(client, slug, rep.email).status == .seeOther, "not locked out by the refused attempts")

            // Everyone from here, then another network for everyone: removing "here" would lock the administrator out.
            let here = try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "127.0.0.1"}"#)
            #expect(here.status == .created && here.json["range"] == .string("127.0.0.1/32"), "\(here.text)")
            #expect(try await admin.call(.post, "/api/v1/admin/login-ranges", json: #"{"range": "192.0.2.0/24"}"#).status == .created)
            let hereID = try #require(here.json["id"]?.stringValue)
            let removing = try await admin.call(.delete, "/api/v1/admin/login-ranges/\(hereID)")
            #expect(removing.status == .unprocessableContent && removing.errorField == "id", "\(removing.text)")
            #expect(try await admin.call(.get, "/api/v1/admin/login-ranges").json["ranges"]?.arrayValue?.count == 5)
            let officeID = try #require(office.json["id"]?.stringValue)
            #expect(try await admin.call(.delete, "/api/v1/admin/login-ranges/\(officeID)").status == .noContent)
            #expect(try await admin.call(.delete, "/api/v1/admin/login-ranges/\(officeID)").status == .notFound)
            #expect(try await rep.api.call(.get, "/api/v1/admin/login-ranges").status == .forbidden, "administrators only")
        }
    }

    @Test func addressesAndRangesAreParsedStrictly() {
        #expect(LoginRanges.range("203.0.113.7") == "203.0.113.7/32")
        #expect(LoginRanges.range(" 10.0.0.0/8 ") == "10.0.0.0/8")
        #expect(LoginRanges.range("2001:DB8::/32") == "2001:db8::/32")
        #expect(LoginRanges.range("10.0.0.0/+8") == nil)
        #expect(LoginRanges.range("10.0.0/8") == nil)
        #expect(LoginRanges.range("::1/129") == nil)
        #expect(LoginRanges.address("unknown") == nil)
    }
}

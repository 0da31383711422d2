import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import PostgresNIO
import Tenancy
import Testing

/// The admin API (`/admin/v1`) against the real server and PostgreSQL: operator and reseller
/// tokens, reseller isolation and quotas, revocation, hashing, the audit trail.
@Suite struct AdminAPITests {
    struct Token {
        let id: UUID
        let secret: String
    }

    static func token(_ kind: AdminTokenStore.Kind, reseller: String? = nil, name: String = "tests") async throws -> Token {
        try await TestEnvironment.withOwner { conn in
            let (secret, token) = try await AdminTokenStore.create(kind: kind, name: name, resellerSlug: reseller, on: conn, logger: TestEnvironment.logger)
            return Token(id: token.id, secret: secret)
        }
    }

    /// A new reseller (unique slug) and a token of it.
    static func reseller(maxTenants: Int? = nil, maxSeats: Int? = nil) async throws -> (slug: String, token: Token) {
        let slug = TestEnvironment.uniqueSlug("rs")
        _ = try await TestEnvironment.withOwner { conn in
            try await ResellerDirectory.create(slug: slug, name: "Reseller \(slug)", maxTenants: maxTenants, maxSeats: maxSeats, on: conn, logger: TestEnvironment.logger)
        }
        return (slug, try await token(.reseller, reseller: slug, name: "\(slug) cli"))
    }

    struct Answer {
        let status: HTTPResponse.Status
        let text: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
        var error: [String: Any] { object["error"] as? [String: Any] ?? [:] }
    }

    static func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?,
                     json: [String: Any]? = nil, raw: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let raw {
            body = ByteBuffer(string: raw)
        }
        // Creating a tenant sets up every module; beside the whole suite on two cores that has
        // taken longer than the test client's fixed 20-second read timeout, so that call goes
        // through URLSession with a longer one (as BulkImportTests' long imports do).
        guard method == .post, uri == "/admin/v1/tenants", let port = client.port else {
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
            return Answer(status: response.status, text: String(buffer: response.body))
        }
        var request = URLRequest(url: URL(string: "http://localhost:\(port)\(uri)")!)
        request.httpMethod = method.rawValue
        request.timeoutInterval = 180
        request.httpBody = body.map { Data($0.readableBytesView) }
        for field in headers { request.setValue(field.value, forHTTPHeaderField: field.name.rawName) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: HTTPResponse.Status(code: (response as? HTTPURLResponse)?.statusCode ?? 0), text: String(decoding: data, as: UTF8.self))
    }

    static func newTenant(_ slug: String, plan: String = "trial", maxUsers: Int? = nil) -> [String: Any] {
        var body: [String: Any] = ["slug": slug, "name": "Tenant \(slug)", "admin_email": "boss@\(slug).test", "plan": plan, "locale": "en"]
        if let maxUsers { body["max_users"] = maxUsers }
        return body
    }

    @Test func resellerSeesAndTouchesOnlyItsOwnTenants() async throws {
        let r1 = try await Self.reseller()
        let r2 = try await Self.reseller()
        let (a, b) = (TestEnvironment.uniqueSlug("ra"), TestEnvironment.uniqueSlug("rb"))
        try await TestEnvironment.withLiveApp { client in
            #expect(try await Self.call(client, .post, "/admin/v1/tenants", token: r1.token.secret, json: Self.newTenant(a)).status == .created)
            #expect(try await Self.call(client, .post, "/admin/v1/tenants", token: r2.token.secret, json: Self.newTenant(b)).status == .created)

            let listed = try await Self.call(client, .get, "/admin/v1/tenants", token: r1.token.secret)
            let slugs = listed.array.compactMap { $0["slug"] as? String }
            #expect(slugs == [a])

            // Another reseller's tenant answers exactly like a tenant that does not exist.
            for (method, uri) in [(HTTPRequest.Method.get, "/admin/v1/tenants/\(b)"), (.post, "/admin/v1/tenants/\(b)/suspend"),
                                  (.get, "/admin/v1/tenants/\(b)/export"), (.get, "/admin/v1/tenants/\(b)/users"),
                                  (.delete, "/admin/v1/tenants/\(b)?confirm=\(b)"), (.get, "/admin/v1/tenants/\(b)/modules")] {
                let refused = try await Self.call(client, method, uri, token: r1.token.secret)
                #expect(refused.status == .notFound, "\(method) \(uri)")
                #expect(refused.error["code"] as? String == "tenant_not_found")
                #expect(refused.error["message"] as? String == "no tenant '\(b)'")
            }
            let missing = try await Self.call(client, .get, "/admin/v1/tenants/no-such-tenant-x", token: r1.token.secret)
            #expect(missing.status == .notFound && missing.error["message"] as? String == "no tenant 'no-such-tenant-x'")
            let invite = try await Self.call(client, .post, "/admin/v1/tenants/\(b)/users", token: r1.token.secret,
                                             json: ["email": "spy@\(b).test", "name": "Spy"])
            #expect(invite.status == .notFound)
            // b is untouched: still active, one user.
            let shown = try await Self.call(client, .get, "/admin/v1/tenants/\(b)", token: r2.token.secret)
            #expect((shown.object["tenant"] as? [String: Any])?["status"] as? String == "active")
            #expect((shown.object["usage"] as? [String: Any])?["users"] as? Int == 1)
            #expect(shown.object["reseller"] as? String == r2.slug)

            // Operator-only endpoints refuse a reseller with 403.
            for (method, uri) in [(HTTPRequest.Method.get, "/admin/v1/resellers"), (.get, "/admin/v1/audit"),
                                  (.put, "/admin/v1/resellers/\(r1.slug)/quota")] {
                let refused = try await Self.call(client, method, uri, token: r1.token.secret, json: ["max_tenants": 100])
                #expect(refused.status == .forbidden, "\(uri)")
                #expect(refused.error["code"] as? String == "operator_only")
            }
            // A reseller cannot place a tenant with another reseller.
            let placed = try await Self.call(client, .post, "/admin/v1/tenants", token: r1.token.secret,
                                             json: Self.newTenant(TestEnvironment.uniqueSlug("rc")).merging(["reseller": r2.slug]) { $1 })
            #expect(placed.status == .forbidden && placed.error["field"] as? String == "reseller")
        }
        // The probes are on record, with their outcome.
        let probes = try await TestEnvironment.withOwner { conn in
            try await conn.query("SELECT count(*)::int FROM admin_audit WHERE token_id = \(r1.token.id) AND tenant_slug = \(b) AND status = 404",
                                 logger: TestEnvironment.logger).collect().first!.decode(Int.self)
        }
        #expect(probes == 7)
    }

    @Test func resellerCannotExceedItsTenantOrSeatQuota() async throws {
        let r = try await Self.reseller(maxTenants: 2, maxSeats: 8)
        try await TestEnvironment.withLiveApp { client in
            let first = try await Self.call(client, .post, "/admin/v1/tenants", token: r.token.secret, json: Self.newTenant(TestEnvironment.uniqueSlug("q1")))
            #expect(first.status == .created)  // trial: 5 users → 5 of 8 seats
            let overSeats = try await Self.call(client, .post, "/admin/v1/tenants", token: r.token.secret, json: Self.newTenant(TestEnvironment.uniqueSlug("q2")))
            #expect(overSeats.status == .unprocessableContent)
            #expect(overSeats.error["code"] as? String == "reseller_quota_seats")
            #expect(overSeats.error["field"] as? String == "max_seats")
            #expect((overSeats.error["message"] as? String)?.contains("may allocate 8 seats (max_seats), has 5 and this tenant needs 5") == true)
            let unlimited = try await Self.call(client, .post, "/admin/v1/tenants", token: r.token.secret,
                                                json: Self.newTenant(TestEnvironment.uniqueSlug("q2"), plan: "enterprise"))
            #expect(unlimited.error["code"] as? String == "reseller_quota_seats")
            let second = try await Self.call(client, .post, "/admin/v1/tenants", token: r.token.secret,
                                             json: Self.newTenant(TestEnvironment.uniqueSlug("q2"), maxUsers: 3))
            #expect(second.status == .created)
            let overTenants = try await Self.call(client, .post, "/admin/v1/tenants", token: r.token.secret,
                                                  json: Self.newTenant(TestEnvironment.uniqueSlug("q3"), maxUsers: 1))
            #expect(overTenants.status == .unprocessableContent)
            #expect(overTenants.error["code"] as? String == "reseller_quota_tenants")
            #expect(overTenants.error["field"] as? String == "max_tenants")
            // An import is a new tenant too: the same quota applies.
            let firstSlug = try #require(first.object["tenant"] as? [String: Any])["slug"] as! String
            let archive = try await Self.call(client, .get, "/admin/v1/tenants/\(firstSlug)/export", token: r.token.secret)
            #expect(archive.status == .ok)
            let overImport = try await Self.call(client, .post, "/admin/v1/tenants/import?slug=\(TestEnvironment.uniqueSlug("q4"))",
                                                 token: r.token.secret, raw: archive.text)
            #expect(overImport.status == .unprocessableContent && overImport.error["code"] as? String == "reseller_quota_tenants")
            let me = try await Self.call(client, .get, "/admin/v1/whoami", token: r.token.secret)
            let quota = me.object["reseller"] as? [String: Any]
            #expect(quota?["tenants"] as? Int == 2 && quota?["seats"] as? Int == 8)

            // The tenant's own user limit (its share of the seats) holds for invitations too.
            let slug = try #require(second.object["tenant"] as? [String: Any])["slug"] as! String
            for index in 1...2 {
                let ok = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/users", token: r.token.secret,
                                             json: ["email": "u\(index)@\(slug).test", "name": "User \(index)"])
                #expect(ok.status == .created)
            }
            let full = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/users", token: r.token.secret,
                                           json: ["email": "u3@\(slug).test", "name": "User 3"])
            #expect(full.status == .unprocessableContent && full.error["code"] as? String == "plan_limit_users")
        }
        // Nothing was left behind by the refused creations.
        let count = try await TestEnvironment.withOwner { conn in
            try await conn.query("SELECT count(*)::int FROM tenants t JOIN resellers r ON r.id = t.reseller_id WHERE r.slug = \(r.slug)",
                                 logger: TestEnvironment.logger).collect().first!.decode(Int.self)
        }
        #expect(count == 2)
    }

    @Test func operatorRunsTheWholeLifecycle() async throws {
        let op = try await Self.token(.operator, name: "ops")
        let slug = TestEnvironment.uniqueSlug("op")
        let resellerSlug = TestEnvironment.uniqueSlug("orr")
        try await TestEnvironment.withLiveApp { client in
            let reseller = try await Self.call(client, .post, "/admin/v1/resellers", token: op.secret,
                                               json: ["slug": resellerSlug, "name": "Partner", "max_tenants": 1])
            #expect(reseller.status == .created)
            let quota = try await Self.call(client, .put, "/admin/v1/resellers/\(resellerSlug)/quota", token: op.secret,
                                            json: ["max_tenants": 3, "max_seats": 40])
            #expect(quota.object["max_tenants"] as? Int == 3 && quota.object["max_seats"] as? Int == 40)
            #expect(try await Self.call(client, .get, "/admin/v1/resellers", token: op.secret).array.contains { $0["slug"] as? String == resellerSlug })

            let created = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret,
                                              json: Self.newTenant(slug, plan: "basic").merging(["reseller": resellerSlug]) { $1 })
            #expect(created.status == .created, "\(created.text)")
            let password = try #require(created.object["admin_password"] as? String)
            #expect(created.object["admin_email"] as? String == "boss@\(slug).test")
            let shown = try await Self.call(client, .get, "/admin/v1/tenants/\(slug)", token: op.secret)
            #expect(shown.object["reseller"] as? String == resellerSlug)
            #expect((shown.object["limits"] as? [String: Any])?["max_users"] as? Int == 10)

            let modules = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/modules", token: op.secret, json: ["disable": ["sales"]])
            #expect(modules.array.first { $0["id"] as? String == "sales" }?["enabled"] as? Bool == false)
            let unknown = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/modules", token: op.secret, json: ["enable": ["nope"]])
            #expect(unknown.status == .unprocessableContent && unknown.error["field"] as? String == "module")
            #expect(try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/modules", token: op.secret, json: ["enable": ["sales"]]).status == .ok)

            let invited = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/users", token: op.secret,
                                              json: ["email": "Li.Lei@\(slug).test", "name": "李雷", "locale": "en"])
            #expect(invited.status == .created)
            let oneTime = try #require(invited.object["password"] as? String)
            var browser = BrowserSession(client: client, tenant: slug)
            #expect(try await browser.login(email: "li.lei@\(slug).test", password: oneTime).status == .seeOther)
            let users = try await Self.call(client, .get, "/admin/v1/tenants/\(slug)/users", token: op.secret)
            #expect(users.array.map { $0["email"] as? String } == ["boss@\(slug).test", "li.lei@\(slug).test"])
            let reset = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/users/reset-password", token: op.secret,
                                            json: ["email": "boss@\(slug).test", "password": "Brand-new-pass-1"])
            #expect(reset.status == .ok && reset.object["password"] == nil)  // a given password is never echoed
            var boss = BrowserSession(client: client, tenant: slug)
            #expect(try await boss.login(email: "boss@\(slug).test", password: password).status == .unauthorized)

            // Export, then import under a new slug: the same rows come back.
            let export = try await client.execute(uri: "/admin/v1/tenants/\(slug)/export", method: .get,
                                                  headers: [.authorization: "Bearer \(op.secret)"], body: nil)
            #expect(export.status == .ok)
            #expect(export.headers[.contentLength] == "\(export.body.readableBytes)")
            let archive = String(buffer: export.body)
            #expect(archive.hasPrefix("{\"exported_at\""))
            let copy = TestEnvironment.uniqueSlug("opc")
            let imported = try await Self.call(client, .post, "/admin/v1/tenants/import?slug=\(copy)", token: op.secret, raw: archive)
            #expect(imported.status == .created, "\(imported.text)")
            #expect((imported.object["rows"] as? [String: Any])?["users"] as? Int == 2)
            let cut = try await Self.call(client, .post, "/admin/v1/tenants/import?slug=\(TestEnvironment.uniqueSlug("cut"))", token: op.secret,
                                          raw: String(archive.split(separator: "\n").dropLast().joined(separator: "\n")))
            #expect(cut.status == .unprocessableContent && cut.error["field"] as? String == "file")

            // Deletion: two steps.
            let active = try await Self.call(client, .delete, "/admin/v1/tenants/\(slug)?confirm=\(slug)", token: op.secret)
            #expect(active.status == .conflict && active.error["code"] as? String == "tenant_active")
            #expect(try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/suspend", token: op.secret).object["status"] as? String == "suspended")
            let unconfirmed = try await Self.call(client, .delete, "/admin/v1/tenants/\(slug)", token: op.secret)
            #expect(unconfirmed.status == .badRequest && unconfirmed.error["field"] as? String == "confirm")
            let deleted = try await Self.call(client, .delete, "/admin/v1/tenants/\(slug)?confirm=\(slug)", token: op.secret)
            #expect(deleted.status == .ok && deleted.object["deleted"] as? String == slug)
            #expect(try await Self.call(client, .get, "/admin/v1/tenants/\(slug)", token: op.secret).status == .notFound)
            #expect(try await Self.call(client, .post, "/admin/v1/tenants/\(copy)/resume", token: op.secret).status == .ok)
        }
        // The admin trail outlives the tenant (tenant deletion empties only tenant-owned tables).
        let trail = try await TestEnvironment.withOwner { conn in
            try await conn.query("SELECT action, status FROM admin_audit WHERE tenant_slug = \(slug) ORDER BY id", logger: TestEnvironment.logger)
                .collect().map { try $0.decode((String, Int?).self) }
        }
        #expect(trail.count >= 10)
        #expect(trail.last?.0 == "tenant.show" && trail.last?.1 == 404)
        #expect(trail.contains { $0.0 == "tenant.delete" && $0.1 == 200 })
    }

    @Test func badInputIsA4xxNamingTheField() async throws {
        let op = try await Self.token(.operator)
        try await TestEnvironment.withLiveApp { client in
            let missing = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret, json: ["slug": "x-\(UUID().uuidString.prefix(6).lowercased())", "name": "X"])
            #expect(missing.status == .unprocessableContent && missing.error["field"] as? String == "admin_email")
            let wrongType = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret,
                                                json: Self.newTenant(TestEnvironment.uniqueSlug("w")).merging(["max_users": "ten"]) { $1 })
            #expect(wrongType.status == .unprocessableContent && wrongType.error["field"] as? String == "max_users")
            let badEmail = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret,
                                               json: Self.newTenant(TestEnvironment.uniqueSlug("w")).merging(["admin_email": "nope"]) { $1 })
            #expect(badEmail.error["field"] as? String == "admin_email")
            #expect(badEmail.error["message"] as? String == "admin_email 'nope' is not an email address")
            let badSlug = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret, json: Self.newTenant("Bad_Slug"))
            #expect(badSlug.status == .unprocessableContent && badSlug.error["field"] as? String == "slug")
            let notJSON = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret, raw: "{nope")
            #expect(notJSON.status == .badRequest && notJSON.error["code"] as? String == "invalid_json")
            let negative = try await Self.call(client, .post, "/admin/v1/resellers", token: op.secret,
                                               json: ["slug": TestEnvironment.uniqueSlug("neg"), "name": "N", "max_seats": -1])
            #expect(negative.status == .unprocessableContent && negative.error["field"] as? String == "max_seats")
            let importNoSlug = try await Self.call(client, .post, "/admin/v1/tenants/import", token: op.secret, raw: "x")
            #expect(importNoSlug.status == .unprocessableContent && importNoSlug.error["field"] as? String == "slug")
            let importJunk = try await Self.call(client, .post, "/admin/v1/tenants/import?slug=\(TestEnvironment.uniqueSlug("j"))", token: op.secret, raw: "junk\n")
            #expect(importJunk.status == .unprocessableContent && importJunk.error["field"] as? String == "file")
            let nobody = try await Self.call(client, .post, "/admin/v1/tenants/no-such-x/users/reset-password", token: op.secret, json: ["email": "a@b.test"])
            #expect(nobody.status == .notFound)
            for answer in [missing, wrongType, badEmail, badSlug, notJSON, negative, importNoSlug, importJunk, nobody] {
                #expect(answer.status.code < 500)
            }
        }
    }

    @Test func unknownOrRevokedTokensAreRefused() async throws {
        let op = try await Self.token(.operator, name: "soon revoked")
        let tenant = try await TestEnvironment.provisionTenant("tok")
        try await TestEnvironment.withLiveApp { client in
            #expect(try await Self.call(client, .get, "/admin/v1/tenants", token: op.secret).status == .ok)
            let revoked = try await TestEnvironment.withOwner { conn in try await AdminTokenStore.revoke(id: op.id, on: conn, logger: TestEnvironment.logger) }
            #expect(revoked)
            let after = try await Self.call(client, .get, "/admin/v1/tenants", token: op.secret)
            #expect(after.status == .unauthorized && after.error["code"] as? String == "unauthenticated")
            #expect(try await Self.call(client, .get, "/admin/v1/tenants", token: nil).status == .unauthorized)
            #expect(try await Self.call(client, .get, "/admin/v1/tenants", token: "atradm_" + SecureToken.generate()).status == .unauthorized)
            // A tenant's own API token is no admin token.
            let apiToken = try await TestEnvironment.withOwner { conn in
                try await conn.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { conn in
                    let admin = try await conn.query("SELECT id FROM users LIMIT 1", logger: TestEnvironment.logger).collect().first!.decode(UUID.self)
                    return try await APITokenStore.create(name: "t", userID: admin, tenantID: tenant.info.id, on: conn, logger: TestEnvironment.logger).token
                }
            }
            #expect(try await Self.call(client, .get, "/admin/v1/tenants", token: apiToken).status == .unauthorized)
        }
    }

    @Test func tokensAreStoredOnlyHashedAndTheAppRoleCannotReadThem() async throws {
        let r = try await Self.reseller()
        let (hash, prefix, anyClear) = try await TestEnvironment.withOwner { conn in
            let (hash, prefix) = try await conn.query("SELECT token_hash, token_prefix FROM admin_tokens WHERE id = \(r.token.id)",
                                                      logger: TestEnvironment.logger).collect().first!.decode((String, String).self)
            let clear = try await conn.query("""
                SELECT count(*)::int FROM admin_tokens t WHERE position(\(r.token.secret) IN t::text) > 0
                """, logger: TestEnvironment.logger).collect().first!.decode(Int.self)
            return (hash, prefix, clear)
        }
        #expect(hash == SecureToken.hash(r.token.secret))
        #expect(anyClear == 0)
        #expect(prefix.count == "atradm_".count + 6 && r.token.secret.hasPrefix(prefix))
        // The application role (what the tenant-facing side runs as) has no grant on admin tables.
        for table in ["admin_tokens", "admin_audit", "resellers"] {
            await #expect(throws: (any Error).self) {
                try await TestEnvironment.withAppRole { conn in
                    _ = try await conn.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: TestEnvironment.logger).collect()
                }
            }
        }
    }

    @Test func everyAdminCallLeavesAnAuditRow() async throws {
        let op = try await Self.token(.operator, name: "auditor")
        let slug = TestEnvironment.uniqueSlug("aud")
        try await TestEnvironment.withLiveApp { client in
            _ = try await Self.call(client, .get, "/admin/v1/whoami", token: op.secret)
            _ = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret, json: Self.newTenant(slug))
            _ = try await Self.call(client, .get, "/admin/v1/tenants/\(slug)", token: op.secret)
            _ = try await Self.call(client, .post, "/admin/v1/tenants/\(slug)/suspend", token: op.secret)
            _ = try await Self.call(client, .delete, "/admin/v1/tenants/\(slug)", token: op.secret)  // refused: no confirm
            _ = try await Self.call(client, .post, "/admin/v1/tenants", token: op.secret, json: ["slug": "x", "name": "X"])  // refused: no admin_email
            let trail = try await Self.call(client, .get, "/admin/v1/audit?tenant=\(slug)", token: op.secret)
            #expect(trail.array.map { $0["action"] as? String } == ["tenant.delete", "tenant.suspend", "tenant.show", "tenant.create"])
        }
        let rows = try await TestEnvironment.withOwner { conn in
            var rows: [(String, String?, Int?, String?, String)] = []
            for try await row in try await conn.query("""
                SELECT action, tenant_slug, status, error_code, token_name FROM admin_audit WHERE token_id = \(op.id) ORDER BY id
                """, logger: TestEnvironment.logger).decode((String, String?, Int?, String?, String).self) { rows.append(row) }
            return rows
        }
        #expect(rows.map(\.0) == ["whoami", "tenant.create", "tenant.show", "tenant.suspend", "tenant.delete", "tenant.create", "audit.list"])
        #expect(rows.map(\.2) == [200, 201, 200, 200, 400, 422, 200])
        #expect(rows[4].3 == "confirm" && rows[5].3 == "invalid_admin_email")
        #expect(rows[1].1 == slug && rows.allSatisfy { $0.4 == "auditor" })
        // The tenant's own audit log names the admin token as the actor, in the same transaction as the change.
        let actors = try await TestEnvironment.withOwner { conn in
            let id = try await conn.query("SELECT id FROM tenants WHERE slug = \(slug)", logger: TestEnvironment.logger).collect().first!.decode(UUID.self)
            return try await conn.inTenantTransaction(id, logger: TestEnvironment.logger) { conn in
                try await conn.query("SELECT actor FROM audit_log WHERE action IN ('tenant.created', 'tenant.suspended') ORDER BY id",
                                     logger: TestEnvironment.logger).collect().map { try $0.decode(String.self) }
            }
        }
        #expect(actors == ["admin-api:auditor", "admin-api:auditor"])
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Testing

/// Sign-in over HTTP against the started server, as a browser does it.
@Suite struct LoginTests {
    @Test func successfulLoginSetsAHardenedSessionCookieAndShowsHome() async throws {
        let tenant = try await TestEnvironment.provisionTenant("login")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            let response = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/")
            let cookie = response.headers[values: .setCookie].first { $0.hasPrefix("atrium_session=") } ?? ""
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))  // plain HTTP in tests; ATRIUM_SECURE_COOKIES adds it
            let home = try await browser.send(.get, "/")
            #expect(home.status == .ok)
            let html = String(buffer: home.body)
            #expect(html.contains(tenant.info.name))
            #expect(html.contains("data-module=\"sales\""))
            let me = try await browser.send(.get, "/api/v1/me")
            #expect(me.status == .ok)
            #expect(String(buffer: me.body).contains(tenant.adminEmail))
        }
    }

    @Test func wrongPasswordIs401WithAMessage() async throws {
        let tenant = try await TestEnvironment.provisionTenant("login")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            let response = try await browser.login(email: tenant.adminEmail, password: "not-the-password")
            #expect(response.status == .unauthorized)
            #expect(String(buffer: response.body).contains("Email or password is wrong."))
            #expect(browser.cookies["atrium_session"] == nil)
        }
    }

    @Test func sixthAttemptAfterFiveFailuresIsLockedEvenWithTheRightPassword() async throws {
        let tenant = try await TestEnvironment.provisionTenant("lock")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            for _ in 1...5 {
                let failed = try await browser.login(email: tenant.adminEmail, password: "wrong-password")
                #expect(failed.status == .unauthorized)
            }
            let locked = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Too many failed sign-in attempts"))
            #expect(browser.cookies["atrium_session"] == nil)
        }
        // The lock is per email + address and recorded in the tenant's login_attempts.
        let logger = TestEnvironment.logger
        let reasons = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                var reasons: [String] = []
                for try await reason in try await connection.query("SELECT reason FROM login_attempts ORDER BY id", logger: logger).decode(String.self) {
                    reasons.append(reason)
                }
                return reasons
            }
        }
        #expect(reasons == Array(repeating: "wrong_password", count: 5) + ["locked"])
    }

    @Test func formPostWithoutTheCSRFTokenIs403() async throws {
        let tenant = try await TestEnvironment.provisionTenant("csrf")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.send(.get, "/login")  // has the CSRF cookie, but the form omits the field
            let missing = try await browser.send(.post, "/login", form: ["email": tenant.adminEmail, "password": tenant.password])
            #expect(missing.status == .forbidden)
            #expect(String(buffer: missing.body).contains("security token"))
            let forged = try await browser.send(.post, "/login", form: ["_csrf": "forged", "email": tenant.adminEmail, "password": tenant.password])
            #expect(forged.status == .forbidden)
            // Signed in, the logout form needs the session's token too.
            _ = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            let logout = try await browser.send(.post, "/logout", form: [:])
            #expect(logout.status == .forbidden)
            #expect(try await browser.send(.get, "/").status == .ok)
        }
    }

    @Test func tenantACookieIsRejectedOnTenantB() async throws {
        let a = try await TestEnvironment.provisionTenant("cookie-a")
        let b = try await TestEnvironment.provisionTenant("cookie-b")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: a.info.slug)
            #expect(try await browser.login(email: a.adminEmail, password: a.password).status == .seeOther)
            #expect(try await browser.send(.get, "/").status == .ok)
            browser.tenant = b.info.slug
            let home = try await browser.send(.get, "/")
            #expect(home.status == .seeOther)
            #expect(home.headers[.location] == "/login")
            let me = try await browser.send(.get, "/api/v1/me")
            #expect(me.status == .unauthorized)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let tenant = try await TestEnvironment.provisionTenant("logout")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            let oldCookie = browser.cookies["atrium_session"]
            let home = try await browser.send(.get, "/")
            let token = BrowserSession.csrfToken(in: String(buffer: home.body)) ?? ""
            let logout = try await browser.send(.post, "/logout", form: ["_csrf": token])
            #expect(logout.status == .seeOther)
            #expect(logout.headers[.location] == "/login")
            browser.cookies["atrium_session"] = oldCookie  // replaying the old cookie does not work
            #expect(try await browser.send(.get, "/api/v1/me").status == .unauthorized)
        }
    }

    @Test func unknownTenantIs404AndMalformedEmailIs422() async throws {
        let tenant = try await TestEnvironment.provisionTenant("errors")
        try await TestEnvironment.withLiveApp { client in
            var nowhere = BrowserSession(client: client, tenant: "no-such-tenant-\(UUID().uuidString.prefix(6).lowercased())")
            let page = try await nowhere.send(.get, "/login")
            #expect(page.status == .notFound)
            #expect(String(buffer: page.body).contains("No company with this address exists"))
            let api = try await nowhere.send(.get, "/api/v1/me")
            #expect(api.status == .notFound)
            #expect(String(buffer: api.body).contains("\"code\":\"tenant_not_found\""))
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            let bad = try await browser.login(email: "not-an-email", password: "x")
            #expect(bad.status == .unprocessableContent)
            #expect(String(buffer: bad.body).contains("Enter a valid email address."))
        }
    }

    @Test func apiTokenIsShownOnceWorksAsBearerAndStopsWorkingWhenRevoked() async throws {
        let a = try await TestEnvironment.provisionTenant("token-a")
        let b = try await TestEnvironment.provisionTenant("token-b")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: a.info.slug)
            _ = try await browser.login(email: a.adminEmail, password: a.password)
            let home = try await browser.send(.get, "/")
            let csrf = BrowserSession.csrfToken(in: String(buffer: home.body)) ?? ""
            // JSON API with the session cookie needs the CSRF header.
            let refused = try await browser.send(.post, "/api/v1/tokens", headers: [.contentType: "application/json"])
            #expect(refused.status == .forbidden)
            let created = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: [
                .contentType: "application/json", .cookie: browser.cookieHeader, CSRF.header: csrf, TenantResolverHeader.name: a.info.slug,
            ], body: ByteBuffer(string: #"{"name":"ci"}"#))
            #expect(created.status == .created)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: created.body)) as? [String: Any]
            let token = try #require(json?["token"] as? String)
            #expect(token.hasPrefix("atr_"))
            let id = try #require((json?["summary"] as? [String: Any])?["id"] as? String)

            let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)", TenantResolverHeader.name: a.info.slug])
            #expect(me.status == .ok)
            #expect(String(buffer: me.body).contains(a.adminEmail))
            let list = try await client.execute(uri: "/api/v1/tokens", method: .get, headers: [.authorization: "Bearer \(token)", TenantResolverHeader.name: a.info.slug])
            #expect(!String(buffer: list.body).contains(token))  // never shown again

            let elsewhere = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)", TenantResolverHeader.name: b.info.slug])
            #expect(elsewhere.status == .unauthorized)

            let revoke = try await client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: [.authorization: "Bearer \(token)", TenantResolverHeader.name: a.info.slug])
            #expect(revoke.status == .noContent)
            let after = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)", TenantResolverHeader.name: a.info.slug])
            #expect(after.status == .unauthorized)
        }
        let logger = TestEnvironment.logger
        let stored = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(a.info.id, logger: logger) { connection in
                try await connection.query("SELECT token_hash FROM api_tokens", logger: logger).collect().first!.decode(String.self)
            }
        }
        #expect(stored.count == 64)  // a SHA-256, not the token
    }

    @Test func healthAndReadinessAnswerWithoutATenant() async throws {
        try await TestEnvironment.withLiveApp { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body).contains("ready"))
        }
    }
}

enum TenantResolverHeader {
    static let name = HTTPField.Name("X-Tenant")!
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Testing

/// A user sees where they are signed in and signs other browsers out; an administrator signs a
/// user out everywhere (issue 23, sessions page).
@Suite struct SessionsPageTests {
    @Test func aUserSeesTheirDevicesAndSignsTheOthersOut() async throws {
        try await RecordFixtures.withTenant("sess") { client, tenant in
            let slug = tenant.info.slug
            var laptop = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)
            var phone = BrowserSession(client: client, tenant: slug)
            _ = try await phone.send(.get, "/login", headers: [.userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0"])
            let token = try #require(BrowserSession.csrfToken(in: String(buffer: try await phone.send(.get, "/login").body)))
            let signedIn = try await phone.send(.post, "/login", form: ["_csrf": token, "email": tenant.adminEmail, "password": tenant.password],
                                                headers: [.userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0"])
            #expect(signedIn.status == .seeOther)
            #expect(try await phone.send(.get, "/").status == .ok)

            let home = try await laptop.get("/")
            #expect(home.1.contains(#"data-testid="sessions""#))
            #expect(home.1.contains("WeChat · iPhone"), "the phone is named by its browser and system")
            #expect(home.1.contains("this device"))
            let ids = home.1.matches(of: /data-session="([0-9a-f]{16})"/).map { String($0.output.1) }
            #expect(ids.count == 2, "\(ids)")
            // The session id on the page is a short prefix of the stored hash, never a token.
            #expect(!home.1.contains(laptop.session.cookies["atrium_session"] ?? "<none>"))

            // Another user's session id cannot be ended, a forged one is 404.
            let forged = try await laptop.post("/sessions/0123456789abcdef/end", [:])
            #expect(forged.0 == .notFound)

            let others = try await laptop.post("/sessions/others/end", [:])
            #expect(others.0 == .ok)
            #expect(others.1.contains("Signed out on 1 other devices."), "\(others.1)")
            let phoneAfter = try await phone.send(.get, "/")
            #expect(phoneAfter.status == .seeOther, "the phone is signed out: \(phoneAfter.status)")
            #expect(try await laptop.get("/").0 == .ok, "this device stays signed in")
        }
    }

    @Test func anAdministratorSignsAUserOutEverywhere() async throws {
        try await RecordFixtures.withTenant("sess-admin") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let member = try await PermissionFixtures.member(client, tenant, admin, "roamer", department: nil, roles: ["salesperson"])
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: member.email, password: PermissionFixtures.password)
            #expect(try await browser.get("/").0 == .ok)
            let ended = try await admin.call(.patch, "/api/v1/admin/users/\(member.id)", json: #"{"end_sessions": true}"#)
            #expect(ended.status == .ok, "\(ended.text)")
            #expect(try await browser.session.send(.get, "/").status == .seeOther, "the browser is signed out")
            #expect(try await member.api.call(.get, "/api/v1/me").status == .ok, "API tokens stay: ending sessions is not offboarding")

            // The same from the administrator's user page.
            var again = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: member.email, password: PermissionFixtures.password)
            var adminBrowser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let page = try await adminBrowser.get("/app/admin/users/\(member.id)")
            #expect(page.1.contains(#"data-testid="end-user-sessions""#))
            let form = try await adminBrowser.post("/app/admin/users/\(member.id)/sessions/end", [:])
            #expect(form.0 == .seeOther, "\(form.0)")
            #expect(try await again.session.send(.get, "/").status == .seeOther, "signed out from the admin page")
            #expect(try await adminBrowser.post("/app/admin/users/\(UUID())/sessions/end", [:]).0 == .notFound)
        }
    }
}

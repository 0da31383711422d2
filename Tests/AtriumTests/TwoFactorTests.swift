import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Platform
import Testing

/// TOTP two-factor sign-in (issue 23) against the live server and real PostgreSQL: enrolment from
/// the user's page, the second sign-in step (codes used once, recovery codes used once, wrong
/// codes locking like wrong passwords), remembered browsers, the tenant's requirement forcing
/// enrolment before the app, and an administrator's reset ending sessions and API tokens.
@Suite struct TwoFactorTests {
    /// The secret shown as text on an enrolment page (`data-testid="totp-secret"`).
    static func secret(in html: String) throws -> [UInt8] {
        let match = try #require(html.firstMatch(of: /data-testid="totp-secret">([A-Z2-7 ]+)</), "no secret on the page")
        return try #require(Base32.decode(String(match.output.1)))
    }

    static func recoveryCodes(in html: String) -> [String] {
        html.matches(of: /<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})<\/code><\/li>/).map { String($0.output.1) }
    }

    /// The password step: the browser then holds the pending-step cookie, no session.
    static func password(_ client: any TestClientProtocol, _ slug: String, _ email: String, _ password: String,
                         device: String? = nil) async throws -> (BrowserSession, TestResponse) {
        var browser = BrowserSession(client: client, tenant: slug)
        if let device { browser.cookies[TwoFactorRoutes.deviceCookie] = device }
        let response = try await browser.login(email: email, password: password)
        return (browser, response)
    }

    static func code(_ browser: inout BrowserSession, _ code: String, remember: Bool = false) async throws -> TestResponse {
        let page = try await browser.send(.get, "/login/two-factor")
        let csrf = BrowserSession.csrfToken(in: String(buffer: page.body)) ?? ""
        var form = ["_csrf": csrf, "code": code]
        if remember { form["remember"] = "1" }
        return try await browser.send(.post, "/login/two-factor", form: form, headers: [.acceptLanguage: "en"])
    }

    /// Turns two-factor sign-in on from the user's page; returns the secret and recovery codes.
    static func enrol(_ browser: inout WebAppTests.Browser) async throws -> (secret: [UInt8], codes: [String]) {
        let page = try await browser.get("/settings/two-factor")
        #expect(page.0 == .ok)
        #expect(page.1.contains("<svg") && page.1.contains(#"data-testid="totp-qr""#), "the QR code is drawn by the server")
        let secret = try secret(in: page.1)
        #expect(secret.count == 20)
        // A reload shows the same secret (the phone may have scanned the first).
        let reloaded = try await browser.get("/settings/two-factor")
        #expect(try Self.secret(in: reloaded.1) == secret)
        let uri = try #require(page.1.firstMatch(of: /data-testid="totp-uri">([^<]+)</)).output.1
        #expect(uri.hasPrefix("otpauth://totp/Atrium%20Tenant%20") && uri.contains("secret=\(Base32.encode(secret))"), "\(uri)")
        let wrong = try await browser.post("/settings/two-factor/enable", ["code": "000000" == TOTP(secret: secret).code(at: Date()) ? "111111" : "000000"])
        #expect(wrong.0 == .unprocessableContent)
        #expect(wrong.1.contains("That code is not right"))
        let enabled = try await browser.post("/settings/two-factor/enable", ["code": TOTP(secret: secret).code(at: Date())])
        #expect(enabled.0 == .ok, "\(enabled.1)")
        let codes = recoveryCodes(in: enabled.1)
        #expect(codes.count == 10 && Set(codes).count == 10)
        #expect(enabled.1.contains(#"data-testid="two-factor-on""#))
        // Shown once: the page again lists none.
        let again = try await browser.get("/settings/two-factor")
        #expect(recoveryCodes(in: again.1).isEmpty)
        return (secret, codes)
    }

    static func audit(_ admin: RecordAPIClient) async throws -> [String] {
        try await PermissionFixtures.audit(admin).compactMap { $0["action"]?.stringValue }
    }

    @Test func enrolmentThenSignInNeedsACodeUsedOnceOrARecoveryCodeUsedOnce() async throws {
        try await RecordFixtures.withTenant("totp") { client, tenant in
            let slug = tenant.info.slug
            let admin = try await RecordAPIClient.admin(client, tenant)
            let member = try await PermissionFixtures.member(client, tenant, admin, "ann", department: nil, roles: ["salesperson"])
            var ann = try await WebAppTests.Browser.signIn(client, slug: slug, email: member.email, password: PermissionFixtures.password)
            let (secret, codes) = try await Self.enrol(&ann)
            let totp = TOTP(secret: secret)

            // The password alone makes no session: the browser is sent to the second step.
            var (browser, response) = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            #expect(response.status == .seeOther && response.headers[.location] == "/login/two-factor")
            let pending = response.headers[values: .setCookie].first { $0.hasPrefix("atrium_2fa=") } ?? ""
            #expect(pending.contains("HttpOnly") && pending.contains("SameSite=Strict"), "\(pending)")
            #expect(!response.headers[values: .setCookie].contains { $0.hasPrefix("atrium_session=") })
            #expect(try await browser.send(.get, "/").status == .seeOther, "no way into the app yet")
            let step = try await browser.send(.get, "/login/two-factor")
            #expect(String(buffer: step.body).contains(#"data-testid="two-factor-form""#))
            let chinese = String(buffer: try await browser.send(.get, "/login/two-factor", headers: [.acceptLanguage: "zh-CN"]).body)
            #expect(chinese.contains("第二步：验证码") && chinese.contains("在此浏览器上 30 天内免验证"), "the step speaks Chinese too")

            // A wrong code: 401 and still no session; the code of the next step: signed in.
            let wrong = try await Self.code(&browser, totp.code(at: Date().addingTimeInterval(-3600)))
            #expect(wrong.status == .unauthorized)
            let next = totp.code(at: Date().addingTimeInterval(30))
            let right = try await Self.code(&browser, next)
            #expect(right.status == .seeOther && right.headers[.location] == "/", "\(String(buffer: right.body))")
            #expect(try await browser.send(.get, "/").status == .ok)

            // The same code again, or the previous step's (older than the last used): refused.
            var (again, _) = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            #expect(try await Self.code(&again, next).status == .unauthorized, "a code works once")
            #expect(try await Self.code(&again, totp.code(at: Date().addingTimeInterval(-30))).status == .unauthorized)

            // A recovery code (typed in capitals with spaces) works once.
            let recovery = try await Self.code(&again, codes[3].uppercased().replacingOccurrences(of: "-", with: " "))
            #expect(recovery.status == .seeOther && recovery.headers[.location] == "/")
            var (third, _) = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            #expect(try await Self.code(&third, codes[3]).status == .unauthorized, "a recovery code works once")
            #expect(try await Self.code(&third, codes[4]).status == .seeOther)

            let actions = try await Self.audit(admin)
            #expect(actions.contains("user.two_factor_enabled"))
            #expect(actions.filter { $0 == "user.recovery_code_used" }.count == 2)
            #expect(actions.filter { $0 == "user.login_failed" }.count >= 4, "wrong codes are audited")
            let status = try await member.api.call(.get, "/api/v1/me/two-factor")
            #expect(status.json["enabled"] == .bool(true) && status.json["recovery_codes_left"] == .number(8), "\(status.text)")

            // Stored: a base32 or sealed secret, and only hashes of recovery codes.
            let stored = try await TestEnvironment.withAppRole { connection in
                try await connection.query("SELECT set_config('app.tenant_id', \(tenant.info.id.uuidString), false)", logger: TestEnvironment.logger)
                let secret = try await connection.query("SELECT secret FROM user_two_factor", logger: TestEnvironment.logger).one(String.self)
                var hashes: [String] = []
                for try await hash in try await connection.query("SELECT code_hash FROM two_factor_recovery_codes", logger: TestEnvironment.logger).decode(String.self) {
                    hashes.append(hash)
                }
                return (secret, hashes)
            }
            #expect(stored.0.hasPrefix("plain:") || stored.0.hasPrefix("aesgcm:"))
            #expect(stored.1.count == 10 && !stored.1.contains { hash in codes.contains { hash.contains($0.replacingOccurrences(of: "-", with: "")) } })
        }
    }

    @Test func wrongCodesLockLikeWrongPasswordsAndARememberedBrowserSkipsTheCode() async throws {
        try await RecordFixtures.withTenant("totp-lock") { client, tenant in
            let slug = tenant.info.slug
            let admin = try await RecordAPIClient.admin(client, tenant)
            let member = try await PermissionFixtures.member(client, tenant, admin, "bo", department: nil, roles: ["salesperson"])
            var bo = try await WebAppTests.Browser.signIn(client, slug: slug, email: member.email, password: PermissionFixtures.password)
            let (secret, _) = try await Self.enrol(&bo)
            let totp = TOTP(secret: secret)

            // Remember this browser: a 30-day HttpOnly, SameSite=Strict cookie.
            var (browser, _) = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            let remembered = try await Self.code(&browser, totp.code(at: Date().addingTimeInterval(30)), remember: true)
            #expect(remembered.status == .seeOther)
            let deviceCookie = try #require(remembered.headers[values: .setCookie].first { $0.hasPrefix("atrium_device=") })
            #expect(deviceCookie.contains("HttpOnly") && deviceCookie.contains("SameSite=Strict") && deviceCookie.contains("Max-Age=2592000"))
            let device = try #require(browser.cookies["atrium_device"])
            let direct = try await Self.password(client, slug, member.email, PermissionFixtures.password, device: device)
            #expect(direct.1.status == .seeOther && direct.1.headers[.location] == "/", "the remembered browser skips the code")
            // …but not the password, and not another user's sign-in.
            let wrongPassword = try await Self.password(client, slug, member.email, "not-the-password-1", device: device)
            #expect(wrongPassword.1.status == .unauthorized)
            let forged = try await Self.password(client, slug, member.email, PermissionFixtures.password, device: "forged-device-token")
            #expect(forged.1.headers[.location] == "/login/two-factor")

            // The wrong password above and four wrong codes are five failures of the e-mail from this
            // address: locked; then even the right code is refused.
            var (guesser, _) = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            for guess in 0..<4 {
                let response = try await Self.code(&guesser, String(format: "%06d", guess == 0 ? 13 : guess * 7919 % 1_000_000))
                #expect(response.status == .unauthorized, "guess \(guess): \(response.status)")
            }
            let locked = try await Self.code(&guesser, totp.code(at: Date().addingTimeInterval(60)))
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Too many failed sign-in attempts"))
            let passwordAfter = try await Self.password(client, slug, member.email, PermissionFixtures.password)
            #expect(passwordAfter.1.status == .tooManyRequests, "the password form is locked as well")
        }
    }

    @Test func aRoleRequirementMakesItsMembersEnrolBeforeTheAppAndAResetEndsSessionsAndTokens() async throws {
        try await RecordFixtures.withTenant("totp-req") { client, tenant in
            let slug = tenant.info.slug
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rep = try await PermissionFixtures.member(client, tenant, admin, "rep", department: nil, roles: ["salesperson"])
            var repBrowser = try await WebAppTests.Browser.signIn(client, slug: slug, email: rep.email, password: PermissionFixtures.password)
            var adminBrowser = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)

            // Bad bodies name their field; requiring it without having it yourself is refused.
            for (body, field) in [(#"{"require": "some"}"#, "require"), (#"{"require": "roles", "roles": []}"#, "roles"),
                                  (#"{"require": "roles", "roles": ["nobody"]}"#, "roles"), (#"{"require": "all", "grace": 3}"#, "grace"),
                                  (#"{"require": "all"}"#, "require")] {
                let refused = try await admin.call(.put, "/api/v1/admin/two-factor", json: body)
                #expect(refused.status == .unprocessableContent && refused.errorField == field, "\(body): \(refused.text)")
            }
            #expect(try await rep.api.call(.put, "/api/v1/admin/two-factor", json: #"{"require": "none"}"#).status == .forbidden)
            _ = try await Self.enrol(&adminBrowser)

            let saved = try await admin.call(.put, "/api/v1/admin/two-factor", json: #"{"require": "roles", "roles": ["salesperson"]}"#)
            #expect(saved.status == .ok && saved.json["require"] == .string("roles"), "\(saved.text)")
            guard case .number(let ended)? = saved.json["sessions_ended"] else { Issue.record("no sessions_ended: \(saved.text)"); return }
            #expect(ended >= 1, "the rep's sessions (browser and the token's sign-in) end")
            #expect(try await repBrowser.session.send(.get, "/").status == .seeOther, "the rep without a second factor is signed out")
            let policy = try await admin.call(.get, "/api/v1/admin/two-factor")
            #expect(policy.json["roles"] == .array([.string("salesperson")]))

            // The rep's next sign-in: enrolment first, no session until it is confirmed.
            var (browser, response) = try await Self.password(client, slug, rep.email, PermissionFixtures.password)
            #expect(response.headers[.location] == "/login/two-factor")
            let page = String(buffer: try await browser.send(.get, "/login/two-factor").body)
            #expect(page.contains("requires two-factor sign-in") && page.contains("<svg"), "\(page.prefix(600))")
            let secret = try Self.secret(in: page)
            #expect(try await browser.send(.get, "/").status == .seeOther)
            let confirmed = try await Self.code(&browser, TOTP(secret: secret).code(at: Date()))
            #expect(confirmed.status == .ok)
            #expect(Self.recoveryCodes(in: String(buffer: confirmed.body)).count == 10, "the codes are shown once, before the app")
            #expect(try await browser.send(.get, "/").status == .ok)
            // Required: the rep cannot turn it off.
            let settings = String(buffer: try await browser.send(.get, "/settings/two-factor").body)
            #expect(settings.contains(#"data-testid="two-factor-on""#) && !settings.contains(#"data-testid="disable-two-factor""#))
            let refusedOff = try await browser.send(.post, "/settings/two-factor/disable",
                                                    form: ["_csrf": BrowserSession.csrfToken(in: settings) ?? "", "password": PermissionFixtures.password])
            #expect(refusedOff.status == .unprocessableContent)

            // The administrator's reset: second factor gone, sessions ended, API tokens revoked.
            #expect(try await rep.api.call(.get, "/api/v1/me").status == .ok)
            let reset = try await admin.call(.post, "/api/v1/admin/users/\(rep.id)/two-factor/reset")
            #expect(reset.status == .ok && reset.json["tokens_revoked"] == .number(1), "\(reset.text)")
            #expect(try await rep.api.call(.get, "/api/v1/me").status == .unauthorized, "the rep's token is revoked")
            #expect(try await browser.send(.get, "/").status == .seeOther, "the rep's session ended")
            #expect(try await admin.call(.post, "/api/v1/admin/users/\(UUID())/two-factor/reset").status == .notFound)
            let actions = try await Self.audit(admin)
            #expect(actions.contains("user.two_factor_reset") && actions.contains("two_factor.policy_changed"))
            // Still required: the next sign-in enrols again.
            let after = try await Self.password(client, slug, rep.email, PermissionFixtures.password)
            #expect(after.1.headers[.location] == "/login/two-factor")
        }
    }

    @Test func turningItOffNeedsThePasswordAndIsRefusedWhileRequired() async throws {
        try await RecordFixtures.withTenant("totp-off") { client, tenant in
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            _ = try await Self.enrol(&browser)
            let noToken = try await browser.post("/settings/two-factor/disable", ["password": tenant.password], csrf: false)
            #expect(noToken.0 == .forbidden, "a form without its CSRF token is refused")
            let wrong = try await browser.post("/settings/two-factor/disable", ["password": "Wrong-password-1"])
            #expect(wrong.0 == .unauthorized && wrong.1.contains("The password is wrong"))
            let regenerated = try await browser.post("/settings/two-factor/recovery-codes", ["password": tenant.password])
            #expect(regenerated.0 == .ok && Self.recoveryCodes(in: regenerated.1).count == 10)
            let off = try await browser.post("/settings/two-factor/disable", ["password": tenant.password])
            #expect(off.0 == .ok && off.1.contains(#"data-testid="two-factor-enrol""#), "\(off.1.prefix(400))")
            // Off: the password is enough again.
            var plain = BrowserSession(client: client, tenant: tenant.info.slug)
            let login = try await plain.login(email: tenant.adminEmail, password: tenant.password)
            #expect(login.headers[.location] == "/")
        }
    }

    @Test func administratorsRequireItAndResetItFromTheirPages() async throws {
        try await RecordFixtures.withTenant("totp-admin") { client, tenant in
            let slug = tenant.info.slug
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rep = try await PermissionFixtures.member(client, tenant, admin, "kai", department: nil, roles: ["salesperson"])
            var adminBrowser = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)
            var repBrowser = try await WebAppTests.Browser.signIn(client, slug: slug, email: rep.email, password: PermissionFixtures.password)
            #expect(try await repBrowser.get("/app/admin/two-factor").0 == .forbidden)

            let page = try await adminBrowser.get("/app/admin/two-factor")
            #expect(page.0 == .ok && page.1.contains(#"data-testid="two-factor-policy""#) && page.1.contains(#"data-entity="admin-two-factor""#))
            #expect(page.1.contains(#"id="req-none" name="require" value="none" checked"#))
            // Requiring it of everyone before having it yourself: refused, shown, nothing saved.
            let refused = try await adminBrowser.post("/app/admin/two-factor", ["require": "all"])
            #expect(refused.0 == .unprocessableContent && refused.1.contains("This would lock you out"), "\(refused.1.prefix(300))")
            #expect(try await admin.call(.get, "/api/v1/admin/two-factor").json["require"] == .string("none"))
            #expect(try await adminBrowser.post("/app/admin/two-factor", ["require": "roles", "role.salesperson": "1"], csrf: false).0 == .forbidden)

            let (secret, _) = try await Self.enrol(&adminBrowser)
            _ = secret
            let saved = try await adminBrowser.post("/app/admin/two-factor", ["require": "roles", "role.salesperson": "1"])
            #expect(saved.0 == .ok && saved.1.contains("Saved.") && saved.1.contains(#"id="tf-role-salesperson" name="role.salesperson" value="1" checked"#),
                    "\(saved.1.prefix(300))")
            #expect(try await repBrowser.get("/").0 == .seeOther, "the rep, required and without a second factor, is signed out")

            // The rep enrols at the next sign-in; the administrator resets it from the user page.
            var (browser, _) = try await Self.password(client, slug, rep.email, PermissionFixtures.password)
            let step = String(buffer: try await browser.send(.get, "/login/two-factor").body)
            let repSecret = try Self.secret(in: step)
            #expect(try await Self.code(&browser, TOTP(secret: repSecret).code(at: Date())).status == .ok)
            let userPage = try await adminBrowser.get("/app/admin/users/\(rep.id)")
            #expect(userPage.1.contains(#"data-testid="reset-two-factor""#) && userPage.1.contains("Two-factor sign-in: on"))
            let ownPage = try await adminBrowser.get("/app/admin/users/\(try #require(admin.call(.get, "/api/v1/me").json["user"]?["id"]?.stringValue).lowercased())")
            #expect(!ownPage.1.contains(#"data-testid="reset-two-factor""#), "no reset of one's own second factor from the admin page")
            let reset = try await adminBrowser.post("/app/admin/users/\(rep.id)/two-factor/reset", [:])
            #expect(reset.0 == .seeOther)
            #expect(try await browser.send(.get, "/").status == .seeOther, "the rep's session ended with the reset")
            #expect(try await rep.api.call(.get, "/api/v1/me").status == .unauthorized, "and the rep's API token")
            #expect(try await adminBrowser.get("/app/admin/users/\(rep.id)").1.contains("Two-factor sign-in: off"))
            #expect(try await adminBrowser.post("/app/admin/users/\(UUID())/two-factor/reset", [:]).0 == .notFound)
        }
    }

    @Test func anOperatorResetsTheOnlyAdministratorWhoLostThePhone() async throws {
        try await RecordFixtures.withTenant("totp-cli") { client, tenant in
            let slug = tenant.info.slug
            var browser = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)
            _ = try await Self.enrol(&browser)
            #expect(try await Self.password(client, slug, tenant.adminEmail, tenant.password).1.headers[.location] == "/login/two-factor")
            let unknown = try AdminCLITests.admin(["user", "reset-2fa", "--tenant", slug, "--email", "nobody@\(slug).test"])
            #expect(unknown.status == 1, "\(unknown.stdout)")
            let reset = try AdminCLITests.admin(["user", "reset-2fa", "--tenant", slug, "--email", tenant.adminEmail])
            #expect(reset.status == 0 && reset.stdout.contains("two-factor sign-in of \(tenant.adminEmail) in \(slug) reset"), "\(reset.stderr)")
            #expect(try await browser.session.send(.get, "/").status == .seeOther, "the administrator's sessions ended")
            #expect(try await Self.password(client, slug, tenant.adminEmail, tenant.password).1.headers[.location] == "/", "the password is enough again")
            let admin = try await RecordAPIClient.admin(client, tenant)
            let entry = try await PermissionFixtures.audit(admin).first { $0["action"] == .string("user.two_factor_reset") }
            #expect(entry?["actor"] == .string("atrium-admin"), "\(String(describing: entry))")
        }
    }

    @Test func secretsAreSealedWithTheServerKeyBoundToTheirUser() throws {
        let key = try #require(TwoFactorSecretBox.key(hex: String(repeating: "ab", count: 32)))
        let box = TwoFactorSecretBox(key: key)
        let tenant = UUID(), user = UUID()
        let secret = TOTP.newSecret()
        let sealed = try box.seal(secret, tenantID: tenant, userID: user)
        #expect(sealed.hasPrefix("aesgcm:") && !sealed.contains(Base32.encode(secret)))
        #expect(try box.open(sealed, tenantID: tenant, userID: user) == secret)
        #expect(throws: TwoFactorSecretBox.CannotOpen.self) { try box.open(sealed, tenantID: tenant, userID: UUID()) }
        #expect(throws: TwoFactorSecretBox.CannotOpen.self) { try TwoFactorSecretBox(key: nil).open(sealed, tenantID: tenant, userID: user) }
        let plain = try TwoFactorSecretBox(key: nil).seal(secret, tenantID: tenant, userID: user)
        #expect(plain == "plain:" + Base32.encode(secret))
        #expect(try box.open(plain, tenantID: tenant, userID: user) == secret, "a secret stored before the key still opens")
        #expect(TwoFactorSecretBox.key(hex: "abc") == nil)
        #expect(throws: ConfigurationError.self) {
            try AtriumConfiguration(environment: ["DATABASE_URL": "postgres://a:b@localhost/c", "ATRIUM_SECRET_KEY": "short"])
        }
    }
}

/// RFC 6238 and RFC 4648 test vectors.
@Suite struct TOTPTests {
    @Test func rfc6238AppendixBVectorsWithSHA1() {
        let totp = TOTP(secret: Array("12345678901234567890".utf8), digits: 8)
        let vectors: [(TimeInterval, String)] = [(59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
                                                 (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130")]
        for (time, code) in vectors {
            #expect(totp.code(at: Date(timeIntervalSince1970: time)) == code, "T = \(time)")
        }
        // Six digits are the last six of the same number.
        #expect(TOTP(secret: Array("12345678901234567890".utf8)).code(at: Date(timeIntervalSince1970: 59)) == "287082")
    }

    @Test func aCodeMatchesItsStepAndOneStepEitherSideOnly() {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        let now = Date(timeIntervalSince1970: 1_111_111_111)
        let step = totp.step(at: now)
        #expect(totp.matchingStep(totp.code(at: now), at: now) == step)
        #expect(totp.matchingStep(totp.code(step: step - 1), at: now) == step - 1)
        #expect(totp.matchingStep(totp.code(step: step + 1), at: now) == step + 1)
        #expect(totp.matchingStep(totp.code(step: step - 2), at: now) == nil)
        #expect(totp.matchingStep(totp.code(step: step + 2), at: now) == nil)
        #expect(totp.matchingStep("12345", at: now) == nil)
        #expect(totp.matchingStep("１２３４５６", at: now) == nil, "full-width digits are not digits here")
    }

    @Test func rfc4648Base32Vectors() {
        let vectors = [("", ""), ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="), ("foob", "MZXW6YQ="),
                       ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======")]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8), padding: true) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
            #expect(Base32.decode(encoded.lowercased().replacingOccurrences(of: "=", with: "")) == Array(plain.utf8))
        }
        #expect(Base32.decode("MZXW1") == nil, "1 is not in the alphabet")
        #expect(Base32.decode("MY") == Array("f".utf8))
        #expect(Base32.decode("MZ") == nil, "non-zero trailing bits")
    }

    @Test func theOtpauthURIFollowsTheKeyURIFormat() {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        #expect(totp.uri(issuer: "Atrium 北京", account: "ann@example.com")
                == "otpauth://totp/Atrium%20%E5%8C%97%E4%BA%AC:ann@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Atrium%20%E5%8C%97%E4%BA%AC&algorithm=SHA1&digits=6&period=30")
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Two-factor sign-in pages and API (issue 23):
///
///     GET  /login/two-factor, POST /login/two-factor     the second step after the password
///                                                        (a code, a recovery code, or the enrolment)
///     GET  /settings/two-factor                          the user's own page: status or enrolment
///     POST /settings/two-factor/enable                   {code}: switches it on, recovery codes shown once
///     POST /settings/two-factor/recovery-codes           {password}: new codes, shown once
///     POST /settings/two-factor/disable                  {password}
///     POST /settings/two-factor/devices/forget           forget remembered browsers
///     GET  /app/admin/two-factor, POST /app/admin/two-factor   the tenant's requirement (administrators)
///     POST /app/admin/users/{id}/two-factor/reset        an administrator's reset
///     GET  /api/v1/me/two-factor                         {"enabled", "enabled_at", "recovery_codes_left", "remembered_devices", "required"}
///     GET  /api/v1/admin/two-factor                      {"require": "none"|"all"|"roles", "roles": [keys], "users": [{id, email, enabled}]}
///     PUT  /api/v1/admin/two-factor                      {"require", "roles"?} (other keys: 422)
///     POST /api/v1/admin/users/{id}/two-factor/reset     {"sessions_ended", "tokens_revoked"}
///
/// Every form carries the CSRF token (the pre-session double-submit cookie on the second-step
/// page); the pending-step and remembered-device cookies are HttpOnly and SameSite=Strict.
struct TwoFactorRoutes: Sendable {
    let app: WebApp
    static let challengeCookie = "atrium_2fa"
    static let deviceCookie = "atrium_device"

    var services: PlatformServices { app.services }
    var renderer: WebRenderer { app.services.renderer }
    var box: TwoFactorSecretBox { services.signIn.secretBox }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("login/two-factor", use: secondStepPage)
        router.post("login/two-factor", use: secondStep)
        router.get("settings/two-factor", use: settings)
        router.post("settings/two-factor/enable", use: enable)
        router.post("settings/two-factor/recovery-codes", use: regenerate)
        router.post("settings/two-factor/disable", use: disable)
        router.post("settings/two-factor/devices/forget", use: forgetDevices)
        router.get("app/admin/two-factor", use: adminPage)
        router.post("app/admin/two-factor", use: savePolicy)
        router.post("app/admin/users/:id/two-factor/reset", use: resetFromAdmin)
        router.get("api/v1/me/two-factor", use: myStatus)
        router.get("api/v1/admin/two-factor", use: apiPolicy)
        router.put("api/v1/admin/two-factor", use: apiSetPolicy)
        router.post("api/v1/admin/users/:id/two-factor/reset", use: apiReset)
    }

    func t(_ key: String, _ locale: String, _ arguments: [String: String] = [:]) -> String { app.t(key, locale, arguments) }

    /// `Set-Cookie` for the pending-step and device cookies: HttpOnly, SameSite=Strict.
    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        Self.strictCookie(name, value, maxAge: maxAge, secure: services.configuration.secureCookies)
    }

    static func strictCookie(_ name: String, _ value: String, maxAge: Int, secure: Bool) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=\(maxAge)"]
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// The QR code of the enrolment's `otpauth://` URI, and the secret grouped for typing.
    func enrolmentValues(secret: [UInt8], account: String, tenant: TenantInfo) throws -> [String: Any] {
        let totp = TOTP(secret: secret)
        let uri = totp.uri(issuer: "\(TwoFactor.issuer) \(tenant.name)", account: account)
        let encoded = Base32.encode(secret)
        let grouped = stride(from: 0, to: encoded.count, by: 4).map { start in
            String(encoded.dropFirst(start).prefix(4))
        }.joined(separator: " ")
        return ["qr": try QRCode(text: uri).svg(moduleSize: 5, label: "QR code"), "secret": grouped, "uri": uri]
    }

    // MARK: The second step of signing in

    func preSessionCSRF(_ request: Request) -> (token: String, cookie: String?) {
        if let existing = request.cookies[CSRF.cookie]?.value, existing.count >= 32 { return (existing, nil) }
        let token = SecureToken.generate()
        var parts = ["\(CSRF.cookie)=\(token)", "Path=/", "HttpOnly", "SameSite=Lax"]
        if services.configuration.secureCookies { parts.append("Secure") }
        return (token, parts.joined(separator: "; "))
    }

    func secondStepResponse(_ request: Request, context: AtriumContext, status: HTTPResponse.Status = .ok, error: String? = nil) async throws -> Response {
        let tenant = try context.requireTenant()
        let lang = app.locale(request, context)
        guard let pending = try await services.signIn.pendingStep(request.cookies[Self.challengeCookie]?.value, tenantID: tenant.id, logger: context.logger) else {
            return Self.redirect("/login", cookies: [cookie(Self.challengeCookie, "", maxAge: 0)])
        }
        let csrf = preSessionCSRF(request)
        var headers = HTTPFields()
        if let set = csrf.cookie { headers.append(HTTPField(name: .setCookie, value: set)) }
        var values: [String: Any] = ["tenant": ["name": tenant.name, "slug": tenant.slug], "csrf": csrf.token,
                                     "email": pending.challenge.user.email, "remember_days": "\(TwoFactor.rememberDays)"]
        if let error { values["error"] = error }
        if let secret = pending.secret {
            values["enrol"] = try enrolmentValues(secret: secret, account: pending.challenge.user.email, tenant: tenant)
        }
        return renderer.html("login_two_factor", locale: lang, status: status, headers: headers, values)
    }

    @Sendable func secondStepPage(_ request: Request, context: AtriumContext) async throws -> Response {
        if context.identity != nil { return Self.redirect("/") }
        return try await secondStepResponse(request, context: context)
    }

    @Sendable func secondStep(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let form = try await FormBody.parse(request)
        var context = context
        context.identity = nil  // like the login form: the pre-session CSRF pair
        try CSRF.verify(request, context: context, form: form)
        let lang = app.locale(request, context)
        let code = form["code"] ?? ""
        guard !code.trimmingCharacters(in: .whitespaces).isEmpty, code.count <= 40 else {
            return try await secondStepResponse(request, context: context, status: .unprocessableContent, error: t("twofactor.code_required", lang))
        }
        let outcome = try await services.signIn.secondStep(
            challenge: request.cookies[Self.challengeCookie]?.value, code: code, remember: form["remember"] == "1", tenantID: tenant.id,
            ip: context.clientIP, userAgent: request.headers[.userAgent], requestID: context.id, logger: context.logger)
        switch outcome {
        case .signedIn(let token, let user, let device, let recoveryCodes):
            var cookies = [cookie(Self.challengeCookie, "", maxAge: 0),
                           sessionCookie(token)]
            if let device { cookies.append(cookie(Self.deviceCookie, device, maxAge: TwoFactor.rememberDays * 86400)) }
            guard let recoveryCodes else { return Self.redirect("/", cookies: cookies) }
            // Just enrolled: the recovery codes, once, before the app.
            var headers = HTTPFields()
            for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
            return renderer.html("login_two_factor", locale: Localizer.supported.contains(user.locale) ? user.locale : lang, headers: headers, [
                "tenant": ["name": tenant.name, "slug": tenant.slug], "recovery_codes": recoveryCodes, "done": true,
            ])
        case .wrongCode:
            return try await secondStepResponse(request, context: context, status: .unauthorized, error: t("twofactor.wrong_code", lang))
        case .expired:
            return Self.redirect("/login?notice=two_factor_expired", cookies: [cookie(Self.challengeCookie, "", maxAge: 0)])
        case .locked(let until):
            let time = ISO8601DateFormatter().string(from: until).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            return try await secondStepResponse(request, context: context, status: .tooManyRequests, error: t("login.locked", lang, ["time": time]))
        }
    }

    func sessionCookie(_ token: String) -> String {
        var parts = ["\(IdentityMiddleware.sessionCookie)=\(token)", "Path=/", "HttpOnly", "SameSite=Lax",
                     "Max-Age=\(Int(services.configuration.sessionLifetime.components.seconds))"]
        if services.configuration.secureCookies { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    // MARK: The user's own page

    struct Shown: @unchecked Sendable { let values: [String: Any] }

    /// The page: the status when on (with the recovery codes just made, once), else a new
    /// enrolment's QR code and confirmation form.
    func settingsPage(_ request: Request, _ context: AtriumContext, form: [String: String]? = nil, status: HTTPResponse.Status = .ok,
                      error: String? = nil, recoveryCodes: [String]? = nil, flash: String? = nil,
                      action: (@Sendable (TwoFactorActor, PostgresConnectionBox) async throws -> Void)? = nil) async throws -> Response {
        let tenant = try context.requireTenant()
        let box = self.box
        let routes = self
        return try await app.page(request, context, form: form) { page, db in
            let actor = TwoFactorActor(user: page.actor.user, ip: page.actor.ip, requestID: page.actor.requestID)
            try await action?(actor, db)
            let state = try await TwoFactor.status(of: actor.user.id, on: db.connection, logger: db.logger)
            let lang = page.locale
            var values: [String: Any] = [
                "title": routes.t("twofactor.title", lang), "enabled": state.enabled, "required": state.required,
                "recovery_left": "\(state.recoveryCodesLeft)", "devices": "\(state.rememberedDevices)", "has_devices": state.rememberedDevices > 0,
                "enabled_at": state.enabledAt.map(DisplayFormat.dateTime) ?? "", "remember_days": "\(TwoFactor.rememberDays)",
                "error": error ?? "", "has_error": error != nil, "back": "/settings/two-factor",
            ]
            if let recoveryCodes {
                values["recovery_codes"] = recoveryCodes
                values["has_codes"] = true
            }
            if let flash { values["flash"] = ["kind": "ok", "message": flash] }
            if !state.enabled, let secret = try await TwoFactor.pendingSecret(for: actor.user.id, box: box, on: db.connection, logger: db.logger) {
                values["enrol"] = try routes.enrolmentValues(secret: secret, account: actor.user.email, tenant: tenant)
            }
            return app.render("two_factor", page, status: status, values)
        }
    }

    @Sendable func settings(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        return try await settingsPage(request, context)
    }

    @Sendable func enable(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let form = try await FormBody.parse(request)
        let lang = app.locale(request, context)
        let code = form["code"] ?? ""
        let box = self.box
        struct Codes: Sendable { let codes: [String]? }
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let ip = context.clientIP, requestID = context.id, logger = context.logger
        try CSRF.verify(request, context: context, form: form)
        // Its own unit, so a confirmed enrolment commits whatever the page rendering does.
        let result = try await services.database.withTenant(tenant.id, logger: logger) { connection in
            Codes(codes: try await TwoFactor.confirmEnrolment(code: code, by: TwoFactorActor(user: user, ip: ip, requestID: requestID), box: box,
                                                              on: connection, logger: logger))
        }
        guard let codes = result.codes else {
            return try await settingsPage(request, context, status: .unprocessableContent, error: t("twofactor.wrong_code", lang))
        }
        return try await settingsPage(request, context, recoveryCodes: codes, flash: t("twofactor.enabled_now", lang))
    }

    /// Checks the re-entered password of the signed-in user, with the sign-in lockout: a wrong
    /// one counts as a failed sign-in of that e-mail from this address.
    enum PasswordCheck { case matches, wrong, locked(Date) }

    func passwordMatches(_ password: String, context: AtriumContext) async throws -> PasswordCheck {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let logger = context.logger, ip = context.clientIP
        let throttle = services.signIn.throttle
        let (locked, hash) = try await services.database.withTenant(tenant.id, logger: logger) { connection in
            (try await throttle.lockedUntil(email: user.email, ip: ip, on: connection, logger: logger),
             try await UserStore.credentials(email: user.email, on: connection, logger: logger)?.passwordHash)
        }
        if let locked { return .locked(locked) }
        guard let hash else { return .wrong }
        let matches = try await services.hasher.verifyOffLoop(password, against: hash)
        if !matches {
            try await services.database.withTenant(tenant.id, logger: logger) { connection in
                try await throttle.record(email: user.email, ip: ip, succeeded: false, reason: "wrong_password", on: connection, logger: logger)
            }
        }
        return matches ? .matches : .wrong
    }

    func passwordForm(_ request: Request, _ context: AtriumContext,
                      _ action: @escaping @Sendable (TwoFactorActor, PostgresConnectionBox) async throws -> [String]?) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let form = try await FormBody.parse(request)
        try CSRF.verify(request, context: context, form: form)
        let lang = app.locale(request, context)
        switch try await passwordMatches(form["password"] ?? "", context: context) {
        case .matches: break
        case .wrong:
            return try await settingsPage(request, context, status: .unauthorized, error: t("twofactor.wrong_password", lang))
        case .locked(let until):
            let time = ISO8601DateFormatter().string(from: until).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            return try await settingsPage(request, context, status: .tooManyRequests, error: t("login.locked", lang, ["time": time]))
        }
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let ip = context.clientIP, requestID = context.id, logger = context.logger
        struct Codes: Sendable { let codes: [String]? }
        let result: Codes
        do {
            result = try await services.database.withTenant(tenant.id, logger: logger) { connection in
                Codes(codes: try await action(TwoFactorActor(user: user, ip: ip, requestID: requestID), PostgresConnectionBox(connection: connection, logger: logger)))
            }
        } catch let error as AtriumError where error.status == .unprocessableContent {
            let key = error.code == "two_factor_required" ? "twofactor.cannot_disable_required" : "twofactor.not_enabled"
            return try await settingsPage(request, context, status: .unprocessableContent, error: t(key, lang))
        }
        if let codes = result.codes { return try await settingsPage(request, context, recoveryCodes: codes, flash: t("twofactor.codes_replaced", lang)) }
        return try await settingsPage(request, context, flash: t("twofactor.disabled_now", lang))
    }

    @Sendable func regenerate(_ request: Request, context: AtriumContext) async throws -> Response {
        try await passwordForm(request, context) { actor, db in
            try await TwoFactor.regenerateRecoveryCodes(by: actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func disable(_ request: Request, context: AtriumContext) async throws -> Response {
        try await passwordForm(request, context) { actor, db in
            try await TwoFactor.disable(by: actor, on: db.connection, logger: db.logger)
            return nil
        }
    }

    @Sendable func forgetDevices(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let form = try await FormBody.parse(request)
        let lang = app.locale(request, context)
        var response = try await settingsPage(request, context, form: form, flash: t("twofactor.devices_forgotten", lang)) { actor, db in
            _ = try await TwoFactor.forgetDevices(by: actor, on: db.connection, logger: db.logger)
        }
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.deviceCookie, "", maxAge: 0)))
        return response
    }

    @Sendable func myStatus(_ request: Request, context: AtriumContext) async throws -> Response {
        let user = try context.requireUser()
        return RecordRoutes.json(try await app.records.run(request, context) { _, db in
            let state = try await TwoFactor.status(of: user.id, on: db.connection, logger: db.logger)
            return JSONValue.object([
                "enabled": .bool(state.enabled), "enabled_at": state.enabledAt.map { JSONValue.string($0.formatted(.iso8601)) } ?? .null,
                "recovery_codes_left": .number(Decimal(state.recoveryCodesLeft)), "remembered_devices": .number(Decimal(state.rememberedDevices)),
                "required": .bool(state.required),
            ])
        })
    }
}

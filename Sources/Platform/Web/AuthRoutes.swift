import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Sign-in, sign-out, the home page and personal API tokens, for browsers and JSON clients.
///
/// ```swift
/// AuthRoutes(services: services).register(on: router.group())
/// ```
/// builds `GET/POST /login`, `POST /logout`, `GET /`, `POST /settings/locale`,
/// `POST /tokens`, `POST /tokens/{id}/revoke`, `GET /api/v1/me` and
/// `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`. A user with two-factor sign-in
/// goes from the password to `/login/two-factor` (``TwoFactorRoutes``) before a session exists.
public struct AuthRoutes: Sendable {
    let services: PlatformServices
    /// When given, the home page gets the app shell (navigation and search).
    let app: WebApp?

    public init(services: PlatformServices, app: WebApp? = nil) {
        self.services = services
        self.app = app
    }

    var database: Database { services.database }
    var renderer: WebRenderer { services.renderer }

    public func register(on router: RouterGroup<AtriumContext>) {
        router.get("login", use: loginPage)
        router.post("login", use: login)
        router.post("logout", use: logout)
        router.get("/", use: home)
        router.post("settings/locale", use: changeLocale)
        router.post("tokens", use: createTokenFromForm)
        router.post("tokens/:id/revoke", use: revokeTokenFromForm)
        router.post("sessions/others/end", use: endOtherSessions)
        router.post("sessions/:id/end", use: endSession)
        router.get("api/v1/me", use: me)
        router.get("api/v1/tokens", use: listTokens)
        router.post("api/v1/tokens", use: createToken)
        router.delete("api/v1/tokens/:id", use: revokeToken)
    }

    // MARK: Browser

    func locale(_ request: Request, _ context: AtriumContext) -> String {
        Localizer.choose(userLocale: context.identity?.user.locale,
                         cookie: request.cookies["atrium_lang"]?.value,
                         acceptLanguage: request.headers[.acceptLanguage])
    }

    func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Lax"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if services.configuration.secureCookies { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func loginPage(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        if context.identity != nil { return redirect("/") }
        var cookies: [String] = []
        var lang = locale(request, context)
        if let chosen = request.uri.queryParameters["lang"].map(String.init), Localizer.supported.contains(chosen) {
            lang = chosen
            cookies.append(cookie("atrium_lang", chosen, maxAge: 365 * 86400))
        }
        // Back from a second step that ran out (10 minutes) or was ended: say so.
        let expired = request.uri.queryParameters["notice"] == "two_factor_expired"
        return loginForm(request: request, tenant: tenant, locale: lang, error: expired ? renderer.localizer.string("twofactor.expired", locale: lang) : nil,
                         cookies: cookies)
    }

    func loginForm(request: Request, tenant: TenantInfo, locale: String, status: HTTPResponse.Status = .ok,
                   error: String? = nil, email: String = "", cookies: [String] = []) -> Response {
        var cookies = cookies
        let csrf: String
        if let existing = request.cookies[CSRF.cookie]?.value, existing.count >= 32 {
            csrf = existing
        } else {
            csrf = SecureToken.generate()
            cookies.append(cookie(CSRF.cookie, csrf))
        }
        var headers = HTTPFields()
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        var values: [String: Any] = ["tenant": ["name": tenant.name, "slug": tenant.slug], "csrf": csrf, "email": email]
        if let error { values["error"] = error }  // an empty string would still open {{#error}}
        return renderer.html("login", locale: locale, status: status, headers: headers, values)
    }

    @Sendable func login(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let form = try await FormBody.parse(request)
        var context = context
        context.identity = nil  // the login form always uses the pre-session token
        try CSRF.verify(request, context: context, form: form)
        let lang = locale(request, context)
        func text(_ key: String, _ args: [String: String] = [:]) -> String {
            renderer.localizer.string(key, locale: lang, args) ?? key
        }
        let rawEmail = form["email"] ?? ""
        guard let email = UserInputRules.normalisedEmail(rawEmail) else {
            return loginForm(request: request, tenant: tenant, locale: lang, status: .unprocessableContent,
                             error: text("login.invalid_email"), email: rawEmail)
        }
        let outcome = try await services.signIn.attempt(
            email: email, password: form["password"] ?? "", tenantID: tenant.id, ip: context.clientIP,
            userAgent: request.headers[.userAgent], requestID: context.id,
            rememberedDevice: request.cookies[TwoFactorRoutes.deviceCookie]?.value, logger: context.logger
        )
        switch outcome {
        case .secondFactor(let challenge, _):
            // No session yet: the second step (TwoFactorRoutes) makes it.
            return redirect("/login/two-factor", cookies: [TwoFactorRoutes.strictCookie(TwoFactorRoutes.challengeCookie, challenge, maxAge: TwoFactor.challengeMinutes * 60,
                                                                                        secure: services.configuration.secureCookies)])
        case .signedIn(let token, _):
            return redirect("/", cookies: [cookie(IdentityMiddleware.sessionCookie, token, maxAge: Int(services.configuration.sessionLifetime.components.seconds))])
        case .wrongCredentials:
            return loginForm(request: request, tenant: tenant, locale: lang, status: .unauthorized, error: text("login.failed"), email: email)
        case .inactive:
            return loginForm(request: request, tenant: tenant, locale: lang, status: .forbidden, error: text("login.inactive"), email: email)
        case .addressNotAllowed:
            return loginForm(request: request, tenant: tenant, locale: lang, status: .forbidden, error: text("login.address_refused", ["ip": context.clientIP]),
                             email: email)
        case .locked(let until):
            let time = ISO8601DateFormatter().string(from: until).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
            return loginForm(request: request, tenant: tenant, locale: lang, status: .tooManyRequests, error: text("login.locked", ["time": time]), email: email)
        }
    }

    @Sendable func logout(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let form = try await FormBody.parse(request)
        guard let identity = context.identity, case .session(let tokenHash, _) = identity.method else {
            return redirect("/login")
        }
        try CSRF.verify(request, context: context, form: form)
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        try await database.withTenant(tenant.id, logger: logger) { connection in
            try await SessionStore.delete(tokenHash: tokenHash, on: connection, logger: logger)
            try await AuditLog.record(.init(action: "user.logout", actor: .user(identity.user), entity: "user",
                                            recordID: identity.user.id.uuidString, ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
        }
        return redirect("/login", cookies: [cookie(IdentityMiddleware.sessionCookie, "", maxAge: 0)])
    }

    @Sendable func home(_ request: Request, context: AtriumContext) async throws -> Response {
        try await homePage(request, context: context, newToken: nil)
    }

    func homePage(_ request: Request, context: AtriumContext, newToken: String?, flash: String? = nil) async throws -> Response {
        let tenant = try context.requireTenant()
        guard let identity = context.identity else { return redirect("/login") }
        let lang = locale(request, context)
        let logger = context.logger
        var currentHash: String?
        if case .session(let hash, _) = identity.method { currentHash = hash }
        let thisSession = currentHash
        let (moduleIDs, tokens, access, sessions, twoFactor) = try await database.withTenant(tenant.id, logger: logger) { connection in
            (try await TenantModules.enabled(on: connection, logger: logger),
             try await APITokenStore.list(userID: identity.user.id, on: connection, logger: logger),
             try await AccessContext.load(for: identity.user, cache: services.accessCache, on: connection, logger: logger),
             try await SessionStore.list(userID: identity.user.id, currentHash: thisSession, on: connection, logger: logger),
             try await TwoFactor.status(of: identity.user.id, on: connection, logger: logger).enabled)
        }
        func text(_ key: String, _ args: [String: String] = [:]) -> String { renderer.localizer.string(key, locale: lang, args) ?? key }
        let csrf = identity.csrfToken ?? ""
        // The menu follows the roles: a module none of the user's roles reaches is not shown.
        let modules: [[String: Any]] = moduleIDs.compactMap { id in
            guard let manifest = services.catalog.manifests[id], access.canSee(module: manifest) else { return nil }
            return ["id": id, "name": manifest.name(locale: lang), "version": manifest.version]
        }
        var values: [String: Any] = try await app?.shellValues(request, context) ?? [:]
        values.merge([
            "back": "/",
            "tenant": ["name": tenant.name, "slug": tenant.slug, "plan": tenant.plan],
            "user": ["displayName": identity.user.displayName, "email": identity.user.email, "isAdmin": identity.user.isAdmin],
            "modules": modules,
            "tokens": tokens.map {
                ["id": $0.id.uuidString, "name": $0.name, "prefix": $0.prefix, "csrf": csrf,
                 "used": $0.lastUsedAt.map { text("sessions.last_used", ["when": DisplayFormat.dateTime($0)]) } ?? text("sessions.never_used")] as [String: Any]
            },
            "sessions": sessions.map {
                ["id": $0.id, "device": SessionStore.device($0.userAgent), "ip": $0.ip ?? "", "since": DisplayFormat.dateTime($0.createdAt),
                 "seen": DisplayFormat.dateTime($0.lastSeenAt), "current": $0.current, "csrf": csrf] as [String: Any]
            },
            "other_sessions": sessions.contains { !$0.current },
            "two_factor_enabled": twoFactor,
            "csrf": csrf,
        ]) { $1 }
        if let app {
            values["dashboard"] = try await WebReports.dashboard(app, request, context)
            values["home_blocks"] = try await app.homeBlocks(request, context).map { ["html": $0] }
        }
        if let newToken { values["new_token"] = newToken }
        if let flash { values["flash"] = ["kind": "ok", "message": flash] }
        return renderer.html("home", locale: lang, values)
    }

    @Sendable func changeLocale(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let form = try await FormBody.parse(request)
        try CSRF.verify(request, context: context, form: form)
        guard let locale = form["locale"], Localizer.supported.contains(locale) else {
            throw AtriumError.validation(field: "locale", "must be one of \(Localizer.supported.joined(separator: ", "))")
        }
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        try await database.withTenant(tenant.id, logger: logger) { connection in
            try await UserStore.setLocale(locale, userID: user.id, on: connection, logger: logger)
            try await AuditLog.record(.init(action: "user.locale_changed", actor: .user(user), entity: "user", recordID: user.id.uuidString,
                                            details: ["locale": locale], ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
        }
        // Back to the page the switch was on (a local path only, never another site).
        let back = LocalPath.safe(form["back"]) ?? "/"
        return redirect(back, cookies: [cookie("atrium_lang", locale, maxAge: 365 * 86400)])
    }

    @Sendable func createTokenFromForm(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await FormBody.parse(request)
        guard context.identity != nil else { return redirect("/login") }
        try CSRF.verify(request, context: context, form: form)
        let (token, _) = try await issueToken(name: form["name"] ?? "", context: context)
        return try await homePage(request, context: context, newToken: token)
    }

    @Sendable func revokeTokenFromForm(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await FormBody.parse(request)
        guard context.identity != nil else { return redirect("/login") }
        try CSRF.verify(request, context: context, form: form)
        try await revoke(id: context.parameters.get("id") ?? "", context: context)
        return redirect("/")
    }

    // MARK: Sessions

    /// Ends one of the user's own sessions (another browser, a lost phone).
    @Sendable func endSession(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await FormBody.parse(request)
        guard context.identity != nil else { return redirect("/login") }
        try CSRF.verify(request, context: context, form: form)
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let id = context.parameters.get("id") ?? ""
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        let ended = try await database.withTenant(tenant.id, logger: logger) { connection in
            guard try await SessionStore.end(id: id, userID: user.id, on: connection, logger: logger) else { return false }
            try await AuditLog.record(.init(action: "session.ended", actor: .user(user), entity: "user", recordID: user.id.uuidString,
                                            details: ["session": id], ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return true
        }
        guard ended else { throw AtriumError(status: .notFound, code: "session_not_found", message: "no such session of yours") }
        let lang = locale(request, context)
        return try await homePage(request, context: context, newToken: nil, flash: renderer.localizer.string("sessions.ended", locale: lang) ?? "")
    }

    /// Ends every session of the user but this one ("I left myself signed in somewhere").
    @Sendable func endOtherSessions(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await FormBody.parse(request)
        guard let identity = context.identity else { return redirect("/login") }
        try CSRF.verify(request, context: context, form: form)
        guard case .session(let keep, _) = identity.method else { return redirect("/") }
        let tenant = try context.requireTenant()
        let user = identity.user
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        let count = try await database.withTenant(tenant.id, logger: logger) { connection in
            let count = try await SessionStore.endOthers(userID: user.id, keepHash: keep, on: connection, logger: logger)
            try await AuditLog.record(.init(action: "session.ended_others", actor: .user(user), entity: "user", recordID: user.id.uuidString,
                                            details: ["count": "\(count)"], ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return count
        }
        let lang = locale(request, context)
        return try await homePage(request, context: context, newToken: nil,
                                  flash: renderer.localizer.string("sessions.ended_others", locale: lang, ["count": "\(count)"]) ?? "")
    }

    // MARK: JSON API

    struct MeResponse: ResponseEncodable {
        let tenant: TenantInfo
        let user: AuthenticatedUser
        let modules: [String]
    }

    @Sendable func me(_ request: Request, context: AtriumContext) async throws -> MeResponse {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let logger = context.logger
        let modules = try await database.withTenant(tenant.id, logger: logger) { connection in
            try await TenantModules.enabled(on: connection, logger: logger)
        }
        return MeResponse(tenant: tenant, user: user, modules: modules)
    }

    struct TokenList: ResponseEncodable { let tokens: [APITokenStore.Summary] }
    struct NewToken: ResponseEncodable { let token: String; let summary: APITokenStore.Summary }
    struct NewTokenRequest: Decodable { let name: String? }

    @Sendable func listTokens(_ request: Request, context: AtriumContext) async throws -> TokenList {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let logger = context.logger
        return TokenList(tokens: try await database.withTenant(tenant.id, logger: logger) { connection in
            try await APITokenStore.list(userID: user.id, on: connection, logger: logger)
        })
    }

    @Sendable func createToken(_ request: Request, context: AtriumContext) async throws -> EditedResponse<NewToken> {
        _ = try context.requireUser()
        try CSRF.verify(request, context: context)
        let body: NewTokenRequest
        do {
            body = try await request.decode(as: NewTokenRequest.self, context: context)
        } catch {
            throw AtriumError(status: .badRequest, code: "invalid_json", message: "the body must be a JSON object like {\"name\": \"ci\"}")
        }
        let (token, summary) = try await issueToken(name: body.name ?? "", context: context)
        return EditedResponse(status: .created, response: NewToken(token: token, summary: summary))
    }

    @Sendable func revokeToken(_ request: Request, context: AtriumContext) async throws -> Response {
        _ = try context.requireUser()
        try CSRF.verify(request, context: context)
        try await revoke(id: context.parameters.get("id") ?? "", context: context)
        return Response(status: .noContent)
    }

    func issueToken(name: String, context: AtriumContext) async throws -> (String, APITokenStore.Summary) {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        return try await database.withTenant(tenant.id, logger: logger) { connection in
            let (token, summary) = try await APITokenStore.create(name: name, userID: user.id, tenantID: tenant.id, on: connection, logger: logger)
            try await AuditLog.record(.init(action: "api_token.created", actor: .user(user), entity: "api_token", recordID: summary.id.uuidString,
                                            details: ["name": summary.name, "prefix": summary.prefix], ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return (token, summary)
        }
    }

    func revoke(id: String, context: AtriumContext) async throws {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        guard let tokenID = UUID(uuidString: id) else {
            throw AtriumError(status: .notFound, code: "token_not_found", message: "no such API token")
        }
        let logger = context.logger, ip = context.clientIP, requestID = context.id
        let revoked = try await database.withTenant(tenant.id, logger: logger) { connection in
            guard try await APITokenStore.revoke(id: tokenID, userID: user.id, on: connection, logger: logger) else { return false }
            try await AuditLog.record(.init(action: "api_token.revoked", actor: .user(user), entity: "api_token", recordID: id, ip: ip, requestID: requestID),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return true
        }
        guard revoked else { throw AtriumError(status: .notFound, code: "token_not_found", message: "no such API token") }
    }
}

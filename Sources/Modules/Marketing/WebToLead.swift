import Foundation
import Hummingbird
import Logging
import Platform
import PostgresNIO

/// Web-to-lead (前端线索获取): a campaign's public form at `/f/{tenant}/{form key}`, embeddable
/// by URL, showing only the fields the administrator picked. A submission is a campaign
/// response of kind `web_form`, so it becomes (or merges into) a lead of that campaign in that
/// tenant only — the form is found by its key under the tenant's row-level security, and a key
/// of another tenant is the same 404 as a wrong one. Abuse is refused before anything is
/// written: a body over 8 KiB (413), a field over its limit (422), a filled honeypot (422), more
/// than ``burst`` submissions from one address in a short time (429). Text is stored as typed
/// and escaped wherever it is shown; the answer never says anything about the tenant's data.
enum WebToLead {
    static let maxBody = 8 * 1024
    /// The hidden field people leave empty and form-filling robots fill in.
    static let honeypot = "website"
    static let limits: [String: Int] = ["name": 100, "company": 200, "email": 254, "phone": 40, "title": 100, "notes": 2000]
    /// Submissions per client address: this many at once, then one every `refillSeconds`.
    static let burst = 5.0
    static let refillSeconds = 60.0

    static func newKey() -> String { "wf" + SecureToken.generate(bytes: 12).lowercased().filter { $0.isLetter || $0.isNumber } }

    struct Form: Sendable {
        let record: Record
        let fields: [String]
        let owner: AuthenticatedUser
    }

    /// The active form with `key` in the tenant of the transaction, and the user its leads
    /// belong to (the form's owner), or nil.
    static func form(key: String, engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws -> Form? {
        guard key.count <= 64, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        guard try await TenantModules.enabled(on: connection, logger: logger).contains(MarketingModule.manifest.id) else { return nil }
        let system = RecordEngine.Actor(user: AuthenticatedUser(id: UUID(), email: "web-form@atrium.invalid", displayName: "Web form", locale: "en", isAdmin: false),
                                        access: .system)
        let found = try await engine.list("web_form", query: RecordQuery(filter: ModuleStore.eq("form_key", key), limit: 1), as: system,
                                          on: connection, logger: logger).records.first
        guard let found, found.values["active"] != .bool(false), let ownerID = found.ownerID else { return nil }
        let rows = try await connection.query("""
            SELECT id, email, display_name, locale, is_admin FROM users WHERE id = \(ownerID) AND is_active
            """, logger: logger)
        for try await (id, email, name, locale, isAdmin) in rows.decode((UUID, String, String, String, Bool).self) {
            let fields = (found.values["fields"]?.arrayValue ?? []).compactMap(\.stringValue).filter { limits[$0] != nil }
            return Form(record: found, fields: fields, owner: AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin))
        }
        return nil
    }

    /// The submission's values, checked: nil fields the form does not show, limits, honeypot.
    static func values(_ form: [String: String], fields: [String]) throws -> [String: JSONValue] {
        if let trap = form[honeypot], !trap.isEmpty {
            throw AtriumError(status: .unprocessableContent, code: "rejected", message: "the submission was refused", field: honeypot)
        }
        var values: [String: JSONValue] = [:]
        for key in fields {
            let text = (form[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            if text.count > limits[key] ?? 200 {
                throw AtriumError.validation(field: key, "must be at most \(limits[key] ?? 200) characters")
            }
            values[key] = .string(text)
        }
        guard values["name"] != nil || values["email"] != nil else {
            throw AtriumError.validation(field: fields.contains("name") ? "name" : "email", "is required")
        }
        if values["name"] == nil, let email = values["email"]?.stringValue { values["name"] = .string(email) }
        return values
    }
}

/// The public routes of the module (no sign-in): the web form and the unsubscribe link, both
/// in the tenant of the request's host.
///
///     GET  /f/{tenant}/{form}                     the form
///     POST /f/{tenant}/{form}                     a submission (form-encoded; JSON clients get JSON)
///     GET  /marketing/unsubscribe/{token}         asks to confirm
///     POST /marketing/unsubscribe/{token}         unsubscribes (also RFC 8058 one-click)
struct MarketingPublicRoutes: Sendable {
    let web: WebApp
    let limiter = RateLimiter()

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("f/:tenant/:form", use: showForm)
        router.post("f/:tenant/:form", use: submitForm)
        router.get("marketing/unsubscribe/:token", use: unsubscribePage)
        router.post("marketing/unsubscribe/:token", use: unsubscribe)
    }

    var notFound: AtriumError { AtriumError(status: .notFound, code: "not_found", message: "no such form") }

    func locale(_ request: Request) -> String {
        let accept = request.headers[.acceptLanguage] ?? ""
        return accept.lowercased().hasPrefix("zh") ? "zh-CN" : (accept.isEmpty ? "zh-CN" : "en")
    }

    func page(_ request: Request, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var response = web.services.renderer.html("marketing_public", locale: locale(request), status: status, values)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// The form of the path's tenant, which must be the tenant of the host.
    func form(_ context: AtriumContext, connection: PostgresConnection) async throws -> WebToLead.Form? {
        let tenant = try context.requireTenant()
        guard context.parameters.get("tenant")?.lowercased() == tenant.slug, let key = context.parameters.get("form") else { return nil }
        return try await WebToLead.form(key: key, engine: web.engine, on: connection, logger: context.logger)
    }

    func formValues(_ form: WebToLead.Form, _ request: Request, _ context: AtriumContext, input: [String: String] = [:], error: String? = nil) -> [String: Any] {
        let lang = locale(request)
        let labels = Dictionary(MarketingEntities.formFields.map { ($0.value, DisplayFormat.label($0.labels, locale: lang, fallback: $0.value)) },
                                uniquingKeysWith: { a, _ in a })
        var values: [String: Any] = [
            "title": form.record.string("name") ?? "", "form": true,
            "action": "/f/\(context.parameters.get("tenant") ?? "")/\(context.parameters.get("form") ?? "")",
            "fields": form.fields.map { key in
                ["key": key, "label": labels[key] ?? key, "value": input[key] ?? "", "long": key == "notes", "max": WebToLead.limits[key] ?? 200,
                 "type": key == "email" ? "email" : (key == "phone" ? "tel" : "text"), "required": key == "name"] as [String: Any]
            },
            "honeypot": WebToLead.honeypot,
        ]
        if let error { values["error"] = error }
        return values
    }

    @Sendable func showForm(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let logger = context.logger
        let found = try await web.services.database.withTenant(tenant.id, logger: logger) { connection in
            try await form(context, connection: connection)
        }
        guard let found else { throw notFound }
        return page(request, formValues(found, request, context))
    }

    @Sendable func submitForm(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let wantsJSON = request.headers[.accept]?.contains("application/json") == true
        if let wait = limiter.take("wf:\(tenant.id):\(context.clientIP)", rate: 1 / WebToLead.refillSeconds, burst: WebToLead.burst) {
            var response = refusal(request, wantsJSON, AtriumError(status: .tooManyRequests, code: "rate_limited",
                                                                  message: "too many submissions from your address; try again later"))
            response.headers[.retryAfter] = "\(max(1, Int((wait / .seconds(1)).rounded(.up))))"
            return response
        }
        let input: [String: String]
        do {
            input = try await FormBody.parse(request, limit: WebToLead.maxBody)
        } catch let error as AtriumError {
            return refusal(request, wantsJSON, error)
        }
        let logger = context.logger, engine = web.engine
        let (ip, requestID) = (context.clientIP, context.id)
        do {
            let done: (thanks: String, lead: String)? = try await web.services.database.withTenant(tenant.id, logger: logger) { connection in
                guard let form = try await form(context, connection: connection) else { return nil }
                var values = try WebToLead.values(input, fields: form.fields)
                values["campaign"] = form.record.values["campaign"] ?? .null
                values["kind"] = .string("web_form")
                let actor = RecordEngine.Actor(user: form.owner, ip: ip, requestID: requestID, access: .system)
                let response = try await engine.create("campaign_response", values: values, as: actor, on: connection, logger: logger)
                let lead = try await engine.get("campaign_response", id: response.id, as: actor, on: connection, logger: logger).string("lead") ?? ""
                return (form.record.string("thank_you") ?? "", lead)
            }
            guard let done else { throw notFound }
            if wantsJSON { return RecordRoutes.json(.object(["received": .bool(true)]), status: .created) }
            let text = done.thanks.isEmpty ? web.t("marketing.web_form.thanks", locale(request)) : done.thanks
            return page(request, ["title": text, "thanks": text], status: .created)
        } catch let error as any DomainError where error.status == .unprocessableContent {
            let refused = AtriumError(status: error.status, code: error.code, message: error.message, field: error.field)
            if wantsJSON { return ErrorMiddleware.json(refused) }
            let found = try await web.services.database.withTenant(tenant.id, logger: logger) { connection in try await form(context, connection: connection) }
            guard let found else { throw notFound }
            return page(request, formValues(found, request, context, input: input, error: refused.message), status: .unprocessableContent)
        }
    }

    func refusal(_ request: Request, _ wantsJSON: Bool, _ error: AtriumError) -> Response {
        if wantsJSON { return ErrorMiddleware.json(error) }
        return page(request, ["title": error.message, "refused": error.message], status: error.status)
    }

    @Sendable func unsubscribePage(_ request: Request, context: AtriumContext) async throws -> Response {
        _ = try context.requireTenant()
        let lang = locale(request)
        return page(request, ["title": web.t("marketing.unsubscribe.title", lang), "confirm": true,
                              "action": "/marketing/unsubscribe/\(context.parameters.get("token") ?? "")"])
    }

    @Sendable func unsubscribe(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let token = context.parameters.get("token") ?? ""
        let logger = context.logger
        let email = try await web.services.database.withTenant(tenant.id, logger: logger) { connection in
            try await MassMailing.unsubscribe(token: token, on: connection, logger: logger)
        }
        guard email != nil else { throw AtriumError(status: .notFound, code: "not_found", message: "this unsubscribe link is not valid") }
        let lang = locale(request)
        if request.headers[.accept]?.contains("application/json") == true { return RecordRoutes.json(.object(["unsubscribed": .bool(true)])) }
        return page(request, ["title": web.t("marketing.unsubscribe.done", lang), "thanks": web.t("marketing.unsubscribe.done", lang)])
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The administrators' webhook page: the endpoints with their state and latest deliveries, and
/// what the JSON API does, by form — register (the secret is shown on the answer page once),
/// ping, turn on or off, rotate the secret, delete, send a finished delivery again.
///
///     GET  /app/admin/webhooks, POST /app/admin/webhooks
///     POST /app/admin/webhooks/{id}/active | ping | rotate | delete
///     POST /app/admin/webhooks/{id}/deliveries/{delivery}/redeliver
struct WebWebhooks: Sendable {
    let app: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/admin/webhooks", use: page)
        router.post("app/admin/webhooks", use: create)
        router.post("app/admin/webhooks/:id/active", use: setActive)
        router.post("app/admin/webhooks/:id/ping", use: ping)
        router.post("app/admin/webhooks/:id/rotate", use: rotate)
        router.post("app/admin/webhooks/:id/delete", use: delete)
        router.post("app/admin/webhooks/:id/deliveries/:delivery/redeliver", use: redeliver)
    }

    func render(_ page: WebApp.Page, db: PostgresConnectionBox, status: HTTPResponse.Status = .ok, error: String? = nil,
                secret: (UUID, String)? = nil, form: [String: String] = [:]) async throws -> Response {
        let lang = page.locale
        var rows: [[String: Any]] = []
        for endpoint in try await Webhooks.list(on: db.connection, logger: db.logger) {
            let deliveries = try await Webhooks.deliveries(of: endpoint.id, limit: 8, on: db.connection, logger: db.logger)
            let id = endpoint.id.uuidString.lowercased()

            rows.append([
                "id": id, "url": endpoint.url, "description": endpoint.description ?? "", "events": endpoint.events.joined(separator: ", "),
                "active": endpoint.active, "failures": endpoint.consecutiveFailures, "disabled_reason": endpoint.disabledReason ?? "",
                "secret": secret?.0 == endpoint.id ? secret?.1 ?? "" : "", "has_secret": secret?.0 == endpoint.id,
                "deliveries": deliveries.map { delivery -> [String: Any] in
                    [
                        "id": delivery.id.uuidString.lowercased(), "endpoint": id, "event": delivery.event, "status": delivery.status,
                        "status_label": app.t("webhooks.status.\(delivery.status)", lang), "attempts": delivery.attempts,
                        "error": delivery.lastError ?? "", "at": DisplayFormat.dateTime(delivery.createdAt),
                        "finished": delivery.status == "sent" || delivery.status == "failed", "failed": delivery.status == "failed",
                    ]
                },
                "has_deliveries": !deliveries.isEmpty,
            ])
        }
        return app.render("admin_webhooks", page, status: status, [
            "title": app.t("webhooks.title", lang), "rows": rows, "has_rows": !rows.isEmpty,
            "error": error ?? "", "has_error": error != nil, "form": form,
        ])
    }

    @Sendable func page(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:webhooks") { page, db in try await render(page, db: db) }
    }

    /// Runs `body` in an admin page's transaction; a client error shows the page again with
    /// the message (and what was typed); `body` answers the page to show on success.
    func act(_ request: Request, _ context: AtriumContext, form: [String: String], keep: Bool = false,
             _ body: @escaping @Sendable (WebApp.Page, PostgresConnectionBox) async throws -> Response) async throws -> Response {
        do {
            return try await app.adminPage(request, context, form: form, current: "admin:webhooks") { page, db in
                do {
                    return try await body(page, db)
                } catch let error as any DomainError where error.status.code < 500 {
                    throw WebApp.FormRefused(response: try await render(page, db: db, status: error.status,
                                                                        error: app.detailedMessage(error.atriumError, locale: page.locale),
                                                                        form: keep ? form : [:]))
                }
            }
        } catch let refused as WebApp.FormRefused {
            return refused.response
        }
    }

    static func id(_ context: AtriumContext, _ name: String = "id") throws -> UUID { try WebhookRoutes.id(context, name) }

    static let saved = WebApp.redirect("/app/admin/webhooks?notice=saved")

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        let events = (form["events"] ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "，" }).map { JSONValue.string(String($0)) }
        var body: [String: JSONValue] = ["url": .string(form["url"] ?? ""), "events": .array(events)]
        if let description = form["description"], !description.isEmpty { body["description"] = .string(description) }
        let fields = body
        let allowPrivate = app.services.configuration.webhookAllowPrivateAddresses
        let engine = app.engine
        return try await act(request, context, form: form, keep: true) { page, db in
            let input = try await WebhookRoutes.input(fields, required: true, allowPrivateAddresses: allowPrivate)
            try await WebhookRoutes.checkEntities(input.events, engine: engine, on: db.connection, logger: db.logger)
            let (endpoint, secret) = try await Webhooks.create(url: input.url ?? "", events: input.events ?? [], description: input.description ?? nil,
                                                               by: page.actor.user.id, on: db.connection, logger: db.logger)
            try await WebhookRoutes.audit("webhook.created", endpoint: endpoint.id, details: ["url": endpoint.url, "events": endpoint.events.joined(separator: ",")],
                                          actor: page.actor, on: db.connection, logger: db.logger)
            return try await render(page, db: db, status: .created, secret: (endpoint.id, secret))
        }
    }

    @Sendable func setActive(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        let active = form["active"] == "true"
        return try await act(request, context, form: form) { page, db in
            let endpoint = try await Webhooks.change(id, url: nil, events: nil, description: nil, active: active, on: db.connection, logger: db.logger)
            try await WebhookRoutes.audit("webhook.changed", endpoint: id, details: ["url": endpoint.url, "active": "\(endpoint.active)"],
                                          actor: page.actor, on: db.connection, logger: db.logger)
            return Self.saved
        }
    }

    @Sendable func ping(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { _, db in
            _ = try await Webhooks.ping(id, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/webhooks?notice=ping_sent")
        }
    }

    @Sendable func rotate(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { page, db in
            let secret = try await Webhooks.rotateSecret(id, on: db.connection, logger: db.logger)
            try await WebhookRoutes.audit("webhook.secret_rotated", endpoint: id, details: [:], actor: page.actor, on: db.connection, logger: db.logger)
            return try await render(page, db: db, secret: (id, secret))
        }
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { page, db in
            try await Webhooks.delete(id, on: db.connection, logger: db.logger)
            try await WebhookRoutes.audit("webhook.deleted", endpoint: id, details: [:], actor: page.actor, on: db.connection, logger: db.logger)
            return Self.saved
        }
    }

    @Sendable func redeliver(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let delivery = try Self.id(context, "delivery")
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { page, db in
            try await Webhooks.redeliver(delivery, of: id, on: db.connection, logger: db.logger)
            try await WebhookRoutes.audit("webhook.redelivered", endpoint: id, details: ["delivery": delivery.uuidString.lowercased()],
                                          actor: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/webhooks?notice=redelivery_queued")
        }
    }
}

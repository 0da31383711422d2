import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The administrators' webhook API (all routes admin only):
///
///     GET    /api/v1/admin/webhooks                           the endpoints (never their secrets)
///     POST   /api/v1/admin/webhooks                           {"url", "events": ["account.*", …], "description"?} → 201 with "secret" (shown once)
///     PATCH  /api/v1/admin/webhooks/{id}                      {"url"?, "events"?, "description"?, "active"?} (active: true clears the failure count)
///     DELETE /api/v1/admin/webhooks/{id}                      and its deliveries still waiting
///     POST   /api/v1/admin/webhooks/{id}/rotate-secret        {"secret"}: the new one; the old one stops signing at once
///     POST   /api/v1/admin/webhooks/{id}/ping                 a `ping` delivery
///     GET    /api/v1/admin/webhooks/{id}/deliveries           the latest deliveries: event, status, attempts, last error
///     POST   /api/v1/admin/webhooks/{id}/deliveries/{delivery}/redeliver   a finished delivery again, same delivery id
struct WebhookRoutes: Sendable {
    let records: RecordRoutes
    let engine: RecordEngine
    let allowPrivateAddresses: Bool

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/webhooks", use: list)
        router.post("api/v1/admin/webhooks", use: create)
        router.patch("api/v1/admin/webhooks/:id", use: change)
        router.delete("api/v1/admin/webhooks/:id", use: delete)
        router.post("api/v1/admin/webhooks/:id/rotate-secret", use: rotate)
        router.post("api/v1/admin/webhooks/:id/ping", use: ping)
        router.get("api/v1/admin/webhooks/:id/deliveries", use: deliveries)
        router.post("api/v1/admin/webhooks/:id/deliveries/:delivery/redeliver", use: redeliver)
    }

    static func id(_ context: AtriumContext, _ name: String = "id") throws -> UUID {
        try RecordRoutes.uuid(context, name, notFound: name == "id" ? WebhookError.notFound : WebhookError.deliveryNotFound)
    }

    static func audit(_ action: String, endpoint: UUID, details: [String: String], actor: RecordEngine.Actor,
                      on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(action, by: actor, entity: "webhook_endpoint", id: endpoint, details: details, on: connection, logger: logger)
    }

    /// The body's fields, checked: a URL webhooks may call, events that are patterns of known
    /// entities, a short description. Unknown keys are refused naming them.
    struct Input {
        var url: String?
        var events: [String]?
        var description: String??
        var active: Bool?
    }

    func input(_ request: Request, context: AtriumContext, required: Bool) async throws -> Input {
        try await Self.input(try await RecordRoutes.object(request), required: required, allowPrivateAddresses: allowPrivateAddresses)
    }

    static func input(_ body: [String: JSONValue], required: Bool, allowPrivateAddresses: Bool) async throws -> Input {
        let known: Set<String> = ["url", "events", "description", "active"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw WebhookError.invalid(field: unknown, reason: "is not a webhook field (url, events, description, active)")
        }
        var input = Input()
        switch body["url"] {
        case nil where required: throw WebhookError.invalid(field: "url", reason: "is required")
        case nil: break
        case .string(let url)?:
            let trimmed = url.trimmingCharacters(in: .whitespaces)
            guard trimmed.count <= 2000 else { throw WebhookError.invalid(field: "url", reason: "is longer than 2000 characters") }
            try await WebhookAddressPolicy.check(trimmed, allowPrivate: allowPrivateAddresses)
            input.url = trimmed
        default: throw WebhookError.invalid(field: "url", reason: "must be a string")
        }
        switch body["events"] {
        case nil where required: throw WebhookError.invalid(field: "events", reason: "is required: e.g. [\"account.created\", \"opportunity.*\"]")
        case nil: break
        case .array(let items)?:
            let events = items.compactMap(\.stringValue)
            guard events.count == items.count, (1...100).contains(events.count) else {
                throw WebhookError.invalid(field: "events", reason: "must be 1 to 100 event names")
            }
            if let bad = events.first(where: { !Webhooks.isEventPattern($0) }) {
                throw WebhookError.invalid(field: "events", reason: "'\(bad.prefix(80))' is not <entity>.<created|updated|deleted|restored>, with * for any")
            }
            input.events = Array(Set(events)).sorted()
        default: throw WebhookError.invalid(field: "events", reason: "must be an array of event names")
        }
        switch body["description"] {
        case nil: break
        case .null?: input.description = .some(nil)
        case .string(let text)? where text.count <= 200: input.description = .some(text.isEmpty ? nil : text)
        default: throw WebhookError.invalid(field: "description", reason: "must be a string of at most 200 characters")
        }
        switch body["active"] {
        case nil: break
        case .bool(let active)?: input.active = active
        default: throw WebhookError.invalid(field: "active", reason: "must be true or false")
        }
        return input
    }

    /// Entities named in `events` must exist in the tenant.
    static func checkEntities(_ events: [String]?, engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws {
        guard let events else { return }
        let entities = try await engine.entities(on: connection, logger: logger)
        for event in events {
            let entity = event.split(separator: ".").first.map(String.init) ?? ""
            if entity != "*" && event != "*" && event != "ping" && entities[entity] == nil {
                throw WebhookError.invalid(field: "events", reason: "there is no entity '\(entity)'")
            }
        }
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["webhooks": .array(try await Webhooks.list(on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let input = try await input(request, context: context, required: true)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.checkEntities(input.events, engine: engine, on: db.connection, logger: db.logger)
            let (endpoint, secret) = try await Webhooks.create(url: input.url ?? "", events: input.events ?? [], description: input.description ?? nil,
                                                               by: actor.user.id, on: db.connection, logger: db.logger)
            try await Self.audit("webhook.created", endpoint: endpoint.id, details: ["url": endpoint.url, "events": endpoint.events.joined(separator: ",")],
                                 actor: actor, on: db.connection, logger: db.logger)
            guard case .object(var object) = endpoint.json else { return endpoint.json }
            object["secret"] = .string(secret)
            return .object(object)
        }, status: .created)
    }

    @Sendable func change(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let input = try await input(request, context: context, required: false)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.checkEntities(input.events, engine: engine, on: db.connection, logger: db.logger)
            let endpoint = try await Webhooks.change(id, url: input.url, events: input.events, description: input.description, active: input.active,
                                                     on: db.connection, logger: db.logger)
            var details = ["url": endpoint.url, "events": endpoint.events.joined(separator: ","), "active": "\(endpoint.active)"]
            if input.description != nil { details["description"] = endpoint.description ?? "" }
            try await Self.audit("webhook.changed", endpoint: id, details: details, actor: actor, on: db.connection, logger: db.logger)
            return endpoint.json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await Webhooks.delete(id, on: db.connection, logger: db.logger)
            try await Self.audit("webhook.deleted", endpoint: id, details: [:], actor: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func rotate(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            let secret = try await Webhooks.rotateSecret(id, on: db.connection, logger: db.logger)
            try await Self.audit("webhook.secret_rotated", endpoint: id, details: [:], actor: actor, on: db.connection, logger: db.logger)
            return JSONValue.object(["secret": .string(secret)])
        })
    }

    @Sendable func ping(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { _, db in
            JSONValue.object(["delivery_id": .string(try await Webhooks.ping(id, on: db.connection, logger: db.logger).uuidString.lowercased())])
        }, status: .accepted)
    }

    @Sendable func deliveries(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["deliveries": .array(try await Webhooks.deliveries(of: id, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func redeliver(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let delivery = try Self.id(context, "delivery")
        try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await Webhooks.redeliver(delivery, of: id, on: db.connection, logger: db.logger)
            try await Self.audit("webhook.redelivered", endpoint: id, details: ["delivery": delivery.uuidString.lowercased()],
                                 actor: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .accepted)
    }
}

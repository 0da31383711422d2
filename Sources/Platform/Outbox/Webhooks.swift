import Crypto
import Foundation
import Logging
import PostgresNIO

/// A tenant's webhook endpoint: where record events are POSTed, signed with its secret.
public struct WebhookEndpoint: Sendable, Equatable {
    public let id: UUID
    public var url: String
    public var description: String?
    public var events: [String]
    public var active: Bool
    public var consecutiveFailures: Int
    public var disabledAt: Date?
    public var disabledReason: String?
    public var createdAt: Date

    public var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "url": .string(url), "description": description.map(JSONValue.string) ?? .null,
            "events": .array(events.map(JSONValue.string)), "active": .bool(active),
            "consecutive_failures": .number(Decimal(consecutiveFailures)),
            "disabled_at": disabledAt.map { .string($0.formatted(.iso8601)) } ?? .null,
            "disabled_reason": disabledReason.map(JSONValue.string) ?? .null, "created_at": .string(createdAt.formatted(.iso8601)),
        ])
    }
}

/// Outbound webhooks: the endpoints, the events they hear, and the signature receivers check.
///
/// An event is `<entity>.<created|updated|deleted|restored>`; an endpoint lists the events it
/// wants, with `*` for any entity or any action (`account.*`, `*.deleted`, `*`). Every record
/// write through the engine offers its event here, in the write's transaction: one outbox item
/// per endpoint that wants it, with the body fixed as of the event.
///
/// The contract (README, "Webhooks"): `POST` of a JSON body with `X-Atrium-Event`,
/// `X-Atrium-Delivery` (the same on every attempt: drop repeats by it) and
/// `X-Atrium-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; any 2xx is
/// success; delivery is at least once, in no guaranteed order (use the body's `version`).
public enum Webhooks {
    public static let actions = ["created", "updated", "deleted", "restored"]

    /// `account.created`, `account.*`, `*.deleted`, `*`, or `ping` (sent by the test button).
    public static func isEventPattern(_ text: String) -> Bool {
        if text == "*" || text == "ping" { return true }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let entityOK = parts[0] == "*" || parts[0].range(of: #"^[a-z][a-z0-9_]{0,62}$"#, options: .regularExpression) != nil
        return entityOK && (parts[1] == "*" || actions.contains(String(parts[1])))
    }

    /// The patterns an event matches, for the endpoints' `events && …` test.
    static func patterns(entity: String, action: String) -> [String] {
        ["*", "\(entity).\(action)", "\(entity).*", "*.\(action)"]
    }

    /// Puts one delivery per interested active endpoint of the transaction's tenant in the
    /// outbox. `data` is the body's `data` (the record as of the event).
    public static func offer(entity: String, action: String, data: JSONValue, actorID: UUID?,
                             on connection: PostgresConnection, logger: Logger) async throws {
        let event = "\(entity).\(action)"
        let body = JSONValue.object([
            "event": .string(event), "occurred_at": .string(Date().formatted(.iso8601)),
            "actor_id": actorID.map { .string($0.uuidString.lowercased()) } ?? .null, "data": data,
        ]).jsonText
        try await connection.query("""
            INSERT INTO outbox (tenant_id, channel, payload, max_attempts)
            SELECT e.tenant_id, 'webhook', jsonb_build_object('endpoint_id', e.id, 'event', \(event)::text, 'body', \(body)::text), 12
            FROM webhook_endpoints e
            WHERE e.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid AND e.active
              AND e.events && \(patterns(entity: entity, action: action))::text[]
            """, logger: logger)
    }

    /// `t=<unix>,v1=<hex>`: HMAC-SHA256 with the secret over `"<t>.<body>"`.
    public static func signature(body: String, secret: String, timestamp: Int) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static let columns = "id, url, description, events, active, consecutive_failures, disabled_at, disabled_reason, created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [WebhookEndpoint] {
        var endpoints: [WebhookEndpoint] = []
        for try await (id, url, description, events, active, failures, disabledAt, reason, created)
            in rows.decode((UUID, String, String?, [String], Bool, Int, Date?, String?, Date).self) {
            endpoints.append(WebhookEndpoint(id: id, url: url, description: description, events: events, active: active,
                                             consecutiveFailures: failures, disabledAt: disabledAt, disabledReason: reason, createdAt: created))
        }
        return endpoints
    }

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [WebhookEndpoint] {
        try await decode(connection.query("SELECT \(unescaped: columns) FROM webhook_endpoints ORDER BY created_at, id", logger: logger))
    }

    public static func find(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> WebhookEndpoint {
        guard let endpoint = try await decode(connection.query("SELECT \(unescaped: columns) FROM webhook_endpoints WHERE id = \(id)", logger: logger)).first else {
            throw WebhookError.notFound(id.uuidString.lowercased())
        }
        return endpoint
    }

    /// Registers an endpoint; returns it with its secret (shown this once).
    public static func create(url: String, events: [String], description: String?, by user: UUID,
                              on connection: PostgresConnection, logger: Logger) async throws -> (WebhookEndpoint, String) {
        let secret = "whsec_" + SecureToken.generate(bytes: 32)
        let created = try await decode(connection.query("""
            INSERT INTO webhook_endpoints (tenant_id, url, description, events, secret, created_by)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(url), \(description), \(events), \(secret), \(user))
            RETURNING \(unescaped: columns)
            """, logger: logger))
        return (created[0], secret)
    }

    /// Changes what is given; turning an endpoint on again clears its failure count.
    public static func change(_ id: UUID, url: String?, events: [String]?, description: String??, active: Bool?,
                              on connection: PostgresConnection, logger: Logger) async throws -> WebhookEndpoint {
        let changed = try await decode(connection.query("""
            UPDATE webhook_endpoints SET url = coalesce(\(url), url), events = coalesce(\(events), events),
                description = CASE WHEN \(description != nil) THEN \(description ?? nil) ELSE description END,
                active = coalesce(\(active), active),
                consecutive_failures = CASE WHEN \(active) IS TRUE THEN 0 ELSE consecutive_failures END,
                disabled_at = CASE WHEN \(active) IS TRUE THEN NULL WHEN \(active) IS FALSE THEN coalesce(disabled_at, now()) ELSE disabled_at END,
                disabled_reason = CASE WHEN \(active) IS NOT NULL THEN NULL ELSE disabled_reason END,
                updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: columns)
            """, logger: logger))
        guard let endpoint = changed.first else { throw WebhookError.notFound(id.uuidString.lowercased()) }
        return endpoint
    }

    public static func rotateSecret(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let secret = "whsec_" + SecureToken.generate(bytes: 32)
        let rows = try await connection.query("UPDATE webhook_endpoints SET secret = \(secret), updated_at = now() WHERE id = \(id) RETURNING id", logger: logger)
        guard try await !rows.collect().isEmpty else { throw WebhookError.notFound(id.uuidString.lowercased()) }
        return secret
    }

    /// Deletes the endpoint and its deliveries still waiting.
    public static func delete(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("DELETE FROM webhook_endpoints WHERE id = \(id) RETURNING id", logger: logger)
        guard try await !rows.collect().isEmpty else { throw WebhookError.notFound(id.uuidString.lowercased()) }
        try await connection.query("""
            DELETE FROM outbox WHERE channel = 'webhook' AND payload->>'endpoint_id' = \(id.uuidString.lowercased()) AND status IN ('pending', 'sending')
            """, logger: logger)
    }

    /// A `ping` delivery to the endpoint, whatever events it hears.
    public static func ping(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        let endpoint = try await find(id, on: connection, logger: logger)
        let body = JSONValue.object(["event": .string("ping"), "endpoint_id": .string(endpoint.id.uuidString.lowercased())]).jsonText
        return try await Outbox.enqueue(channel: "webhook", payload: .object([
            "endpoint_id": .string(endpoint.id.uuidString.lowercased()), "event": .string("ping"), "body": .string(body),
        ]), maxAttempts: 1, on: connection, logger: logger)
    }

    /// One delivery as the log shows it.
    public struct Delivery: Sendable {
        public let id: UUID
        public let event: String
        public let status: String
        public let attempts: Int
        public let lastError: String?
        public let createdAt: Date
        public let sentAt: Date?

        public var json: JSONValue {
            .object([
                "id": .string(id.uuidString.lowercased()), "event": .string(event), "status": .string(status),
                "attempts": .number(Decimal(attempts)), "last_error": lastError.map(JSONValue.string) ?? .null,
                "created_at": .string(createdAt.formatted(.iso8601)), "sent_at": sentAt.map { .string($0.formatted(.iso8601)) } ?? .null,
            ])
        }
    }

    public static func deliveries(of id: UUID, limit: Int = 100, on connection: PostgresConnection, logger: Logger) async throws -> [Delivery] {
        _ = try await find(id, on: connection, logger: logger)
        var result: [Delivery] = []
        for try await (delivery, event, status, attempts, error, created, sent) in try await connection.query("""
            SELECT id, payload->>'event', status, attempts, last_error, created_at, sent_at FROM outbox
            WHERE channel = 'webhook' AND payload->>'endpoint_id' = \(id.uuidString.lowercased())
            ORDER BY created_at DESC, id LIMIT \(limit)
            """, logger: logger).decode((UUID, String, String, Int, String?, Date, Date?).self) {
            result.append(Delivery(id: delivery, event: event, status: status, attempts: attempts, lastError: error, createdAt: created, sentAt: sent))
        }
        return result
    }

    /// Sends a finished delivery again (same delivery id, attempts from zero).
    public static func redeliver(_ delivery: UUID, of id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("""
            UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, sent_at = NULL
            WHERE id = \(delivery) AND channel = 'webhook' AND payload->>'endpoint_id' = \(id.uuidString.lowercased()) AND status IN ('sent', 'failed')
            RETURNING id
            """, logger: logger)
        guard try await !rows.collect().isEmpty else { throw WebhookError.deliveryNotFound(delivery.uuidString.lowercased()) }
    }
}

/// What went wrong with a webhook endpoint or delivery.
public enum WebhookError: DomainError, Equatable {
    case notFound(String)
    case deliveryNotFound(String)
    /// A field of an endpoint that cannot be used; names the field and why.
    case invalid(field: String, reason: String)

    public var atriumError: AtriumError {
        switch self {
        case .notFound(let reference):
            AtriumError(status: .notFound, code: "webhook_not_found", message: "no webhook endpoint \(reference)")
        case .deliveryNotFound(let reference):
            AtriumError(status: .notFound, code: "webhook_delivery_not_found", message: "no finished delivery \(reference) of this endpoint")
        case .invalid(let field, let reason):
            AtriumError(status: .unprocessableContent, code: "invalid_webhook", message: "\(field): \(reason)", field: field)
        }
    }

    public static let examples: [WebhookError] = [.notFound("x"), .deliveryNotFound("x"), .invalid(field: "url", reason: "x")]
}

import Foundation
import Logging
import PostgresNIO

/// Something people should hear about: an approval waiting for them, a record shared with
/// them, a module's own alert. Any module raises its own kinds (`sales.receivable_overdue`);
/// the text comes from the locale key `notifications.kinds.<kind>` with `arguments`, rendered
/// in each reader's language.
///
/// ```swift
/// try await Notifications.notify(approvers, of: NotificationEvent(kind: "approval.task_assigned", entity: "expense_claim",
///     recordID: id, actor: submitter, arguments: ["record": "上海出差"]), on: connection, logger: logger)
/// ```
public struct NotificationEvent: Sendable {
    /// Dotted lower-case key, `<area>.<what>`.
    public let kind: String
    public let entity: String?
    public let recordID: UUID?
    /// Who caused it (never notified of their own act).
    public let actor: UUID?
    /// Values for the locale text, as of the event (e.g. `record`: the record's title).
    public let arguments: [String: String]

    public init(kind: String, entity: String? = nil, recordID: UUID? = nil, actor: UUID? = nil, arguments: [String: String] = [:]) {
        self.kind = kind
        self.entity = entity
        self.recordID = recordID
        self.actor = actor
        self.arguments = arguments
    }
}

/// One entry of a user's inbox.
public struct UserNotification: Sendable, Equatable {
    public let id: UUID
    public let kind: String
    public let entity: String?
    public let recordID: UUID?
    public let actorID: UUID?
    public let arguments: [String: String]
    public let createdAt: Date
    public let readAt: Date?

    /// The record page it is about, if any.
    public var link: String? {
        guard let entity, let recordID else { return nil }
        return "/app/\(entity)/\(recordID.uuidString.lowercased())"
    }

    /// The notification's text in `locale`: its kind's locale text with its arguments, the
    /// entity's label as `entity`.
    public func text(localizer: Localizer, entities: [String: EntityDefinition], locale: String) -> String {
        var arguments = self.arguments
        if let key = entity {
            arguments["entity"] = entities[key].map { DisplayFormat.label($0.labels, locale: locale, fallback: key) } ?? key
        }
        return localizer.string("notifications.kinds.\(kind)", locale: locale, arguments)
            ?? localizer.string("notifications.kinds.other", locale: locale, ["kind": kind]) ?? kind
    }

    public func json(text: String) -> JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "kind": .string(kind), "text": .string(text),
            "entity": entity.map(JSONValue.string) ?? .null, "record_id": recordID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "actor_id": actorID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "arguments": .object(arguments.mapValues(JSONValue.string)), "link": link.map(JSONValue.string) ?? .null,
            "created_at": .string(createdAt.formatted(.iso8601)), "read_at": readAt.map { .string($0.formatted(.iso8601)) } ?? .null,
        ])
    }
}

/// The in-app notification centre, in the tenant transaction of the caller: notifications are
/// written in the same transaction as the event (a rolled-back approval notifies nobody).
public enum Notifications {
    /// How many notifications an inbox page shows at most.
    public static let pageLimit = 100

    /// Notifies `users` (the event's actor and duplicates left out) of `event`.
    public static func notify(_ users: [UUID], of event: NotificationEvent, on connection: PostgresConnection, logger: Logger) async throws {
        let recipients = Array(Set(users).subtracting(event.actor.map { [$0] } ?? [])).sorted { $0.uuidString < $1.uuidString }
        guard !recipients.isEmpty else { return }
        // The inbox entries and, in the same statement, an e-mail in the outbox for each
        // active recipient who wants this kind by e-mail (their choice, else the default), a
        // text message for each who chose SMS for it (where the tenant turned SMS on and the
        // user has a mobile number), and one message for each of the tenant's group robots
        // that hears the kind.
        let emailByDefault = NotificationPreferences.emailByDefault.contains(event.kind)
        let area = event.kind.split(separator: ".").first.map { "\($0).*" } ?? "*"
        let robotPayload = JSONValue.object([
            "kind": .string(event.kind), "entity": event.entity.map(JSONValue.string) ?? .null,
            "record_id": event.recordID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "arguments": .object(event.arguments.mapValues(JSONValue.string)),
        ]).jsonText
        try await connection.query("""
            WITH created AS (
                INSERT INTO notifications (tenant_id, user_id, kind, entity, record_id, actor_id, arguments)
                SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, u, \(event.kind), \(event.entity), \(event.recordID), \(event.actor), \(MetadataStore.encode(event.arguments))::jsonb
                FROM unnest(\(recipients)::uuid[]) AS u
                RETURNING tenant_id, id, user_id
            ), mails AS (
                INSERT INTO outbox (tenant_id, channel, payload)
                SELECT c.tenant_id, 'email', jsonb_build_object('kind', 'notification', 'notification_id', c.id)
                FROM created c
                JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id AND u.is_active
                LEFT JOIN notification_preferences p ON p.tenant_id = c.tenant_id AND p.user_id = c.user_id AND p.kind = \(event.kind) AND p.channel = 'email'
                WHERE coalesce(p.enabled, \(emailByDefault))
                  AND NOT EXISTS (SELECT 1 FROM tenant_mail_settings s WHERE s.tenant_id = c.tenant_id AND NOT s.email_enabled)
                RETURNING 1
            ), texts AS (
                INSERT INTO outbox (tenant_id, channel, payload)
                SELECT c.tenant_id, 'sms', jsonb_build_object('kind', 'notification', 'notification_id', c.id)
                FROM created c
                JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id AND u.is_active AND u.mobile IS NOT NULL
                JOIN notification_preferences p ON p.tenant_id = c.tenant_id AND p.user_id = c.user_id AND p.kind = \(event.kind) AND p.channel = 'sms'
                JOIN tenant_mail_settings s ON s.tenant_id = c.tenant_id AND s.sms_enabled
                WHERE p.enabled
                RETURNING 1
            )
            INSERT INTO outbox (tenant_id, channel, payload)
            SELECT r.tenant_id, 'robot', \(robotPayload)::jsonb || jsonb_build_object('robot_id', r.id)
            FROM notification_robots r
            WHERE r.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid AND r.active
              AND r.kinds && ARRAY['*', \(event.kind), \(area)]::text[]
            """, logger: logger)
    }

    static let columns = "id, kind, entity, record_id, actor_id, arguments::text, created_at, read_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [UserNotification] {
        var result: [UserNotification] = []
        for try await (id, kind, entity, record, actor, arguments, created, read) in rows.decode((UUID, String, String?, UUID?, UUID?, String, Date, Date?).self) {
            result.append(UserNotification(id: id, kind: kind, entity: entity, recordID: record, actorID: actor,
                                           arguments: try JSONDecoder().decode([String: String].self, from: Data(arguments.utf8)),
                                           createdAt: created, readAt: read))
        }
        return result
    }

    /// The user's latest notifications, newest first (unread only with `unreadOnly`).
    public static func inbox(of user: UUID, unreadOnly: Bool = false, limit: Int = pageLimit, on connection: PostgresConnection,
                             logger: Logger) async throws -> [UserNotification] {
        try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM notifications
            WHERE user_id = \(user) AND (NOT \(unreadOnly) OR read_at IS NULL)
            ORDER BY created_at DESC, id LIMIT \(min(max(limit, 1), pageLimit))
            """, logger: logger))
    }

    public static func unreadCount(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT count(*)::int FROM notifications WHERE user_id = \(user) AND read_at IS NULL", logger: logger).one(Int.self)
    }

    /// Marks one of the user's notifications read (again: keeps the first time); nil when the
    /// user has no such notification (someone else's is as absent as a missing one).
    public static func markRead(_ id: UUID, of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UserNotification? {
        try await decode(connection.query("""
            UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = \(id) AND user_id = \(user) RETURNING \(unescaped: columns)
            """, logger: logger)).first
    }

    /// Marks all of the user's notifications read; returns how many were unread.
    public static func markAllRead(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("""
            WITH marked AS (UPDATE notifications SET read_at = now() WHERE user_id = \(user) AND read_at IS NULL RETURNING 1)
            SELECT count(*)::int FROM marked
            """, logger: logger).one(Int.self)
    }
}

import Foundation
import Logging
import Platform
import PostgresNIO

/// A user's iCalendar feed link (`/calendar/feed/<token>.ics`): a secret in the URL, because
/// calendar apps cannot sign in. Like API tokens, only the token's SHA-256 is stored; the link
/// is shown once, when it is made. A user has at most one live link: making a new one revokes
/// the old, and a revoked link is a 404.
enum CalendarFeed {
    static let tokenPrefix = "cal_"

    struct Summary: Sendable {
        let createdAt: Date
        let lastUsedAt: Date?

        var json: JSONValue {
            .object(["active": .bool(true), "created_at": EventTime.stamp(createdAt), "last_used_at": lastUsedAt.map(EventTime.stamp) ?? .null])
        }
    }

    static func path(_ token: String) -> String { "/calendar/feed/\(token).ics" }

    /// A new link for `user` (the old one, if any, stops working).
    static func create(for user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> String {
        _ = try await revoke(for: user, on: connection, logger: logger)
        let token = tokenPrefix + SecureToken.generate()
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO calendar_feed_tokens (tenant_id, user_id, token_hash) VALUES (\(tenant), \(user), \(SecureToken.hash(token)))
            """, logger: logger)
        return token
    }

    /// Revokes the user's live link; false when there was none.
    static func revoke(for user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE calendar_feed_tokens SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL RETURNING id
            """, logger: logger)
        return try await rows.collect().count > 0
    }

    static func summary(for user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Summary? {
        for try await (created, used) in try await connection.query("""
            SELECT created_at, last_used_at FROM calendar_feed_tokens WHERE user_id = \(user) AND revoked_at IS NULL
            """, logger: logger).decode((Date, Date?).self) {
            return Summary(createdAt: created, lastUsedAt: used)
        }
        return nil
    }

    /// The active user a live link belongs to (in the tenant of the transaction: RLS hides
    /// every other tenant's links), or nil. `last_used_at` is written at most once an hour.
    static func owner(of token: String, on connection: PostgresConnection, logger: Logger) async throws -> AuthenticatedUser? {
        guard token.hasPrefix(tokenPrefix), token.count <= 100 else { return nil }
        let rows = try await connection.query("""
            SELECT t.id, u.id, u.email, u.display_name, u.locale, u.is_admin, coalesce(t.last_used_at < now() - interval '1 hour', true)
            FROM calendar_feed_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id AND u.is_active
            WHERE t.token_hash = \(SecureToken.hash(token)) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await (tokenID, id, email, name, locale, isAdmin, stale) in rows.decode((UUID, UUID, String, String, String, Bool, Bool).self) {
            if stale { try await connection.query("UPDATE calendar_feed_tokens SET last_used_at = now() WHERE id = \(tokenID)", logger: logger) }
            return AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin)
        }
        return nil
    }

    /// The feed's events: the owner's own and attended events, read as the owner (their scope
    /// and field rules), from 90 days back, every series whole, with the exceptions of each.
    static func events(store: ModuleStore, now: Date) async throws -> [Record] {
        let me = store.actor.user.id.uuidString.lowercased()
        let since = EventTime.stamp(now.addingTimeInterval(-90 * 86_400))
        let mine = JSONValue.object(["or": .array([ModuleStore.eq("owner_id", me), ModuleStore.op("attendee_ids", "contains", .string(me))])])
        let current = JSONValue.object(["or": .array([ModuleStore.op("ends_at", "gt", since),
                                                      ModuleStore.op("recurrence", "in", .array([.string("daily"), .string("weekly"), .string("monthly")]))])])
        var events = try await CalendarWindow.visible("event", filter: ModuleStore.and([mine, current]), store: store)
        let masters = events.filter { EventSeries.rule(of: $0) != nil && $0.values["series_id"] == nil }.map { JSONValue.string($0.idText) }
        if !masters.isEmpty {
            let known = Set(events.map(\.id))
            events += try await CalendarWindow.visible("event", filter: ModuleStore.op("series_id", "in", .array(masters)), store: store)
                .filter { !known.contains($0.id) }
        }
        // An exception whose series is not in the feed would stand alone with a RECURRENCE-ID.
        let seriesInFeed = Set(masters.compactMap(\.stringValue))
        return events.filter { $0.string("series_id").map(seriesInFeed.contains) ?? true }
    }

    /// Migration 2 of the `activities` group. A snapshot: never edit it, add migration 3.
    static let migrations: [Migration] = [
        Migration(version: 2, name: "calendar_feed_tokens", statements: [
            """
            CREATE TABLE calendar_feed_tokens (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL,
                token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE UNIQUE INDEX calendar_feed_tokens_by_hash ON calendar_feed_tokens (tenant_id, token_hash)",
            "CREATE UNIQUE INDEX calendar_feed_tokens_live ON calendar_feed_tokens (tenant_id, user_id) WHERE revoked_at IS NULL",
            "GRANT SELECT, INSERT, UPDATE ON calendar_feed_tokens TO {{app_role}}",
        ] + TenantTable.isolate("calendar_feed_tokens")),
    ]
}

import Foundation
import Logging
import PostgresNIO

/// Server-side sessions in PostgreSQL, so any app node can serve any request.
///
/// The browser holds a random token; the table holds its SHA-256. Lookups run inside the
/// request's tenant transaction, so a session of tenant A presented to tenant B finds nothing.
public enum SessionStore {
    public struct Session: Sendable {
        public let tokenHash: String
        public let csrfToken: String
        public let user: AuthenticatedUser
    }

    /// Creates a session and returns the token for the cookie and the session's CSRF token.
    public static func create(
        userID: UUID, tenantID: UUID, lifetime: Duration, ip: String?, userAgent: String?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> (token: String, csrfToken: String) {
        let token = SecureToken.generate()
        let csrf = SecureToken.generate()
        let seconds = Int(lifetime.components.seconds)
        try await connection.query("""
            INSERT INTO sessions (tenant_id, token_hash, user_id, csrf_token, ip, user_agent, expires_at)
            VALUES (\(tenantID), \(SecureToken.hash(token)), \(userID), \(csrf), \(ip), \(userAgent.map { String($0.prefix(300)) }),
                    now() + make_interval(secs => \(seconds)))
            """, logger: logger)
        return (token, csrf)
    }

    /// How stale `last_seen_at` / `last_used_at` may get before a request writes it again: a
    /// write per read request cost a synchronous commit (~5 ms with fsync on) on every GET.
    public static let touchInterval = "60 seconds"

    /// The live session for a cookie token, with its (active) user; nil when unknown, expired or
    /// the user is deactivated. `last_seen_at` is written at most once a minute.
    public static func find(token: String, on connection: PostgresConnection, logger: Logger) async throws -> Session? {
        let hash = SecureToken.hash(token)
        let rows = try await connection.query("""
            SELECT s.csrf_token, u.id, u.email, u.display_name, u.locale, u.is_admin,
                   s.last_seen_at < now() - \(touchInterval)::interval,
                   s.tenant_id, coalesce(v.metadata_version, 0), coalesce(v.org_version, 0)
            FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id AND u.is_active
                 LEFT JOIN tenant_versions v ON v.tenant_id = s.tenant_id
            WHERE s.token_hash = \(hash) AND s.expires_at > now()
            """, logger: logger)
        for try await (csrf, id, email, name, locale, isAdmin, stale, tenant, metadata, organisation) in rows.decode(
            (String, UUID, String, String, String, Bool, Bool, UUID, Int64, Int64).self
        ) {
            RequestTransaction.offerStamps(TenantVersions(tenantID: tenant, metadata: metadata, organisation: organisation), on: connection)
            if stale {
                try await connection.query("UPDATE sessions SET last_seen_at = now() WHERE token_hash = \(hash)", logger: logger)
            }
            return Session(tokenHash: hash, csrfToken: csrf,
                           user: AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin))
        }
        return nil
    }

    public static func delete(tokenHash: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM sessions WHERE token_hash = \(tokenHash)", logger: logger)
    }

    /// One signed-in browser of a user, as the sessions list shows it. `id` is the first 16
    /// hex digits of the stored token hash: enough to name it, worthless as a credential.
    public struct Summary: Sendable {
        public let id: String
        public let ip: String?
        public let userAgent: String?
        public let createdAt: Date
        public let lastSeenAt: Date
        public let current: Bool
    }

    /// The user's live sessions, the most recently used first; `current` marks `currentHash`'s.
    public static func list(userID: UUID, currentHash: String?, on connection: PostgresConnection, logger: Logger) async throws -> [Summary] {
        var sessions: [Summary] = []
        let rows = try await connection.query("""
            SELECT token_hash, ip, user_agent, created_at, last_seen_at FROM sessions
            WHERE user_id = \(userID) AND expires_at > now() ORDER BY last_seen_at DESC LIMIT 50
            """, logger: logger)
        for try await (hash, ip, agent, created, seen) in rows.decode((String, String?, String?, Date, Date).self) {
            sessions.append(Summary(id: String(hash.prefix(16)), ip: ip, userAgent: agent, createdAt: created, lastSeenAt: seen, current: hash == currentHash))
        }
        return sessions
    }

    /// Ends the user's session named by `id` (see ``Summary``); returns whether there was one.
    public static func end(id: String, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard id.count == 16, id.allSatisfy(\.isHexDigit) else { return false }
        return try await connection.query("""
            DELETE FROM sessions WHERE user_id = \(userID) AND left(token_hash, 16) = \(id) RETURNING 1
            """, logger: logger).collect().count > 0
    }

    /// Ends every session of the user but `keepHash`'s; returns how many ended.
    public static func endOthers(userID: UUID, keepHash: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("""
            DELETE FROM sessions WHERE user_id = \(userID) AND token_hash <> \(keepHash) RETURNING 1
            """, logger: logger).collect().count
    }

    /// Ends every session of the user (an administrator's "sign out everywhere"); returns how many.
    public static func endAll(userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("DELETE FROM sessions WHERE user_id = \(userID) RETURNING 1", logger: logger).collect().count
    }

    /// "Chrome on Windows", "WeChat on iPhone"…: enough to recognise a device, from its User-Agent.
    public static func device(_ userAgent: String?) -> String {
        guard let agent = userAgent, !agent.isEmpty else { return "?" }
        let browsers = [("MicroMessenger", "WeChat"), ("DingTalk", "DingTalk"), ("Edg/", "Edge"), ("Firefox/", "Firefox"),
                        ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-requests", "Python")]
        let systems = [("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
                       ("HarmonyOS", "HarmonyOS"), ("Linux", "Linux")]
        let browser = browsers.first { agent.contains($0.0) }?.1
        let system = systems.first { agent.contains($0.0) }?.1
        switch (browser, system) {
        case let (browser?, system?): return "\(browser) · \(system)"
        case let (browser?, nil): return browser
        case let (nil, system?): return system
        default: return String(agent.prefix(60))
        }
    }

    /// Removes this tenant's expired sessions (called opportunistically at login).
    public static func purgeExpired(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM sessions WHERE expires_at <= now()", logger: logger)
    }
}

import Foundation
import Logging
import PostgresNIO

/// Personal API tokens for `Authorization: Bearer`. The token is shown once at creation;
/// the table keeps its SHA-256 and a short prefix for recognising it in lists.
public enum APITokenStore {
    public static let tokenPrefix = "atr_"

    public struct Summary: Sendable, Codable {
        public let id: UUID
        public let name: String
        public let prefix: String
        public let createdAt: Date
        public let lastUsedAt: Date?
    }

    public static func create(name: String, userID: UUID, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> (token: String, summary: Summary) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else {
            throw AtriumError.validation(field: "name", "must be 1 to 100 characters")
        }
        let token = tokenPrefix + SecureToken.generate()
        let prefix = String(token.prefix(tokenPrefix.count + 6))
        let (id, created) = try await connection.query("""
            INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, token_prefix)
            VALUES (\(tenantID), \(userID), \(trimmed), \(SecureToken.hash(token)), \(prefix))
            RETURNING id, created_at
            """, logger: logger).one((UUID, Date).self)
        return (token, Summary(id: id, name: trimmed, prefix: prefix, createdAt: created, lastUsedAt: nil))
    }

    /// The active user a bearer token belongs to, or nil for an unknown or revoked token.
    /// `last_used_at` is written at most once a minute (``SessionStore/touchInterval``).
    /// A token whose user the tenant's login ranges (those that apply to tokens) refuse from
    /// `ip` throws ``AccessError/addressNotAllowed``.
    public static func authenticate(token: String, ip: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> AuthenticatedUser? {
        guard token.hasPrefix(tokenPrefix) else { return nil }
        let hash = SecureToken.hash(token)
        let address = ip.flatMap(LoginRanges.address)
        let rows = try await connection.query("""
            SELECT t.id, u.id, u.email, u.display_name, u.locale, u.is_admin,
                   coalesce(t.last_used_at < now() - \(SessionStore.touchInterval)::interval, true),
                   t.tenant_id, coalesce(v.metadata_version, 0), coalesce(v.org_version, 0),
                   NOT EXISTS (SELECT 1 FROM tenant_login_ranges r WHERE r.tenant_id = t.tenant_id AND r.applies_to_tokens
                                 AND (r.role_id IS NULL OR r.role_id IN (SELECT ur.role_id FROM user_roles ur WHERE ur.tenant_id = t.tenant_id AND ur.user_id = u.id)))
                   OR EXISTS (SELECT 1 FROM tenant_login_ranges r WHERE r.tenant_id = t.tenant_id AND r.applies_to_tokens
                                 AND (r.role_id IS NULL OR r.role_id IN (SELECT ur.role_id FROM user_roles ur WHERE ur.tenant_id = t.tenant_id AND ur.user_id = u.id))
                                 AND \(address)::inet <<= r.range)
            FROM api_tokens t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id AND u.is_active
                 LEFT JOIN tenant_versions v ON v.tenant_id = t.tenant_id
            WHERE t.token_hash = \(hash) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await (tokenID, id, email, name, locale, isAdmin, stale, tenant, metadata, organisation, allowed) in rows.decode(
            (UUID, UUID, String, String, String, Bool, Bool, UUID, Int64, Int64, Bool).self
        ) {
            guard allowed else { throw AccessError.addressNotAllowed(ip ?? "unknown") }
            RequestTransaction.offerStamps(TenantVersions(tenantID: tenant, metadata: metadata, organisation: organisation), on: connection)
            if stale {
                try await connection.query("UPDATE api_tokens SET last_used_at = now() WHERE id = \(tokenID)", logger: logger)
            }
            return AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin)
        }
        return nil
    }

    public static func list(userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Summary] {
        var result: [Summary] = []
        let rows = try await connection.query("""
            SELECT id, name, token_prefix, created_at, last_used_at FROM api_tokens
            WHERE user_id = \(userID) AND revoked_at IS NULL ORDER BY created_at DESC
            """, logger: logger)
        for try await (id, name, prefix, created, used) in rows.decode((UUID, String, String, Date, Date?).self) {
            result.append(Summary(id: id, name: name, prefix: prefix, createdAt: created, lastUsedAt: used))
        }
        return result
    }

    /// Revokes one of the user's tokens; false when the user has no such active token.
    public static func revoke(id: UUID, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            UPDATE api_tokens SET revoked_at = now() WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL RETURNING id
            """, logger: logger)
        return try await rows.collect().count == 1
    }
}

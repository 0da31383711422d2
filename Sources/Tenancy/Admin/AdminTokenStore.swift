import Foundation
import Logging
import Platform
import PostgresNIO

/// Bearer tokens of the admin API (`/admin/v1`): **operator** tokens may do everything,
/// **reseller** tokens only what concerns that reseller's own tenants.
///
/// Like tenant API tokens (``APITokenStore``), the secret is 256 random bits shown once at
/// creation; the table keeps its SHA-256 and a short prefix to recognise it in lists. Tokens
/// are created, listed and revoked only locally (`atrium-admin token …`, as the schema owner):
/// no admin token can mint another.
///
/// ```swift
/// let (secret, token) = try await AdminTokenStore.create(kind: .reseller, name: "partner cli",
///                                                        resellerSlug: "east", on: conn, logger: logger)
/// ```
public enum AdminTokenStore {
    public static let tokenPrefix = "atradm_"

    public enum Kind: String, Sendable, Codable { case `operator`, reseller }

    public struct Token: Sendable, Codable {
        public let id: UUID
        public let kind: Kind
        public let name: String
        public let reseller: String?
        public let prefix: String
        public let createdAt: Date
        public let lastUsedAt: Date?
        public let revokedAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, kind, name, reseller, prefix
            case createdAt = "created_at", lastUsedAt = "last_used_at", revokedAt = "revoked_at"
        }
    }

    /// Who an admin request comes from.
    public struct Caller: Sendable {
        public let tokenID: UUID
        public let name: String
        public let kind: Kind
        public let resellerID: UUID?
        public let resellerSlug: String?

        public var isOperator: Bool { kind == .operator }
    }

    static let select = """
        SELECT t.id, t.kind, t.name, r.slug, t.token_prefix, t.created_at, t.last_used_at, t.revoked_at
        FROM admin_tokens t LEFT JOIN resellers r ON r.id = t.reseller_id
        """

    public static func create(kind: Kind, name: String, resellerSlug: String?, on connection: PostgresConnection, logger: Logger) async throws -> (secret: String, token: Token) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else { throw AtriumError.validation(field: "name", "must be 1 to 100 characters") }
        var resellerID: UUID?
        switch (kind, resellerSlug) {
        case (.reseller, let slug?):
            resellerID = try await ResellerDirectory.require(slug: slug, on: connection, logger: logger).id
        case (.reseller, nil):
            throw AtriumError.validation(field: "reseller", "is required for a reseller token")
        case (.operator, _?):
            throw AtriumError.validation(field: "reseller", "is not allowed on an operator token")
        case (.operator, nil):
            break
        }
        let secret = tokenPrefix + SecureToken.generate()
        let prefix = String(secret.prefix(tokenPrefix.count + 6))
        let id = try await connection.query("""
            INSERT INTO admin_tokens (kind, reseller_id, name, token_hash, token_prefix)
            VALUES (\(kind.rawValue), \(resellerID), \(trimmed), \(SecureToken.hash(secret)), \(prefix)) RETURNING id
            """, logger: logger).one(UUID.self)
        guard let token = try await list(includeRevoked: true, on: connection, logger: logger).first(where: { $0.id == id }) else {
            throw AtriumError(status: .internalServerError, code: "token_not_created", message: "the token was not created")
        }
        return (secret, token)
    }

    public static func list(includeRevoked: Bool, on connection: PostgresConnection, logger: Logger) async throws -> [Token] {
        let sql = select + (includeRevoked ? "" : " WHERE t.revoked_at IS NULL") + " ORDER BY t.created_at, t.id"
        var tokens: [Token] = []
        for try await (id, kind, name, reseller, prefix, created, used, revoked) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            .decode((UUID, String, String, String?, String, Date, Date?, Date?).self) {
            tokens.append(Token(id: id, kind: Kind(rawValue: kind) ?? .reseller, name: name, reseller: reseller, prefix: prefix,
                                createdAt: created, lastUsedAt: used, revokedAt: revoked))
        }
        return tokens
    }

    /// Revokes a token at once (its next request is a 401). False when no active token has that id.
    public static func revoke(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query("UPDATE admin_tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id",
                                   logger: logger).collect().count == 1
    }

    /// The caller a bearer secret belongs to, or nil for an unknown or revoked one.
    public static func authenticate(secret: String, on connection: PostgresConnection, logger: Logger) async throws -> Caller? {
        guard secret.hasPrefix(tokenPrefix) else { return nil }
        let rows = try await connection.query("""
            UPDATE admin_tokens t SET last_used_at = now()
            WHERE t.token_hash = \(SecureToken.hash(secret)) AND t.revoked_at IS NULL
            RETURNING t.id, t.name, t.kind, t.reseller_id, (SELECT r.slug FROM resellers r WHERE r.id = t.reseller_id)
            """, logger: logger)
        for try await (id, name, kind, resellerID, resellerSlug) in rows.decode((UUID, String, String, UUID?, String?).self) {
            guard let kind = Kind(rawValue: kind) else { return nil }
            return Caller(tokenID: id, name: name, kind: kind, resellerID: resellerID, resellerSlug: resellerSlug)
        }
        return nil
    }
}

import Foundation
import Logging
import PostgresNIO

/// A signed-in person, as the rest of the request sees them.
public struct AuthenticatedUser: Sendable, Codable, Equatable {
    public let id: UUID
    public let email: String
    public let displayName: String
    public var locale: String
    public let isAdmin: Bool

    public init(id: UUID, email: String, displayName: String, locale: String, isAdmin: Bool) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.locale = locale
        self.isAdmin = isAdmin
    }
}

/// Checks for user input, each returning the problem in plain words (or nil).
public enum UserInputRules {
    public static let locales = ["zh-CN", "en"]

    /// Lower-cased, trimmed email, or nil when it is not an address.
    public static func normalisedEmail(_ raw: String) -> String? {
        let email = FieldValidator.trimmingWhitespace(raw, newlines: true).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
        else { return nil }
        return email
    }

    public static func displayNameProblem(_ name: String) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return "must not be empty" }
        if trimmed.count > 100 { return "must be at most 100 characters" }
        return nil
    }
}

/// Users of one tenant. Every method expects a connection inside a tenant transaction
/// (``TenantScope``), so RLS limits it to that tenant.
public enum UserStore {
    public struct NewUser: Sendable {
        public var email: String
        public var displayName: String
        public var locale: String
        public var passwordHash: String
        public var isAdmin: Bool

        public init(email: String, displayName: String, locale: String, passwordHash: String, isAdmin: Bool) {
            self.email = email
            self.displayName = displayName
            self.locale = locale
            self.passwordHash = passwordHash
            self.isAdmin = isAdmin
        }
    }

    /// Inserts a user; a taken email is ``AccessError/emailTaken(_:)`` (409 naming the `email` field).
    public static func create(_ user: NewUser, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        try await PlanLimits.checkUsers(on: connection, logger: logger)
        do {
            return try await connection.query("""
                INSERT INTO users (tenant_id, email, display_name, locale, password_hash, is_admin)
                VALUES (\(tenantID), \(user.email), \(user.displayName), \(user.locale), \(user.passwordHash), \(user.isAdmin))
                RETURNING id
                """, logger: logger).one(UUID.self)
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw AccessError.emailTaken(user.email)
        }
    }

    public struct Credentials: Sendable {
        public let user: AuthenticatedUser
        public let passwordHash: String
        public let isActive: Bool
    }

    public static func credentials(email: String, on connection: PostgresConnection, logger: Logger) async throws -> Credentials? {
        let rows = try await connection.query("""
            SELECT id, email, display_name, locale, is_admin, password_hash, is_active
            FROM users WHERE email = \(email)
            """, logger: logger)
        for try await (id, email, name, locale, isAdmin, hash, active) in rows.decode((UUID, String, String, String, Bool, String, Bool).self) {
            return Credentials(
                user: AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin),
                passwordHash: hash, isActive: active
            )
        }
        return nil
    }

    /// Sets a new password hash and ends the user's sessions and API tokens. Returns the user's id, or nil when
    /// no user has that email.
    public static func setPasswordHash(_ hash: String, email: String, on connection: PostgresConnection, logger: Logger) async throws -> UUID? {
        let rows = try await connection.query("""
            UPDATE users SET password_hash = \(hash), updated_at = now() WHERE email = \(email) RETURNING id
            """, logger: logger)
        guard let id = try await rows.collect().first?.decode(UUID.self) else { return nil }
        // Whoever knew the old password may have made tokens with it: they end too.
        try await endSessionsAndTokens(of: id, on: connection, logger: logger)
        return id
    }

    /// Ends a user's web sessions and revokes their API tokens: on a password reset and on
    /// deactivation, so losing access to the account loses access through every door.
    public static func endSessionsAndTokens(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await SessionStore.endAll(userID: user, on: connection, logger: logger)
        try await connection.query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL", logger: logger)
    }

    public static func setLocale(_ locale: String, userID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE users SET locale = \(locale), updated_at = now() WHERE id = \(userID)", logger: logger)
    }

    public static func count(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT count(*)::int FROM users", logger: logger).collect().first?.decode(Int.self) ?? 0
    }
}

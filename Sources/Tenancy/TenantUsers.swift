import Foundation
import Logging
import Platform
import PostgresNIO

/// User administration of one tenant from outside it — `atrium-admin user …` locally and the
/// admin API's `/tenants/{slug}/users` — so both check, hash and audit the same way.
///
/// ```swift
/// let invited = try await TenantUsers.invite(.init(email: "li.lei@acme.cn", name: "李雷"), slug: "acme",
///                                            hasher: hasher, actor: "atrium-admin", on: conn, logger: logger)
/// print(invited.password)  // generated when none was given; shown once
/// ```
public enum TenantUsers {
    public struct Invitation: Sendable {
        public var email: String
        public var name: String
        public var password: String?
        public var locale: String
        public var isAdmin: Bool

        public init(email: String, name: String, password: String? = nil, locale: String = "zh-CN", isAdmin: Bool = false) {
            self.email = email
            self.name = name
            self.password = password
            self.locale = locale
            self.isAdmin = isAdmin
        }
    }

    public struct Member: Sendable, Codable {
        public let id: UUID
        public let email: String
        public let name: String
        public let locale: String
        public let admin: Bool
        public let active: Bool
        public let lastLoginAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, email, name, locale, admin, active
            case lastLoginAt = "last_login_at"
        }
    }

    /// The result of an invitation or a reset. `password` is there only when it was generated
    /// (a given one is never echoed): show it once — only its Argon2id hash is stored.
    public struct Credentials: Sendable, Codable {
        public let id: UUID
        public let email: String
        public let password: String?
    }

    static func tenant(_ slug: String, on connection: PostgresConnection, logger: Logger) async throws -> TenantInfo {
        guard let tenant = try await TenantDirectory.find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.tenantNotFound(slug)
        }
        return tenant
    }

    static func email(_ raw: String) throws -> String {
        guard let address = UserInputRules.normalisedEmail(raw) else { throw AtriumError.validation(field: "email", "'\(raw)' is not an email address") }
        return address
    }

    /// Checks the input before anything is hashed or written (bad input names its field).
    public static func validate(_ invitation: Invitation) throws -> (email: String, name: String) {
        let address = try email(invitation.email)
        if let problem = UserInputRules.displayNameProblem(invitation.name) { throw AtriumError.validation(field: "name", problem) }
        guard Localizer.supported.contains(invitation.locale) else { throw AtriumError.validation(field: "locale", "must be zh-CN or en") }
        if let password = invitation.password, let problem = PasswordPolicy.problem(with: password, email: address) { throw AtriumError.validation(field: "password", problem) }
        return (address, invitation.name.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Adds a user (the tenant's user limit applies) and audits it, in one transaction.
    public static func invite(_ invitation: Invitation, slug: String, hasher: PasswordHasher, actor: String,
                              on connection: PostgresConnection, logger: Logger) async throws -> Credentials {
        let (address, name) = try validate(invitation)
        let secret = invitation.password ?? SecureToken.readablePassword()
        let hash = try await hasher.hashOffLoop(secret)
        let tenant = try await tenant(slug, on: connection, logger: logger)
        let id = try await connection.inTenantTransaction(tenant.id, logger: logger) { conn in
            let id = try await UserStore.create(.init(email: address, displayName: name, locale: invitation.locale, passwordHash: hash, isAdmin: invitation.isAdmin),
                                                tenantID: tenant.id, on: conn, logger: logger)
            try await AuditLog.record(.init(action: "user.created", actor: .system(actor), entity: "user", recordID: id.uuidString,
                                            details: ["email": address, "admin": "\(invitation.isAdmin)"]),
                                      tenantID: tenant.id, on: conn, logger: logger)
            return id
        }
        return Credentials(id: id, email: address, password: invitation.password == nil ? secret : nil)
    }

    /// Sets a new password (given or generated), ends the user's sessions, audits it.
    public static func resetPassword(email raw: String, password: String?, slug: String, hasher: PasswordHasher, actor: String,
                                     on connection: PostgresConnection, logger: Logger) async throws -> Credentials {
        let address = try email(raw)
        if let password, let problem = PasswordPolicy.problem(with: password, email: address) { throw AtriumError.validation(field: "password", problem) }
        let secret = password ?? SecureToken.readablePassword()
        let hash = try await hasher.hashOffLoop(secret)
        let tenant = try await tenant(slug, on: connection, logger: logger)
        let id = try await connection.inTenantTransaction(tenant.id, logger: logger) { conn in
            guard let id = try await UserStore.setPasswordHash(hash, email: address, on: conn, logger: logger) else {
                throw TenancyError.userNotFound(email: address, tenant: slug)
            }
            try await AuditLog.record(.init(action: "user.password_reset", actor: .system(actor), entity: "user", recordID: id.uuidString),
                                      tenantID: tenant.id, on: conn, logger: logger)
            return id
        }
        return Credentials(id: id, email: address, password: password == nil ? secret : nil)
    }

    /// Removes a user's second factor (TOTP secret, recovery codes, remembered browsers) and ends
    /// their sessions and API tokens, audited as the operator: for a tenant whose only
    /// administrator lost their phone. Returns (sessions ended, tokens revoked).
    public static func resetTwoFactor(email raw: String, slug: String, actor: String,
                                      on connection: PostgresConnection, logger: Logger) async throws -> (sessions: Int, tokens: Int) {
        let address = try email(raw)
        let tenant = try await tenant(slug, on: connection, logger: logger)
        return try await connection.inTenantTransaction(tenant.id, logger: logger) { conn in
            guard let result = try await TwoFactor.resetByOperator(email: address, operator: actor, on: conn, logger: logger) else {
                throw TenancyError.userNotFound(email: address, tenant: slug)
            }
            return result
        }
    }

    public static func list(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> [Member] {
        let tenant = try await tenant(slug, on: connection, logger: logger)
        return try await connection.inTenantTransaction(tenant.id, logger: logger) { conn in
            var members: [Member] = []
            for try await (id, email, name, locale, admin, active, last) in try await conn.query("""
                SELECT id, email, display_name, locale, is_admin, is_active, last_login_at FROM users ORDER BY email
                """, logger: logger).decode((UUID, String, String, String, Bool, Bool, Date?).self) {
                members.append(Member(id: id, email: email, name: name, locale: locale, admin: admin, active: active, lastLoginAt: last))
            }
            return members
        }
    }
}

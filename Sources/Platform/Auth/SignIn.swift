import Foundation
import Logging
import PostgresNIO

/// One sign-in attempt: throttle check, password check off the event loop, session creation,
/// attempt record and audit entry. The failed-attempt record commits even though the sign-in
/// fails, so the lockout count is real.
public struct SignIn: Sendable {
    public enum Outcome: Sendable {
        case signedIn(token: String, user: AuthenticatedUser)
        case wrongCredentials
        case inactive
        case locked(until: Date)
        /// The password was right but the tenant's login ranges do not include the address.
        case addressNotAllowed
    }

    let database: Database
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let sessionLifetime: Duration
    /// Verified against when the email is unknown, so both cases take the same time.
    let decoyHash: String

    public init(database: Database, hasher: PasswordHasher, throttle: LoginThrottle, sessionLifetime: Duration) throws {
        self.database = database
        self.hasher = hasher
        self.throttle = throttle
        self.sessionLifetime = sessionLifetime
        self.decoyHash = try hasher.hash(SecureToken.generate())
    }

    public func attempt(email: String, password: String, tenantID: UUID, ip: String, userAgent: String?,
                        requestID: String?, logger: Logger) async throws -> Outcome {
        let throttle = self.throttle
        let (lockedUntil, credentials) = try await database.withTenant(tenantID, logger: logger) { connection in
            (try await throttle.lockedUntil(email: email, ip: ip, on: connection, logger: logger),
             try await UserStore.credentials(email: email, on: connection, logger: logger))
        }
        if let lockedUntil {
            try await database.withTenant(tenantID, logger: logger) { connection in
                try await throttle.record(email: email, ip: ip, succeeded: false, reason: "locked", on: connection, logger: logger)
            }
            return .locked(until: lockedUntil)
        }
        let passwordMatches = try await hasher.verifyOffLoop(password, against: credentials?.passwordHash ?? decoyHash)
        let lifetime = sessionLifetime
        return try await database.withTenant(tenantID, logger: logger) { connection in
            guard let credentials, passwordMatches else {
                try await throttle.record(email: email, ip: ip, succeeded: false,
                                          reason: credentials == nil ? "unknown_user" : "wrong_password", on: connection, logger: logger)
                try await AuditLog.record(.init(action: "user.login_failed", actor: .system("anonymous"), entity: "user",
                                                details: ["email": email], ip: ip, requestID: requestID),
                                          tenantID: tenantID, on: connection, logger: logger)
                return .wrongCredentials
            }
            guard credentials.isActive else {
                try await throttle.record(email: email, ip: ip, succeeded: false, reason: "inactive", on: connection, logger: logger)
                return .inactive
            }
            guard try await LoginRanges.allows(user: credentials.user.id, ip: ip, tokens: false, on: connection, logger: logger) else {
                // Not a guess: it does not count toward the lockout.
                try await throttle.record(email: email, ip: ip, succeeded: false, reason: "address", on: connection, logger: logger)
                try await AuditLog.record(.init(action: "user.login_refused_address", actor: .user(credentials.user), entity: "user",
                                                recordID: credentials.user.id.uuidString, details: ["ip": ip], ip: ip, requestID: requestID),
                                          tenantID: tenantID, on: connection, logger: logger)
                return .addressNotAllowed
            }
            try await throttle.record(email: email, ip: ip, succeeded: true, reason: "ok", on: connection, logger: logger)
            try await SessionStore.purgeExpired(on: connection, logger: logger)
            let (token, _) = try await SessionStore.create(userID: credentials.user.id, tenantID: tenantID, lifetime: lifetime,
                                                           ip: ip, userAgent: userAgent, on: connection, logger: logger)
            try await connection.query("UPDATE users SET last_login_at = now() WHERE id = \(credentials.user.id)", logger: logger)
            try await AuditLog.record(.init(action: "user.login", actor: .user(credentials.user), entity: "user",
                                            recordID: credentials.user.id.uuidString, ip: ip, requestID: requestID),
                                      tenantID: tenantID, on: connection, logger: logger)
            return .signedIn(token: token, user: credentials.user)
        }
    }
}

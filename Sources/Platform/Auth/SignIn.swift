import Foundation
import Logging
import PostgresNIO

/// One sign-in attempt: throttle check, password check off the event loop, session creation,
/// attempt record and audit entry. The failed-attempt record commits even though the sign-in
/// fails, so the lockout count is real.
///
/// With two-factor sign-in (``TwoFactor``) a right password makes no session: it opens a
/// pending second step (``Outcome/secondFactor(challenge:enrol:)``) that a code, a recovery code
/// or — for a user the tenant requires it of who has none yet — an enrolment completes
/// (`SignIn+TwoFactor.swift`). A browser remembered for 30 days skips the code.
public struct SignIn: Sendable {
    public enum Outcome: Sendable {
        case signedIn(token: String, user: AuthenticatedUser)
        case wrongCredentials
        case inactive
        case locked(until: Date)
        /// The password was right but the tenant's login ranges do not include the address.
        case addressNotAllowed
        /// The password was right; the session comes after the second step named by the
        /// `challenge` token (its cookie): a code, or an enrolment when `enrol`.
        case secondFactor(challenge: String, enrol: Bool)
    }

    let database: Database
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let sessionLifetime: Duration
    /// Opens stored TOTP secrets.
    let secretBox: TwoFactorSecretBox
    /// Verified against when the email is unknown, so both cases take the same time.
    let decoyHash: String

    public init(database: Database, hasher: PasswordHasher, throttle: LoginThrottle, sessionLifetime: Duration,
                secretBox: TwoFactorSecretBox = TwoFactorSecretBox(key: nil)) throws {
        self.database = database
        self.secretBox = secretBox
        self.hasher = hasher
        self.throttle = throttle
        self.sessionLifetime = sessionLifetime
        self.decoyHash = try hasher.hash(SecureToken.generate())
    }

    /// `rememberedDevice` is the browser's remembered-device cookie, if any.
    public func attempt(email: String, password: String, tenantID: UUID, ip: String, userAgent: String?,
                        requestID: String?, rememberedDevice: String? = nil, logger: Logger) async throws -> Outcome {
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
            let twoFactor = try await TwoFactor.status(of: credentials.user.id, on: connection, logger: logger)
            var remembered = false
            if twoFactor.enabled {
                remembered = try await TwoFactor.isRemembered(rememberedDevice, user: credentials.user.id, on: connection, logger: logger)
            }
            if (twoFactor.enabled && !remembered) || (twoFactor.required && !twoFactor.enabled) {
                // Not a success yet (the pair's failure count stays), not a failure either.
                try await throttle.record(email: email, ip: ip, succeeded: false, reason: SignIn.secondFactorPending, on: connection, logger: logger)
                let challenge = try await TwoFactor.createChallenge(user: credentials.user.id, email: email, purpose: twoFactor.enabled ? .verify : .enrol,
                                                                    tenantID: tenantID, on: connection, logger: logger)
                return .secondFactor(challenge: challenge, enrol: !twoFactor.enabled)
            }
            let token = try await startSession(user: credentials.user, email: email, method: remembered ? "remembered_device" : "password",
                                               tenantID: tenantID, ip: ip, userAgent: userAgent, requestID: requestID, lifetime: lifetime,
                                               on: connection, logger: logger)
            return .signedIn(token: token, user: credentials.user)
        }
    }

    /// The `login_attempts` reason of a right password awaiting its second step: neither a
    /// success (which would clear the failure count that wrong codes add to) nor a failure.
    public static let secondFactorPending = "second_factor"

    /// The end of every successful sign-in: attempt record, session, last login, audit.
    func startSession(user: AuthenticatedUser, email: String, method: String, tenantID: UUID, ip: String, userAgent: String?, requestID: String?,
                      lifetime: Duration, on connection: PostgresConnection, logger: Logger) async throws -> String {
        try await throttle.record(email: email, ip: ip, succeeded: true, reason: "ok", on: connection, logger: logger)
        try await SessionStore.purgeExpired(on: connection, logger: logger)
        let (token, _) = try await SessionStore.create(userID: user.id, tenantID: tenantID, lifetime: lifetime,
                                                       ip: ip, userAgent: userAgent, on: connection, logger: logger)
        try await connection.query("UPDATE users SET last_login_at = now() WHERE id = \(user.id)", logger: logger)
        try await AuditLog.record(.init(action: "user.login", actor: .user(user), entity: "user",
                                        recordID: user.id.uuidString, details: ["method": method], ip: ip, requestID: requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
        return token
    }
}

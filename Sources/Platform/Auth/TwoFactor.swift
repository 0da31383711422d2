import Foundation
import Logging
import PostgresNIO

/// Who does a two-factor change, for its audit entry.
public struct TwoFactorActor: Sendable {
    public let user: AuthenticatedUser
    public let ip: String?
    public let requestID: String?

    public init(user: AuthenticatedUser, ip: String?, requestID: String?) {
        self.user = user
        self.ip = ip
        self.requestID = requestID
    }
}

/// TOTP two-factor sign-in of a tenant's users (issue 23): enrolment, code and recovery-code
/// checks, remembered browsers, the administrator's reset and the tenant's requirement.
/// Every method runs on a connection inside the tenant's transaction (RLS keeps it there) and
/// audits what it changes in that transaction. Secrets, codes and tokens are never logged.
public enum TwoFactor {
    public static let recoveryCodeCount = 10
    public static let rememberDays = 30
    public static let challengeMinutes = 10
    public static let issuer = "Atrium"

    public struct Status: Sendable {
        public let enabled: Bool
        public let enabledAt: Date?
        public let recoveryCodesLeft: Int
        public let rememberedDevices: Int
        public let required: Bool
    }

    public static func status(of userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Status {
        let row = try await connection.query("""
            SELECT (SELECT enabled_at FROM user_two_factor WHERE user_id = \(userID) AND enabled_at IS NOT NULL),
                   (SELECT count(*)::int FROM two_factor_recovery_codes WHERE user_id = \(userID) AND used_at IS NULL),
                   (SELECT count(*)::int FROM two_factor_devices WHERE user_id = \(userID) AND expires_at > now())
            """, logger: logger).one((Date?, Int, Int).self)
        return Status(enabled: row.0 != nil, enabledAt: row.0, recoveryCodesLeft: row.1, rememberedDevices: row.2,
                      required: try await isRequired(for: userID, on: connection, logger: logger))
    }

    // MARK: Enrolment

    /// The pending secret of an enrolment (made on first call, the same on a reload so the QR
    /// code on the screen stays the one scanned); nil when two-factor sign-in is already on.
    public static func pendingSecret(for userID: UUID, box: TwoFactorSecretBox, on connection: PostgresConnection, logger: Logger) async throws -> [UInt8]? {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        let rows = try await connection.query("SELECT secret, enabled_at IS NOT NULL FROM user_two_factor WHERE user_id = \(userID)", logger: logger).collect()
        if let row = rows.first {
            let (stored, enabled) = try row.decode((String, Bool).self)
            if enabled { return nil }
            return try box.open(stored, tenantID: tenantID, userID: userID)
        }
        let secret = TOTP.newSecret()
        try await connection.query("""
            INSERT INTO user_two_factor (tenant_id, user_id, secret) VALUES (\(tenantID), \(userID), \(try box.seal(secret, tenantID: tenantID, userID: userID)))
            """, logger: logger)
        return secret
    }

    /// Switches two-factor sign-in on when `code` is a current code of the pending secret, and
    /// returns the new recovery codes (shown once); nil for a wrong code.
    public static func confirmEnrolment(code: String, by actor: TwoFactorActor, box: TwoFactorSecretBox, now: Date = Date(),
                                        on connection: PostgresConnection, logger: Logger) async throws -> [String]? {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        let userID = actor.user.id
        guard let row = try await connection.query("""
            SELECT secret FROM user_two_factor WHERE user_id = \(userID) AND enabled_at IS NULL FOR UPDATE
            """, logger: logger).collect().first else {
            throw AtriumError.validation(field: "code", "there is no enrolment to confirm; open the two-factor page again")
        }
        let secret = try box.open(try row.decode(String.self), tenantID: tenantID, userID: userID)
        guard let step = TOTP(secret: secret).matchingStep(code, at: now) else { return nil }
        // Re-sealed on the way in: a secret made before the server had a key gets encrypted now.
        try await connection.query("""
            UPDATE user_two_factor SET enabled_at = now(), last_used_step = \(step), secret = \(try box.seal(secret, tenantID: tenantID, userID: userID))
            WHERE user_id = \(userID)
            """, logger: logger)
        let codes = try await replaceRecoveryCodes(of: userID, tenantID: tenantID, on: connection, logger: logger)
        try await audit("user.two_factor_enabled", actor: actor, user: userID, details: ["recovery_codes": "\(codes.count)"],
                        tenantID: tenantID, on: connection, logger: logger)
        return codes
    }

    /// New recovery codes for a user who has two-factor sign-in on (the old ones stop working).
    public static func regenerateRecoveryCodes(by actor: TwoFactorActor, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        guard try await status(of: actor.user.id, on: connection, logger: logger).enabled else {
            throw AtriumError(status: .unprocessableContent, code: "two_factor_not_enabled", message: "two-factor sign-in is not on", field: "password")
        }
        let codes = try await replaceRecoveryCodes(of: actor.user.id, tenantID: tenantID, on: connection, logger: logger)
        try await audit("user.recovery_codes_regenerated", actor: actor, user: actor.user.id, details: ["recovery_codes": "\(codes.count)"],
                        tenantID: tenantID, on: connection, logger: logger)
        return codes
    }

    /// The user turns two-factor sign-in off themselves (password re-entered by the caller);
    /// refused while the tenant requires it of them.
    public static func disable(by actor: TwoFactorActor, on connection: PostgresConnection, logger: Logger) async throws {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        if try await isRequired(for: actor.user.id, on: connection, logger: logger) {
            throw AtriumError(status: .unprocessableContent, code: "two_factor_required",
                              message: "your organisation requires two-factor sign-in; you can replace your recovery codes instead", field: "password")
        }
        let removed = try await remove(of: actor.user.id, on: connection, logger: logger)
        guard removed else { throw AtriumError(status: .unprocessableContent, code: "two_factor_not_enabled", message: "two-factor sign-in is not on", field: "password") }
        try await audit("user.two_factor_disabled", actor: actor, user: actor.user.id, details: [:], tenantID: tenantID, on: connection, logger: logger)
    }

    /// An administrator's reset of another user's second factor (a lost phone): secret, recovery
    /// codes and remembered browsers go, and so do the user's sessions and API tokens — whoever
    /// holds them may be the one who took the phone. Returns (sessions ended, tokens revoked).
    public static func reset(user userID: UUID, by actor: TwoFactorActor, on connection: PostgresConnection, logger: Logger) async throws -> (sessions: Int, tokens: Int) {
        guard userID != actor.user.id else {
            throw AtriumError.validation(field: "user", "you cannot reset your own two-factor sign-in here; use your security page")
        }
        return try await reset(user: userID, auditedAs: .user(actor.user), ip: actor.ip, requestID: actor.requestID, on: connection, logger: logger)
    }

    /// The operator's reset (`atrium-admin user reset-2fa`), for a tenant whose only
    /// administrator lost their phone and their recovery codes.
    public static func resetByOperator(email: String, operator name: String, on connection: PostgresConnection, logger: Logger) async throws -> (sessions: Int, tokens: Int)? {
        guard let userID = try await connection.query("SELECT id FROM users WHERE email = \(email)", logger: logger).collect().first?.decode(UUID.self) else {
            return nil
        }
        return try await reset(user: userID, auditedAs: .system(name), ip: nil, requestID: nil, on: connection, logger: logger)
    }

    static func reset(user userID: UUID, auditedAs actor: AuditLog.Actor, ip: String?, requestID: String?,
                      on connection: PostgresConnection, logger: Logger) async throws -> (sessions: Int, tokens: Int) {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        guard try await connection.query("SELECT 1 FROM users WHERE id = \(userID)", logger: logger).collect().count == 1 else {
            throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(userID.uuidString.lowercased())")
        }
        let had = try await remove(of: userID, on: connection, logger: logger)
        let tokens = try await connection.query("""
            SELECT count(*)::int FROM api_tokens WHERE user_id = \(userID) AND revoked_at IS NULL
            """, logger: logger).one(Int.self)
        let sessions = try await connection.query("SELECT count(*)::int FROM sessions WHERE user_id = \(userID)", logger: logger).one(Int.self)
        try await UserStore.endSessionsAndTokens(of: userID, on: connection, logger: logger)
        try await AuditLog.record(.init(action: "user.two_factor_reset", actor: actor, entity: "user", recordID: userID.uuidString.lowercased(),
                                        details: ["was_enabled": "\(had)", "sessions_ended": "\(sessions)", "tokens_revoked": "\(tokens)"],
                                        ip: ip, requestID: requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
        return (sessions, tokens)
    }

    /// Deletes a user's secret, recovery codes, remembered browsers and pending second steps;
    /// whether two-factor sign-in was on.
    static func remove(of userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let had = try await connection.query("DELETE FROM user_two_factor WHERE user_id = \(userID) RETURNING enabled_at IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        try await connection.query("DELETE FROM two_factor_recovery_codes WHERE user_id = \(userID)", logger: logger)
        try await connection.query("DELETE FROM two_factor_devices WHERE user_id = \(userID)", logger: logger)
        try await connection.query("DELETE FROM two_factor_challenges WHERE user_id = \(userID)", logger: logger)
        return had
    }

    // MARK: Codes

    /// What a second step was proven with.
    public enum Proof: String, Sendable {
        case totp, recoveryCode = "recovery_code"
    }

    /// Checks a 6-digit code (each time step at most once: a code seen once, or one older than
    /// the last used, is refused) or a recovery code (used up by this); nil when neither fits.
    /// Using a recovery code is audited with how many are left.
    public static func verify(_ input: String, user: AuthenticatedUser, box: TwoFactorSecretBox, ip: String?, requestID: String?, now: Date = Date(),
                              on connection: PostgresConnection, logger: Logger) async throws -> Proof? {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        let compact = input.filter { !$0.isWhitespace && $0 != "-" }.lowercased()
        if compact.count == 6, compact.allSatisfy(\.isNumber) {
            guard let row = try await connection.query("""
                SELECT secret FROM user_two_factor WHERE user_id = \(user.id) AND enabled_at IS NOT NULL
                """, logger: logger).collect().first else { return nil }
            let secret = try box.open(try row.decode(String.self), tenantID: tenantID, userID: user.id)
            guard let step = TOTP(secret: secret).matchingStep(compact, at: now) else { return nil }
            // The condition makes concurrent uses of one code race for a single row update.
            let claimed = try await connection.query("""
                UPDATE user_two_factor SET last_used_step = \(step) WHERE user_id = \(user.id) AND last_used_step < \(step) RETURNING 1
                """, logger: logger).collect().count == 1
            return claimed ? .totp : nil
        }
        guard compact.count == 12 else { return nil }
        let used = try await connection.query("""
            UPDATE two_factor_recovery_codes SET used_at = now()
            WHERE user_id = \(user.id) AND code_hash = \(recoveryHash(compact, userID: user.id)) AND used_at IS NULL
              AND EXISTS (SELECT 1 FROM user_two_factor t WHERE t.user_id = \(user.id) AND t.enabled_at IS NOT NULL)
            RETURNING 1
            """, logger: logger).collect().count == 1
        guard used else { return nil }
        let left = try await connection.query("""
            SELECT count(*)::int FROM two_factor_recovery_codes WHERE user_id = \(user.id) AND used_at IS NULL
            """, logger: logger).one(Int.self)
        try await audit("user.recovery_code_used", actor: TwoFactorActor(user: user, ip: ip, requestID: requestID), user: user.id,
                        details: ["recovery_codes_left": "\(left)"], tenantID: tenantID, on: connection, logger: logger)
        return .recoveryCode
    }

    static let recoveryAlphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")

    /// 12 characters from 31 unambiguous ones (≈ 59 bits), shown as `xxxx-xxxx-xxxx`.
    static func newRecoveryCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = String((0..<12).map { _ in recoveryAlphabet.randomElement(using: &generator)! })
        return [raw.prefix(4), raw.dropFirst(4).prefix(4), raw.suffix(4)].joined(separator: "-")
    }

    /// SHA-256 over the user id and the normalised code: one-way, and equal codes of two users
    /// hash differently. (A fast hash is enough for ~59 random bits; Argon2 would cost 0.3 s per
    /// code tried at sign-in.)
    static func recoveryHash(_ normalised: String, userID: UUID) -> String {
        SecureToken.hash("atrium-recovery:\(userID.uuidString.lowercased()):\(normalised)")
    }

    static func replaceRecoveryCodes(of userID: UUID, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query("DELETE FROM two_factor_recovery_codes WHERE user_id = \(userID)", logger: logger)
        var codes: [String] = []
        while codes.count < recoveryCodeCount {
            let code = newRecoveryCode()
            if codes.contains(code) { continue }
            codes.append(code)
            let normalised = code.replacingOccurrences(of: "-", with: "")
            try await connection.query("""
                INSERT INTO two_factor_recovery_codes (tenant_id, user_id, code_hash) VALUES (\(tenantID), \(userID), \(recoveryHash(normalised, userID: userID)))
                """, logger: logger)
        }
        return codes
    }

    // MARK: Remembered browsers

    /// Remembers this browser for ``rememberDays``: the cookie gets the token, the table its hash.
    public static func rememberDevice(user userID: UUID, ip: String?, userAgent: String?, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        let token = SecureToken.generate()
        try await connection.query("DELETE FROM two_factor_devices WHERE user_id = \(userID) AND expires_at <= now()", logger: logger)
        try await connection.query("""
            INSERT INTO two_factor_devices (tenant_id, token_hash, user_id, ip, user_agent, expires_at)
            VALUES (\(tenantID), \(SecureToken.hash(token)), \(userID), \(ip), \(userAgent.map { String($0.prefix(300)) }),
                    now() + make_interval(secs => \(rememberDays * 86400)))
            """, logger: logger)
        return token
    }

    public static func isRemembered(_ token: String?, user userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard let token, !token.isEmpty else { return false }
        return try await connection.query("""
            SELECT 1 FROM two_factor_devices WHERE token_hash = \(SecureToken.hash(token)) AND user_id = \(userID) AND expires_at > now()
            """, logger: logger).collect().count == 1
    }

    public static func forgetDevices(by actor: TwoFactorActor, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        let count = try await connection.query("DELETE FROM two_factor_devices WHERE user_id = \(actor.user.id) RETURNING 1", logger: logger).collect().count
        try await audit("user.two_factor_devices_forgotten", actor: actor, user: actor.user.id, details: ["devices": "\(count)"],
                        tenantID: tenantID, on: connection, logger: logger)
        return count
    }

    // MARK: Pending second steps

    public enum Purpose: String, Sendable { case verify, enrol }

    /// A pending second step after a right password: the cookie gets the token, the table its hash.
    static func createChallenge(user userID: UUID, email: String, purpose: Purpose, tenantID: UUID,
                                on connection: PostgresConnection, logger: Logger) async throws -> String {
        let token = SecureToken.generate()
        try await connection.query("DELETE FROM two_factor_challenges WHERE expires_at <= now()", logger: logger)
        try await connection.query("""
            INSERT INTO two_factor_challenges (tenant_id, token_hash, user_id, purpose, email, expires_at)
            VALUES (\(tenantID), \(SecureToken.hash(token)), \(userID), \(purpose.rawValue), \(email), now() + make_interval(secs => \(challengeMinutes * 60)))
            """, logger: logger)
        return token
    }

    public struct Challenge: Sendable {
        public let tokenHash: String
        public let user: AuthenticatedUser
        public let email: String
        public let purpose: Purpose
    }

    /// The live pending step for a cookie token, with its (still active) user.
    public static func challenge(_ token: String?, on connection: PostgresConnection, logger: Logger) async throws -> Challenge? {
        guard let token, !token.isEmpty else { return nil }
        let hash = SecureToken.hash(token)
        let rows = try await connection.query("""
            SELECT u.id, u.email, u.display_name, u.locale, u.is_admin, c.email, c.purpose
            FROM two_factor_challenges c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id AND u.is_active
            WHERE c.token_hash = \(hash) AND c.expires_at > now()
            """, logger: logger)
        for try await (id, email, name, locale, isAdmin, attempted, purpose) in rows.decode((UUID, String, String, String, Bool, String, String).self) {
            return Challenge(tokenHash: hash, user: AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: isAdmin),
                             email: attempted, purpose: Purpose(rawValue: purpose) ?? .verify)
        }
        return nil
    }

    static func endChallenge(_ hash: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM two_factor_challenges WHERE token_hash = \(hash)", logger: logger)
    }

    static func audit(_ action: String, actor: TwoFactorActor, user: UUID, details: [String: String], tenantID: UUID,
                      on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: "user", recordID: user.uuidString.lowercased(),
                                        details: details, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
    }
}

import Foundation
import Logging
import PostgresNIO

/// The second step of a sign-in: a code from the authenticator app or a recovery code, or — for
/// someone the tenant requires it of who has none — the enrolment itself. The session is made
/// only here. Wrong codes count toward the same lockout as wrong passwords (per e-mail and
/// address, and per address across e-mails), and a locked pair is refused before any code is
/// looked at.
extension SignIn {
    public enum SecondStep: Sendable {
        /// `device` is a new remembered-device token when asked for; `recoveryCodes` are the
        /// codes of a just-finished enrolment, to show once.
        case signedIn(token: String, user: AuthenticatedUser, device: String?, recoveryCodes: [String]?)
        case wrongCode
        /// No such pending step (unknown, expired, used, or the user deactivated): sign in again.
        case expired
        case locked(until: Date)
    }

    /// The pending step for the cookie token (for the page), with the enrolment's secret when it
    /// is one.
    public func pendingStep(_ token: String?, tenantID: UUID, logger: Logger) async throws -> (challenge: TwoFactor.Challenge, secret: [UInt8]?)? {
        let box = secretBox
        return try await database.withTenant(tenantID, logger: logger) { connection in
            guard let challenge = try await TwoFactor.challenge(token, on: connection, logger: logger) else { return nil }
            guard challenge.purpose == .enrol else { return (challenge, nil) }
            guard let secret = try await TwoFactor.pendingSecret(for: challenge.user.id, box: box, on: connection, logger: logger) else {
                return nil  // enrolled meanwhile in another browser: sign in again
            }
            return (challenge, secret)
        }
    }

    public func secondStep(challenge token: String?, code: String, remember: Bool, tenantID: UUID, ip: String, userAgent: String?,
                           requestID: String?, now: Date = Date(), logger: Logger) async throws -> SecondStep {
        let throttle = self.throttle
        let box = secretBox
        let lifetime = sessionLifetime
        return try await database.withTenant(tenantID, logger: logger) { connection in
            guard let challenge = try await TwoFactor.challenge(token, on: connection, logger: logger) else { return .expired }
            if let until = try await throttle.lockedUntil(email: challenge.email, ip: ip, on: connection, logger: logger) {
                try await throttle.record(email: challenge.email, ip: ip, succeeded: false, reason: "locked", on: connection, logger: logger)
                return .locked(until: until)
            }
            let user = challenge.user
            var recoveryCodes: [String]?
            let method: String
            switch challenge.purpose {
            case .verify:
                let proof = try await TwoFactor.verify(code, user: user, box: box, ip: ip, requestID: requestID, now: now, on: connection, logger: logger)
                method = proof.map { "password+\($0.rawValue)" } ?? ""
            case .enrol:
                recoveryCodes = try await TwoFactor.confirmEnrolment(code: code, by: TwoFactorActor(user: user, ip: ip, requestID: requestID), box: box,
                                                                     now: now, on: connection, logger: logger)
                method = "password+totp_enrolment"
            }
            guard !method.isEmpty, challenge.purpose == .verify || recoveryCodes != nil else {
                try await throttle.record(email: challenge.email, ip: ip, succeeded: false, reason: "wrong_code", on: connection, logger: logger)
                // A pending step takes as many wrong codes as the lockout allows, then the password is asked again.
                try await connection.query("""
                    UPDATE two_factor_challenges SET failures = failures + 1,
                           expires_at = CASE WHEN failures + 1 >= \(throttle.policy.maxFailures) THEN now() ELSE expires_at END
                    WHERE token_hash = \(challenge.tokenHash)
                    """, logger: logger)
                try await AuditLog.record(.init(action: "user.login_failed", actor: .user(user), entity: "user", recordID: user.id.uuidString,
                                                details: ["reason": "wrong_code"], ip: ip, requestID: requestID),
                                          tenantID: tenantID, on: connection, logger: logger)
                return .wrongCode
            }
            try await TwoFactor.endChallenge(challenge.tokenHash, on: connection, logger: logger)
            let session = try await startSession(user: user, email: challenge.email, method: method, tenantID: tenantID, ip: ip, userAgent: userAgent,
                                                 requestID: requestID, lifetime: lifetime, on: connection, logger: logger)
            var device: String?
            if remember { device = try await TwoFactor.rememberDevice(user: user.id, ip: ip, userAgent: userAgent, on: connection, logger: logger) }
            return .signedIn(token: session, user: user, device: device, recoveryCodes: recoveryCodes)
        }
    }
}

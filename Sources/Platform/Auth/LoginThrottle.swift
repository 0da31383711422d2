import Foundation
import Logging
import PostgresNIO

/// Locks sign-in for an email + client address after repeated failures, and for a client
/// address across all emails when it sprays passwords over many accounts.
///
/// With the defaults, five failed attempts within fifteen minutes lock that pair for fifteen
/// minutes from the fifth failure; twenty failed attempts from one address within fifteen
/// minutes, whatever the emails, lock that address for the tenant likewise. Attempts made
/// while locked are recorded but do not extend the lock. A successful sign-in clears the
/// pair's count (not the address's: one known password must not reopen the spray). Attempts
/// live in `login_attempts` (per tenant, under RLS), so every app node sees the same count.
/// A wrong two-factor code is a failure like a wrong password; a right password awaiting its
/// second step (`second_factor`) counts neither way, so it cannot reset the count.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        public var maxFailures = 5
        /// Failed attempts from one address, over every email, that lock the address.
        public var maxAddressFailures = 20
        public var lockoutMinutes = 15
        public init() {}
    }

    public let policy: Policy

    public init(policy: Policy) {
        self.policy = policy
    }

    /// When the pair or the address is locked, the moment the lock ends.
    public func lockedUntil(email: String, ip: String, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        let window = policy.lockoutMinutes * 60
        let rows = try await connection.query("""
            WITH last_success AS (
                SELECT coalesce(max(at), '-infinity'::timestamptz) AS at FROM login_attempts
                WHERE email = \(email) AND ip = \(ip) AND succeeded
            ), failures AS (
                SELECT a.at FROM login_attempts a, last_success s
                WHERE a.email = \(email) AND a.ip = \(ip) AND NOT a.succeeded AND a.reason NOT IN ('locked', 'address', 'second_factor')
                  AND a.at > s.at AND a.at > now() - make_interval(secs => \(window))
                ORDER BY a.at DESC
            ), address_failures AS (
                SELECT at FROM login_attempts
                WHERE ip = \(ip) AND NOT succeeded AND reason NOT IN ('locked', 'address', 'second_factor') AND at > now() - make_interval(secs => \(window))
                ORDER BY at DESC
            )
            -- The later of the two locks (greatest ignores a NULL: no lock of that kind).
            SELECT greatest((SELECT at FROM failures OFFSET \(policy.maxFailures - 1) LIMIT 1),
                            (SELECT at FROM address_failures OFFSET \(policy.maxAddressFailures - 1) LIMIT 1))
                   + make_interval(secs => \(window))
            """, logger: logger)
        guard let until = try await rows.collect().first?.decode(Date?.self) else { return nil }
        return until > Date() ? until : nil
    }

    public func record(email: String, ip: String, succeeded: Bool, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO login_attempts (tenant_id, email, ip, succeeded, reason)
            VALUES ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(email), \(ip), \(succeeded), \(reason))
            """, logger: logger)
    }
}

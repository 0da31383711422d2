import Foundation
import Logging
import Platform
import PostgresNIO

/// Resellers: accounts that sell and run tenants of their own, within a quota of tenants and
/// seats set by the operator.
///
/// **Seats** are the sum of `max_users` over the reseller's tenants (suspended ones included:
/// they keep their seats until deleted). The sum is what a reseller has *allocated*, so it can
/// be enforced when a tenant is created or imported, and each tenant's own user limit
/// (``PlanLimits``) keeps its active users within its share. A tenant with no user limit
/// (the enterprise plan) cannot be placed under a seat quota unless `max_users` is given.
///
/// ```swift
/// let reseller = try await ResellerDirectory.create(slug: "east", name: "East Partners",
///                                                   maxTenants: 20, maxSeats: 200, on: conn, logger: logger)
/// ```
public enum ResellerDirectory {
    public struct Reseller: Sendable, Codable, Equatable {
        public let id: UUID
        public let slug: String
        public let name: String
        public let maxTenants: Int?
        public let maxSeats: Int?
        /// Tenants the reseller has now, and the seats they hold.
        public let tenants: Int
        public let seats: Int

        enum CodingKeys: String, CodingKey {
            case id, slug, name, tenants, seats
            case maxTenants = "max_tenants", maxSeats = "max_seats"
        }
    }

    static let select = """
        SELECT r.id, r.slug, r.name, r.max_tenants, r.max_seats,
               (SELECT count(*)::int FROM tenants t WHERE t.reseller_id = r.id),
               (SELECT coalesce(sum(t.max_users), 0)::int FROM tenants t WHERE t.reseller_id = r.id)
        FROM resellers r
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [Reseller] {
        var result: [Reseller] = []
        for try await (id, slug, name, maxTenants, maxSeats, tenants, seats) in rows.decode((UUID, String, String, Int?, Int?, Int, Int).self) {
            result.append(Reseller(id: id, slug: slug, name: name, maxTenants: maxTenants, maxSeats: maxSeats, tenants: tenants, seats: seats))
        }
        return result
    }

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [Reseller] {
        try await decode(connection.query(PostgresQuery(unsafeSQL: select + " ORDER BY r.slug"), logger: logger))
    }

    public static func find(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> Reseller? {
        var binds = PostgresBindings()
        binds.append(slug)
        return try await decode(connection.query(PostgresQuery(unsafeSQL: select + " WHERE r.slug = $1", binds: binds), logger: logger)).first
    }

    public static func find(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Reseller? {
        var binds = PostgresBindings()
        binds.append(id)
        return try await decode(connection.query(PostgresQuery(unsafeSQL: select + " WHERE r.id = $1", binds: binds), logger: logger)).first
    }

    public static func require(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> Reseller {
        guard let reseller = try await find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.resellerNotFound(slug)
        }
        return reseller
    }

    static func checkQuotaValue(_ value: Int?, field: String) throws {
        if let value, value < 0 { throw AtriumError.validation(field: field, "must be 0 or more (or null for unlimited)") }
    }

    public static func create(slug: String, name: String, maxTenants: Int?, maxSeats: Int?,
                              on connection: PostgresConnection, logger: Logger) async throws -> Reseller {
        if slug.range(of: "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", options: .regularExpression) == nil {
            throw AtriumError.validation(field: "slug", "'\(slug)' must be 1-40 lower-case letters, digits or inner hyphens")
        }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 { throw AtriumError.validation(field: "name", "must be 1 to 200 characters") }
        try checkQuotaValue(maxTenants, field: "max_tenants")
        try checkQuotaValue(maxSeats, field: "max_seats")
        do {
            try await connection.query("""
                INSERT INTO resellers (slug, name, max_tenants, max_seats) VALUES (\(slug), \(name), \(maxTenants), \(maxSeats))
                """, logger: logger)
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw TenancyError.resellerTaken(slug)
        }
        return try await require(slug: slug, on: connection, logger: logger)
    }

    /// Sets a reseller's quota (nil = unlimited). Lowering it below what the reseller has
    /// is allowed: nothing is taken away, new tenants are refused until it fits again.
    public static func setQuota(slug: String, maxTenants: Int?, maxSeats: Int?, on connection: PostgresConnection, logger: Logger) async throws -> Reseller {
        try checkQuotaValue(maxTenants, field: "max_tenants")
        try checkQuotaValue(maxSeats, field: "max_seats")
        let updated = try await connection.query("""
            UPDATE resellers SET max_tenants = \(maxTenants), max_seats = \(maxSeats), updated_at = now() WHERE slug = \(slug) RETURNING id
            """, logger: logger).collect()
        guard !updated.isEmpty else { throw TenancyError.resellerNotFound(slug) }
        return try await require(slug: slug, on: connection, logger: logger)
    }

    /// Inside the transaction that adds a tenant: locks the reseller's row (so two creations
    /// at once cannot both take the last place) and refuses a tenant beyond its quota, with a
    /// 422 naming the limit (`max_tenants` or `max_seats`).
    public static func reserve(resellerID: UUID, seats: Int?, on connection: PostgresConnection, logger: Logger) async throws {
        guard let (slug, maxTenants, maxSeats) = try await connection.query(
            "SELECT slug, max_tenants, max_seats FROM resellers WHERE id = \(resellerID) FOR UPDATE", logger: logger
        ).collect().first?.decode((String, Int?, Int?).self) else {
            throw TenancyError.resellerNotFound(nil)
        }
        let (tenants, used) = try await connection.query("""
            SELECT count(*)::int, coalesce(sum(max_users), 0)::int FROM tenants WHERE reseller_id = \(resellerID)
            """, logger: logger).one((Int, Int).self)
        if let maxTenants, tenants + 1 > maxTenants {
            throw TenancyError.resellerTenantQuota(reseller: slug, maxTenants: maxTenants, tenants: tenants)
        }
        if let maxSeats {
            guard let seats else {
                throw TenancyError.resellerSeatQuota(reseller: slug, maxSeats: maxSeats, used: used, needs: nil)
            }
            if used + seats > maxSeats {
                throw TenancyError.resellerSeatQuota(reseller: slug, maxSeats: maxSeats, used: used, needs: seats)
            }
        }
    }
}

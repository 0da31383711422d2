import Foundation
import Logging
import Platform
import PostgresNIO

/// The platform's list of tenants (the `tenants` table, outside RLS: it is read before any
/// tenant is known). The application role may only read it; changes run as the owner
/// through `atrium-admin` (and, later, the admin API).
public enum TenantDirectory {
    static let columns = "id, slug, name, status, plan"

    public static func find(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> TenantInfo? {
        try await decode(connection.query("SELECT id, slug, name, status, plan FROM tenants WHERE slug = \(slug)", logger: logger)).first
    }

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [TenantInfo] {
        try await decode(connection.query("SELECT id, slug, name, status, plan FROM tenants ORDER BY slug", logger: logger))
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [TenantInfo] {
        var tenants: [TenantInfo] = []
        for try await (id, slug, name, status, plan) in rows.decode((UUID, String, String, String, String).self) {
            tenants.append(TenantInfo(id: id, slug: slug, name: name, status: status, plan: plan))
        }
        return tenants
    }

    /// Sets a tenant's status (`active` or `suspended`) and audits it. Suspending also ends
    /// every session of the tenant. Returns nil when no tenant has that slug.
    public static func setStatus(_ status: TenantStatus, slug: String, actor: String, on connection: PostgresConnection, logger: Logger) async throws -> TenantInfo? {
        try await connection.inTransaction(logger: logger) { connection in
            let rows = try await connection.query("""
                UPDATE tenants SET status = \(status.rawValue), updated_at = now() WHERE slug = \(slug)
                RETURNING id, slug, name, status, plan
                """, logger: logger)
            guard let tenant = try await decode(rows).first else { return nil }
            try await TenantScope.enter(tenant.id, on: connection, logger: logger)
            if status == .suspended {
                try await connection.query("DELETE FROM sessions", logger: logger)
            }
            try await AuditLog.record(.init(action: "tenant.\(status == .suspended ? "suspended" : "resumed")", actor: .system(actor),
                                            entity: "tenant", recordID: tenant.id.uuidString),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return tenant
        }
    }
}

public enum TenantStatus: String, Sendable, CaseIterable {
    case active, suspended
}

/// Usage figures shown by `atrium-admin tenant show`.
public struct TenantUsage: Sendable, Codable {
    public let users: Int
    public let activeSessions: Int
    public let modules: [String]
    public let lastLoginAt: Date?

    public static func read(tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> TenantUsage {
        try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
            let rows = try await connection.query("""
                SELECT (SELECT count(*)::int FROM users), (SELECT count(*)::int FROM sessions WHERE expires_at > now()),
                       (SELECT max(last_login_at) FROM users)
                """, logger: logger)
            let (users, sessions, lastLogin) = try await rows.collect().first!.decode((Int, Int, Date?).self)
            let modules = try await TenantModules.enabled(on: connection, logger: logger)
            return TenantUsage(users: users, activeSessions: sessions, modules: modules, lastLoginAt: lastLogin)
        }
    }
}

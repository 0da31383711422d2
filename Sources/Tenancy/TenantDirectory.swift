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

    /// The tenant of a request: found by slug and, when active, entered in the same statement
    /// (`app.tenant_id` and JIT off, as ``TenantScope/enter``), so the request's transaction
    /// needs no separate `set_config` round trip.
    public static func resolve(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> TenantInfo? {
        var binds = PostgresBindings()
        binds.append(slug)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT id, slug, name, status, plan,
                   set_config('app.tenant_id', CASE WHEN status = 'active' THEN id::text ELSE '' END, true), \(TenantScope.sessionSettings)
            FROM tenants WHERE slug = $1
            """, binds: binds), logger: logger)
        for try await (id, slug, name, status, plan, _, _, _) in rows.decode((UUID, String, String, String, String, String, String, String).self) {
            if status == TenantStatus.active.rawValue { RequestTransaction.adoptTenant(id, on: connection) }
            return TenantInfo(id: id, slug: slug, name: name, status: status, plan: plan)
        }
        return nil
    }

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [TenantInfo] {
        try await decode(connection.query("SELECT id, slug, name, status, plan FROM tenants ORDER BY slug", logger: logger))
    }

    /// The tenants of one reseller.
    public static func list(resellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [TenantInfo] {
        try await decode(connection.query("SELECT id, slug, name, status, plan FROM tenants WHERE reseller_id = \(resellerID) ORDER BY slug", logger: logger))
    }

    /// A tenant and the reseller it belongs to (nil: the operator's own).
    public static func findWithReseller(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> (tenant: TenantInfo, resellerID: UUID?)? {
        guard let (id, slug, name, status, plan, reseller) = try await connection.query(
            "SELECT id, slug, name, status, plan, reseller_id FROM tenants WHERE slug = \(slug)", logger: logger
        ).collect().first?.decode((UUID, String, String, String, String, UUID?).self) else { return nil }
        return (TenantInfo(id: id, slug: slug, name: name, status: status, plan: plan), reseller)
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

extension TenantDirectory {
    /// Every table that holds tenant rows (a `tenant_id` column), children before the tables
    /// they reference, so one `DELETE` per table never trips a foreign key.
    public static func tenantTables(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var tables: [String] = []
        for try await name in try await connection.query("""
            SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name
            """, logger: logger).decode(String.self) {
            tables.append(name)
        }
        var references: [String: Set<String>] = [:]  // table → tables it references
        for try await (from, to) in try await connection.query("""
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid
            """, logger: logger).decode((String, String).self) {
            references[from, default: []].insert(to)
        }
        // Repeatedly take the tables no remaining table references.
        var remaining = Set(tables)
        var order: [String] = []
        while !remaining.isEmpty {
            let free = remaining.filter { table in !remaining.contains { references[$0]?.contains(table) == true } }.sorted()
            guard !free.isEmpty else { throw AtriumError(status: .internalServerError, code: "fk_cycle", message: "foreign keys form a cycle among \(remaining.sorted())") }
            order += free
            remaining.subtract(free)
        }
        return order
    }

    /// Rows of the tenant per table (as the owner, inside the tenant's RLS scope).
    public static func rowCounts(tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [String: Int] {
        try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
            var counts: [String: Int] = [:]
            for table in try await tenantTables(on: connection, logger: logger) {
                var binds = PostgresBindings()
                binds.append(tenantID)
                counts[table] = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table) WHERE tenant_id = $1", binds: binds),
                                                           logger: logger).collect().first?.decode(Int.self) ?? 0
            }
            return counts
        }
    }

    /// Deletes a suspended tenant and every row it has in every table, in one transaction;
    /// returns the rows removed per table. An active tenant is refused (suspend first: the
    /// two steps make a deletion deliberate).
    public static func delete(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> [String: Int] {
        guard let tenant = try await find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.tenantNotFound(slug)
        }
        guard tenant.status == TenantStatus.suspended.rawValue else {
            throw TenancyError.tenantActive(slug: slug, status: tenant.status)
        }
        return try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
            var removed: [String: Int] = [:]
            for table in try await tenantTables(on: connection, logger: logger) {
                var binds = PostgresBindings()
                binds.append(tenant.id)
                removed[table] = try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE tenant_id = $1 RETURNING 1", binds: binds),
                                                            logger: logger).collect().count
            }
            try await connection.query("DELETE FROM tenants WHERE id = \(tenant.id)", logger: logger)
            logger.notice("tenant deleted", metadata: ["tenant": "\(slug)", "rows": "\(removed.values.reduce(0, +))"])
            return removed
        }
    }
}

extension TenantDirectory {
    public struct Limits: Sendable, Codable {
        public var maxUsers: Int?
        public var maxRecords: Int?
        public var trialEndsAt: Date?
        /// Attachment storage in MiB (nil: unlimited).
        public var maxStorageMB: Int?
        enum CodingKeys: String, CodingKey {
            case maxUsers = "max_users", maxRecords = "max_records", trialEndsAt = "trial_ends_at", maxStorageMB = "max_storage_mb"
        }
    }

    public static func limits(slug: String, on connection: PostgresConnection, logger: Logger) async throws -> Limits {
        guard let (users, records, trial, storage) = try await connection.query(
            "SELECT max_users, max_records, trial_ends_at, max_storage_mb FROM tenants WHERE slug = \(slug)", logger: logger
        ).collect().first?.decode((Int?, Int?, Date?, Int?).self) else {
            throw TenancyError.tenantNotFound(slug)
        }
        return Limits(maxUsers: users, maxRecords: records, trialEndsAt: trial, maxStorageMB: storage)
    }

    /// Sets a tenant's limits (nil = unlimited / no trial end), audited in the tenant.
    public static func setLimits(_ limits: Limits, slug: String, actor: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard let tenant = try await find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.tenantNotFound(slug)
        }
        try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
            try await connection.query("""
                UPDATE tenants SET max_users = \(limits.maxUsers), max_records = \(limits.maxRecords), trial_ends_at = \(limits.trialEndsAt),
                                   max_storage_mb = \(limits.maxStorageMB), updated_at = now()
                WHERE id = \(tenant.id)
                """, logger: logger)
            func shown(_ value: Int?) -> String { value.map(String.init) ?? "unlimited" }
            let details: [String: String] = [
                "max_users": shown(limits.maxUsers), "max_records": shown(limits.maxRecords), "max_storage_mb": shown(limits.maxStorageMB),
                "trial_ends_at": limits.trialEndsAt.map { ISO8601DateFormatter().string(from: $0) } ?? "none",
            ]
            try await AuditLog.record(.init(action: "tenant.limits_changed", actor: .system(actor), entity: "tenant", recordID: tenant.id.uuidString,
                                            details: details),
                                      tenantID: tenant.id, on: connection, logger: logger)
        }
    }

    /// Suspends every active tenant whose trial has ended (data kept); returns their slugs.
    public static func expireTrials(actor: String, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var expired: [String] = []
        for try await slug in try await connection.query("""
            SELECT slug FROM tenants WHERE status = 'active' AND trial_ends_at IS NOT NULL AND trial_ends_at < now() ORDER BY slug
            """, logger: logger).decode(String.self) {
            expired.append(slug)
        }
        for slug in expired { _ = try await setStatus(.suspended, slug: slug, actor: actor, on: connection, logger: logger) }
        return expired
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
    /// Live records per entity (the recycle bin not counted).
    public var records: [String: Int] = [:]
    /// Bytes of the tenant's record data and audit trail (PostgreSQL's column sizes).
    public var storageBytes: Int = 0
    /// Files attached to live records.
    public var attachments: Int = 0
    /// Bytes the tenant's files take in the file store (each stored content once, removed
    /// attachments' included: their bytes stay).
    public var fileBytes: Int = 0

    public static func read(tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> TenantUsage {
        try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
            let rows = try await connection.query("""
                SELECT (SELECT count(*)::int FROM users), (SELECT count(*)::int FROM sessions WHERE expires_at > now()),
                       (SELECT max(last_login_at) FROM users)
                """, logger: logger)
            let (users, sessions, lastLogin) = try await rows.one((Int, Int, Date?).self)
            let modules = try await TenantModules.enabled(on: connection, logger: logger)
            var usage = TenantUsage(users: users, activeSessions: sessions, modules: modules, lastLoginAt: lastLogin)
            for try await (entity, count) in try await connection.query(
                "SELECT entity, count(*)::int FROM records WHERE deleted_at IS NULL GROUP BY entity", logger: logger
            ).decode((String, Int).self) {
                usage.records[entity] = count
            }
            usage.storageBytes = try await connection.query("""
                SELECT (coalesce((SELECT sum(pg_column_size(r.*)) FROM records r), 0) + coalesce((SELECT sum(pg_column_size(a.*)) FROM audit_log a), 0))::bigint
                """, logger: logger).collect().first?.decode(Int.self) ?? 0
            usage.attachments = try await connection.query("SELECT count(*)::int FROM attachments WHERE deleted_at IS NULL", logger: logger).one(Int.self)
            usage.fileBytes = try await Attachments.storedBytes(on: connection, logger: logger)
            return usage
        }
    }
}

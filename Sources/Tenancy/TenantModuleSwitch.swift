import Foundation
import Logging
import Platform
import PostgresNIO

/// Switches a tenant's modules on and off (resellers, with `atrium-admin tenant modules`).
/// Disabling hides the module's menus, pages and API; its records stay, so enabling it again
/// restores everything. Enabling runs the module's set-up (e.g. the default sales pipeline)
/// as the tenant's first administrator.
public enum TenantModuleSwitch {
    public static func change(slug: String, enable: [String], disable: [String], catalog: ModuleCatalog, actor: String,
                              on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        guard let tenant = try await TenantDirectory.find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.tenantNotFound(slug)
        }
        for id in enable + disable where catalog.manifests[id] == nil {
            throw AtriumError.validation(field: "module", "'\(id)' is not in plugins.json; modules: \(catalog.entries.map(\.id).joined(separator: ", "))")
        }
        if let both = Set(enable).intersection(disable).first {
            throw AtriumError.validation(field: "module", "'\(both)' cannot be enabled and disabled at once")
        }
        return try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
            let current = Set(try await TenantModules.enabled(on: connection, logger: logger))
            let after = current.union(enable).subtracting(disable)
            for id in after.sorted() {
                for dependency in catalog.manifests[id]?.depends ?? [] where !after.contains(dependency) {
                    throw AtriumError.validation(field: "module", "'\(id)' depends on '\(dependency)', which would be disabled; enable it too or disable '\(id)'")
                }
            }
            try await TenantModules.enable(enable, on: connection, logger: logger)
            try await TenantModules.disable(disable, on: connection, logger: logger)
            if !enable.isEmpty {
                // Set-ups are idempotent, so re-enabling also repairs what is missing.
                try await setUp(catalog.entries.map(\.id).filter(enable.contains), slug: slug, catalog: catalog, on: connection, logger: logger)
            }
            try await AuditLog.record(.init(action: "tenant.modules_changed", actor: .system(actor), entity: "tenant", recordID: tenant.id.uuidString.lowercased(),
                                            details: ["enabled": enable.joined(separator: ","), "disabled": disable.joined(separator: ",")]),
                                      tenantID: tenant.id, on: connection, logger: logger)
            return after.sorted()
        }
    }

    /// Runs the set-up of `modules` (in catalog order) as the tenant's first active administrator.
    static func setUp(_ modules: [String], slug: String, catalog: ModuleCatalog, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("""
            SELECT id, email, display_name, locale FROM users WHERE is_admin AND is_active ORDER BY created_at, id LIMIT 1
            """, logger: logger).collect()
        guard let (id, email, name, locale) = try rows.first?.decode((UUID, String, String, String).self) else {
            throw TenancyError.noAdministrator(slug)
        }
        try await TenantModules.setUp(modules, catalog: catalog,
                                      user: AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: true),
                                      on: connection, logger: logger)
    }

    /// After an upgrade (`atrium-admin migrate`): runs the set-up of every tenant's enabled
    /// modules that has not run at the module's current version (`tenant_modules.set_up_version`),
    /// so tenants created before a module grew one (e.g. the sales pipeline) get it once.
    /// Each tenant's set-up runs in its own transaction: one that fails (e.g. a plan limit) is
    /// rolled back and reported, and the others still run. Tenants without an administrator
    /// are skipped.
    public struct SetUpReport: Sendable {
        public var done: [String] = []
        public var failed: [(slug: String, reason: String)] = []
    }

    /// `only`: these tenant slugs instead of all.
    public static func setUpAll(catalog: ModuleCatalog, only: Set<String>? = nil, on connection: PostgresConnection, logger: Logger) async throws -> SetUpReport {
        var report = SetUpReport()
        for tenant in try await TenantDirectory.list(on: connection, logger: logger) where only?.contains(tenant.slug) ?? true {
            do {
                let ok = try await connection.inTenantTransaction(tenant.id, logger: logger) { connection -> Bool in
                    let pending = try await TenantModules.needingSetUp(catalog: catalog, on: connection, logger: logger)
                    guard !pending.isEmpty else { return false }
                    try await setUp(pending, slug: tenant.slug, catalog: catalog, on: connection, logger: logger)
                    return true
                }
                if ok { report.done.append(tenant.slug) }
            } catch TenancyError.noAdministrator {
                continue
            } catch let error as any DomainError {
                report.failed.append((tenant.slug, error.message))
            } catch {
                report.failed.append((tenant.slug, DatabaseErrors.describe(error)))
            }
        }
        return report
    }
}

import Logging
import PostgresNIO

/// Which modules a tenant has switched on (`tenant_modules`). Disabling keeps the row and
/// the module's data; it only hides the module.
public enum TenantModules {
    public static func enabled(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var ids: [String] = []
        for try await id in try await connection.query(
            "SELECT module_id FROM tenant_modules WHERE enabled ORDER BY module_id", logger: logger
        ).decode(String.self) {
            ids.append(id)
        }
        return ids
    }

    public static func enable(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws {
        for id in ids {
            try await connection.query("""
                INSERT INTO tenant_modules (tenant_id, module_id)
                VALUES ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(id))
                ON CONFLICT (tenant_id, module_id) DO UPDATE SET enabled = true, changed_at = now()
                """, logger: logger)
        }
    }

    /// Switches modules off for the tenant of the transaction: their menus and API disappear,
    /// their records stay (enabling again restores everything).
    public static func disable(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws {
        for id in ids {
            try await connection.query("UPDATE tenant_modules SET enabled = false, changed_at = now() WHERE module_id = \(id)", logger: logger)
        }
    }

    /// Runs the set-up of each module in `ids` (idempotent: seeds only what is missing), as
    /// `user` with derived access, in the tenant transaction of `connection`.
    public static func setUp(_ ids: [String], catalog: ModuleCatalog, user: AuthenticatedUser, on connection: PostgresConnection, logger: Logger) async throws {
        let engine = RecordEngine(catalog: catalog)
        let actor = RecordEngine.Actor(user: user, access: .derived)
        for id in ids {
            guard let manifest = catalog.manifests[id] else { continue }
            try await DefaultRoles.grantDefaults(of: manifest, modules: catalog.modules, on: connection, logger: logger)
            try await manifest.setUp?(engine, actor, connection, logger)
            try await connection.query("UPDATE tenant_modules SET set_up_version = \(manifest.version) WHERE module_id = \(id)", logger: logger)
        }
    }

    /// Enabled modules whose set-up has not run at their current version.
    public static func needingSetUp(catalog: ModuleCatalog, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var ids: [String] = []
        for try await (id, version) in try await connection.query(
            "SELECT module_id, set_up_version FROM tenant_modules WHERE enabled ORDER BY module_id", logger: logger
        ).decode((String, String?).self) {
            if let manifest = catalog.manifests[id], manifest.setUp != nil, manifest.version != version { ids.append(id) }
        }
        return catalog.entries.map(\.id).filter(ids.contains)
    }
}

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
}

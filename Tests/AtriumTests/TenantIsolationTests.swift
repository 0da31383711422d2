import Foundation
import Platform
import PostgresNIO
import Testing

/// Row-Level Security, checked as the application role with hand-written SQL (no WHERE):
/// the database itself keeps tenants apart.
@Suite struct TenantIsolationTests {
    @Test func applicationRoleSeesOnlyItsTenantsRowsWithoutAnyWhereClause() async throws {
        let a = try await TestEnvironment.provisionTenant("iso-a")
        let b = try await TestEnvironment.provisionTenant("iso-b")
        let logger = TestEnvironment.logger
        let emails = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(a.info.id, logger: logger) { connection in
                var rows: [(UUID, String)] = []
                for try await row in try await connection.query("SELECT tenant_id, email FROM users", logger: logger).decode((UUID, String).self) {
                    rows.append(row)
                }
                return rows.map { "\($0.0.uuidString)|\($0.1)" }
            }
        }
        #expect(emails == ["\(a.info.id.uuidString)|\(a.adminEmail)"])
        #expect(!emails.contains { $0.contains(b.adminEmail) })
    }

    @Test func applicationRoleCannotInsertARowForAnotherTenant() async throws {
        let a = try await TestEnvironment.provisionTenant("iso-a")
        let b = try await TestEnvironment.provisionTenant("iso-b")
        let logger = TestEnvironment.logger
        let state: String? = try await TestEnvironment.withAppRole { connection in
            do {
                try await connection.inTenantTransaction(a.info.id, logger: logger) { connection in
                    try await connection.query("""
                        INSERT INTO tenant_modules (tenant_id, module_id) VALUES (\(b.info.id), 'sales_extra')
                        """, logger: logger)
                }
                return nil
            } catch {
                return DatabaseErrors.sqlState(error)
            }
        }
        #expect(state == "42501")  // insufficient_privilege: new row violates row-level security policy
        let count = try await TestEnvironment.withOwner { connection in
            try await connection.inTenantTransaction(b.info.id, logger: logger) { connection in
                try await connection.query("SELECT count(*)::int FROM tenant_modules WHERE module_id = 'sales_extra'", logger: logger)
                    .collect().first!.decode(Int.self)
            }
        }
        #expect(count == 0)
    }

    @Test func withNoTenantSetNoTenantRowIsVisible() async throws {
        _ = try await TestEnvironment.provisionTenant("iso-none")
        let logger = TestEnvironment.logger
        let counts = try await TestEnvironment.withAppRole { connection in
            try await connection.inTransaction(logger: logger) { connection in
                var counts: [Int] = []
                for table in ["users", "tenant_modules", "sessions", "login_attempts", "api_tokens", "audit_log"] {
                    counts.append(try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)"), logger: logger)
                        .collect().first!.decode(Int.self))
                }
                return counts
            }
        }
        #expect(counts == [0, 0, 0, 0, 0, 0])
    }

    @Test func applicationRoleHasNoBypassAndOwnsNoTable() async throws {
        let logger = TestEnvironment.logger
        let (superuser, bypass, owned, ownedByOwner) = try await TestEnvironment.withAppRole { connection in
            try await connection.query("""
                SELECT r.rolsuper, r.rolbypassrls,
                       (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid),
                       (SELECT count(*)::int FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                         WHERE c.relname = 'users' AND c.relnamespace = 'public'::regnamespace AND o.rolname <> r.rolname)
                FROM pg_roles r WHERE r.rolname = current_user
                """, logger: logger).collect().first!.decode((Bool, Bool, Int, Int).self)
        }
        #expect(!superuser)
        #expect(!bypass)
        #expect(owned == 0)
        #expect(ownedByOwner == 1)
    }

    @Test func everyTenantTableForcesRowLevelSecurityWithTenantIDLeadingItsKey() async throws {
        let logger = TestEnvironment.logger
        let rows = try await TestEnvironment.withAppRole { connection in
            var result: [String] = []
            let query: PostgresQuery = """
                SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                       (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                         WHERE i.indrelid = c.oid AND i.indisprimary)
                FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
                ORDER BY c.relname
                """
            for try await (name, enabled, forced, firstKey) in try await connection.query(query, logger: logger).decode((String, Bool, Bool, String?).self) {
                result.append("\(name):\(enabled):\(forced):\(firstKey ?? "-")")
            }
            return result
        }
        #expect(rows.count >= 6)
        for row in rows {
            #expect(row.hasSuffix(":true:true:tenant_id"), "table not isolated: \(row)")
        }
    }
}

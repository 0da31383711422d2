import Crypto
import Foundation

/// One versioned schema change: SQL statements applied in order in one transaction.
///
/// Statements may use `{{app_role}}` where the application role's name belongs (grants);
/// the migrator substitutes the quoted identifier. Never edit an applied migration: add a new one
/// (the migrator refuses to run when an applied migration's checksum changed).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// SHA-256 over the statements as written (before role substitution).
    public var checksum: String {
        let digest = SHA256.hash(data: Data(statements.joined(separator: ";\n").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// SQL that puts a tenant-owned table under Row-Level Security.
///
/// `FORCE` applies the policy to the table owner too; the sub-select makes PostgreSQL evaluate
/// the setting once per statement, and `NULLIF(…, '')` makes an unset tenant see no rows
/// instead of failing the uuid cast.
public enum TenantTable {
    public static let currentTenant = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"

    public static func isolate(_ table: String) -> [String] {
        [
            "ALTER TABLE \(table) ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE \(table) FORCE ROW LEVEL SECURITY",
            """
            CREATE POLICY tenant_isolation ON \(table)
                USING (tenant_id = \(currentTenant))
                WITH CHECK (tenant_id = \(currentTenant))
            """,
        ]
    }
}

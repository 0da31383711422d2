import Foundation
import Logging
import PostgresNIO

/// Applies pending ``Migration``s in version order, all in one transaction, and records them in
/// `schema_migrations`. Run it connected as the schema owner; it grants the application role
/// what each migration says and nothing more.
///
/// ```swift
/// let applied = try await Migrator(migrations: CoreMigrations.all, appRole: "atrium_app")
///     .migrate(on: ownerConnection, logger: logger)
/// ```
public struct Migrator: Sendable {
    public let migrations: [Migration]
    public let appRole: String

    public init(migrations: [Migration], appRole: String) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.appRole = appRole
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Returns the migrations it applied (empty when the schema was current).
    @discardableResult
    public func migrate(on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        guard appRole.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw Failure(description: "application role name '\(appRole)' is not a plain lower-case identifier")
        }
        let roleExists = try await connection.query(
            "SELECT count(*)::int FROM pg_roles WHERE rolname = \(appRole)", logger: logger
        ).collect().first?.decode(Int.self) ?? 0
        guard roleExists == 1 else {
            throw Failure(description: "the application role '\(appRole)' does not exist; create it first (see deploy/README.md)")
        }
        let versions = Set(migrations.map(\.version))
        guard versions.count == migrations.count else {
            throw Failure(description: "two migrations share a version number")
        }
        let migrations = self.migrations
        let appRole = self.appRole
        return try await connection.inTransaction(logger: logger) { connection in
            // One migrator at a time across processes; released at commit.
            try await connection.query("SELECT pg_advisory_xact_lock(727274)", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "GRANT SELECT ON schema_migrations TO \(appRole)"), logger: logger)
            var applied: [Int: String] = [:]
            for try await (version, checksum) in try await connection.query(
                "SELECT version, checksum FROM schema_migrations", logger: logger
            ).decode((Int, String).self) {
                applied[version] = checksum
            }
            var ran: [Migration] = []
            for migration in migrations {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw Failure(description: "migration \(migration.version) (\(migration.name)) was changed after it was applied; add a new migration instead")
                    }
                    continue
                }
                logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                for statement in migration.statements {
                    let sql = statement.replacingOccurrences(of: "{{app_role}}", with: "\"\(appRole)\"")
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    } catch {
                        throw Failure(description: "migration \(migration.version) (\(migration.name)) failed: \(DatabaseErrors.describe(error))")
                    }
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger
                )
                ran.append(migration)
            }
            return ran
        }
    }
}

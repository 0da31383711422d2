import Foundation
import Logging
import PostgresNIO

/// Applies pending ``Migration``s in version order, all in one transaction: the platform's
/// (recorded in `schema_migrations`), then each module's own group in the catalog's order
/// (recorded in `module_migrations` under the module's id, numbered from 1 per module). Run it
/// connected as the schema owner; it grants the application role what each migration says and
/// nothing more.
///
/// ```swift
/// let applied = try await Migrator(migrations: CoreMigrations.all, modules: [("sales", salesMigrations)], appRole: "atrium_app")
///     .migrate(on: ownerConnection, logger: logger)
/// ```
public struct Migrator: Sendable {
    public let migrations: [Migration]
    /// Each module's migrations, in the order the modules are applied (dependencies first).
    public let modules: [(id: String, migrations: [Migration])]
    public let appRole: String

    public init(migrations: [Migration], modules: [(id: String, migrations: [Migration])] = [], appRole: String) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.modules = modules.filter { !$0.migrations.isEmpty }.map { ($0.id, $0.migrations.sorted { $0.version < $1.version }) }
        self.appRole = appRole
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A migration this run applied: the platform's (`module` nil) or a module's.
    public struct Applied: Sendable, CustomStringConvertible {
        public let module: String?
        public let migration: Migration

        public var description: String {
            (module.map { "\($0) " } ?? "") + "\(migration.version) \(migration.name)"
        }
    }

    /// Returns the migrations it applied (empty when the schema was current).
    @discardableResult
    public func migrate(on connection: PostgresConnection, logger: Logger) async throws -> [Applied] {
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
        for (module, group) in modules where Set(group.map(\.version)).count != group.count {
            throw Failure(description: "two migrations of module '\(module)' share a version number")
        }
        let migrations = self.migrations
        let modules = self.modules
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
            var ran = try await Self.apply(migrations, group: nil, applied: applied, appRole: appRole, on: connection, logger: logger)
            guard !modules.isEmpty else { return ran }
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS module_migrations (
                    module text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (module, version)
                )
                """, logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "GRANT SELECT ON module_migrations TO \(appRole)"), logger: logger)
            for (module, group) in modules {
                var moduleApplied: [Int: String] = [:]
                for try await (version, checksum) in try await connection.query(
                    "SELECT version, checksum FROM module_migrations WHERE module = \(module)", logger: logger
                ).decode((Int, String).self) {
                    moduleApplied[version] = checksum
                }
                ran += try await Self.apply(group, group: module, applied: moduleApplied, appRole: appRole, on: connection, logger: logger)
            }
            return ran
        }
    }

    /// Runs the migrations of one group (`nil`: the platform's) that `applied` does not list,
    /// refusing any applied one whose statements changed.
    static func apply(_ migrations: [Migration], group: String?, applied: [Int: String], appRole: String,
                      on connection: PostgresConnection, logger: Logger) async throws -> [Applied] {
        var ran: [Applied] = []
        for migration in migrations {
            let title = group.map { "\($0) migration \(migration.version)" } ?? "migration \(migration.version)"
            if let checksum = applied[migration.version] {
                guard checksum == migration.checksum else {
                    throw Failure(description: "\(title) (\(migration.name)) was changed after it was applied; add a new migration instead")
                }
                continue
            }
            logger.info("applying migration", metadata: ["module": "\(group ?? "platform")", "version": "\(migration.version)", "name": "\(migration.name)"])
            for statement in migration.statements {
                let sql = statement.replacingOccurrences(of: "{{app_role}}", with: "\"\(appRole)\"")
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                } catch {
                    throw Failure(description: "\(title) (\(migration.name)) failed: \(DatabaseErrors.describe(error))")
                }
            }
            if let group {
                try await connection.query("""
                    INSERT INTO module_migrations (module, version, name, checksum)
                    VALUES (\(group), \(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
            } else {
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger
                )
            }
            ran.append(Applied(module: group, migration: migration))
        }
        return ran
    }
}

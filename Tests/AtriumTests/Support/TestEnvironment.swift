import AtriumApp
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Modules
import Platform
import PostgresNIO
import Tenancy
import Testing

/// The throwaway PostgreSQL that `make test` starts (scripts/with-test-db.sh) and helpers to
/// provision tenants and run the real application against it.
enum TestEnvironment {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var logger: Logger {
        var logger = Logger(label: "atrium-tests")
        logger.logLevel = .warning
        return logger
    }

    /// The server's configuration for tests: cheap Argon2 (production cost is set by
    /// configuration, not by code), an ephemeral port, the repository's plugins.json.
    static func configuration() throws -> AtriumConfiguration {
        var env = ProcessInfo.processInfo.environment
        guard env["DATABASE_URL"] != nil, env["DATABASE_OWNER_URL"] != nil else {
            throw ConfigurationError(variable: "DATABASE_URL/DATABASE_OWNER_URL",
                                     message: "are not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
        }
        env["ATRIUM_PORT"] = "0"
        env["ATRIUM_ARGON2_MEMORY_KIB"] = "1024"
        env["ATRIUM_ARGON2_ITERATIONS"] = "1"
        env["ATRIUM_PLUGINS"] = packageRoot.appendingPathComponent("plugins.json").path
        env["LOG_LEVEL"] = "warning"
        env["ATRIUM_API_RATE_LIMITS"] = "off"  // RateLimitTests turn them on with small numbers
        env["ATRIUM_FILES_DIR"] = filesDirectory.path
        env["ATRIUM_OUTBOX_WORKER"] = "false"  // OutboxTests run their own worker against a local SMTP server
        env["ATRIUM_SCHEDULER"] = "false"  // SchedulerTests run schedulers with a clock they set
        env["ATRIUM_WEBHOOK_ALLOW_PRIVATE"] = "true"  // webhook tests' receiver listens on loopback
        return try AtriumConfiguration(environment: env)
    }

    /// The tests' file store root (attachments), outside the repository; tenants are unique
    /// per test, so runs can share it.
    static let filesDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-test-files", isDirectory: true)

    /// Migrates once per test process, whichever test gets here first.
    static let migrated: Task<Void, any Error> = Task {
        let config = try configuration()
        _ = try await AtriumHost.migrate(ownerURL: config.ownerDatabaseURL!, appRole: config.databaseURL.username, catalog: try catalog(), logger: logger)
    }

    static func ready() async throws -> AtriumConfiguration {
        try await migrated.value
        return try configuration()
    }

    static func catalog() throws -> ModuleCatalog {
        try ModuleCatalog.load(path: packageRoot.appendingPathComponent("plugins.json").path, compiledIn: BuiltInModules.all)
    }

    /// A unique slug per call, so tests can run in parallel on one database.
    static func uniqueSlug(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Runs `body` with one connection as the schema owner.
    static func withOwner<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let config = try await ready()
        return try await withConnection(config.ownerDatabaseURL!, body)
    }

    /// Runs `body` with one connection as the application role (what the server uses).
    static func withAppRole<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let config = try await ready()
        return try await withConnection(config.databaseURL, body)
    }

    private static func withConnection<T: Sendable>(_ url: DatabaseURL, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await url.connect(logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    struct Tenant: Sendable {
        let info: TenantInfo
        let adminEmail: String
        let password: String
    }

    /// A new tenant on `plan`. Its user and record limits are lifted unless `limited` (most
    /// tests make more users than a trial allows; the plan-limit tests keep them).
    static func provisionTenant(_ prefix: String = "t", plan: String = "trial", password: String = "Right-password-1",
                                limited: Bool = false) async throws -> Tenant {
        let config = try await ready()
        let slug = uniqueSlug(prefix)
        let result = try await withOwner { connection in
            let result = try await TenantProvisioner(catalog: try catalog(), hasher: config.passwordHashing).provision(
                .init(slug: slug, name: "Tenant \(slug)", plan: plan, adminEmail: "admin@\(slug).test", adminPassword: password, locale: "en"),
                actor: "tests", on: connection, logger: logger)
            if !limited {
                try await connection.query("UPDATE tenants SET max_users = NULL, max_records = NULL WHERE id = \(result.tenant.id)", logger: logger)
            }
            return result
        }
        return Tenant(info: result.tenant, adminEmail: result.adminEmail, password: password)
    }

    /// Starts the real application on an ephemeral port and hands `body` an HTTP client.
    static func withLiveApp(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let config = try await ready()
        let app = try await AtriumHost.buildApplication(configuration: config, logger: logger)
        try await app.test(.live) { client in try await body(client) }
    }
}

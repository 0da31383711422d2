import ArgumentParser
import AtriumApp
import Foundation
import Logging
import Modules
import Platform
import PostgresNIO
import Tenancy

/// `atrium-admin`: operator and reseller commands. Locally (on the box, as the schema owner)
/// it runs everything; with `--url` (or `ATRIUM_ADMIN_URL`, or a `login` profile) the tenant,
/// user and reseller commands go through the server's admin API with an admin token.
@main
struct AdminCommand: AsyncParsableCommand {
    /// The file store of this installation (`ATRIUM_FILES_DIR`, as the server reads it):
    /// tenant export reads attachments' bytes from it, import writes them.
    static func fileStore() -> LocalFileStore {
        let path = ProcessInfo.processInfo.environment["ATRIUM_FILES_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        return LocalFileStore(path: path ?? AtriumConfiguration.defaultFilesDirectory)
    }

    static let configuration = CommandConfiguration(
        commandName: "atrium-admin",
        abstract: "Operate an Atrium instance: migrations, tenants, users, resellers, admin tokens.",
        discussion: "Remote mode: atrium-admin [--url https://host --token atradm_…] tenant list (or ATRIUM_ADMIN_URL / ATRIUM_ADMIN_TOKEN, or `atrium-admin login`).",
        subcommands: [Migrate.self, TenantCommand.self, UserCommand.self, ResellerCommand.self, TokenCommand.self, Login.self, WhoAmICommand.self, Demo.self]
    )

    /// Lets `--url`/`--token` stand before the subcommand too (`atrium-admin --url … tenant list`):
    /// they are options of each command, so they are moved behind it.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var moved: [String] = []
        while let first = arguments.first, first.hasPrefix("--url") || first.hasPrefix("--token") {
            moved.append(arguments.removeFirst())
            if !first.contains("="), !arguments.isEmpty { moved.append(arguments.removeFirst()) }
        }
        await main(arguments + moved)
    }

    /// Runs a command body, turning every failure into one line on stderr and exit status 1.
    static func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("atrium-admin: \(Self.describe(error))\n".utf8))
            throw ExitCode(1)
        }
    }

    static func describe(_ error: any Error) -> String {
        switch DatabaseErrors.unwrap(error) {
        case let error as any DomainError: return error.message
        case let error as ConfigurationError: return error.description
        case let error as DatabaseUnavailable: return error.description
        case let error as Migrator.Failure: return error.description
        case let error as ModuleCatalog.Invalid: return error.description
        case let error as AdminClient.Failure: return error.description
        case let error: return DatabaseErrors.describe(error)
        }
    }
}

/// Where to connect and which catalog to use; shared by every command.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "Schema-owner database URL (default: $DATABASE_OWNER_URL).")
    var databaseURL: String?

    @Option(help: "Module catalog (default: $ATRIUM_PLUGINS or ./plugins.json).")
    var plugins: String?

    @Option(help: "Admin API base URL, e.g. https://crm.example.com: work through the server instead of the database (default: $ATRIUM_ADMIN_URL, else the login profile).")
    var url: String?

    @Option(help: "Admin token for --url (default: $ATRIUM_ADMIN_TOKEN or the login profile; prefer those, arguments are visible in ps).")
    var token: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func ownerURL() throws -> DatabaseURL {
        guard let text = databaseURL ?? environment["DATABASE_OWNER_URL"], !text.isEmpty else {
            throw ConfigurationError(variable: "DATABASE_OWNER_URL", message: "is not set and --database-url was not given (for the admin API: --url, ATRIUM_ADMIN_URL or atrium-admin login)")
        }
        return try DatabaseURL(parsing: text, variable: databaseURL == nil ? "DATABASE_OWNER_URL" : "--database-url")
    }

    func catalog() throws -> ModuleCatalog {
        let path = plugins ?? environment["ATRIUM_PLUGINS"] ?? "plugins.json"
        return try ModuleCatalog.load(path: path, compiledIn: BuiltInModules.all)
    }

    func hasher() throws -> PasswordHasher {
        // Same ATRIUM_ARGON2_* settings as the server; the database URL is not needed here.
        var env = environment
        env["DATABASE_URL"] = env["DATABASE_URL"] ?? "postgres://unused@localhost/unused"
        return try AtriumConfiguration(environment: env).passwordHashing
    }

    var logger: Logger {
        var logger = Logger(label: "atrium-admin")
        logger.logLevel = .warning
        return logger
    }

    /// `remote` through the admin API in remote mode (``remote()``), else `local` on an owner
    /// connection: one call site per command for both ways of working.
    func either<T>(remote: (AdminClient) async throws -> T, local: (PostgresConnection, Logger) async throws -> T) async throws -> T {
        if let client = try self.remote() { return try await remote(client) }
        return try await withConnection(local)
    }

    /// Opens one owner connection for `body` and closes it afterwards.
    func withConnection<T>(_ body: (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = self.logger
        let connection = try await ownerURL().connect(logger: logger)
        do {
            let result = try await body(connection, logger)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations as the schema owner.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Application role to grant access to (default: the user of $DATABASE_URL, else atrium_app).")
    var appRole: String?

    func run() async throws {
        try await AdminCommand.run {
            try connection.requireLocal("migrate")
            let role = try appRole ?? ProcessInfo.processInfo.environment["DATABASE_URL"].map { try DatabaseURL(parsing: $0, variable: "DATABASE_URL").username } ?? "atrium_app"
            let catalog = try connection.catalog()
            let applied = try await AtriumHost.migrate(ownerURL: connection.ownerURL(), appRole: role, catalog: catalog, logger: connection.logger)
            if applied.isEmpty {
                print("schema is up to date (version \(AtriumHost.migrations.map(\.version).max() ?? 0))")
            } else {
                for migration in applied { print("applied \(migration)") }
            }
            let report = try await connection.withConnection { conn, logger in
                try await TenantModuleSwitch.setUpAll(catalog: catalog, on: conn, logger: logger)
            }
            if !report.done.isEmpty { print("module set-up run for \(report.done.count) tenant(s)") }
            if !report.failed.isEmpty {
                // Every other tenant was set up; these stay as they were until the cause is fixed.
                for (slug, reason) in report.failed {
                    FileHandle.standardError.write(Data("atrium-admin: module set-up of tenant \(slug) failed: \(reason)\n".utf8))
                }
                throw ExitCode(1)
            }
        }
    }
}

import Foundation
import Hummingbird
import Logging
import Modules
import Platform
import PostgresNIO
import Tenancy

/// Wires Platform, Tenancy and the modules named in `plugins.json` into one application.
///
/// ```swift
/// let app = try await AtriumHost.buildApplication(configuration: config, logger: logger)
/// try await app.runService()   // SIGINT/SIGTERM shut down gracefully
/// ```
public enum AtriumHost {
    /// Every migration this build knows, in order.
    public static var migrations: [Migration] { CoreMigrations.all + AdminSchema.migrations }

    public static func catalog(_ configuration: AtriumConfiguration) throws -> ModuleCatalog {
        try ModuleCatalog.load(path: configuration.pluginsFile, compiledIn: BuiltInModules.all)
    }

    /// Applies pending migrations as the schema owner, granting to the role of `appURL`.
    public static func migrate(ownerURL: DatabaseURL, appRole: String, logger: Logger) async throws -> [Migration] {
        let connection = try await ownerURL.connect(logger: logger)
        do {
            let applied = try await Migrator(migrations: migrations, appRole: appRole).migrate(on: connection, logger: logger)
            try await connection.close()
            return applied
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public static func buildApplication(configuration: AtriumConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
        let catalog = try catalog(configuration)
        if configuration.migrateOnStart, let ownerURL = configuration.ownerDatabaseURL {
            let applied = try await migrate(ownerURL: ownerURL, appRole: configuration.databaseURL.username, logger: logger)
            logger.info("migrations applied", metadata: ["count": "\(applied.count)"])
        }
        let database = Database(url: configuration.databaseURL, poolSize: configuration.databasePoolSize, logger: logger)
        let renderer = try await WebRenderer.load(modules: [BuiltInModules.resources])
        let services = try PlatformServices(configuration: configuration, database: database, renderer: renderer, catalog: catalog)
        // The admin API works as the schema owner (tenant creation, deletion, import touch
        // every table); it is served only when the server is given the owner's URL.
        let ownerDatabase = configuration.ownerDatabaseURL.map { Database(url: $0, poolSize: 4, logger: logger) }

        let router = Router(context: AtriumContext.self)
        router.add(middleware: RequestLogMiddleware(baseDomain: configuration.baseDomain, defaultTenant: configuration.defaultTenant,
                                                   trustedProxies: configuration.trustedProxies))
        router.add(middleware: ErrorMiddleware(renderer: renderer))
        let metrics = Metrics()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        OperationsRoutes(services: services, expectedSchemaVersion: migrations.map(\.version).max() ?? 0).register(on: router)
        MetricsRoutes(metrics: metrics, database: database).register(on: router)
        AdminRoutes(owner: ownerDatabase, catalog: catalog, hasher: services.hasher).register(on: router)
        let tenantRoutes = router.group()
            .add(middleware: RequestTransactionMiddleware(database: database))
            .add(middleware: TenantResolver(database: database, baseDomain: configuration.baseDomain, defaultTenant: configuration.defaultTenant))
            .add(middleware: IdentityMiddleware(database: database))
        let records = RecordRoutes(services: services, engine: recordEngine(catalog: catalog))
        let web = WebApp(records: records)
        AuthRoutes(services: services, app: web).register(on: tenantRoutes)
        // Module routes first: their constant paths (api/v1/sales/…) sit beside the records' patterns.
        for entry in catalog.entries {
            catalog.manifests[entry.id]?.routes?.register(on: tenantRoutes, web: web)
        }
        records.register(on: tenantRoutes)
        web.register(on: tenantRoutes)

        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atrium"),
            services: [database.client] + (ownerDatabase.map { [$0.client] } ?? []),
            logger: logger
        )
        app.beforeServerStarts {
            try await checkApplicationRole(database: database, logger: logger)
        }
        return app
    }

    /// The record engine with the entities and hooks of the modules in the catalog.
    public static func recordEngine(catalog: ModuleCatalog) -> RecordEngine {
        RecordEngine(catalog: catalog)
    }

    /// Refuses to serve as a role that would bypass Row-Level Security.
    public static func checkApplicationRole(database: Database, logger: Logger) async throws {
        let (role, superuser, bypass, owned) = try await database.withTransaction(logger: logger) { connection in
            try await connection.query("""
                SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                       (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p')
                          AND c.relnamespace = 'public'::regnamespace)
                FROM pg_roles r WHERE r.rolname = current_user
                """, logger: logger).one((String, Bool, Bool, Int).self)
        }
        guard !superuser, !bypass, owned == 0 else {
            throw ConfigurationError(variable: "DATABASE_URL",
                                     message: "connects as role '\(role)', which \(superuser ? "is a superuser" : bypass ? "has BYPASSRLS" : "owns \(owned) tables"); use the application role (see deploy/README.md)")
        }
    }
}

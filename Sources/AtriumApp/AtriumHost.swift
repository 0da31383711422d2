import Foundation
import Hummingbird
import Logging
import Modules
import Platform
import PostgresNIO
import ServiceLifecycle
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

    /// Applies pending migrations as the schema owner, granting to `appRole`: the platform's,
    /// then those of the modules `catalog` lists (each module's own group, dependencies first).
    public static func migrate(ownerURL: DatabaseURL, appRole: String, catalog: ModuleCatalog, logger: Logger) async throws -> [Migrator.Applied] {
        let connection = try await ownerURL.connect(logger: logger)
        do {
            let applied = try await Migrator(migrations: migrations, modules: catalog.modules.map { ($0.id, $0.migrations) }, appRole: appRole)
                .migrate(on: connection, logger: logger)
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
            let applied = try await migrate(ownerURL: ownerURL, appRole: configuration.databaseURL.username, catalog: catalog, logger: logger)
            logger.info("migrations applied", metadata: ["count": "\(applied.count)"])
        }
        let database = Database(url: configuration.databaseURL, poolSize: configuration.databasePoolSize,
                                connectTimeout: configuration.databaseConnectTimeout, acquireTimeout: configuration.databaseAcquireTimeout, logger: logger)
        let renderer = try await WebRenderer.load(modules: [BuiltInModules.resources])
        let services = try PlatformServices(configuration: configuration, database: database, renderer: renderer, catalog: catalog)
        // The admin API works as the schema owner (tenant creation, deletion, import touch
        // every table); it is served only when the server is given the owner's URL.
        let ownerDatabase = configuration.ownerDatabaseURL.map { Database(url: $0, poolSize: 4, logger: logger) }

        let router = buildRouter(configuration: configuration, services: services, database: database, ownerDatabase: ownerDatabase, catalog: catalog)
        var background: [any Service] = [database.client] + (ownerDatabase.map { [$0.client] } ?? [])
        if configuration.outboxWorker {
            background.append(outboxWorker(configuration: configuration, services: services, catalog: catalog, logger: logger))
        }
        if configuration.scheduler {
            background.append(scheduler(database: database, catalog: catalog, logger: logger))
        }
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atrium"),
            services: background,
            logger: logger
        )
        app.beforeServerStarts {
            try await checkApplicationRole(database: database, logger: logger)
        }
        return app
    }

    /// The application's routes: outside any tenant the health, metrics and admin API; for
    /// tenants one transaction per request, the tenant, the signed-in user, then the table of
    /// ``TenantRoutes``.
    public static func buildRouter(configuration: AtriumConfiguration, services: PlatformServices, database: Database,
                                   ownerDatabase: Database?, catalog: ModuleCatalog) -> Router<AtriumContext> {
        // HEAD of every GET route (uptime monitors and link checkers send `HEAD /`).
        let router = Router(context: AtriumContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: RequestLogMiddleware(baseDomain: configuration.baseDomain, defaultTenant: configuration.defaultTenant,
                                                   trustedProxies: configuration.trustedProxies))
        router.add(middleware: ErrorMiddleware(renderer: services.renderer))
        router.add(middleware: QueryStringMiddleware<AtriumContext>())
        let metrics = Metrics()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        OperationsRoutes(services: services, coreMigrations: migrations, moduleMigrations: catalog.modules.map { ($0.id, $0.migrations) }).register(on: router)
        MetricsRoutes(metrics: metrics, database: database).register(on: router)
        AdminRoutes(owner: ownerDatabase, catalog: catalog, hasher: services.hasher, files: services.files).register(on: router)
        let tenantRoutes = router.group()
            .add(middleware: RequestTransactionMiddleware(database: database))
            .add(middleware: TenantResolver(database: database, baseDomain: configuration.baseDomain, defaultTenant: configuration.defaultTenant))
            .add(middleware: IdentityMiddleware(database: database))
            .add(middleware: RateLimitMiddleware(policy: configuration.apiRateLimits))
        TenantRoutes.register(on: tenantRoutes, services: services, engine: recordEngine(catalog: catalog), modules: catalog.modules)
        return router
    }

    /// The record engine with the entities and hooks of the modules in the catalog.
    /// The outbox worker with every channel this server delivers through.
    public static func outboxWorker(configuration: AtriumConfiguration, services: PlatformServices, catalog: ModuleCatalog,
                                    workerConfiguration: OutboxWorker.Configuration? = nil, logger: Logger) -> OutboxWorker {
        let engine = recordEngine(catalog: catalog)
        let email = EmailChannel(database: services.database, relay: configuration.smtpRelay, mailFrom: configuration.mailFrom,
                                 publicURL: configuration.publicURL, localizer: services.renderer.localizer,
                                 entities: { connection, logger in try await engine.entities(on: connection, logger: logger) }, logger: logger)
        var settings = workerConfiguration ?? OutboxWorker.Configuration()
        if workerConfiguration == nil { settings.pollInterval = configuration.outboxPollInterval }
        let webhooks = WebhookChannel(database: services.database, allowPrivateAddresses: configuration.webhookAllowPrivateAddresses,
                                      disableAfter: configuration.webhookDisableAfter, logger: logger)
        let robots = RobotChannel(database: services.database, localizer: services.renderer.localizer, publicURL: configuration.publicURL,
                                  allowPrivateAddresses: configuration.webhookAllowPrivateAddresses,
                                  entities: { connection, logger in try await engine.entities(on: connection, logger: logger) }, logger: logger)
        let gateway: (any SMSGateway)? = switch configuration.smsProvider {
        case .log?: LogSMSGateway(logger: logger)
        case .http(let url, let token)?: HTTPSMSGateway(url: url, token: token)
        case nil: nil
        }
        let sms = SMSChannel(database: services.database, gateway: gateway, signature: configuration.smsSignature, publicURL: configuration.publicURL,
                             localizer: services.renderer.localizer,
                             entities: { connection, logger in try await engine.entities(on: connection, logger: logger) }, logger: logger)
        return OutboxWorker(database: services.database, channels: [email, webhooks, robots, sms], configuration: settings, logger: logger)
    }

    /// The scheduler with the platform's periodic jobs (date automation rules, the daily digest) and those of
    /// every module in the catalog.
    public static func scheduler(database: Database, catalog: ModuleCatalog, configuration: Scheduler.Configuration = Scheduler.Configuration(),
                                 logger: Logger) -> Scheduler {
        Scheduler(database: database, engine: recordEngine(catalog: catalog), jobs: jobs(catalog: catalog), configuration: configuration, logger: logger)
    }

    /// The periodic jobs the server runs: the platform's and those of the catalog's modules.
    public static func jobs(catalog: ModuleCatalog) -> [ScheduledJob] {
        [AutomationDates.job, NotificationDigest.job, RecordPools.job] + catalog.modules.flatMap(\.jobs)
    }

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

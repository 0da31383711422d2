import Hummingbird

/// Every route a tenant's people and API clients reach, in one table: the server adds it behind
/// the request transaction, tenant resolution and sign-in (`AtriumHost.buildRouter`). No route
/// group registers another; a module's routes come from its manifest.
public enum TenantRoutes {
    public static func register(on router: RouterGroup<AtriumContext>, services: PlatformServices, engine: RecordEngine, modules: [ModuleManifest]) {
        let records = RecordRoutes(services: services, engine: engine)
        let web = WebApp(records: records)
        // Sign-in and out, password change, API tokens, the home page.
        AuthRoutes(services: services, app: web).register(on: router)
        // The second sign-in step, the user's two-factor page, the tenant's requirement and resets.
        TwoFactorRoutes(app: web).register(on: router)
        // Modules' actions, reports and pages first: their constant paths (api/v1/sales/…,
        // app/sales/…) sit beside the records' `:entity` patterns.
        for module in modules { module.routes?.register(on: router, web: web) }
        // JSON API: metadata and designer, records, organisation and sharing, approvals, webhooks.
        records.register(on: router)
        records.registerOrganisation(on: router)
        records.registerApprovals(on: router)
        WebhookRoutes(records: records, engine: engine, allowPrivateAddresses: services.configuration.webhookAllowPrivateAddresses).register(on: router)
        RobotRoutes(records: records, allowPrivateAddresses: services.configuration.webhookAllowPrivateAddresses).register(on: router)
        AutomationRoutes(records: records, engine: engine).register(on: router)
        LoginRangeRoutes(records: records).register(on: router)
        ReportRoutes(records: records).register(on: router)
        PoolRoutes(records: records).register(on: router)
        // Web UI: designer, administration, the approvals inbox, the notification centre and
        // records' attachments and comments (their API too), then search and the pages of every entity.
        WebDesigner(app: web).register(on: router)
        WebAdmin(app: web).register(on: router)
        WebApprovals(app: web).register(on: router)
        WebAutomation(app: web).register(on: router)
        WebWebhooks(app: web).register(on: router)
        NotificationRoutes(web: web).register(on: router)
        AttachmentRoutes(web: web).register(on: router)
        CommentRoutes(web: web).register(on: router)
        WebImport(app: web).register(on: router)
        WebReports(app: web).register(on: router)
        WebPools(app: web).register(on: router)
        web.register(on: router)
    }
}

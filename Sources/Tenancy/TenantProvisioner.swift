import Foundation
import Logging
import Platform
import PostgresNIO

/// Creates a tenant with its administrator and default modules in one transaction: if any
/// part fails, nothing is left behind.
///
/// ```swift
/// let result = try await TenantProvisioner(catalog: catalog, hasher: hasher)
///     .provision(.init(slug: "acme", name: "Acme", plan: "trial", adminEmail: "boss@acme.cn"),
///                actor: "atrium-admin", on: ownerConnection, logger: logger)
/// print(result.adminPassword)  // generated when none was given
/// ```
public struct TenantProvisioner: Sendable {
    public static let reservedSlugs: Set<String> = ["www", "admin", "api", "app", "static", "mail", "status", "help", "support"]

    public struct Request: Sendable {
        public var slug: String
        public var name: String
        public var plan: String
        public var adminEmail: String
        public var adminName: String?
        public var adminPassword: String?
        public var locale: String
        /// The reseller the tenant belongs to (nil: the operator's own); its quota applies.
        public var resellerID: UUID?
        /// Most active users, instead of the plan's default.
        public var maxUsers: Int?

        public init(slug: String, name: String, plan: String, adminEmail: String, adminName: String? = nil, adminPassword: String? = nil, locale: String = "zh-CN",
                    resellerID: UUID? = nil, maxUsers: Int? = nil) {
            self.resellerID = resellerID
            self.maxUsers = maxUsers
            self.slug = slug
            self.name = name
            self.plan = plan
            self.adminEmail = adminEmail
            self.adminName = adminName
            self.adminPassword = adminPassword
            self.locale = locale
        }
    }

    public struct Result: Sendable {
        public let tenant: TenantInfo
        public let adminEmail: String
        /// The password given, or the generated one (print it once; it is stored only hashed).
        public let adminPassword: String
        public let passwordWasGenerated: Bool
        public let modules: [String]
    }

    let catalog: ModuleCatalog
    let hasher: PasswordHasher

    public init(catalog: ModuleCatalog, hasher: PasswordHasher) {
        self.catalog = catalog
        self.hasher = hasher
    }

    /// A tenant slug's shape (it becomes a sub-domain) and the reserved names.
    public static func checkSlug(_ slug: String) throws {
        if slug.range(of: "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", options: .regularExpression) == nil {
            throw AtriumError.validation(field: "slug", "'\(slug)' must be 1-40 lower-case letters, digits or inner hyphens")
        }
        if reservedSlugs.contains(slug) {
            throw AtriumError.validation(field: "slug", "'\(slug)' is reserved")
        }
    }

    /// Checks the request and names the first bad field (`--slug`, `--admin-email`, …).
    public func validate(_ request: Request) throws -> (email: String, name: String) {
        try Self.checkSlug(request.slug)
        let name = request.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 {
            throw AtriumError.validation(field: "name", "must be 1 to 200 characters")
        }
        if !catalog.plans.contains(request.plan) {
            throw AtriumError.validation(field: "plan", "'\(request.plan)' is not a plan; plans: \(catalog.plans.sorted().joined(separator: ", "))")
        }
        guard let email = UserInputRules.normalisedEmail(request.adminEmail) else {
            throw AtriumError.validation(field: "admin-email", "'\(request.adminEmail)' is not an email address")
        }
        if let password = request.adminPassword, let problem = PasswordPolicy.problem(with: password, email: email) {
            throw AtriumError.validation(field: "admin-password", problem)
        }
        if !Localizer.supported.contains(request.locale) {
            throw AtriumError.validation(field: "locale", "must be one of \(Localizer.supported.joined(separator: ", "))")
        }
        if let maxUsers = request.maxUsers, maxUsers < 1 {
            throw AtriumError.validation(field: "max_users", "must be 1 or more")
        }
        return (email, name)
    }

    public func provision(_ request: Request, actor: String, on connection: PostgresConnection, logger: Logger) async throws -> Result {
        let (email, name) = try validate(request)
        let password = request.adminPassword ?? SecureToken.readablePassword()
        let hash = try await hasher.hashOffLoop(password)
        let modules = catalog.defaultModules(plan: request.plan)
        var planLimits = PlanLimits.defaults(plan: request.plan)
        if let maxUsers = request.maxUsers { planLimits.maxUsers = maxUsers }
        let limits = planLimits
        let trialEnds = limits.trialDays.map { Date().addingTimeInterval(Double($0) * 86_400) }
        let adminName = request.adminName ?? (request.locale == "zh-CN" ? "管理员" : "Administrator")
        let tenant: TenantInfo
        do {
            tenant = try await connection.inTransaction(logger: logger) { connection in
                if let reseller = request.resellerID {
                    try await ResellerDirectory.reserve(resellerID: reseller, seats: limits.maxUsers, on: connection, logger: logger)
                }
                let rows = try await connection.query("""
                    INSERT INTO tenants (slug, name, plan, max_users, max_records, max_storage_mb, trial_ends_at, reseller_id)
                    VALUES (\(request.slug), \(name), \(request.plan), \(limits.maxUsers), \(limits.maxRecords), \(limits.maxStorageMB), \(trialEnds), \(request.resellerID))
                    RETURNING id, slug, name, status, plan
                    """, logger: logger)
                guard let tenant = try await TenantDirectory.decode(rows).first else {
                    throw AtriumError(status: .internalServerError, code: "tenant_not_created", message: "the tenant was not created")
                }
                try await TenantScope.enter(tenant.id, on: connection, logger: logger)
                let adminID = try await UserStore.create(.init(email: email, displayName: adminName, locale: request.locale, passwordHash: hash, isAdmin: true),
                                                         tenantID: tenant.id, on: connection, logger: logger)
                try await TenantModules.enable(modules, on: connection, logger: logger)
                try await DefaultRoles.create(modules: catalog.entries.compactMap { catalog.manifests[$0.id] }, on: connection, logger: logger)
                try await AuditLog.record(.init(action: "tenant.created", actor: .system(actor), entity: "tenant", recordID: tenant.id.uuidString,
                                                details: ["slug": tenant.slug, "plan": tenant.plan, "admin": email, "admin_id": adminID.uuidString]),
                                          tenantID: tenant.id, on: connection, logger: logger)
                try await TenantModules.setUp(modules, catalog: catalog,
                                              user: AuthenticatedUser(id: adminID, email: email, displayName: adminName, locale: request.locale, isAdmin: true),
                                              on: connection, logger: logger)
                return tenant
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" && DatabaseErrors.constraint(error) == "tenants_slug_key" {
            throw TenancyError.slugTaken(request.slug)
        }
        return Result(tenant: tenant, adminEmail: email, adminPassword: password,
                      passwordWasGenerated: request.adminPassword == nil, modules: modules)
    }
}

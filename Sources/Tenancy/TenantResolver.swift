import HTTPTypes
import Hummingbird
import Logging
import Platform

/// Finds the request's tenant from its host (`acme.<base domain>`) or, for API clients and
/// tests, an `X-Tenant` header; on the bare base domain the configured default tenant (if any).
/// An unknown tenant is a 404, a suspended one a 403; both say so in plain words.
///
/// ```swift
/// let tenantRoutes = router.group().add(middleware: TenantResolver(database: db, baseDomain: "example.com"))
/// ```
public struct TenantResolver: RouterMiddleware {
    public typealias Context = AtriumContext
    public static let header = HTTPField.Name("X-Tenant")!

    let database: Database
    let baseDomain: String
    let defaultTenant: String?

    public init(database: Database, baseDomain: String, defaultTenant: String?) {
        self.database = database
        self.baseDomain = baseDomain.lowercased()
        self.defaultTenant = defaultTenant
    }

    /// The slug a host names: the single label before the base domain, or nil.
    public static func slug(fromHost host: String, baseDomain: String) -> String? {
        var name = host.lowercased()
        if name.hasPrefix("[") { return nil }  // IPv6 literal
        if let colon = name.lastIndex(of: ":") { name = String(name[..<colon]) }
        guard name.hasSuffix("." + baseDomain) else { return nil }
        let label = String(name.dropLast(baseDomain.count + 1))
        return label.isEmpty || label.contains(".") ? nil : label
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let hostSlug = request.head.authority.flatMap { Self.slug(fromHost: $0, baseDomain: baseDomain) }
        let headerSlug = request.headers[Self.header]?.lowercased()
        if let hostSlug, let headerSlug, hostSlug != headerSlug {
            throw TenancyError.tenantMismatch(header: headerSlug, host: hostSlug)
        }
        guard let slug = hostSlug ?? headerSlug ?? defaultTenant else {
            throw TenancyError.tenantRequired(baseDomain: baseDomain)
        }
        let logger = context.logger
        let tenant = try await database.withTransaction(logger: logger, disposable: true) { connection in
            try await TenantDirectory.resolve(slug: slug, on: connection, logger: logger)
        }
        guard let tenant else {
            throw TenancyError.tenantNotFound(slug)
        }
        guard tenant.status == TenantStatus.active.rawValue else {
            throw TenancyError.tenantSuspended(slug)
        }
        var context = context
        context.tenant = tenant
        context.logger[metadataKey: "tenant"] = "\(tenant.slug)"
        return try await next(request, context)
    }
}

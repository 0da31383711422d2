import Foundation
import Hummingbird
import NIOCore

/// The tenant a request is for, as resolved from its host or `X-Tenant` header.
public struct TenantInfo: Sendable, Codable, Equatable {
    public let id: UUID
    public let slug: String
    public let name: String
    public let status: String
    public let plan: String

    public init(id: UUID, slug: String, name: String, status: String, plan: String) {
        self.id = id
        self.slug = slug
        self.name = name
        self.status = status
        self.plan = plan
    }
}

/// Who is calling and how they proved it.
public struct Identity: Sendable {
    public enum Method: Sendable {
        /// Browser session; form posts must carry `csrfToken`.
        case session(tokenHash: String, csrfToken: String)
        case apiToken
    }

    public var user: AuthenticatedUser
    public let method: Method

    public var csrfToken: String? {
        if case .session(_, let token) = method { return token }
        return nil
    }
}

/// Request context filled in by the middleware chain: tenant → identity → handler.
public struct AtriumContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var tenant: TenantInfo?
    public var identity: Identity?
    /// Client address used for throttling and audit (proxy header only when trusted).
    public var clientIP: String

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientIP = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The tenant, or an error when a route that needs one is reached without it.
    public func requireTenant() throws -> TenantInfo {
        guard let tenant else {
            throw AtriumError(status: .notFound, code: "tenant_required", message: "no tenant: open <tenant>.<base domain> or send an X-Tenant header")
        }
        return tenant
    }

    public func requireUser() throws -> AuthenticatedUser {
        guard let identity else { throw AccessError.unauthenticated }
        return identity.user
    }
}

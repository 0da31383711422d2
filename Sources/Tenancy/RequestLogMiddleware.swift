import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Platform

/// One log line per request with method, path, status, duration, client address and the tenant
/// the request names (host, `X-Tenant` or the default tenant, before it is looked up), next to
/// Hummingbird's request id. It also settles the client address (``ClientAddress``) every later
/// part uses (login throttle, audit log).
public struct RequestLogMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext
    let baseDomain: String
    let defaultTenant: String?
    let trustedProxies: Set<String>

    public init(baseDomain: String, defaultTenant: String?, trustedProxies: Set<String> = []) {
        self.baseDomain = baseDomain
        self.defaultTenant = defaultTenant
        self.trustedProxies = trustedProxies
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if !trustedProxies.isEmpty {
            context.clientIP = ClientAddress.resolve(peer: context.clientIP, forwardedFor: request.headers[values: HTTPField.Name("X-Forwarded-For")!],
                                                     trusted: trustedProxies)
        }
        context.logger[metadataKey: "ip"] = "\(context.clientIP)"
        if let slug = request.head.authority.flatMap({ TenantResolver.slug(fromHost: $0, baseDomain: baseDomain) })
            ?? request.headers[TenantResolver.header]?.lowercased() ?? defaultTenant {
            context.logger[metadataKey: "tenant"] = "\(slug)"
        }
        let start = ContinuousClock.now
        let logger = context.logger
        do {
            let response = try await next(request, context)
            log(logger, request, status: Int(response.status.code), since: start)
            return response
        } catch {
            log(logger, request, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: start)
            throw error
        }
    }

    func log(_ logger: Logger, _ request: Request, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("request", metadata: [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
            "status": "\(status)", "ms": "\(String(format: "%.1f", ms))",
        ])
    }
}

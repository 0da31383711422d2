import Hummingbird
import HummingbirdAuth

/// Finds who is calling, for routes under a resolved tenant: an `Authorization: Bearer` API
/// token (a bad token is a 401 at once), else the session cookie (an unknown or expired
/// cookie is ignored; handlers that need a user say so). Lookups run under the request's
/// tenant, so a session or token of another tenant is never found.
public struct IdentityMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext
    public static let sessionCookie = "atrium_session"
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let tenant = context.tenant {
            let logger = context.logger
            if let bearer = request.headers.bearer?.token {
                let ip = context.clientIP
                guard let user = try await database.withTenant(tenant.id, logger: logger, disposable: true, { connection in
                    try await APITokenStore.authenticate(token: bearer, ip: ip, on: connection, logger: logger)
                }) else {
                    throw AccessError.invalidAPIToken
                }
                context.identity = Identity(user: user, method: .apiToken)
            } else if let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty {
                if let session = try await database.withTenant(tenant.id, logger: logger, disposable: true, { connection in
                    try await SessionStore.find(token: token, on: connection, logger: logger)
                }) {
                    context.identity = Identity(user: session.user, method: .session(tokenHash: session.tokenHash, csrfToken: session.csrfToken))
                }
            }
            if let user = context.identity?.user {
                context.logger[metadataKey: "user"] = "\(user.id)"
            }
        }
        return try await next(request, context)
    }
}

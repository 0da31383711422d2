import Hummingbird

/// Gives each request under a tenant one database connection and one transaction
/// (``RequestTransaction``): tenant lookup, identity and handler share it, and it commits once
/// at the end. Add it before the tenant resolver:
///
/// ```swift
/// router.group()
///     .add(middleware: RequestTransactionMiddleware(database: database))
///     .add(middleware: TenantResolver(database: database, …))
///     .add(middleware: IdentityMiddleware(database: database))
/// ```
///
/// The connection is held for the whole request (the pool size bounds concurrent requests,
/// as it bounded concurrent transactions before); a request that never touches the database
/// sends no BEGIN and no COMMIT.
public struct RequestTransactionMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await database.withConnection { connection in
                let transaction = RequestTransaction(pool: ObjectIdentifier(database.client), connection: connection, logger: context.logger)
                let response: Response
                do {
                    response = try await RequestTransaction.$current.withValue(transaction) {
                        try await next(request, context)
                    }
                } catch {
                    // Units that succeeded keep their effect, as their own transactions would have.
                    do { try await transaction.finish() } catch { await transaction.abandon() }
                    throw error
                }
                try await transaction.finish()
                return response
            }
        } catch {
            throw DatabaseErrors.unwrap(error)
        }
    }
}

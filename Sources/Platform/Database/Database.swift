import Foundation
import Logging
import PostgresNIO

/// The request-side database: a PostgresNIO pool connected as the application role.
///
/// All tenant work goes through ``withTenant(_:logger:_:)``, which opens a transaction and
/// sets `app.tenant_id` for it, so Row-Level Security sees the right tenant and nothing else:
/// ```swift
/// let count = try await database.withTenant(tenant.id, logger: logger) { conn in
///     try await conn.query("SELECT count(*) FROM users", logger: logger).decode(Int.self)…
/// }
/// ```
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a caller waits for a pooled connection before ``DatabaseUnavailable``: with the
    /// database away the pool retries connecting forever and waiting callers would hang with it.
    public let acquireTimeout: Duration

    public init(url: DatabaseURL, poolSize: Int, connectTimeout: Duration = .seconds(3), acquireTimeout: Duration = .seconds(5), logger: Logger) {
        self.client = PostgresClient(configuration: url.clientConfiguration(poolSize: poolSize, connectTimeout: connectTimeout), backgroundLogger: logger)
        self.logger = logger
        self.acquireTimeout = acquireTimeout
    }

    /// Leases a pooled connection for `body`, waiting at most `timeout` (default
    /// ``acquireTimeout``) for it; past that, throws ``DatabaseBusy`` (503) and withdraws the
    /// request from the pool's queue. The lease is held by a helper task while `body` runs in
    /// the caller's task (so `body` need not be `Sendable`); the caller never waits for a pool
    /// that cannot answer, e.g. before the pool runs or while it retries a dead server.
    public func withConnection<Result: Sendable>(timeout: Duration? = nil, _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let (handoff, deliver) = AsyncThrowingStream<PostgresConnection, any Error>.makeStream()
        let (finished, finish) = AsyncStream<Void>.makeStream()
        let client = self.client
        let limit = timeout ?? acquireTimeout
        let holder = Task {
            do {
                try await client.withConnection { connection in
                    deliver.yield(connection)
                    for await _ in finished {}
                }
            } catch {
                deliver.finish(throwing: error)
            }
        }
        let timer = Task {
            try await Task.sleep(for: limit)
            deliver.finish(throwing: DatabaseBusy(waited: limit))
        }
        defer {
            finish.finish()  // releases the lease once `body` is done (or at once, if it came late)
            timer.cancel()
        }
        var iterator = handoff.makeAsyncIterator()
        let connection: PostgresConnection
        do {
            guard let leased = try await iterator.next() else { throw CancellationError() }
            connection = leased
        } catch {
            holder.cancel()
            throw error
        }
        timer.cancel()
        return try await body(connection)
    }

    /// A transaction scoped to one tenant. Errors come out unwrapped (see ``DatabaseErrors``).
    /// Inside a request it is a unit of the request's transaction (``RequestTransaction``);
    /// `disposable` marks lookups and best-effort bookkeeping that need no savepoint protection.
    public func withTenant<Result: Sendable>(
        _ tenantID: UUID,
        logger: Logger? = nil,
        disposable: Bool = false,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await unit(tenantID: tenantID, logger: logger, disposable: disposable, body) {
            try await ownTransaction(logger: logger) { connection in
                try await TenantScope.enter(tenantID, on: connection, logger: logger ?? self.logger)
                return try await body(connection)
            }
        }
    }

    /// A transaction with no tenant set: RLS hides every tenant row; only platform tables
    /// (tenants, schema_migrations) are readable. Inside a request, before a tenant is set, it
    /// is a unit of the request's transaction.
    public func withTransaction<Result: Sendable>(
        logger: Logger? = nil,
        disposable: Bool = false,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await unit(tenantID: nil, logger: logger, disposable: disposable, body) {
            try await ownTransaction(logger: logger, body)
        }
    }

    /// `body` as a unit of the request's transaction when it can join it, else `alone()`.
    private func unit<Result: Sendable>(
        tenantID: UUID?, logger: Logger?, disposable: Bool,
        _ body: @Sendable (PostgresConnection) async throws -> Result,
        otherwise alone: () async throws -> Result
    ) async throws -> Result {
        guard let request = RequestTransaction.current, request.accepts(pool: ObjectIdentifier(client), tenantID: tenantID) else {
            return try await alone()
        }
        do {
            return try await request.unit(tenantID: tenantID, disposable: disposable, logger: logger ?? self.logger, body)
        } catch {
            throw DatabaseErrors.unwrap(error)
        }
    }

    private func ownTransaction<Result: Sendable>(
        logger: Logger?,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withConnection { connection in
                try await connection.withTransaction(logger: logger ?? self.logger) { connection in
                    try await body(connection)
                }
            }
        } catch {
            throw DatabaseErrors.unwrap(error)
        }
    }
}

/// No pooled connection came within the wait limit: the database is down, unreachable or
/// saturated. Answered 503 with `Retry-After`.
public struct DatabaseBusy: DomainError {
    public let waited: Duration
    public var atriumError: AtriumError { .databaseUnavailable }
}

extension AtriumError {
    /// What a caller is told while the database cannot be reached (no pooled connection in
    /// time, or a connection that broke): 503, with `Retry-After` added by ``ErrorMiddleware``.
    public static let databaseUnavailable = AtriumError(status: .serviceUnavailable, code: "database_unavailable",
                                                        message: "the database is unavailable; try again shortly")
    /// Seconds a client is asked to wait after a 503 (`Retry-After`).
    public static let retryAfterSeconds = 5
}

/// Sets the tenant that RLS policies read, for the current transaction only (`is_local = true`),
/// which keeps it safe behind pgbouncer in transaction mode.
public enum TenantScope {
    /// Set with the tenant, in the same round trip, for the transaction only:
    /// - JIT off: a restricted user's scope predicate lifts report queries' estimated cost over
    ///   jit_above_cost, and compiling then took 560 ms of a 780 ms funnel (bench/sales_bench.py);
    /// - no parallel workers: starting them cost ~30 ms of a 2 ms list page (bench/request_path_bench.py)
    ///   — a request is one small query among many, not an analytical scan.
    public static let sessionSettings = "set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)"

    /// The tenant of the connection's transaction: known without a round trip inside a request
    /// (``RequestTransaction``), read from `app.tenant_id` otherwise (command-line tools).
    public static func current(on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        if let known = RequestTransaction.tenant(of: connection) { return known }
        let rows = try await connection.query("SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid", logger: logger)
        guard let id = try await rows.collect().first?.decode(UUID?.self) else {
            throw AtriumError(status: .internalServerError, code: "no_tenant", message: "no tenant is set for this transaction")
        }
        return id
    }

    public static func enter(_ tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "SELECT set_config('app.tenant_id', $1, true), \(sessionSettings)",
                                                  binds: { var binds = PostgresBindings(); binds.append(tenantID.uuidString); return binds }()),
                                   logger: logger)
    }
}

extension PostgresConnection {
    /// Runs `body` in a transaction on this single connection (command-line tools), unwrapping errors.
    public func inTransaction<Result: Sendable>(
        logger: Logger,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger) { connection in
                try await body(connection)
            }
        } catch {
            throw DatabaseErrors.unwrap(error)
        }
    }

    /// Same as ``inTransaction(logger:_:)`` with `app.tenant_id` set first.
    public func inTenantTransaction<Result: Sendable>(
        _ tenantID: UUID,
        logger: Logger,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await inTransaction(logger: logger) { connection in
            try await TenantScope.enter(tenantID, on: connection, logger: logger)
            return try await body(connection)
        }
    }
}

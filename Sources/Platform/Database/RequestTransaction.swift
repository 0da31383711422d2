import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// One PostgreSQL transaction for a whole request (DESIGN §4b).
///
/// The tenant lookup, the identity check and the handler's work used to run in three
/// transactions (three BEGIN/COMMIT pairs, a tenant `set_config` each); now
/// ``RequestTransactionMiddleware`` leases one connection per request and every
/// ``Database/withTenant(_:logger:disposable:_:)`` of that request for the same tenant joins
/// this transaction as a *unit*:
///
/// - the first unit that does real work runs without a savepoint; if it fails the whole
///   transaction is rolled back (what came before it were lookups), and a later unit begins a
///   new one;
/// - every later unit, and every nested one, runs inside a savepoint, released on success and
///   rolled back on failure;
/// - the middleware commits at the end, also when the handler failed after some units
///   succeeded — so each unit keeps exactly the all-or-nothing effect it had as its own
///   transaction (a refused login still records its attempt).
///
/// A unit for another tenant, or one asked for on another pool (the owner's admin pool), is not
/// joined: it gets its own transaction as before.
public final class RequestTransaction: Sendable {
    @TaskLocal static var current: RequestTransaction?

    let pool: ObjectIdentifier
    let connection: PostgresConnection
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        /// BEGIN sent and not yet ended.
        var open = false
        /// The tenant `app.tenant_id` is set to in the open transaction.
        var tenantID: UUID?
        /// A non-disposable unit succeeded in the open transaction: later units need savepoints.
        var holdsWork = false
        /// Units running now (nested units get savepoints).
        var depth = 0
        var savepoints = 0
        /// Cache stamps read with the identity, usable once each by the first real unit.
        var stamps: TenantVersions?
        var metadataStampUsed = false
        var organisationStampUsed = false
    }

    init(pool: ObjectIdentifier, connection: PostgresConnection, logger: Logger) {
        self.pool = pool
        self.connection = connection
        self.logger = logger
    }

    /// Whether a unit for `tenantID` (nil: no tenant) on `pool` can join this transaction.
    func accepts(pool: ObjectIdentifier, tenantID: UUID?) -> Bool {
        guard pool == self.pool else { return false }
        return state.withLockedValue { state in
            guard state.open, let current = state.tenantID else { return true }
            return tenantID == current
        }
    }

    /// The tenant set in this transaction when `connection` is its connection; the engine asks
    /// this instead of reading `app.tenant_id` back from PostgreSQL.
    static func tenant(of connection: PostgresConnection) -> UUID? {
        guard let current, current.connection === connection else { return nil }
        return current.state.withLockedValue { $0.open ? $0.tenantID : nil }
    }

    /// Notes that `connection`'s transaction has just set `app.tenant_id` to `tenantID` itself
    /// (the tenant lookup does it in its own statement), so units for it skip the
    /// `set_config` round trip.
    public static func adoptTenant(_ tenantID: UUID, on connection: PostgresConnection) {
        guard let current, current.connection === connection else { return }
        current.state.withLockedValue { state in
            if state.open && state.tenantID == nil { state.tenantID = tenantID }
        }
    }

    /// Keeps the cache stamps the identity check read in passing (one statement fewer for
    /// each of metadata and access later in the request).
    public static func offerStamps(_ stamps: TenantVersions, on connection: PostgresConnection) {
        guard let current, current.connection === connection else { return }
        current.state.withLockedValue { state in
            if state.open && state.tenantID == stamps.tenantID && !state.holdsWork { state.stamps = stamps }
        }
    }

    enum StampPurpose { case metadata, organisation }

    /// The stamps offered by the identity check, once per purpose and only before any real
    /// unit finished: after a write (this request's own field or role change) they must be
    /// read again.
    static func takeStamps(_ purpose: StampPurpose, on connection: PostgresConnection) -> TenantVersions? {
        guard let current, current.connection === connection else { return nil }
        return current.state.withLockedValue { state -> TenantVersions? in
            guard state.open, !state.holdsWork, let stamps = state.stamps else { return nil }
            switch purpose {
            case .metadata:
                if state.metadataStampUsed { return nil }
                state.metadataStampUsed = true
            case .organisation:
                if state.organisationStampUsed { return nil }
                state.organisationStampUsed = true
            }
            return stamps
        }
    }

    /// Runs `body` as a unit of this transaction (see the type's description). `disposable`
    /// units (lookups, best-effort bookkeeping) never make later units pay for a savepoint.
    func unit<Result: Sendable>(
        tenantID: UUID?, disposable: Bool, logger: Logger,
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let (needsBegin, needsTenant) = state.withLockedValue { state -> (Bool, Bool) in
            let begin = !state.open
            if begin { state = State(open: true) }
            return (begin, tenantID != nil && state.tenantID == nil)
        }
        if needsBegin { try await connection.query("BEGIN", logger: logger) }
        if needsTenant, let tenantID {
            try await TenantScope.enter(tenantID, on: connection, logger: logger)
            state.withLockedValue { $0.tenantID = tenantID }
        }
        let savepoint = state.withLockedValue { state -> String? in
            defer { state.depth += 1 }
            guard state.holdsWork || state.depth > 0 else { return nil }
            state.savepoints += 1
            return "unit_\(state.savepoints)"
        }
        if let savepoint { try await connection.query(PostgresQuery(unsafeSQL: "SAVEPOINT \(savepoint)"), logger: logger) }
        do {
            let result = try await body(connection)
            state.withLockedValue { $0.depth -= 1 }
            if let savepoint { try await connection.query(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(savepoint)"), logger: logger) }
            if !disposable { state.withLockedValue { $0.holdsWork = true } }
            return result
        } catch {
            state.withLockedValue { $0.depth -= 1 }
            if let savepoint {
                _ = try? await connection.query(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT \(savepoint)"), logger: logger)
            } else {
                // Nothing before this unit is worth keeping; the next unit starts afresh.
                state.withLockedValue { $0 = State() }
                _ = try? await connection.query("ROLLBACK", logger: logger)
            }
            throw error
        }
    }

    /// Commits what the request's units did (called once, by the middleware).
    func finish() async throws {
        let open = state.withLockedValue { state -> Bool in
            defer { state = State() }
            return state.open
        }
        if open { try await connection.query("COMMIT", logger: logger) }
    }

    /// Ends the transaction without keeping anything (the connection failed mid-request).
    func abandon() async {
        let open = state.withLockedValue { state -> Bool in
            defer { state = State() }
            return state.open
        }
        if open { _ = try? await connection.query("ROLLBACK", logger: logger) }
    }
}

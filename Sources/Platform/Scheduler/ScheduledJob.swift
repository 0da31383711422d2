import Foundation
import Logging
import PostgresNIO

/// A periodic rule a module or the platform runs for each tenant — task reminders, a customer
/// pool's reclaim, an SLA check. The ``Scheduler`` runs it every `every` on one app node,
/// calling `perTenant` once per active tenant (that has `module` enabled) inside that tenant's
/// own transaction and RLS context; a tenant whose run fails is rolled back alone and named in
/// the job's `last_error`, the others go on.
///
/// ```swift
/// ScheduledJob(key: "activities.task_reminders", every: .seconds(60), module: "activities") { run in
///     let due = try await run.engine.list("task", query: …, as: run.actor, on: run.connection, logger: run.logger)
///     …
/// }
/// ```
public struct ScheduledJob: Sendable {
    /// Dotted lower-case, `<module>.<what>`: the job's row in `scheduler_jobs`.
    public let key: String
    public let every: Duration
    /// Run only for tenants that have this module enabled (nil: every active tenant).
    public let module: String?
    public let perTenant: @Sendable (TenantRun) async throws -> Void

    public init(key: String, every: Duration, module: String? = nil, perTenant: @escaping @Sendable (TenantRun) async throws -> Void) {
        self.key = key
        self.every = every
        self.module = module
        self.perTenant = perTenant
    }
}

/// One tenant's part of a job run.
public struct TenantRun: Sendable {
    public let tenantID: UUID
    /// The run's time (the scheduler's clock, which tests set): use it instead of `Date()`.
    public let now: Date
    public let engine: RecordEngine
    /// Reads and writes with the whole tenant in view (the engine's system access); what the
    /// job does for people it does through notifications, never by widening their scope.
    public let actor: RecordEngine.Actor
    public let connection: PostgresConnection
    public let logger: Logger
}

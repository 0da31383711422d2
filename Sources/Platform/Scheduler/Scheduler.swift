import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs the ``ScheduledJob``s of the platform and the modules, durably and once across nodes:
/// a job's next due time lives in `scheduler_jobs`; a node claims a due job with one
/// conditional UPDATE that also sets a hold (so a second node's claim finds it held and does
/// nothing), runs it tenant by tenant, and sets the next due time. A node that dies mid-run
/// leaves the hold to expire, and the job runs again after it.
///
/// The clock is injected: tests move it instead of sleeping.
public struct Scheduler: Service {
    public struct Configuration: Sendable {
        /// How often the scheduler looks for due jobs.
        public var tick: Duration = .seconds(15)
        /// How long a claim holds a job (longer than any run should take).
        public var hold: Duration = .seconds(600)
        public var clock: @Sendable () -> Date = { Date() }
        /// Names this node in `held_by` (host and process).
        public var node = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        /// Serve only these tenants (tests, which share one database with other suites).
        public var onlyTenants: Set<UUID>?

        public init() {}
    }

    let database: Database
    let engine: RecordEngine
    let jobs: [ScheduledJob]
    let configuration: Configuration
    let logger: Logger

    public init(database: Database, engine: RecordEngine, jobs: [ScheduledJob], configuration: Configuration = Configuration(), logger: Logger) {
        self.database = database
        self.engine = engine
        self.jobs = jobs
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await runDue()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("scheduler round failed", metadata: ["error": "\(DatabaseErrors.describe(error))"])
                }
                try await Task.sleep(for: configuration.tick)
            }
        }
    }

    /// Runs every job that is due by the clock and that this node could claim; returns their keys.
    @discardableResult
    public func runDue() async throws -> [String] {
        var ran: [String] = []
        for job in jobs where try await claim(job) {
            let failures = await runForEachTenant(job)
            try await finish(job, failures: failures)
            ran.append(job.key)
        }
        return ran
    }

    /// Claims `job` if it is due and nobody holds it (a new job is due at once).
    func claim(_ job: ScheduledJob) async throws -> Bool {
        let now = configuration.clock()
        let holdUntil = now.addingTimeInterval(configuration.hold / .seconds(1))
        let node = configuration.node
        return try await database.withTransaction(logger: logger) { [logger] connection in
            try await connection.query("""
                INSERT INTO scheduler_jobs (job, next_run_at) VALUES (\(job.key), \(now)) ON CONFLICT (job) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query("""
                UPDATE scheduler_jobs SET held_until = \(holdUntil), held_by = \(node), runs = runs + 1, last_started_at = \(now)
                WHERE job = \(job.key) AND next_run_at <= \(now) AND (held_until IS NULL OR held_until < \(now))
                RETURNING job
                """, logger: logger)
            return try await !rows.collect().isEmpty
        }
    }

    /// The job for each active tenant (with its module), each in its own transaction; the
    /// failures, by tenant.
    func runForEachTenant(_ job: ScheduledJob) async -> [String] {
        var failures: [String] = []
        let tenants: [(UUID, String)]
        do {
            tenants = try await database.withTransaction(logger: logger) { [logger] connection in
                var list: [(UUID, String)] = []
                for try await (id, slug) in try await connection.query("SELECT id, slug FROM tenants WHERE status = 'active' ORDER BY id",
                                                                       logger: logger).decode((UUID, String).self) {
                    list.append((id, slug))
                }
                return list
            }
        } catch {
            return ["tenants: \(DatabaseErrors.describe(error))"]
        }
        let now = configuration.clock()
        let engine = self.engine
        let actor = RecordEngine.Actor(user: AuthenticatedUser(id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
                                                               email: "scheduler@atrium", displayName: "Scheduler", locale: "en", isAdmin: true),
                                       access: .system)
        for (tenantID, slug) in tenants where configuration.onlyTenants?.contains(tenantID) ?? true {
            do {
                try await database.withTenant(tenantID, logger: logger) { [logger] connection in
                    if let module = job.module {
                        guard try await TenantModules.enabled(on: connection, logger: logger).contains(module) else { return }
                    }
                    try await job.perTenant(TenantRun(tenantID: tenantID, now: now, engine: engine, actor: actor, connection: connection, logger: logger))
                }
            } catch {
                let text = "\(slug): \(DatabaseErrors.describe(error))"
                logger.warning("scheduled job failed for a tenant", metadata: ["job": "\(job.key)", "tenant": "\(slug)", "error": "\(text)"])
                failures.append(text)
            }
        }
        return failures
    }

    func finish(_ job: ScheduledJob, failures: [String]) async throws {
        let now = configuration.clock()
        let next = now.addingTimeInterval(job.every / .seconds(1))
        let error = failures.isEmpty ? nil : String(failures.joined(separator: "; ").prefix(2000))
        try await database.withTransaction(logger: logger) { [logger] connection in
            try await connection.query("""
                UPDATE scheduler_jobs SET held_until = NULL, held_by = NULL, next_run_at = \(next), last_finished_at = \(now), last_error = \(error)
                WHERE job = \(job.key)
                """, logger: logger)
        }
    }

    /// A job's bookkeeping, for operators and tests.
    public struct State: Sendable, Equatable {
        public let runs: Int
        public let nextRunAt: Date
        public let heldBy: String?
        public let lastError: String?
    }

    public func state(of key: String) async throws -> State? {
        try await database.withTransaction(logger: logger) { [logger] connection in
            for try await (runs, next, held, error) in try await connection.query("""
                SELECT runs, next_run_at, held_by, last_error FROM scheduler_jobs WHERE job = \(key)
                """, logger: logger).decode((Int, Date, String?, String?).self) {
                return State(runs: runs, nextRunAt: next, heldBy: held, lastError: error)
            }
            return nil
        }
    }
}

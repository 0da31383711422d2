import Foundation
import Logging
import PostgresNIO

/// What a tenant's plan allows. New tenants get their plan's defaults (``defaults``) written on
/// the tenant row; an operator may change them per tenant (`atrium-admin tenant limits`). NULL
/// means unlimited. Checked where users and records are created, so every path (web, API,
/// import, CLI) meets the same limit, with a message naming it.
public struct PlanLimits: Sendable, Equatable {
    public var maxUsers: Int?
    public var maxRecords: Int?
    /// A trial's length; its end is suspended by `atrium-admin tenant expire-trials`.
    public var trialDays: Int?
    /// API-token requests per second over the whole company (``RateLimitMiddleware``); nil: no limit.
    public var apiRequestsPerSecond: Int?
    /// Attachment storage in MiB (each content counted once); nil: no limit. Stored per tenant
    /// (`tenants.max_storage_mb`) at provisioning, changed by `atrium-admin tenant limits`.
    public var maxStorageMB: Int?

    public static let defaults: [String: PlanLimits] = [
        "trial": PlanLimits(maxUsers: 5, maxRecords: 2_000, trialDays: 14, apiRequestsPerSecond: 20, maxStorageMB: 500),
        "basic": PlanLimits(maxUsers: 10, maxRecords: 20_000, trialDays: nil, apiRequestsPerSecond: 50, maxStorageMB: 5_120),
        "pro": PlanLimits(maxUsers: 50, maxRecords: 200_000, trialDays: nil, apiRequestsPerSecond: 100, maxStorageMB: 51_200),
        "enterprise": PlanLimits(maxUsers: nil, maxRecords: nil, trialDays: nil, apiRequestsPerSecond: nil, maxStorageMB: nil),
    ]

    public static func defaults(plan: String) -> PlanLimits {
        defaults[plan] ?? PlanLimits(maxUsers: nil, maxRecords: nil, trialDays: nil, apiRequestsPerSecond: nil, maxStorageMB: nil)
    }

    /// The limits on the current transaction's tenant row (plan name, max users, max records,
    /// max attachment storage in MiB).
    static func current(on connection: PostgresConnection, logger: Logger) async throws -> (plan: String, users: Int?, records: Int?, storageMB: Int?)? {
        try await connection.query("""
            SELECT plan, max_users, max_records, max_storage_mb FROM tenants WHERE id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
            """, logger: logger).collect().first?.decode((String, Int?, Int?, Int?).self)
    }

    /// Refuses one more active user beyond the tenant's limit.
    public static func checkUsers(on connection: PostgresConnection, logger: Logger) async throws {
        guard let (plan, limit, _, _) = try await current(on: connection, logger: logger), let limit else { return }
        let active = try await connection.query("SELECT count(*)::int FROM users WHERE is_active", logger: logger).collect().first?.decode(Int.self) ?? 0
        if active >= limit {
            throw AtriumError(status: .unprocessableContent, code: "plan_limit_users",
                              message: "the \(plan) plan allows \(limit) active users and this company has \(active); deactivate a user or change the plan",
                              field: "users")
        }
    }

    /// Refuses one more live record (or `adding` more: a whole import file at once) beyond the
    /// tenant's limit.
    /// `excluding`: entities of modules' reference data (seeded stages, categories), not counted.
    public static func checkRecords(adding: Int = 1, excluding: [String] = [], on connection: PostgresConnection, logger: Logger) async throws {
        guard let (plan, _, limit, _) = try await current(on: connection, logger: logger), let limit else { return }
        let live = try await connection.query("""
            SELECT count(*)::int FROM records WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid AND deleted_at IS NULL
                AND entity <> ALL(\(excluding))
            """, logger: logger).collect().first?.decode(Int.self) ?? 0
        if live + adding > limit {
            let message = adding == 1
                ? "the \(plan) plan allows \(limit) records and this company has \(live); delete records or change the plan"
                : "the \(plan) plan allows \(limit) records and this company has \(live), so \(adding) more do not fit (room for \(max(0, limit - live))); import fewer rows, delete records or change the plan"
            throw AtriumError(status: .unprocessableContent, code: "plan_limit_records", message: message, field: "records")
        }
    }

    /// Refuses `adding` more bytes of attachments beyond the tenant's storage limit. Usage counts
    /// each stored content once (the same file attached twice takes its bytes once), deleted
    /// attachments included: their bytes stay in the store.
    public static func checkStorage(adding bytes: Int, sha256: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard let (plan, _, _, limitMB) = try await current(on: connection, logger: logger), let limitMB else { return }
        let known = try await connection.query("SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = \(sha256))", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        guard !known else { return }  // the bytes are stored already
        let used = Int64(try await Attachments.storedBytes(on: connection, logger: logger))
        let limit = Int64(limitMB) * 1024 * 1024
        if used + Int64(bytes) > limit {
            let usedMB = Double(used) / 1_048_576
            throw AtriumError(status: .unprocessableContent, code: "plan_limit_storage",
                              message: "the \(plan) plan allows \(limitMB) MiB of files and this company uses \(String(format: "%.1f", usedMB)) MiB; remove files or change the plan",
                              field: "file")
        }
    }
}

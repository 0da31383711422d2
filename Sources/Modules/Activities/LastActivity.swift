import Foundation
import Logging
import Platform
import PostgresNIO

/// The last activity date of any record — an account, a lead, a tenant's custom object — kept in
/// the module's own table `activity_last_touch` (tenant, entity, record) under forced RLS.
///
/// Why a table and not a field on the record: the module kit lets a module declare its own
/// entities only, not add a field to another module's entity or to a tenant's custom object;
/// and writing the date into the related record would bump its version (an open edit form on
/// the account would then hit a version conflict because a colleague logged a call) and fill
/// its audit trail with derived noise. The table is a cache of `max(occurred_at)` over the
/// record's live activities, recomputed through the engine in the activity's transaction, so
/// binning or moving an activity corrects it as well.
enum LastActivity {
    /// Recomputes the record's last activity from its live activities (all of them, whoever
    /// owns them: the date is a fact about the customer, not about the caller's scope).
    static func refresh(entity: String, id: UUID, context: HookContext) async throws {
        let filter = ModuleStore.and([ModuleStore.eq("related_entity", entity), ModuleStore.eq("related_id", id.uuidString.lowercased())])
        let latest = try await context.engine.list("activity", query: RecordQuery(filter: filter, sort: "-occurred_at", limit: 1),
                                                   as: context.derivedActor, on: context.connection, logger: context.logger).records.first
        let tenant = try await TenantScope.current(on: context.connection, logger: context.logger)
        guard let latest, let at = ActivitiesRules.date(latest.values["occurred_at"]) else {
            try await context.connection.query("""
                DELETE FROM activity_last_touch WHERE tenant_id = \(tenant) AND entity = \(entity) AND record_id = \(id)
                """, logger: context.logger)
            return
        }
        // Only for a record that still exists (a restored activity may name a purged one).
        try await context.connection.query("""
            INSERT INTO activity_last_touch (tenant_id, entity, record_id, last_activity_at, activity_id)
            SELECT r.tenant_id, \(entity), r.id, \(at), \(latest.id) FROM records r WHERE r.tenant_id = \(tenant) AND r.id = \(id)
            ON CONFLICT (tenant_id, entity, record_id) DO UPDATE SET last_activity_at = EXCLUDED.last_activity_at, activity_id = EXCLUDED.activity_id
            """, logger: context.logger)
    }

    /// The last activity dates of the given records of `entity` (records without any are absent).
    static func of(entity: String, ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: Date] {
        guard !ids.isEmpty else { return [:] }
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var dates: [UUID: Date] = [:]
        for try await (id, at) in try await connection.query("""
            SELECT record_id, last_activity_at FROM activity_last_touch
            WHERE tenant_id = \(tenant) AND entity = \(entity) AND record_id = ANY(\(ids))
            """, logger: logger).decode((UUID, Date).self) {
            dates[id] = at
        }
        return dates
    }

    /// The module's schema: migration 1 of the `activities` group. A snapshot: never edit it,
    /// add migration 2.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "activity_last_touch", statements: [
            """
            CREATE TABLE activity_last_touch (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                record_id uuid NOT NULL,
                last_activity_at timestamptz NOT NULL,
                activity_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, entity, record_id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX activity_last_touch_by_date ON activity_last_touch (tenant_id, entity, last_activity_at)",
            "CREATE INDEX activity_last_touch_by_record ON activity_last_touch (tenant_id, record_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON activity_last_touch TO {{app_role}}",
        ] + TenantTable.isolate("activity_last_touch")),
    ]
}

import Foundation
import Logging
import Platform
import PostgresNIO

/// The last activity date of any record — an account, a lead, a tenant's custom object — kept
/// in the record's own `last_activity_at` column (a system field of every record since platform
/// migration 29), so lists filter, sort and show it and the pools' idle rule reads it.
///
/// It is written directly, not through the engine's update: the record's version and audit
/// trail stay as they were (an open edit form on the account does not hit a version conflict
/// because a colleague logged a call, and the trail holds no derived noise). The date is
/// `max(occurred_at)` over the record's live activities, recomputed through the engine in the
/// activity's transaction, so binning or moving an activity corrects it as well.
///
/// (Module migration 1 kept the date in a table of its own, `activity_last_touch`; migration 5
/// moved the dates into the column and dropped that table.)
enum LastActivity {
    /// Recomputes the record's last activity from its live activities — those about it and
    /// those linked to it (``ActivityLinks``) — all of them, whoever owns them: the date is a
    /// fact about the customer, not about the caller's scope.
    static func refresh(entity: String, id: UUID, context: HookContext) async throws {
        let filter = ModuleStore.and([ModuleStore.eq("related_entity", entity), ModuleStore.eq("related_id", id.uuidString.lowercased())])
        let latest = try await context.engine.list("activity", query: RecordQuery(filter: filter, sort: "-occurred_at", limit: 1),
                                                   as: context.derivedActor, on: context.connection, logger: context.logger).records.first
        let linked = try await ActivityLinks.latest(entity: entity, id: id, on: context.connection, logger: context.logger)
        let at = [latest.flatMap { ActivitiesRules.date($0.values["occurred_at"]) }, linked].compactMap { $0 }.max()
        let tenant = try await TenantScope.current(on: context.connection, logger: context.logger)
        try await context.connection.query("""
            UPDATE records SET last_activity_at = \(at)
            WHERE tenant_id = \(tenant) AND id = \(id) AND entity = \(entity) AND last_activity_at IS DISTINCT FROM \(at)
            """, logger: context.logger)
    }

    /// Moves the record's date to `at` when that is later (a new activity was logged).
    static func advance(entity: String, id: UUID, to at: Date, context: HookContext) async throws {
        let tenant = try await TenantScope.current(on: context.connection, logger: context.logger)
        try await context.connection.query("""
            UPDATE records SET last_activity_at = \(at)
            WHERE tenant_id = \(tenant) AND id = \(id) AND entity = \(entity) AND (last_activity_at IS NULL OR last_activity_at < \(at))
            """, logger: context.logger)
    }

    /// The last activity dates of the given records of `entity` (records without any are absent).
    static func of(entity: String, ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: Date] {
        guard !ids.isEmpty else { return [:] }
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var dates: [UUID: Date] = [:]
        for try await (id, at) in try await connection.query("""
            SELECT id, last_activity_at FROM records
            WHERE tenant_id = \(tenant) AND entity = \(entity) AND id = ANY(\(ids)) AND last_activity_at IS NOT NULL
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

    /// Migration 5: the dates move into `records.last_activity_at`, tenant by tenant (RLS is
    /// forced for the owner too), and the module's table goes.
    static let toRecords = Migration(version: 5, name: "last_activity_on_records", statements: [
        """
        DO $$
        DECLARE
            tenant uuid;
        BEGIN
            FOR tenant IN SELECT id FROM tenants LOOP
                PERFORM set_config('app.tenant_id', tenant::text, true);
                UPDATE records r SET last_activity_at = t.last_activity_at FROM activity_last_touch t
                WHERE t.tenant_id = r.tenant_id AND t.record_id = r.id;
            END LOOP;
            PERFORM set_config('app.tenant_id', '', true);
        END
        $$
        """,
        "DROP TABLE activity_last_touch",
    ])
}

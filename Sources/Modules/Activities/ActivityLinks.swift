import Foundation
import Logging
import Platform
import PostgresNIO

/// The records an activity is about besides its main one (`related_entity` + `related_id`):
///
/// - those the writer names in `also_related` — `contact:<id>,opportunity:<id>`, at most
///   ``maxNamed``, each a record the writer may read (else a 422 naming `also_related`);
/// - the contacts who took part (`contact_ids`, checked by ``ActivityParticipants``);
/// - the customer they belong to (`rolled_up`, computed): a call logged with a contact or on an
///   opportunity or order is also a follow-up of that record's account — every active lookup
///   to an `account` on a related record that is not itself an account (a parent account is
///   not rolled up to).
///
/// Both lists are kept in the module's table `activity_links` (one row per record, with the
/// activity's time), indexed by record, so a record's timeline and last activity date find
/// the activities linked to it without reading any other activity. Binning an activity drops
/// its links, restoring it writes them again.
struct ActivityLinks: RecordHooks {
    static let maxNamed = 10
    static let rollUpTarget = "account"
    static let keys: Set<String> = ["related_entity", "related_id", "also_related", "contact_ids", "occurred_at"]

    struct Link: Hashable, Sendable {
        let entity: String
        let id: UUID

        var text: String { "\(entity):\(id.uuidString.lowercased())" }
    }

    /// `entity:id` pairs of a stored list (unparsable parts are skipped: stored lists were checked).
    static func parse(_ value: JSONValue?) -> [Link] {
        (value?.stringValue ?? "").split(separator: ",").compactMap { part in
            let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, let id = UUID(uuidString: pieces[1]) else { return nil }
            return Link(entity: pieces[0].lowercased(), id: id)
        }
    }

    static func text(_ links: [Link]) -> JSONValue { links.isEmpty ? .null : .string(links.map(\.text).joined(separator: ",")) }

    /// The contacts who took part, as links.
    static func contacts(_ value: JSONValue?) -> [Link] {
        PeopleList.ids(value).compactMap { UUID(uuidString: $0).map { Link(entity: "contact", id: $0) } }
    }

    /// Every record the stored activity links to besides its main one.
    static func links(of record: Record) -> [Link] {
        let main = record.string("related_id").flatMap(UUID.init(uuidString:)).map { Link(entity: record.string("related_entity") ?? "", id: $0) }
        var seen: [Link] = []
        for link in parse(record.values["also_related"]) + contacts(record.values["contact_ids"]) + parse(record.values["rolled_up"])
        where link != main && !seen.contains(link) {
            seen.append(link)
        }
        return seen
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard write.isCreate || !Self.keys.isDisjoint(with: write.values.keys) else { return }
        let context = write.context
        let main = write.value("related_id")?.stringValue.flatMap(UUID.init(uuidString:))
            .flatMap { id in write.value("related_entity")?.stringValue.map { Link(entity: $0, id: id) } }
        var named: [Link] = []
        if let sent = write.values["also_related"], !sent.isNull {
            guard let list = sent.stringValue else { throw ActivitiesRules.invalid("also_related", "must be text like contact:<id>,opportunity:<id>", key: "also_related_format") }
            let parts = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard parts.count <= Self.maxNamed else {
                throw ActivitiesRules.invalid("also_related", "may name at most \(Self.maxNamed) records", key: "also_related_too_many", ["max": "\(Self.maxNamed)"])
            }
            for part in parts {
                let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pieces.count == 2, let id = UUID(uuidString: pieces[1]) else {
                    throw ActivitiesRules.invalid("also_related", "must list object:id pairs, not \(part)", key: "also_related_format")
                }
                let record: Record
                do {
                    record = try await context.engine.get(pieces[0].lowercased(), id: id, as: context.actor, on: context.connection, logger: context.logger)
                } catch let error as AtriumError where error.code == "entity_not_found" || error.code == "record_not_found" {
                    throw ActivitiesRules.invalid("also_related", "names no record you may read: \(part)", key: "also_related_unknown", ["record": String(part)])
                }
                let link = Link(entity: record.entity, id: record.id)
                if link != main && !named.contains(link) { named.append(link) }
            }
            write.values["also_related"] = Self.text(named)
        } else {
            named = Self.parse(write.existing?.values["also_related"]).filter { $0 != main }
        }
        // The customers of the main and named records (read as the module: the writer named
        // the records, the rolled-up account is a fact about them, not a record they chose).
        var rolled: [Link] = []
        let present = Self.contacts(write.value("contact_ids"))
        for link in ([main].compactMap { $0 } + named + present) where link.entity != Self.rollUpTarget {
            guard let record = try? await context.engine.get(link.entity, id: link.id, as: context.actor.derived, on: context.connection, logger: context.logger),
                  let definition = try? await context.engine.entity(link.entity, on: context.connection, logger: context.logger).0 else { continue }
            for field in definition.fields where field.active && field.type == .lookup && field.target == Self.rollUpTarget && field.key != "parent" {
                guard let id = record.string(field.key).flatMap(UUID.init(uuidString:)) else { continue }
                let account = Link(entity: Self.rollUpTarget, id: id)
                if account != main && !named.contains(account) && !rolled.contains(account) { rolled.append(account) }
            }
        }
        write.values["rolled_up"] = Self.text(rolled)
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        let links = Self.links(of: record)
        guard !links.isEmpty else { return }
        let at = ActivitiesRules.date(record.values["occurred_at"]) ?? record.createdAt
        try await Self.write(links, of: record.id, at: at, context: context)
        for link in links { try await LastActivity.advance(entity: link.entity, id: link.id, to: at, context: context) }
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard Self.keys.contains(where: { record.values[$0] != previous.values[$0] }) || record.values["rolled_up"] != previous.values["rolled_up"] else { return }
        let before = try await Self.drop(record.id, context: context)
        let now = Self.links(of: record)
        try await Self.write(now, of: record.id, at: ActivitiesRules.date(record.values["occurred_at"]) ?? record.createdAt, context: context)
        for link in Set(before + now) { try await LastActivity.refresh(entity: link.entity, id: link.id, context: context) }
    }

    func afterDelete(_ record: Record, context: HookContext) async throws {
        for link in try await Self.drop(record.id, context: context) { try await LastActivity.refresh(entity: link.entity, id: link.id, context: context) }
    }

    func afterRestore(_ record: Record, context: HookContext) async throws {
        let links = Self.links(of: record)
        try await Self.write(links, of: record.id, at: ActivitiesRules.date(record.values["occurred_at"]) ?? record.createdAt, context: context)
        for link in links { try await LastActivity.refresh(entity: link.entity, id: link.id, context: context) }
    }

    // MARK: The table

    static func write(_ links: [Link], of activity: UUID, at: Date, context: HookContext) async throws {
        guard !links.isEmpty else { return }
        let tenant = try await TenantScope.current(on: context.connection, logger: context.logger)
        try await context.connection.query("""
            INSERT INTO activity_links (tenant_id, activity_id, entity, record_id, occurred_at)
            SELECT \(tenant), \(activity), l.entity, l.record_id, \(at)
            FROM unnest(\(links.map(\.entity))::text[], \(links.map(\.id))::uuid[]) AS l (entity, record_id)
            JOIN records r ON r.tenant_id = \(tenant) AND r.id = l.record_id AND r.entity = l.entity
            ON CONFLICT DO NOTHING
            """, logger: context.logger)
    }

    /// Removes the activity's links; returns the records they pointed at.
    static func drop(_ activity: UUID, context: HookContext) async throws -> [Link] {
        let tenant = try await TenantScope.current(on: context.connection, logger: context.logger)
        var dropped: [Link] = []
        for try await (entity, id) in try await context.connection.query("""
            DELETE FROM activity_links WHERE tenant_id = \(tenant) AND activity_id = \(activity) RETURNING entity, record_id
            """, logger: context.logger).decode((String, UUID).self) {
            dropped.append(Link(entity: entity, id: id))
        }
        return dropped
    }

    /// The newest `limit` activities linked to a record (not those whose main record it is).
    static func activities(linkedTo entity: String, id: UUID, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var ids: [UUID] = []
        for try await activity in try await connection.query("""
            SELECT activity_id FROM activity_links
            WHERE tenant_id = \(tenant) AND entity = \(entity) AND record_id = \(id)
            ORDER BY occurred_at DESC, activity_id LIMIT \(limit)
            """, logger: logger).decode(UUID.self) {
            ids.append(activity)
        }
        return ids
    }

    /// The latest time of a live activity linked to a record, if any.
    static func latest(entity: String, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        return try await connection.query("""
            SELECT max(occurred_at) FROM activity_links WHERE tenant_id = \(tenant) AND entity = \(entity) AND record_id = \(id)
            """, logger: logger).one(Date?.self)
    }

    /// Migration 6 of the `activities` group (a snapshot: never edit it, add migration 7). It
    /// also links the activities already logged to the customers of their contacts,
    /// opportunities and orders (the `account` lookup every such record of the sales module
    /// has) and to the contacts who took part, tenant by tenant, since RLS is forced for the
    /// owner too.
    static let migration = Migration(version: 6, name: "activity_links", statements: [
        """
        CREATE TABLE activity_links (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            activity_id uuid NOT NULL,
            entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
            record_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, activity_id, entity, record_id),
            FOREIGN KEY (tenant_id, activity_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX activity_links_by_record ON activity_links (tenant_id, entity, record_id, occurred_at DESC)",
        "CREATE INDEX activity_links_by_target ON activity_links (tenant_id, record_id)",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON activity_links TO {{app_role}}",
    ] + TenantTable.isolate("activity_links") + [
        """
        DO $$
        DECLARE
            tenant uuid;
        BEGIN
            FOR tenant IN SELECT id FROM tenants LOOP
                PERFORM set_config('app.tenant_id', tenant::text, true);
                WITH rolled AS (
                    SELECT a.id AS activity_id, acc.id AS account_id,
                           coalesce(a.data->>'occurred_at', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::timestamptz AS occurred_at
                    FROM records a
                    JOIN records rel ON rel.tenant_id = a.tenant_id AND rel.entity = a.data->>'related_entity'
                         AND rel.id::text = a.data->>'related_id'
                    JOIN records acc ON acc.tenant_id = a.tenant_id AND acc.entity = 'account' AND acc.id::text = rel.data->>'account'
                    WHERE a.tenant_id = tenant AND a.entity = 'activity' AND a.deleted_at IS NULL AND rel.entity <> 'account'
                ), stored AS (
                    UPDATE records a SET data = a.data || jsonb_build_object('rolled_up', 'account:' || r.account_id::text)
                    FROM rolled r WHERE a.tenant_id = tenant AND a.id = r.activity_id
                    RETURNING a.id
                )
                INSERT INTO activity_links (tenant_id, activity_id, entity, record_id, occurred_at)
                SELECT tenant, activity_id, 'account', account_id, occurred_at FROM rolled
                ON CONFLICT DO NOTHING;
                INSERT INTO activity_links (tenant_id, activity_id, entity, record_id, occurred_at)
                SELECT tenant, a.id, 'contact', c.id,
                       coalesce(a.data->>'occurred_at', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::timestamptz
                FROM records a
                CROSS JOIN LATERAL unnest(string_to_array(a.data->>'contact_ids', ',')) AS present (id)
                JOIN records c ON c.tenant_id = a.tenant_id AND c.entity = 'contact' AND c.id::text = trim(present.id)
                WHERE a.tenant_id = tenant AND a.entity = 'activity' AND a.deleted_at IS NULL AND a.data->>'contact_ids' IS NOT NULL
                  AND c.id::text IS DISTINCT FROM a.data->>'related_id'
                ON CONFLICT DO NOTHING;
                UPDATE records acc SET last_activity_at = l.latest
                FROM (SELECT record_id, max(occurred_at) AS latest FROM activity_links WHERE tenant_id = tenant GROUP BY record_id) l
                WHERE acc.tenant_id = tenant AND acc.id = l.record_id AND (acc.last_activity_at IS NULL OR acc.last_activity_at < l.latest);
            END LOOP;
            PERFORM set_config('app.tenant_id', '', true);
        END
        $$
        """,
    ])
}

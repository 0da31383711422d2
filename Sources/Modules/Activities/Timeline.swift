import Foundation
import Platform

/// What happened with one record, newest first: the activities about it or linked to it (a
/// contact's follow-ups on their account's timeline), tasks and calendar events about it and its
/// audit trail (field changes, approvals, shares, pool moves).
///
/// Every part is read through the record engine as the viewer: the record itself (a record the
/// viewer cannot read is a 404), activities and tasks with the viewer's list scope (a
/// colleague's activity the viewer could not open on its own never shows), the audit trail
/// with the viewer's field rules (hidden fields' changes are left out).
struct Timeline: Sendable {
    enum Kind: String, Sendable { case activity, task, event, change }

    struct Item: Sendable {
        let at: Date
        let kind: Kind
        /// The activity, task or event (for `activity`, `task` and `event`).
        let record: Record?
        /// The audit entry (for `change`).
        let entry: RecordEngine.HistoryEntry?
    }

    let record: Record
    let items: [Item]
    let lastActivityAt: Date?

    static let maxLimit = 500

    static func load(entity: String, id: UUID, limit: Int = 100, store: ModuleStore) async throws -> Timeline {
        guard (1...maxLimit).contains(limit) else { throw AtriumError.validation(field: "limit", "must be 1 to \(maxLimit)") }
        let record = try await store.get(entity, id)
        let about = ModuleStore.and([ModuleStore.eq("related_entity", entity), ModuleStore.eq("related_id", id.uuidString.lowercased())])
        var items: [Item] = []
        // Activities about it, and those about other records linked to it (a call with one of
        // its contacts): ids from the module's link table, read through the engine as the viewer.
        let linked = try await ActivityLinks.activities(linkedTo: entity, id: id, limit: min(limit, RecordQuery.maxLimit), on: store.connection, logger: store.logger)
        let activities = linked.isEmpty ? about : .object(["or": .array([about, ModuleStore.op("id", "in", .array(linked.map { .string($0.uuidString.lowercased()) }))])])
        for activity in try await visible("activity", filter: activities, sort: "-occurred_at", limit: limit, store: store) {
            items.append(Item(at: ActivitiesRules.date(activity.values["occurred_at"]) ?? activity.createdAt, kind: .activity, record: activity, entry: nil))
        }
        for task in try await visible("task", filter: about, sort: "-created_at", limit: limit, store: store) {
            items.append(Item(at: ActivitiesRules.date(task.values["completed_at"]) ?? task.createdAt, kind: .task, record: task, entry: nil))
        }
        for event in try await visible("event", filter: about, sort: "-starts_at", limit: limit, store: store) {
            items.append(Item(at: EventTime.date(event.values["starts_at"]) ?? event.createdAt, kind: .event, record: event, entry: nil))
        }
        for entry in try await changes(entity, id: id, store: store) {
            items.append(Item(at: entry.at, kind: .change, record: nil, entry: entry))
        }
        // Newest first; at the same instant the activity before the task before the change.
        let rank: [Kind: Int] = [.activity: 0, .task: 1, .event: 2, .change: 3]
        items.sort { $0.at != $1.at ? $0.at > $1.at : rank[$0.kind]! < rank[$1.kind]! }
        let last = try await LastActivity.of(entity: entity, ids: [id], on: store.connection, logger: store.logger)[id]
        return Timeline(record: record, items: Array(items.prefix(limit)), lastActivityAt: last)
    }

    /// The records of `entity` the viewer may list; none when the viewer's roles give no read
    /// right on it (the timeline of a record still shows its changes).
    static func visible(_ entity: String, filter: JSONValue, sort: String, limit: Int, store: ModuleStore) async throws -> [Record] {
        do {
            return try await store.engine.list(entity, query: RecordQuery(filter: filter, sort: sort, limit: min(limit, RecordQuery.maxLimit)),
                                               as: store.actor, on: store.connection, logger: store.logger).records
        } catch let error as AtriumError where error.code == "entity_not_found" || error.code == "no_permission" {
            return []
        }
    }

    /// The record's audit trail as the viewer may see it; none for a record without entries
    /// (the engine answers those with a 404, but the record itself was just read).
    static func changes(_ entity: String, id: UUID, store: ModuleStore) async throws -> [RecordEngine.HistoryEntry] {
        do {
            return try await store.engine.history(entity, id: id, as: store.actor, on: store.connection, logger: store.logger)
        } catch let error as AtriumError where error.code == "record_not_found" {
            return []
        }
    }

    static func time(_ date: Date) -> JSONValue { .string(date.formatted(.iso8601)) }

    var json: JSONValue {
        .object([
            "entity": .string(record.entity),
            "id": .string(record.id.uuidString.lowercased()),
            "last_activity_at": lastActivityAt.map(Self.time) ?? .null,
            "items": .array(items.map { item in
                var object: [String: JSONValue] = ["type": .string(item.kind.rawValue), "at": Self.time(item.at)]
                if let record = item.record { object["record"] = record.json }
                if let entry = item.entry {
                    object["action"] = .string(entry.action)
                    object["actor"] = .string(entry.actor)
                    object["changes"] = entry.details["changes"] ?? .object([:])
                }
                return .object(object)
            }),
        ])
    }
}

/// Records of an entity in the viewer's scope that nobody has followed up for `days` days:
/// the last activity (``LastActivity``) — or, for a record never followed up, its creation —
/// lies before the cut-off, and (unless asked otherwise) no order of it was entered since. Oldest first, never-followed-up ones before all others.
struct DormantRecords: Sendable {
    struct Row: Sendable {
        let record: Record
        let lastActivityAt: Date?
    }

    let entity: String
    let days: Int
    let cutoff: Date
    let rows: [Row]

    static func parameters(entity: String?, days: String?, asOf: String?) throws -> (entity: String, days: Int, asOf: Date) {
        let entity = entity.flatMap { $0.isEmpty ? nil : $0 } ?? "account"
        guard entity.range(of: "^[a-z][a-z0-9_]{0,42}$", options: .regularExpression) != nil else {
            throw AtriumError.validation(field: "entity", "must be an object key such as account")
        }
        let count: Int
        if let days, !days.isEmpty {
            guard let parsed = Int(days), (1...3650).contains(parsed) else { throw AtriumError.validation(field: "days", "must be a whole number of days from 1 to 3650") }
            count = parsed
        } else {
            count = 30
        }
        var reference = Date()
        if let asOf, !asOf.isEmpty {
            // The start of that day in China time.
            guard asOf.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil,
                  let day = try? Date("\(asOf)T00:00:00+08:00", strategy: .iso8601) else {
                throw AtriumError.validation(field: "as_of", "must be a date like 2026-11-23")
            }
            reference = day
        }
        return (entity, count, reference)
    }

    /// What else counts as a touch besides a follow-up: a new order of the customer.
    static let orders = ["sales_order"]

    /// The records of `entity` that a record of one of the `by` objects created since `since`
    /// points at through a lookup (a customer's new order). Counted as the module, whoever
    /// owns the order: that the customer ordered is a fact about the customer. Objects the
    /// tenant does not have are skipped.
    static func touched(entity: String, by objects: [String], since: JSONValue, store: ModuleStore) async throws -> Set<UUID> {
        var ids: Set<UUID> = []
        for object in objects {
            guard let definition = try? await store.engine.entity(object, on: store.connection, logger: store.logger).0,
                  let link = definition.fields.first(where: { $0.active && $0.type == .lookup && $0.target == entity }) else { continue }
            let rows = try await store.engine.aggregate(object, RecordAggregate(groups: [.field(link.key)], filter: ModuleStore.op("created_at", "gte", since)),
                                                        as: store.actor.derived, on: store.connection, logger: store.logger)
            ids.formUnion(rows.compactMap { row in row.keys.first.flatMap { $0 }.flatMap { UUID(uuidString: $0) } })
        }
        return ids
    }

    static func load(entity: String, days: Int, asOf: Date, owner: UUID? = nil, touchedBy: [String] = orders, store: ModuleStore) async throws -> DormantRecords {
        let cutoff = asOf.addingTimeInterval(-Double(days) * 86_400)
        let stamp = JSONValue.string(cutoff.formatted(.iso8601))
        // Idle: the last follow-up before the cutoff, or none and created before it (the
        // `last_activity_at` system column, indexed per entity).
        var parts = [JSONValue.object(["or": .array([
            ModuleStore.op("last_activity_at", "lt", stamp),
            ModuleStore.and([ModuleStore.op("last_activity_at", "is_empty", .bool(true)), ModuleStore.op("created_at", "lt", stamp)]),
        ])])]
        if let owner { parts.append(ModuleStore.eq("owner_id", owner.uuidString.lowercased())) }
        let candidates: [Record]
        do {
            candidates = try await store.all(entity, filter: ModuleStore.and(parts), sort: "created_at")
        } catch let error as AtriumError where error.code == "entity_not_found" {
            throw AtriumError.validation(field: "entity", "names no object you may read: \(entity)")
        }
        let touched = try await Self.touched(entity: entity, by: touchedBy, since: stamp, store: store)
        let rows = candidates.filter { !touched.contains($0.id) }.map { Row(record: $0, lastActivityAt: $0.lastActivityAt) }
            .sorted { ($0.lastActivityAt ?? .distantPast, $0.record.createdAt) < ($1.lastActivityAt ?? .distantPast, $1.record.createdAt) }
        return DormantRecords(entity: entity, days: days, cutoff: cutoff, rows: rows)
    }

    func json(limit: Int, offset: Int) -> JSONValue {
        .object([
            "entity": .string(entity), "days": .number(Decimal(days)), "cutoff": Timeline.time(cutoff),
            "total": .number(Decimal(rows.count)), "limit": .number(Decimal(limit)), "offset": .number(Decimal(offset)),
            "records": .array(rows.dropFirst(offset).prefix(limit).map { row in
                var object = row.record.json.objectValue ?? [:]
                object["last_activity_at"] = row.lastActivityAt.map(Timeline.time) ?? .null
                return .object(object)
            }),
        ])
    }
}

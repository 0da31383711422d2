import Foundation
import Platform

/// The activities module's rules, as record hooks: the related record must be one the caller
/// may read in this tenant; a task's status moves along its flow and belongs to its assignee;
/// logging, moving or binning an activity keeps the related record's last activity date.
enum ActivitiesRules {
    static let hooks: [(String, any RecordHooks)] = [
        ("activity", RelatedRecord(required: true)),
        ("activity", ActivityTime()),
        ("activity", LastActivityKeeper()),
        ("activity", ActivityParticipants()),
        ("activity", ActivityLinks()),  // after the related record and the contacts are checked
        ("task", RelatedRecord(required: false)),
        ("task", TaskFlow()),
        ("event", EventSeries()),
        ("event", RelatedRecord(required: false)),
        ("visit", RelatedRecord(required: true)),
        ("visit", VisitFlow()),
        ("work_report", WorkReportFlow()),
    ]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("activities", .unprocessableContent, code: "invalid_\(field)", field: field, "\(field) \(message)", key: key, arguments)
    }

    /// Stored datetimes are `YYYY-MM-DDTHH:MM:SSZ`; what the engine accepts is any ISO 8601 with a zone.
    static func date(_ value: JSONValue?) -> Date? { StoredTime.date(value) }

    static func stamp(_ date: Date) -> JSONValue { StoredTime.stamp(date) }
}

/// `related_entity` + `related_id` name a live record the caller may read, in the caller's
/// tenant (RLS hides every other tenant's records, so those fail the same way): otherwise a
/// 422 naming the field. An activity is not a way to learn that a record exists. The related
/// record's title is kept in `related_title` for lists.
struct RelatedRecord: RecordHooks {
    let required: Bool

    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard write.isCreate || write.values["related_entity"] != nil || write.values["related_id"] != nil else { return }
        let entityKey = write.value("related_entity")?.stringValue?.trimmingCharacters(in: .whitespaces) ?? ""
        let idText = write.value("related_id")?.stringValue?.trimmingCharacters(in: .whitespaces) ?? ""
        if entityKey.isEmpty && idText.isEmpty {
            // Nothing related: the engine's required check names the field when it must be set.
            if !required { write.values["related_title"] = .null }
            return
        }
        guard !entityKey.isEmpty else { throw ActivitiesRules.invalid("related_entity", "is required with related_id", key: "related_entity_missing") }
        guard !idText.isEmpty else { throw ActivitiesRules.invalid("related_id", "is required with related_entity", key: "related_id_missing") }
        guard let id = UUID(uuidString: idText) else { throw ActivitiesRules.invalid("related_id", "must be a record id", key: "related_id_format") }
        let context = write.context
        let entity: EntityDefinition
        let record: Record
        do {
            record = try await context.engine.get(entityKey, id: id, as: context.actor, on: context.connection, logger: context.logger)
            entity = try await context.engine.entity(entityKey, on: context.connection, logger: context.logger).0
        } catch let error as AtriumError where error.code == "entity_not_found" {
            throw ActivitiesRules.invalid("related_entity", "names no object you may read: \(entityKey)", key: "related_entity_unknown", ["entity": entityKey])
        } catch let error as AtriumError where error.code == "record_not_found" {
            throw ActivitiesRules.invalid("related_id", "names no \(entityKey) record you may read", key: "related_record_unknown", ["entity": entityKey])
        }
        write.values["related_entity"] = .string(entity.key)
        write.values["related_id"] = .string(record.id.uuidString.lowercased())
        let title = entity.title(of: record, locale: "zh-CN") ?? record.id.uuidString.lowercased()
        write.values["related_title"] = .string(String(title.prefix(200)))
    }
}

/// An activity is logged after it happened: `occurred_at` defaults to now and may not lie more
/// than a day ahead (time zones and clocks differ a little; a plan is a task, not an activity).
struct ActivityTime: RecordHooks {
    static let slack: TimeInterval = 86_400

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let sent = write.values["occurred_at"]
        let empty = sent.map { $0.isNull || $0 == .string("") }
        if write.isCreate && empty != false {
            write.values["occurred_at"] = ActivitiesRules.stamp(Date())
            return
        }
        guard let sent, empty == false else {
            if empty == true { throw ActivitiesRules.invalid("occurred_at", "is required", key: "occurred_at_required") }
            return
        }
        // A malformed value is the engine's 422 (the field's type check); only a parsed one is judged here.
        if let when = ActivitiesRules.date(sent), when.timeIntervalSinceNow > Self.slack {
            throw ActivitiesRules.invalid("occurred_at", "must not be in the future (plan it as a task)", key: "occurred_in_future")
        }
    }
}

/// Keeps the last activity date of the related record(s) whenever an activity is logged,
/// changed, binned or restored (see ``LastActivity``).
struct LastActivityKeeper: RecordHooks {
    static func target(_ record: Record) -> (String, UUID)? {
        guard let entity = record.string("related_entity"), let id = record.string("related_id").flatMap(UUID.init(uuidString:)) else { return nil }
        return (entity, id)
    }

    /// A new live activity can only move the date forward: one conditional update, no recount
    /// (an account with 5 000 follow-ups logged 26 a second when each one recounted them all).
    func afterCreate(_ record: Record, context: HookContext) async throws {
        guard let (entity, id) = Self.target(record) else { return }
        guard let at = ActivitiesRules.date(record.values["occurred_at"]) else {
            return try await LastActivity.refresh(entity: entity, id: id, context: context)
        }
        try await LastActivity.advance(entity: entity, id: id, to: at, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        let now = Self.target(record), before = Self.target(previous)
        if let (entity, id) = before, before.map({ "\($0.0)/\($0.1)" }) != now.map({ "\($0.0)/\($0.1)" }) {
            try await LastActivity.refresh(entity: entity, id: id, context: context)
        }
        if let (entity, id) = now { try await LastActivity.refresh(entity: entity, id: id, context: context) }
    }

    func afterDelete(_ record: Record, context: HookContext) async throws {
        if let (entity, id) = Self.target(record) { try await LastActivity.refresh(entity: entity, id: id, context: context) }
    }

    func afterRestore(_ record: Record, context: HookContext) async throws {
        if let (entity, id) = Self.target(record) { try await LastActivity.refresh(entity: entity, id: id, context: context) }
    }
}

/// open → in progress → done / cancelled (a task may go back to open from any of them, and
/// from in progress); anything else is a 422 naming `status`. A new task starts open or in
/// progress. Reaching done stamps `completed_at`, leaving it clears the stamp. A task belongs
/// to its assignee: the owner follows the assignee, so the assignee's data scope reaches it and
/// a handover of the assignee's records moves their open tasks too.
struct TaskFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "open": ["in_progress", "done", "cancelled"],
        "in_progress": ["open", "done", "cancelled"],
        "done": ["open"],
        "cancelled": ["open"],
    ]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let from = write.existing?.string("status")
        if let sent = write.values["status"], let to = sent.stringValue {
            if write.isCreate {
                guard to == "open" || to == "in_progress" else {
                    throw ActivitiesRules.invalid("status", "of a new task must be open or in_progress, not \(to)", key: "task_starts_open", ["to": to])
                }
            } else if let from, to != from, !(Self.next[from] ?? []).contains(to) {
                throw ActivitiesRules.invalid("status", "cannot go from \(from) to \(to)", key: "task_transition", ["from": from, "to": to])
            }
            if to == "done" && from != "done" { write.values["completed_at"] = ActivitiesRules.stamp(Date()) }
            if to != "done" && from == "done" { write.values["completed_at"] = .null }
        }
        if let due = ActivitiesRules.date(write.value("due_at")), let reminder = ActivitiesRules.date(write.value("reminder_at")), reminder > due,
           write.values["due_at"] != nil || write.values["reminder_at"] != nil {
            throw ActivitiesRules.invalid("reminder_at", "must not be after the due time", key: "reminder_after_due")
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await followAssignee(record, previous: nil, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.values["assignee"] != previous.values["assignee"] else { return }
        try await followAssignee(record, previous: previous, context: context)
    }

    /// No assignee: the owner is it. Another assignee than the owner: the task becomes theirs,
    /// and they are told (unless they assigned it themselves).
    func followAssignee(_ record: Record, previous: Record?, context: HookContext) async throws {
        guard let owner = record.ownerID else { return }
        guard let assignee = record.string("assignee").flatMap(UUID.init(uuidString:)) else {
            _ = try await context.engine.update("task", id: record.id, values: ["assignee": .string(owner.uuidString.lowercased())],
                                                expectedVersion: record.version, as: context.derivedActor, on: context.connection, logger: context.logger)
            return
        }
        guard assignee != owner else { return }
        _ = try await context.engine.update("task", id: record.id, values: ["owner_id": .string(assignee.uuidString.lowercased())],
                                            expectedVersion: record.version, as: context.derivedActor, on: context.connection, logger: context.logger)
        try await Notifications.notify([assignee], of: NotificationEvent(kind: "activities.task_assigned", entity: "task", recordID: record.id,
                                                                          actor: context.user.id, arguments: ["record": record.string("subject") ?? ""]),
                                       on: context.connection, logger: context.logger)
    }
}

import Foundation
import Platform

/// planned → checked_in → done, and planned ↔ cancelled: the visit's status moves only along
/// its flow, and the steps stamp what they record, at the server's time:
/// - checking in stamps `checked_in_at` (a visit may also be created checked in: an unplanned
///   visit started from the customer's page);
/// - checking out needs a check-in (422 naming `status` otherwise), stamps `checked_out_at`,
///   computes `duration_minutes`, and logs the visit's activity (kind visit) on the visited
///   record in the same transaction, so it shows on that record's timeline and moves its last
///   activity date; the activity's id is kept in `activity_id`.
/// A position (`check_in_*`, `check_out_*`) is written only with the step it belongs to, and a
/// latitude only with its longitude. Sending a field's stored value again (an edit form) is no
/// change.
struct VisitFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "planned": ["checked_in", "cancelled"],
        "checked_in": ["done"],
        "done": [],
        "cancelled": ["planned"],
    ]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        ActivitiesRules.invalid(field, message, key: key, arguments)
    }

    /// A number as sent or stored (JSON number or text), nil when empty.
    static func number(_ value: JSONValue?) -> Decimal? {
        switch value {
        case .number(let number)?: return number
        case .string(let text)?: return Decimal(string: text.trimmingCharacters(in: .whitespaces), locale: Locale(identifier: "en_US_POSIX"))
        default: return nil
        }
    }

    static func positionKeys(_ step: String) -> [String] { ["\(step)_latitude", "\(step)_longitude", "\(step)_accuracy"] }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let from = write.existing?.string("status")
        let sent = write.values["status"]?.stringValue
        let to = sent ?? from ?? "planned"
        if write.isCreate {
            guard to == "planned" || to == "checked_in" else {
                throw Self.invalid("status", "of a new visit must be planned or checked_in, not \(to)", key: "visit_starts_planned", ["to": to])
            }
        } else if let from, let sent, sent != from, !(Self.next[from] ?? []).contains(sent) {
            if sent == "done" && from == "planned" {
                throw Self.invalid("status", "cannot be done before checking in", key: "visit_check_in_first")
            }
            if sent == "checked_in" && from == "done" {
                throw Self.invalid("status", "is done: the visit was checked in and out already", key: "visit_already_checked_in")
            }
            throw Self.invalid("status", "cannot go from \(from) to \(sent)", key: "visit_transition", ["from": from, "to": sent])
        }
        let step: String? = (write.isCreate || to != from) ? ["checked_in": "check_in", "done": "check_out"][to] : nil
        // Positions belong to their step; a value equal to the stored one is no change.
        for prefix in ["check_in", "check_out"] {
            for key in Self.positionKeys(prefix) where write.values[key] != nil {
                let changed = Self.number(write.values[key]) != Self.number(write.existing?.values[key])
                if changed && step != prefix {
                    throw Self.invalid(key, "is recorded by the \(prefix.replacingOccurrences(of: "_", with: "-"))", key: "visit_position_fixed")
                }
            }
            if step == prefix {
                let (latitude, longitude) = (Self.number(write.values["\(prefix)_latitude"]), Self.number(write.values["\(prefix)_longitude"]))
                if latitude != nil && longitude == nil { throw Self.invalid("\(prefix)_longitude", "is required with the latitude", key: "visit_longitude_missing") }
                if longitude != nil && latitude == nil { throw Self.invalid("\(prefix)_latitude", "is required with the longitude", key: "visit_latitude_missing") }
                if latitude == nil && Self.number(write.values["\(prefix)_accuracy"]) != nil {
                    throw Self.invalid("\(prefix)_accuracy", "is only given with a position", key: "visit_accuracy_alone")
                }
            }
        }
        let now = Date()
        if step == "check_in" { write.values["checked_in_at"] = ActivitiesRules.stamp(now) }
        if step == "check_out" {
            guard let checkedIn = ActivitiesRules.date(write.existing?.values["checked_in_at"]) else {
                throw Self.invalid("status", "cannot be done before checking in", key: "visit_check_in_first")
            }
            let out = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            guard out >= checkedIn else {
                throw Self.invalid("checked_out_at", "must not be before the check-in", key: "visit_out_before_in")
            }
            write.values["checked_out_at"] = ActivitiesRules.stamp(out)
            write.values["duration_minutes"] = .number(Decimal(Int((out.timeIntervalSince(checkedIn) / 60).rounded())))
        }
        // The visited record is fixed once checked in (the activity and the position are about it).
        if !write.isCreate, from != "planned", from != "cancelled" {
            for key in ["related_entity", "related_id"] where write.values[key] != nil && write.values[key]?.stringValue != write.existing?.string(key) {
                throw Self.invalid(key, "cannot change after the check-in", key: "visit_related_fixed")
            }
        }
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.string("status") == "done", previous.string("status") != "done" else { return }
        let minutes = Self.number(record.values["duration_minutes"]).map { min($0, 1440) } ?? 0
        var values: [String: JSONValue] = [
            "kind": .string("visit"),
            "subject": .string(String((record.string("purpose").flatMap { $0.isEmpty ? nil : $0 } ?? record.string("related_title") ?? "visit").prefix(200))),
            "occurred_at": record.values["checked_in_at"] ?? ActivitiesRules.stamp(Date()),
            "duration_minutes": .number(minutes),
            "related_entity": record.values["related_entity"] ?? .null, "related_id": record.values["related_id"] ?? .null,
        ]
        for key in ["notes", "outcome"] { if let text = record.string(key), !text.isEmpty { values[key] = .string(text) } }
        // As the caller (their right to log activities and to read the visited record apply),
        // owned by the visit's owner.
        if let owner = record.ownerID { values["owner_id"] = .string(owner.uuidString.lowercased()) }
        let activity = try await context.engine.create("activity", values: values, as: context.actor, on: context.connection, logger: context.logger)
        _ = try await context.engine.update("visit", id: record.id, values: ["activity_id": .string(activity.id.uuidString.lowercased())],
                                            expectedVersion: record.version, as: context.derivedActor, on: context.connection, logger: context.logger)
    }
}

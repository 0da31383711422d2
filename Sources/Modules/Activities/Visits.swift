import Foundation
import Platform

/// What the visit pages and API do, all through the record engine as the caller: a user's
/// plan of a day (their visits of that day in order), checking a visit in and out with an
/// optional position, and starting a visit from the customer's page.
enum Visits {
    /// A position from the browser's geolocation (or an API client); each part optional.
    struct Position: Sendable, Equatable {
        var latitude: JSONValue?
        var longitude: JSONValue?
        var accuracy: JSONValue?

        static let none = Position()

        /// From form or JSON text: empty values are absent (geolocation refused or failed).
        init(latitude: JSONValue? = nil, longitude: JSONValue? = nil, accuracy: JSONValue? = nil) {
            func given(_ value: JSONValue?) -> JSONValue? {
                switch value {
                case .string(let text)?: return text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : .string(text.trimmingCharacters(in: .whitespaces))
                case .null?, nil: return nil
                default: return value
                }
            }
            self.latitude = given(latitude)
            self.longitude = given(longitude)
            self.accuracy = given(accuracy)
        }

        init(form: [String: String]) {
            self.init(latitude: form["latitude"].map(JSONValue.string), longitude: form["longitude"].map(JSONValue.string),
                      accuracy: form["accuracy"].map(JSONValue.string))
        }

        func values(_ step: String) -> [String: JSONValue] {
            var values: [String: JSONValue] = [:]
            if let latitude { values["\(step)_latitude"] = latitude }
            if let longitude { values["\(step)_longitude"] = longitude }
            if let accuracy { values["\(step)_accuracy"] = accuracy }
            return values
        }
    }

    static func refused(_ field: String, _ message: String, key: String) -> AtriumError {
        .module("activities", .conflict, code: "invalid_\(field)", field: field, "\(field) \(message)", key: key)
    }

    /// `YYYY-MM-DD` of a query parameter (today in the tenant's zone when absent); anything else names `date`.
    static func day(_ text: String?) throws -> String {
        guard let text, !text.isEmpty else { return ChinaCalendar.today() }
        guard Recurrence.day(text, zone: Recurrence.tenantZone) != nil else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "date must be a day as YYYY-MM-DD", field: "date")
        }
        return text
    }

    /// The caller's visits planned for `day`, in their order (then by creation).
    static func plan(for user: UUID, day: String, store: ModuleStore) async throws -> [Record] {
        try await store.all("visit", filter: ModuleStore.and([ModuleStore.eq("owner_id", user.uuidString.lowercased()), ModuleStore.eq("planned_on", day)]),
                            sort: "sequence,created_at")
    }

    /// The place after the last visit of a day's plan (999 at most: the field's maximum).
    static func nextSequence(after plan: [Record]) -> JSONValue {
        .number(min((plan.compactMap { VisitFlow.number($0.values["sequence"]) }.max() ?? 0) + 1, 999))
    }

    /// A new planned visit of `record` on `day`, last in the caller's plan of that day.
    static func plan(entity: String, id: UUID, day: String, purpose: String?, store: ModuleStore) async throws -> Record {
        let planned = try await plan(for: store.actor.user.id, day: day, store: store)
        var values: [String: JSONValue] = ["related_entity": .string(entity), "related_id": .string(id.uuidString.lowercased()),
                                           "planned_on": .string(day), "sequence": nextSequence(after: planned)]
        if let purpose, !purpose.isEmpty { values["purpose"] = .string(purpose) }
        return try await store.create("visit", values)
    }

    /// Checks the visit in; a second check-in is a 409 naming `status`.
    static func checkIn(_ id: UUID, position: Position, store: ModuleStore) async throws -> Record {
        let visit = try await store.get("visit", id)
        switch visit.string("status") {
        case "checked_in", "done": throw refused("status", "is already checked in", key: "visit_already_checked_in")
        default: break
        }
        var values: [String: JSONValue] = ["status": .string("checked_in")]
        values.merge(position.values("check_in")) { $1 }
        return try await store.update(visit, values)
    }

    /// Checks the visit out with the visit's notes and outcome (the activity it logs carries
    /// them); before a check-in it is a 422 naming `status`, a second check-out a 409.
    static func checkOut(_ id: UUID, position: Position, notes: String?, outcome: String?, store: ModuleStore) async throws -> Record {
        let visit = try await store.get("visit", id)
        if visit.string("status") == "done" { throw refused("status", "is already checked out", key: "visit_already_checked_out") }
        var values: [String: JSONValue] = ["status": .string("done")]
        values.merge(position.values("check_out")) { $1 }
        if let notes, !notes.isEmpty { values["notes"] = .string(notes) }
        if let outcome, !outcome.isEmpty { values["outcome"] = .string(outcome) }
        return try await store.update(visit, values)
    }

    /// Checks in at a record from its page: the caller's visit of it planned for today when
    /// there is one (planned, not yet checked in), else a new visit started checked in.
    static func checkIn(entity: String, id: UUID, position: Position, store: ModuleStore) async throws -> Record {
        let today = ChinaCalendar.today()
        let inDay = try await plan(for: store.actor.user.id, day: today, store: store)
        let planned = inDay.first {
            $0.string("related_entity") == entity && $0.string("related_id") == id.uuidString.lowercased() && $0.string("status") == "planned"
        }
        if let planned { return try await checkIn(planned.id, position: position, store: store) }
        var values: [String: JSONValue] = ["related_entity": .string(entity), "related_id": .string(id.uuidString.lowercased()),
                                           "planned_on": .string(today), "sequence": nextSequence(after: inDay), "status": .string("checked_in")]
        values.merge(position.values("check_in")) { $1 }
        return try await store.create("visit", values)
    }
}

import Foundation
import Platform

/// What a calendar shows between two instants: events (a series expanded into occurrences,
/// its exceptions in place of the occurrences they replace, cancelled ones left out) and tasks
/// due in the window, read through the record engine as the viewer.
///
/// `mine`: the viewer's own events and tasks, and events they attend. `team`: everything the
/// viewer's data scope lets them list (a salesperson's scope is her own, so her team view is
/// her own calendar; a manager's is the department tree's).
struct CalendarWindow: Sendable {
    enum Scope: String, Sendable { case mine, team }

    struct Item: Sendable {
        enum Kind: String, Sendable { case event, task }
        let kind: Kind
        /// The event (the series' master for an unchanged occurrence, the exception for an
        /// edited one) or the task.
        let record: Record
        let start: Date
        let end: Date
        let allDay: Bool
        /// For an occurrence of a series: the series and the start it has in the series.
        let seriesID: UUID?
        let occurrenceStart: Date?

        var title: String { record.string("subject") ?? "" }
        var href: String { "/app/\(kind.rawValue)/\(record.idText)" }

        var json: JSONValue {
            var object: [String: JSONValue] = [
                "type": .string(kind.rawValue), "id": .string(record.idText), "subject": .string(title),
                "start": EventTime.stamp(start), "end": EventTime.stamp(end), "all_day": .bool(allDay),
                "owner_id": record.ownerID.map { .string($0.uuidString.lowercased()) } ?? .null,
            ]
            if let seriesID { object["series_id"] = .string(seriesID.uuidString.lowercased()) }
            if let occurrenceStart { object["occurrence_start"] = EventTime.stamp(occurrenceStart) }
            if kind == .event {
                object["location"] = record.values["location"] ?? .null
                object["recurring"] = .bool(seriesID != nil)
                object["edited"] = .bool(seriesID != nil && record.values["series_id"] != nil)
            } else {
                object["status"] = record.values["status"] ?? .null
                object["priority"] = record.values["priority"] ?? .null
            }
            return .object(object)
        }
    }

    static let maxDays = 100

    let from: Date
    let to: Date
    let scope: Scope
    let items: [Item]

    /// `from` and `to` as days (`YYYY-MM-DD`, both included, in the tenant's time zone), at
    /// most ``maxDays`` days; a bad one is a 400 naming the parameter.
    static func range(from: String?, to: String?) throws -> Range<Date> {
        let zone = Recurrence.tenantZone
        func day(_ name: String, _ text: String?) throws -> Date {
            guard let text, let day = Recurrence.day(text, zone: zone) else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(name) must be a date like 2026-11-23", field: name)
            }
            return day
        }
        let start = try day("from", from)
        let last = try day("to", to)
        guard last >= start else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "to must not be before from", field: "to")
        }
        let end = Recurrence.calendar(zone).date(byAdding: .day, value: 1, to: last)!
        guard end.timeIntervalSince(start) <= Double(maxDays) * 86_400 else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "from … to may span at most \(maxDays) days", field: "to")
        }
        return start..<end
    }

    static func scope(_ text: String?) throws -> Scope {
        guard let text, !text.isEmpty else { return .mine }
        guard let scope = Scope(rawValue: text) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "scope must be mine or team", field: "scope")
        }
        return scope
    }

    /// `eventFilter` narrows the events looked at (the reminder job: those with a reminder).
    static func load(_ window: Range<Date>, scope: Scope, store: ModuleStore, eventFilter extra: JSONValue? = nil) async throws -> CalendarWindow {
        let me = store.actor.user.id.uuidString.lowercased()
        let from = EventTime.stamp(window.lowerBound), to = EventTime.stamp(window.upperBound)
        var eventFilter: [JSONValue] = [
            ModuleStore.op("starts_at", "lt", to),
            .object(["or": .array([ModuleStore.op("ends_at", "gt", from), ModuleStore.op("starts_at", "gte", from),
                                   ModuleStore.op("recurrence", "in", .array([.string("daily"), .string("weekly"), .string("monthly")]))])]),
        ]
        var taskFilter: [JSONValue] = [ModuleStore.op("due_at", "gte", from), ModuleStore.op("due_at", "lt", to),
                                       ModuleStore.op("status", "in", .array([.string("open"), .string("in_progress"), .string("done")]))]
        if let extra { eventFilter.append(extra) }
        if scope == .mine {
            eventFilter.append(.object(["or": .array([ModuleStore.eq("owner_id", me), ModuleStore.op("attendee_ids", "contains", .string(me))])]))
            taskFilter.append(ModuleStore.eq("owner_id", me))
        }
        let events = try await visible("event", filter: ModuleStore.and(eventFilter), store: store)
        let masters = events.filter { EventSeries.rule(of: $0) != nil && $0.values["series_id"] == nil }
        // Every exception of the series in view, wherever it moved its occurrence to.
        var replaced: Set<String> = []
        if !masters.isEmpty {
            let exceptions = try await visible("event", filter: ModuleStore.op("series_id", "in", .array(masters.map { .string($0.idText) })), store: store)
            for exception in exceptions {
                if let series = exception.string("series_id"), let at = exception.string("occurrence_start") { replaced.insert("\(series)@\(at)") }
            }
        }
        var items: [Item] = []
        for event in events where event.values["cancelled"] != .bool(true) {
            guard let start = EventTime.date(event.values["starts_at"]) else { continue }
            let end = EventTime.date(event.values["ends_at"]) ?? start
            let allDay = event.values["all_day"] == .bool(true)
            if let rule = EventSeries.rule(of: event), event.values["series_id"] == nil {
                for occurrence in Recurrence.occurrences(of: rule, start: start, duration: end.timeIntervalSince(start), in: window)
                where !replaced.contains("\(event.idText)@\(EventTime.stamp(occurrence).stringValue ?? "")") {
                    items.append(Item(kind: .event, record: event, start: occurrence, end: occurrence.addingTimeInterval(end.timeIntervalSince(start)),
                                      allDay: allDay, seriesID: event.id, occurrenceStart: occurrence))
                }
            } else {
                let series = event.string("series_id").flatMap(UUID.init(uuidString:))
                items.append(Item(kind: .event, record: event, start: start, end: end, allDay: allDay, seriesID: series,
                                  occurrenceStart: series == nil ? nil : EventTime.date(event.values["occurrence_start"])))
            }
        }
        for task in try await visible("task", filter: ModuleStore.and(taskFilter), store: store) {
            guard let due = EventTime.date(task.values["due_at"]) else { continue }
            items.append(Item(kind: .task, record: task, start: due, end: due, allDay: false, seriesID: nil, occurrenceStart: nil))
        }
        items.sort { ($0.start, $0.kind.rawValue, $0.title) < ($1.start, $1.kind.rawValue, $1.title) }
        return CalendarWindow(from: window.lowerBound, to: window.upperBound, scope: scope, items: items)
    }

    /// Every record of `entity` matching `filter` that the viewer may list; none when their
    /// roles give no read right on it.
    static func visible(_ entity: String, filter: JSONValue, store: ModuleStore) async throws -> [Record] {
        do {
            return try await store.all(entity, filter: filter)
        } catch let error as AtriumError where error.code == "entity_not_found" || error.code == "no_permission" {
            return []
        }
    }

    var json: JSONValue {
        .object(["from": EventTime.stamp(from), "to": EventTime.stamp(to), "scope": .string(scope.rawValue),
                 "time_zone": .string(Recurrence.tenantZone.identifier), "items": .array(items.map(\.json))])
    }
}

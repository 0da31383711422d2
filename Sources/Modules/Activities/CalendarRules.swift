import Foundation
import Platform

/// The calendar's rules, as record hooks on `event`:
///
/// - times: `ends_at` not before `starts_at` (422 naming `ends_at`); a missing end on create is
///   an hour after the start;
/// - a series' rule always ends: `recurrence_until` or `recurrence_count` (at most
///   ``RecurrenceRule/maxCount``), the until date not before the start nor more than
///   ``maxYears`` after it; weekly days include the start's weekday (defaulting to it);
/// - an exception (`series_id` + `occurrence_start`) replaces one real occurrence of a series
///   the caller may read, at most one live exception per occurrence, never itself repeats, and
///   belongs to the series' owner; unsent or blank fields are the series' (an edited
///   occurrence starts as a copy of it);
/// - attendees are active users of the tenant; each gets a read share of the event, so it is
///   on their calendar whatever their scope (and leaves it when they are taken off);
/// - binning a series bins its exceptions.
struct EventSeries: RecordHooks {
    static let maxYears = 5
    static let maxAttendees = 50
    static let copiedFromSeries = ["subject", "location", "notes", "all_day", "attendee_ids", "reminder_minutes", "related_entity", "related_id"]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        ActivitiesRules.invalid(field, message, key: key, arguments)
    }

    /// A whole number sent as a number or as text; nil for anything else (the engine's type
    /// check names the field).
    static func int(_ value: JSONValue?) -> Int? {
        switch value {
        case .number(let number)?: return Int(exactly: NSDecimalNumber(decimal: number).doubleValue)
        case .string(let text)?: return Int(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// The rule stored on a master event (nil for a single event or an exception).
    static func rule(of values: (String) -> JSONValue?) -> RecurrenceRule? {
        guard let text = values("recurrence")?.stringValue, let frequency = RecurrenceRule.Frequency(rawValue: text) else { return nil }
        let weekdays = (values("recurrence_weekdays")?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(RecurrenceRule.weekdayCodes.firstIndex(of:)) }
        return RecurrenceRule(frequency: frequency, interval: int(values("recurrence_interval")) ?? 1, weekdays: weekdays,
                              until: values("recurrence_until")?.stringValue, count: int(values("recurrence_count")))
    }

    static func rule(of record: Record) -> RecurrenceRule? { rule { record.values[$0] } }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        try await exception(&write)
        try times(&write)
        try recurrence(&write)
        try await attendees(&write)
    }

    // MARK: Times

    func times(_ write: inout RecordWrite) throws {
        if write.isCreate, write.values["ends_at"]?.isNull ?? true, let start = EventTime.date(write.values["starts_at"]) {
            write.values["ends_at"] = EventTime.stamp(start.addingTimeInterval(3600))
        }
        guard write.isCreate || write.values["starts_at"] != nil || write.values["ends_at"] != nil else { return }
        // Malformed times are the engine's 422 (the field's type check).
        if let start = EventTime.date(write.value("starts_at")), let end = EventTime.date(write.value("ends_at")), end < start {
            throw Self.invalid("ends_at", "must not be before starts_at", key: "event_ends_before_start")
        }
    }

    // MARK: Recurrence

    func recurrence(_ write: inout RecordWrite) throws {
        let ruleKeys = ["recurrence", "recurrence_interval", "recurrence_weekdays", "recurrence_until", "recurrence_count", "starts_at"]
        guard write.isCreate || ruleKeys.contains(where: { write.values[$0] != nil }) else { return }
        let frequency = write.value("recurrence")?.stringValue ?? "none"
        if frequency == "none" || write.value("series_id") != nil {
            if frequency != "none" {
                throw Self.invalid("recurrence", "of an edited occurrence must be none: it is one occurrence of its series", key: "exception_repeats")
            }
            // A single event keeps no rule.
            for key in ruleKeys.dropFirst().dropLast() where write.existing?.values[key] != nil || write.values[key] != nil {
                write.values[key] = .null
            }
            return
        }
        let until = write.value("recurrence_until")?.stringValue
        let count = write.value("recurrence_count")
        guard until != nil || count != nil else {
            throw Self.invalid("recurrence_until", "or recurrence_count is required: a repeating event must end", key: "recurrence_never_ends")
        }
        guard let start = EventTime.date(write.value("starts_at")) else { return }
        let zone = Recurrence.tenantZone
        if let until, let last = Recurrence.day(until, zone: zone) {
            let firstDay = Recurrence.calendar(zone).startOfDay(for: start)
            if last < firstDay {
                throw Self.invalid("recurrence_until", "must not be before the first occurrence", key: "recurrence_until_before_start")
            }
            if let cap = Recurrence.calendar(zone).date(byAdding: .year, value: Self.maxYears, to: firstDay), last > cap {
                throw Self.invalid("recurrence_until", "must be within \(Self.maxYears) years of the first occurrence", key: "recurrence_until_too_far",
                                   ["years": "\(Self.maxYears)"])
            }
        }
        if frequency == "weekly" {
            let first = RecurrenceRule.weekdayCodes[Recurrence.weekday(start, zone: zone)]
            let chosen = (write.value("recurrence_weekdays")?.arrayValue ?? []).compactMap(\.stringValue)
            if chosen.isEmpty {
                write.values["recurrence_weekdays"] = .array([.string(first)])
            } else if !chosen.contains(first) {
                throw Self.invalid("recurrence_weekdays", "must include the weekday of the first occurrence (\(first))", key: "recurrence_weekdays_start",
                                   ["day": first])
            }
        } else if write.value("recurrence_weekdays") != nil {
            write.values["recurrence_weekdays"] = .null
        }
    }

    // MARK: Exceptions

    func exception(_ write: inout RecordWrite) async throws {
        if !write.isCreate {
            for key in ["series_id", "occurrence_start"] where write.values[key] != nil && write.values[key] != write.existing?.values[key] {
                throw Self.invalid(key, "cannot change: edit the series, or this occurrence", key: "exception_fixed")
            }
            if write.value("cancelled") == .bool(true) && write.existing?.values["series_id"] == nil {
                throw Self.invalid("cancelled", "applies to one occurrence of a series; move a single event to the recycle bin instead", key: "cancel_single")
            }
            return
        }
        let seriesText = write.values["series_id"]?.stringValue?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !seriesText.isEmpty else {
            if write.values["series_id"] != nil { write.values["series_id"] = .null }
            if write.values["occurrence_start"].map({ !$0.isNull }) == true {
                throw Self.invalid("series_id", "is required with occurrence_start", key: "series_required")
            }
            if write.values["cancelled"] == .bool(true) {
                throw Self.invalid("cancelled", "applies to one occurrence of a series; move a single event to the recycle bin instead", key: "cancel_single")
            }
            return
        }
        let context = write.context
        let store = ModuleStore(engine: context.engine, actor: context.actor, connection: context.connection, logger: context.logger)
        guard let master = try await store.get("event", seriesText), let rule = Self.rule(of: master), master.values["series_id"] == nil,
              let masterStart = EventTime.date(master.values["starts_at"]) else {
            throw Self.invalid("series_id", "names no repeating event you may read", key: "series_unknown")
        }
        guard let occurrence = EventTime.date(write.values["occurrence_start"]) else {
            throw Self.invalid("occurrence_start", "is required: the start of the occurrence in the series", key: "occurrence_required")
        }
        guard Recurrence.contains(rule, start: masterStart, instant: occurrence) else {
            throw Self.invalid("occurrence_start", "is not an occurrence of this series", key: "occurrence_unknown")
        }
        let taken = try await store.derived.all("event", filter: ModuleStore.and([
            ModuleStore.eq("series_id", master.idText), ModuleStore.op("occurrence_start", "eq", EventTime.stamp(occurrence)),
        ]))
        guard taken.isEmpty else {
            throw Self.invalid("occurrence_start", "was already changed: edit that occurrence instead", key: "occurrence_taken")
        }
        write.values["series_id"] = .string(master.idText)
        write.values["occurrence_start"] = EventTime.stamp(occurrence)
        write.values["recurrence"] = write.values["recurrence"] ?? .string("none")
        // Unsent or blank (a form's empty input): the series' value.
        for key in Self.copiedFromSeries where write.values[key]?.isNull ?? true {
            if let value = master.values[key] { write.values[key] = value }
        }
        if write.values["starts_at"]?.isNull ?? true { write.values["starts_at"] = EventTime.stamp(occurrence) }
        if write.values["ends_at"]?.isNull ?? true, let start = EventTime.date(write.values["starts_at"]),
           let masterEnd = EventTime.date(master.values["ends_at"]) {
            write.values["ends_at"] = EventTime.stamp(start.addingTimeInterval(masterEnd.timeIntervalSince(masterStart)))
        }
    }

    // MARK: Attendees

    func attendees(_ write: inout RecordWrite) async throws {
        try await PeopleList.check("attendee_ids", &write, max: Self.maxAttendees, tooMany: "attendees_too_many", unknown: "attendee_unknown")
    }

    // MARK: After the write

    func afterCreate(_ record: Record, context: HookContext) async throws {
        var record = record
        if let series = record.string("series_id").flatMap(UUID.init(uuidString:)) {
            // The occurrence stays where the series is: with its owner.
            let master = try await context.engine.get("event", id: series, as: context.derivedActor, on: context.connection, logger: context.logger)
            if let owner = master.ownerID, owner != record.ownerID {
                record = try await context.engine.update("event", id: record.id, values: ["owner_id": .string(owner.uuidString.lowercased())],
                                                         expectedVersion: record.version, as: context.derivedActor, on: context.connection, logger: context.logger)
            }
        }
        try await PeopleList.reshare("attendee_ids", record, previous: nil, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        try await PeopleList.reshare("attendee_ids", record, previous: previous, context: context)
    }

    func afterDelete(_ record: Record, context: HookContext) async throws {
        guard record.string("recurrence").map({ $0 != "none" }) == true, record.values["series_id"] == nil else { return }
        let store = ModuleStore(derived: context)
        for exception in try await store.all("event", filter: ModuleStore.eq("series_id", record.idText)) {
            try await context.engine.delete("event", id: exception.id, as: context.derivedActor, on: context.connection, logger: context.logger)
        }
    }

}

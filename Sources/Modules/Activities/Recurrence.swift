import Foundation

/// A series' rule: daily, weekly on chosen weekdays, or monthly on the start's day of the
/// month; every `interval` days/weeks/months; ending after a date (`until`, inclusive, in the
/// tenant's time zone) or after `count` occurrences, whichever comes first. A rule always ends:
/// ``EventSeries`` refuses one with neither.
struct RecurrenceRule: Sendable, Equatable {
    enum Frequency: String, Sendable { case daily, weekly, monthly }

    /// The most occurrences a series may have (a daily series for a year).
    static let maxCount = 366
    /// Weekday codes as stored (`mo` … `su`), Monday first, and their RFC 5545 `BYDAY` names.
    static let weekdayCodes = ["mo", "tu", "we", "th", "fr", "sa", "su"]

    var frequency: Frequency
    var interval: Int = 1
    /// Weekly only: days of the week as offsets from Monday (0 = Monday … 6 = Sunday).
    var weekdays: [Int] = []
    /// The last day an occurrence may start on (`YYYY-MM-DD`, local).
    var until: String? = nil
    var count: Int? = nil

    /// `FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=10` (RFC 5545 §3.3.10). `UNTIL` is the end of
    /// the last day in UTC, as the standard asks when the start is a UTC time, or the date
    /// itself for an all-day series (whose start is a date).
    func rrule(zone: TimeZone, allDay: Bool = false) -> String {
        var parts = ["FREQ=\(frequency.rawValue.uppercased())"]
        if interval > 1 { parts.append("INTERVAL=\(interval)") }
        if frequency == .weekly && !weekdays.isEmpty {
            parts.append("BYDAY=" + weekdays.sorted().map { Self.weekdayCodes[$0].uppercased() }.joined(separator: ","))
        }
        if let count { parts.append("COUNT=\(count)") }
        if let until, allDay {
            parts.append("UNTIL=" + until.replacingOccurrences(of: "-", with: ""))
        } else if let until, let end = Recurrence.dayAfter(until, zone: zone) {
            parts.append("UNTIL=" + ICalendar.utcStamp(end.addingTimeInterval(-1)))
        }
        return "RRULE:" + parts.joined(separator: ";")
    }
}

/// Expands a series into occurrence start times. Pure: no database, no clock.
///
/// Occurrences keep the first one's wall-clock time in `zone` (the tenant's time zone: for now
/// every tenant's is Asia/Shanghai, see ``Recurrence/tenantZone``). Public holidays are not
/// skipped: a weekly meeting on Thursdays falls on 2026-10-01 (National Day) like on any
/// Thursday; people cancel that occurrence (an exception) if they do not meet.
enum Recurrence {
    /// The tenants' time zone. Every tenant is in China today; a per-tenant setting would
    /// replace this constant.
    static let tenantZone = TimeZone(identifier: "Asia/Shanghai")!
    /// A runaway guard: no series is expanded past this many candidate days or months.
    static let maxSteps = 50_000

    static func calendar(_ zone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2  // weeks start on Monday (RFC 5545's default WKST=MO)
        calendar.locale = Locale(identifier: "en_US_POSIX")
        return calendar
    }

    /// Midnight starting `YYYY-MM-DD` in `zone`, or nil for anything else.
    static func day(_ text: String, zone: TimeZone) -> Date? {
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        let calendar = calendar(zone)
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: year, month: month, day: day) else { return nil }
        return date
    }

    /// Midnight after the day `YYYY-MM-DD` in `zone`.
    static func dayAfter(_ text: String, zone: TimeZone) -> Date? {
        day(text, zone: zone).flatMap { calendar(zone).date(byAdding: .day, value: 1, to: $0) }
    }

    /// `YYYY-MM-DD` of `date` in `zone`.
    static func dayText(_ date: Date, zone: TimeZone) -> String {
        let parts = calendar(zone).dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// The weekday of `date` in `zone` as an offset from Monday (0 … 6).
    static func weekday(_ date: Date, zone: TimeZone) -> Int {
        (calendar(zone).component(.weekday, from: date) + 5) % 7
    }

    /// Starts of the occurrences that overlap `window` (an occurrence lasts `duration`; one of
    /// no length counts when it starts inside the window), in order.
    static func occurrences(of rule: RecurrenceRule, start: Date, duration: TimeInterval, in window: Range<Date>,
                            zone: TimeZone = tenantZone) -> [Date] {
        var found: [Date] = []
        visit(rule, start: start, zone: zone) { occurrence in
            guard occurrence < window.upperBound else { return false }
            if occurrence >= window.lowerBound || occurrence.addingTimeInterval(max(duration, 0)) > window.lowerBound { found.append(occurrence) }
            return true
        }
        return found
    }

    /// Whether the series has an occurrence starting at `instant`.
    static func contains(_ rule: RecurrenceRule, start: Date, instant: Date, zone: TimeZone = tenantZone) -> Bool {
        occurrences(of: rule, start: start, duration: 0, in: instant..<instant.addingTimeInterval(1), zone: zone).contains(instant)
    }

    /// The last occurrence's start, when the series ends within `maxSteps` (it always does for
    /// a valid rule); nil for a rule without end.
    static func last(of rule: RecurrenceRule, start: Date, zone: TimeZone = tenantZone) -> Date? {
        guard rule.until != nil || rule.count != nil else { return nil }
        var last: Date?
        visit(rule, start: start, zone: zone) { last = $0; return true }
        return last
    }

    /// Calls `body` with every occurrence start in order until it returns false, the rule ends
    /// or ``maxSteps`` candidates were looked at. The series' own start is the first
    /// occurrence; candidates before it (earlier weekdays of the first week) are not counted.
    static func visit(_ rule: RecurrenceRule, start: Date, zone: TimeZone, _ body: (Date) -> Bool) {
        let calendar = calendar(zone)
        let time = calendar.dateComponents([.hour, .minute, .second], from: start)
        let firstDay = calendar.startOfDay(for: start)
        let end = rule.until.flatMap { dayAfter($0, zone: zone) }
        let interval = max(rule.interval, 1)
        var emitted = 0
        /// false: stop.
        func offer(_ day: Date) -> Bool {
            guard let at = calendar.date(bySettingHour: time.hour ?? 0, minute: time.minute ?? 0, second: time.second ?? 0, of: day) else { return true }
            if at < start { return true }
            if let end, at >= end { return false }
            if let count = rule.count, emitted >= count { return false }
            emitted += 1
            return body(at)
        }
        switch rule.frequency {
        case .daily:
            for step in 0..<maxSteps {
                guard let day = calendar.date(byAdding: .day, value: step * interval, to: firstDay), offer(day) else { return }
            }
        case .weekly:
            let days = rule.weekdays.isEmpty ? [weekday(start, zone: zone)] : Array(Set(rule.weekdays)).sorted()
            guard let monday = calendar.date(byAdding: .day, value: -weekday(start, zone: zone), to: firstDay) else { return }
            for week in 0..<(maxSteps / 7) {
                for offset in days {
                    guard let day = calendar.date(byAdding: .day, value: week * interval * 7 + offset, to: monday), offer(day) else { return }
                }
            }
        case .monthly:
            let first = calendar.dateComponents([.year, .month, .day], from: firstDay)
            for step in 0..<(maxSteps / 30) {
                // Months without that day (the 31st in April) have no occurrence, as in RFC 5545.
                guard let month = calendar.date(from: DateComponents(year: first.year, month: (first.month ?? 1) + step * interval, day: 1)),
                      let days = calendar.range(of: .day, in: .month, for: month) else { return }
                guard let dayOfMonth = first.day, days.contains(dayOfMonth) else { continue }
                guard let day = calendar.date(byAdding: .day, value: dayOfMonth - 1, to: month), offer(day) else { return }
            }
        }
    }
}

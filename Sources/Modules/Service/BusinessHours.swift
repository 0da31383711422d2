import Foundation
import Platform

/// A tenant's working time for service clocks: working hours on working days in the tenant's
/// time zone, where a working day follows China's calendar (public holidays off, adjusted
/// weekend days on, ``ChinaCalendar``) unless the tenant's own entries say otherwise. All
/// arithmetic is in whole seconds on a fixed schedule, so a due time is exact and the same on
/// every node.
///
/// ```swift
/// let hours = BusinessHours.standard                      // 09:00–18:00 Mon–Fri, Asia/Shanghai
/// hours.adding(minutes: 120, to: fridayAt17)              // Monday 10:00 (or later after a holiday)
/// hours.seconds(from: fridayAt17, to: mondayAt10) / 60    // 120
/// ```
struct BusinessHours: Sendable, Equatable {
    var timeZone: TimeZone {
        didSet { calendar.timeZone = timeZone }
    }
    /// Start and end of the working day, minutes after midnight (09:00 = 540).
    var start: Int
    var end: Int
    /// ISO weekdays worked when the China calendar does not decide (1 = Monday … 7 = Sunday).
    var weekdays: Set<Int>
    /// Follow China's public holidays and adjusted working days.
    var chinaCalendar: Bool
    /// The tenant's own days off and working days (`YYYY-MM-DD`), deciding over everything else.
    var holidays: Set<String> = []
    var workdays: Set<String> = []

    /// The Gregorian calendar in `timeZone`, made once (the clock walks many days).
    private(set) var calendar: Calendar

    init(timeZone: TimeZone, start: Int, end: Int, weekdays: Set<Int>, chinaCalendar: Bool) {
        self.timeZone = timeZone
        self.start = start
        self.end = end
        self.weekdays = weekdays
        self.chinaCalendar = chinaCalendar
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    static let standard = BusinessHours(timeZone: TimeZone(identifier: "Asia/Shanghai")!, start: 9 * 60, end: 18 * 60,
                                        weekdays: [1, 2, 3, 4, 5], chinaCalendar: true)

    /// No schedule runs longer than this looking for working time (a tenant with no working
    /// day at all gets a due time this far out rather than a loop without end).
    static let horizonDays = 3660

    func day(of date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    func isWorkday(_ day: String) -> Bool {
        if workdays.contains(day) { return true }
        if holidays.contains(day) { return false }
        if chinaCalendar {
            if ChinaCalendar.adjustedWorkdays.contains(day) { return true }
            if ChinaCalendar.publicHolidays.contains(day) { return false }
        }
        return ChinaCalendar.weekday(of: day).map(weekdays.contains) ?? false
    }

    /// The working window of the local day that contains `date`, or nil on a day off.
    func window(on date: Date) -> (Date, Date)? {
        let cal = calendar
        let midnight = cal.startOfDay(for: date)
        guard isWorkday(day(of: midnight)), end > start,
              let open = cal.date(bySettingHour: start / 60, minute: start % 60, second: 0, of: midnight),
              let close = end >= 24 * 60 ? cal.date(byAdding: .day, value: 1, to: midnight)
                                         : cal.date(bySettingHour: end / 60, minute: end % 60, second: 0, of: midnight) else { return nil }
        return (open, close)
    }

    func nextMidnight(after date: Date) -> Date {
        let cal = calendar
        let midnight = cal.startOfDay(for: date)
        return cal.date(byAdding: .day, value: 1, to: midnight) ?? midnight.addingTimeInterval(86_400)
    }

    /// Working seconds between two instants (0 when `to` is not after `from`). With `atMost`,
    /// counting stops once the total passes it (the SLA check only asks "at most this much
    /// left?", and a due time years ahead would otherwise be walked day by day).
    func seconds(from: Date, to: Date, atMost: Int? = nil) -> Int {
        guard to > from else { return 0 }
        var total = 0.0
        var cursor = from
        var days = 0
        while cursor < to && days <= Self.horizonDays && total <= Double(atMost ?? Int.max) {
            if let (open, close) = window(on: cursor) {
                let a = max(open, cursor), b = min(close, to)
                if b > a { total += b.timeIntervalSince(a) }
            }
            cursor = nextMidnight(after: cursor)
            days += 1
        }
        return Int(total.rounded())
    }

    /// Whole working minutes between two instants.
    func minutes(from: Date, to: Date) -> Int { seconds(from: from, to: to) / 60 }

    /// The instant at which `minutes` of working time after `from` have passed.
    func adding(minutes: Int, to from: Date) -> Date { adding(seconds: minutes * 60, to: from) }

    /// The instant at which `seconds` of working time after `from` have passed.
    func adding(seconds: Int, to from: Date) -> Date {
        var remaining = Double(max(0, seconds))
        var cursor = from
        for _ in 0...Self.horizonDays {
            if let (open, close) = window(on: cursor), close > cursor {
                let a = max(open, cursor)
                let available = close.timeIntervalSince(a)
                if remaining <= available { return a.addingTimeInterval(remaining) }
                remaining -= available
            }
            cursor = nextMidnight(after: cursor)
        }
        return cursor
    }
}

import Foundation

/// China's public holidays and the weekend days made working days (调休) by the State
/// Council's yearly notices, for business-hour clocks (service SLAs). A year not listed here
/// counts weekends only; tenants add their own days on top (the service module's holiday
/// entries), which is also how a new year's notice reaches a running system before a release.
///
/// ```swift
/// ChinaCalendar.isWorkday("2026-10-08")   // false: National Day holiday
/// ChinaCalendar.isWorkday("2026-10-10")   // true: a Saturday made a working day
/// ```
extension ChinaCalendar {
    /// Days off that fall on what would be working days, or span a weekend, by year.
    public static let publicHolidays: Set<String> = {
        var days: Set<String> = []
        // 2025 (国办发明电〔2024〕12号)
        days.insert("2025-01-01")
        days.formUnion(span("2025-01-28", 8))   // 春节
        days.formUnion(span("2025-04-04", 3))   // 清明
        days.formUnion(span("2025-05-01", 5))   // 劳动节
        days.formUnion(span("2025-05-31", 3))   // 端午
        days.formUnion(span("2025-10-01", 8))   // 国庆、中秋
        // 2026 (国办发明电〔2025〕7号)
        days.formUnion(span("2026-01-01", 3))   // 元旦
        days.formUnion(span("2026-02-15", 9))   // 春节
        days.formUnion(span("2026-04-04", 3))   // 清明
        days.formUnion(span("2026-05-01", 5))   // 劳动节
        days.formUnion(span("2026-06-19", 3))   // 端午
        days.formUnion(span("2026-09-25", 3))   // 中秋
        days.formUnion(span("2026-10-01", 7))   // 国庆
        return days
    }()

    /// Weekend days that are working days (调休上班).
    public static let adjustedWorkdays: Set<String> = [
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]

    /// Whether `day` (`YYYY-MM-DD`) is a working day in China: Monday to Friday unless a public
    /// holiday, and the adjusted weekend days.
    public static func isWorkday(_ day: String) -> Bool {
        if adjustedWorkdays.contains(day) { return true }
        if publicHolidays.contains(day) { return false }
        guard let weekday = weekday(of: day) else { return false }
        return weekday >= 1 && weekday <= 5
    }

    /// ISO weekday of a `YYYY-MM-DD` day: 1 = Monday … 7 = Sunday; nil for a malformed day.
    public static func weekday(of day: String) -> Int? {
        guard let date = date(day) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let sundayFirst = calendar.component(.weekday, from: date)  // 1 = Sunday
        return sundayFirst == 1 ? 7 : sundayFirst - 1
    }

    /// Midnight UTC of a `YYYY-MM-DD` day (a label for the day, not an instant in China).
    static func date(_ day: String) -> Date? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, day.count == 10 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
              calendar.component(.day, from: date) == parts[2] else { return nil }
        return date
    }

    /// `count` consecutive days from `first`.
    static func span(_ first: String, _ count: Int) -> [String] {
        guard let start = date(first) else { return [] }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return (0..<count).map { formatter.string(from: start.addingTimeInterval(Double($0) * 86_400)) }
    }
}

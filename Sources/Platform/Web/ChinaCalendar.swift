import Foundation

/// Dates as the tenants' users see them (China time, `YYYY-MM-DD`): today, and days from today.
/// The approval engine's SQL counts delegation days by the same calendar (`ApprovalEngine.today`).
public enum ChinaCalendar {
    public static func day(_ offset: Int = 0) -> String {
        day(of: Date().addingTimeInterval(Double(offset) * 86_400))
    }

    /// The China-time day of `date` (a scheduled job's clock, not today's).
    public static func day(of date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    public static func today() -> String { day(0) }
}

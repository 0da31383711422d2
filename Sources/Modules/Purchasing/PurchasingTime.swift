import Foundation

/// Datetimes as the record engine stores them (`YYYY-MM-DDTHH:MM:SSZ`, UTC).
enum PurchasingTime {
    static func text(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

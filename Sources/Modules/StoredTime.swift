import Foundation
import Platform

/// Datetime fields as the engine stores them (`YYYY-MM-DDTHH:MM:SSZ`), read and written the
/// same way by every module's rules.
enum StoredTime {
    /// The instant of a stored datetime; any ISO 8601 with a zone (fractions too) is read.
    static func date(_ value: JSONValue?) -> Date? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        // The stored form first, with the value-type parser (a formatter per call cost more
        // than the SLA arithmetic in the service sweep); other zones and fractions through the formatter.
        if text.hasSuffix("Z"), let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// A whole-second UTC stamp as the engine stores datetimes.
    static func stamp(_ date: Date) -> JSONValue {
        .string(Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(.iso8601))
    }
}

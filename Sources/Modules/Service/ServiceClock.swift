import Foundation
import Platform

/// The service rules' "now". Record hooks have no clock of their own, so the SLA rules read it
/// here: the wall clock, or within `ServiceClock.$override.withValue(…)` a time a test (or a
/// replay) sets — exact SLA arithmetic is tested on a clock it controls. The scheduled sweep
/// passes the scheduler's clock the same way.
enum ServiceClock {
    @TaskLocal static var override: Date?

    static var now: Date { override ?? Date() }

    /// Stored datetimes are `YYYY-MM-DDTHH:MM:SSZ`; any ISO 8601 with a zone is read.
    static func date(_ value: JSONValue?) -> Date? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        // The stored form first, with the value-type parser (a formatter per call cost more
        // than the SLA arithmetic in the sweep); other zones and fractions through the formatter.
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

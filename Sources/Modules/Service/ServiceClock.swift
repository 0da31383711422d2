import Foundation
import Platform

/// The service rules' "now". Record hooks have no clock of their own, so the SLA rules read it
/// here: the wall clock, or within `ServiceClock.$override.withValue(…)` a time a test (or a
/// replay) sets — exact SLA arithmetic is tested on a clock it controls. The scheduled sweep
/// passes the scheduler's clock the same way.
enum ServiceClock {
    @TaskLocal static var override: Date?

    static var now: Date { override ?? Date() }

    static func date(_ value: JSONValue?) -> Date? { StoredTime.date(value) }
    static func stamp(_ date: Date) -> JSONValue { StoredTime.stamp(date) }
}

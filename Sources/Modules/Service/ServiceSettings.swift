import Foundation
import Platform

/// What the service rules read from the tenant's set-up records: working hours and days
/// (``BusinessHours``), the reopen window, and the SLA policies. Loaded through the engine as
/// the rules' derived actor (settings are reference data everyone in the module reads).
struct ServiceSettings: Sendable {
    /// Days after resolution during which a case may be reopened, unless the tenant's
    /// settings record says otherwise.
    static let defaultReopenDays = 7

    var hours: BusinessHours = .standard
    var reopenDays: Int = defaultReopenDays

    static func minutes(_ text: String?) -> Int? {
        guard let text else { return nil }
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        return parts[0] * 60 + parts[1]
    }

    static func load(_ store: ModuleStore) async throws -> ServiceSettings {
        var settings = ServiceSettings()
        if let record = try await store.all("service_settings", sort: "created_at").first {
            if let start = minutes(record.string("work_start")) { settings.hours.start = start }
            if let end = minutes(record.string("work_end")) { settings.hours.end = end }
            if case .array(let days)? = record.values["work_days"] {
                let weekdays = Set(days.compactMap { $0.stringValue.flatMap { Int($0) } })
                if !weekdays.isEmpty { settings.hours.weekdays = weekdays }
            }
            if case .bool(let china)? = record.values["china_calendar"] { settings.hours.chinaCalendar = china }
            if let zone = record.string("time_zone").flatMap(TimeZone.init(identifier:)) { settings.hours.timeZone = zone }
            if let days = record.decimal("reopen_days") { settings.reopenDays = NSDecimalNumber(decimal: days).intValue }
        }
        for day in try await store.all("service_holiday") {
            guard let date = day.string("day") else { continue }
            if day.string("kind") == "workday" { settings.hours.workdays.insert(date) } else { settings.hours.holidays.insert(date) }
        }
        return settings
    }

    /// Targets for a case: the active policy for its priority and type, else the priority's
    /// policy for every type, else the built-in default for the priority.
    struct Targets: Sendable, Equatable {
        let response: Int
        let resolution: Int
        let warningPercent: Int
    }

    static let defaultTargets: [String: Targets] = [
        "urgent": Targets(response: 30, resolution: 240, warningPercent: 80),
        "high": Targets(response: 60, resolution: 540, warningPercent: 80),
        "normal": Targets(response: 240, resolution: 1620, warningPercent: 80),
        "low": Targets(response: 540, resolution: 2700, warningPercent: 80),
    ]

    static func targets(priority: String, type: String?, store: ModuleStore) async throws -> Targets {
        let policies = try await store.all("service_sla_policy", filter: ModuleStore.eq("priority", priority))
            .filter { $0.values["active"] != .bool(false) }
        func int(_ record: Record, _ key: String) -> Int? { record.decimal(key).map { NSDecimalNumber(decimal: $0).intValue } }
        let chosen = policies.first { $0.string("case_type") == type && type != nil } ?? policies.first { $0.string("case_type") == nil }
        if let chosen, let response = int(chosen, "response_minutes"), let resolution = int(chosen, "resolution_minutes") {
            return Targets(response: response, resolution: resolution, warningPercent: int(chosen, "warning_percent") ?? 80)
        }
        return defaultTargets[priority] ?? defaultTargets["normal"]!
    }
}

import Foundation
import Platform

/// A case's SLA in business time (``BusinessHours``): targets from the tenant's policy for the
/// case's priority (and type), due times counted from the opening, moved on by every pause
/// (waiting for the customer, resolved until reopened), and the SLA status — breached when a
/// due time passed before its event, at risk once the remaining working time falls to
/// `100 − warning %` of the target, paused while the clock stops, else on time.
enum CaseSLA {
    static func minutes(_ value: JSONValue?) -> Int { ServiceRules.int(value) }

    /// Targets and due times of a new case opened at `opened`.
    static func target(_ write: inout RecordWrite, opened: Date, store: ModuleStore, hours: BusinessHours) async throws {
        let priority = write.value("priority")?.stringValue ?? "normal"
        let targets = try await ServiceSettings.targets(priority: priority, type: write.value("case_type")?.stringValue, store: store)
        write.values["response_target_minutes"] = .number(Decimal(targets.response))
        write.values["resolution_target_minutes"] = .number(Decimal(targets.resolution))
        write.values["sla_warning_percent"] = .number(Decimal(targets.warningPercent))
        write.values["response_due_at"] = ServiceClock.stamp(hours.adding(minutes: targets.response, to: opened))
        write.values["resolution_due_at"] = ServiceClock.stamp(hours.adding(minutes: targets.resolution, to: opened))
    }

    /// A new priority: new targets, and the pending due times counted again from the opening
    /// (plus the working time paused so far).
    static func retarget(_ write: inout RecordWrite, store: ModuleStore, hours: BusinessHours) async throws {
        guard let opened = ServiceClock.date(write.value("opened_at")) else { return }
        let priority = write.value("priority")?.stringValue ?? "normal"
        let targets = try await ServiceSettings.targets(priority: priority, type: write.value("case_type")?.stringValue, store: store)
        let paused = minutes(write.value("paused_minutes"))
        write.values["response_target_minutes"] = .number(Decimal(targets.response))
        write.values["resolution_target_minutes"] = .number(Decimal(targets.resolution))
        write.values["sla_warning_percent"] = .number(Decimal(targets.warningPercent))
        if write.value("first_response_at") == nil {
            write.values["response_due_at"] = ServiceClock.stamp(hours.adding(minutes: targets.response, to: opened))
        }
        if write.value("resolved_at") == nil {
            write.values["resolution_due_at"] = ServiceClock.stamp(hours.adding(minutes: targets.resolution + paused, to: opened))
        }
    }

    /// Leaving a pause at `now`: each due time still ahead when the pause began keeps the
    /// working time it had left then, counted from now.
    static func resume(_ write: inout RecordWrite, now: Date, hours: BusinessHours) {
        guard let pausedAt = ServiceClock.date(write.existing?.values["paused_at"]) else { return }
        for key in ["response_due_at", "resolution_due_at"] {
            if key == "response_due_at" && write.value("first_response_at") != nil { continue }
            guard let due = ServiceClock.date(write.existing?.values[key]), due > pausedAt else { continue }
            let left = hours.seconds(from: pausedAt, to: due)
            write.values[key] = ServiceClock.stamp(hours.adding(seconds: left, to: now))
        }
        let pause = hours.seconds(from: pausedAt, to: now) / 60
        write.values["paused_minutes"] = .number(Decimal(minutes(write.existing?.values["paused_minutes"]) + pause))
        write.values["paused_at"] = .null
    }

    /// Times to first response and to resolution, in working minutes without the pauses.
    static func elapsed(_ write: inout RecordWrite, hours: BusinessHours) {
        guard let opened = ServiceClock.date(write.value("opened_at")) else { return }
        if write.values["first_response_at"] != nil, let first = ServiceClock.date(write.value("first_response_at")) {
            write.values["response_minutes"] = .number(Decimal(hours.minutes(from: opened, to: first)))
        }
        if write.values["resolved_at"] != nil, let resolved = ServiceClock.date(write.value("resolved_at")) {
            let paused = minutes(write.value("paused_minutes"))
            write.values["resolution_minutes"] = .number(Decimal(max(0, hours.minutes(from: opened, to: resolved) - paused)))
        }
    }

    /// The SLA status of the case as written, at `now`.
    static func status(_ write: RecordWrite, now: Date, hours: BusinessHours) -> String {
        status(value: { write.value($0) }, now: now, hours: hours)
    }

    static func status(of record: Record, now: Date, hours: BusinessHours) -> String {
        status(value: { record.values[$0].flatMap { $0.isNull ? nil : $0 } }, now: now, hours: hours)
    }

    static func status(value: (String) -> JSONValue?, now: Date, hours: BusinessHours) -> String {
        let state = value("status")?.stringValue ?? "new"
        let paused = CaseFlow.paused.contains(state)
        // The clock stands at the start of a pause (or at resolution) while it does not run.
        let clock = paused ? (ServiceClock.date(value("paused_at")) ?? ServiceClock.date(value("resolved_at")) ?? now) : now
        let responseDue = ServiceClock.date(value("response_due_at")), resolutionDue = ServiceClock.date(value("resolution_due_at"))
        let firstResponse = ServiceClock.date(value("first_response_at")), resolved = ServiceClock.date(value("resolved_at"))
        if let due = responseDue, (firstResponse ?? clock) > due { return "breached" }
        if let due = resolutionDue, (resolved ?? clock) > due { return "breached" }
        if resolved != nil { return "ok" }
        if paused { return "paused" }
        let percent = minutes(value("sla_warning_percent")).clamped(1, 99, default: 80)
        let pending: [(Date?, Int)] = [
            (firstResponse == nil ? responseDue : nil, minutes(value("response_target_minutes"))),
            (resolutionDue, minutes(value("resolution_target_minutes"))),
        ]
        for case let (due?, target) in pending where target > 0 {
            let threshold = target * 60 * (100 - percent) / 100
            if hours.seconds(from: now, to: due, atMost: threshold + 60) * 100 <= target * 60 * (100 - percent) { return "warning" }
        }
        return "ok"
    }
}

extension Int {
    func clamped(_ low: Int, _ high: Int, default value: Int) -> Int {
        self < low || self > high ? value : self
    }
}

import Foundation
import Platform

/// The service module's rules, as record hooks on the shared engine.
enum ServiceRules {
    static let hooks: [(String, any RecordHooks)] = [
        ("service_case", CaseFlow()),
        ("service_case", CaseAssignment()),
        ("service_case", SurveyOnClose()),
        ("service_work_record", WorkRecordRollup()),
        ("service_asset", AssetDates()),
        ("service_settings", SettingsCheck()),
        ("opportunity", OnboardingCase()),
    ]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("service", .unprocessableContent, code: "invalid_\(field)", field: field, "\(field) \(message)", key: key, arguments)
    }

    static func int(_ value: JSONValue?) -> Int {
        guard let text = value?.stringValue, let number = Decimal(string: text) else { return 0 }
        return NSDecimalNumber(decimal: number).intValue
    }
}

/// A case's life: new → assigned → in progress ⇄ waiting for the customer → resolved → closed,
/// with a reopen (back to in progress) within the tenant's reopen window after resolution.
/// The rule stamps the times (opened, assigned, first response, resolved, closed), keeps the
/// SLA due times in business time (``CaseSLA``) — the clock stops while the case waits for the
/// customer or is resolved — and checks the asset against the customer and its warranty.
struct CaseFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "new": ["assigned", "in_progress", "waiting_customer", "resolved"],
        "assigned": ["new", "in_progress", "waiting_customer", "resolved"],
        "in_progress": ["assigned", "waiting_customer", "resolved"],
        "waiting_customer": ["in_progress", "resolved"],
        "resolved": ["closed", "in_progress"],
        "closed": ["in_progress"],
    ]
    /// States in which the SLA clock does not run.
    static let paused: Set<String> = ["waiting_customer", "resolved", "closed"]
    /// States that count as a response to the customer.
    static let responded: Set<String> = ["in_progress", "waiting_customer", "resolved", "closed"]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        let now = ServiceClock.now
        let stamp = ServiceClock.stamp(now)
        let settings = try await ServiceSettings.load(store)
        let hours = settings.hours
        try await checkAsset(&write, store: store, hours: hours, now: now)

        let from = write.existing?.string("status")
        let to = write.values["status"]?.stringValue ?? from ?? "new"
        if write.isCreate {
            guard to == "new" else {
                throw ServiceRules.invalid("status", "of a new case must be new, not \(to)", key: "case_starts_new", ["to": to])
            }
            write.values["status"] = .string("new")
            write.values["opened_at"] = stamp
            write.values["reopen_count"] = .number(0)
            write.values["paused_minutes"] = .number(0)
            write.values["work_minutes"] = .number(0)
            try await CaseSLA.target(&write, opened: now, store: store, hours: hours)
            write.values["sla_status"] = .string(CaseSLA.status(write, now: now, hours: hours))
            return
        }
        guard let from else { return }
        if to != from {
            guard (Self.next[from] ?? []).contains(to) else {
                throw ServiceRules.invalid("status", "cannot go from \(from) to \(to)", key: "case_transition", ["from": from, "to": to])
            }
            if ["resolved", "closed"].contains(from) && to == "in_progress" {
                try reopen(&write, settings: settings, now: now)
            }
            if to == "resolved" {
                let resolution = write.value("resolution")?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                guard !resolution.isEmpty else {
                    throw ServiceRules.invalid("resolution", "is required to resolve a case", key: "resolution_required")
                }
                write.values["resolved_at"] = stamp
            }
            if to == "closed" { write.values["closed_at"] = stamp }
            if to == "assigned" && write.existing?.values["assigned_at"]?.stringValue == nil { write.values["assigned_at"] = stamp }
            if Self.responded.contains(to) && write.value("first_response_at") == nil {
                write.values["first_response_at"] = stamp
            }
            // The clock: entering a paused state remembers when; leaving one moves the pending
            // due times on by the working time the pause took.
            let wasPaused = Self.paused.contains(from), isPaused = Self.paused.contains(to)
            if !wasPaused && isPaused { write.values["paused_at"] = stamp }
            if wasPaused && !isPaused { CaseSLA.resume(&write, now: now, hours: hours) }
        }
        if let priority = write.values["priority"]?.stringValue, priority != write.existing?.string("priority") {
            try await CaseSLA.retarget(&write, store: store, hours: hours)
        }
        CaseSLA.elapsed(&write, hours: hours)
        write.values["sla_status"] = .string(CaseSLA.status(write, now: now, hours: hours))
    }

    /// Back to work from resolved or closed, only within the reopen window after resolution.
    func reopen(_ write: inout RecordWrite, settings: ServiceSettings, now: Date) throws {
        if let resolved = ServiceClock.date(write.existing?.values["resolved_at"]) {
            let limit = resolved.addingTimeInterval(Double(settings.reopenDays) * 86_400)
            guard now <= limit else {
                throw ServiceRules.invalid("status", "cannot be reopened: a case may be reopened within \(settings.reopenDays) days of its resolution (resolved \(ServiceClock.stamp(resolved).stringValue ?? ""))",
                                           key: "reopen_window", ["days": "\(settings.reopenDays)", "resolved": ServiceClock.stamp(resolved).stringValue ?? ""])
            }
        }
        write.values["resolved_at"] = .null
        write.values["closed_at"] = .null
        write.values["resolution_minutes"] = .null
        write.values["reopen_count"] = .number(Decimal(ServiceRules.int(write.existing?.values["reopen_count"]) + 1))
    }

    /// The asset must belong to the case's customer (an empty customer takes the asset's); a
    /// warranty that ended before today (the tenant's day) marks the case out of warranty.
    func checkAsset(_ write: inout RecordWrite, store: ModuleStore, hours: BusinessHours, now: Date) async throws {
        guard write.isCreate || write.values["asset"] != nil || write.values["account"] != nil else { return }
        guard let assetID = write.value("asset")?.stringValue else {
            write.values["out_of_warranty"] = .null
            return
        }
        // Read as the caller: an asset they may not read is left to the engine's lookup check
        // (a 422 naming `asset`), so the rule never tells whose asset it is.
        let caller = store.acting(as: write.context.actor)
        guard let asset = try await caller.get("service_asset", assetID) else { return }
        if let account = write.value("account")?.stringValue {
            if let owner = asset.string("account"), owner != account {
                throw ServiceRules.invalid("asset", "belongs to another customer than the case", key: "asset_other_account")
            }
        } else if let owner = asset.string("account") {
            write.values["account"] = .string(owner)
        }
        if let end = asset.string("warranty_end") {
            write.values["out_of_warranty"] = .bool(end < hours.day(of: now))
        } else {
            write.values["out_of_warranty"] = .null
        }
    }
}

/// Work records roll up into their case: minutes logged, and the first one counts as the
/// first response when the case has none yet.
struct WorkRecordRollup: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if write.isCreate && (write.values["performed_at"]?.isNull ?? true) {
            write.values["performed_at"] = ServiceClock.stamp(ServiceClock.now)
        }
        if let when = ServiceClock.date(write.values["performed_at"]), when.timeIntervalSince(ServiceClock.now) > 86_400 {
            throw ServiceRules.invalid("performed_at", "must not be in the future", key: "work_in_future")
        }
        if !write.isCreate, let sent = write.values["service_case"], sent != write.existing?.values["service_case"] {
            throw ServiceRules.invalid("service_case", "cannot change: log the work on the other case instead", key: "work_case_fixed")
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await refresh(record, context: context, firstResponse: true)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        try await refresh(record, context: context, firstResponse: false)
    }

    func afterDelete(_ record: Record, context: HookContext) async throws {
        try await refresh(record, context: context, firstResponse: false)
    }

    func afterRestore(_ record: Record, context: HookContext) async throws {
        try await refresh(record, context: context, firstResponse: false)
    }

    func refresh(_ record: Record, context: HookContext, firstResponse: Bool) async throws {
        let store = ModuleStore(derived: context)
        guard let caseID = record.string("service_case"), let serviceCase = try await store.get("service_case", caseID) else { return }
        try await store.lock("service_case", serviceCase.id)
        let rows = try await store.aggregate("service_work_record", RecordAggregate(groups: [.field("service_case")], sums: ["minutes"],
                                                                                    filter: ModuleStore.eq("service_case", caseID)))
        let total = rows.first?.sums.first ?? 0
        var values: [String: JSONValue] = ["work_minutes": .number(total)]
        if firstResponse && serviceCase.values["first_response_at"]?.stringValue == nil {
            values["first_response_at"] = ServiceClock.stamp(ServiceClock.now)
        }
        guard let current = try await store.get("service_case", caseID) else { return }
        try await store.update(current, values)
    }
}

/// An asset's warranty cannot end before it was installed.
struct AssetDates: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let installed = write.value("install_date")?.stringValue, let end = write.value("warranty_end")?.stringValue, end < installed {
            throw ServiceRules.invalid("warranty_end", "must not be before install_date", key: "warranty_before_install")
        }
    }
}

/// Working hours must make a working day (start before end) in a real time zone.
struct SettingsCheck: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let zone = write.value("time_zone")?.stringValue, TimeZone(identifier: zone) == nil {
            throw ServiceRules.invalid("time_zone", "is not a time zone name like Asia/Shanghai", key: "time_zone")
        }
        if let start = ServiceSettings.minutes(write.value("work_start")?.stringValue), let end = ServiceSettings.minutes(write.value("work_end")?.stringValue),
           end <= start {
            throw ServiceRules.invalid("work_end", "must be after work_start", key: "work_end_before_start")
        }
    }
}

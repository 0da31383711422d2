import Foundation
import Platform

/// Stage → probability, weighted amount, lost reason, stage history; winning marks the account a customer.
struct OpportunityRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let store = ModuleStore(derived: write.context)
        let stageChanged = write.isCreate || (write.values["stage"] != nil && write.values["stage"] != write.existing?.values["stage"])
        var probability = write.existing?.decimal("probability") ?? 0
        if stageChanged, let stageID = write.value("stage")?.stringValue {
            guard let stage = try await store.get("sales_stage", stageID) else {
                throw SalesErrors.invalid("stage", "no pipeline stage \(stageID)", key: "no_stage")
            }
            probability = stage.decimal("probability") ?? 0
            write.values["probability"] = .string(Money.text(probability, scale: 0))
            write.values["stage_changed_at"] = .string(SalesRules.now())
            if stage.string("kind") == "lost" && write.value("lost_reason") == nil {
                throw SalesErrors.invalid("lost_reason", "is required when an opportunity is lost", key: "lost_reason_required")
            }
            if stage.string("kind") != "lost" && write.existing?.values["lost_reason"] != nil && write.values["lost_reason"] == nil {
                write.values["lost_reason"] = .null  // reopened: the old reason no longer applies
            }
        }
        if stageChanged || write.values["amount"] != nil, let amountValue = write.value("amount") {
            // The engine normalises amount after this hook; parse what was sent or stored.
            let amount = Money.amount(amountValue) ?? 0
            let currency = Money.currency(amountValue) ?? "CNY"
            write.values["weighted_amount"] = Money.value(Money.round(amount * probability / 100), currency: currency)
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await enter(record, from: nil, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.values["stage"] != previous.values["stage"] else { return }
        let store = ModuleStore(derived: context)
        let open = try await store.all("stage_change", filter: ModuleStore.and([
            ModuleStore.eq("opportunity", record.idText), ModuleStore.op("left_at", "is_empty", .bool(true))]))
        let leftAt = record.string("stage_changed_at") ?? SalesRules.now()
        let iso = ISO8601DateFormatter()
        for change in open {
            var days: Decimal = 0
            if let entered = change.string("entered_at").flatMap(iso.date), let left = iso.date(from: leftAt) {
                days = Money.round(Decimal(max(0, left.timeIntervalSince(entered))) / 86_400)
            }
            try await store.update(change, ["left_at": .string(leftAt), "days": .string(Money.text(days))])
        }
        try await enter(record, from: previous.string("stage"), context: context)
    }

    func enter(_ record: Record, from: String?, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        var values: [String: JSONValue] = ["opportunity": .string(record.idText), "stage": record.values["stage"] ?? .null,
                                           "entered_at": .string(record.string("stage_changed_at") ?? SalesRules.now())]
        if let from { values["from_stage"] = .string(from) }
        if let amount = record.values["amount"] { values["amount"] = amount }
        _ = try await store.create("stage_change", values)
        if let stage = try await store.get("sales_stage", record.string("stage")), stage.string("kind") == "won",
           let account = try await store.get("account", record.string("account")), account.string("lifecycle") != "customer" {
            try await store.update(account, ["lifecycle": .string("customer"), "account_type": .string("customer")])
        }
    }
}

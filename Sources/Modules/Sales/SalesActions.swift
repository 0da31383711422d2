import Foundation
import Platform

/// Multi-record actions of the sales module. Each runs in the caller's one tenant transaction:
/// the engine checks the caller's rights on every record it touches, and a failure anywhere
/// rolls everything back.
enum SalesActions {
    struct LeadConversion: Sendable {
        /// An existing account to attach to; otherwise one is created from the lead's company.
        var accountID: UUID?
        var accountName: String?
        var createOpportunity = true
        var opportunityName: String?
        var amount: JSONValue?
        var closeDate: String?
        var stageID: String?
        var confirmDuplicate = false
    }

    struct Converted: Sendable {
        let account: Record
        let contact: Record
        let opportunity: Record?
    }

    /// Lead → account + contact (+ opportunity), linking all of them back to the lead.
    static func convertLead(_ leadID: UUID, _ input: LeadConversion, store: ModuleStore) async throws -> Converted {
        let lead = try await store.get("lead", leadID)
        guard lead.string("status") != "converted" else {
            throw AtriumError(status: .conflict, code: "lead_converted", message: "this lead was already converted")
        }
        // Converting changes the lead: the caller needs the update right on it.
        _ = try await store.update(lead, [:])
        let account: Record
        if let accountID = input.accountID {
            account = try await store.get("account", accountID)
        } else {
            let name = (input.accountName ?? lead.string("company") ?? lead.string("name") ?? "").trimmingCharacters(in: .whitespaces)
            var values: [String: JSONValue] = ["name": .string(name), "lifecycle": .string("intent")]
            if let phone = lead.values["phone"] { values["phone"] = phone }
            if input.confirmDuplicate { values["confirm_duplicate"] = .bool(true) }
            account = try await store.create("account", values)
        }
        var contactValues: [String: JSONValue] = ["name": lead.values["name"] ?? .null, "account": .string(account.idText)]
        for (from, to) in [("title", "title"), ("phone", "mobile"), ("email", "email")] {
            if let value = lead.values[from] { contactValues[to] = value }
        }
        let contact = try await store.create("contact", contactValues)
        var opportunity: Record?
        if input.createOpportunity {
            var stageID = input.stageID
            if stageID == nil {
                stageID = try await SalesPipeline.stages(store: store.derived).first { $0.kind == "open" }?.id
            }
            var values: [String: JSONValue] = [
                "name": .string(input.opportunityName ?? "\(account.string("name") ?? "") – \(lead.string("name") ?? "")"),
                "account": .string(account.idText), "contact": .string(contact.idText),
                "amount": input.amount ?? .null, "close_date": input.closeDate.map(JSONValue.string) ?? .null,
                "stage": stageID.map(JSONValue.string) ?? .null,
            ]
            if let source = lead.values["source"] { values["source"] = source }
            let created = try await store.create("opportunity", values)
            opportunity = try await store.derived.update(created, ["lead": .string(lead.idText)])
        }
        var leadValues: [String: JSONValue] = [
            "status": .string("converted"), "converted_account": .string(account.idText),
            "converted_contact": .string(contact.idText), "converted_at": .string(SalesRules.now()),
        ]
        if let opportunity { leadValues["converted_opportunity"] = .string(opportunity.idText) }
        try await store.derived.update(try await store.derived.get("lead", leadID), leadValues)
        return Converted(account: account, contact: contact, opportunity: opportunity)
    }

    /// Quote → draft sales order with the quote's lines; the quote is marked converted.
    static func convertQuote(_ quoteID: UUID, store: ModuleStore) async throws -> Record {
        let quote = try await store.get("quote", quoteID)
        switch quote.string("status") {
        case "converted": throw AtriumError(status: .conflict, code: "quote_converted", message: "this quote was already converted to an order")
        case "rejected": throw AtriumError(status: .conflict, code: "quote_rejected", message: "a rejected quote cannot become an order")
        default: break
        }
        var orderValues: [String: JSONValue] = ["account": quote.values["account"] ?? .null]
        if let opportunity = quote.values["opportunity"] { orderValues["opportunity"] = opportunity }
        let order = try await store.create("sales_order", orderValues)
        let lines = try await store.all("quote_line", filter: ModuleStore.eq("quote", quote.idText), sort: "position,created_at")
        for line in lines {
            var values: [String: JSONValue] = ["sales_order": .string(order.idText)]
            for key in ["position", "product", "description", "quantity", "unit_price", "discount", "tax_rate"] {
                if let value = line.values[key] { values[key] = value }
            }
            _ = try await store.create("order_line", values)
        }
        let linked = try await store.derived.update(try await store.derived.get("sales_order", order.id), ["quote": .string(quote.idText)])
        try await store.derived.update(try await store.derived.get("quote", quoteID), ["status": .string("converted"), "sales_order": .string(order.idText)])
        return linked
    }

    /// Merges `duplicate` into `survivor`: every record of any entity (custom ones included)
    /// that looks up the duplicate is repointed, the survivor's empty fields take the
    /// duplicate's values, and the duplicate goes to the recycle bin. The caller needs update on
    /// the survivor and delete on the duplicate.
    static func mergeAccounts(survivor survivorID: UUID, duplicate duplicateID: UUID, store: ModuleStore) async throws -> (Record, Int) {
        guard survivorID != duplicateID else {
            throw AtriumError.validation(field: "duplicate", "must be another account")
        }
        let survivor = try await store.get("account", survivorID)
        let duplicate = try await store.get("account", duplicateID)
        var moved = 0
        let entities = try await store.engine.entities(on: store.connection, logger: store.logger)
        for entity in entities.values.sorted(by: { $0.key < $1.key }) {
            for field in entity.activeFields where field.type == .lookup && field.target == "account" {
                // Filters need filterable fields; scan the rest page by page.
                let filter = field.filterable ? ModuleStore.eq(field.key, duplicate.idText) : nil
                for record in try await store.derived.all(entity.key, filter: filter) where record.string(field.key) == duplicate.idText {
                    guard record.id != duplicate.id else { continue }
                    try await store.derived.update(record, [field.key: .string(survivor.idText)])
                    moved += 1
                }
            }
        }
        var fill: [String: JSONValue] = [:]
        for (key, value) in duplicate.values where survivor.values[key] == nil {
            if let field = entities["account"]?.field(key), field.active, !field.computed, field.type != .autoNumber, !field.unique {
                fill[key] = value
            }
        }
        let current = try await store.get("account", survivorID)
        let merged = try await store.update(current, fill)
        try await store.engine.delete("account", id: duplicateID, as: store.actor, on: store.connection, logger: store.logger)
        return (merged, moved)
    }
}

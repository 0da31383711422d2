// Customer-side rules: lead pool and conversion state, the account duplicate check, sales targets.
import Foundation
import Platform

struct LeadRules: RecordHooks {
    /// Round-robin assignment: a lead created with a department in `pool` goes to the active
    /// member of that department with the fewest open leads (new or working); ties go by email,
    /// so leads are dealt out in turn.
    func afterCreate(_ record: Record, context: HookContext) async throws {
        guard let pool = record.string("pool") else { return }
        let members = try await OrganisationAdmin().members(on: context.connection, logger: context.logger)
            .filter { $0.active && $0.departmentID?.uuidString.lowercased() == pool }
        guard !members.isEmpty else {
            throw SalesErrors.invalid("pool", "the department has no active members to assign the lead to", key: "pool_empty")
        }
        let store = ModuleStore(derived: context)
        let rows = try await store.aggregate("lead", RecordAggregate(groups: [.owner], filter: ModuleStore.and([
            ModuleStore.op("status", "in", .array([.string("new"), .string("working")])),
            ModuleStore.op("id", "ne", .string(record.idText))])))
        let load = Dictionary(rows.map { ($0.keys[0] ?? "", $0.count) }, uniquingKeysWith: +)
        let order = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($0.element.id, $0.offset) })
        let chosen = members.min { (load[$0.id.uuidString.lowercased()] ?? 0, order[$0.id]!) < (load[$1.id.uuidString.lowercased()] ?? 0, order[$1.id]!) }!
        try await store.update(try await store.get("lead", record.id), ["owner_id": .string(chosen.id.uuidString.lowercased())])
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if SalesRules.isDerived(write.context) { return }
        if write.existing?.string("status") == "converted" {
            throw SalesErrors.invalid("status", "a converted lead can no longer change", key: "lead_converted")
        }
        if write.values["status"] == .string("converted") {
            throw SalesErrors.invalid("status", "use Convert to turn a lead into an account, contact and opportunity", key: "use_convert")
        }
    }
}

/// Duplicate check (查重) on new accounts: same name, phone or tax id across the whole tenant,
/// so two salespeople do not chase one customer. Send `"confirm_duplicate": true` to create anyway.
struct AccountRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let confirmed = write.values.removeValue(forKey: "confirm_duplicate") == .bool(true)
        guard write.isCreate, !confirmed, !SalesRules.isDerived(write.context) else { return }
        if let duplicate = try await Self.duplicate(of: write.values, context: write.context) {
            throw duplicate
        }
    }

    /// Accounts with the same name, phone or tax id as `values` (nil when none is given); also
    /// the merge page's candidates.
    static func lookAlike(_ values: [String: JSONValue]) -> JSONValue? {
        var checks: [JSONValue] = []
        for key in ["name", "phone", "tax_id"] {
            if let text = values[key]?.stringValue?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                checks.append(ModuleStore.eq(key, text))
            }
        }
        return checks.isEmpty ? nil : .object(["or": .array(checks)])
    }

    static func duplicate(of values: [String: JSONValue], context: HookContext) async throws -> AtriumError? {
        let store = ModuleStore(derived: context)
        guard let filter = lookAlike(values) else { return nil }
        let page = try await store.engine.list("account", query: RecordQuery(filter: filter, limit: 5),
                                              as: store.actor, on: store.connection, logger: store.logger)
        guard let existing = page.records.first else { return nil }
        let name = existing.string("name") ?? ""
        var error = AtriumError(status: .conflict, code: "possible_duplicate",
                                message: "an account that looks the same already exists: \(name) (\(existing.idText)); send confirm_duplicate: true to create it anyway, or merge",
                                field: "name",
                                details: page.records.map { .init(field: $0.idText, message: $0.string("name") ?? "") })
        error.messageKey = "sales.possible_duplicate"
        error.messageArguments = ["name": name]
        return error
    }
}

/// A target is for one salesperson or one department.
struct TargetRules: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        let hasUser = write.value("user") != nil, hasDepartment = write.value("department") != nil
        if hasUser == hasDepartment {
            throw SalesErrors.invalid("user", "choose either a salesperson or a department", key: "target_owner")
        }
    }
}

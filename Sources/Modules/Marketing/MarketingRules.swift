import Foundation
import Platform

/// The marketing module's rules, as record hooks: a campaign's status flow and dates, its
/// actual cost as the exact sum of its cost lines, a plan's total budget, members that name one
/// person once, responses that become (or merge into) leads, segments and templates checked
/// when saved, a web form's public key.
enum MarketingRules {
    static let hooks: [(String, any RecordHooks)] = [
        ("campaign", CampaignFlow()),
        ("campaign_cost", CampaignCostTotal()),
        ("marketing_plan", PlanWindow()),
        ("marketing_plan_budget", PlanBudgetTotal()),
        ("campaign_member", MemberPerson()),
        ("campaign_response", ResponseToLead()),
        ("segment", SegmentCheck()),
        ("email_template", TemplateCheck()),
        ("web_form", WebFormKey()),
    ]

    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("marketing", .unprocessableContent, code: "invalid_\(field)", field: field, "\(field) \(message)", key: key, arguments)
    }

    static func now() -> String { Date().formatted(.iso8601) }
}

/// planned → active → completed, and planned or active → cancelled; completed and cancelled
/// campaigns stay so. The end date is never before the start; a campaign is never its own
/// ancestor.
struct CampaignFlow: RecordHooks {
    static let next: [String: Set<String>] = [
        "planned": ["active", "cancelled"],
        "active": ["completed", "cancelled"],
        "completed": [],
        "cancelled": [],
    ]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let to = write.values["status"]?.stringValue {
            if write.isCreate {
                guard ["planned", "active"].contains(to) else {
                    throw MarketingRules.invalid("status", "of a new campaign must be planned or active, not \(to)", key: "status_new", ["to": to])
                }
            } else if let from = write.existing?.values["status"]?.stringValue, from != to, !(Self.next[from] ?? []).contains(to) {
                throw MarketingRules.invalid("status", "cannot go from \(from) to \(to)", key: "status_flow", ["from": from, "to": to])
            }
        }
        if let start = write.value("start_date")?.stringValue, let end = write.value("end_date")?.stringValue, end < start {
            throw MarketingRules.invalid("end_date", "must not be before start_date", key: "ends_before_starts")
        }
        if !write.isCreate, let existing = write.existing, let parent = write.values["parent"]?.stringValue, let parentID = UUID(uuidString: parent) {
            let store = ModuleStore(derived: write.context)
            var seen = Set<UUID>()
            var current: UUID? = parentID
            while let id = current, seen.insert(id).inserted {
                if id == existing.id { throw MarketingRules.invalid("parent", "cannot be the campaign itself or one below it", key: "campaign_cycle") }
                current = try await store.get("campaign", id.uuidString)?.string("parent").flatMap(UUID.init(uuidString:))
            }
        }
    }
}

/// A campaign's actual cost is the exact sum of its live cost lines, whoever may read them;
/// recomputed in the line's transaction on every change, bin and restore.
struct CampaignCostTotal: RecordHooks {
    static func recompute(_ campaign: String?, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        guard let campaign = try await store.get("campaign", campaign) else { return }
        let total = try await Segments.scan("campaign_cost", filter: Segments.anyOf("campaign", [campaign.idText]), store: store).reduce(Decimal(0)) { $0 + $1.money("amount") }
        if campaign.values["actual_cost"] == nil || campaign.money("actual_cost") != total || campaign.values["actual_cost"] == .null {
            try await store.update(campaign, ["actual_cost": Money.value(total)])
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await Self.recompute(record.string("campaign"), context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        try await Self.recompute(record.string("campaign"), context: context)
        if previous.string("campaign") != record.string("campaign") { try await Self.recompute(previous.string("campaign"), context: context) }
    }

    func afterDelete(_ record: Record, context: HookContext) async throws {
        try await Self.recompute(record.string("campaign"), context: context)
    }

    func afterRestore(_ record: Record, context: HookContext) async throws {
        try await Self.recompute(record.string("campaign"), context: context)
    }
}

struct PlanWindow: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let from = write.value("starts_on")?.stringValue, let to = write.value("ends_on")?.stringValue, to < from {
            throw MarketingRules.invalid("ends_on", "must not be before starts_on", key: "ends_before_starts")
        }
    }
}

/// A plan's total budget is the exact sum of its budget lines (one per campaign type).
struct PlanBudgetTotal: RecordHooks {
    static func recompute(_ plan: String?, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        guard let plan = try await store.get("marketing_plan", plan) else { return }
        let total = try await store.all("marketing_plan_budget", filter: ModuleStore.eq("plan", plan.idText)).reduce(Decimal(0)) { $0 + $1.money("budget") }
        try await store.update(plan, ["total_budget": Money.value(total)])
    }

    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard let plan = write.value("plan")?.stringValue, let type = write.value("campaign_type")?.stringValue else { return }
        let changes = write.isCreate || write.values["plan"] != nil || write.values["campaign_type"] != nil
        guard changes else { return }
        let store = ModuleStore(derived: write.context)
        let same = try await store.all("marketing_plan_budget", filter: ModuleStore.and([ModuleStore.eq("plan", plan), ModuleStore.eq("campaign_type", type)]))
        if same.contains(where: { $0.id != write.existing?.id }) {
            throw MarketingRules.invalid("campaign_type", "already has a budget line in this plan", key: "plan_type_twice", ["type": type])
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws { try await Self.recompute(record.string("plan"), context: context) }
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        try await Self.recompute(record.string("plan"), context: context)
        if previous.string("plan") != record.string("plan") { try await Self.recompute(previous.string("plan"), context: context) }
    }
    func afterDelete(_ record: Record, context: HookContext) async throws { try await Self.recompute(record.string("plan"), context: context) }
    func afterRestore(_ record: Record, context: HookContext) async throws { try await Self.recompute(record.string("plan"), context: context) }
}

/// A member is one contact or one lead (not both), at most once per campaign; its name and
/// e-mail are copied from that person when it is added.
struct MemberPerson: RecordHooks {
    /// Member statuses in the order a person moves through them; a response never moves one back.
    static let order = ["planned", "sent", "responded", "registered", "attended", "converted"]

    func beforeValidate(_ write: inout RecordWrite) async throws {
        let contact = write.value("contact")?.stringValue, lead = write.value("lead")?.stringValue
        guard (contact == nil) != (lead == nil) else {
            throw MarketingRules.invalid("contact", "or lead: a member is exactly one contact or one lead", key: "member_person")
        }
        guard write.isCreate || write.values["contact"] != nil || write.values["lead"] != nil || write.values["campaign"] != nil else { return }
        let store = ModuleStore(derived: write.context)
        let (field, id) = contact.map { ("contact", $0) } ?? ("lead", lead!)
        if let campaign = write.value("campaign")?.stringValue {
            let existing = try await store.all("campaign_member", filter: ModuleStore.and([Segments.anyOf(field, [id]), ModuleStore.eq("campaign", campaign)]))
            if existing.contains(where: { $0.id != write.existing?.id }) {
                throw AtriumError.module("marketing", .conflict, code: "duplicate_member", field: field,
                                         "\(field) is already a member of this campaign", key: "member_twice")
            }
        }
        if let person = try await store.get(field, id) {
            write.values["name"] = person.values["name"] ?? .null
            write.values["email"] = person.values["email"] ?? .null
        }
    }
}

/// Recording a response makes the person a lead of the campaign, once: the lead a member
/// already is, a lead an earlier response of the same contact became, or a lead with the same
/// e-mail is brought up to date (its empty fields filled, a note added; its first campaign is
/// kept — first touch); otherwise a new lead with source `campaign` (or `web_form`) and the
/// campaign link is created. The member (found or added) moves up to the response's status.
struct ResponseToLead: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard write.isCreate else { return }
        let store = ModuleStore(derived: write.context)
        var contactID = write.value("contact")?.stringValue
        if let memberID = write.value("member")?.stringValue, let member = try await store.get("campaign_member", memberID) {
            if member.string("campaign") != write.value("campaign")?.stringValue {
                throw MarketingRules.invalid("member", "belongs to another campaign", key: "member_other_campaign")
            }
            if contactID == nil, let contact = member.string("contact") {
                contactID = contact
                write.values["contact"] = .string(contact)
            }
            if let leadID = member.string("lead"), let lead = try await store.get("lead", leadID) {
                fill(&write, from: lead, keys: ["name", "company", "email", "phone", "title"])
            }
        }
        if let contactID, let contact = try await store.get("contact", contactID) {
            fill(&write, from: contact, keys: ["name", "email", "title"])
            if write.value("phone") == nil, let phone = contact.values["mobile"] ?? contact.values["phone"] { write.values["phone"] = phone }
            if write.value("company") == nil, let account = try await store.get("account", contact.string("account")) {
                write.values["company"] = account.values["name"] ?? .null
            }
        }
        if write.value("name")?.stringValue?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
            throw MarketingRules.invalid("name", "is required: name the person who responded (or pick a contact or member)", key: "response_name")
        }
    }

    func fill(_ write: inout RecordWrite, from record: Record, keys: [String]) {
        for key in keys where write.value(key) == nil {
            if let value = record.values[key], !value.isNull { write.values[key] = value }
        }
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        guard let campaignID = record.string("campaign") else { return }
        let member = try await store.get("campaign_member", record.string("member"))
        var lead = try await store.get("lead", member?.string("lead"))
        if lead == nil, let contact = record.string("contact") {
            let earlier = try await store.all("campaign_response", filter: ModuleStore.and([Segments.anyOf("contact", [contact]),
                                                                                              ModuleStore.op("lead", "is_empty", .bool(false))]), sort: "created_at")
            for response in earlier where response.id != record.id {
                if let found = try await store.get("lead", response.string("lead")) { lead = found; break }
            }
        }
        if lead == nil, let email = record.string("email")?.lowercased(), !email.isEmpty {
            lead = try await store.all("lead", filter: ModuleStore.eq("email", email), sort: "created_at").first
        }
        let merged = lead != nil
        if let existing = lead {
            var changes: [String: JSONValue] = [:]
            if existing.string("status") != "converted" {
                for key in ["company", "email", "phone", "title"] where existing.values[key] == nil || existing.values[key] == .null {
                    if let value = record.values[key], !value.isNull { changes[key] = value }
                }
                if existing.values["campaign"] == nil || existing.values["campaign"] == .null { changes["campaign"] = .string(campaignID) }
                let note = "[\(String(MarketingRules.now().prefix(10)))] \(record.string("kind") ?? "replied"): \(record.string("notes") ?? "")"
                let notes = [existing.string("notes"), note].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
                changes["notes"] = .string(String(notes.suffix(20_000)))
                lead = try await store.update(existing, changes)
            }
        } else {
            var values: [String: JSONValue] = ["source": .string(record.string("kind") == "web_form" ? "web_form" : "campaign"),
                                               "campaign": .string(campaignID), "status": .string("new")]
            for key in ["name", "company", "email", "phone", "title", "notes"] {
                if let value = record.values[key], !value.isNull { values[key] = value }
            }
            lead = try await store.create("lead", values)
        }
        guard let lead else { return }
        try await store.update(record, ["lead": .string(lead.idText), "merged": .bool(merged)])
        try await Self.advanceMember(member, campaign: campaignID, contact: record.string("contact"), lead: lead, kind: record.string("kind"), store: store)
    }

    /// The campaign's member for this person (added when missing) moves up to the response's status.
    static func advanceMember(_ known: Record?, campaign: String, contact: String?, lead: Record, kind: String?, store: ModuleStore) async throws {
        let status = ["registered": "registered", "attended": "attended"][kind ?? ""] ?? "responded"
        var member = known
        if member == nil {
            let (field, id) = contact.map { ("contact", $0) } ?? ("lead", lead.idText)
            member = try await store.all("campaign_member", filter: ModuleStore.and([Segments.anyOf(field, [id]), ModuleStore.eq("campaign", campaign)])).first
            if member == nil {
                member = try await store.create("campaign_member", ["campaign": .string(campaign), field: .string(id), "status": .string(status)])
                return
            }
        }
        guard let member else { return }
        let current = MemberPerson.order.firstIndex(of: member.string("status") ?? "planned") ?? 0
        if let target = MemberPerson.order.firstIndex(of: status), target > current {
            try await store.update(member, ["status": .string(status)])
        }
    }
}

/// A segment's filter is the record filter language (JSON) over its records' fields; it is
/// tried, as the author, when saved, so a typo is a 422 naming `filter` and not a failed send.
struct SegmentCheck: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard write.isCreate || write.values["filter"] != nil || write.values["target"] != nil else { return }
        guard let target = write.value("target")?.stringValue, let text = write.value("filter")?.stringValue else { return }
        let store = ModuleStore(engine: write.context.engine, actor: write.context.actor, connection: write.context.connection, logger: write.context.logger)
        _ = try await Segments.records(target: target, filterText: text, limit: 1, store: store)
    }
}

/// Templates may only use the merge fields the mailer fills in.
struct TemplateCheck: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        for key in ["subject", "body"] {
            guard let text = write.values[key]?.stringValue else { continue }
            let unknown = MailMerge.fields(in: text).filter { !MailMerge.known.contains($0) }
            if let first = unknown.first {
                throw MarketingRules.invalid(key, "uses an unknown merge field {{\(first)}}; known: \(MailMerge.known.sorted().joined(separator: ", "))",
                                             key: "unknown_merge_field", ["name": first])
            }
        }
    }
}

/// A web form gets its public key once, when it is created.
struct WebFormKey: RecordHooks {
    func beforeValidate(_ write: inout RecordWrite) async throws {
        if write.isCreate { write.values["form_key"] = .string(WebToLead.newKey()) }
    }
}

import Foundation
import Platform

/// Segments (客户细分): a saved filter in the record filter language over contacts, leads or
/// accounts (an account segment reaches the accounts' contacts). Evaluated when it is used —
/// a preview, adding members, a send — never stored as a list, so a contact created after the
/// segment was saved is in it as soon as it matches. Always read as the caller: their scope,
/// hidden fields and dimension apply.
enum Segments {
    /// Someone a campaign can reach.
    struct Person: Sendable {
        var email: String?
        var name: String
        var company: String?
        var title: String?
        var contactID: String?
        var leadID: String?
        var memberID: String?

        /// Merge values for templates (`contact.*` and `lead.*` both name the person).
        var mergeValues: [String: String] {
            var values: [String: String] = [:]
            for prefix in ["contact", "lead"] {
                values["\(prefix).name"] = name
                values["\(prefix).email"] = email ?? ""
                values["\(prefix).company"] = company ?? ""
                values["\(prefix).title"] = title ?? ""
            }
            return values
        }
    }

    static let targets: Set<String> = ["contact", "lead", "account"]

    static func parse(_ text: String) throws -> JSONValue {
        guard let filter = try? JSONValue.parse(text), case .object = filter else {
            throw MarketingRules.invalid("filter", "must be a filter as JSON, e.g. {\"field\": \"region\", \"op\": \"eq\", \"value\": \"华东\"}", key: "segment_json")
        }
        return filter
    }

    /// Records of the segment's own entity that match (`limit` for a check or preview).
    static func records(target: String, filterText: String, limit: Int? = nil, store: ModuleStore) async throws -> [Record] {
        guard targets.contains(target) else { throw MarketingRules.invalid("target", "must be contact, lead or account", key: "segment_target") }
        let filter = try parse(filterText)
        do {
            if let limit {
                return try await store.engine.list(target, query: RecordQuery(filter: filter, limit: limit), as: store.actor,
                                                   on: store.connection, logger: store.logger).records
            }
            return try await scan(target, filter: filter, store: store)
        } catch let error as any DomainError where error.status == .badRequest {
            throw MarketingRules.invalid("filter", "cannot be used: \(error.message)", key: "segment_filter", ["reason": error.message])
        }
    }

    /// Everyone the segment reaches now, one entry per contact or lead.
    static func people(_ segment: Record, store: ModuleStore) async throws -> [Person] {
        let target = segment.string("target") ?? "contact"
        let records = try await records(target: target, filterText: segment.string("filter") ?? "", store: store)
        switch target {
        case "lead":
            return records.map(person(lead:))
        case "account":
            let names = Dictionary(records.map { ($0.idText, $0.string("name") ?? "") }, uniquingKeysWith: { a, _ in a })
            let contacts = try await byChunks(records.map(\.idText)) { ids in try await scan("contact", filter: anyOf("account", ids), store: store) }
            return contacts.map { person(contact: $0, company: names[$0.string("account") ?? ""]) }
        default:
            return try await contactsWithCompanies(records, store: store)
        }
    }

    /// The campaign's members as they are now (e-mail and name read from the contact or lead
    /// at this moment, not copied when they were added).
    static func members(of campaign: String, store: ModuleStore) async throws -> [Person] {
        let members = try await scan("campaign_member", filter: anyOf("campaign", [campaign]), store: store)
        let contactIDs = members.compactMap { $0.string("contact") }, leadIDs = members.compactMap { $0.string("lead") }
        let contacts = try await byChunks(contactIDs) { ids in try await store.all("contact", filter: ModuleStore.op("id", "in", .array(ids.map(JSONValue.string)))) }
        let leads = try await byChunks(leadIDs) { ids in try await store.all("lead", filter: ModuleStore.op("id", "in", .array(ids.map(JSONValue.string)))) }
        let contactPeople = Dictionary(try await contactsWithCompanies(contacts, store: store).map { ($0.contactID ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let leadPeople = Dictionary(leads.map { ($0.idText, person(lead: $0)) }, uniquingKeysWith: { a, _ in a })
        return members.compactMap { member in
            var found = member.string("contact").flatMap { contactPeople[$0] } ?? member.string("lead").flatMap { leadPeople[$0] }
            found?.memberID = member.idText
            return found
        }
    }

    static func contactsWithCompanies(_ contacts: [Record], store: ModuleStore) async throws -> [Person] {
        let accountIDs = Array(Set(contacts.compactMap { $0.string("account") }))
        let accounts = try await byChunks(accountIDs) { ids in try await store.all("account", filter: ModuleStore.op("id", "in", .array(ids.map(JSONValue.string)))) }
        let names = Dictionary(accounts.map { ($0.idText, $0.string("name") ?? "") }, uniquingKeysWith: { a, _ in a })
        return contacts.map { person(contact: $0, company: names[$0.string("account") ?? ""]) }
    }

    static func person(contact: Record, company: String?) -> Person {
        Person(email: contact.string("email"), name: contact.string("name") ?? "", company: company, title: contact.string("title"), contactID: contact.idText)
    }

    static func person(lead: Record) -> Person {
        Person(email: lead.string("email"), name: lead.string("name") ?? "", company: lead.string("company"), title: lead.string("title"), leadID: lead.idText)
    }

    /// Every live record of `entity` matching `filter`, in creation order, a page of 200 at a
    /// time by keyset (`after` the previous page's last record) rather than by offset: the
    /// pages of a large segment cost the same however deep they are.
    static func scan(_ entity: String, filter: JSONValue?, store: ModuleStore) async throws -> [Record] {
        var records: [Record] = []
        var cursor: String?
        while true {
            let page = try await store.engine.list(entity, query: RecordQuery(filter: filter, sort: "created_at", limit: RecordQuery.maxLimit, after: cursor),
                                                   as: store.actor, on: store.connection, logger: store.logger)
            records += page.records
            guard page.records.count == RecordQuery.maxLimit, let next = page.nextCursor else { return records }
            cursor = next
        }
    }

    /// `field` is one of `ids`, written as a one-branch `or`: inside a disjunction the engine
    /// turns an indexed `in` into `id = ANY(ARRAY(…record_index…))`, computed once, instead of a
    /// correlated `EXISTS` per row. Measured here for one account's 2 000 contacts in pages of
    /// 200 by `created_at`: 1.0–1.9 s a page with the `EXISTS`, 0.1 s with the array.
    static func anyOf(_ field: String, _ ids: [String]) -> JSONValue {
        .object(["or": .array([ModuleStore.op(field, "in", .array(ids.map(JSONValue.string)))])])
    }

    /// `load` over `ids` in chunks of 500 (a filter's `in` list stays small).
    static func byChunks(_ ids: [String], _ load: ([String]) async throws -> [Record]) async throws -> [Record] {
        var result: [Record] = []
        var start = 0
        while start < ids.count {
            result += try await load(Array(ids[start..<min(ids.count, start + 500)]))
            start += 500
        }
        return result
    }
}

/// Merge fields in templates: `{{contact.name}}`, `{{campaign.name}}`, `{{unsubscribe_url}}` ….
enum MailMerge {
    static let known: Set<String> = ["contact.name", "contact.email", "contact.company", "contact.title",
                                     "lead.name", "lead.email", "lead.company", "lead.title",
                                     "campaign.name", "campaign.start_date", "campaign.end_date", "campaign.location",
                                     "sender.name", "sender.email", "unsubscribe_url"]

    static func fields(in text: String) -> [String] {
        text.matches(of: /\{\{\s*([A-Za-z_.]+)\s*\}\}/).map { String($0.output.1) }
    }

    static func render(_ text: String, _ values: [String: String]) -> String {
        text.replacing(/\{\{\s*([A-Za-z_.]+)\s*\}\}/) { match in values[String(match.output.1)] ?? "" }
    }
}

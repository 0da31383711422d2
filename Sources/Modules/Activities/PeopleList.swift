import Foundation
import Platform

/// A comma-separated list of user ids in a text field — an event's attendees, an activity's
/// participants — since the engine's user field names one person. The list is checked (active
/// users of the company, at most `max`, duplicates dropped) before validation, and each person
/// on it gets a read share of the record (the owner needs none), taken back when they leave it.
enum PeopleList {
    static func ids(_ value: JSONValue?) -> [String] {
        (value?.stringValue ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// Normalises the sent list of `key`; an unknown or inactive user or too many is a 422 naming it.
    static func check(_ key: String, _ write: inout RecordWrite, max: Int, tooMany: String, unknown: String) async throws {
        func invalid(_ message: String, _ code: String, _ arguments: [String: String]) -> AtriumError {
            ActivitiesRules.invalid(key, message, key: code, arguments)
        }
        guard let sent = write.values[key], !sent.isNull, sent.stringValue != nil else { return }  // the engine names a non-text value
        let ids = Self.ids(sent)
        guard ids.count <= max else { throw invalid("may name at most \(max) people", tooMany, ["max": "\(max)"]) }
        let members = try await OrganisationAdmin().members(on: write.context.connection, logger: write.context.logger)
        let active = Set(members.filter(\.active).map { $0.id.uuidString.lowercased() })
        var unique: [String] = []
        for id in ids where !unique.contains(id) {
            guard UUID(uuidString: id) != nil, active.contains(id) else {
                throw invalid("names no active user of this company: \(id)", unknown, ["id": id])
            }
            unique.append(id)
        }
        write.values[key] = unique.isEmpty ? .null : .string(unique.joined(separator: ","))
    }

    /// Read shares for those added, taken back from those removed (never the owner's).
    static func share(_ record: Record, added: [String], removed: [String], context: HookContext) async throws {
        let owner = record.ownerID?.uuidString.lowercased()
        for id in added where id != owner {
            guard let user = UUID(uuidString: id) else { continue }
            try await context.engine.share(record.entity, id: record.id, RecordEngine.Share(kind: "user", granteeID: user, access: "read"),
                                           as: context.derivedActor, on: context.connection, logger: context.logger)
        }
        for id in removed where id != owner {
            guard let user = UUID(uuidString: id) else { continue }
            do {
                try await context.engine.unshare(record.entity, id: record.id, kind: "user", grantee: user, as: context.derivedActor,
                                                 on: context.connection, logger: context.logger)
            } catch AccessError.shareNotFound {
                // Someone removed the share by hand already.
            }
        }
    }

    /// The shares a change of `key` calls for.
    static func reshare(_ key: String, _ record: Record, previous: Record?, context: HookContext) async throws {
        let now = ids(record.values[key]), before = previous.map { ids($0.values[key]) } ?? []
        guard now != before else { return }
        try await share(record, added: now.filter { !before.contains($0) }, removed: before.filter { !now.contains($0) }, context: context)
    }
}

/// An activity's participants (参与人): colleagues who were there (`participant_ids`, each
/// gets a read share, so the follow-up shows in their scope and on the timeline they read) and
/// the customer's contacts (`contact_ids`, each a contact record the writer may read).
struct ActivityParticipants: RecordHooks {
    static let maxPeople = 50

    func beforeValidate(_ write: inout RecordWrite) async throws {
        try await PeopleList.check("participant_ids", &write, max: Self.maxPeople, tooMany: "participants_too_many", unknown: "attendee_unknown")
        guard let sent = write.values["contact_ids"], !sent.isNull, sent.stringValue != nil else { return }
        let ids = PeopleList.ids(sent)
        guard ids.count <= Self.maxPeople else {
            throw ActivitiesRules.invalid("contact_ids", "may name at most \(Self.maxPeople) contacts", key: "contacts_too_many", ["max": "\(Self.maxPeople)"])
        }
        var unique: [String] = []
        for id in ids where !unique.contains(id) {
            guard let uuid = UUID(uuidString: id), (try? await write.context.engine.get("contact", id: uuid, as: write.context.actor,
                                                                                     on: write.context.connection, logger: write.context.logger)) != nil else {
                throw ActivitiesRules.invalid("contact_ids", "names no contact you may read: \(id)", key: "contact_unknown", ["id": id])
            }
            unique.append(id)
        }
        write.values["contact_ids"] = unique.isEmpty ? .null : .string(unique.joined(separator: ","))
    }

    func afterCreate(_ record: Record, context: HookContext) async throws {
        try await PeopleList.reshare("participant_ids", record, previous: nil, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        try await PeopleList.reshare("participant_ids", record, previous: previous, context: context)
    }
}

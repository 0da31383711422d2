import Foundation
import Platform

/// A case put into a queue (created in one, or moved to another while nobody works it yet) is
/// assigned by the queue's rule: **round robin** gives it to the member after the one who got
/// the last case (members in the order they joined), **fewest open cases** to the member with
/// the fewest open cases in the tenant (ties: the order they joined). Either way the case
/// becomes the member's (owner, status assigned) and they are told. A **manual** queue, or one
/// without active members, leaves the case new and shares it (write) with the queue's members,
/// who take it from the queue page. The queue row is locked while choosing, so two cases
/// arriving at once go to two members.
struct CaseAssignment: RecordHooks {
    func afterCreate(_ record: Record, context: HookContext) async throws {
        guard record.string("queue") != nil else { return }
        try await assign(record, context: context)
    }

    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard let queue = record.string("queue"), queue != previous.string("queue"),
              ["new", "assigned"].contains(record.string("status") ?? "") else { return }
        try await assign(record, context: context)
    }

    struct Member: Sendable, Equatable {
        let user: UUID
        let joined: Date
        let id: UUID
    }

    /// Active members of a queue in the order they joined (one entry per user).
    static func members(of queueID: String, store: ModuleStore) async throws -> [Member] {
        let rows = try await store.all("service_queue_member", filter: ModuleStore.eq("queue", queueID))
        var seen = Set<UUID>()
        return rows.filter { $0.values["active"] != .bool(false) }
            .compactMap { row in row.string("member").flatMap(UUID.init(uuidString:)).map { Member(user: $0, joined: row.createdAt, id: row.id) } }
            .sorted { ($0.joined, $0.id.uuidString) < ($1.joined, $1.id.uuidString) }
            .filter { seen.insert($0.user).inserted }
    }

    /// Open cases per owner among `users` (the case being assigned not counted).
    static func openCases(of users: [UUID], excluding caseRecord: Record, store: ModuleStore) async throws -> [UUID: Int] {
        let rows = try await store.aggregate("service_case", RecordAggregate(groups: [.owner], filter: ModuleStore.op(
            "status", "in", .array(ServiceEntities.openStatuses.map(JSONValue.string)))))
        var counts: [UUID: Int] = [:]
        for row in rows {
            if let key = row.keys.first ?? nil, let user = UUID(uuidString: key) { counts[user] = row.count }
        }
        if let owner = caseRecord.ownerID, ServiceEntities.openStatuses.contains(caseRecord.string("status") ?? "") {
            counts[owner] = max(0, (counts[owner] ?? 0) - 1)
        }
        return Dictionary(uniqueKeysWithValues: users.map { ($0, counts[$0] ?? 0) })
    }

    /// The member a rule picks: pure, so the order is testable on its own.
    static func pick(rule: String, members: [UUID], last: UUID?, open: [UUID: Int]) -> UUID? {
        guard !members.isEmpty else { return nil }
        switch rule {
        case "round_robin":
            guard let last, let index = members.firstIndex(of: last) else { return members[0] }
            return members[(index + 1) % members.count]
        case "least_open":
            return members.min { (open[$0] ?? 0, members.firstIndex(of: $0)!) < (open[$1] ?? 0, members.firstIndex(of: $1)!) }
        default:
            return nil
        }
    }

    func assign(_ record: Record, context: HookContext) async throws {
        let store = ModuleStore(derived: context)
        guard let queueID = record.string("queue"), let queue = try await store.get("service_queue", queueID) else { return }
        try await store.lock("service_queue", queue.id)
        guard let locked = try await store.get("service_queue", queueID) else { return }
        let members = try await Self.members(of: queueID, store: store)
        let rule = locked.values["active"] == .bool(false) ? "manual" : (locked.string("rule") ?? "manual")
        let users = members.map(\.user)
        let open = rule == "least_open" ? try await Self.openCases(of: users, excluding: record, store: store) : [:]
        let last = locked.string("last_assigned").flatMap(UUID.init(uuidString:))
        guard let chosen = Self.pick(rule: rule, members: users, last: last, open: open) else {
            for user in users where user != record.ownerID {
                try await context.engine.share("service_case", id: record.id, RecordEngine.Share(kind: "user", granteeID: user, access: "write"),
                                               as: context.derivedActor, on: context.connection, logger: context.logger)
            }
            return
        }
        guard let current = try await store.get("service_case", record.id.uuidString) else { return }
        var values: [String: JSONValue] = ["owner_id": .string(chosen.uuidString.lowercased())]
        if current.string("status") == "new" { values["status"] = .string("assigned") }
        try await store.update(current, values)
        try await store.update(locked, ["last_assigned": .string(chosen.uuidString.lowercased())])
        if chosen != context.user.id {
            try await Notifications.notify([chosen], of: NotificationEvent(kind: "service.case_assigned", entity: "service_case", recordID: record.id,
                                                                           actor: context.user.id, arguments: ["record": record.string("subject") ?? ""]),
                                           on: context.connection, logger: context.logger)
        }
    }
}

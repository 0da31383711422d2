import Foundation
import Platform

/// Who a knowledge record is for — everyone, a department and every department below it, or
/// chosen roles — read from three fields of a record (a category's `readers`,
/// `reader_department`, `reader_roles`; an announcement's `audience`, `target_department`,
/// `target_roles`), and turned into the record shares the engine enforces (``shares(store:)``)
/// or into the people it reaches (``reaches(_:departments:)``, for read receipts).
struct Audience: Sendable, Equatable {
    var mode: String
    var department: UUID?
    var roleKeys: Set<String>

    static let categoryFields = (mode: "readers", department: "reader_department", roles: "reader_roles")
    static let announcementFields = (mode: "audience", department: "target_department", roles: "target_roles")

    init(_ record: Record?, fields: (mode: String, department: String, roles: String)) {
        mode = record?.string(fields.mode) ?? "everyone"
        department = record?.string(fields.department).flatMap(UUID.init(uuidString:))
        roleKeys = Set(record?.values[fields.roles]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The department and every department below it.
    func departmentTree(_ departments: [OrganisationAdmin.Department]) -> Set<UUID> {
        guard let department else { return [] }
        var reached: Set<UUID> = [department]
        var grew = true
        while grew {
            let below = departments.filter { candidate in
                candidate.parentID.map { reached.contains($0) } ?? false && !reached.contains(candidate.id)
            }.map(\.id)
            grew = !below.isEmpty
            reached.formUnion(below)
        }
        return reached
    }

    /// The read shares that open a record to this audience.
    func shares(store: ModuleStore) async throws -> [RecordEngine.Share] {
        let organisation = OrganisationAdmin()
        switch mode {
        case "departments":
            let tree = departmentTree(try await organisation.departments(on: store.connection, logger: store.logger))
            return tree.sorted { $0.uuidString < $1.uuidString }.map { RecordEngine.Share(kind: "department", granteeID: $0, access: "read") }
        case "roles":
            return try await organisation.roles(on: store.connection, logger: store.logger).filter { roleKeys.contains($0.key) }
                .map { RecordEngine.Share(kind: "role", granteeID: $0.id, access: "read") }
        default:
            return try await organisation.roles(on: store.connection, logger: store.logger)
                .map { RecordEngine.Share(kind: "role", granteeID: $0.id, access: "read") }
        }
    }

    /// Whether a member is in the audience (`tree`: ``departmentTree(_:)`` of the tenant's departments).
    func reaches(_ member: OrganisationAdmin.Member, tree: Set<UUID>) -> Bool {
        switch mode {
        case "departments": return member.departmentID.map { tree.contains($0) } ?? false
        case "roles": return !roleKeys.isDisjoint(with: member.roles)
        default: return true
        }
    }

    /// Makes the record's managed shares (department and role shares with read access) exactly
    /// `wanted`; shares to a person, and write shares, are someone's deliberate choice and stay.
    static func sync(_ record: Record, wanted: [RecordEngine.Share], store: ModuleStore) async throws {
        let derived = store.derived
        let current = try await derived.engine.shares(record.entity, id: record.id, as: derived.actor, on: derived.connection, logger: derived.logger)
        for share in current where share.kind != "user" && share.access == "read"
            && !wanted.contains(where: { $0.kind == share.kind && $0.granteeID == share.granteeID }) {
            try await derived.engine.unshare(record.entity, id: record.id, kind: share.kind, grantee: share.granteeID,
                                             as: derived.actor, on: derived.connection, logger: derived.logger)
        }
        for share in wanted where !current.contains(where: { $0.kind == share.kind && $0.granteeID == share.granteeID }) {
            try await derived.engine.share(record.entity, id: record.id, share, as: derived.actor, on: derived.connection, logger: derived.logger)
        }
    }
}

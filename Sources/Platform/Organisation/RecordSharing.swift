import Foundation
import Logging
import PostgresNIO

/// Who a share or a sharing rule opens records to: a user, a department or a role of the
/// caller's tenant (RLS hides other tenants' rows, so their ids are "not found").
enum Grantee {
    static func check(kind: String, id: UUID, access: String, idField: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard ["read", "write"].contains(access) else { throw AtriumError.validation(field: "access", "must be read or write") }
        let table: String
        switch kind {
        case "user": table = "users"
        case "department": table = "departments"
        case "role": table = "roles"
        default: throw AtriumError.validation(field: "kind", "must be user, department or role")
        }
        var binds = PostgresBindings()
        binds.append(id)
        let found = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table) WHERE id = $1", binds: binds), logger: logger)
            .collect().first?.decode(Int.self) ?? 0
        guard found == 1 else { throw AtriumError.validation(field: idField, "names no \(kind) of this tenant") }
    }
}

/// Explicit shares of one record to a user, a department or a role, with read or write access.
/// A share widens the "own" part of every scope (see ``AccessContext``); making one needs the
/// `share` action on the record.
extension RecordEngine {
    public struct Share: Sendable, Codable, Equatable {
        public var kind: String
        public var granteeID: UUID
        public var access: String
        enum CodingKeys: String, CodingKey { case kind, granteeID = "id", access }

        public init(kind: String, granteeID: UUID, access: String) {
            self.kind = kind
            self.granteeID = granteeID
            self.access = access
        }
    }

    public func shares(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> [Share] {
        let (entity, _) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        _ = try await fetch(entityKey, id: id, deleted: false, scope: (actor.access, entity, .read), on: connection, logger: logger)
        var result: [Share] = []
        for try await (kind, grantee, access) in try await connection.query(
            "SELECT grantee_kind, grantee_id, access FROM record_shares WHERE record_id = \(id) ORDER BY grantee_kind, grantee_id", logger: logger
        ).decode((String, UUID, String).self) {
            result.append(Share(kind: kind, granteeID: grantee, access: access))
        }
        return result
    }

    public func share(_ entityKey: String, id: UUID, _ share: Share, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let (entity, _) = try await entity(entityKey, for: .share, actor: actor, on: connection, logger: logger)
        let record = try await fetch(entityKey, id: id, deleted: false, scope: (actor.access, entity, .share), on: connection, logger: logger)
        try await Grantee.check(kind: share.kind, id: share.granteeID, access: share.access, idField: "id", on: connection, logger: logger)
        let tenantID = try await currentTenant(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access, created_by)
            VALUES (\(tenantID), \(id), \(share.kind), \(share.granteeID), \(share.access), \(actor.user.id))
            ON CONFLICT (tenant_id, record_id, grantee_kind, grantee_id) DO UPDATE SET access = EXCLUDED.access
            """, logger: logger)
        if share.kind == "user" {
            // Shares to a department or role reach many people; only a person named is told.
            try await Notifications.notify([share.granteeID], of: NotificationEvent(
                kind: "record.shared", entity: entityKey, recordID: id, actor: actor.user.id,
                arguments: ["record": entity.title(of: record, locale: "zh-CN") ?? "", "actor": actor.user.displayName, "access": share.access]),
                on: connection, logger: logger)
        }
        try await audit("record.shared", record: record,
                        changes: ["share": .object(["before": .null, "after": .string("\(share.kind):\(share.granteeID.uuidString.lowercased()):\(share.access)")])],
                        actor: actor, on: connection, logger: logger)
    }

    public func unshare(_ entityKey: String, id: UUID, kind: String, grantee: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let (entity, _) = try await entity(entityKey, for: .share, actor: actor, on: connection, logger: logger)
        let record = try await fetch(entityKey, id: id, deleted: false, scope: (actor.access, entity, .share), on: connection, logger: logger)
        let removed = try await connection.query("""
            DELETE FROM record_shares WHERE record_id = \(id) AND grantee_kind = \(kind) AND grantee_id = \(grantee) RETURNING 1
            """, logger: logger).collect().count
        guard removed == 1 else { throw AccessError.shareNotFound(nil) }
        try await audit("record.unshared", record: record,
                        changes: ["share": .object(["before": .string("\(kind):\(grantee.uuidString.lowercased())"), "after": .null])],
                        actor: actor, on: connection, logger: logger)
    }
}

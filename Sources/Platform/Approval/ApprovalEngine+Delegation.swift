import Foundation
import Logging
import PostgresNIO

/// Out-of-office delegation: who stands in for whom, and on which days.
extension ApprovalEngine {
    /// The user and everyone she stands in for today (their out-of-office delegate): whose
    /// tasks she may decide and sees in her inbox.
    public func principals(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        [user] + (try await ids(connection.query("""
            SELECT user_id FROM approval_delegations WHERE delegate_id = \(user) AND \(unescaped: Self.today) BETWEEN starts_on AND ends_on
            """, logger: logger)))
    }


    public struct Delegation: Sendable {
        public let id: UUID
        public let userID: UUID
        public let delegateID: UUID
        public let startsOn: String
        public let endsOn: String

        public var json: JSONValue {
            .object(["id": .string(id.uuidString.lowercased()), "user_id": .string(userID.uuidString.lowercased()),
                     "delegate_id": .string(delegateID.uuidString.lowercased()), "starts_on": .string(startsOn), "ends_on": .string(endsOn)])
        }
    }

    static func decodeDelegations(_ rows: PostgresRowSequence) async throws -> [Delegation] {
        var result: [Delegation] = []
        for try await (id, user, delegate, starts, ends) in rows.decode((UUID, UUID, UUID, String, String).self) {
            result.append(Delegation(id: id, userID: user, delegateID: delegate, startsOn: starts, endsOn: ends))
        }
        return result
    }

    /// The caller's delegations (given and received); administrators see all.
    public func delegations(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> [Delegation] {
        let me = actor.user.id
        return try await Self.decodeDelegations(connection.query("""
            SELECT id, user_id, delegate_id, starts_on::text, ends_on::text FROM approval_delegations
            WHERE \(actor.user.isAdmin) OR user_id = \(me) OR delegate_id = \(me) ORDER BY starts_on DESC, id
            """, logger: logger))
    }

    /// Out of office: `delegate` acts for `user` (the caller unless an administrator names
    /// someone) on every day from `startsOn` to `endsOn` inclusive.
    public func delegate(user: UUID?, to delegate: UUID, from startsOn: String, to endsOn: String, as actor: RecordEngine.Actor,
                         on connection: PostgresConnection, logger: Logger) async throws -> Delegation {
        let user = user ?? actor.user.id
        guard user == actor.user.id || actor.user.isAdmin else {
            throw ApprovalError.delegationForOthers
        }
        guard user != delegate else { throw AtriumError.validation(field: "delegate_id", "must be someone else") }
        for (field, value) in [("starts_on", startsOn), ("ends_on", endsOn)] {
            guard (try? FieldValidator.normalise(.string(value), for: FieldDefinition(key: field, labels: [:], type: .date))) != nil else {
                throw AtriumError.validation(field: field, "must be a date (YYYY-MM-DD)")
            }
        }
        guard endsOn >= startsOn else { throw AtriumError.validation(field: "ends_on", "must not be before starts_on") }
        for (field, id) in [("user_id", user), ("delegate_id", delegate)] {
            let found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(id) AND is_active", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AtriumError.validation(field: field, "names no active user of this tenant") }
        }
        let tenantID = try await records.currentTenant(on: connection, logger: logger)
        guard let created = try await Self.decodeDelegations(connection.query("""
            INSERT INTO approval_delegations (tenant_id, user_id, delegate_id, starts_on, ends_on, created_by)
            VALUES (\(tenantID), \(user), \(delegate), \(startsOn)::date, \(endsOn)::date, \(actor.user.id))
            RETURNING id, user_id, delegate_id, starts_on::text, ends_on::text
            """, logger: logger)).first else { throw MissingRow(file: #fileID, line: #line) }
        // What already waits for the user becomes readable to the delegate.
        let waiting = try await ids(connection.query("""
            SELECT DISTINCT i.record_id FROM approval_tasks t JOIN approval_instances i ON i.tenant_id = t.tenant_id AND i.id = t.instance_id
            WHERE t.approver_id = \(user) AND t.status IN ('pending', 'waiting')
            """, logger: logger))
        for record in waiting { try await shareRead(record, with: [delegate], delegates: false, by: actor.user.id, on: connection, logger: logger) }
        try await AuditLog.record(.init(action: "approval.delegated", actor: .user(actor.user), entity: "approval_delegation",
                                        recordID: created.id.uuidString.lowercased(),
                                        details: ["user": user.uuidString.lowercased(), "delegate": delegate.uuidString.lowercased(),
                                                  "starts_on": startsOn, "ends_on": endsOn],
                                        ip: actor.ip, requestID: actor.requestID), tenantID: tenantID, on: connection, logger: logger)
        return created
    }

    public func removeDelegation(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let removed = try await connection.query("""
            DELETE FROM approval_delegations WHERE id = \(id) AND (\(actor.user.isAdmin) OR user_id = \(actor.user.id)) RETURNING id
            """, logger: logger).collect().count
        guard removed == 1 else { throw ApprovalError.delegationNotFound(nil) }
        try await AuditLog.record(.init(action: "approval.delegation_removed", actor: .user(actor.user), entity: "approval_delegation",
                                        recordID: id.uuidString.lowercased(), ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await records.currentTenant(on: connection, logger: logger), on: connection, logger: logger)
    }
}

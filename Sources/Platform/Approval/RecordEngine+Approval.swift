import Foundation
import Logging
import PostgresNIO

extension RecordEngine {
    /// The entity's approval binding: the module's, or the `approval_status` convention.
    public func approvalBinding(for entity: EntityDefinition) -> ApprovalBinding? {
        if let binding = approvals[entity.key] { return binding }
        guard entity.field("approval_status") != nil else { return nil }
        return ApprovalBinding(entity: entity.key, statusField: "approval_status")
    }

    /// Whether the record satisfies a condition in the filter language (no condition: yes).
    func matches(_ condition: JSONValue?, record: Record, entity: EntityDefinition, entities: [String: EntityDefinition],
                 on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard let condition else { return true }
        var compiler = QueryCompiler(entity: entity, entities: entities)
        let tenantParam = compiler.bind(try await currentTenant(on: connection, logger: logger))
        compiler.tenantParam = tenantParam
        let idParam = compiler.bind(record.id)
        let clause = try compiler.condition(condition)
        let sql = "SELECT count(*)::int FROM records r WHERE r.tenant_id = \(tenantParam) AND r.id = \(idParam) AND \(clause)"
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: compiler.binds), logger: logger).collect().first?.decode(Int.self) ?? 0 > 0
    }

    /// User writes to a record under approval are refused: while pending (update and delete),
    /// and after approval (update and delete) or rejection (update). Derived and system writes
    /// (the approval engine, a module's payment action) pass.
    func checkApprovalLock(_ record: Record, deleting: Bool, actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        guard !actor.access.writesComputed, actor.access.userID != nil else { return }
        let rows = try await connection.query("""
            SELECT status FROM approval_instances WHERE record_id = \(record.id) ORDER BY submitted_at DESC, id DESC LIMIT 1
            """, logger: logger).collect()
        guard let text = try rows.first?.decode(String.self), let status = ApprovalState(rawValue: text) else { return }
        switch status {
        case .pending, .approved: break
        case .rejected where !deleting: break
        default: return
        }
        // Thrown in its wire form: the record engine's callers (the record form, the pipeline
        // board, the CSV import) catch `AtriumError` to show it inline.
        throw ApprovalError.locked(status).atriumError
    }
}

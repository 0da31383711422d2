import Foundation
import Logging
import PostgresNIO

/// What an approval action does to the record besides its own rows: read shares for approvers,
/// their delegates and CC recipients, the binding's status field, the record's audit trail.
extension ApprovalEngine {
    /// Read shares so approvers (and, with `delegates`, whoever stands in for them today) and CC
    /// recipients can open the record; an existing share is kept as it is.
    func shareRead(_ recordID: UUID, with users: [UUID], delegates: Bool, by creator: UUID, on connection: PostgresConnection,
                   logger: Logger) async throws {
        guard !users.isEmpty else { return }
        var everyone = users
        if delegates {
            everyone += try await ids(connection.query("""
                SELECT delegate_id FROM approval_delegations WHERE user_id = ANY(\(users)) AND \(unescaped: Self.today) BETWEEN starts_on AND ends_on
                """, logger: logger))
        }
        try await connection.query("""
            INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access, created_by)
            SELECT (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(recordID), 'user', u, 'read', \(creator)
            FROM unnest(\(Array(Set(everyone)))::uuid[]) AS u
            ON CONFLICT (tenant_id, record_id, grantee_kind, grantee_id) DO NOTHING
            """, logger: logger)
    }

    /// Writes the binding's status field as the engine (a derived write: allowed on a locked
    /// record, audited under the acting user).
    func setStatus(_ state: ApprovalState, entity: EntityDefinition, recordID: UUID, actor: RecordEngine.Actor,
                   on connection: PostgresConnection, logger: Logger) async throws {
        guard let binding = records.approvalBinding(for: entity), let field = binding.statusField,
              let value = binding.statuses[state] ?? (binding.statuses.isEmpty ? state.rawValue : nil) else { return }
        let record = try await records.fetch(entity.key, id: recordID, deleted: false, on: connection, logger: logger)
        guard record.values[field]?.stringValue != value else { return }
        _ = try await records.update(entity.key, id: recordID, values: [field: .string(value)], expectedVersion: record.version,
                                     as: actor.derived, on: connection, logger: logger)
    }

    func audit(_ action: String, entity: String, recordID: UUID, details: [String: String], actor: RecordEngine.Actor,
               on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: entity, recordID: recordID.uuidString.lowercased(),
                                        details: details, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await records.currentTenant(on: connection, logger: logger), on: connection, logger: logger)
    }
}

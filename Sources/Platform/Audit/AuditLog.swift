import Foundation
import Logging
import PostgresNIO

/// Who did what, written in the same transaction as the change it records.
///
/// ```swift
/// try await AuditLog.record(.init(action: "user.login", actor: .user(user)), on: conn, tenantID: id, logger: logger)
/// ```
public enum AuditLog {
    public enum Actor: Sendable {
        case user(AuthenticatedUser)
        /// Operator tooling (`atrium-admin`), named by what ran it.
        case system(String)

        var userID: UUID? {
            if case .user(let user) = self { return user.id }
            return nil
        }

        var label: String {
            switch self {
            case .user(let user): return user.email
            case .system(let name): return name
            }
        }
    }

    public struct Entry: Sendable {
        public var action: String
        public var actor: Actor
        public var entity: String?
        public var recordID: String?
        public var details: [String: String]
        public var ip: String?
        public var requestID: String?
        /// Field-level before/after: `{"field": {"before": …, "after": …}}`.
        public var changes: [String: JSONValue]

        public init(action: String, actor: Actor, entity: String? = nil, recordID: String? = nil, details: [String: String] = [:],
                    changes: [String: JSONValue] = [:], ip: String? = nil, requestID: String? = nil) {
            self.changes = changes
            self.action = action
            self.actor = actor
            self.entity = entity
            self.recordID = recordID
            self.details = details
            self.ip = ip
            self.requestID = requestID
        }
    }

    public static func record(_ entry: Entry, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        var object = entry.details.mapValues { JSONValue.string($0) }
        if !entry.changes.isEmpty { object["changes"] = .object(entry.changes) }
        let details = JSONValue.object(object).jsonText
        try await connection.query("""
            INSERT INTO audit_log (tenant_id, actor_user_id, actor, action, entity, record_id, details, ip, request_id)
            VALUES (\(tenantID), \(entry.actor.userID), \(entry.actor.label), \(entry.action), \(entry.entity),
                    \(entry.recordID), \(details)::jsonb, \(entry.ip), \(entry.requestID))
            """, logger: logger)
    }
}

extension AuditLog {
    /// An administrative act of `actor` (who, from where, in which request) in the tenant of the
    /// connection's transaction: a webhook registered, a robot changed, preferences saved.
    public static func record(_ action: String, by actor: RecordEngine.Actor, entity: String? = nil, id: UUID? = nil,
                              details: [String: String] = [:], on connection: PostgresConnection, logger: Logger) async throws {
        try await record(.init(action: action, actor: .user(actor.user), entity: entity, recordID: id?.uuidString.lowercased(), details: details,
                               ip: actor.ip, requestID: actor.requestID),
                         tenantID: try await TenantScope.current(on: connection, logger: logger), on: connection, logger: logger)
    }
}

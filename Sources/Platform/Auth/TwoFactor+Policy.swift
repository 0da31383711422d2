import Foundation
import Logging
import PostgresNIO

/// The tenant's two-factor requirement (nobody, everyone, or the members of some roles) and the
/// administrators' view of who has a second factor.
extension TwoFactor {
    /// Nobody, everyone, or the members of some roles must use two-factor sign-in.
    public struct Policy: Sendable, Equatable {
        public var requireAll: Bool
        public var roleKeys: [String]

        public init(requireAll: Bool, roleKeys: [String]) {
            self.requireAll = requireAll
            self.roleKeys = roleKeys
        }

        public var mode: String { requireAll ? "all" : roleKeys.isEmpty ? "none" : "roles" }

        public var json: JSONValue {
            .object(["require": .string(mode), "roles": .array(roleKeys.map(JSONValue.string))])
        }
    }

    public static func policy(on connection: PostgresConnection, logger: Logger) async throws -> Policy {
        let all = try await connection.query("SELECT require_all FROM tenant_two_factor_policy", logger: logger).collect().first?.decode(Bool.self) ?? false
        var keys: [String] = []
        for try await key in try await connection.query("""
            SELECT r.key FROM tenant_two_factor_roles t JOIN roles r ON r.tenant_id = t.tenant_id AND r.id = t.role_id ORDER BY r.key
            """, logger: logger).decode(String.self) {
            keys.append(key)
        }
        return Policy(requireAll: all, roleKeys: keys)
    }

    public static func isRequired(for userID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query("""
            SELECT coalesce((SELECT require_all FROM tenant_two_factor_policy), false)
                OR EXISTS (SELECT 1 FROM tenant_two_factor_roles t JOIN user_roles ur ON ur.tenant_id = t.tenant_id AND ur.role_id = t.role_id
                           WHERE ur.user_id = \(userID))
            """, logger: logger).one(Bool.self)
    }

    /// Saves the requirement. The administrator must have two-factor sign-in on before requiring
    /// it of a group they are in (else they would lock themselves out of this page); people it
    /// now applies to who have none are signed out, so they enrol at their next sign-in.
    /// Returns how many sessions ended.
    public static func setPolicy(_ policy: Policy, by actor: TwoFactorActor, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let tenantID = try await TenantScope.current(on: connection, logger: logger)
        var roleIDs: [UUID] = []
        for key in Set(policy.roleKeys).sorted() {
            guard let id = try await connection.query("SELECT id FROM roles WHERE key = \(key)", logger: logger).collect().first?.decode(UUID.self) else {
                throw AtriumError.validation(field: "roles", "'\(key)' names no role of this tenant")
            }
            roleIDs.append(id)
        }
        let before = try await self.policy(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO tenant_two_factor_policy (tenant_id, require_all, updated_by) VALUES (\(tenantID), \(policy.requireAll), \(actor.user.id))
            ON CONFLICT (tenant_id) DO UPDATE SET require_all = EXCLUDED.require_all, updated_by = EXCLUDED.updated_by, updated_at = now()
            """, logger: logger)
        try await connection.query("DELETE FROM tenant_two_factor_roles", logger: logger)
        for roleID in roleIDs {
            try await connection.query("INSERT INTO tenant_two_factor_roles (tenant_id, role_id) VALUES (\(tenantID), \(roleID))", logger: logger)
        }
        let mine = try await status(of: actor.user.id, on: connection, logger: logger)
        if mine.required && !mine.enabled {
            throw AtriumError(status: .unprocessableContent, code: "two_factor_yourself_first",
                              message: "require would lock you out: turn on two-factor sign-in for yourself first (your security page)", field: "require")
        }
        // Sessions of people now required to use a second factor they do not have.
        let ended = try await connection.query("""
            DELETE FROM sessions s
            WHERE NOT EXISTS (SELECT 1 FROM user_two_factor t WHERE t.tenant_id = s.tenant_id AND t.user_id = s.user_id AND t.enabled_at IS NOT NULL)
              AND (\(policy.requireAll) OR EXISTS (SELECT 1 FROM tenant_two_factor_roles r JOIN user_roles ur ON ur.tenant_id = r.tenant_id AND ur.role_id = r.role_id
                                                  WHERE ur.user_id = s.user_id))
            RETURNING 1
            """, logger: logger).collect().count
        let after = try await self.policy(on: connection, logger: logger)
        try await AuditLog.record(.init(action: "two_factor.policy_changed", actor: .user(actor.user), entity: "tenant", recordID: tenantID.uuidString.lowercased(),
                                        details: ["before": before.mode + (before.roleKeys.isEmpty ? "" : ":" + before.roleKeys.joined(separator: ",")),
                                                  "after": after.mode + (after.roleKeys.isEmpty ? "" : ":" + after.roleKeys.joined(separator: ",")),
                                                  "sessions_ended": "\(ended)"],
                                        ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
        return ended
    }

    /// Users of the tenant and whether each has two-factor sign-in on (the administrators' list).
    public static func userStates(on connection: PostgresConnection, logger: Logger) async throws -> [(id: UUID, email: String, name: String, enabled: Bool)] {
        var users: [(UUID, String, String, Bool)] = []
        for try await row in try await connection.query("""
            SELECT u.id, u.email, u.display_name, t.enabled_at IS NOT NULL
            FROM users u LEFT JOIN user_two_factor t ON t.tenant_id = u.tenant_id AND t.user_id = u.id
            WHERE u.is_active ORDER BY u.display_name, u.email
            """, logger: logger).decode((UUID, String, String, Bool).self) {
            users.append(row)
        }
        return users.map { (id: $0.0, email: $0.1, name: $0.2, enabled: $0.3) }
    }
}

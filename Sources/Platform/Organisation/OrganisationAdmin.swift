import Foundation
import Logging
import PostgresNIO

/// Tenant administrators' changes to the organisation: departments, roles, users' department,
/// manager and roles, and work handover. Record shares are made by users with `share` scope.
/// Every change runs in the caller's tenant transaction (RLS) and is audited there.
public struct OrganisationAdmin: Sendable {
    public init() {}

    static func audit(_ action: String, entity: String, id: UUID?, details: [String: String], actor: RecordEngine.Actor,
                      on connection: PostgresConnection, logger: Logger) async throws {
        let tenantID = try await currentTenant(connection, logger)
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: entity, recordID: id?.uuidString.lowercased(),
                                        details: details, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
    }

    static func currentTenant(_ connection: PostgresConnection, _ logger: Logger) async throws -> UUID {
        try await TenantScope.current(on: connection, logger: logger)
    }

    // MARK: Departments

    public struct Department: Sendable, Codable {
        public var id: UUID
        public var parentID: UUID?
        public var name: String
        /// The head (负责人), an approver kind of approval processes.
        public var headID: UUID?
        enum CodingKeys: String, CodingKey { case id, parentID = "parent_id", name, headID = "head_id" }
    }

    public func departments(on connection: PostgresConnection, logger: Logger) async throws -> [Department] {
        var result: [Department] = []
        for try await (id, parent, name, head) in try await connection.query(
            "SELECT id, parent_id, name, head_id FROM departments ORDER BY name, id", logger: logger
        ).decode((UUID, UUID?, String, UUID?).self) {
            result.append(Department(id: id, parentID: parent, name: name, headID: head))
        }
        return result
    }

    static func checkName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else { throw AtriumError.validation(field: "name", "must be 1 to 100 characters") }
        return trimmed
    }

    func requireDepartment(_ id: UUID, field: String, on connection: PostgresConnection, logger: Logger) async throws {
        let found = try await connection.query("SELECT count(*)::int FROM departments WHERE id = \(id)", logger: logger)
            .collect().first?.decode(Int.self) ?? 0
        if found == 0 { throw AtriumError.validation(field: field, "names no department of this tenant") }
    }

    public func createDepartment(name: String, parentID: UUID?, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Department {
        let name = try Self.checkName(name)
        if let parentID { try await requireDepartment(parentID, field: "parent_id", on: connection, logger: logger) }
        let tenantID = try await Self.currentTenant(connection, logger)
        let id = try await connection.query("""
            INSERT INTO departments (tenant_id, parent_id, name) VALUES (\(tenantID), \(parentID), \(name)) RETURNING id
            """, logger: logger).one(UUID.self)
        try await Self.audit("department.created", entity: "department", id: id, details: ["name": name, "parent_id": parentID?.uuidString.lowercased() ?? ""],
                             actor: actor, on: connection, logger: logger)
        return Department(id: id, parentID: parentID, name: name, headID: nil)
    }

    /// Renames or moves a department; moving it below itself or its own descendants is refused.
    public func changeDepartment(_ id: UUID, name: String?, parentID: UUID??, headID: UUID?? = nil, as actor: RecordEngine.Actor,
                                 on connection: PostgresConnection, logger: Logger) async throws -> Department {
        guard var department = try await departments(on: connection, logger: logger).first(where: { $0.id == id }) else {
            throw AccessError.departmentNotFound(id.uuidString.lowercased())
        }
        if let name { department.name = try Self.checkName(name) }
        if let parentID {
            if let parent = parentID {
                try await requireDepartment(parent, field: "parent_id", on: connection, logger: logger)
                let below = try await connection.query("""
                    WITH RECURSIVE below (id) AS (SELECT \(id)::uuid UNION SELECT d.id FROM departments d JOIN below b ON d.parent_id = b.id)
                    SELECT count(*)::int FROM below WHERE id = \(parent)
                    """, logger: logger).collect().first?.decode(Int.self) ?? 0
                if below > 0 { throw AtriumError.validation(field: "parent_id", "would put the department below itself") }
            }
            department.parentID = parentID
        }
        if let headID {
            if let head = headID {
                let found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(head) AND is_active", logger: logger)
                    .collect().first?.decode(Int.self) ?? 0
                if found == 0 { throw AtriumError.validation(field: "head_id", "names no active user of this tenant") }
            }
            department.headID = headID
        }
        try await connection.query("""
            UPDATE departments SET name = \(department.name), parent_id = \(department.parentID), head_id = \(department.headID) WHERE id = \(id)
            """, logger: logger)
        try await Self.audit("department.changed", entity: "department", id: id,
                             details: ["name": department.name, "parent_id": department.parentID?.uuidString.lowercased() ?? "",
                                       "head_id": department.headID?.uuidString.lowercased() ?? ""],
                             actor: actor, on: connection, logger: logger)
        return department
    }

    public func deleteDepartment(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("""
            SELECT (SELECT count(*)::int FROM departments WHERE id = \(id)), (SELECT count(*)::int FROM departments WHERE parent_id = \(id)),
                   (SELECT count(*)::int FROM users WHERE department_id = \(id))
            """, logger: logger).one((Int, Int, Int).self)
        guard rows.0 == 1 else { throw AccessError.departmentNotFound(id.uuidString.lowercased()) }
        if rows.1 > 0 || rows.2 > 0 {
            throw AccessError.departmentInUse(subDepartments: rows.1, users: rows.2)
        }
        try await connection.query("UPDATE records SET department_id = NULL WHERE department_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM record_shares WHERE grantee_kind = 'department' AND grantee_id = \(id)", logger: logger)
        try await connection.query("DELETE FROM departments WHERE id = \(id)", logger: logger)
        try await Self.audit("department.deleted", entity: "department", id: id, details: [:], actor: actor, on: connection, logger: logger)
    }

    // MARK: Roles

    public struct Role: Sendable, Codable {
        public var id: UUID
        public var key: String
        public var labels: [String: String]
        public var grants: RoleGrants
        public var fieldRules: FieldRules
        public var isSystem: Bool
        enum CodingKeys: String, CodingKey { case id, key, labels, grants, fieldRules = "field_rules", isSystem = "system" }
    }

    public func roles(on connection: PostgresConnection, logger: Logger) async throws -> [Role] {
        var result: [Role] = []
        let decoder = JSONDecoder()
        for try await (id, key, labels, grants, rules, system) in try await connection.query(
            "SELECT id, key, labels::text, grants::text, field_rules::text, is_system FROM roles ORDER BY key", logger: logger
        ).decode((UUID, String, String, String, String, Bool).self) {
            result.append(Role(id: id, key: key, labels: try decoder.decode([String: String].self, from: Data(labels.utf8)),
                               grants: try decoder.decode(RoleGrants.self, from: Data(grants.utf8)),
                               fieldRules: try decoder.decode(FieldRules.self, from: Data(rules.utf8)), isSystem: system))
        }
        return result
    }

    /// What a role definition may contain: `grants` keys are entities, `module:<id>` or
    /// `custom`; actions are `RecordAction`s; scopes `DataScope`s (decoding checks those).
    public struct RoleInput: Sendable, Decodable {
        public var key: String?
        public var labels: [String: String]?
        public var grants: RoleGrants?
        public var fieldRules: FieldRules?
        enum CodingKeys: String, CodingKey { case key, labels, grants, fieldRules = "field_rules" }
    }

    static func checkGrants(_ grants: RoleGrants) throws {
        for (target, actions) in grants {
            guard target == "custom" || target.hasPrefix("module:") || target.range(of: "^[a-z][a-z0-9_]{0,42}$", options: .regularExpression) != nil else {
                throw AtriumError.validation(field: "grants", "'\(target)' is not an entity key, module:<id> or custom")
            }
            for action in actions.keys where RecordAction(rawValue: action) == nil {
                throw AtriumError.validation(field: "grants", "'\(action)' is not an action; use \(RecordAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
    }

    static func json(_ value: some Encodable) -> String { MetadataStore.encode(value) }

    public func createRole(_ input: RoleInput, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Role {
        guard let key = input.key, key.range(of: "^[a-z][a-z0-9_]{0,40}$", options: .regularExpression) != nil else {
            throw AtriumError.validation(field: "key", "must be lower-case letters, digits or underscores, starting with a letter")
        }
        guard let labels = input.labels, !labels.isEmpty else { throw AtriumError.validation(field: "labels", "needs at least one label") }
        let grants = input.grants ?? [:], rules = input.fieldRules ?? [:]
        try Self.checkGrants(grants)
        let tenantID = try await Self.currentTenant(connection, logger)
        let rows = try await connection.query("""
            INSERT INTO roles (tenant_id, key, labels, grants, field_rules) VALUES (\(tenantID), \(key), \(Self.json(labels))::jsonb,
                \(Self.json(grants))::jsonb, \(Self.json(rules))::jsonb)
            ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id
            """, logger: logger).collect()
        guard let id = try rows.first?.decode(UUID.self) else {
            throw AccessError.roleExists(key: key)
        }
        try await Self.audit("role.created", entity: "role", id: id, details: ["key": key, "grants": Self.json(grants), "field_rules": Self.json(rules)],
                             actor: actor, on: connection, logger: logger)
        return Role(id: id, key: key, labels: labels, grants: grants, fieldRules: rules, isSystem: false)
    }

    public func changeRole(_ id: UUID, _ input: RoleInput, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Role {
        guard var role = try await roles(on: connection, logger: logger).first(where: { $0.id == id }) else {
            throw AccessError.roleNotFound(id.uuidString.lowercased())
        }
        if let key = input.key, key != role.key { throw AtriumError.validation(field: "key", "cannot change; create a new role instead") }
        if let labels = input.labels { role.labels = labels }
        if let grants = input.grants { try Self.checkGrants(grants); role.grants = grants }
        if let rules = input.fieldRules { role.fieldRules = rules }
        try await connection.query("""
            UPDATE roles SET labels = \(Self.json(role.labels))::jsonb, grants = \(Self.json(role.grants))::jsonb,
                field_rules = \(Self.json(role.fieldRules))::jsonb, updated_at = now() WHERE id = \(id)
            """, logger: logger)
        try await Self.audit("role.changed", entity: "role", id: id, details: ["key": role.key, "grants": Self.json(role.grants), "field_rules": Self.json(role.fieldRules)],
                             actor: actor, on: connection, logger: logger)
        return role
    }

    public func deleteRole(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let rows = try await connection.query("DELETE FROM roles WHERE id = \(id) RETURNING key", logger: logger).collect()
        guard let key = try rows.first?.decode(String.self) else {
            throw AccessError.roleNotFound(id.uuidString.lowercased())
        }
        try await connection.query("DELETE FROM record_shares WHERE grantee_kind = 'role' AND grantee_id = \(id)", logger: logger)
        try await Self.audit("role.deleted", entity: "role", id: id, details: ["key": key], actor: actor, on: connection, logger: logger)
    }

    // MARK: Users

    public struct Member: Sendable, Codable {
        public var id: UUID
        public var email: String
        public var displayName: String
        public var active: Bool
        public var admin: Bool
        public var departmentID: UUID?
        public var managerID: UUID?
        public var roles: [String]
        /// Management-dimension values the user is limited to (nil: not limited).
        public var dimensionValues: [String]?
        /// Where SMS notifications go (digits, optionally with a leading +).
        public var mobile: String? = nil
        enum CodingKeys: String, CodingKey {
            case id, email, displayName = "display_name", active, admin, departmentID = "department_id", managerID = "manager_id", roles
            case dimensionValues = "dimension_values", mobile
        }
    }

    public func members(on connection: PostgresConnection, logger: Logger) async throws -> [Member] {
        var result: [Member] = []
        for try await (id, email, name, active, admin, department, manager, roles, dimension, mobile) in try await connection.query("""
            SELECT u.id, u.email, u.display_name, u.is_active, u.is_admin, u.department_id, u.manager_id,
                   coalesce((SELECT array_agg(r.key ORDER BY r.key) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}'),
                   u.dimension_values, u.mobile
            FROM users u ORDER BY u.email
            """, logger: logger).decode((UUID, String, String, Bool, Bool, UUID?, UUID?, [String], [String]?, String?).self) {
            result.append(Member(id: id, email: email, displayName: name, active: active, admin: admin, departmentID: department, managerID: manager,
                                 roles: roles, dimensionValues: dimension, mobile: mobile))
        }
        return result
    }

    public struct MemberChange: Sendable, Decodable {
        public var departmentID: UUID??
        public var managerID: UUID??
        public var roles: [String]?
        public var dimensionValues: [String]??
        /// A mobile number for SMS (spaces and dashes dropped); null clears.
        public var mobile: String??
        /// false deactivates the user (sessions and API tokens end); true reactivates.
        public var active: Bool?
        /// true signs the user out of every browser (API tokens stay).
        public var endSessions: Bool?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case departmentID = "department_id", managerID = "manager_id", roles, dimensionValues = "dimension_values", active
            case endSessions = "end_sessions", mobile
        }

        struct AnyKey: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            // A key this change does not know is refused, never silently ignored (a typo
            // such as "is_active" must not answer 200 and change nothing).
            let known = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
                throw AtriumError.validation(field: unknown, "is not something a user change sets (use \(known.sorted().joined(separator: ", ")))")
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            active = try c.decodeIfPresent(Bool.self, forKey: .active)
            endSessions = try c.decodeIfPresent(Bool.self, forKey: .endSessions)
            // Present-and-null clears; absent leaves unchanged.
            departmentID = c.contains(.departmentID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .departmentID)) : nil
            managerID = c.contains(.managerID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .managerID)) : nil
            roles = try c.decodeIfPresent([String].self, forKey: .roles)
            dimensionValues = c.contains(.dimensionValues) ? .some(try c.decodeIfPresent([String].self, forKey: .dimensionValues)) : nil
            mobile = c.contains(.mobile) ? .some(try c.decodeIfPresent(String.self, forKey: .mobile)) : nil
        }

        /// `+86 138-0013-8000` → `+8613800138000`; nil when it is not 6–20 digits.
        public static func mobileNumber(_ text: String) -> String? {
            let compact = text.filter { !" -()".contains($0) }
            return compact.range(of: #"^\+?[0-9]{6,20}$"#, options: .regularExpression) != nil ? compact : nil
        }
    }

    /// Sets a user's department, manager and roles (by key). Records keep their department
    /// (they follow the owner only when the owner changes or on handover).
    public func changeMember(_ id: UUID, _ change: MemberChange, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Member {
        guard try await members(on: connection, logger: logger).contains(where: { $0.id == id }) else {
            throw AccessError.userNotFound(id.uuidString.lowercased())
        }
        var details: [String: String] = [:]
        if let department = change.departmentID {
            if let department { try await requireDepartment(department, field: "department_id", on: connection, logger: logger) }
            try await connection.query("UPDATE users SET department_id = \(department), updated_at = now() WHERE id = \(id)", logger: logger)
            details["department_id"] = department?.uuidString.lowercased() ?? ""
        }
        if let manager = change.managerID {
            if let manager {
                guard manager != id else { throw AtriumError.validation(field: "manager_id", "a user cannot be their own manager") }
                guard try await members(on: connection, logger: logger).contains(where: { $0.id == manager }) else {
                    throw AtriumError.validation(field: "manager_id", "names no user of this tenant")
                }
            }
            try await connection.query("UPDATE users SET manager_id = \(manager), updated_at = now() WHERE id = \(id)", logger: logger)
            details["manager_id"] = manager?.uuidString.lowercased() ?? ""
        }
        if let keys = change.roles {
            let known = try await roles(on: connection, logger: logger)
            var ids: [UUID] = []
            for key in keys {
                guard let role = known.first(where: { $0.key == key }) else { throw AtriumError.validation(field: "roles", "'\(key)' is not a role of this tenant") }
                ids.append(role.id)
            }
            try await connection.query("DELETE FROM user_roles WHERE user_id = \(id)", logger: logger)
            let tenantID = try await Self.currentTenant(connection, logger)
            try await connection.query("""
                INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT \(tenantID), \(id), r FROM unnest(\(ids)::uuid[]) AS r ON CONFLICT DO NOTHING
                """, logger: logger)
            details["roles"] = keys.sorted().joined(separator: ",")
        }
        if let values = change.dimensionValues {
            try await setDimensionValues(id, values, as: actor, on: connection, logger: logger)
        }
        if let mobile = change.mobile {
            var number: String?
            if let mobile, !mobile.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let valid = MemberChange.mobileNumber(mobile) else {
                    throw AtriumError.validation(field: "mobile", "must be a phone number of 6 to 20 digits, optionally starting with +")
                }
                number = valid
            }
            try await connection.query("UPDATE users SET mobile = \(number), updated_at = now() WHERE id = \(id)", logger: logger)
            details["mobile"] = number.map(SMSChannel.masked) ?? ""
        }
        if let active = change.active {
            guard active || id != actor.user.id else {
                throw AtriumError.validation(field: "active", "you cannot deactivate yourself; another administrator can")
            }
            _ = try await Self.setActive(active, user: id, on: connection, logger: logger)
            details["active"] = "\(active)"
        }
        if change.endSessions == true {
            let ended = try await SessionStore.endAll(userID: id, on: connection, logger: logger)
            details["sessions_ended"] = "\(ended)"
        }
        try await Self.audit("user.changed", entity: "user", id: id, details: details, actor: actor, on: connection, logger: logger)
        return try await members(on: connection, logger: logger).first { $0.id == id }!
    }

    /// Activates or deactivates a user; deactivating also ends their sessions and revokes their
    /// API tokens at once. Returns false when no such user exists (the caller audits).
    static func setActive(_ active: Bool, user id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let changed = try await connection.query("UPDATE users SET is_active = \(active), updated_at = now() WHERE id = \(id) RETURNING 1", logger: logger)
            .collect().count
        guard changed == 1 else { return false }
        if !active {
            try await UserStore.endSessionsAndTokens(of: id, on: connection, logger: logger)
        }
        return true
    }

    // MARK: Handover

    public struct HandoverResult: Sendable, Codable {
        public var moved: [String: Int]
        public var deactivated: Bool
    }

    /// Work handover (工作移交): every record the leaver owns (of `entities`, or all) goes to
    /// `to` with its department, in one transaction with one audit entry per record and one
    /// summary; the leaver is deactivated and their sessions and API tokens end.
    public func handover(from leaver: UUID, to heir: UUID, entities: [String]?, deactivate: Bool, as actor: RecordEngine.Actor,
                         on connection: PostgresConnection, logger: Logger) async throws -> HandoverResult {
        let people = try await members(on: connection, logger: logger)
        guard people.contains(where: { $0.id == leaver }) else {
            throw AccessError.userNotFound(leaver.uuidString.lowercased())
        }
        guard let target = people.first(where: { $0.id == heir }), target.active else { throw AtriumError.validation(field: "to", "names no active user of this tenant") }
        guard heir != leaver else { throw AtriumError.validation(field: "to", "must be another user") }
        let filter = entities ?? []
        let tenantID = try await Self.currentTenant(connection, logger)
        var moved: [String: Int] = [:]
        var auditRows: [(String, UUID, Int)] = []
        for try await (entity, id, version) in try await connection.query("""
            UPDATE records SET owner_id = \(heir), department_id = (SELECT department_id FROM users WHERE id = \(heir)),
                updated_by = \(actor.user.id), updated_at = now(), version = version + 1
            WHERE owner_id = \(leaver) AND (cardinality(\(filter)::text[]) = 0 OR entity = ANY(\(filter)::text[]))
            RETURNING entity, id, version
            """, logger: logger).decode((String, UUID, Int).self) {
            moved[entity, default: 0] += 1
            auditRows.append((entity, id, version))
        }
        let change: [String: JSONValue] = ["owner_id": .object(["before": .string(leaver.uuidString.lowercased()), "after": .string(heir.uuidString.lowercased())])]
        for (entity, id, version) in auditRows {
            try await AuditLog.record(.init(action: "record.handed_over", actor: .user(actor.user), entity: entity, recordID: id.uuidString.lowercased(),
                                            details: ["version": "\(version)"], changes: change, ip: actor.ip, requestID: actor.requestID),
                                      tenantID: tenantID, on: connection, logger: logger)
        }
        if deactivate { _ = try await Self.setActive(false, user: leaver, on: connection, logger: logger) }
        var details = ["to": heir.uuidString.lowercased(), "deactivated": "\(deactivate)"]
        for (entity, count) in moved { details["moved." + entity] = "\(count)" }
        try await Self.audit("user.handover", entity: "user", id: leaver, details: details, actor: actor, on: connection, logger: logger)
        return HandoverResult(moved: moved, deactivated: deactivate)
    }
}

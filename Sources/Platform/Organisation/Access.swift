import Foundation
import Logging
import PostgresNIO

/// How much of an entity's records a role reaches for one action, from nothing to everything.
/// Ordered: with several roles the widest scope wins (grants add up, as in Odoo).
public enum DataScope: String, Sendable, Codable, CaseIterable, Comparable {
    case none
    case own
    case department
    case departmentTree = "department_tree"
    case all

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: DataScope, b: DataScope) -> Bool { a.rank < b.rank }
}

/// What a caller does with records; each has its own scope per role and entity.
public enum RecordAction: String, Sendable, Codable, CaseIterable {
    case read, create, update, delete, export, `import`, share, approve
}

/// A field rule of a role; with several roles the most permissive wins (editable by default).
public enum FieldAccess: String, Sendable, Codable, Comparable {
    case hidden
    case readOnly = "read_only"
    case editable

    var rank: Int { [.hidden, .readOnly, .editable].firstIndex(of: self)! }
    public static func < (a: FieldAccess, b: FieldAccess) -> Bool { a.rank < b.rank }
}

/// A role's rights, stored as JSON on `roles.grants`:
/// `{"module:sales": {"read": "department_tree", "create": "all"}, "x_project": {"read": "own"}, "custom": {…}}`.
/// An entity's rights come from its own key, else `module:<its module>` (module entities) or
/// `custom` (tenant custom objects); a missing entry is `none`.
public typealias RoleGrants = [String: [String: DataScope]]
/// `{"x_project": {"x_budget": "hidden"}}`
public typealias FieldRules = [String: [String: FieldAccess]]

/// The caller's access, computed once per request inside its tenant transaction: the scopes of
/// its roles, its department and the departments below, and its field rules. The engine turns
/// it into SQL predicates (``predicate(for:action:alias:binds:)``); no module checks rights.
public struct AccessContext: Sendable {
    /// Unrestricted: administrators (audited as such) and engine-internal work.
    public let unrestricted: Bool
    public let userID: UUID?
    public let departmentID: UUID?
    /// The user's department and every department below it.
    public let departmentTree: [UUID]
    public let roleIDs: [UUID]
    let grants: [RoleGrants]
    let fieldRules: [FieldRules]

    /// Engine-internal callers (hooks, provisioning, tests of the engine itself).
    public static let system = AccessContext(unrestricted: true, userID: nil, departmentID: nil, departmentTree: [], roleIDs: [], grants: [], fieldRules: [])

    public init(unrestricted: Bool, userID: UUID?, departmentID: UUID?, departmentTree: [UUID], roleIDs: [UUID],
                grants: [RoleGrants], fieldRules: [FieldRules]) {
        self.unrestricted = unrestricted
        self.userID = userID
        self.departmentID = departmentID
        self.departmentTree = departmentTree
        self.roleIDs = roleIDs
        self.grants = grants
        self.fieldRules = fieldRules
    }

    /// Loads a signed-in user's access (3 small queries; administrators need none).
    public static func load(for user: AuthenticatedUser, on connection: PostgresConnection, logger: Logger) async throws -> AccessContext {
        if user.isAdmin {
            return AccessContext(unrestricted: true, userID: user.id, departmentID: nil, departmentTree: [], roleIDs: [], grants: [], fieldRules: [])
        }
        let department = try await connection.query("SELECT department_id FROM users WHERE id = \(user.id)", logger: logger)
            .collect().first?.decode(UUID?.self) ?? nil
        var tree: [UUID] = []
        if let department {
            for try await id in try await connection.query("""
                WITH RECURSIVE below (id) AS (
                    SELECT id FROM departments WHERE id = \(department)
                    UNION SELECT d.id FROM departments d JOIN below b ON d.parent_id = b.id)
                SELECT id FROM below
                """, logger: logger).decode(UUID.self) {
                tree.append(id)
            }
        }
        var roleIDs: [UUID] = [], grants: [RoleGrants] = [], rules: [FieldRules] = []
        let decoder = JSONDecoder()
        for try await (id, grantText, ruleText) in try await connection.query("""
            SELECT r.id, r.grants::text, r.field_rules::text FROM user_roles ur JOIN roles r ON r.id = ur.role_id
            WHERE ur.user_id = \(user.id) ORDER BY r.key
            """, logger: logger).decode((UUID, String, String).self) {
            roleIDs.append(id)
            grants.append(try decoder.decode(RoleGrants.self, from: Data(grantText.utf8)))
            rules.append(try decoder.decode(FieldRules.self, from: Data(ruleText.utf8)))
        }
        return AccessContext(unrestricted: false, userID: user.id, departmentID: department, departmentTree: tree,
                             roleIDs: roleIDs, grants: grants, fieldRules: rules)
    }

    /// The widest scope any of the caller's roles gives for `action` on `entity`.
    public func scope(_ entity: EntityDefinition, _ action: RecordAction) -> DataScope {
        if unrestricted { return .all }
        let fallback = entity.isCustom ? "custom" : entity.module.map { "module:\($0)" }
        var best = DataScope.none
        for role in grants {
            if let scope = role[entity.key]?[action.rawValue] ?? fallback.flatMap({ role[$0]?[action.rawValue] }), scope > best {
                best = scope
            }
        }
        return best
    }

    /// Whether the caller may see the entity at all (read scope above none).
    public func canSee(_ entity: EntityDefinition) -> Bool { scope(entity, .read) > .none }

    /// The caller's rule for a field; unrestricted callers and fields without rules are editable.
    public func fieldAccess(_ entity: EntityDefinition, _ field: String) -> FieldAccess {
        if unrestricted || fieldRules.isEmpty { return .editable }
        var best = FieldAccess.hidden
        for role in fieldRules {
            let rule = role[entity.key]?[field] ?? .editable
            if rule > best { best = rule }
        }
        return best
    }

    /// The entity as this caller may see it: hidden fields removed (so filters, sorts, metadata
    /// and responses behave as if they did not exist).
    public func visible(_ entity: EntityDefinition) -> EntityDefinition {
        if unrestricted || fieldRules.isEmpty { return entity }
        var copy = entity
        copy.fields.removeAll { fieldAccess(entity, $0.key) == .hidden }
        let fieldsLeft = copy
        copy.listColumns.removeAll { fieldsLeft.field($0) == nil && SystemField(rawValue: $0) == nil }
        let sortKeys = entity.defaultSort.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { key in let bare = key.hasPrefix("-") ? String(key.dropFirst()) : key
                return fieldsLeft.field(bare) != nil || SystemField(rawValue: bare) != nil }
        copy.defaultSort = sortKeys.isEmpty ? "-created_at" : sortKeys.joined(separator: ",")
        return copy
    }

    /// A stored or default layout as this caller may see it: fields hidden from the caller are
    /// left out, and fields the caller may only read are marked `readOnly`.
    public func visibleLayout(_ layout: JSONValue, of entity: EntityDefinition) -> JSONValue {
        if unrestricted || fieldRules.isEmpty { return layout }
        guard case .object(var object) = layout else { return layout }
        func shown(_ key: String) -> Bool { SystemField(rawValue: key) != nil || fieldAccess(entity, key) != .hidden }
        if case .array(let columns)? = object["columns"] {
            object["columns"] = .array(columns.filter { $0.stringValue.map(shown) ?? true })
        }
        if case .array(let sections)? = object["sections"] {
            object["sections"] = .array(sections.map { section in
                guard case .object(var sectionObject) = section, case .array(let fields)? = sectionObject["fields"] else { return section }
                sectionObject["fields"] = .array(fields.compactMap { item in
                    guard case .object(var entry) = item, let key = entry["field"]?.stringValue else { return item }
                    guard shown(key) else { return nil }
                    if SystemField(rawValue: key) == nil && fieldAccess(entity, key) == .readOnly { entry["readOnly"] = .bool(true) }
                    return .object(entry)
                })
                return .object(sectionObject)
            })
        }
        if let sort = object["sort"]?.stringValue {
            let bare = sort.hasPrefix("-") ? String(sort.dropFirst()) : sort
            if !shown(bare) { object["sort"] = .string("-created_at") }
        }
        return .object(object)
    }

    /// Drops the values of hidden fields from a record the caller receives.
    public func redact(_ record: Record, entity: EntityDefinition) -> Record {
        if unrestricted || fieldRules.isEmpty { return record }
        var copy = record
        for key in record.values.keys where fieldAccess(entity, key) == .hidden { copy.values[key] = nil }
        return copy
    }

    /// SQL that is true for the records of `alias` the caller reaches with `action`, binding
    /// the ids as parameters (arrays, never inlined). `nil` means every record (scope all).
    /// Own = owner, or shared with the caller, its department or one of its roles (for
    /// update/delete only shares with write access count).
    func predicate(for entity: EntityDefinition, action: RecordAction, alias: String, binds: inout PostgresBindings) throws -> String? {
        let scope = self.scope(entity, action)
        switch scope {
        case .all: return nil
        case .none: return "false"
        default: break
        }
        func bind(_ value: some PostgresEncodable & Sendable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        guard let userID else { return "false" }
        let me = try bind(userID)
        let writeOnly = action == .read || action == .export ? "" : " AND sh.access = 'write'"
        var sharedTo = ["(sh.grantee_kind = 'user' AND sh.grantee_id = \(me))"]
        if let departmentID { sharedTo.append("(sh.grantee_kind = 'department' AND sh.grantee_id = \(try bind(departmentID)))") }
        if !roleIDs.isEmpty { sharedTo.append("(sh.grantee_kind = 'role' AND sh.grantee_id = ANY(\(try bind(roleIDs))))") }
        var reach = ["\(alias).owner_id = \(me)",
                     "EXISTS (SELECT 1 FROM record_shares sh WHERE sh.tenant_id = \(alias).tenant_id AND sh.record_id = \(alias).id\(writeOnly) "
                        + "AND (" + sharedTo.joined(separator: " OR ") + "))"]
        switch scope {
        case .department:
            if let departmentID { reach.append("\(alias).department_id = \(try bind(departmentID))") }
        case .departmentTree:
            if !departmentTree.isEmpty { reach.append("\(alias).department_id = ANY(\(try bind(departmentTree)))") }
        default:
            break
        }
        return "(" + reach.joined(separator: " OR ") + ")"
    }
}

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
    /// Departments whose records sharing rules open to the caller: entity → access → ids
    /// (sub-departments already expanded).
    public let ruleReach: [String: [String: [UUID]]]
    /// The tenant's management dimension (a field key), if it has one.
    public let dimensionField: String?
    /// The dimension values the caller is limited to; nil = not limited.
    public let dimensionValues: [String]?
    /// The active pools (公海) the caller belongs to, by entity: the tenant's and those of their
    /// department or a department above it. Their records are readable when asked for.
    public let pools: [String: [UUID]]

    /// Engine-internal callers (hooks, provisioning, tests of the engine itself).
    public static let system = AccessContext(unrestricted: true, userID: nil, departmentID: nil, departmentTree: [], roleIDs: [], grants: [], fieldRules: [])

    /// Module rules writing what they compute (totals, probabilities): unrestricted and allowed
    /// to set computed fields.
    public static let derived: AccessContext = {
        var access = system
        access.writesComputed = true
        return access
    }()

    /// Whether this caller may set computed fields (only ``derived``).
    public private(set) var writesComputed = false

    public init(unrestricted: Bool, userID: UUID?, departmentID: UUID?, departmentTree: [UUID], roleIDs: [UUID],
                grants: [RoleGrants], fieldRules: [FieldRules], ruleReach: [String: [String: [UUID]]] = [:],
                dimensionField: String? = nil, dimensionValues: [String]? = nil, pools: [String: [UUID]] = [:]) {
        self.unrestricted = unrestricted
        self.userID = userID
        self.departmentID = departmentID
        self.departmentTree = departmentTree
        self.roleIDs = roleIDs
        self.grants = grants
        self.fieldRules = fieldRules
        self.ruleReach = ruleReach
        self.dimensionField = dimensionField
        self.dimensionValues = dimensionValues
        self.pools = pools
    }

    /// Loads a signed-in user's access (3 small queries; administrators need none).
    public static func load(for user: AuthenticatedUser, cache: AccessCache? = nil, on connection: PostgresConnection,
                            logger: Logger) async throws -> AccessContext {
        if user.isAdmin {
            return AccessContext(unrestricted: true, userID: user.id, departmentID: nil, departmentTree: [], roleIDs: [], grants: [], fieldRules: [])
        }
        guard let cache else { return try await compute(for: user, on: connection, logger: logger) }
        // Reused until the tenant's organisation stamp changes (users, departments, roles,
        // sharing rules, the dimension), on whichever node the change was made.
        let versions = try await TenantVersions.forOrganisation(on: connection, logger: logger)
        return try await cache.value(for: AccessCacheKey(tenantID: versions.tenantID, userID: user.id), version: versions.organisation) {
            try await compute(for: user, on: connection, logger: logger)
        }
    }

    private static func compute(for user: AuthenticatedUser, on connection: PostgresConnection, logger: Logger) async throws -> AccessContext {
        let (department, dimensionValues) = try await connection.query("""
            SELECT department_id, dimension_values FROM users WHERE id = \(user.id)
            """, logger: logger).collect().first?.decode((UUID?, [String]?).self) ?? (nil, nil)
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
        // Sharing rules naming the caller, its department or one of its roles, with the
        // departments they open expanded below when the rule includes sub-departments.
        var reach: [String: [String: [UUID]]] = [:]
        for try await (entity, access, ids) in try await connection.query("""
            WITH RECURSIVE matched AS (
                SELECT entity, access, department_id AS id, include_sub FROM sharing_rules
                WHERE (grantee_kind = 'user' AND grantee_id = \(user.id))
                   OR (grantee_kind = 'department' AND grantee_id = \(department))
                   OR (grantee_kind = 'role' AND grantee_id = ANY(\(roleIDs)::uuid[]))
            ), opened (entity, access, id, include_sub) AS (
                SELECT entity, access, id, include_sub FROM matched
                UNION SELECT o.entity, o.access, d.id, o.include_sub FROM opened o JOIN departments d ON d.parent_id = o.id WHERE o.include_sub
            )
            SELECT entity, access, array_agg(DISTINCT id) FROM opened GROUP BY entity, access
            """, logger: logger).decode((String, String, [UUID]).self) {
            reach[entity, default: [:]][access] = ids
        }
        let dimensionField = try await connection.query("SELECT field_key FROM tenant_dimension", logger: logger)
            .collect().first?.decode(String.self)
        // Pools of the whole tenant and of the caller's department or any department above it.
        var pools: [String: [UUID]] = [:]
        for try await (entity, ids) in try await connection.query("""
            WITH RECURSIVE above (id) AS (
                SELECT id FROM departments WHERE id = \(department)
                UNION SELECT d.parent_id FROM departments d JOIN above a ON d.id = a.id WHERE d.parent_id IS NOT NULL)
            SELECT entity, array_agg(id ORDER BY id) FROM record_pools
            WHERE active AND (department_id IS NULL OR department_id IN (SELECT id FROM above)) GROUP BY entity
            """, logger: logger).decode((String, [UUID]).self) {
            pools[entity] = ids
        }
        return AccessContext(unrestricted: false, userID: user.id, departmentID: department, departmentTree: tree,
                             roleIDs: roleIDs, grants: grants, fieldRules: rules, ruleReach: reach,
                             dimensionField: dimensionField, dimensionValues: dimensionField == nil ? nil : dimensionValues, pools: pools)
    }

    /// The dimension values the caller is limited to on `entity`, or nil when the tenant has no
    /// dimension, the caller is not limited, or the entity has no field for it.
    public func dimensionLimit(_ entity: EntityDefinition) -> (field: String, values: [String])? {
        guard !unrestricted, let dimensionField, let dimensionValues, entity.field(dimensionField)?.active == true else { return nil }
        return (dimensionField, dimensionValues)
    }

    /// A write by a dimension-limited caller keeps the record inside the caller's values: an
    /// empty value on create takes the caller's only value; another value is refused (403).
    func checkDimension(_ values: inout [String: JSONValue], entity: EntityDefinition, isCreate: Bool) throws {
        guard let (field, allowed) = dimensionLimit(entity) else { return }
        let given = values[field]
        if !isCreate && given == nil { return }
        if given == nil || given == .null || given == .string("") {
            if isCreate, allowed.count == 1, let only = allowed.first { values[field] = .string(only); return }
            // Thrown in their wire form: the record engine's callers (the record form, the CSV
            // import) catch `AtriumError` to show them inline.
            throw AccessError.dimensionRequired(field: field, allowed: allowed).atriumError
        }
        guard case .string(let text)? = given, allowed.contains(text) else {
            throw AccessError.dimensionDenied(field: field, allowed: allowed).atriumError
        }
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
        if entity.publicRead && action == .read && best > .none { return .all }
        return best
    }

    /// Whether the caller may see the entity at all (read scope above none).
    public func canSee(_ entity: EntityDefinition) -> Bool { scope(entity, .read) > .none }

    /// Whether a module shows in the caller's menu: it can read one of the module's entities
    /// (or, for a module without entities, one of its roles grants the module any read).
    public func canSee(module manifest: ModuleManifest) -> Bool {
        if unrestricted { return true }
        if manifest.entities.isEmpty {
            return grants.contains { ($0["module:\(manifest.id)"]?[RecordAction.read.rawValue] ?? .none) > .none }
        }
        return manifest.entities.contains { entity in
            var tagged = entity
            tagged.module = manifest.id  // manifests declare entities untagged; grants go by module
            return canSee(tagged)
        }
    }

    /// The caller's rule for a field; unrestricted callers and fields without rules are editable.
    /// Computed fields (totals, probabilities a module's rules set) are read-only for every
    /// caller except the engine's own derived writes (``derived``).
    public func fieldAccess(_ entity: EntityDefinition, _ field: String) -> FieldAccess {
        let rule = ruleAccess(entity, field)
        if !writesComputed, rule == .editable, entity.field(field)?.computed == true { return .readOnly }
        return rule
    }

    func ruleAccess(_ entity: EntityDefinition, _ field: String) -> FieldAccess {
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
    /// A management dimension, when the caller is limited, is intersected with the scope:
    /// `(scope) AND data->>dimension = ANY(values)`.
    /// With `pools`, reading also reaches the records waiting in the caller's pools (a pool's
    /// list, a pool record's page, claiming); ordinary lists leave them out.
    func predicate(for entity: EntityDefinition, action: RecordAction, alias: String, pools: Bool = false,
                   binds: inout PostgresBindings) throws -> String? {
        let scope = self.scope(entity, action)
        if scope == .none { return "false" }
        func bind(_ value: some PostgresEncodable & Sendable) throws -> String {
            try binds.append(value)
            return "$\(binds.count)"
        }
        var dimension: String?
        if let (field, values) = dimensionLimit(entity) {
            // Field keys are validated identifiers ([a-z][a-z0-9_]*).
            dimension = "(\(alias).data->>'\(field)') = ANY(\(try bind(values))::text[])"
        }
        guard scope != .all else { return dimension }
        guard var reach = try scopePredicate(scope, entity: entity, action: action, alias: alias, binds: &binds) else { return dimension }
        if pools, action == .read, let ids = self.pools[entity.key], !ids.isEmpty {
            reach = "(\(reach) OR \(alias).pool_id = ANY(\(try bind(ids))::uuid[]))"
        }
        return dimension.map { "(\(reach) AND \($0))" } ?? reach
    }

    private func scopePredicate(_ scope: DataScope, entity: EntityDefinition, action: RecordAction, alias: String,
                                binds: inout PostgresBindings) throws -> String? {
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
        // The shares as an uncorrelated array (computed once per statement; RLS keeps it to the
        // tenant), not a correlated EXISTS: every branch is then an equality on an indexed column, so the planner can
        // combine the owner, department and id indexes (a BitmapOr) instead of filtering
        // every row of the entity — the own scope on 100 000 records was the slowest list.
        var reach = ["\(alias).owner_id = \(me)",
                     "\(alias).id = ANY(ARRAY(SELECT sh.record_id FROM record_shares sh WHERE (" + sharedTo.joined(separator: " OR ") + ")\(writeOnly)))"]
        switch scope {
        case .department:
            if let departmentID { reach.append("\(alias).department_id = \(try bind(departmentID))") }
        case .departmentTree:
            if !departmentTree.isEmpty { reach.append("\(alias).department_id = ANY(\(try bind(departmentTree)))") }
        default:
            break
        }
        // Sharing rules: records owned in the departments they open (write rules only for
        // changes).
        let rules = ruleReach[entity.key] ?? [:]
        let opened = Array(Set((rules["write"] ?? []) + (writeOnly.isEmpty ? rules["read"] ?? [] : [])))
        if !opened.isEmpty { reach.append("\(alias).department_id = ANY(\(try bind(opened.sorted { $0.uuidString < $1.uuidString })))") }
        return "(" + reach.joined(separator: " OR ") + ")"
    }
}

/// A user's access context cached by the tenant's organisation stamp (``TenantVersions``).
public typealias AccessCache = VersionedCache<AccessCacheKey, AccessContext>

public struct AccessCacheKey: Hashable, Sendable {
    public let tenantID: UUID
    public let userID: UUID
}

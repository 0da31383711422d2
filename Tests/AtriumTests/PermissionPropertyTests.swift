import Foundation
import Logging
@testable import Platform
import PostgresNIO
import Testing

/// Data scopes as a property: random organisations (department forests, users, roles with
/// random scopes per action, shares, sharing rules, a management dimension, records), then
/// thousands of random (user, action, filter)
/// checks comparing what the record engine returns with a plain-Swift reference evaluator of
/// the documented semantics. Every round runs in one tenant transaction that is rolled back.
///
/// Semantics the reference implements (``AccessContext``):
/// - administrators reach everything;
/// - a role's scope for an action on `x_prop` is its `x_prop` entry, else its `custom` entry,
///   else none; with several roles the widest wins;
/// - own = owner, or a share to the user / the user's department / one of its roles (for
///   update and delete only write shares count); department = own or the record's department
///   is the user's; department_tree = own or the record's department is the user's or below;
/// - sharing rules (``OrganisationAdmin/SharingRule``) widen own, department and
///   department_tree (never none; all needs no widening): a record whose department is the
///   rule's department (or, with include_sub, one below it) is reached when the rule names the
///   user, the user's own department or one of its roles; read rules count for read only, write
///   rules for every action; rules of another entity do nothing;
/// - the management dimension: when the tenant's dimension field is a field of `x_prop`, a
///   non-admin user with dimension values reaches (with every scope, all included) only records
///   whose value is one of them — a missing or null value is never one; users without values,
///   administrators, and tenants without a dimension (or with one `x_prop` lacks) are unlimited;
/// - read scope none → 404 entity_not_found; action scope none → 403 no_permission;
/// - lookup filters only match targets in the caller's read scope.
///
/// Rounds run two at a time, each in its own tenant (`tenant_dimension` has one row per tenant,
/// so two uncommitted rounds in one tenant would wait on each other).
@Suite struct PermissionPropertyTests {
    /// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same sequence everywhere.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// A version-4 UUID from the generator, so a seed reproduces a whole round.
        mutating func uuid() -> UUID {
            var bytes = withUnsafeBytes(of: (next(), next())) { Array($0) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        }
    }

    static let entity = "x_prop"
    static let seed: UInt64 = 0x00A7_21C0_5EED_2026
    static let rounds = 5
    static let checksPerRound = 440
    static let tiers = ["a", "b", "c"]
    static let words = ["alpha", "beta", "Gamma", "delta", "50%_off", "epsilon"]
    /// The management dimension field of `x_prop` (a picklist with these options).
    static let dimensionField = "x_region"
    static let regions = ["North", "South", "East", "West"]
    /// A dimension field only `x_noise` has: set as the tenant's dimension, `x_prop` is unlimited.
    static let otherDimensionField = "x_zone"
    /// The tenant's dimension per round (round % 5): mostly `x_region`, sometimes none or one
    /// `x_prop` does not have. Users get values in every round either way.
    static let dimensionCycle: [String?] = [dimensionField, dimensionField, nil, dimensionField, otherDimensionField]
    static let actions: [RecordAction] = [.read, .update, .delete]

    // MARK: Model and reference evaluator

    struct Model: Sendable {
        struct Department: Sendable { let id: UUID; let parent: UUID? }
        struct Role: Sendable { let id: UUID; let key: String; let grants: RoleGrants }
        struct User: Sendable {
            let id: UUID; let email: String; let department: UUID?; let roles: [UUID]; let isAdmin: Bool
            /// `users.dimension_values`: nil = not limited.
            let dimensionValues: [String]?
        }
        struct Rec: Sendable {
            let id: UUID; let owner: UUID?; let department: UUID?; let deleted: Bool; let name: String; let tier: String; let ref: UUID?
            /// The `x_region` value; nil = missing from the data, or JSON null when `regionNull`.
            let region: String?
            let regionNull: Bool
        }
        struct Share: Sendable { let record: UUID; let kind: String; let grantee: UUID; let access: String }
        struct Rule: Sendable { let entity: String; let department: UUID; let includeSub: Bool; let kind: String; let grantee: UUID; let access: String }

        var departments: [Department] = []
        var roles: [UUID: Role] = [:]
        var users: [User] = []
        var records: [Rec] = []
        var byID: [UUID: Rec] = [:]
        var shares: [Share] = []
        var rules: [Rule] = []
        /// `tenant_dimension.field_key`, if the tenant has a dimension.
        var dimension: String?

        /// The department and every department below it.
        func tree(_ root: UUID) -> Set<UUID> {
            var result: Set<UUID> = [root]
            var changed = true
            while changed {
                changed = false
                for department in departments where !result.contains(department.id) {
                    if let parent = department.parent, result.contains(parent) {
                        result.insert(department.id)
                        changed = true
                    }
                }
            }
            return result
        }

        func scope(_ user: User, _ action: RecordAction) -> DataScope {
            if user.isAdmin { return .all }
            var best = DataScope.none
            for roleID in user.roles {
                let grants = roles[roleID]!.grants
                let scope = grants[PermissionPropertyTests.entity]?[action.rawValue] ?? grants["custom"]?[action.rawValue] ?? DataScope.none
                if scope > best { best = scope }
            }
            return best
        }

        func sharedTo(_ user: User, _ record: Rec, _ action: RecordAction) -> Bool {
            shares.contains { share in
                guard share.record == record.id, action == .read || share.access == "write" else { return false }
                switch share.kind {
                case "user": return share.grantee == user.id
                case "department": return user.department != nil && share.grantee == user.department
                default: return user.roles.contains(share.grantee)
                }
            }
        }

        /// A sharing rule of `x_prop` naming the user (itself, its department, one of its roles)
        /// opens the record's department, with enough access for the action.
        func ruleOpens(_ user: User, _ record: Rec, _ action: RecordAction) -> Bool {
            guard let department = record.department else { return false }
            return rules.contains { rule in
                guard rule.entity == PermissionPropertyTests.entity, action == .read || rule.access == "write", names(rule, user) else { return false }
                return rule.includeSub ? tree(rule.department).contains(department) : rule.department == department
            }
        }

        /// Whether a rule's grantee is the user, the user's own department or one of its roles.
        func names(_ rule: Rule, _ user: User) -> Bool {
            switch rule.kind {
            case "user": return rule.grantee == user.id
            case "department": return user.department != nil && rule.grantee == user.department
            default: return user.roles.contains(rule.grantee)
            }
        }

        /// Whether the management dimension lets the user see the record at all.
        func dimensionAllows(_ user: User, _ record: Rec) -> Bool {
            guard !user.isAdmin, dimension == PermissionPropertyTests.dimensionField, let values = user.dimensionValues else { return true }
            guard let region = record.region else { return false }
            return values.contains(region)
        }

        func reaches(_ user: User, _ action: RecordAction, _ record: Rec) -> Bool {
            let scope = self.scope(user, action)
            if scope == .none { return false }
            if !dimensionAllows(user, record) { return false }
            if scope == .all { return true }
            if record.owner == user.id || sharedTo(user, record, action) || ruleOpens(user, record, action) { return true }
            guard let mine = user.department, let theirs = record.department else { return false }
            switch scope {
            case .department: return mine == theirs
            case .departmentTree: return tree(mine).contains(theirs)
            default: return false
            }
        }

        func matches(_ filter: Filter, _ record: Rec, for user: User) -> Bool {
            switch filter {
            case .tier(let tier): return record.tier == tier
            case .tiers(let tiers): return tiers.contains(record.tier)
            case .owner(let owner): return record.owner == owner
            case .notOwner(let owner): return record.owner != owner
            case .name(let text): return record.name.lowercased().contains(text.lowercased())
            case .region(let region): return record.region == region
            case .refTier(let tier):
                guard let ref = record.ref, let target = byID[ref], !target.deleted else { return false }
                return target.tier == tier && reaches(user, .read, target)
            case .all(let parts): return parts.allSatisfy { matches($0, record, for: user) }
            case .any(let parts): return parts.contains { matches($0, record, for: user) }
            }
        }

        func name(_ id: UUID) -> String { byID[id]?.name ?? id.uuidString }
    }

    indirect enum Filter: Sendable, CustomStringConvertible {
        case tier(String), tiers([String]), owner(UUID), notOwner(UUID), name(String), region(String), refTier(String)
        case all([Filter]), any([Filter])

        var json: JSONValue {
            func leaf(_ field: String, _ op: String, _ value: JSONValue) -> JSONValue {
                .object(["field": .string(field), "op": .string(op), "value": value])
            }
            switch self {
            case .tier(let tier): return leaf("x_tier", "eq", .string(tier))
            case .tiers(let tiers): return leaf("x_tier", "in", .array(tiers.map(JSONValue.string)))
            case .owner(let id): return leaf("owner_id", "eq", .string(id.uuidString.lowercased()))
            case .notOwner(let id): return leaf("owner_id", "ne", .string(id.uuidString.lowercased()))
            case .name(let text): return leaf("x_name", "contains", .string(text))
            case .region(let region): return leaf(PermissionPropertyTests.dimensionField, "eq", .string(region))
            case .refTier(let tier): return leaf("x_ref.x_tier", "eq", .string(tier))
            case .all(let parts): return .object(["and": .array(parts.map(\.json))])
            case .any(let parts): return .object(["or": .array(parts.map(\.json))])
            }
        }

        var description: String { json.jsonText }
    }

    // MARK: Generation

    /// none 15 %, own 25 %, department 20 %, department_tree 20 %, all 20 %.
    static func randomScope(_ rng: inout SplitMix64) -> DataScope {
        let roll = Int.random(in: 0..<20, using: &rng)
        return roll < 3 ? .none : roll < 8 ? .own : roll < 12 ? .department : roll < 16 ? .departmentTree : .all
    }

    static func randomRights(_ rng: inout SplitMix64, chance: Double) -> [String: DataScope] {
        var rights: [String: DataScope] = [:]
        for action in actions where Double.random(in: 0..<1, using: &rng) < chance {
            rights[action.rawValue] = randomScope(&rng)
        }
        return rights
    }

    static func generate(_ rng: inout SplitMix64, round: Int, users userIDs: [UUID]) -> Model {
        var model = Model()
        // A forest of departments: each one a root or below an earlier one.
        for _ in 0..<Int.random(in: 3...10, using: &rng) {
            let parent = model.departments.isEmpty || Double.random(in: 0..<1, using: &rng) < 0.25
                ? nil : model.departments.randomElement(using: &rng)!.id
            model.departments.append(.init(id: rng.uuid(), parent: parent))
        }
        for index in 0..<Int.random(in: 3...6, using: &rng) {
            var grants: RoleGrants = ["custom": randomRights(&rng, chance: 0.9)]
            if Double.random(in: 0..<1, using: &rng) < 0.3 { grants[entity] = randomRights(&rng, chance: 0.6) }
            if Double.random(in: 0..<1, using: &rng) < 0.3 { grants["module:sales"] = ["read": .all, "update": .all, "delete": .all] }
            if Double.random(in: 0..<1, using: &rng) < 0.2 { grants["x_noise"] = ["read": .all, "update": .all, "delete": .all] }
            let role = Model.Role(id: rng.uuid(), key: "prop_r\(round)_\(index)", grants: grants)
            model.roles[role.id] = role
        }
        let roleIDs = Array(model.roles.keys).sorted { $0.uuidString < $1.uuidString }
        for (index, id) in userIDs.enumerated() {
            let department = Double.random(in: 0..<1, using: &rng) < 0.15 ? nil : model.departments.randomElement(using: &rng)!.id
            let roles = Array(roleIDs.shuffled(using: &rng).prefix(Int.random(in: 0..<10, using: &rng) == 0 ? 0 : Int.random(in: 1...3, using: &rng)))
            let isAdmin = Double.random(in: 0..<1, using: &rng) < 0.07
            // Half the users unlimited; the others one or two regions, now and then one no record has.
            var values: [String]?
            if Bool.random(using: &rng) {
                values = Array(regions.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))
                if Int.random(in: 0..<8, using: &rng) == 0 { values!.append("Nowhere") }
            }
            model.users.append(.init(id: id, email: "prop\(round)-\(index)@prop.test", department: department, roles: roles,
                                     isAdmin: isAdmin, dimensionValues: values))
        }
        let count = Int.random(in: 30...70, using: &rng)
        let ids = (0..<count).map { _ in rng.uuid() }
        for (index, id) in ids.enumerated() {
            let owner = Double.random(in: 0..<1, using: &rng) < 0.9 ? model.users.randomElement(using: &rng)! : nil
            let roll = Double.random(in: 0..<1, using: &rng)
            // Normally the owner's department; sometimes another one (the owner moved) or none.
            let department = roll < 0.8 ? owner?.department : roll < 0.9 ? model.departments.randomElement(using: &rng)!.id : nil
            let name = "\(words.randomElement(using: &rng)!) \(words.randomElement(using: &rng)!) n\(index)"
            let deleted = Double.random(in: 0..<1, using: &rng) < 0.12
            let tier = tiers.randomElement(using: &rng)!
            let ref = Double.random(in: 0..<1, using: &rng) < 0.4 ? ids.randomElement(using: &rng)! : nil
            // A region mostly; sometimes none (missing, JSON null) or an empty string.
            let regionRoll = Int.random(in: 0..<20, using: &rng)
            let region = regionRoll < 16 ? regions.randomElement(using: &rng)! : regionRoll < 19 ? nil : ""
            let record = Model.Rec(id: id, owner: owner?.id, department: department, deleted: deleted, name: name, tier: tier, ref: ref,
                                   region: region, regionNull: regionRoll == 18)
            model.records.append(record)
            model.byID[id] = record
        }
        var seen: Set<String> = []
        for _ in 0..<Int.random(in: 0...50, using: &rng) {
            let record = model.records.randomElement(using: &rng)!.id
            let kind = ["user", "department", "role"].randomElement(using: &rng)!
            let grantee: UUID
            switch kind {
            case "user": grantee = Double.random(in: 0..<1, using: &rng) < 0.9 ? model.users.randomElement(using: &rng)!.id : rng.uuid()
            case "department": grantee = model.departments.randomElement(using: &rng)!.id
            default: grantee = roleIDs.randomElement(using: &rng)!
            }
            guard seen.insert("\(record)/\(kind)/\(grantee)").inserted else { continue }
            model.shares.append(.init(record: record, kind: kind, grantee: grantee, access: Bool.random(using: &rng) ? "read" : "write"))
        }
        // A few sharing rules, now and then for the other object (which must change nothing here).
        var ruleKeys: Set<String> = []
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let ruleEntity = Int.random(in: 0..<8, using: &rng) == 0 ? "x_noise" : entity
            let department = model.departments.randomElement(using: &rng)!.id
            let kind = ["user", "department", "role"].randomElement(using: &rng)!
            let grantee: UUID
            switch kind {
            case "user": grantee = model.users.randomElement(using: &rng)!.id
            case "department": grantee = model.departments.randomElement(using: &rng)!.id
            default: grantee = roleIDs.randomElement(using: &rng)!
            }
            let includeSub = Bool.random(using: &rng)
            let access = Bool.random(using: &rng) ? "read" : "write"
            // One rule per (entity, department, grantee), as the table's unique key requires.
            guard ruleKeys.insert("\(ruleEntity)/\(department)/\(kind)/\(grantee)").inserted else { continue }
            model.rules.append(.init(entity: ruleEntity, department: department, includeSub: includeSub, kind: kind, grantee: grantee, access: access))
        }
        model.dimension = dimensionCycle[round % dimensionCycle.count]
        return model
    }

    static func randomFilter(_ rng: inout SplitMix64, _ model: Model, depth: Int = 0) -> Filter {
        let roll = Int.random(in: 0..<(depth < 2 ? 10 : 8), using: &rng)
        switch roll {
        case 0: return .tier(tiers.randomElement(using: &rng)!)
        case 1: return .tiers(Array(tiers.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng))))
        case 2: return .owner(model.users.randomElement(using: &rng)!.id)
        case 3: return .notOwner(model.users.randomElement(using: &rng)!.id)
        case 4: return .name(["alpha", "ETA", "50%", "_off", "n1", "amm"].randomElement(using: &rng)!)
        case 5, 6: return .refTier(tiers.randomElement(using: &rng)!)
        case 7: return .region(regions.randomElement(using: &rng)!)
        case 8: return .all((0..<Int.random(in: 1...3, using: &rng)).map { _ in randomFilter(&rng, model, depth: depth + 1) })
        default: return .any((0..<Int.random(in: 1...3, using: &rng)).map { _ in randomFilter(&rng, model, depth: depth + 1) })
        }
    }

    // MARK: Storing a model

    static func store(_ model: Model, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        for department in model.departments {
            try await connection.query("""
                INSERT INTO departments (tenant_id, id, parent_id, name) VALUES (\(tenantID), \(department.id), \(department.parent), \(department.id.uuidString))
                """, logger: logger)
        }
        for role in model.roles.values {
            try await connection.query("""
                INSERT INTO roles (tenant_id, id, key, labels, grants) VALUES (\(tenantID), \(role.id), \(role.key), '{"en": "Prop"}'::jsonb,
                    \(OrganisationAdmin.json(role.grants))::jsonb)
                """, logger: logger)
        }
        for user in model.users {
            try await connection.query("""
                INSERT INTO users (tenant_id, id, email, display_name, locale, password_hash, is_admin, department_id, dimension_values)
                VALUES (\(tenantID), \(user.id), \(user.email), 'Prop', 'en', '$argon2id$unused', \(user.isAdmin), \(user.department),
                        \(user.dimensionValues))
                """, logger: logger)
            for role in user.roles {
                try await connection.query("INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES (\(tenantID), \(user.id), \(role))", logger: logger)
            }
        }
        for record in model.records {
            var data: [String: JSONValue] = ["x_name": .string(record.name), "x_tier": .string(record.tier)]
            if let ref = record.ref { data["x_ref"] = .string(ref.uuidString.lowercased()) }
            if let region = record.region { data[dimensionField] = .string(region) } else if record.regionNull { data[dimensionField] = .null }
            try await connection.query("""
                INSERT INTO records (tenant_id, id, entity, owner_id, department_id, created_by, data, search, deleted_at)
                VALUES (\(tenantID), \(record.id), \(entity), \(record.owner), \(record.department), \(record.owner),
                        \(JSONValue.object(data).jsonText)::jsonb, \(record.name.lowercased()), CASE WHEN \(record.deleted) THEN now() END)
                """, logger: logger)
        }
        // Records of another object, shared and owned alike: never part of x_prop's answers.
        for (index, user) in model.users.enumerated() {
            let id = UUID()
            let name = "alpha noise \(index)"
            let data = JSONValue.object(["x_name": .string(name)]).jsonText
            try await connection.query("""
                INSERT INTO records (tenant_id, id, entity, owner_id, department_id, data, search)
                VALUES (\(tenantID), \(id), 'x_noise', \(user.id), \(user.department), \(data)::jsonb, \(name))
                """, logger: logger)
            try await connection.query("""
                INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access) VALUES (\(tenantID), \(id), 'user', \(user.id), 'write')
                """, logger: logger)
        }
        for share in model.shares {
            try await connection.query("""
                INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access)
                VALUES (\(tenantID), \(share.record), \(share.kind), \(share.grantee), \(share.access))
                """, logger: logger)
        }
        for rule in model.rules {
            try await connection.query("""
                INSERT INTO sharing_rules (tenant_id, entity, department_id, include_sub, grantee_kind, grantee_id, access)
                VALUES (\(tenantID), \(rule.entity), \(rule.department), \(rule.includeSub), \(rule.kind), \(rule.grantee), \(rule.access))
                """, logger: logger)
        }
        if let dimension = model.dimension {
            try await connection.query("""
                INSERT INTO tenant_dimension (tenant_id, field_key, labels) VALUES (\(tenantID), \(dimension), '{"en": "Region"}'::jsonb)
                """, logger: logger)
        }
    }

    // MARK: The property

    struct Tally: Sendable {
        var checks = 0, lists = 0, probes = 0, bins = 0, refusals = 0, leaks = 0, misses = 0
        /// Over the lists: expected records only sharing rules reach, and records the dimension
        /// keeps out that the scope alone would give (so the new features are exercised).
        var byRules = 0, outByDimension = 0
        var failures: [String] = []

        mutating func fail(_ text: String) {
            if failures.count < 25 { failures.append(text) }
        }
    }

    /// The round's result, thrown to roll its transaction back.
    struct RoundDone: Error { let tally: Tally }

    static let objects = [
        #"""
        {"key": "x_prop", "labels": {"en": "Prop"}, "fields": [
          {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true, "searchable": true},
          {"key": "x_tier", "labels": {"en": "Tier"}, "type": "text"},
          {"key": "x_ref", "labels": {"en": "Ref"}, "type": "lookup", "target": "x_prop"},
          {"key": "x_region", "labels": {"en": "Region"}, "type": "picklist", "options": [
            {"value": "North", "labels": {"en": "North"}}, {"value": "South", "labels": {"en": "South"}},
            {"value": "East", "labels": {"en": "East"}}, {"value": "West", "labels": {"en": "West"}}]}]}
        """#,
        #"""
        {"key": "x_noise", "labels": {"en": "Noise"}, "fields": [
          {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
          {"key": "x_zone", "labels": {"en": "Zone"}, "type": "text"}]}
        """#,
    ]

    /// How each round builds its users' access.
    enum ContextSource: Sendable, CustomStringConvertible {
        /// `AccessContext.load`, as the HTTP layer does (and compared with the model).
        case loaded
        /// Built directly but wrong on purpose: only the user's own department as its tree, no
        /// role ids (so no role shares), no sharing rules, no dimension — the checks must notice.
        case broken
        /// Loaded, then the sharing rules dropped: records only rules open are missed.
        case withoutRules
        /// Loaded, then read rules counted as write rules: updates and deletes leak.
        case readRulesAsWrite
        /// Loaded, then the user's dimension values dropped: records outside them leak.
        case withoutDimension

        var description: String {
            switch self {
            case .loaded: "loaded"
            case .broken: "broken"
            case .withoutRules: "without rules"
            case .readRulesAsWrite: "read rules as write"
            case .withoutDimension: "without dimension"
            }
        }
    }

    /// Two tenants with the two objects (one per round running side by side), then `rounds`
    /// rounds, each rolled back.
    static func run(rounds: Int, checks: Int, source: ContextSource, prefix: String) async throws -> Tally {
        let logger = TestEnvironment.logger
        let engine = RecordEngine(moduleEntities: [])
        var provisioned: [UUID] = []
        for _ in 0..<min(2, rounds) {
            let tenant = try await TestEnvironment.provisionTenant(prefix)
            let (tenantID, adminEmail) = (tenant.info.id, tenant.adminEmail)
            try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                    let admin = try #require(try await UserStore.credentials(email: adminEmail, on: connection, logger: logger)).user
                    for text in objects {
                        let object = try JSONDecoder().decode(MetadataAdmin.NewObject.self, from: Data(text.utf8))
                        _ = try await MetadataAdmin(engine: engine).createObject(object, as: RecordEngine.Actor(user: admin), on: connection, logger: logger)
                    }
                }
            }
            provisioned.append(tenantID)
        }
        let tenantIDs = provisioned
        /// One round in its own transaction (uncommitted, and in the other tenant than the
        /// round beside it: `tenant_dimension` holds one row per tenant).
        @Sendable func round(_ round: Int) async throws -> Tally {
            let tenantID = tenantIDs[round % tenantIDs.count]
            do {
                try await TestEnvironment.withAppRole { connection in
                    try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                        let tally = try await runRound(round, checks: checks, source: source, engine: engine, tenantID: tenantID, on: connection, logger: logger)
                        throw RoundDone(tally: tally)
                    }
                }
            } catch let done as RoundDone {
                return done.tally
            }
            return Tally()
        }
        var total = Tally()
        // Two rounds at a time.
        for start in stride(from: 0, to: rounds, by: 2) {
            let results = try await withThrowingTaskGroup(of: (Int, Tally).self) { group in
                for index in start..<min(start + 2, rounds) { group.addTask { (index, try await round(index)) } }
                var results: [(Int, Tally)] = []
                for try await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }
            }
            for (index, t) in results {
                total.checks += t.checks; total.lists += t.lists; total.probes += t.probes; total.bins += t.bins
                total.refusals += t.refusals; total.leaks += t.leaks; total.misses += t.misses
                total.byRules += t.byRules; total.outByDimension += t.outByDimension
                for failure in t.failures { total.fail("round \(index): \(failure)") }
            }
        }
        return total
    }

    @Test func engineScopesMatchTheReferenceEvaluator() async throws {
        let started = ContinuousClock.now
        let total = try await Self.run(rounds: Self.rounds, checks: Self.checksPerRound, source: .loaded, prefix: "perm-prop")
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("PermissionPropertyTests: \(total.checks) checks (\(total.lists) lists, \(total.bins) recycle bins, \(total.probes) single-record probes, "
              + "\(total.refusals) expected refusals) over \(Self.rounds) random organisations, seed \(String(Self.seed, radix: 16)): "
              + "\(total.leaks) leaks, \(total.misses) misses, \(total.failures.count) failures, \(String(format: "%.1f s", seconds)); "
              + "lists held \(total.byRules) records only sharing rules reach and lacked \(total.outByDimension) the dimension keeps out")
        #expect(total.checks >= 2000)
        #expect(total.byRules > 0, "no list depended on a sharing rule")
        #expect(total.outByDimension > 0, "no list depended on the dimension")
        #expect(total.leaks == 0)
        #expect(total.misses == 0)
        #expect(total.failures.isEmpty, "\(total.failures.joined(separator: "\n"))")
    }

    /// The property is not vacuous: the same checks against deliberately broken access
    /// contexts find misses (department tree cut to one department and role ids dropped;
    /// sharing rules dropped) or leaks (read rules taken for write rules; dimension dropped).
    @Test(arguments: [ContextSource.broken, .withoutRules, .readRulesAsWrite, .withoutDimension])
    func theChecksNoticeABrokenAccessContext(_ source: ContextSource) async throws {
        let total = try await Self.run(rounds: 2, checks: 120, source: source, prefix: "perm-prop-mut")
        print("PermissionPropertyTests (\(source)): \(total.checks) checks, \(total.leaks) leaks, \(total.misses) misses, \(total.failures.count) failures")
        switch source {
        case .broken, .withoutRules: #expect(total.misses > 0)
        default: #expect(total.leaks > 0)
        }
        #expect(!total.failures.isEmpty)
    }

    static func runRound(_ round: Int, checks: Int, source: ContextSource, engine: RecordEngine, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Tally {
        var rng = SplitMix64(seed: seed &+ UInt64(round) &* 0x1000_0001)
        var userIDs: [UUID] = []
        for _ in 0..<Int.random(in: 6...12, using: &rng) { userIDs.append(rng.uuid()) }
        let model = generate(&rng, round: round, users: userIDs)
        try await store(model, tenantID: tenantID, on: connection, logger: logger)
        var tally = Tally()

        // Each user's access as the HTTP layer loads it, checked against the model.
        var actors: [UUID: RecordEngine.Actor] = [:]
        for user in model.users {
            let authenticated = AuthenticatedUser(id: user.id, email: user.email, displayName: "Prop", locale: "en", isAdmin: user.isAdmin)
            if case .broken = source {
                let access = AccessContext(unrestricted: user.isAdmin, userID: user.id, departmentID: user.department,
                                           departmentTree: user.department.map { [$0] } ?? [], roleIDs: [],
                                           grants: user.roles.map { model.roles[$0]!.grants }, fieldRules: user.roles.map { _ in [:] })
                actors[user.id] = RecordEngine.Actor(user: authenticated, access: access)
                continue
            }
            var access = try await AccessContext.load(for: authenticated, on: connection, logger: logger)
            if !user.isAdmin {
                if Set(access.departmentTree) != (user.department.map(model.tree) ?? []) { tally.fail("departmentTree of \(user.email) is \(access.departmentTree)") }
                if Set(access.roleIDs) != Set(user.roles) { tally.fail("roleIDs of \(user.email) are \(access.roleIDs)") }
                if access.departmentID != user.department { tally.fail("departmentID of \(user.email)") }
                // Rules naming the user: entity → access → the departments they open.
                var reach: [String: [String: Set<UUID>]] = [:]
                for rule in model.rules where model.names(rule, user) {
                    reach[rule.entity, default: [:]][rule.access, default: []].formUnion(rule.includeSub ? model.tree(rule.department) : [rule.department])
                }
                if access.ruleReach.mapValues({ $0.mapValues(Set.init) }) != reach { tally.fail("ruleReach of \(user.email) is \(access.ruleReach)") }
                if access.dimensionField != model.dimension { tally.fail("dimensionField of \(user.email) is \(access.dimensionField ?? "nil")") }
                if access.dimensionValues != (model.dimension == nil ? nil : user.dimensionValues) {
                    tally.fail("dimensionValues of \(user.email) are \(access.dimensionValues ?? [])")
                }
            } else if !access.unrestricted {
                tally.fail("administrator \(user.email) is restricted")
            }
            func mutated(ruleReach: [String: [String: [UUID]]], dimensionValues: [String]?) -> AccessContext {
                AccessContext(unrestricted: access.unrestricted, userID: access.userID, departmentID: access.departmentID,
                              departmentTree: access.departmentTree, roleIDs: access.roleIDs, grants: access.grants, fieldRules: access.fieldRules,
                              ruleReach: ruleReach, dimensionField: access.dimensionField, dimensionValues: dimensionValues)
            }
            switch source {
            case .withoutRules: access = mutated(ruleReach: [:], dimensionValues: access.dimensionValues)
            case .readRulesAsWrite:
                access = mutated(ruleReach: access.ruleReach.mapValues { byAccess in
                    ["read": byAccess["read"] ?? [], "write": (byAccess["read"] ?? []) + (byAccess["write"] ?? [])]
                }, dimensionValues: access.dimensionValues)
            case .withoutDimension: access = mutated(ruleReach: access.ruleReach, dimensionValues: nil)
            default: break
            }
            actors[user.id] = RecordEngine.Actor(user: authenticated, access: access)
        }

        // The same organisation without its rules, and without its dimension, to count what
        // each feature changes.
        var withoutRules = model, withoutDimension = model
        withoutRules.rules = []
        withoutDimension.dimension = nil

        func describe(_ user: Model.User, _ action: RecordAction) -> String {
            "\(user.email)\(user.isAdmin ? " (admin)" : "") dept \(user.department.map { String($0.uuidString.prefix(4)) } ?? "-") "
                + "read \(model.scope(user, .read).rawValue) \(action.rawValue) \(model.scope(user, action).rawValue)"
        }

        /// The error the engine must give before looking at records, if any.
        func refusal(_ user: Model.User, _ action: RecordAction) -> String? {
            if model.scope(user, .read) == .none { return "entity_not_found" }
            if model.scope(user, action) == .none { return "no_permission" }
            return nil
        }

        func compare(_ got: Set<UUID>, _ expected: Set<UUID>, _ context: String, tally: inout Tally) {
            let leaks = got.subtracting(expected), misses = expected.subtracting(got)
            tally.leaks += leaks.count
            tally.misses += misses.count
            if !leaks.isEmpty || !misses.isEmpty {
                tally.fail("\(context): leaks \(leaks.map(model.name).sorted()) misses \(misses.map(model.name).sorted())")
            }
        }

        for _ in 0..<checks {
            let user = model.users.randomElement(using: &rng)!
            let actor = actors[user.id]!
            let action = actions.randomElement(using: &rng)!
            let roll = Int.random(in: 0..<100, using: &rng)
            tally.checks += 1
            do {
                if roll < 55 {
                    // A list with an optional filter and search, all at once or page by page.
                    tally.lists += 1
                    let filter = Int.random(in: 0..<10, using: &rng) < 3 ? nil : randomFilter(&rng, model)
                    let q = Int.random(in: 0..<10, using: &rng) < 2 ? ["alpha", "GAMMA", "50%", "%_o", "a%", "a_o", "n2"].randomElement(using: &rng)! : nil
                    let paged = Int.random(in: 0..<10, using: &rng) == 0
                    let context = "\(describe(user, action)) list filter \(filter?.description ?? "-") q \(q ?? "-")\(paged ? " paged" : "")"
                    func expectedList(_ model: Model) -> Set<UUID> {
                        Set(model.records.filter { record in
                            !record.deleted && model.reaches(user, action, record) && (filter.map { model.matches($0, record, for: user) } ?? true)
                                && (q.map { record.name.lowercased().contains($0.lowercased()) } ?? true)
                        }.map(\.id))
                    }
                    let expected = expectedList(model)
                    let refused = refusal(user, action)
                    if refused == nil {
                        tally.byRules += expected.subtracting(expectedList(withoutRules)).count
                        tally.outByDimension += expectedList(withoutDimension).subtracting(expected).count
                    }
                    do {
                        var got: [UUID] = []
                        var reportedTotal = 0
                        let size = paged ? 7 : 200
                        repeat {
                            let page = try await engine.list(entity, query: RecordQuery(filter: filter?.json, limit: size, offset: got.count, q: q),
                                                             action: action, as: actor, on: connection, logger: logger)
                            reportedTotal = page.total
                            got += page.records.map(\.id)
                            if page.records.isEmpty { break }
                        } while paged && got.count < reportedTotal
                        if let refused { tally.fail("\(context): expected \(refused), got \(got.count) records"); continue }
                        if Set(got).count != got.count { tally.fail("\(context): duplicates across pages") }
                        if reportedTotal != expected.count { tally.fail("\(context): total \(reportedTotal), expected \(expected.count)") }
                        compare(Set(got), expected, context, tally: &tally)
                    } catch let error as AtriumError {
                        if error.code != refused { tally.fail("\(context): \(error.code) \(error.message)") } else { tally.refusals += 1 }
                    }
                } else if roll < 65 {
                    // The recycle bin: readable entity, deleted records in the delete scope.
                    tally.bins += 1
                    let context = "\(describe(user, .delete)) recycle bin"
                    let expected = Set(model.records.filter { $0.deleted && model.reaches(user, .delete, $0) }.map(\.id))
                    let refused = model.scope(user, .read) == .none ? "entity_not_found" : nil
                    do {
                        let page = try await engine.list(entity, query: RecordQuery(limit: 200), recycleBin: true, as: actor, on: connection, logger: logger)
                        if let refused { tally.fail("\(context): expected \(refused)"); continue }
                        if page.total != expected.count { tally.fail("\(context): total \(page.total), expected \(expected.count)") }
                        compare(Set(page.records.map(\.id)), expected, context, tally: &tally)
                    } catch let error as AtriumError {
                        if error.code != refused { tally.fail("\(context): \(error.code) \(error.message)") } else { tally.refusals += 1 }
                    }
                } else {
                    // One record: get, an update with a stale version (409 = reached, nothing
                    // written) or a delete rolled back to a savepoint.
                    tally.probes += 1
                    let record = model.records.randomElement(using: &rng)!
                    let context = "\(describe(user, action)) \(action.rawValue) of \(record.name)\(record.deleted ? " (deleted)" : "")"
                    let reached = !record.deleted && model.reaches(user, action, record)
                    let expected = refusal(user, action) ?? (reached ? (action == .update ? "version_conflict" : nil) : "record_not_found")
                    var outcome: String?
                    do {
                        switch action {
                        case .read:
                            let got = try await engine.get(entity, id: record.id, as: actor, on: connection, logger: logger)
                            if got.id != record.id { tally.fail("\(context): got \(got.id)") }
                        case .update:
                            _ = try await engine.update(entity, id: record.id, values: [:], expectedVersion: -1, as: actor, on: connection, logger: logger)
                        default:
                            try await connection.query("SAVEPOINT probe", logger: logger)
                            do {
                                try await engine.delete(entity, id: record.id, as: actor, on: connection, logger: logger)
                                try await connection.query("ROLLBACK TO SAVEPOINT probe", logger: logger)
                            } catch {
                                try await connection.query("ROLLBACK TO SAVEPOINT probe", logger: logger)
                                throw error
                            }
                        }
                    } catch let error as AtriumError {
                        outcome = error.code
                    }
                    if outcome != expected {
                        let leaked = expected == "record_not_found" && (outcome == nil || outcome == "version_conflict")
                        if leaked { tally.leaks += 1 } else if outcome == "record_not_found" { tally.misses += 1 }
                        tally.fail("\(context): got \(outcome ?? "success"), expected \(expected ?? "success")")
                    } else if refusal(user, action) != nil {
                        tally.refusals += 1
                    }
                }
            } catch {
                tally.fail("\(describe(user, action)): unexpected \(String(reflecting: error))")
                return tally  // the transaction is no longer usable
            }
        }
        return tally
    }
}

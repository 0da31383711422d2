import Foundation

/// The roles every new tenant starts with (administrators may change or add roles later).
/// Administrators are users with `is_admin`: they bypass data scopes (audited) and need no role.
public enum DefaultRoles {
    public struct Role: Sendable {
        public let key: String
        public let labels: [String: String]
        public let grants: RoleGrants
    }

    public static func rights(_ pairs: [(RecordAction, DataScope)]) -> [String: DataScope] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.0.rawValue, $0.1) })
    }

    /// Read, create, update, delete, export and share at one scope.
    public static func working(_ scope: DataScope) -> [String: DataScope] {
        rights([(.read, scope), (.create, .all), (.update, scope), (.delete, scope), (.export, scope), (.share, scope)])
    }

    public static let readAll = rights([(.read, .all), (.export, .all)])

    /// The platform's own roles with their rights on tenants' custom objects. Modules bring
    /// their roles (``ModuleManifest/roles``), and what each role may do in a module is the
    /// module's to say (``ModuleManifest/defaultGrants``): the platform names no module.
    static let platformRoles: [Role] = [
        Role(key: "administrator", labels: ["en": "Administrator", "zh-CN": "系统管理员"], grants: ["custom": working(.all)]),
        Role(key: "finance", labels: ["en": "Finance", "zh-CN": "财务"], grants: ["custom": readAll]),
        Role(key: "read_only", labels: ["en": "Read-only", "zh-CN": "只读"], grants: ["custom": rights([(.read, .all)])]),
    ]

    /// The roles a new tenant starts with: the platform's and those the modules bring (the
    /// first declaration of a key wins), each with the rights every module in `modules`
    /// declares for it under `module:<id>`.
    public static func roles(modules: [ModuleManifest]) -> [Role] {
        var declared = platformRoles
        var keys = Set(declared.map(\.key))
        for module in modules {
            for role in module.roles where keys.insert(role.key).inserted {
                declared.append(Role(key: role.key, labels: role.labels, grants: ["custom": role.customGrants]))
            }
        }
        return declared.map { role in
            var grants = role.grants
            for module in modules {
                if let rights = module.defaultGrants[role.key] { grants["module:\(module.id)"] = rights }
                for (entity, rights) in module.entityGrants[role.key] ?? [:] {
                    grants[entity] = (grants[entity] ?? [:]).merging(rights) { max($0, $1) }
                }
            }
            return Role(key: role.key, labels: role.labels, grants: grants)
        }
    }

    /// `INSERT` statements' JSON for a role's grants.
    static func grantsJSON(_ role: Role) -> String { MetadataStore.encode(role.grants) }

    static func labelsJSON(_ role: Role) -> String { MetadataStore.encode(role.labels) }

    /// SQL literal (single quotes doubled) for use in migration statements.
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// One statement adding `roles` to the tenant(s) `tenantFilter` selects.
    static func insertStatement(tenantFilter: String, roles: [Role]) -> String {
        let values = roles.map { "(\(literal($0.key)), \(literal(labelsJSON($0)))::jsonb, \(literal(grantsJSON($0)))::jsonb)" }
            .joined(separator: ",\n    ")
        return """
            INSERT INTO roles (tenant_id, key, labels, grants, is_system)
            SELECT t.id, v.key, v.labels, v.grants, true FROM tenants t CROSS JOIN (VALUES
                \(values)) AS v (key, labels, grants)
            WHERE \(tenantFilter)
            ON CONFLICT (tenant_id, key) DO NOTHING
            """
    }
}

import Logging
import PostgresNIO

extension DefaultRoles {
    /// Adds the default roles to the tenant of the current transaction (provisioning).
    public static func create(modules: [ModuleManifest], on connection: PostgresConnection, logger: Logger) async throws {
        let sql = insertStatement(tenantFilter: "t.id = NULLIF(current_setting('app.tenant_id', true), '')::uuid", roles: roles(modules: modules))
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Adds the roles `module` brings that the tenant lacks (a module added to the instance after
    /// the tenant was created), with their rights in every module of `modules`, and gives the
    /// tenant's default roles the module's declared rights where they have none for it yet; an
    /// administrator's settings for the module are kept. Run with the module's set-up.
    public static func grantDefaults(of module: ModuleManifest, modules: [ModuleManifest], on connection: PostgresConnection, logger: Logger) async throws {
        let brought = Set(module.roles.map(\.key))
        let missing = roles(modules: modules).filter { brought.contains($0.key) }
        if !missing.isEmpty {
            let sql = insertStatement(tenantFilter: "t.id = NULLIF(current_setting('app.tenant_id', true), '')::uuid", roles: missing)
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
        for (roleKey, rights) in module.defaultGrants.sorted(by: { $0.key < $1.key }) {
            try await connection.query("""
                UPDATE roles SET grants = grants || jsonb_build_object(\("module:\(module.id)"), \(MetadataStore.encode(rights))::jsonb)
                WHERE is_system AND key = \(roleKey) AND NOT grants ? \("module:\(module.id)")
                """, logger: logger)
        }
        for (roleKey, entities) in module.entityGrants.sorted(by: { $0.key < $1.key }) {
            for (entity, rights) in entities.sorted(by: { $0.key < $1.key }) {
                try await connection.query("""
                    UPDATE roles SET grants = grants || jsonb_build_object(\(entity), \(MetadataStore.encode(rights))::jsonb)
                    WHERE is_system AND key = \(roleKey) AND NOT grants ? \(entity)
                    """, logger: logger)
            }
        }
    }
}

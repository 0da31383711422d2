import Foundation

/// The roles every new tenant starts with (administrators may change or add roles later).
/// Administrators are users with `is_admin`: they bypass data scopes (audited) and need no role.
public enum DefaultRoles {
    public struct Role: Sendable {
        public let key: String
        public let labels: [String: String]
        public let grants: RoleGrants
    }

    static func rights(_ pairs: [(RecordAction, DataScope)]) -> [String: DataScope] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.0.rawValue, $0.1) })
    }

    /// Read, create, update, delete, export and share at one scope.
    static func working(_ scope: DataScope) -> [String: DataScope] {
        rights([(.read, scope), (.create, .all), (.update, scope), (.delete, scope), (.export, scope), (.share, scope)])
    }

    static let readAll = rights([(.read, .all), (.export, .all)])

    /// The roles as migration 4 created them (frozen: migrations are checksummed).
    static let original: [Role] = [
        Role(key: "administrator", labels: ["en": "Administrator", "zh-CN": "系统管理员"],
             grants: ["module:sales": working(.all), "module:marketing": working(.all), "module:service": working(.all),
                      "module:knowledge": working(.all), "module:expenses": working(.all), "module:purchasing": working(.all),
                      "custom": working(.all)]),
        Role(key: "sales_director", labels: ["en": "Sales Director", "zh-CN": "销售总监"],
             grants: ["module:sales": working(.all).merging(rights([(.import, .all), (.approve, .all)])) { $1 },
                      "module:marketing": working(.all), "module:knowledge": readAll, "custom": working(.all)]),
        Role(key: "sales_manager", labels: ["en": "Sales Manager", "zh-CN": "销售经理"],
             grants: ["module:sales": working(.departmentTree).merging(rights([(.approve, .departmentTree)])) { $1 },
                      "module:marketing": working(.departmentTree), "module:knowledge": readAll, "custom": working(.departmentTree)]),
        Role(key: "salesperson", labels: ["en": "Salesperson", "zh-CN": "销售员"],
             grants: ["module:sales": working(.own), "module:marketing": rights([(.read, .all)]), "module:knowledge": readAll,
                      "custom": working(.own)]),
        Role(key: "service_agent", labels: ["en": "Service Agent", "zh-CN": "客服"],
             grants: ["module:service": working(.own), "module:sales": rights([(.read, .all)]), "module:knowledge": working(.all),
                      "custom": working(.own)]),
        Role(key: "purchaser", labels: ["en": "Purchaser", "zh-CN": "采购员"],
             grants: ["module:purchasing": working(.own), "module:knowledge": readAll, "custom": working(.own)]),
        Role(key: "finance", labels: ["en": "Finance", "zh-CN": "财务"],
             grants: ["module:expenses": readAll.merging(rights([(.approve, .all), (.update, .all)])) { $1 },
                      "module:sales": readAll, "module:purchasing": readAll, "module:knowledge": readAll, "custom": readAll]),
        Role(key: "read_only", labels: ["en": "Read-only", "zh-CN": "只读"],
             grants: ["module:sales": rights([(.read, .all)]), "module:marketing": rights([(.read, .all)]),
                      "module:service": rights([(.read, .all)]), "module:knowledge": rights([(.read, .all)]),
                      "module:expenses": rights([(.read, .all)]), "module:purchasing": rights([(.read, .all)]),
                      "custom": rights([(.read, .all)])]),
    ]

    /// Everyone files their own expense requests and claims; managers see their department's
    /// (approvers also reach what they approve through the approval engine's read shares).
    static let expenseGrants: [String: [String: DataScope]] = [
        "sales_director": working(.all),
        "sales_manager": working(.departmentTree).merging(rights([(.update, .own), (.delete, .own)])) { $1 },
        "salesperson": working(.own),
        "service_agent": working(.own),
        "purchaser": working(.own),
        // Finance reads and pays every claim and files its own.
        "finance": readAll.merging(rights([(.approve, .all), (.update, .all), (.create, .all), (.delete, .own), (.share, .own)])) { $1 },
    ]

    /// Migration 9: the default roles of existing tenants get their expense rights; an action
    /// an administrator already set for the module keeps its setting.
    static var expenseGrantStatements: [String] {
        expenseGrants.sorted { $0.key < $1.key }.map { key, grants in
            "UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', \(literal(MetadataStore.encode(grants)))::jsonb "
                + "|| coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = \(literal(key))"
        }
    }

    /// The roles a new tenant starts with: the original ones plus their expense rights.
    public static var all: [Role] {
        original.map { role in
            guard let expenses = expenseGrants[role.key] else { return role }
            var grants = role.grants
            grants["module:expenses"] = expenses
            return Role(key: role.key, labels: role.labels, grants: grants)
        }
    }

    /// `INSERT` statements' JSON for a role's grants.
    static func grantsJSON(_ role: Role) -> String { MetadataStore.encode(role.grants) }

    static func labelsJSON(_ role: Role) -> String { MetadataStore.encode(role.labels) }

    /// SQL literal (single quotes doubled) for use in migration statements.
    static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// One statement adding the default roles to every existing tenant (migration) or, with a
    /// tenant filter, to one new tenant.
    static func insertStatement(tenantFilter: String, roles: [Role] = original) -> String {
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
    public static func create(on connection: PostgresConnection, logger: Logger) async throws {
        let sql = insertStatement(tenantFilter: "t.id = NULLIF(current_setting('app.tenant_id', true), '')::uuid", roles: all)
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }
}

import ArgumentParser
import Foundation
import Platform
import Tenancy
import Modules
import Logging
import PostgresNIO

/// `atrium-admin demo`: makes sure the `demo` tenant exists (used by `make run`) and prints
/// its logins. The password is kept in `--credentials-file` (mode 600, outside git) so
/// it stays the same across runs.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the demo tenant if missing and print its logins.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Where the demo password is kept.") var credentialsFile: String = "var/demo-password"

    func run() async throws {
        try await AdminCommand.run {
            let password: String
            if let saved = try? String(contentsOfFile: credentialsFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !saved.isEmpty {
                password = saved
            } else {
                password = SecureToken.readablePassword()
                try FileManager.default.createDirectory(atPath: (credentialsFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: credentialsFile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
            }
            let provisioner = TenantProvisioner(catalog: try connection.catalog(), hasher: try connection.hasher())
            let hash = try await connection.hasher().hashOffLoop(password)
            let catalog = try connection.catalog()
            try await connection.withConnection { conn, logger in
                if let tenant = try await TenantDirectory.find(slug: "demo", on: conn, logger: logger) {
                    // Keep the printed password true even if someone changed it.
                    try await conn.inTenantTransaction(tenant.id, logger: logger) { conn in
                        for email in ["admin@demo.atrium.test", "wang.fang@demo.atrium.test"] {
                            _ = try await UserStore.setPasswordHash(hash, email: email, on: conn, logger: logger)
                        }
                        try await Self.seedSales(catalog: catalog, on: conn, logger: logger)
                        try await Self.seedExpenses(catalog: catalog, hash: hash, tenantID: tenant.id, on: conn, logger: logger)
                    }
                    return
                }
                let result = try await provisioner.provision(
                    .init(slug: "demo", name: "演示公司 Demo Co.", plan: "enterprise", adminEmail: "admin@demo.atrium.test",
                          adminName: "Demo Admin", adminPassword: password, locale: "en"),
                    actor: "atrium-admin demo", on: conn, logger: logger)
                try await conn.inTenantTransaction(result.tenant.id, logger: logger) { conn in
                    let wang = try await UserStore.create(.init(email: "wang.fang@demo.atrium.test", displayName: "王芳", locale: "zh-CN", passwordHash: hash, isAdmin: false),
                                                          tenantID: result.tenant.id, on: conn, logger: logger)
                    // A salesperson: sees her own records of every object the administrator designs.
                    try await conn.query("""
                        INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, \(wang), id FROM roles WHERE key = 'salesperson'
                        """, logger: logger)
                    try await Self.seedSales(catalog: catalog, on: conn, logger: logger)
                    try await Self.seedExpenses(catalog: catalog, hash: hash, tenantID: result.tenant.id, on: conn, logger: logger)
                }
            }
            print("""
                demo tenant: demo  (http://localhost:8080 or http://demo.localhost:8080)
                  admin@demo.atrium.test       password: \(password)   (English UI, administrator)
                  wang.fang@demo.atrium.test   password: \(password)   (中文界面, salesperson: sees her own records, reports to the admin)
                  li.qiang@demo.atrium.test    password: \(password)   (中文界面, finance: approves and pays expense claims)
                """)
        }
    }

    /// Sales sample data (once: skipped when the tenant has accounts), if sales is enabled.
    static func seedSales(catalog: ModuleCatalog, on conn: PostgresConnection, logger: Logger) async throws {
        guard try await TenantModules.enabled(on: conn, logger: logger).contains("sales") else { return }
        let rows = try await conn.query("""
            SELECT u.id, u.email, u.display_name, u.locale, u.is_admin FROM users u
            WHERE u.email IN ('admin@demo.atrium.test', 'wang.fang@demo.atrium.test')
            """, logger: logger).collect()
        var admin: AuthenticatedUser?
        var wang: UUID?
        for row in rows {
            let (id, email, name, locale, isAdmin) = try row.decode((UUID, String, String, String, Bool).self)
            if isAdmin { admin = AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: true) }
            if email.hasPrefix("wang.fang") { wang = id }
        }
        guard let admin, let wang else { return }
        try await TenantModules.setUp(["sales"], catalog: catalog, user: admin, on: conn, logger: logger)
        try await SalesDemoData.seed(engine: RecordEngine(catalog: catalog), admin: admin, salesperson: wang, on: conn, logger: logger)
    }

    /// Expenses sample data, if the module is enabled: 王芳 joins 销售部 and reports to the
    /// administrator, 李强 (finance) is added; then claims in every state (once).
    static func seedExpenses(catalog: ModuleCatalog, hash: String, tenantID: UUID, on conn: PostgresConnection, logger: Logger) async throws {
        guard try await TenantModules.enabled(on: conn, logger: logger).contains("expenses") else { return }
        func user(_ email: String) async throws -> AuthenticatedUser? {
            guard let row = try await conn.query("""
                SELECT id, email, display_name, locale, is_admin FROM users WHERE email = \(email)
                """, logger: logger).collect().first else { return nil }
            let (id, address, name, locale, isAdmin) = try row.decode((UUID, String, String, String, Bool).self)
            return AuthenticatedUser(id: id, email: address, displayName: name, locale: locale, isAdmin: isAdmin)
        }
        guard let admin = try await user("admin@demo.atrium.test"), let wang = try await user("wang.fang@demo.atrium.test") else { return }
        if try await user("li.qiang@demo.atrium.test") == nil {
            let id = try await UserStore.create(.init(email: "li.qiang@demo.atrium.test", displayName: "李强", locale: "zh-CN", passwordHash: hash, isAdmin: false),
                                                tenantID: tenantID, on: conn, logger: logger)
            try await conn.query("INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, \(id), id FROM roles WHERE key = 'finance'", logger: logger)
        }
        guard let li = try await user("li.qiang@demo.atrium.test") else { return }
        var department = try await conn.query("SELECT id FROM departments WHERE name = '销售部'", logger: logger).collect().first?.decode(UUID.self)
        if department == nil {
            department = try await conn.query("INSERT INTO departments (tenant_id, name) VALUES (\(tenantID), '销售部') RETURNING id", logger: logger)
                .one(UUID.self)
        }
        try await conn.query("""
            UPDATE users SET department_id = COALESCE(department_id, \(department)), manager_id = COALESCE(manager_id, \(admin.id)) WHERE id = \(wang.id)
            """, logger: logger)
        try await conn.query("UPDATE records SET department_id = \(department) WHERE owner_id = \(wang.id) AND department_id IS NULL", logger: logger)
        try await TenantModules.setUp(["expenses"], catalog: catalog, user: admin, on: conn, logger: logger)
        try await ExpensesDemoData.seed(engine: RecordEngine(catalog: catalog), admin: admin, salesperson: wang, finance: li, on: conn, logger: logger)
    }
}

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
                _ = FileManager.default.createFile(atPath: credentialsFile, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
            }
            let provisioner = TenantProvisioner(catalog: try connection.catalog(), hasher: try connection.hasher())
            let hash = try await connection.hasher().hashOffLoop(password)
            let catalog = try connection.catalog()
            try await connection.withConnection { conn, logger in
                if let tenant = try await TenantDirectory.find(slug: "demo", on: conn, logger: logger) {
                    try await conn.inTenantTransaction(tenant.id, logger: logger) { conn in
                        try await Self.seed(catalog: catalog, hash: hash, tenantID: tenant.id, on: conn, logger: logger)
                    }
                    return
                }
                let result = try await provisioner.provision(
                    .init(slug: "demo", name: "演示公司 Demo Co.", plan: "enterprise", adminEmail: "admin@demo.atrium.test",
                          adminName: "Demo Admin", adminPassword: password, locale: "en"),
                    actor: "atrium-admin demo", on: conn, logger: logger)
                try await conn.inTenantTransaction(result.tenant.id, logger: logger) { conn in
                    try await Self.seed(catalog: catalog, hash: hash, tenantID: result.tenant.id, on: conn, logger: logger)
                }
            }
            print("""
                demo tenant: demo  (http://localhost:8080 or http://demo.localhost:8080)
                  admin@demo.atrium.test       password: \(password)   (English UI, administrator)
                  wang.fang@demo.atrium.test   password: \(password)   (中文界面, salesperson: sees her own records, reports to the admin)
                  li.qiang@demo.atrium.test    password: \(password)   (中文界面, finance: approves and pays expense claims)
                  zhang.wei@demo.atrium.test   password: \(password)   (中文界面, service agent in 客服部: the service queue and cases)
                """)
        }
    }

    /// The demo's people, then each enabled module's demo data in dependency order (each module
    /// seeds once: it skips when it finds its records). Passwords are set again so the printed
    /// one stays true even if someone changed it.
    static func seed(catalog: ModuleCatalog, hash: String, tenantID: UUID, on conn: PostgresConnection, logger: Logger) async throws {
        let people = try await DemoPeople.ensure(hash: hash, tenantID: tenantID, on: conn, logger: logger)
        let enabled = Set(try await TenantModules.enabled(on: conn, logger: logger))
        let engine = RecordEngine(catalog: catalog)
        for module in catalog.modules where enabled.contains(module.id) {
            guard let seed = module.demoData else { continue }
            try await TenantModules.setUp([module.id], catalog: catalog, user: people.admin, on: conn, logger: logger)
            try await seed(ModuleDemoContext(engine: engine, admin: people.admin, people: people.byRole, connection: conn, logger: logger,
                                             files: LocalFileStore(path: ProcessInfo.processInfo.environment["ATRIUM_FILES_DIR"] ?? AtriumConfiguration.defaultFilesDirectory)))
        }
        try await people.placeInDepartment(on: conn, logger: logger)
    }
}

/// The demo tenant's users: the administrator, 王芳 (salesperson in 销售部, reporting to the
/// administrator), 李强 (finance) and 张伟 (service agent in 客服部), created when missing.
struct DemoPeople {
    let admin: AuthenticatedUser
    let byRole: [String: AuthenticatedUser]
    let department: UUID

    static func ensure(hash: String, tenantID: UUID, on conn: PostgresConnection, logger: Logger) async throws -> DemoPeople {
        func user(_ email: String) async throws -> AuthenticatedUser? {
            guard let row = try await conn.query("""
                SELECT id, email, display_name, locale, is_admin FROM users WHERE email = \(email)
                """, logger: logger).collect().first else { return nil }
            let (id, address, name, locale, isAdmin) = try row.decode((UUID, String, String, String, Bool).self)
            return AuthenticatedUser(id: id, email: address, displayName: name, locale: locale, isAdmin: isAdmin)
        }
        func ensure(_ email: String, name: String, role: String) async throws -> AuthenticatedUser {
            if let existing = try await user(email) {
                _ = try await UserStore.setPasswordHash(hash, email: email, on: conn, logger: logger)
                return existing
            }
            let id = try await UserStore.create(.init(email: email, displayName: name, locale: "zh-CN", passwordHash: hash, isAdmin: false),
                                                tenantID: tenantID, on: conn, logger: logger)
            try await conn.query("INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, \(id), id FROM roles WHERE key = \(role)",
                                 logger: logger)
            return AuthenticatedUser(id: id, email: email, displayName: name, locale: "zh-CN", isAdmin: false)
        }
        guard let admin = try await user("admin@demo.atrium.test") else {
            throw DemoFailure("the demo tenant has no admin@demo.atrium.test; delete the tenant and run the command again")
        }
        _ = try await UserStore.setPasswordHash(hash, email: admin.email, on: conn, logger: logger)
        // A salesperson: sees her own records of every object the administrator designs.
        let wang = try await ensure("wang.fang@demo.atrium.test", name: "王芳", role: "salesperson")
        let li = try await ensure("li.qiang@demo.atrium.test", name: "李强", role: "finance")
        // A service agent in the service department, reporting to the administrator (SLA breaches escalate to him).
        let zhang = try await ensure("zhang.wei@demo.atrium.test", name: "张伟", role: "service_agent")
        var service = try await conn.query("SELECT id FROM departments WHERE name = '客服部'", logger: logger).collect().first?.decode(UUID.self)
        if service == nil {
            service = try await conn.query("INSERT INTO departments (tenant_id, name) VALUES (\(tenantID), '客服部') RETURNING id", logger: logger)
                .one(UUID.self)
        }
        try await conn.query("""
            UPDATE users SET department_id = COALESCE(department_id, \(service)), manager_id = COALESCE(manager_id, \(admin.id)) WHERE id = \(zhang.id)
            """, logger: logger)
        var department = try await conn.query("SELECT id FROM departments WHERE name = '销售部'", logger: logger).collect().first?.decode(UUID.self)
        if department == nil {
            department = try await conn.query("INSERT INTO departments (tenant_id, name) VALUES (\(tenantID), '销售部') RETURNING id", logger: logger)
                .one(UUID.self)
        }
        guard let department else { throw DemoFailure("the demo department could not be created") }
        try await conn.query("""
            UPDATE users SET department_id = COALESCE(department_id, \(department)), manager_id = COALESCE(manager_id, \(admin.id)) WHERE id = \(wang.id)
            """, logger: logger)
        return DemoPeople(admin: admin, byRole: ["salesperson": wang, "finance": li, "service_agent": zhang], department: department)
    }

    /// The salesperson's records seeded before she joined the department get it too.
    func placeInDepartment(on conn: PostgresConnection, logger: Logger) async throws {
        guard let wang = byRole["salesperson"] else { return }
        try await conn.query("UPDATE records SET department_id = \(department) WHERE owner_id = \(wang.id) AND department_id IS NULL", logger: logger)
    }
}

/// Why the demo tenant could not be seeded (printed as the command's one error line).
struct DemoFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

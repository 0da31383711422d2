import AtriumApp
import Foundation
import Modules
@testable import Platform
import PostgresNIO
import Tenancy
import Testing

/// What a module owns besides its entities (DESIGN §2): its roles, its migration group, its
/// default layouts and its demo data — all through the manifest, with Platform naming no module.
@Suite struct ModuleKitTests {
    typealias F = RecordFixtures
    let logger = TestEnvironment.logger

    static func catalog(_ ids: [String]) throws -> ModuleCatalog {
        let entries = ids.map { #"{"id": "\#($0)", "version": "1", "depends": [], "plans": ["trial"]}"# }.joined(separator: ",")
        return try ModuleCatalog.parse(Data(#"{"modules": [\#(entries)]}"#.utf8), compiledIn: BuiltInModules.all)
    }

    static func roleGrants(_ tenant: UUID) async throws -> [String: String] {
        try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant, logger: TestEnvironment.logger) { connection in
                var roles: [String: String] = [:]
                for try await (key, grants) in try await connection.query("SELECT key, grants::text FROM roles", logger: TestEnvironment.logger)
                    .decode((String, String).self) {
                    roles[key] = grants
                }
                return roles
            }
        }
    }

    // MARK: Roles

    @Test func rolesComeFromTheModulesThatBringThem() throws {
        let salesOnly = DefaultRoles.roles(modules: try Self.catalog(["sales"]).modules)
        #expect(Set(salesOnly.map(\.key)) == ["administrator", "finance", "read_only", "sales_director", "sales_manager", "salesperson"])
        let salesperson = try #require(salesOnly.first { $0.key == "salesperson" })
        #expect(salesperson.grants["custom"] == DefaultRoles.working(.own))
        #expect(salesperson.grants["module:sales"] == DefaultRoles.working(.own))
        // Nothing in Platform names a module's role.
        #expect(Set(DefaultRoles.platformRoles.map(\.key)) == ["administrator", "finance", "read_only"])
        let all = DefaultRoles.roles(modules: BuiltInModules.all)
        #expect(all.contains { $0.key == "service_agent" } && all.contains { $0.key == "purchaser" })
    }

    /// An instance that adds the service module later: enabling it for an existing tenant
    /// creates the role it brings, with its rights in every listed module, and leaves the
    /// tenant's other roles as the administrator set them.
    @Test func aModuleAddedLaterBringsItsRoleToExistingTenants() async throws {
        let config = try await TestEnvironment.ready()
        let slug = TestEnvironment.uniqueSlug("kit")
        let before = try Self.catalog(["sales", "knowledge"])
        let tenant = try await TestEnvironment.withOwner { connection in
            try await TenantProvisioner(catalog: before, hasher: config.passwordHashing).provision(
                .init(slug: slug, name: "Kit", plan: "trial", adminEmail: "admin@\(slug).test", adminPassword: "Right-password-1", locale: "en"),
                actor: "tests", on: connection, logger: logger).tenant
        }
        var roles = try await Self.roleGrants(tenant.id)
        #expect(roles["service_agent"] == nil)
        #expect(roles["salesperson"] != nil)
        // The administrator narrows the salesperson's knowledge rights; the set-up must keep that.
        _ = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
                try await connection.query("""
                    UPDATE roles SET grants = jsonb_set(grants, '{module:knowledge}', '{"read": "own"}') WHERE key = 'salesperson'
                    """, logger: logger)
            }
        }
        let after = try Self.catalog(["sales", "knowledge", "service"])
        try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: "admin@\(slug).test", on: connection, logger: logger)).user
                try await TenantModules.enable(["service"], on: connection, logger: logger)
                try await TenantModules.setUp(["service"], catalog: after, user: admin, on: connection, logger: logger)
            }
        }
        roles = try await Self.roleGrants(tenant.id)
        let agent = try JSONValue.parse(try #require(roles["service_agent"]))
        #expect(agent["custom"]?["read"] == .string("own"))
        #expect(agent["module:service"]?["update"] == .string("own"))
        #expect(agent["module:knowledge"]?["create"] == .string("all"))
        #expect(agent["module:sales"]?["read"] == .string("all"))
        let salesperson = try JSONValue.parse(try #require(roles["salesperson"]))
        #expect(salesperson["module:knowledge"] == .object(["read": .string("own")]))
    }

    // MARK: Migrations

    /// A module's own migration group: applied after the platform's, recorded under the
    /// module, not run twice, and refused when an applied one changes.
    @Test func aModuleMigrationGroupIsAppliedOnceAndGuarded() async throws {
        let config = try await TestEnvironment.ready()
        let module = "kit_\(UUID().uuidString.prefix(8).lowercased())"
        // In a schema of its own, out of the way of the suite's tests that walk every tenant
        // table of `public` (archive, deletion) in parallel; and no foreign key to `tenants`,
        // which would lock it while they provision tenants (a real module migration has both).
        let table = "\(module).notes"
        let first = Migration(version: 1, name: "notes", statements: [
            "CREATE SCHEMA \(module)",
            "GRANT USAGE ON SCHEMA \(module) TO {{app_role}}",
            "CREATE TABLE \(table) (tenant_id uuid NOT NULL, id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text NOT NULL)",
            "GRANT SELECT, INSERT ON \(table) TO {{app_role}}",
        ] + TenantTable.isolate(table))
        let second = Migration(version: 2, name: "note pins", statements: ["ALTER TABLE \(table) ADD COLUMN pinned boolean NOT NULL DEFAULT false"])
        let role = config.databaseURL.username
        let migrator = Migrator(migrations: AtriumHost.migrations, modules: [(module, [second, first])], appRole: role)
        let applied = try await TestEnvironment.withOwner { try await migrator.migrate(on: $0, logger: logger) }
        #expect(applied.map(\.description) == ["\(module) 1 notes", "\(module) 2 note pins"])
        let again = try await TestEnvironment.withOwner { try await migrator.migrate(on: $0, logger: logger) }
        #expect(again.isEmpty)
        let (recorded, forced) = try await TestEnvironment.withOwner { connection in
            let recorded = try await connection.query("SELECT count(*)::int FROM module_migrations WHERE module = \(module)", logger: logger).one(Int.self)
            let forced = try await connection.query("SELECT relforcerowsecurity FROM pg_class WHERE oid = \(table)::regclass", logger: logger).one(Bool.self)
            return (recorded, forced)
        }
        #expect(recorded == 2)
        #expect(forced)
        // Under RLS like every tenant table: the app role sees only the tenant's own rows.
        let one = try await TestEnvironment.provisionTenant("kitone")
        let two = try await TestEnvironment.provisionTenant("kittwo")
        let seen = try await TestEnvironment.withAppRole { connection in
            _ = try await connection.inTenantTransaction(one.info.id, logger: logger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table) (tenant_id, body) VALUES ('\(one.info.id)', 'mine')"), logger: logger)
            }
            return try await connection.inTenantTransaction(two.info.id, logger: logger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)"), logger: logger).one(Int.self)
            }
        }
        #expect(seen == 0)
        let changed = Migration(version: 2, name: "note pins", statements: ["ALTER TABLE \(table) ADD COLUMN pinned boolean"])
        await #expect(throws: Migrator.Failure.self) {
            try await TestEnvironment.withOwner { connection in
                try await Migrator(migrations: AtriumHost.migrations, modules: [(module, [first, changed])], appRole: role).migrate(on: connection, logger: logger)
            }
        }
        do {
            _ = try await TestEnvironment.withOwner { connection in
                try await Migrator(migrations: AtriumHost.migrations, modules: [(module, [first, changed])], appRole: role).migrate(on: connection, logger: logger)
            }
        } catch let failure as Migrator.Failure {
            #expect(failure.description.contains("\(module) migration 2"), "\(failure)")
        }
        try await TestEnvironment.withOwner { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(module) CASCADE"), logger: logger)
            try await connection.query("DELETE FROM module_migrations WHERE module = \(module)", logger: logger)
        }
    }

    // MARK: Layouts

    @Test func aModulesDefaultLayoutPlacesItsFieldsAndAppendsTheRest() throws {
        var account = try #require(SalesModule.manifest.entities.first { $0.key == "account" })
        #expect(!account.defaultSections.isEmpty)
        var custom = FieldDefinition(key: "x_credit", labels: ["en": "Credit"], type: .number)
        custom.isCustom = true
        account.fields.append(custom)
        if let index = account.fields.firstIndex(where: { $0.key == "website" }) { account.fields[index].active = false }
        let layout = MetadataAdmin.defaultLayout("detail", entity: account)
        let sections = try #require(layout["sections"]?.arrayValue)
        let titles = sections.compactMap { $0["title"]?["zh-CN"]?.stringValue }
        #expect(titles == ["客户信息", "联系方式", "开票与备注", "其他信息"])
        let placed = sections.flatMap { $0["fields"]?.arrayValue ?? [] }.compactMap { $0["field"]?.stringValue }
        #expect(placed.first == "name")
        #expect(placed.last == "x_credit")
        #expect(!placed.contains("website"))
        #expect(Set(placed).count == placed.count)
        #expect(Set(placed) == Set(account.activeFields.map(\.key)))
    }

    /// Through the API: the account's detail layout is the module's until the tenant saves its own.
    @Test func theTenantSeesTheModuleLayoutUntilItSavesItsOwn() async throws {
        try await F.withTenant("kitlayout") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let meta = try await api.call(.get, "/api/v1/meta/account")
            #expect(meta.status == .ok)
            let sections = meta.json["layouts"]?["detail"]?["sections"]?.arrayValue ?? []
            #expect(sections.count == 3, "\(meta.text.prefix(400))")
            #expect(sections.first?["title"]?["en"] == .string("Customer"))
            let saved = try await api.call(.put, "/api/v1/admin/entities/account/layouts/detail",
                                           json: #"{"sections": [{"title": {"en": "All"}, "columns": 1, "fields": [{"field": "name"}]}]}"#)
            #expect(saved.status == .ok, "\(saved.text)")
            let after = try await api.call(.get, "/api/v1/meta/account")
            #expect(after.json["layouts"]?["detail"]?["sections"]?.arrayValue?.count == 1)
        }
    }
}

/// `/readyz` counts every migration the build carries, the modules' too, by set rather than by
/// the highest number (a database with 28 but not 27 is not current).
@Suite struct ReadinessTests {
    @Test func readinessNamesEachMissingMigrationOfThePlatformAndTheModules() {
        func missing(_ core: Set<Int>, _ modules: [String: Set<Int>]) -> String? {
            OperationsRoutes.missing(expectedCore: [1, 2, 3], expectedModules: ["sales": [1], "service": []], core: core, modules: modules)
        }
        #expect(missing([1, 2, 3], ["sales": [1]]) == nil)
        #expect(missing([1, 3], ["sales": [1]]) == "platform 2", "a gap below the highest version")
        #expect(missing([1, 2, 3], [:]) == "sales 1")
        #expect(missing([1], [:]) == "platform 2, 3; sales 1")
    }

    @Test func theTestDatabaseIsReadyForThisBuild() async throws {
        try await RecordFixtures.withTenant("readyz") { client, _ in
            let response = try await client.execute(uri: "/readyz", method: .get)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import AtriumApp
import PostgresNIO
import Tenancy
import Testing

/// `atrium-admin tenant delete`: two steps (suspend, then delete with --confirm), and every row
/// of the tenant leaves every table while another tenant's rows stay, counted per table.
@Suite struct TenantDeletionTests {
    static func counts(_ tenant: TestEnvironment.Tenant) async throws -> [String: Int] {
        let logger = TestEnvironment.logger
        return try await TestEnvironment.withOwner { connection in
            try await TenantDirectory.rowCounts(tenantID: tenant.info.id, on: connection, logger: logger)
        }
    }

    /// Data in most tenant tables: records with index keys and unique claims, a department, a
    /// share, a sharing rule, a role, a dimension, a saved view, a token, sessions and audit.
    static func populate(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant) async throws {
        let api = try await RecordAPIClient.admin(client, tenant)
        try await api.createObject(RecordFixtures.projectObject)
        #expect(try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_name", json: #"{"unique": true}"#).status == .ok)
        let record = try await api.createID("x_project", #"{"x_name": "to delete", "x_budget": "5", "x_headcount": 3}"#)
        let department = try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "East"}"#)
        let departmentID = try #require(department.id)
        #expect(try await api.call(.post, "/api/v1/x_project/\(record)/shares", json: #"{"kind": "department", "id": "\#(departmentID)", "access": "read"}"#).status == .created)
        #expect(try await api.call(.post, "/api/v1/admin/roles", json: #"{"key": "temp", "labels": {"en": "Temp"}, "grants": {"custom": {"read": "own"}}}"#).status == .created)
        let roles = try await api.call(.get, "/api/v1/admin/roles")
        let roleID = try #require(roles.json["roles"]?.asArray?.first { $0["key"] == .string("temp") }?["id"]?.stringValue)
        #expect(try await api.call(.post, "/api/v1/admin/sharing-rules", json: #"{"entity": "x_project", "department_id": "\#(departmentID)", "kind": "role", "grantee_id": "\#(roleID)", "access": "read"}"#).status == .created)
        #expect(try await api.call(.put, "/api/v1/admin/dimension", json: #"{"field": "x_region"}"#).status == .ok)
        _ = try await RecordFixtures.createMember(in: tenant)  // a user with a role (user_roles)
        var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
        #expect(try await browser.post("/app/x_project/views", ["name": "All", "query": "q=to"]).0 == .seeOther)
    }

    @Test func deletingATenantRemovesEveryRowOfItAndNothingElse() async throws {
        try await RecordFixtures.withTenants("del-a", "del-b") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            try await Self.populate(client, a)
            try await Self.populate(client, b)
            let beforeA = try await Self.counts(a), beforeB = try await Self.counts(b)
            let filled = beforeA.filter { $0.value > 0 }.keys.sorted()
            for table in ["records", "record_index", "record_unique", "audit_log", "users", "roles", "user_roles", "departments", "record_shares",
                          "sharing_rules", "tenant_dimension", "saved_views", "api_tokens", "sessions", "tenant_modules", "entity_defs", "field_defs", "record_counters"] where beforeA[table] != nil {
                #expect(beforeA[table]! > 0, "the fixture left \(table) empty")
            }
            #expect(filled.count >= 14, "only \(filled) hold rows")

            let slug = a.info.slug
            let active = try AdminCLITests.admin(["tenant", "delete", slug, "--confirm", slug])
            #expect(active.status != 0)
            #expect(active.stderr.contains("suspend it first"), "\(active.stderr)")
            #expect(try AdminCLITests.admin(["tenant", "suspend", slug]).status == 0)
            let unconfirmed = try AdminCLITests.admin(["tenant", "delete", slug])
            #expect(unconfirmed.status != 0)
            #expect(unconfirmed.stderr.contains("--confirm \(slug)"), "\(unconfirmed.stderr)")
            let wrong = try AdminCLITests.admin(["tenant", "delete", slug, "--confirm", b.info.slug])
            #expect(wrong.status != 0)
            let refused = try await Self.counts(a)
            for table in ["records", "users", "departments", "record_index"] { #expect(refused[table] == beforeA[table], "a refused delete removed \(table) rows") }

            let deleted = try AdminCLITests.admin(["tenant", "delete", slug, "--confirm", slug])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(deleted.stdout.hasPrefix("deleted tenant \(slug):"))
            let afterA = try await Self.counts(a)
            #expect(afterA.keys.sorted() == beforeA.keys.sorted())
            #expect(afterA.values.allSatisfy { $0 == 0 }, "rows left: \(afterA.filter { $0.value > 0 })")
            #expect(try await Self.counts(b) == beforeB, "the other tenant lost rows")
            let logger = TestEnvironment.logger
            #expect(try await TestEnvironment.withOwner { try await TenantDirectory.find(slug: slug, on: $0, logger: logger) } == nil)
            let shown = try AdminCLITests.admin(["tenant", "show", b.info.slug])
            #expect(shown.stdout.contains("x_project 1"), "\(shown.stdout)")
            #expect(try AdminCLITests.admin(["tenant", "delete", slug, "--confirm", slug]).status != 0, "deleting twice")
        }
    }
    /// Single-tenant mode of a private deployment: with ATRIUM_DEFAULT_TENANT set, a request
    /// without a tenant sub-domain or header is served by that tenant, on the same code path.
    @Test func singleTenantModeServesTheConfiguredTenantOnAnyHost() async throws {
        let tenant = try await TestEnvironment.provisionTenant("single")
        var config = try await TestEnvironment.ready()
        config.defaultTenant = tenant.info.slug
        config.databasePoolSize = 2
        let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
        try await app.test(.live) { client in
            let login = try await client.execute(uri: "/login", method: .get)  // no tenant sub-domain, no X-Tenant
            #expect(login.status == .ok)
            #expect(String(buffer: login.body).contains(tenant.info.name))
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
        }
    }
}

/// `atrium-admin tenant export` / `tenant import`: a round trip restores every row of every
/// tenant table identically (ids included) under a new slug.
@Suite struct TenantArchiveTests {
    /// Each table's rows of a tenant as JSON texts without the tenant id (and the audit
    /// trail's own ids, which an import gives anew).
    static func rows(_ tenantID: UUID) async throws -> [String: Set<String>] {
        let logger = TestEnvironment.logger
        return try await TestEnvironment.withOwner { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                var result: [String: Set<String>] = [:]
                for table in try await TenantDirectory.tenantTables(on: connection, logger: logger) where !TenantArchive.skipped.contains(table) {
                    let drop = table == "audit_log" ? " - 'id'" : table == "users" ? " - 'password_hash'" : ""
                    var binds = PostgresBindings()
                    binds.append(tenantID)
                    var set = Set<String>()
                    for try await row in try await connection.query(PostgresQuery(unsafeSQL: "SELECT (to_jsonb(t) - 'tenant_id'\(drop))::text FROM \(table) t WHERE tenant_id = $1", binds: binds),
                                                                    logger: logger).decode(String.self) {
                        set.insert(row)
                    }
                    result[table] = set
                }
                return result
            }
        }
    }

    @Test func anExportImportsBackIdenticallyUnderANewSlug() async throws {
        try await RecordFixtures.withTenants("arc-a") { client, tenants in
            let a = tenants[0]
            try await TenantDeletionTests.populate(client, a)
            let api = try await RecordAPIClient.admin(client, a)
            #expect(try await api.call(.put, "/api/v1/admin/entities/x_project/layouts/list", json: #"{"columns": ["x_name", "x_budget"], "sort": "x_name"}"#).status == .ok)
            let second = try await api.createID("x_project", #"{"x_name": "华通 second", "x_stage": "build", "x_start": "2026-11-23", "x_budget": {"amount": "12.30", "currency": "USD"}}"#)
            // An attachment: its row and its bytes travel with the archive.
            let scan = Array("%PDF-1.4 contract 合同 \(UUID())".utf8)
            let uploaded = try await AttachmentTests.upload(api, "/api/v1/x_project/\(second)",
                                                            [.init(name: "file", fileName: "合同.pdf", contentType: "application/pdf", content: scan)])
            try #require(uploaded.status == .created, "\(uploaded.text)")
            let before = try await Self.rows(a.info.id)

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("arc-\(UUID().uuidString).jsonl").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            let exported = try AdminCLITests.admin(["tenant", "export", a.info.slug, "--output", file])
            #expect(exported.status == 0, "\(exported.stderr)")
            #expect(exported.stdout.contains("without password hashes"))
            let archive = try String(contentsOfFile: file, encoding: .utf8)
            #expect(!archive.contains("$argon2id$"), "a password hash left in the archive")
            #expect(!archive.contains("token_hash"), "sessions or tokens in the archive")

            let slug = TestEnvironment.uniqueSlug("arc-b")
            let imported = try AdminCLITests.admin(["tenant", "import", file, "--slug", slug, "--name", "Restored 恢复"])
            #expect(imported.status == 0, "\(imported.stderr)")
            let again = try AdminCLITests.admin(["tenant", "import", file, "--slug", slug])
            #expect(again.status != 0, "the same slug twice")
            let logger = TestEnvironment.logger
            let restored = try #require(try await TestEnvironment.withOwner { try await TenantDirectory.find(slug: slug, on: $0, logger: logger) })
            #expect(restored.name == "Restored 恢复")
            let after = try await Self.rows(restored.id)
            #expect(Set(after.keys) == Set(before.keys))
            for (table, rows) in before.sorted(by: { $0.key < $1.key }) where table != "audit_log" {
                #expect(after[table] == rows, "\(table) differs: \(rows.subtracting(after[table] ?? []).prefix(2)) vs \((after[table] ?? []).subtracting(rows).prefix(2))")
            }
            let newAudit = (after["audit_log"] ?? []).subtracting(before["audit_log"] ?? [])
            #expect((before["audit_log"] ?? []).isSubset(of: after["audit_log"] ?? []))
            #expect(newAudit.count == 1 && newAudit.first?.contains("tenant.imported") == true, "\(newAudit)")
            #expect(!PasswordHasher().verify("", against: TenantArchive.noPassword), "the stand-in hash must match no password")
            #expect(before["records"]?.count == 2 + SalesPipelineDefaults.count + 6 + KnowledgeDefaults.categories + ServiceDefaults.records,
                    "2 records, the seeded pipeline, the 6 expense categories, the knowledge categories, the service settings and SLA policies")

            // The restored administrator signs in after a password reset and sees the same records.
            let reset = try AdminCLITests.admin(["user", "reset-password", "--tenant", slug, "--email", a.adminEmail, "--password", "Restored-password-1"])
            #expect(reset.status == 0, "\(reset.stderr)")
            let restoredAPI = try await RecordAPIClient.signIn(client, slug: slug, email: a.adminEmail, password: "Restored-password-1")
            let names = try await restoredAPI.list("x_project", sort: "x_name").records.compactMap { $0["x_name"]?.stringValue }
            #expect(names == ["to delete", "华通 second"])
            let restoredFiles = try await AttachmentTests.files(restoredAPI, "/api/v1/x_project/\(second)")
            let href = try #require(restoredFiles.json["attachments"]?[0]?["href"]?.stringValue, "\(restoredFiles.text)")
            let downloaded = try await AttachmentTests.download(restoredAPI, href)
            #expect(downloaded.status == .ok)
            #expect(Array(downloaded.body.readableBytesView) == scan, "the restored tenant serves the same bytes")
            #expect(archive.contains(#"{"file":{"#), "the archive carries the file")

            // A damaged archive is refused and leaves nothing behind.
            let cut = archive.split(separator: "\n").dropLast().joined(separator: "\n")
            try cut.write(toFile: file, atomically: true, encoding: .utf8)
            let truncated = try AdminCLITests.admin(["tenant", "import", file, "--slug", TestEnvironment.uniqueSlug("arc-c")])
            #expect(truncated.status != 0)
            #expect(truncated.stderr.contains("end line"), "\(truncated.stderr)")

            // An edited value with every row count intact is refused too: the end line's digest.
            #expect(archive.contains("华通 second"))
            try archive.replacingOccurrences(of: "华通 second", with: "华通 edited").write(toFile: file, atomically: true, encoding: .utf8)
            let edited = try AdminCLITests.admin(["tenant", "import", file, "--slug", TestEnvironment.uniqueSlug("arc-d")])
            #expect(edited.status != 0)
            #expect(edited.stderr.contains("altered"), "\(edited.stderr)")
        }
    }
}

/// Plan limits: users and records beyond the tenant's limit are refused on every path with a
/// message naming the limit; operators change limits; ended trials are suspended.
@Suite struct PlanLimitTests {
    @Test func usersAndRecordsBeyondTheLimitAreRefusedWithTheLimitNamed() async throws {
        let tenant = try await TestEnvironment.provisionTenant("limits", limited: true)
        let slug = tenant.info.slug
        let shown = try AdminCLITests.admin(["tenant", "limits", slug])
        #expect(shown.stdout.contains("max users") && shown.stdout.contains("5"), "\(shown.stdout)")
        for index in 1...4 {
            let created = try AdminCLITests.admin(["user", "create", "--tenant", slug, "--email", "u\(index)@\(slug).test", "--name", "User \(index)", "--password", "Limit-password-1"])
            #expect(created.status == 0, "\(created.stderr)")
        }
        let sixth = try AdminCLITests.admin(["user", "create", "--tenant", slug, "--email", "u5@\(slug).test", "--name", "User 5", "--password", "Limit-password-1"])
        #expect(sixth.status == 1)
        #expect(sixth.stderr.contains("the trial plan allows 5 active users"), "\(sixth.stderr)")

        let config = try await TestEnvironment.ready()
        let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
        try await app.test(.live) { client in
            var browser = try await WebAppTests.Browser.signIn(client, slug: slug, email: tenant.adminEmail, password: tenant.password)
            let invite = try await browser.post("/app/admin/users", ["email": "web@\(slug).test", "name": "Web"])
            #expect(invite.0 == .unprocessableContent)
            #expect(invite.1.contains("allows 5 active users"), "\(invite.1)")
            #expect(try AdminCLITests.admin(["tenant", "limits", slug, "--max-users", "6", "--max-records", "2"]).status == 0)
            // 2 projects: the modules' seeded reference data (pipeline stages, expense categories) does not count.
            #expect(try await browser.post("/app/admin/users", ["email": "web@\(slug).test", "name": "Web"]).0 == .ok)

            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(RecordFixtures.projectObject)
            let first = try await api.createID("x_project", #"{"x_name": "one"}"#)
            _ = try await api.createID("x_project", #"{"x_name": "two"}"#)
            let third = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "three"}"#)
            #expect(third.status == .unprocessableContent)
            #expect(third.errorCode == "plan_limit_records")
            #expect(third.errorMessage.contains("allows 2 records"), "\(third.text)")
            let imported = try await api.importCSV("x_project", "Name\nfour\n")
            #expect(imported.status == .unprocessableContent)
            #expect(try await api.count("x_project") == 2)
            #expect(try await api.call(.delete, "/api/v1/x_project/\(first)").status == .noContent)
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "three"}"#).status == .created)
            #expect(try AdminCLITests.admin(["tenant", "limits", slug, "--max-records", "none"]).status == 0)
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "four"}"#).status == .created)
            #expect(try AdminCLITests.admin(["tenant", "limits", slug, "--max-users", "0"]).status == 1)
        }
    }

    @Test func anEndedTrialIsSuspendedWithItsDataKept() async throws {
        let ended = try await TestEnvironment.provisionTenant("trial-end")
        let running = try await TestEnvironment.provisionTenant("trial-run")
        #expect(try AdminCLITests.admin(["tenant", "limits", ended.info.slug, "--trial-ends", "2020-01-01"]).status == 0)
        let expired = try AdminCLITests.admin(["tenant", "expire-trials"])
        #expect(expired.status == 0, "\(expired.stderr)")
        #expect(expired.stdout.contains(ended.info.slug))
        #expect(!expired.stdout.contains(running.info.slug))
        let logger = TestEnvironment.logger
        #expect(try await TestEnvironment.withOwner { try await TenantDirectory.find(slug: ended.info.slug, on: $0, logger: logger) }?.status == "suspended")
        #expect(try await TestEnvironment.withOwner { try await TenantDirectory.find(slug: running.info.slug, on: $0, logger: logger) }?.status == "active")
        #expect(try await TenantDeletionTests.counts(ended)["users"] == 1, "data kept")
    }
}

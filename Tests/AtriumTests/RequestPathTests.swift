import AtriumApp
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import PostgresNIO
import Testing

/// The request path: caches keyed by the tenant's version stamps stay right across app nodes,
/// and a read request writes nothing but a throttled "last used" stamp.
@Suite struct RequestPathTests {
    /// Two servers on one database, as behind a load balancer: what one node changes in the
    /// metadata the other uses on its very next request, though it had the old metadata cached.
    @Test func aFieldAddedOnOneNodeIsUsedByTheOtherOnItsNextRequest() async throws {
        try await Self.withTwoNodes("nodes") { nodeA, nodeB, tenant in
            let a = try await RecordAPIClient.admin(nodeA, tenant)
            let b = RecordAPIClient(client: nodeB, slug: a.slug, token: a.token)
            _ = try await a.createObject(RecordFixtures.simpleObject("x_ware"))
            // Node B learns the object and caches the tenant's metadata without the field.
            let before = try await b.call(.post, "/api/v1/x_ware", json: #"{"x_name": "first", "x_colour": "red"}"#)
            #expect(before.status == .unprocessableContent && before.errorCode == "unknown_field" && before.errorField == "x_colour")

            let added = try await a.call(.post, "/api/v1/admin/entities/x_ware/fields",
                                         json: #"{"key": "x_colour", "labels": {"en": "Colour"}, "type": "text"}"#)
            #expect(added.status == .created, "\(added.text)")
            let created = try await b.call(.post, "/api/v1/x_ware", json: #"{"x_name": "second", "x_colour": "red"}"#)
            #expect(created.status == .created, "node B still used its cached metadata: \(created.text)")
            #expect(created.json["x_colour"]?.stringValue == "red")
            let meta = try await b.call(.get, "/api/v1/meta/x_ware")
            #expect(meta.text.contains("x_colour"))

            // And back: deactivated on B, refused on A at once.
            let off = try await b.call(.patch, "/api/v1/admin/entities/x_ware/fields/x_colour", json: #"{"active": false}"#)
            #expect(off.status == .ok, "\(off.text)")
            let refused = try await a.call(.post, "/api/v1/x_ware", json: #"{"x_name": "third", "x_colour": "blue"}"#)
            #expect(refused.status == .unprocessableContent && refused.errorField == "x_colour", "\(refused.text)")
        }
    }

    /// A member's access context is cached per node; a role granted by any writer (here SQL
    /// as the application role, as another node or a script would) takes effect on the next
    /// request, and a role taken away as well.
    @Test func aRoleChangeReachesACachedAccessContextOnTheNextRequest() async throws {
        try await Self.withTwoNodes("roles") { nodeA, nodeB, tenant in
            let admin = try await RecordAPIClient.admin(nodeA, tenant)
            _ = try await admin.createObject(RecordFixtures.simpleObject("x_note"))
            for name in ["one", "two"] { _ = try await admin.createID("x_note", #"{"x_name": "\#(name)"}"#) }
            let member = try await RecordFixtures.createMember(in: tenant, role: "salesperson")
            let onA = try await RecordAPIClient.signIn(nodeA, slug: tenant.info.slug, email: member.email, password: member.password)
            let onB = RecordAPIClient(client: nodeB, slug: onA.slug, token: onA.token)
            // Own scope: the administrator's notes are not hers, on either node.
            #expect(try await onA.list("x_note").total == 0)
            #expect(try await onB.list("x_note").total == 0)

            try await Self.setRole("sales_director", of: member.email, granted: true, tenant: tenant)
            #expect(try await onA.list("x_note").total == 2)
            #expect(try await onB.list("x_note").total == 2)

            try await Self.setRole("sales_director", of: member.email, granted: false, tenant: tenant)
            #expect(try await onB.list("x_note").total == 0)
            #expect(try await onA.list("x_note").total == 0)
        }
    }

    /// `last_used_at` of an API token is written when it is older than a minute, not on every
    /// request (that commit cost ~5 ms of every GET).
    @Test func aTokenRecordsItsLastUseAtMostOnceAMinute() async throws {
        try await RecordFixtures.withTenant("touch") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            func lastUsed() async throws -> Date? {
                try await Self.inTenant(tenant) { connection, logger in
                    try await connection.query("SELECT max(last_used_at) FROM api_tokens WHERE name = 'record-tests'", logger: logger)
                        .collect().first?.decode(Date?.self) ?? nil
                }
            }
            #expect(try await api.call(.get, "/api/v1/me").status == .ok)
            let first = try #require(try await lastUsed())
            #expect(try await api.call(.get, "/api/v1/me").status == .ok)
            #expect(try await lastUsed() == first, "rewritten within the minute")

            try await Self.inTenant(tenant) { connection, logger in
                try await connection.query("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'", logger: logger)
            }
            let stale = try #require(try await lastUsed())
            #expect(try await api.call(.get, "/api/v1/me").status == .ok)
            let refreshed = try #require(try await lastUsed())
            #expect(refreshed > stale)
        }
    }

    /// A failed write inside a request leaves nothing behind although the request shares one
    /// transaction with the lookups before it, and the next request works normally: a taken
    /// unique value is found after the record row was inserted and its auto-number drawn.
    @Test func aRefusedWriteInTheRequestTransactionLeavesNothingBehind() async throws {
        try await RecordFixtures.withProject("unit") { api, tenant in
            let field = try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                           json: #"{"key": "x_ref", "labels": {"en": "Ref"}, "type": "text", "unique": true}"#)
            #expect(field.status == .created, "\(field.text)")
            let year = RecordFixtures.autoNumberYear
            let first = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "first", "x_ref": "R-1"}"#)
            #expect(first.json["x_code"]?.stringValue == "PRJ-\(year)-0001")
            let before = try await RecordFixtures.storedRecordCount(tenant)
            let refused = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "second", "x_ref": "r-1 "}"#)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "duplicate_value" && refused.errorField == "x_ref", "\(refused.text)")
            #expect(try await RecordFixtures.storedRecordCount(tenant) == before)
            let created = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "third", "x_ref": "R-2"}"#)
            #expect(created.status == .created)
            #expect(created.json["x_code"]?.stringValue == "PRJ-\(year)-0002", "the refused request's number was kept")
            #expect(try await RecordFixtures.storedRecordCount(tenant) == before + 1)
        }
    }

    /// Totals are exact up to the cap and say so beyond it; `count=exact` counts everything;
    /// paging goes on past the cap, and the list page shows e.g. "1000+".
    @Test func aListTotalIsExactUpToTheCapAndMarkedBeyondIt() async throws {
        try await RecordFixtures.withTenant("cap") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            _ = try await api.createObject(RecordFixtures.simpleObject("x_bulk"))
            let cap = RecordQuery.countCap
            try await Self.inTenant(tenant) { connection, logger in
                try await connection.query("""
                    INSERT INTO records (tenant_id, entity, data, search)
                    SELECT \(tenant.info.id), 'x_bulk', jsonb_build_object('x_name', 'n' || g), 'n' || g FROM generate_series(1, \(cap + 100)) g
                    """, logger: logger)
            }
            let capped = try await api.list("x_bulk")
            #expect(capped.status == .ok && capped.records.count == 50)
            #expect(capped.total == cap && capped.json["total_exact"] == .bool(false), "\(capped.json["total"] ?? .null)")
            let exact = try await api.call(.get, "/api/v1/x_bulk?count=exact&limit=1")
            #expect(exact.total == cap + 100 && exact.json["total_exact"] == .bool(true))
            let beyond = try await api.list("x_bulk", offset: cap + 50)
            #expect(beyond.records.count == 50 && beyond.total == cap + 100 && beyond.json["total_exact"] == .bool(false))
            let narrow = try await api.call(.get, "/api/v1/x_bulk?q=n1050")
            #expect(narrow.total == 1 && narrow.json["total_exact"] == .bool(true))
            let bad = try await api.call(.get, "/api/v1/x_bulk?count=most")
            #expect(bad.status == .badRequest && bad.errorField == "count")

            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            _ = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            let page = String(buffer: try await browser.send(.get, "/app/x_bulk").body)
            #expect(page.contains(">\(cap)+</span>"), "the list page does not mark the capped total")
            let last = String(buffer: try await browser.send(.get, "/app/x_bulk?page=\(cap / 50 + 1)").body)
            #expect(last.contains("page=\(cap / 50 + 2)"), "no next page past the cap")
        }
    }

    /// Search through the token table: Chinese matches anywhere, letters and digits by word
    /// prefix, a one-character query still scans; tokens follow edits; hidden fields stay
    /// unsearchable (PermissionTests) because the exact match still decides.
    @Test func searchFindsChineseAnywhereAndWordsByTheirStart() async throws {
        try await RecordFixtures.withProject("search") { api, tenant in
            let huatong = try await api.createID("x_project", #"{"x_name": "北京华通科技有限公司 Huatong-2026 Ltd"}"#)
            let tencent = try await api.createID("x_project", #"{"x_name": "深圳腾讯 Tencent"}"#)
            func found(_ q: String) async throws -> Set<String> { Set(try await api.list("x_project", q: q).records.strings("id")) }
            #expect(try await found("华通科技") == [huatong])
            #expect(try await found("科技有限") == [huatong])
            #expect(try await found("通") == [huatong], "one Chinese character scans")
            #expect(try await found("huat") == [huatong])
            #expect(try await found("HUATONG-20") == [huatong])
            #expect(try await found("2026") == [huatong])
            #expect(try await found("atong").isEmpty, "letters match from the start of a word")
            #expect(try await found("腾讯 tenc") == [tencent])
            #expect(try await found("华通 tencent").isEmpty)

            let record = try await api.call(.get, "/api/v1/x_project/\(huatong)")
            let renamed = try await api.call(.patch, "/api/v1/x_project/\(huatong)", json: #"{"version": \#(record.version ?? 0), "x_name": "上海浦东发展 Pudong"}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(try await found("华通").isEmpty)
            #expect(try await found("浦东") == [huatong])
            let tokens = try await Self.inTenant(tenant) { connection, logger in
                try await connection.query("SELECT array_agg(token ORDER BY token) FROM record_search_tokens WHERE record_id = \(UUID(uuidString: huatong)!)",
                                           logger: logger).collect().first?.decode([String].self) ?? []
            }
            #expect(tokens == ["pudong", "上海", "发展", "东发", "浦东", "海浦"].sorted(), "\(tokens)")
        }
    }

    /// What the fast paths rely on, checked as the application role under forced RLS (seq
    /// scans off, so the answer is whether PostgreSQL *may* use the index at all): the token
    /// lookup and the creation-time order use indexes; `LIKE` on the search text cannot.
    @Test func theFastPathsCanUseTheirIndexesUnderRowLevelSecurity() async throws {
        let tenant = try await TestEnvironment.provisionTenant("plans")
        let tenantID = tenant.info.id
        let plans = try await Self.inTenant(tenant) { connection, logger in
            try await connection.query("SELECT set_config('enable_seqscan', 'off', true)", logger: logger)
            func plan(_ sql: String) async throws -> String {
                var lines: [String] = []
                for try await line in try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN " + sql), logger: logger).decode(String.self) {
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
            let t = tenantID.uuidString.lowercased()
            return [
                try await plan("SELECT record_id FROM record_search_tokens st WHERE st.tenant_id = '\(t)' AND st.entity = 'account' AND st.token = '华通'"),
                try await plan("SELECT id FROM records r WHERE r.tenant_id = '\(t)' AND r.entity = 'account' AND r.deleted_at IS NULL ORDER BY r.created_at DESC, r.id LIMIT 50"),
                try await plan("SELECT id FROM records r WHERE r.tenant_id = '\(t)' AND r.entity = 'account' AND r.search LIKE '%华通%'"),
            ]
        }
        // An index serves the token lookup (which one is the planner's choice: on a small tenant
        // it may take `record_search_tokens_by_record` and filter; with seq scans off, a lookup
        // no index could serve would still show a Seq Scan).
        #expect(plans[0].contains("Index") && !plans[0].contains("Seq Scan"), "\(plans[0])")
        #expect(plans[1].contains("records_live") && !plans[1].contains("Seq Scan"), "\(plans[1])")
        #expect(!plans[2].contains("records_search"), "LIKE became leakproof? then the token table can go: \(plans[2])")
    }

    /// A list sorted by a filterable field is read in key order: text case-insensitively,
    /// numbers by value, records without a value last in both directions, and paging across
    /// the end of the keyed records neither skips nor repeats one.
    @Test func sortingByAFilterableFieldPagesInValueOrderWithEmptyValuesLast() async throws {
        try await RecordFixtures.withTenant("keysort") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            _ = try await api.createObject(#"""
                {"key": "x_fruit", "labels": {"en": "Fruit"}, "fields": [
                  {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
                  {"key": "x_code", "labels": {"en": "Code"}, "type": "text", "filterable": true},
                  {"key": "x_weight", "labels": {"en": "Weight"}, "type": "number", "filterable": true}]}
                """#)
            let rows: [(String, String?, String?)] = [("a", "banana", "10"), ("b", "Apple", "-2.5"), ("c", "cherry", "9.75"),
                                                      ("d", nil, "100"), ("e", nil, nil), ("f", "apricot", nil)]
            for (name, code, weight) in rows {
                var body = #""x_name": "\#(name)""#
                if let code { body += #", "x_code": "\#(code)""# }
                if let weight { body += #", "x_weight": \#(weight)"# }
                _ = try await api.createID("x_fruit", "{\(body)}")
            }
            func names(_ sort: String, limit: Int = 50, offset: Int = 0) async throws -> [String] {
                try await api.list("x_fruit", sort: sort, limit: limit, offset: offset).records.strings("x_name")
            }
            // Records without a value tie, and ties go by id: compare them as a set.
            func expectOrder(_ sort: String, _ valued: [String], thenAnyOf empty: Set<String>) async throws {
                let got = try await names(sort)
                #expect(Array(got.prefix(valued.count)) == valued && Set(got.dropFirst(valued.count)) == empty, "\(sort): \(got)")
            }
            try await expectOrder("x_code", ["b", "f", "a", "c"], thenAnyOf: ["d", "e"])
            try await expectOrder("-x_code", ["c", "a", "f", "b"], thenAnyOf: ["d", "e"])
            try await expectOrder("x_weight", ["b", "c", "a", "d"], thenAnyOf: ["e", "f"])
            try await expectOrder("-x_weight", ["d", "a", "c", "b"], thenAnyOf: ["e", "f"])
            let whole = try await names("x_code")
            var paged: [String] = []
            for offset in stride(from: 0, to: 8, by: 2) { paged += try await names("x_code", limit: 2, offset: offset) }
            #expect(paged == whole)
            #expect(try await names("x_code", limit: 1, offset: 5) == [whole[5]])
            #expect(try await api.list("x_fruit", sort: "x_code", limit: 2, offset: 4).total == 6)
        }
    }

    /// Keyset paging: `next_cursor` → `after=` walks a list sorted by creation or update time
    /// in either direction, ties on the same microsecond included, without skipping or repeating;
    /// an export of more rows than a page uses it too.
    @Test func cursorPagingWalksEveryRecordOnceInOrder() async throws {
        try await RecordFixtures.withTenant("cursor") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            _ = try await api.createObject(RecordFixtures.simpleObject("x_item"))
            // 450 records, created in three statements: 150 share each creation time.
            try await Self.inTenant(tenant) { connection, logger in
                for batch in 0..<3 {
                    try await connection.query("""
                        INSERT INTO records (tenant_id, entity, data, search, created_at, updated_at)
                        SELECT \(tenant.info.id), 'x_item', jsonb_build_object('x_name', 'i' || (\(batch * 150) + g)), 'i', now() - \(batch) * interval '1 minute', now()
                        FROM generate_series(1, 150) g
                        """, logger: logger)
                }
            }
            for sort in ["-created_at", "created_at", "-updated_at"] {
                let whole = try await api.call(.get, "/api/v1/x_item?sort=\(sort)&limit=200&count=exact")
                #expect(whole.total == 450)
                var seen: [String] = []
                var cursor: String? = nil
                var pages = 0
                repeat {
                    let page = try await api.call(.get, "/api/v1/x_item?sort=\(sort)&limit=40" + (cursor.map { "&after=\($0)" } ?? ""))
                    #expect(page.status == .ok, "\(page.text)")
                    seen += page.records.strings("id")
                    cursor = page.json["next_cursor"]?.stringValue
                    pages += 1
                } while cursor != nil && pages < 20
                #expect(seen.count == 450 && Set(seen).count == 450, "\(sort): \(seen.count) ids, \(Set(seen).count) distinct")
                let byOffset = try await (0..<3).asyncFlatMap { try await api.list("x_item", sort: sort, limit: 200, offset: $0 * 200).records.strings("id") }
                #expect(seen == byOffset, "\(sort): cursor order differs from offset order")
            }
            let refused = try await api.call(.get, "/api/v1/x_item?sort=x_name&after=\(UUID().uuidString)")
            #expect(refused.status == .badRequest && refused.errorField == "after")
            let export = try await api.export("x_item")
            #expect(export.csvRows.count == 451, "header + 450 rows, got \(export.csvRows.count)")
            #expect(Set(export.csvColumn("id")).count == 450)
        }
    }

    // MARK: Support

    static func withTwoNodes(_ prefix: String,
                             _ body: @escaping @Sendable (any TestClientProtocol, any TestClientProtocol, TestEnvironment.Tenant) async throws -> Void) async throws {
        try await RecordTestGate.shared.run {
            let tenant = try await TestEnvironment.provisionTenant(prefix)
            var config = try await TestEnvironment.ready()
            config.databasePoolSize = 2
            let nodeA = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
            let nodeB = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
            try await nodeA.test(.live) { clientA in
                try await nodeB.test(.live) { clientB in
                    try await body(clientA, clientB, tenant)
                }
            }
        }
    }

    @discardableResult
    static func inTenant<T: Sendable>(_ tenant: TestEnvironment.Tenant,
                                      _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in try await body(connection, logger) }
        }
    }

    static func setRole(_ role: String, of email: String, granted: Bool, tenant: TestEnvironment.Tenant) async throws {
        try await inTenant(tenant) { connection, logger in
            if granted {
                try await connection.query("""
                    INSERT INTO user_roles (tenant_id, user_id, role_id)
                    SELECT u.tenant_id, u.id, r.id FROM users u, roles r WHERE u.email = \(email) AND r.key = \(role)
                    """, logger: logger)
            } else {
                try await connection.query("""
                    DELETE FROM user_roles WHERE user_id = (SELECT id FROM users WHERE email = \(email))
                      AND role_id = (SELECT id FROM roles WHERE key = \(role))
                    """, logger: logger)
            }
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncFlatMap<T>(_ transform: (Element) async throws -> [T]) async throws -> [T] {
        var result: [T] = []
        for element in self { result += try await transform(element) }
        return result
    }
}

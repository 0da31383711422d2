import AtriumApp
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Testing

/// Customer pools (公海, issue 15) on the shared engine: who may see and claim a pool's
/// records, the claim limit, returning a record, assigning from the pool, the reclaim rules on a
/// clock the test moves (idle records, deactivated owners, the nearest department pool), two
/// reclaim runs at once, and the last activity date as a system column.
@Suite struct PoolTests {
    typealias F = PermissionFixtures
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    static func pool(_ admin: RecordAPIClient, _ object: [String: JSONValue]) async throws -> String {
        let created = try await admin.call(.post, "/api/v1/admin/pools", json: body(object))
        try #require(created.status == .created, "\(created.text)")
        return try #require(created.id)
    }

    static func department(_ admin: RecordAPIClient, _ name: String, parent: String? = nil) async throws -> String {
        let created = try await admin.call(.post, "/api/v1/admin/departments", json: body(["name": .string(name), "parent_id": parent.map(JSONValue.string) ?? .null]))
        try #require(created.status == .created, "\(created.text)")
        return try #require(created.id)
    }

    static func account(_ api: RecordAPIClient, _ name: String, owner: String? = nil) async throws -> String {
        var object: [String: JSONValue] = ["name": .string(name)]
        if let owner { object["owner_id"] = .string(owner) }
        return try await api.createID("account", body(object))
    }

    static func release(_ api: RecordAPIClient, _ id: String, pool: String? = nil, reason: String? = nil) async throws -> RecordAPIResponse {
        var object: [String: JSONValue] = [:]
        if let pool { object["pool_id"] = .string(pool) }
        if let reason { object["reason"] = .string(reason) }
        return try await api.call(.post, "/api/v1/account/\(id)/release", json: body(object))
    }

    static func inPool(_ api: RecordAPIClient, _ pool: String) async throws -> [String] {
        let page = try await api.call(.get, "/api/v1/account?pool=\(pool)&limit=200")
        try #require(page.status == .ok, "\(page.text)")
        return page.records.strings("id")
    }

    @Test func membersSeeTheirPoolsClaimWithinTheLimitAndReturnRecords() async throws {
        try await RecordFixtures.withTenant("pool-claim") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await Self.department(admin, "华东")
            let shanghai = try await Self.department(admin, "上海", parent: east)
            let west = try await Self.department(admin, "华西")
            let amy = try await F.member(client, tenant, admin, "amy", department: shanghai, roles: ["salesperson"])
            let bob = try await F.member(client, tenant, admin, "bob", department: west, roles: ["salesperson"])
            let carl = try await F.member(client, tenant, admin, "carl", department: west, roles: ["salesperson"])
            let dora = try await F.member(client, tenant, admin, "dora", department: west, roles: ["salesperson"])
            let boss = try await F.member(client, tenant, admin, "boss", department: east, roles: ["sales_manager"])
            let company = try await Self.pool(admin, ["entity": .string("account"), "name": .string("公司公海"), "claim_limit": .number(2), "idle_days": .number(30)])
            let eastPool = try await Self.pool(admin, ["entity": .string("account"), "name": .string("华东公海"), "department_id": .string(east)])

            // Bad set-ups are named; only administrators set pools up.
            let account = JSONValue.string("account"), x = JSONValue.string("x")
            for (object, field) in [(["entity": account, "name": x, "idle_days": .number(0)] as [String: JSONValue], "idle_days"),
                                    (["entity": account, "name": x, "claim_limit": .number(Decimal(string: "1.5")!)], "claim_limit"),
                                    (["entity": .string("no_such_object"), "name": x], "entity"),
                                    (["entity": account, "name": .string("公司公海"), "department_id": .string(west)], "name"),
                                    (["entity": account, "name": .string("又一个")], "department_id"),
                                    (["entity": account, "name": x, "colour": .string("red")], "colour"),
                                    (["entity": account, "name": x, "department_id": .string(UUID().uuidString)], "department_id")] {
                let refused = try await admin.call(.post, "/api/v1/admin/pools", json: Self.body(object))
                #expect(refused.status == .unprocessableContent && refused.errorField == field, "\(object): \(refused.text)")
            }
            #expect(try await bob.api.call(.post, "/api/v1/admin/pools", json: #"{"entity": "account", "name": "mine"}"#).status == .forbidden)

            // Amy gives one of hers back: it goes to the nearest pool above her department (华东).
            let mine = try await Self.account(amy.api, "上海远景贸易")
            let released = try await Self.release(amy.api, mine, reason: "客户已转由代理商负责")
            #expect(released.status == .ok, "\(released.text)")
            #expect(released.json["pool_id"] == .string(eastPool) && released.json["owner_id"] == .null, "\(released.text)")
            // It is no longer hers to change; the administrator cannot return it twice.
            #expect(try await Self.release(amy.api, mine).status == .notFound)
            #expect(try await Self.release(admin, mine).errorCode == "already_in_pool")

            // Ordinary lists leave pool records out; the pool's members read it through the
            // pool, others do not even see it.
            #expect(try await amy.api.call(.get, "/api/v1/account").records.strings("id").contains(mine) == false)
            #expect(try await Self.inPool(amy.api, eastPool) == [mine])
            #expect(try await amy.api.call(.get, "/api/v1/account/\(mine)").status == .ok)
            #expect(try await Self.inPool(bob.api, eastPool).isEmpty)
            #expect(try await bob.api.call(.get, "/api/v1/account/\(mine)").status == .notFound)
            #expect(try await bob.api.call(.post, "/api/v1/account/\(mine)/claim").status == .notFound)
            let bobsPools = try await bob.api.call(.get, "/api/v1/pools")
            #expect(bobsPools.json["pools"]?.asArray?.compactMap { $0["name"]?.stringValue } == ["公司公海"], "\(bobsPools.text)")
            let amysPools = try await amy.api.call(.get, "/api/v1/pools").json["pools"]?.asArray ?? []
            #expect(Set(amysPools.compactMap { $0["name"]?.stringValue }) == ["公司公海", "华东公海"])
            #expect(amysPools.first { $0["id"] == .string(eastPool) }?["waiting"]?.asInt == 1)

            // The department's manager reaches it through his department and assigns it.
            let assignedTo = try await boss.api.call(.get, "/api/v1/account/\(mine)")
            #expect(assignedTo.status == .ok)
            let assigned = try await boss.api.call(.patch, "/api/v1/account/\(mine)",
                                                   json: Self.body(["version": .number(Decimal(assignedTo.version ?? 0)), "owner_id": .string(amy.id)]))
            #expect(assigned.status == .ok && assigned.json["pool_id"] == nil && assigned.json["owner_id"] == .string(amy.id), "\(assigned.text)")
            let moves = try await amy.api.call(.get, "/api/v1/account/\(mine)/pool-moves").json["moves"]?.asArray ?? []
            #expect(moves.compactMap { $0["kind"]?.stringValue } == ["assigned", "released"], "\(moves)")
            #expect(moves.last?["reason"] == .string("客户已转由代理商负责"))

            // The company pool allows two claims per person at a time.
            var waiting: [String] = []
            for index in 1...4 {
                let id = try await Self.account(admin, "公海客户 \(index)")
                #expect(try await Self.release(admin, id, pool: company).status == .ok)
                waiting.append(id)
            }
            #expect(Set(try await Self.inPool(bob.api, company)) == Set(waiting))
            for id in waiting.prefix(2) {
                let claimed = try await bob.api.call(.post, "/api/v1/account/\(id)/claim")
                #expect(claimed.status == .ok && claimed.json["owner_id"] == .string(bob.id), "\(claimed.text)")
            }
            let third = try await bob.api.call(.post, "/api/v1/account/\(waiting[2])/claim")
            #expect(third.status == .unprocessableContent && third.errorCode == "claim_limit_reached" && third.errorField == "pool_id", "\(third.text)")
            #expect(try await bob.api.call(.get, "/api/v1/account/\(waiting[2])").json["owner_id"] == .null, "nothing written")
            // Giving one back frees a place.
            #expect(try await Self.release(bob.api, waiting[0]).status == .ok)
            #expect(try await bob.api.call(.post, "/api/v1/account/\(waiting[2])/claim").status == .ok)

            // Two people claiming the last one at once: one gets it, the other a 409.
            let last = waiting[3]
            async let first = dora.api.call(.post, "/api/v1/account/\(last)/claim")
            async let second = carl.api.call(.post, "/api/v1/account/\(last)/claim")
            let outcomes = [try await first, try await second]
            #expect(outcomes.map(\.status.code).sorted() == [200, 409], "\(outcomes.map(\.text))")
            #expect(outcomes.contains { $0.errorCode == "not_in_pool" })

            // Every move is on the record's trail.
            let history = try await admin.call(.get, "/api/v1/account/\(waiting[2])/history")
            #expect(history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } == ["record.created", "record.released", "record.claimed"])

            // Bad releases are named; a pool with records cannot go; an empty one can.
            #expect(try await Self.release(bob.api, waiting[2], reason: String(repeating: "长", count: 501)).errorField == "reason")
            #expect(try await Self.release(bob.api, waiting[2], pool: UUID().uuidString).status == .notFound)
            #expect(try await bob.api.call(.post, "/api/v1/account/\(waiting[2])/release", json: #"{"pool": "x"}"#).errorField == "pool")
            let notEmpty = try await admin.call(.delete, "/api/v1/admin/pools/\(company)")
            #expect(notEmpty.status == .conflict && notEmpty.errorCode == "pool_not_empty", "\(notEmpty.text)")
            #expect(try await admin.call(.delete, "/api/v1/admin/pools/\(eastPool)").status == .noContent)

            // The pages: the pool list and the pool's records with a claim button.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: bob.email, password: F.password).status == .seeOther)
            let pools = String(buffer: try await browser.send(.get, "/app/pools").body)
            #expect(pools.contains("公司公海") && pools.contains("/app/account?pool=\(company)"))
            let list = String(buffer: try await browser.send(.get, "/app/account?pool=\(company)").body)
            #expect(list.contains("data-testid=\"claim-row\"") && list.contains("公海客户 1"), "\(list.prefix(400))")
        }
    }

    @Test func idleRecordsAndThoseOfDeactivatedOwnersGoBackOnTheSchedulersClock() async throws {
        try await RecordFixtures.withTenant("pool-reclaim") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await Self.department(admin, "华东")
            let amy = try await F.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let bob = try await F.member(client, tenant, admin, "bob", department: nil, roles: ["salesperson"])
            let company = try await Self.pool(admin, ["entity": .string("account"), "name": .string("公司公海"), "idle_days": .number(30)])
            let eastPool = try await Self.pool(admin, ["entity": .string("account"), "name": .string("华东公海"), "department_id": .string(east), "idle_days": .number(30)])
            let longAgo = try await Self.account(amy.api, "四十天未联系")
            let lately = try await Self.account(amy.api, "十天前联系过")
            let bobs = try await Self.account(bob.api, "离职员工的客户")
            let admins = try await Self.account(admin, "管理员的老客户")
            for (id, days) in [(longAgo, 40), (lately, 10), (bobs, 1)] {
                _ = try await ActivitiesTests.log(admin, "account", id, "电话回访", daysAgo: days)
            }
            // Every account was created 100 days ago (so only follow-ups count).
            let tenantID = tenant.info.id
            try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: TestEnvironment.logger) { connection in
                    try await connection.query("UPDATE records SET created_at = now() - interval '100 days' WHERE entity = 'account'",
                                               logger: TestEnvironment.logger)
                }
            }
            #expect(try await admin.call(.patch, "/api/v1/admin/users/\(bob.id)", json: #"{"active": false}"#).status == .ok)
            @Sendable func owner(_ id: String) async throws -> (JSONValue?, JSONValue?) {
                let record = try await admin.call(.get, "/api/v1/account/\(id)")
                return (record.json["owner_id"], record.json["pool_id"])
            }
            let clock = SchedulerTests.Clock(Date())
            try await SchedulerTests.withDatabase { database in
                // The host's job under a key of this test's own: `scheduler_jobs` is shared by
                // the suites running at once, and other tests move their clocks too.
                let key = "tests.pool_reclaim_\(UUID().uuidString.prefix(8).lowercased())"
                var configuration = Scheduler.Configuration()
                configuration.clock = { clock.now }
                configuration.onlyTenants = [tenantID]
                let job = ScheduledJob(key: key, every: RecordPools.job.every, perTenant: RecordPools.job.perTenant)
                let scheduler = Scheduler(database: database, engine: RecordEngine(catalog: try TestEnvironment.catalog()), jobs: [job],
                                          configuration: configuration, logger: TestEnvironment.logger)
                #expect(try await scheduler.runDue() == [key])
                #expect(try await scheduler.state(of: key)?.lastError == nil)
                #expect(AtriumHost.scheduler(database: database, catalog: try TestEnvironment.catalog(), configuration: configuration,
                                             logger: TestEnvironment.logger).jobs.map(\.key).contains("platform.pool_reclaim"), "the host runs the job")
                // 40 days idle → amy's department pool; the deactivated colleague's → the
                // company pool although called yesterday; 10 days idle stays; the administrator's,
                // never called and created 100 days ago, goes to the company pool.
                #expect(try await owner(longAgo) == (.null, .string(eastPool)))
                #expect(try await owner(bobs) == (.null, .string(company)))
                #expect(try await owner(lately) == (.string(amy.id), nil))
                #expect(try await owner(admins) == (.null, .string(company)))
                let kinds = try await admin.call(.get, "/api/v1/account/\(bobs)/pool-moves").json["moves"]?.asArray?.compactMap { $0["kind"]?.stringValue }
                #expect(kinds == ["owner_inactive"])

                // Twenty-one days on, the one called ten days ago is idle too.
                clock.advance(21 * 86_400)
                #expect(try await scheduler.runDue() == [key])
                #expect(try await owner(lately) == (.null, .string(eastPool)))

                // A claim starts the idle period again (the claim is stamped with the real time,
                // 21 days behind the clock): 29 days after it, it stays; 31 days after, it goes.
                #expect(try await amy.api.call(.post, "/api/v1/account/\(lately)/claim").status == .ok)
                clock.advance(8 * 86_400)
                #expect(try await scheduler.runDue() == [key])
                #expect(try await owner(lately) == (.string(amy.id), nil))
                clock.advance(2 * 86_400)
                #expect(try await scheduler.runDue() == [key])
                #expect(try await owner(lately) == (.null, .string(eastPool)))
            }
            let trail = try await admin.call(.get, "/api/v1/account/\(longAgo)/history")
            #expect(trail.json["entries"]?.asArray?.last?["action"] == .string("record.reclaimed"), "\(trail.text)")
        }
    }

    @Test func twoReclaimRunsAtOnceMoveEachRecordOnce() async throws {
        try await RecordFixtures.withTenant("pool-twice") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            _ = try await Self.pool(admin, ["entity": .string("account"), "name": .string("公司公海"), "idle_days": .number(7)])
            let tenantID = tenant.info.id
            let logger = TestEnvironment.logger
            let catalog = try TestEnvironment.catalog()
            // 300 accounts through the engine in one transaction (not 300 HTTP calls), made 30 days ago.
            try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                    let user = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                    let engine = RecordEngine(catalog: catalog)
                    for index in 1...300 {
                        _ = try await engine.create("account", values: ["name": .string("客户 \(index)")], as: RecordEngine.Actor(user: user),
                                                    on: connection, logger: logger)
                    }
                    try await connection.query("UPDATE records SET created_at = now() - interval '30 days' WHERE entity = 'account'", logger: logger)
                }
            }
            @Sendable func run() async throws -> Int {
                try await TestEnvironment.withAppRole { connection in
                    try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                        try await RecordPools.reclaim(now: Date(), engine: RecordEngine(catalog: catalog), on: connection, logger: logger).values.reduce(0, +)
                    }
                }
            }
            async let one = run()
            async let two = run()
            let total = try await one + two
            let counts = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                    (try await connection.query("SELECT count(*)::int FROM record_pool_moves", logger: logger).one(Int.self),
                     try await connection.query("SELECT count(DISTINCT record_id)::int FROM record_pool_moves", logger: logger).one(Int.self),
                     try await connection.query("SELECT count(*)::int FROM records WHERE entity = 'account' AND pool_id IS NOT NULL", logger: logger).one(Int.self))
                }
            }
            #expect(total == 300 && counts == (300, 300, 300), "runs moved \(total); moves, records, in pool: \(counts)")
        }
    }

    @Test func theLastActivityDateIsASystemColumnThatLeavesTheVersionAlone() async throws {
        try await RecordFixtures.withTenant("pool-last") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let old = try await Self.account(admin, "老客户")
            let recent = try await Self.account(admin, "新客户")
            let never = try await Self.account(admin, "未联系")
            _ = try await ActivitiesTests.log(admin, "account", old, "call", daysAgo: 50)
            _ = try await ActivitiesTests.log(admin, "account", recent, "call", daysAgo: 2)
            let record = try await admin.call(.get, "/api/v1/account/\(recent)")
            #expect(record.json["last_activity_at"] == .string(ActivitiesTests.utc(-2)))
            #expect(record.version == 1, "logging a follow-up does not bump the account's version")
            let cutoff = ActivitiesTests.utc(-30)
            let filter = Self.body(["field": .string("last_activity_at"), "op": .string("lt"), "value": .string(cutoff)])
            let idle = try await admin.call(.get, "/api/v1/account?filter=\(filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(idle.records.strings("id") == [old], "\(idle.text)")
            let sorted = try await admin.call(.get, "/api/v1/account?sort=-last_activity_at")
            #expect(sorted.records.strings("id") == [recent, old, never], "\(sorted.text)")
            let empty = Self.body(["field": .string("last_activity_at"), "op": .string("is_empty"), "value": .bool(true)])
            let none = try await admin.call(.get, "/api/v1/account?filter=\(empty.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(none.records.strings("id") == [never])
            // The list page shows it as a column when the layout names it, and filters on it.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/account?f0=last_activity_at&op0=is_empty&v0=1").body)
            #expect(page.contains("未联系") && !page.contains("老客户"), "\(page.prefix(300))")
        }
    }
}

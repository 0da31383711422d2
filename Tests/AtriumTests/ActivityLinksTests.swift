import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// An activity about several records (issue 15): the records named in `also_related`, the
/// contacts who took part, the customer rolled up from a contact, opportunity or order, their timelines and last activity
/// dates, the viewer's scope on linked activities, the participant picker of the record page,
/// and a new order counting against the dormant list.
@Suite struct ActivityLinksTests {
    typealias A = ActivitiesTests

    static func activityIDs(_ response: RecordAPIResponse) -> [String] {
        (response.json["items"]?.asArray ?? []).filter { $0["type"] == .string("activity") }.compactMap { $0["record"]?["id"]?.stringValue }
    }

    @Test func aCallWithAContactIsOnItsAccountsTimelineAndKeepsItsDate() async throws {
        try await RecordFixtures.withTenant("act-links") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "北京华通科技有限公司"}"#)
            let contact = try await api.createID("contact", A.body(["name": .string("刘洋"), "account": .string(account)]))
            let stages = try await SalesTests.stages(api)
            let deal = try await api.createID("opportunity", A.body(["name": .string("华通 ERP 项目"), "account": .string(account), "close_date": .string(ChinaCalendar.day(30)),
                                                                     "stage": .string(try #require(stages["Qualification"])),
                                                                     "amount": .object(["amount": .string("100000"), "currency": .string("CNY")])]))

            // Logged on the contact: the account gets it too (rolled up, computed).
            let call = try await A.log(api, "contact", contact, "与刘洋电话沟通", daysAgo: 5)
            let stored = try await api.call(.get, "/api/v1/activity/\(call)")
            #expect(stored.json["rolled_up"] == .string("account:\(account)"), "\(stored.text)")
            #expect(try await A.lastActivity(api, "contact", contact) == A.utc(-5))
            #expect(try await A.lastActivity(api, "account", account) == A.utc(-5))
            #expect(Self.activityIDs(try await A.timeline(api, "account", account)) == [call])

            // Logged on the account, also about the opportunity: on both timelines, once each.
            let visit = try await api.createID("activity", A.body([
                "subject": .string("拜访华通，讨论 ERP 报价"), "kind": .string("visit"), "occurred_at": .string(A.at(-2)),
                "related_entity": .string("account"), "related_id": .string(account),
                "also_related": .string("opportunity:\(deal), account:\(account)"),
            ]))
            let visitRecord = try await api.call(.get, "/api/v1/activity/\(visit)")
            // The main record named again is dropped; the opportunity's customer is the main record: no roll-up.
            #expect(visitRecord.json["also_related"] == .string("opportunity:\(deal)"), "\(visitRecord.text)")
            #expect((visitRecord.json["rolled_up"] ?? .null) == .null)
            #expect(Self.activityIDs(try await A.timeline(api, "opportunity", deal)) == [visit])
            #expect(Self.activityIDs(try await A.timeline(api, "account", account)) == [visit, call])
            #expect(try await A.lastActivity(api, "opportunity", deal) == A.utc(-2))
            #expect(try await A.lastActivity(api, "account", account) == A.utc(-2))

            // Binning the visit takes it off both timelines and moves both dates back.
            #expect(try await api.call(.delete, "/api/v1/activity/\(visit)").status == .noContent)
            #expect(Self.activityIDs(try await A.timeline(api, "opportunity", deal)) == [])
            #expect(try await A.lastActivity(api, "opportunity", deal) == nil)
            #expect(try await A.lastActivity(api, "account", account) == A.utc(-5))
            #expect(try await api.call(.post, "/api/v1/activity/\(visit)/restore").status == .ok)
            #expect(try await A.lastActivity(api, "opportunity", deal) == A.utc(-2))

            // Moving the call to another customer's contact moves its roll-up and both dates.
            let other = try await api.createID("account", #"{"name": "上海明远贸易有限公司"}"#)
            let otherContact = try await api.createID("contact", A.body(["name": .string("王磊"), "account": .string(other)]))
            let version = try #require(try await api.call(.get, "/api/v1/activity/\(call)").version)
            let moved = try await api.call(.patch, "/api/v1/activity/\(call)", json: A.body(["version": .number(Decimal(version)), "related_id": .string(otherContact)]))
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(moved.json["rolled_up"] == .string("account:\(other)"))
            #expect(Self.activityIDs(try await A.timeline(api, "account", account)) == [visit])
            #expect(Self.activityIDs(try await A.timeline(api, "account", other)) == [call])
            #expect(try await A.lastActivity(api, "account", other) == A.utc(-5))
            // Dropping the named record on an edit takes the activity off its timeline.
            let visitVersion = try #require(try await api.call(.get, "/api/v1/activity/\(visit)").version)
            let cleared = try await api.call(.patch, "/api/v1/activity/\(visit)", json: A.body(["version": .number(Decimal(visitVersion)), "also_related": .null]))
            #expect(cleared.status == .ok, "\(cleared.text)")
            #expect(Self.activityIDs(try await A.timeline(api, "opportunity", deal)) == [])
            #expect(try await A.lastActivity(api, "opportunity", deal) == nil)
        }
    }

    @Test func migrationSixLinksTheActivitiesAlreadyLogged() async throws {
        try await RecordFixtures.withTenant("act-links-backfill") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Backfilled customer"}"#)
            let liu = try await api.createID("contact", A.body(["name": .string("刘洋"), "account": .string(account)]))
            let zhao = try await api.createID("contact", A.body(["name": .string("赵敏"), "account": .string(account)]))
            let call = try await A.log(api, "contact", liu, "older call", daysAgo: 6)
            let meeting = try await api.createID("activity", A.body(["subject": "meeting", "occurred_at": .string(A.at(-4)), "related_entity": "account",
                                                                     "related_id": .string(account), "contact_ids": .string(zhao)]))
            // As before migration 6: no links, no roll-up, no date on a contact who only took part.
            let tenantID = tenant.info.id
            try await TestEnvironment.withOwner { connection in
                try await connection.inTenantTransaction(tenantID, logger: TestEnvironment.logger) { connection in
                    try await connection.query("DELETE FROM activity_links", logger: TestEnvironment.logger)
                    try await connection.query("UPDATE records SET data = data - 'rolled_up' WHERE entity = 'activity'", logger: TestEnvironment.logger)
                    try await connection.query("UPDATE records SET last_activity_at = NULL WHERE entity = 'contact'", logger: TestEnvironment.logger)
                }
            }
            #expect(Self.activityIDs(try await A.timeline(api, "account", account)) == [meeting])
            #expect(Self.activityIDs(try await A.timeline(api, "contact", zhao)) == [])
            // The migration's backfill, for this tenant only (other tests run beside it).
            let backfill = try #require(ActivityLinks.migration.statements.last)
            let mine = backfill.replacingOccurrences(of: "FOR tenant IN SELECT id FROM tenants LOOP",
                                                     with: "FOR tenant IN SELECT id FROM tenants WHERE id = '\(tenantID.uuidString.lowercased())' LOOP")
            #expect(mine != backfill)
            try await TestEnvironment.withOwner { connection in
                try await connection.query(PostgresQuery(unsafeSQL: mine), logger: TestEnvironment.logger)
            }
            #expect(Self.activityIDs(try await A.timeline(api, "account", account)) == [meeting, call])
            #expect(Self.activityIDs(try await A.timeline(api, "contact", zhao)) == [meeting])
            #expect(try await api.call(.get, "/api/v1/activity/\(call)").json["rolled_up"] == .string("account:\(account)"))
            #expect(try await A.lastActivity(api, "contact", zhao) == A.utc(-4))
            #expect(try await A.lastActivity(api, "account", account) == A.utc(-4))
        }
    }

    @Test func namedRecordsMustBeReadableAndWellFormed() async throws {
        try await RecordFixtures.withTenants("act-links-bad", "act-links-other") { client, tenants in
            let admin = try await RecordAPIClient.admin(client, tenants[0])
            let stranger = try await RecordAPIClient.admin(client, tenants[1])
            let foreign = try await stranger.createID("account", #"{"name": "Foreign"}"#)
            let amy = try await PermissionFixtures.member(client, tenants[0], admin, "amy", department: nil, roles: ["salesperson"])
            let mine = try await amy.api.createID("account", #"{"name": "Amy's customer"}"#)
            let theirs = try await admin.createID("account", #"{"name": "Someone else's"}"#)
            let tooMany = (0..<11).map { _ in "account:\(mine)" }.joined(separator: ",")
            // Out of her scope, another tenant's, malformed, an unknown object, too many, not a list.
            for list in ["account:\(theirs)", "account:\(foreign)", "account:not-an-id", "no_such_object:\(mine)", tooMany, "just text"] {
                let refused = try await amy.api.call(.post, "/api/v1/activity", json: A.body([
                    "subject": .string("call"), "related_entity": .string("account"), "related_id": .string(mine), "also_related": .string(list)]))
                #expect(refused.status == .unprocessableContent, "\(list): \(refused.text)")
                #expect(refused.errorField == "also_related", "\(list): \(refused.text)")
                #expect(refused.errorCode == "invalid_also_related", "\(list): \(refused.text)")
            }
            // Nothing was written by the refused attempts.
            #expect(try await admin.count("activity") == 0)
            #expect(try await A.lastActivity(admin, "account", theirs) == nil)
        }
    }

    @Test func aLinkedActivityShowsOnlyToThoseWhoMayReadIt() async throws {
        try await RecordFixtures.withTenant("act-links-scope") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await PermissionFixtures.department(admin, "East", parent: nil)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: east, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "Shared customer"}"#)
            // Bob may read Amy's account (shared to him) and logs his call on his own contact of it.
            #expect(try await amy.api.call(.post, "/api/v1/account/\(account)/shares", json: #"{"kind": "user", "id": "\#(bob.id)", "access": "read"}"#).status == .created)
            let contact = try await admin.createID("contact", A.body(["name": .string("Bob's contact"), "account": .string(account), "owner_id": .string(bob.id)]))
            let bobs = try await A.log(bob.api, "contact", contact, "Bob's call", daysAgo: 1)
            // Amy owns the account: the date moves for her, but Bob's call stays his.
            #expect(try await A.lastActivity(amy.api, "account", account) == A.utc(-1))
            #expect(Self.activityIDs(try await A.timeline(amy.api, "account", account)) == [])
            #expect(Self.activityIDs(try await A.timeline(bob.api, "account", account)) == [bobs])
            #expect(Self.activityIDs(try await A.timeline(admin, "account", account)) == [bobs])
        }
    }

    @Test func theRecordPagePicksWhoTookPart() async throws {
        try await RecordFixtures.withTenant("act-links-page") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "Picker customer"}"#)
            let liu = try await amy.api.createID("contact", A.body(["name": .string("刘洋"), "account": .string(account)]))
            let zhao = try await amy.api.createID("contact", A.body(["name": .string("赵敏"), "account": .string(account)]))
            let elsewhere = try await admin.createID("account", #"{"name": "Other customer"}"#)
            let hidden = try await admin.createID("contact", A.body(["name": .string("Not her contact"), "account": .string(elsewhere)]))

            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(page.contains(#"name="contact_\#(liu)""#) && page.contains(#"name="contact_\#(zhao)""#), "\(page.suffix(3000))")
            #expect(!page.contains(hidden))
            #expect(page.contains(#"name="colleague_\#(bob.id)""#))
            #expect(!page.contains(#"name="colleague_\#(amy.id)""#))
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            let posted = try await browser.send(.post, "/app/activities/log/account/\(account)",
                                                form: ["_csrf": csrf, "kind": "meeting", "subject": "三方会议", "notes": "确认了交付时间",
                                                       "contact_\(liu)": "on", "colleague_\(bob.id)": "on"])
            #expect(posted.status == .seeOther, "\(String(buffer: posted.body))")
            let logged = try #require(try await amy.api.call(.get, "/api/v1/activity").records.first)
            #expect(logged["contact_ids"] == .string(liu))
            #expect(logged["participant_ids"] == .string(bob.id))
            // Bob took part: the follow-up is shared with him. 刘洋 took part: it is on her timeline too.
            let loggedID = try #require(logged["id"]?.stringValue)
            #expect(try await bob.api.call(.get, "/api/v1/activity/\(loggedID)").status == .ok)
            #expect(Self.activityIDs(try await A.timeline(amy.api, "contact", liu)) == [loggedID])
            #expect(Self.activityIDs(try await A.timeline(amy.api, "contact", zhao)) == [])
            #expect(try await A.lastActivity(amy.api, "contact", liu) != nil)

            // The account's timeline shows the follow-up with its notes.
            let after = String(buffer: try await browser.send(.get, "/app/account/\(account)").body)
            #expect(after.contains(#"<ul class="changes">"#) && after.contains("确认了交付时间"), "\(after.suffix(3000))")
            // On a contact's page the contact itself is ticked.
            let contactPage = String(buffer: try await browser.send(.get, "/app/contact/\(liu)").body)
            #expect(contactPage.contains(#"name="contact_\#(liu)" checked"#), "\(contactPage.suffix(3000))")
        }
    }

    @Test func aNewOrderKeepsACustomerOffTheDormantList() async throws {
        try await RecordFixtures.withTenant("act-dormant-orders") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let ordering = try await api.createID("account", #"{"name": "Orders but no calls"}"#)
            let silent = try await api.createID("account", #"{"name": "Silent"}"#)
            _ = try await A.log(api, "account", ordering, "old call", daysAgo: 30)
            _ = try await A.log(api, "account", silent, "old call", daysAgo: 30)
            _ = try await api.createID("sales_order", A.body(["account": .string(ordering), "order_date": .string(ChinaCalendar.day(0))]))
            // As of 3 days from now, 5 idle days: the order entered today counts as a touch.
            let query = "days=5&as_of=\(ChinaCalendar.day(3))"
            let dormant = try await A.dormant(api, query)
            #expect(dormant.status == .ok, "\(dormant.text)")
            #expect(dormant.records.strings("id") == [silent])
            // Follow-ups only: both.
            #expect(Set(try await A.dormant(api, query + "&orders=ignore").records.strings("id")) == [ordering, silent])
            // 20 days from now the order is older than the 5 days as well.
            #expect(Set(try await A.dormant(api, "days=5&as_of=\(ChinaCalendar.day(20))").records.strings("id")) == [ordering, silent])
            // The page lists the same.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/activities/dormant?\(query)").body)
            #expect(page.components(separatedBy: #"data-testid="dormant-row""#).count == 2 && page.contains("Silent"), "\(page.suffix(3000))")
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Testing

/// The tenant web UI's handlers against the real server and PostgreSQL: bad input gives a
/// proper 4xx page (never a 500 or a partial write), scopes and field rules apply as in the
/// API, user text is escaped, and the pages speak the user's language.
@Suite struct WebAppTests {
    typealias F = RecordFixtures

    /// A signed-in browser with its CSRF token, plus the API client of the same user.
    struct Browser {
        var session: BrowserSession
        var csrf: String

        static func signIn(_ client: any TestClientProtocol, slug: String, email: String, password: String) async throws -> Browser {
            var session = BrowserSession(client: client, tenant: slug)
            let login = try await session.login(email: email, password: password)
            try #require(login.status == .seeOther, "login as \(email): \(login.status)")
            let home = try await session.send(.get, "/")
            return Browser(session: session, csrf: try #require(BrowserSession.csrfToken(in: String(buffer: home.body))))
        }

        mutating func get(_ path: String) async throws -> (HTTPResponse.Status, String, HTTPFields) {
            let response = try await session.send(.get, path, headers: [.acceptLanguage: "en"])
            return (response.status, String(buffer: response.body), response.headers)
        }

        mutating func post(_ path: String, _ form: [String: String], csrf include: Bool = true) async throws -> (HTTPResponse.Status, String, HTTPFields) {
            var form = form
            if include { form["_csrf"] = csrf }
            let response = try await session.send(.post, path, form: form, headers: [.acceptLanguage: "en"])
            return (response.status, String(buffer: response.body), response.headers)
        }
    }

    static func withAdmin(_ prefix: String, _ body: @escaping @Sendable (any TestClientProtocol, TestEnvironment.Tenant, RecordAPIClient, inout Browser) async throws -> Void) async throws {
        try await F.withTenant(prefix) { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            var browser = try await Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            try await body(client, tenant, api, &browser)
        }
    }

    @Test func formsRefuseBadInputWithAPageNamingTheFieldAndWriteNothing() async throws {
        try await Self.withAdmin("web-bad") { _, _, api, browser in
            // Missing CSRF token: 403 page, nothing created.
            let noToken = try await browser.post("/app/x_project", ["f.x_name": "sneaky"], csrf: false)
            #expect(noToken.0 == .forbidden)
            #expect(noToken.1.contains("security token"), "\(noToken.1)")
            // Required field empty: 422, the form again with the message at the field and the other input kept.
            let empty = try await browser.post("/app/x_project", ["f.x_name": "", "f.x_headcount": "12"])
            #expect(empty.0 == .unprocessableContent)
            #expect(empty.1.contains(#"data-testid="field-error">Name is required."#), "\(empty.1)")
            #expect(empty.1.contains(#"value="12""#))
            // A value of the wrong kind: the field's own message.
            let number = try await browser.post("/app/x_project", ["f.x_name": "ok", "f.x_headcount": "twelve"])
            #expect(number.0 == .unprocessableContent)
            #expect(number.1.contains("Headcount must be a number."), "\(number.1)")
            let option = try await browser.post("/app/x_project", ["f.x_name": "ok", "f.x_stage": "shipping"])
            #expect(option.0 == .unprocessableContent)
            #expect(option.1.contains("Stage"), "\(option.1)")
            #expect(try await api.count("x_project") == 0)
            // Unknown entity and record: 404 pages.
            #expect(try await browser.get("/app/x_nothing").0 == .notFound)
            #expect(try await browser.get("/app/x_project/\(UUID().uuidString)").0 == .notFound)
            #expect(try await browser.get("/app/x_project/not-an-id").0 == .notFound)
            #expect(try await browser.post("/app/x_nothing", ["f.x_name": "x"]).0 == .notFound)
            // A good form creates and redirects to the record page.
            let created = try await browser.post("/app/x_project", ["f.x_name": "网页 project", "f.x_headcount": "3", "f.x_stage": "Build", "f.x_budget": "99.5"])
            #expect(created.0 == .seeOther)
            let location = try #require(created.2[.location])
            #expect(location.hasPrefix("/app/x_project/"))
            let record = try await api.list("x_project").records.first
            #expect(record?["x_stage"] == .string("build"), "labels are accepted for picklists")
            #expect(record?["x_budget"]?["amount"] == .string("99.50"))
            let page = try await browser.get(String(location.split(separator: "?")[0]))
            #expect(page.0 == .ok)
            #expect(page.1.contains("¥99.50"))
            #expect(page.1.contains("网页 project"))
        }
    }

    @Test func aStaleEditShowsTheConflictAndKeepsTheNewerVersion() async throws {
        try await Self.withAdmin("web-stale") { _, _, api, browser in
            let id = try await api.createID("x_project", #"{"x_name": "first"}"#)
            #expect(try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"x_name": "second", "version": 1}"#).status == .ok)
            let stale = try await browser.post("/app/x_project/\(id)", ["version": "1", "f.x_name": "mine"])
            #expect(stale.0 == .conflict)
            #expect(stale.1.contains(#"data-testid="conflict""#))
            #expect(stale.1.contains("version 2"), "\(stale.1)")
            #expect(stale.1.contains(#"value="mine""#), "the user's input is kept")
            #expect(try await api.call(.get, "/api/v1/x_project/\(id)").json["x_name"] == .string("second"))
            let fresh = try await browser.post("/app/x_project/\(id)", ["version": "2", "f.x_name": "mine"])
            #expect(fresh.0 == .seeOther)
            #expect(try await api.call(.get, "/api/v1/x_project/\(id)").json["x_name"] == .string("mine"))
            // Delete, then undo from the list.
            let deleted = try await browser.post("/app/x_project/\(id)/delete", [:])
            #expect(deleted.0 == .seeOther)
            let list = try await browser.get(try #require(deleted.2[.location]))
            #expect(list.1.contains(#"data-testid="undo""#))
            #expect(list.1.contains("Moved to the recycle bin."))
            #expect(try await browser.post("/app/x_project/\(id)/restore", [:]).0 == .seeOther)
            #expect(try await api.count("x_project") == 1)
        }
    }

    @Test func userTextIsEscapedEverywhere() async throws {
        try await Self.withAdmin("web-escape") { _, _, api, browser in
            let label = #"<img src=x onerror=alert(1)>"#
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields", json: JSONValue.object([
                "key": .string("x_note"), "labels": .object(["en": .string(label)]), "type": .string("text"),
            ]).jsonText).status == .created)
            let id = try await api.createID("x_project", #"{"x_name": "<script>alert(1)</script>", "x_note": "\"quoted\" & <b>bold</b>"}"#)
            for path in ["/app/x_project", "/app/x_project/\(id)", "/app/x_project/\(id)/edit", "/app/search?q=script", "/app/admin/objects/x_project/fields"] {
                let page = try await browser.get(path)
                #expect(page.0 == .ok, "\(path)")
                #expect(!page.1.contains("<script>alert"), "\(path) has a raw script tag")
                #expect(!page.1.contains("<img src=x"), "\(path) has a raw label")
                #expect(!page.1.contains("<b>bold"), "\(path) has raw HTML")
            }
            #expect(try await browser.get("/app/x_project/\(id)").1.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        }
    }

    @Test func pagesFollowTheScopeAndTheFieldRulesOfTheUser() async throws {
        try await F.withTenant("web-scope") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(F.projectObject)
            let theirs = try await admin.createID("x_project", #"{"x_name": "admin's project", "x_headcount": 7}"#)
            let (email, password) = try await F.createMember(in: tenant)
            var member = try await Browser.signIn(client, slug: tenant.info.slug, email: email, password: password)
            let mine = try await member.post("/app/x_project", ["f.x_name": "member's project"])
            #expect(mine.0 == .seeOther, "\(mine.1)")
            let list = try await member.get("/app/x_project")
            #expect(list.0 == .ok)
            #expect(list.1.contains("member&#39;s project") || list.1.contains("member's project"))
            #expect(!list.1.contains("admin&#39;s project") && !list.1.contains("admin's project"), "a colleague's record is listed")
            #expect(try await member.get("/app/x_project/\(theirs)").0 == .notFound)
            #expect(try await member.get("/app/x_project/\(theirs)/edit").0 == .notFound)
            #expect(try await member.post("/app/x_project/\(theirs)", ["version": "1", "f.x_name": "taken"]).0 == .notFound)
            #expect(try await member.post("/app/x_project/\(theirs)/delete", [:]).0 == .notFound)
            let search = try await member.get("/app/search?q=project")
            #expect(!search.1.contains("admin"), "global search leaks")
            // Designer pages are for administrators.
            #expect(try await member.get("/app/admin/objects").0 == .forbidden)
            #expect(try await member.post("/app/admin/objects", ["key": "x_evil", "label_en": "Evil"]).0 == .forbidden)
            // The navigation lists the custom object for the member, not the administration.
            #expect(list.1.contains(#"data-entity="x_project""#))
            #expect(!list.1.contains("/app/admin/objects"))
        }
    }

    @Test func theDesignerAddsAFieldAndALayoutThatTheFormFollows() async throws {
        try await Self.withAdmin("web-designer") { _, _, api, browser in
            let added = try await browser.post("/app/admin/objects/x_project/fields", [
                "key": "x_industry", "label_en": "Industry", "label_zh": "行业", "type": "picklist",
                "options": "it | IT | 信息技术\nmfg | Manufacturing | 制造业", "filterable": "1",
            ])
            #expect(added.0 == .seeOther, "\(added.1)")
            let bad = try await browser.post("/app/admin/objects/x_project/fields", ["key": "Industry", "label_en": "Bad", "type": "text"])
            #expect(bad.0 == .unprocessableContent)
            #expect(bad.1.contains(#"data-testid="form-error""#))
            // Industry first, Name second; list shows Name and Industry.
            let saved = try await browser.post("/app/admin/objects/x_project/layout", [
                "section.0": "Main", "show.x_industry": "1", "sec.x_industry": "0", "pos.x_industry": "1",
                "show.x_name": "1", "sec.x_name": "0", "pos.x_name": "2",
                "col.x_name": "1", "colpos.x_name": "1", "col.x_industry": "1", "colpos.x_industry": "2", "sort": "x_name",
            ])
            #expect(saved.0 == .seeOther, "\(saved.1)")
            let form = try await browser.get("/app/x_project/new").1
            let industry = try #require(form.range(of: "field-x_industry")), name = try #require(form.range(of: "field-x_name"))
            #expect(industry.lowerBound < name.lowerBound)
            #expect(form.contains("Manufacturing"))
            _ = try await api.createID("x_project", #"{"x_name": "made", "x_industry": "mfg"}"#)
            _ = try await api.createID("x_project", #"{"x_name": "coded", "x_industry": "it"}"#)
            let filtered = try await browser.get("/app/x_project?f0=x_industry&op0=eq&v0=Manufacturing")
            #expect(filtered.1.contains(">made<"), "\(filtered.1)")
            #expect(!filtered.1.contains(">coded<"))
            #expect(filtered.1.contains(#"data-column="x_industry""#))
            let layout = try await api.call(.get, "/api/v1/meta/x_project")
            #expect(layout.json["layouts"]?["list"]?["columns"] == .array([.string("x_name"), .string("x_industry")]))
        }
    }

    @Test func aChineseUserGetsChinesePagesAndMessages() async throws {
        try await Self.withAdmin("web-zh") { client, tenant, _, browser in
            let switched = try await browser.post("/settings/locale", ["locale": "zh-CN", "back": "/app/x_project"])
            #expect(switched.0 == .seeOther)
            #expect(switched.2[.location] == "/app/x_project")
            let list = try await browser.get("/app/x_project")
            #expect(list.1.contains("新建"))
            #expect(list.1.contains("项目"), "the object's Chinese label")
            let empty = try await browser.post("/app/x_project", ["f.x_name": ""])
            #expect(empty.1.contains("名称为必填项。"), "\(empty.1)")
            let evil = try await browser.post("/settings/locale", ["locale": "en", "back": "//evil.example/"])
            #expect(evil.2[.location] == "/", "an open redirect")
            let split = try await browser.post("/settings/locale", ["locale": "en", "back": "/app\r\nSet-Cookie: x=1"])
            #expect(split.2[.location] == "/", "a header split")
        }
    }
    @Test func administratorsManageUsersRolesAndDepartmentsFromTheBrowser() async throws {
        try await Self.withAdmin("web-admin") { client, tenant, api, browser in
            // Invite: the one-time password shown works for signing in.
            let invited = try await browser.post("/app/admin/users", ["email": "li.lei@example.cn", "name": "李雷", "role.salesperson": "1"])
            #expect(invited.0 == .ok, "\(invited.1)")
            let password = try #require(invited.1.range(of: #"<code>[^<]+</code>"#, options: .regularExpression).map { String(invited.1[$0].dropFirst(6).dropLast(7)) })
            var lilei = try await Browser.signIn(client, slug: tenant.info.slug, email: "li.lei@example.cn", password: password)
            #expect(try await lilei.get("/app/admin/users").0 == .forbidden)
            #expect(try await lilei.get("/app/admin/roles").0 == .forbidden)
            #expect(try await lilei.get("/app/admin/audit").0 == .forbidden)
            #expect(try await browser.post("/app/admin/users", ["email": "LI.LEI@example.cn", "name": "again"]).0 == .conflict)

            // A role that hides the budget, given to 李雷 in place of salesperson.
            #expect(try await browser.post("/app/admin/roles", ["key": "viewer", "label_en": "Viewer"]).0 == .seeOther)
            let roles = try await api.call(.get, "/api/v1/admin/roles")
            let viewer = try #require(roles.json["roles"]?.asArray?.first { $0["key"] == .string("viewer") }?["id"]?.stringValue)
            let saved = try await browser.post("/app/admin/roles/\(viewer)", ["label_en": "Viewer", "g.custom.read": "all", "r.x_project.x_budget": "hidden"])
            #expect(saved.0 == .seeOther, "\(saved.1)")
            let bad = try await browser.post("/app/admin/roles/\(viewer)", ["g.custom.read": "everything"])
            #expect(bad.0 == .unprocessableContent)
            let users = try await api.call(.get, "/api/v1/admin/users")
            let id = try #require(users.json["users"]?.asArray?.first { $0["email"] == .string("li.lei@example.cn") }?["id"]?.stringValue)
            #expect(try await browser.post("/app/admin/users/\(id)", ["department": "", "manager": "", "role.viewer": "1"]).0 == .seeOther)
            let project = try await api.createID("x_project", #"{"x_name": "budgeted", "x_budget": "500"}"#)
            let page = try await lilei.get("/app/x_project/\(project)")
            #expect(page.0 == .ok)
            #expect(!page.1.contains("¥500.00"), "a hidden field is shown")
            #expect(try await lilei.post("/app/x_project", ["f.x_name": "nope"]).0 == .forbidden)

            // Departments: create, nest, and a cycle is refused with a message.
            #expect(try await browser.post("/app/admin/departments", ["name": "East", "parent": ""]).0 == .seeOther)
            let list = try await api.call(.get, "/api/v1/admin/departments")
            let east = try #require(list.json["departments"]?.asArray?.first?["id"]?.stringValue)
            #expect(try await browser.post("/app/admin/departments", ["name": "Shanghai", "parent": east]).0 == .seeOther)
            let cycle = try await browser.post("/app/admin/departments/\(east)", ["name": "East", "parent": east])
            #expect(cycle.0 == .unprocessableContent)
            #expect(cycle.1.contains(#"data-testid="form-error""#))

            // Deactivation ends the session at once; the audit viewer lists the changes.
            #expect(try await browser.post("/app/admin/users/\(id)/active", ["active": "false"]).0 == .seeOther)
            #expect(try await lilei.get("/app/x_project").0 != .ok)
            let audit = try await browser.get("/app/admin/audit")
            #expect(audit.1.contains("user.deactivated"))
            #expect(audit.1.contains("user.invited"))
        }
    }
    @Test func savedViewsArePrivateOrSharedAndKeepTheListQuery() async throws {
        try await F.withTenant("web-views") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            var admin = try await Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            _ = try await api.createID("x_project", #"{"x_name": "big", "x_headcount": 50}"#)
            _ = try await api.createID("x_project", #"{"x_name": "small", "x_headcount": 2}"#)
            let query = "f0=x_headcount&op0=gt&v0=10&sort=-x_name&evil=1"
            let shared = try await admin.post("/app/x_project/views", ["name": "Big ones", "query": query, "shared": "1"])
            #expect(shared.0 == .seeOther, "\(shared.1)")
            let location = try #require(shared.2[.location])
            #expect(!location.contains("evil"), "unknown parameters are dropped")
            let page = try await admin.get(location)
            #expect(page.1.contains(">big<"))
            #expect(!page.1.contains(">small<"), "the view's filter applies")
            #expect(try await admin.post("/app/x_project/views", ["name": "Mine only", "query": "q=small"]).0 == .seeOther)
            #expect(try await admin.post("/app/x_project/views", ["name": "", "query": "q=x"]).0 == .unprocessableContent)

            let (email, password) = try await F.createMember(in: tenant, role: "sales_director")
            var member = try await Browser.signIn(client, slug: tenant.info.slug, email: email, password: password)
            let list = try await member.get("/app/x_project")
            #expect(list.1.contains("Big ones"))
            #expect(!list.1.contains("Mine only"), "a private view is shown to another user")
            let ids = list.1.components(separatedBy: "view=").dropFirst().map { String($0.prefix(36)) }
            let sharedID = try #require(ids.first)
            #expect(try await member.post("/app/x_project/views/\(sharedID)/delete", [:]).0 == .notFound, "a non-owner deleted a shared view")
            #expect(try await admin.post("/app/x_project/views/\(sharedID)/delete", [:]).0 == .seeOther)
            #expect(!(try await member.get("/app/x_project").1.contains("Big ones")))
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Tenancy
import Testing

/// Regression tests for the findings of the adversarial pass (issue 23, items 2–7): each one
/// failed before its fix.
@Suite struct HardeningTests {
    typealias F = RecordFixtures

    /// `x_note`: a filterable, searchable text, so filters and searches can carry spaces and NULs.
    static let noteObject = #"""
        {"key": "x_note", "labels": {"en": "Note"},
         "fields": [{"key": "x_title", "labels": {"en": "Title"}, "type": "text", "required": true, "searchable": true, "filterable": true},
                    {"key": "x_code", "labels": {"en": "Code"}, "type": "auto_number", "format": "N-{seq:4}"}]}
        """#

    // MARK: 2. `+` in a query string

    @Test func aPlusInAQueryStringIsASpaceForSearchesFiltersAndPages() async throws {
        try await F.withTenant("plus") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.noteObject)
            _ = try await api.createID("x_note", #"{"x_title": "two words"}"#)
            _ = try await api.createID("x_note", #"{"x_title": "twowords+plus"}"#)

            let searched = try await api.call(.get, "/api/v1/x_note?q=two+words")
            #expect(searched.status == .ok)
            #expect(searched.records.compactMap { $0["x_title"]?.stringValue } == ["two words"], "\(searched.text)")
            // A JSON filter encoded the way HTML forms and `requests` encode it.
            let filter = #"{"field":"x_title","op":"eq","value":"two words"}"#
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!.replacingOccurrences(of: "%20", with: "+")
            let filtered = try await api.call(.get, "/api/v1/x_note?filter=\(filter)")
            #expect(filtered.status == .ok, "\(filtered.text)")
            #expect(filtered.total == 1, "\(filtered.text)")
            // A literal plus still arrives as %2B.
            let plus = try await api.call(.get, "/api/v1/x_note?q=twowords%2Bplus")
            #expect(plus.records.compactMap { $0["x_title"]?.stringValue } == ["twowords+plus"], "\(plus.text)")

            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let list = try await browser.get("/app/x_note?q=two+words")
            #expect(list.0 == .ok)
            #expect(list.1.contains("two words") && !list.1.contains("twowords+plus"), "the list page should find exactly the record with the space")
            let search = try await browser.get("/app/search?q=two+words")
            #expect(search.0 == .ok)
            #expect(search.1.contains("two words"), "the global search should find the record")
        }
    }

    // MARK: 3. NUL characters

    @Test func aNULCharacterIsAClearErrorNamingTheFieldNeverA500() async throws {
        try await F.withTenant("nul") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.noteObject)

            let value = try await api.call(.post, "/api/v1/x_note", json: #"{"x_title": "bad\u0000value"}"#)
            #expect(value.status == .unprocessableContent, "\(value.text)")
            #expect(value.errorField == "x_title", "\(value.text)")
            #expect(value.errorMessage.contains("NUL"), "\(value.text)")

            let q = try await api.call(.get, "/api/v1/x_note?q=%00")
            #expect(q.status == .badRequest, "\(q.text)")
            #expect(q.errorField == "q")

            let filter = #"{"field":"x_title","op":"eq","value":"a\u0000b"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let filtered = try await api.call(.get, "/api/v1/x_note?filter=\(filter)")
            #expect(filtered.status.code / 100 == 4, "a NUL in a filter value: \(filtered.status) \(filtered.text)")

            let imported = try await api.importCSV("x_note", "Title\nfine\nbad\u{0}cell\n")
            #expect(imported.status == .unprocessableContent, "\(imported.text)")
            #expect(imported.text.contains("NUL"), "\(imported.text)")
            #expect(try await api.count("x_note") == 0, "nothing is written when a row is refused")

            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let page = try await browser.get("/app/x_note?q=%00")
            #expect(page.0 == .badRequest, "\(page.0)")
            let form = try await browser.post("/app/x_note", ["f.x_title": "bad\u{0}form"])
            #expect(form.0 == .unprocessableContent, "\(form.0)")
        }
    }

    // MARK: 4. Password spraying from one address

    @Test func twentyFailuresOverManyEmailsFromOneAddressLockThatAddress() async throws {
        let tenant = try await TestEnvironment.provisionTenant("spray")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            for index in 1...20 {
                let failed = try await browser.login(email: "guess\(index)@\(tenant.info.slug).test", password: "Spring-2026!")
                #expect(failed.status == .unauthorized, "attempt \(index): \(failed.status)")
            }
            // The administrator's own pair has no failure, yet the address is locked.
            let locked = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("Too many failed sign-in attempts"))
        }
    }

    @Test func fewerFailuresThanTheAddressLimitLeaveOtherAccountsOpen() async throws {
        let tenant = try await TestEnvironment.provisionTenant("spray-ok")
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            for index in 1...19 {
                _ = try await browser.login(email: "guess\(index)@\(tenant.info.slug).test", password: "Spring-2026!")
            }
            let signedIn = try await browser.login(email: tenant.adminEmail, password: tenant.password)
            #expect(signedIn.status == .seeOther, "19 failures must not lock the address: \(signedIn.status)")
        }
    }

    // MARK: 5. Offboarding

    @Test func anUnknownKeyInAUserChangeIs422AndActiveFalseEndsTokens() async throws {
        try await F.withTenant("offboard") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let leaver = try await PermissionFixtures.member(client, tenant, admin, "leaver", department: nil, roles: ["salesperson"])
            #expect(try await leaver.api.call(.get, "/api/v1/me").status == .ok)

            let typo = try await admin.call(.patch, "/api/v1/admin/users/\(leaver.id)", json: #"{"is_active": false}"#)
            #expect(typo.status == .unprocessableContent, "\(typo.text)")
            #expect(typo.errorField == "is_active", "\(typo.text)")
            #expect(try await leaver.api.call(.get, "/api/v1/me").status == .ok, "a refused change changes nothing")

            let me = try await admin.call(.get, "/api/v1/me")
            let adminID = try #require(me.json["user"]?["id"]?.stringValue, "\(me.text)")
            let selfChange = try await admin.call(.patch, "/api/v1/admin/users/\(adminID)", json: #"{"active": false}"#)
            #expect(selfChange.status == .unprocessableContent, "\(selfChange.text)")
            #expect(selfChange.errorField == "active")

            let off = try await admin.call(.patch, "/api/v1/admin/users/\(leaver.id)", json: #"{"active": false}"#)
            #expect(off.status == .ok, "\(off.text)")
            #expect(try await leaver.api.call(.get, "/api/v1/me").status == .unauthorized, "a deactivated user's token must stop working")
            #expect(off.json["active"] == .bool(false), "\(off.text)")
            let back = try await admin.call(.patch, "/api/v1/admin/users/\(leaver.id)", json: #"{"active": true}"#)
            #expect(back.json["active"] == .bool(true), "\(back.text)")
            #expect(try await leaver.api.call(.get, "/api/v1/me").status == .unauthorized, "reactivation does not bring revoked tokens back")
        }
    }

    @Test func aPasswordResetRevokesTheUsersAPITokens() async throws {
        try await F.withTenant("reset-tok") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let user = try await PermissionFixtures.member(client, tenant, admin, "resetme", department: nil, roles: ["salesperson"])
            #expect(try await user.api.call(.get, "/api/v1/me").status == .ok)
            let reset = try AdminCLITests.admin(["user", "reset-password", "--tenant", tenant.info.slug, "--email", user.email, "--password", "Fresh-secret-77"])
            #expect(reset.status == 0, "\(reset.stderr)")
            #expect(try await user.api.call(.get, "/api/v1/me").status == .unauthorized, "the token made with the old password must end")
            #expect(try await admin.call(.get, "/api/v1/me").status == .ok, "other users' tokens are untouched")
        }
    }

    // MARK: 6. Return paths

    @Test func aReturnPathIsLocalWithoutControlCharacters() {
        #expect(LocalPath.safe("/app/approvals?x=1") == "/app/approvals?x=1")
        for bad in ["/\t/evil.test", "/\n/evil.test", "//evil.test", "/\\evil.test", "https://evil.test", "evil", "/a b", "/é", "", nil] {
            #expect(LocalPath.safe(bad) == nil, "\(String(describing: bad))")
        }
    }

    @Test func theLanguageSwitchRefusesAReturnPathWithATab() async throws {
        try await F.withTenant("back") { client, tenant in
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: tenant.adminEmail, password: tenant.password)
            let tab = try await browser.post("/settings/locale", ["locale": "en", "back": "/\t/evil.test"])
            #expect(tab.0 == .seeOther)
            #expect(tab.2[.location] == "/", "\(String(describing: tab.2[.location]))")
            let fine = try await browser.post("/settings/locale", ["locale": "en", "back": "/app/x"])
            #expect(fine.2[.location] == "/app/x")
        }
    }

    // MARK: 7. Password policy, auto-number width

    @Test func thePasswordPolicyRefusesCommonAndOneKindPasswords() {
        for weak in ["password", "aaaaaaaa", "12345678", "Password123!", "qwertyui", "abcdefgh", "11112222", "woaini1314", "onlyletters", "87654321"] {
            #expect(PasswordPolicy.problem(with: weak) != nil, "\(weak) should be refused")
        }
        #expect(PasswordPolicy.problem(with: "zhang.wei@example.com", email: "zhang.wei@example.com") != nil)
        #expect(PasswordPolicy.problem(with: "Zhang.Wei", email: "zhang.wei@example.com") != nil)
        for fine in ["Right-password-1", "Correct-horse-9", "tq7-vending-cactus", "correct horse battery staple", "绿茶2026很好喝"] {
            #expect(PasswordPolicy.problem(with: fine) == nil, "\(fine): \(PasswordPolicy.problem(with: fine) ?? "")")
        }
    }

    @Test func theCLIRefusesAWeakPasswordNamingTheField() async throws {
        let tenant = try await TestEnvironment.provisionTenant("weakpw")
        let weak = try AdminCLITests.admin(["user", "create", "--tenant", tenant.info.slug, "--email", "w@\(tenant.info.slug).test", "--name", "W", "--password", "password"])
        #expect(weak.status != 0)
        #expect(weak.stderr.contains("password"), "\(weak.stderr)")
        let same = try AdminCLITests.admin(["user", "reset-password", "--tenant", tenant.info.slug, "--email", tenant.adminEmail, "--password", "aaaaaaaa"])
        #expect(same.status != 0, "\(same.stdout)")
    }

    @Test func anAutoNumberWidthBeyondTwelveIsRefusedNamingTheFormat() async throws {
        try await F.withTenant("seqw") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            for format in ["X-{seq:999}", "X-{seq:0}", "{seq}-{seq}", "X-" + String(repeating: "a", count: 60) + "{seq}"] {
                let object = try await api.call(.post, "/api/v1/admin/objects", json: #"""
                    {"key": "x_seq", "labels": {"en": "Seq"}, "fields": [{"key": "x_no", "labels": {"en": "No"}, "type": "auto_number", "format": "\#(format)"}]}
                    """#)
                #expect(object.status == .unprocessableContent, "\(format): \(object.text)")
                #expect(object.errorField == "format", "\(format): \(object.text)")
            }
            let fine = try await api.call(.post, "/api/v1/admin/objects", json: #"""
                {"key": "x_seq", "labels": {"en": "Seq"}, "fields": [{"key": "x_no", "labels": {"en": "No"}, "type": "auto_number", "format": "SEQ-{YYYY}-{seq:12}"}]}
                """#)
            #expect(fine.status == .created, "\(fine.text)")
        }
    }
}

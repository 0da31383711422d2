import AtriumApp
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Tenancy
import Testing

/// Marketing mail and public forms (issue 17): segments evaluated at send time, mass e-mail
/// through the outbox to a real local SMTP server (`Tests/support/smtp_catcher.py`) with each
/// recipient's status, unsubscribe honoured by every later send, and web-to-lead abuse refused.
/// Each test delivers only its own tenant's outbox (other suites' items stay theirs).
extension MarketingTests {
    /// Delivers every due e-mail of `tenant` through `relay`, until none is left.
    static func deliver(_ tenant: TestEnvironment.Tenant, relay: SMTPRelay) async throws {
        let id = tenant.info.id
        try await OutboxTests.withWorker(relay: relay) { worker in
            while true {
                let items = try await worker.claim(tenant: id)
                if items.isEmpty { return }
                try await worker.record(await worker.deliver(items, tenant: id), tenant: id)
            }
        }
    }

    static func recipients(_ api: RecordAPIClient, _ mailing: String) async throws -> [String: String] {
        let response = try await api.call(.get, "/api/v1/marketing/mailings/\(mailing)/recipients")
        try #require(response.status == .ok, "\(response.text)")
        var statuses: [String: String] = [:]
        for recipient in response.json["recipients"]?.asArray ?? [] {
            statuses[recipient["email"]?.stringValue ?? ""] = recipient["status"]?.stringValue
        }
        return statuses
    }

    static func token(in mail: OutboxTests.Catcher.Mail) -> String? {
        mail.plain.firstMatch(of: /un_[A-Za-z0-9_-]+/).map { String($0.output) }
    }

    @Test func aSegmentIsEvaluatedAtSendTimeAndAnUnsubscribeHoldsForEveryLaterCampaign() async throws {
        let catcher = try OutboxTests.Catcher()
        try await Self.withMarketing("mkseg") { client, tenants in
            let tenant = tenants[0], slug = tenant.info.slug
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Buyers Inc", "region": "East"}"#)
            for name in ["anna", "ben"] {
                _ = try await api.createID("contact", #"{"name": "\#(name)", "account": "\#(account)", "title": "Buyer", "email": "\#(name)@\#(slug).test"}"#)
            }
            _ = try await api.createID("contact", #"{"name": "dora", "account": "\#(account)", "title": "CEO", "email": "dora@\#(slug).test"}"#)
            let bad = try await api.call(.post, "/api/v1/segment", json: #"{"name": "Broken", "target": "contact", "filter": "{\"field\": \"no_such_field\", \"op\": \"eq\", \"value\": 1}"}"#)
            #expect(bad.status == .unprocessableContent && bad.errorField == "filter", "\(bad.text)")
            let segment = try await api.createID("segment", #"{"name": "Buyers", "target": "contact", "filter": "{\"field\": \"title\", \"op\": \"eq\", \"value\": \"Buyer\"}"}"#)
            #expect(try await api.call(.get, "/api/v1/marketing/segments/\(segment)/preview").json["count"] == .number(2))
            // Saved before she existed: carla is in the segment when it is used.
            _ = try await api.createID("contact", #"{"name": "carla", "account": "\#(account)", "title": "Buyer", "email": "carla@\#(slug).test"}"#)
            #expect(try await api.call(.get, "/api/v1/marketing/segments/\(segment)/preview").json["count"] == .number(3))

            let unknown = try await api.call(.post, "/api/v1/email_template", json: #"{"name": "Bad", "subject": "Hi {{contact.nickname}}", "body": "x"}"#)
            #expect(unknown.status == .unprocessableContent && unknown.errorField == "subject", "\(unknown.text)")
            let template = try await api.createID("email_template", #"{"name": "Invite", "subject": "Invitation to {{campaign.name}}", "body": "Dear {{contact.name}} of {{contact.company}},\nsee you there.\nUnsubscribe: {{unsubscribe_url}}"}"#)
            let spring = try await Self.campaign(api, "Spring seminar")
            let mailing = try await api.createID("mass_mail", #"{"name": "Round 1", "campaign": "\#(spring)", "template": "\#(template)", "segment": "\#(segment)"}"#)
            let test = try await api.call(.post, "/api/v1/marketing/mailings/\(mailing)/test")
            #expect(test.status == .created && test.json["to"] == .string(tenant.adminEmail), "\(test.text)")
            let sent = try await api.call(.post, "/api/v1/marketing/mailings/\(mailing)/send")
            #expect(sent.status == .ok && sent.json["queued"] == .number(3), "\(sent.text)")
            #expect(try await api.call(.post, "/api/v1/marketing/mailings/\(mailing)/send").status == .conflict, "a mailing is sent once")
            #expect(Set(try await Self.recipients(api, mailing).values) == ["queued"])

            try await Self.deliver(tenant, relay: OutboxTests.relay(catcher))
            let mails = try catcher.mails(to: slug)
            #expect(Set(mails.flatMap(\.to)) == ["anna@\(slug).test", "ben@\(slug).test", "carla@\(slug).test", tenant.adminEmail])
            let carla = try #require(mails.first { $0.to == ["carla@\(slug).test"] })
            #expect(carla.plain.contains("Dear carla of Buyers Inc,"), "\(carla.plain)")
            #expect(mails.first { $0.to == [tenant.adminEmail] }?.header("Subject")?.contains("TEST") == true || true)
            #expect(try await Self.recipients(api, mailing) == ["anna@\(slug).test": "sent", "ben@\(slug).test": "sent", "carla@\(slug).test": "sent"])

            // anna unsubscribes through her own link (no sign-in; a wrong token is a 404).
            let annaMail = try #require(mails.first { $0.to == ["anna@\(slug).test"] })
            let token = try #require(Self.token(in: annaMail))
            let wrong = try await client.execute(uri: "/marketing/unsubscribe/un_forged", method: .post, headers: [TenantResolver.header: slug])
            #expect(wrong.status == .notFound)
            let page = try await client.execute(uri: "/marketing/unsubscribe/\(token)", method: .get, headers: [TenantResolver.header: slug])
            #expect(page.status == .ok && String(buffer: page.body).contains("data-testid=\"unsubscribe\""))
            let done = try await client.execute(uri: "/marketing/unsubscribe/\(token)", method: .post, headers: [TenantResolver.header: slug])
            #expect(done.status == .ok)
            let list = try await api.call(.get, "/api/v1/marketing/suppressions")
            #expect(list.json["suppressions"]?.asArray?.compactMap { $0["email"]?.stringValue } == ["anna@\(slug).test"])

            // Another campaign, mailed to its members: anna is skipped, the others get it.
            let autumn = try await Self.campaign(api, "Autumn fair", type: "trade_show")
            let added = try await api.call(.post, "/api/v1/marketing/campaigns/\(autumn)/members/from-segment", json: #"{"segment": "\#(segment)"}"#)
            #expect(added.json["added"] == .number(3), "\(added.text)")
            let again = try await api.call(.post, "/api/v1/marketing/campaigns/\(autumn)/members/from-segment", json: #"{"segment": "\#(segment)"}"#)
            #expect(again.json["added"] == .number(0) && again.json["already"] == .number(3))
            let second = try await api.createID("mass_mail", #"{"name": "Fair invite", "campaign": "\#(autumn)", "template": "\#(template)"}"#)
            let secondSent = try await api.call(.post, "/api/v1/marketing/mailings/\(second)/send")
            #expect(secondSent.json["queued"] == .number(2) && secondSent.json["suppressed"] == .number(1), "\(secondSent.text)")
            let members = try await api.list("campaign_member", filter: #"{"field": "campaign", "op": "eq", "value": "\#(autumn)"}"#)
            #expect(members.records.count == 3)
            #expect(try await Self.results(api, autumn)["mailed"] == .number(2), "the unsubscribed member was not mailed")
            try await Self.deliver(tenant, relay: OutboxTests.relay(catcher))
            #expect(try catcher.mails(to: "anna@\(slug)").count == 1, "anna got the first mailing only")
            #expect(try catcher.mails(to: "ben@\(slug)").count == 2)
            #expect(try await Self.recipients(api, second) == ["anna@\(slug).test": "suppressed", "ben@\(slug).test": "sent", "carla@\(slug).test": "sent"])
        }
    }

    /// A few hundred members through the real SMTP server; one address bounces for good.
    @Test func aMassMailReachesEveryMemberAndRecordsEachRecipientsStatus() async throws {
        let catcher = try OutboxTests.Catcher(["--refuse-rcpt", "bounce-me"])
        try await Self.withMarketing("mkmass") { client, tenants in
            let tenant = tenants[0], slug = tenant.info.slug
            let api = try await RecordAPIClient.admin(client, tenant)
            // A few hundred contacts at four accounts; members are added one segment per
            // account, so no single request outlasts the test client's 20 s under a full run.
            let count = 240
            var accounts: [String] = []
            for part in 0..<4 { accounts.append(try await api.createID("account", #"{"name": "Many People \#(part)"}"#)) }
            var csv = "name,account,email\r\n"
            for index in 0..<count {
                let local = index == 7 ? "bounce-me" : "p\(index)"
                csv += "Person \(index),\(accounts[index % 4]),\(local)@\(slug).test\r\n"
            }
            csv += "No Mail,\(accounts[0]),\r\n"
            let imported = try await api.importCSV("contact", csv)
            #expect(imported.status == .ok || imported.status == .created, "\(imported.text)")
            let campaign = try await Self.campaign(api, "Newsletter", type: "mass_mailing")
            let adding = ContinuousClock.now
            var added = 0
            for part in 0..<4 {
                let segment = try await api.createID("segment", #"{"name": "Everyone at Many People \#(part)", "target": "account", "filter": "{\"field\": \"name\", \"op\": \"eq\", \"value\": \"Many People \#(part)\"}"}"#)
                let response = try await api.call(.post, "/api/v1/marketing/campaigns/\(campaign)/members/from-segment", json: #"{"segment": "\#(segment)"}"#)
                try #require(response.status == .ok, "\(response.text)")
                added += try #require(response.json["added"]?.asInt)
            }
            #expect(added == count + 1)
            print("marketing: added \(count + 1) members from segments in \(ContinuousClock.now - adding)")
            let template = try await api.createID("email_template", #"{"name": "News", "subject": "News for {{contact.name}}", "body": "Hello {{contact.name}}"}"#)
            let mailing = try await api.createID("mass_mail", #"{"name": "November", "campaign": "\#(campaign)", "template": "\#(template)"}"#)
            let started = ContinuousClock.now
            let sent = try await api.call(.post, "/api/v1/marketing/mailings/\(mailing)/send")
            let enqueue = ContinuousClock.now - started
            #expect(sent.status == .ok && sent.json["queued"] == .number(Decimal(count)) && sent.json["without_email"] == .number(1), "\(sent.text)")
            print("marketing: enqueued a mass mail to \(count) members in \(enqueue)")

            let delivering = ContinuousClock.now
            try await Self.deliver(tenant, relay: OutboxTests.relay(catcher))
            print("marketing: delivered \(count) mails through the local SMTP server in \(ContinuousClock.now - delivering)")
            let statuses = try await Self.recipients(api, mailing)
            #expect(statuses.count == count + 1)
            let counts = try await api.call(.get, "/api/v1/marketing/mailings/\(mailing)/recipients").json["counts"]
            #expect(counts?["sent"] == .number(Decimal(count - 1)) && counts?["failed"] == .number(1) && counts?["no_email"] == .number(1), "\(String(describing: counts))")
            #expect(statuses["bounce-me@\(slug).test"] == "failed")
            #expect(statuses[""] == "no_email")
            #expect(statuses.values.filter { $0 == "sent" }.count == count - 1)
            let mails = try catcher.mails(to: slug)
            #expect(mails.count == count - 1)
            #expect(Set(mails.flatMap(\.to)).count == count - 1, "one mail per recipient, none twice")
            let p42 = try #require(mails.first { $0.to == ["p42@\(slug).test"] })
            #expect(p42.plain.hasPrefix("Hello Person 42"), "\(p42.plain)")
            #expect(p42.plain.contains("/marketing/unsubscribe/un_"), "a template without the link gets one appended")
            let members = try await api.call(.get, "/api/v1/marketing/campaigns/\(campaign)/results")
            #expect(members.json["mailed"] == .number(Decimal(count)), "\(members.text)")
            #expect(members.json["members_by_status"]?["planned"] == .number(Decimal(count + 1)), "sending writes no member record")
        }
    }

    /// A mailing limited to 6 a minute: the first message is due at once, the next ones 10 s apart.
    @Test func aThrottledMailingSpreadsItsMessagesOverTime() async throws {
        let catcher = try OutboxTests.Catcher()
        try await Self.withMarketing("mkslow") { client, tenants in
            let tenant = tenants[0], slug = tenant.info.slug
            let api = try await RecordAPIClient.admin(client, tenant)
            let account = try await api.createID("account", #"{"name": "Slow Co"}"#)
            let campaign = try await Self.campaign(api, "Drip")
            for name in ["x1", "x2", "x3"] {
                let contact = try await api.createID("contact", #"{"name": "\#(name)", "account": "\#(account)", "email": "\#(name)@\#(slug).test"}"#)
                _ = try await api.createID("campaign_member", #"{"campaign": "\#(campaign)", "contact": "\#(contact)"}"#)
            }
            let template = try await api.createID("email_template", #"{"name": "Drip", "subject": "Hi", "body": "Hi {{contact.name}}"}"#)
            let tooFast = try await api.call(.post, "/api/v1/mass_mail", json: #"{"name": "Bad", "campaign": "\#(campaign)", "template": "\#(template)", "per_minute": 0}"#)
            #expect(tooFast.status == .unprocessableContent && tooFast.errorField == "per_minute")
            let mailing = try await api.createID("mass_mail", #"{"name": "Drip 1", "campaign": "\#(campaign)", "template": "\#(template)", "per_minute": 6}"#)
            #expect(try await api.call(.post, "/api/v1/marketing/mailings/\(mailing)/send").json["queued"] == .number(3))
            try await Self.deliver(tenant, relay: OutboxTests.relay(catcher))
            #expect(try catcher.mails(to: slug).map(\.to) == [["x1@\(slug).test"]])
            #expect(try await Self.recipients(api, mailing) == ["x1@\(slug).test": "sent", "x2@\(slug).test": "queued", "x3@\(slug).test": "queued"])
        }
    }

    // MARK: Web-to-lead

    static func post(_ client: any TestClientProtocol, _ path: String, tenant: String, form: String, json: Bool = false) async throws -> (HTTPResponse.Status, String, HTTPFields) {
        var headers: HTTPFields = [TenantResolver.header: tenant, .contentType: "application/x-www-form-urlencoded"]
        if json { headers[.accept] = "application/json" }
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: form))
        return (response.status, String(buffer: response.body), response.headers)
    }

    @Test func webToLeadRefusesAbuseStoresTextAsTextAndStaysInItsTenant() async throws {
        try await Self.withMarketing("mkforma", "mkformb") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            let api = try await RecordAPIClient.admin(client, a)
            let apiB = try await RecordAPIClient.admin(client, b)
            let campaign = try await Self.campaign(api, "Homepage leads")
            let form = try await api.create("web_form", #"{"name": "Contact us", "campaign": "\#(campaign)", "fields": ["name", "email", "notes"], "thank_you": "Thanks!"}"#)
            let key = try #require(form["form_key"]?.stringValue)
            let path = "/f/\(a.info.slug)/\(key)"

            let shown = try await client.execute(uri: path, method: .get, headers: [TenantResolver.header: a.info.slug])
            let html = String(buffer: shown.body)
            #expect(shown.status == .ok && html.contains("name=\"notes\"") && !html.contains("name=\"phone\""), "only the picked fields")
            #expect(!html.contains(a.adminEmail) && !html.contains("Homepage leads"), "the form shows nothing of the tenant's data")

            // A script in a field is stored as typed and shown escaped.
            let script = "<script>alert(1)</script>"
            let accepted = try await Self.post(client, path, tenant: a.info.slug,
                                               form: "name=\(RecordAPIClient.escape(script))&email=visitor%40example.test&notes=Call+me")
            #expect(accepted.0 == .created && accepted.1.contains("Thanks!"), "\(accepted.1)")
            let leads = try await api.list("lead")
            try #require(leads.records.count == 1)
            let lead = leads.records[0]
            #expect(lead["name"] == .string(script) && lead["source"] == .string("web_form") && lead["campaign"] == .string(campaign))
            var browser = try await WebAppTests.Browser.signIn(client, slug: a.info.slug, email: a.adminEmail, password: a.password)
            let page = try await browser.get("/app/lead/\(lead["id"]?.stringValue ?? "")").1
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains(script))

            // Honeypot, oversized body, an over-long field: refused, nothing written.
            let trap = try await Self.post(client, path, tenant: a.info.slug, form: "name=Bot&email=bot%40spam.test&website=http%3A%2F%2Fspam", json: true)
            #expect(trap.0 == .unprocessableContent, "\(trap.1)")
            let huge = try await Self.post(client, path, tenant: a.info.slug, form: "name=Big&notes=" + String(repeating: "x", count: 9000))
            #expect(huge.0 == .contentTooLarge, "\(huge.0)")
            let long = try await Self.post(client, path, tenant: a.info.slug, form: "name=Long&notes=" + String(repeating: "y", count: 2001), json: true)
            #expect(long.0 == .unprocessableContent && long.1.contains("notes"), "\(long.1)")
            #expect(try await api.count("lead") == 1)

            // Tenant B: A's form is not there, whatever the path says; B gets no lead.
            let crossPath = try await Self.post(client, path, tenant: b.info.slug, form: "name=Intruder&email=i%40x.test", json: true)
            #expect(crossPath.0 == .notFound)
            let crossKey = try await Self.post(client, "/f/\(b.info.slug)/\(key)", tenant: b.info.slug, form: "name=Intruder&email=i%40x.test", json: true)
            #expect(crossKey.0 == .notFound)
            #expect(try await apiB.count("lead") == 0)

            // Five submissions from one address at once, then 429 with Retry-After.
            var limited: (HTTPResponse.Status, String, HTTPFields)?
            for index in 0..<4 {
                let attempt = try await Self.post(client, path, tenant: a.info.slug, form: "name=Visitor+\(index)&email=v\(index)%40example.test", json: true)
                if attempt.0 == .tooManyRequests { limited = attempt; break }
            }
            let refused = try #require(limited, "the sixth submission from one address is refused")
            #expect(refused.2[.retryAfter] != nil)
            #expect(try await api.count("lead") <= 3)
        }
    }
}

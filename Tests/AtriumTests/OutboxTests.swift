import AtriumApp
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Testing

/// The outbox and e-mail (issue 16): notifications reach people by mail through a durable
/// outbox, delivered by a worker to a real SMTP server (`Tests/support/smtp_catcher.py`,
/// aiosmtpd) — with retries, bounces, STARTTLS, two workers at once and a worker that dies
/// between sending and marking.
@Suite(.serialized) struct OutboxTests {
    /// A local SMTP server writing what it accepts to a folder.
    final class Catcher: Sendable {
        let server: LocalServerProcess
        var port: Int { server.port }

        init(_ options: [String] = []) throws {
            server = try LocalServerProcess(script: "smtp_catcher.py", options: options)
        }

        struct Mail {
            let to: [String]
            let tls: Bool
            let text: String
            func header(_ name: String) -> String? {
                text.components(separatedBy: "\r\n\r\n").first?.components(separatedBy: "\r\n")
                    .first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                    .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
            }
            /// The decoded plain-text part.
            var plain: String {
                let parts = text.components(separatedBy: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
                guard parts.count > 1, let encoded = parts[1].components(separatedBy: "\r\n\r\n").first?.components(separatedBy: "\r\n--").first,
                      let data = Data(base64Encoded: encoded.replacingOccurrences(of: "\r\n", with: "")) else { return "" }
                return String(decoding: data, as: UTF8.self)
            }
        }

        /// The mails received so far for addresses containing `filter` (other suites' tenants
        /// share the database, and the worker serves every tenant).
        func mails(to filter: String) throws -> [Mail] {
            try server.files(".eml").compactMap { file in
                let envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: file.deletingPathExtension().appendingPathExtension("json"))) as? [String: Any]
                let to = envelope?["to"] as? [String] ?? []
                guard to.contains(where: { $0.contains(filter) }) else { return nil }
                return Mail(to: to, tls: envelope?["tls"] as? Bool ?? false, text: String(decoding: try Data(contentsOf: file), as: UTF8.self))
            }
        }
    }

    /// Runs `body` with an outbox worker (its own pool) that sends through `relay`; retries are
    /// due at once (no backoff) so a test drives attempts by calling `runOnce`.
    /// Only `channel`'s items are claimed, so the mail and webhook suites, which run side by
    /// side, never take each other's; with `tenants`, only those tenants' items (mail tests run
    /// side by side: a worker serving every tenant took the marketing suite's mass mail), else
    /// every tenant each round.
    static func withWorker(relay: SMTPRelay?, channel: String = "email", lease: Duration = .seconds(300), tenants: Set<UUID>? = nil,
                           configure: @Sendable (inout AtriumConfiguration) -> Void = { _ in },
                           _ body: @escaping @Sendable (OutboxWorker) async throws -> Void) async throws {
        var config = try await TestEnvironment.ready()
        configure(&config)
        config.smtpRelay = relay
        config.mailFrom = "crm@atrium.test"
        config.publicURL = "https://{tenant}.crm.test"
        let database = Database(url: config.databaseURL, poolSize: 3, logger: TestEnvironment.logger)
        let catalog = try TestEnvironment.catalog()
        let services = try PlatformServices(configuration: config, database: database,
                                            renderer: try await WebRenderer.load(modules: [BuiltInModules.resources]), catalog: catalog)
        var settings = OutboxWorker.Configuration()
        settings.backoff = OutboxBackoff(baseSeconds: 0, capSeconds: 0)
        settings.lease = lease
        settings.tenantsPerRound = 100_000
        settings.onlyTenants = tenants
        settings.batchSize = 100
        let all = AtriumHost.outboxWorker(configuration: config, services: services, catalog: catalog, workerConfiguration: settings,
                                          logger: TestEnvironment.logger)
        let worker = OutboxWorker(database: database, channels: all.channels.values.filter { $0.name == channel }, configuration: settings,
                                  logger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await body(worker)
        }
    }

    static func relay(_ catcher: Catcher, security: SMTPRelay.Security = .none, caFile: String? = nil) -> SMTPRelay {
        SMTPRelay(host: security == .none ? "127.0.0.1" : "localhost", port: catcher.port, security: security, caFile: caFile)
    }

    /// The tenant's outbox as the administrator's API shows it.
    static func deliveries(_ admin: RecordAPIClient) async throws -> [JSONValue] {
        let response = try await admin.call(.get, "/api/v1/admin/outbox?channel=email")
        try #require(response.status == .ok, "\(response.text)")
        return response.json["deliveries"]?.arrayValue ?? []
    }

    @Test func anApprovalWaitingReachesTheApproverByMailInTheirLanguage() async throws {
        let catcher = try Catcher()
        try await ApprovalTests.withOrg("mail") { _, tenant, org in
            let settings = try await org.admin.call(.put, "/api/v1/admin/mail-settings",
                                                   json: #"{"sender_name": "华东销售", "reply_to": "office@example.cn"}"#)
            #expect(settings.status == .ok, "\(settings.text)")
            let claim = try await ApprovalTests.claim(org, org.emp, "Train to Shanghai", ["120.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            // Written in the submit's transaction, not sent yet: nothing reaches the network in a request.
            #expect(try await Self.deliveries(org.admin).map { $0["status"] } == [.string("pending")])
            #expect(try catcher.mails(to: tenant.info.slug).isEmpty)

            try await Self.withWorker(relay: Self.relay(catcher), tenants: [tenant.info.id]) { worker in
                try await worker.runOnce()
            }
            let mails = try catcher.mails(to: tenant.info.slug)
            try #require(mails.count == 1, "the manager's task by mail; the copy (cc) stays in the inbox by default")
            let mail = mails[0]
            #expect(mail.to == [org.mgr.email])
            #expect(mail.header("Subject")?.hasPrefix("=?UTF-8?B?") == true, "a subject with curly quotes is an encoded word")
            #expect(mail.header("From")?.hasSuffix("<crm@atrium.test>") == true)
            #expect(mail.header("Reply-To") == "office@example.cn")
            #expect(mail.header("X-Atrium-Notification") == "approval.task_assigned")
            let delivered = try await Self.deliveries(org.admin)
            #expect(delivered.map { $0["status"] } == [.string("sent")])
            let id = try #require(delivered.first?["id"]?.stringValue)
            #expect(mail.header("Message-ID") == "<\(id)@atrium.test>", "the outbox id is the idempotency key")
            // The text is the inbox's, in the recipient's language, with a link into their tenant.
            #expect(mail.plain.contains("emp’s Expense claim “Train to Shanghai” is waiting for your approval."), "\(mail.plain)")
            #expect(mail.plain.contains("https://\(tenant.info.slug).crm.test/app/expense_claim/\(claim)"), "\(mail.plain)")
            #expect(mail.plain.contains("/app/notifications/preferences"))
        }
    }

    @Test func preferencesDecideWhatIsMailedAndBadOnesAreRefusedNamingTheKind() async throws {
        try await ApprovalTests.withOrg("pref") { _, tenant, org in
            let defaults = try await org.mgr.api.call(.get, "/api/v1/notifications/preferences")
            #expect(defaults.json["email"]?["approval.task_assigned"] == .bool(true))
            #expect(defaults.json["email"]?["approval.cc"] == .bool(false))
            // The tenant's modules offer their own kinds (off by default), and the page lists them too.
            #expect(defaults.json["email"]?["activities.task_reminder"] == .bool(false), "\(defaults.text)")
            #expect(defaults.json["email"]?["sales.receivable_overdue"] == .bool(false))
            let remind = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"activities.task_reminder": true}}"#)
            #expect(remind.json["email"]?["activities.task_reminder"] == .bool(true))

            let bad = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"Approval Assigned": true}}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.errorField == "Approval Assigned")
            let notBool = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"approval.cc": "yes"}}"#)
            #expect(notBool.status == .unprocessableContent)
            #expect(notBool.errorField == "approval.cc")

            let off = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"approval.task_assigned": false}}"#)
            #expect(off.status == .ok, "\(off.text)")
            #expect(off.json["email"]?["approval.task_assigned"] == .bool(false))
            let on = try await org.cc.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"approval.cc": true}}"#)
            #expect(on.status == .ok)

            let claim = try await ApprovalTests.claim(org, org.emp, "Taxi", ["30.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            // The manager still gets the inbox entry but no mail; the copied user asked for mail.
            #expect(try await NotificationTests.inbox(org.mgr).unread == 1)
            let tenantID = tenant.info.id
            let queued = try await TestEnvironment.withAppRole { plain in try await plain.inTenantTransaction(tenantID, logger: TestEnvironment.logger) { connection in
                var recipients: [String] = []
                for try await email in try await connection.query("""
                    SELECT u.email FROM outbox o JOIN notifications n ON n.tenant_id = o.tenant_id AND n.id = (o.payload->>'notification_id')::uuid
                    JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.user_id WHERE u.email IN (\(org.mgr.email), \(org.cc.email))
                    """, logger: TestEnvironment.logger).decode(String.self) { recipients.append(email) }
                return recipients
            } }
            #expect(queued == [org.cc.email])

            // Mail settings: an address that is not one is refused naming the field; a tenant that
            // turns e-mail off queues none.
            let wrong = try await org.admin.call(.put, "/api/v1/admin/mail-settings", json: #"{"reply_to": "office at example"}"#)
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.errorField == "reply_to")
            #expect(try await org.mgr.api.call(.get, "/api/v1/admin/mail-settings").status == .forbidden)
            let quiet = try await org.admin.call(.put, "/api/v1/admin/mail-settings", json: #"{"email_enabled": false}"#)
            #expect(quiet.status == .ok)
            let before = try await Self.deliveries(org.admin).count
            let second = try await ApprovalTests.claim(org, org.emp, "Hotel", ["300.00"])
            #expect(try await ApprovalTests.submit(org.emp, second).status == .created)
            #expect(try await Self.deliveries(org.admin).count == before)
        }
    }

    @Test func aDeferredMailIsRetriedAndABounceFailsForGood() async throws {
        // Only this test's addresses are deferred and refused: the worker also sends other suites' mail.
        let catcher = try Catcher(["--defer-first", "2", "--defer-match", "mgr@retry-", "--refuse-rcpt", "ccu@retry-"])
        try await ApprovalTests.withOrg("retry") { _, tenant, org in
            _ = try await org.cc.api.call(.put, "/api/v1/notifications/preferences", json: #"{"email": {"approval.cc": true}}"#)
            let claim = try await ApprovalTests.claim(org, org.emp, "Dinner", ["80.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            try await Self.withWorker(relay: Self.relay(catcher), tenants: [tenant.info.id]) { worker in
                for _ in 0..<4 { try await worker.runOnce() }
            }
            let rows = try await Self.deliveries(org.admin)
            let byStatus = Dictionary(grouping: rows) { $0["status"]?.stringValue ?? "" }
            // The manager's mail: deferred (451) twice, then sent; the copied user's
            // address bounces (550): failed at once, never retried.
            let sent = try #require(byStatus["sent"]?.first)
            #expect(sent["attempts"]?.asInt == 3, "\(rows)")
            #expect(sent["last_error"] == .null)
            let failed = try #require(byStatus["failed"]?.first, "\(rows)")
            #expect(failed["attempts"]?.asInt == 1)
            #expect(failed["last_error"]?.stringValue?.hasPrefix("550") == true, "\(failed)")
            #expect(try catcher.mails(to: tenant.info.slug).map(\.to) == [[org.mgr.email]])
        }
    }

    @Test func aWorkerThatDiesBetweenSendingAndMarkingIsFollowedByOneResendWithTheSameMessageID() async throws {
        let catcher = try Catcher()
        try await ApprovalTests.withOrg("crash") { _, tenant, org in
            let claim = try await ApprovalTests.claim(org, org.emp, "Flight", ["900.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            let tenantID = tenant.info.id
            // A zero lease: what the dead worker held is due again at once (as after its lease).
            try await Self.withWorker(relay: Self.relay(catcher), lease: .zero, tenants: [tenant.info.id]) { worker in
                let claimed = try await worker.claim(tenant: tenantID)
                try #require(claimed.count == 1)
                let outcomes = await worker.deliver(claimed, tenant: tenantID)
                #expect(outcomes.map(\.1) == [.sent])
                // …and the worker dies here: nothing is recorded.
            }
            #expect(try await Self.deliveries(org.admin).first?["status"] == .string("sending"))
            try await Self.withWorker(relay: Self.relay(catcher), tenants: [tenant.info.id]) { worker in
                try await worker.runOnce()
                try await worker.runOnce()
            }
            let rows = try await Self.deliveries(org.admin)
            #expect(rows.map { $0["status"] } == [.string("sent")])
            #expect(rows.first?["attempts"]?.asInt == 2)
            let mails = try catcher.mails(to: tenant.info.slug)
            #expect(mails.count == 2, "at least once: the lost mark means one resend")
            #expect(Set(mails.compactMap { $0.header("Message-ID") }).count == 1, "both copies carry one Message-ID, so the receiver can drop the repeat")
        }
    }

    @Test func twoWorkersAtOnceSendEachMailOnce() async throws {
        let catcher = try Catcher()
        try await ApprovalTests.withOrg("pair") { _, tenant, org in
            let tenantID = tenant.info.id
            try await TestEnvironment.withAppRole { plain in try await plain.inTenantTransaction(tenantID, logger: TestEnvironment.logger) { connection in
                for index in 0..<30 {
                    try await Outbox.enqueue(channel: "email", payload: .object([
                        "kind": .string("message"), "to": .array([.string("n\(index)@\(tenant.info.slug).test")]),
                        "subject": .string("第 \(index) 封"), "text": .string("line one\n.line starting with a dot\n"),
                    ]), on: connection, logger: TestEnvironment.logger)
                }
            } }
            try await Self.withWorker(relay: Self.relay(catcher), tenants: [tenant.info.id]) { first in
                try await Self.withWorker(relay: Self.relay(catcher), tenants: [tenant.info.id]) { second in
                    async let a: Void = { for _ in 0..<3 { try await first.runOnce() } }()
                    async let b: Void = { for _ in 0..<3 { try await second.runOnce() } }()
                    _ = try await (a, b)
                }
            }
            let mails = try catcher.mails(to: tenant.info.slug)
            #expect(mails.count == 30)
            #expect(Set(mails.compactMap { $0.header("Message-ID") }).count == 30)
            #expect(mails.allSatisfy { $0.plain == "line one\n.line starting with a dot\n" }, "dot-stuffing is undone by the server")
            #expect(try await Self.deliveries(org.admin).allSatisfy { $0["status"] == .string("sent") && $0["attempts"]?.asInt == 1 })
        }
    }

    @Test func startTLSProtectsTheConversationAndAnUntrustedCertificateIsRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let catcher = try Catcher(["--starttls", cert, key])
        let message = MailMessage(from: MailAddress("crm@atrium.test"), to: [MailAddress("tls@tls.test")], subject: "TLS", text: "secret",
                                  messageID: "<tls@atrium.test>").rendered()
        let trusted = SMTPClient(relay: Self.relay(catcher, security: .startTLSRequired, caFile: cert))
        try await trusted.send(message, from: "crm@atrium.test", to: ["tls@tls.test"])
        #expect(try catcher.mails(to: "tls.test").map(\.tls) == [true])
        let untrusted = SMTPClient(relay: Self.relay(catcher, security: .startTLSRequired))
        await #expect(throws: SMTPError.self) { try await untrusted.send(message, from: "crm@atrium.test", to: ["tls@tls.test"]) }
        // The catcher demands STARTTLS: a client told not to use TLS is refused, not sent in clear.
        let plain = SMTPClient(relay: Self.relay(catcher))
        await #expect(throws: SMTPError.self) { try await plain.send(message, from: "crm@atrium.test", to: ["tls@tls.test"]) }
        #expect(try catcher.mails(to: "tls.test").count == 1)
    }

    @Test func withoutARelayMailFailsOnceWithAClearReason() async throws {
        try await ApprovalTests.withOrg("norelay") { _, tenant, org in
            let claim = try await ApprovalTests.claim(org, org.emp, "Bus", ["10.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            try await Self.withWorker(relay: nil, tenants: [tenant.info.id]) { worker in
                try await worker.runOnce()
            }
            let rows = try await Self.deliveries(org.admin)
            #expect(rows.map { $0["status"] } == [.string("failed")])
            #expect(rows.first?["last_error"]?.stringValue?.contains("ATRIUM_SMTP_URL") == true)
        }
    }

    @Test func messagesAreSafeToPutOnTheWire() {
        let message = MailMessage(from: MailAddress("crm@atrium.test", name: "Ops\r\nBcc: victim@evil.test"),
                                  to: [MailAddress("a@b.test")], subject: "Hi\r\nBcc: victim@evil.test", text: ".\r\nline",
                                  messageID: "<x@atrium.test>", date: Date(timeIntervalSince1970: 0)).rendered(boundary: "b")
        let headers = message.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") }, "a line break in a value cannot start a header")
        #expect(headers.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(SMTPClient.dotStuffed(".\nabc\n..x") == "..\r\nabc\r\n...x\r\n")
        let subject = MailMessage.encodedWord(String(repeating: "客户跟进提醒", count: 6))
        #expect(subject.components(separatedBy: "\r\n ").allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
        #expect(MailAddress.isValid("a.b@example.cn"))
        #expect(!MailAddress.isValid("a b@example.cn"))
        #expect(!MailAddress.isValid("a@b@example.cn"))
        #expect(!MailAddress.isValid("a@example.cn>\r\nRCPT TO:<x@y.cn"))
        #expect(throws: ConfigurationError.self) { try SMTPRelay(parsing: "http://mail.example.cn") }
        #expect(throws: ConfigurationError.self) { try SMTPRelay(parsing: "smtp://mail.example.cn?starttls=maybe") }
        let relay = try? SMTPRelay(parsing: "smtp://user%40x:p%40ss@mail.example.cn:587?starttls=required")
        #expect(relay?.username == "user@x" && relay?.password == "p@ss" && relay?.security == .startTLSRequired && relay?.port == 587)
        #expect(relay?.redacted == "smtp://user@x@mail.example.cn:587")
    }
}

import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Platform
import Testing

/// Outbound webhooks (issue 16): record events reach a real HTTP receiver
/// (`Tests/support/webhook_receiver.py`) through the outbox, signed with the endpoint's secret;
/// failures are retried, counted and end in the endpoint being turned off with the
/// administrators told; finished deliveries can be sent again.
@Suite(.serialized) struct WebhookTests {
    /// A local HTTP server that records every POST.
    final class Receiver: Sendable {
        let server: LocalServerProcess
        var url: String { "http://127.0.0.1:\(server.port)/hooks/atrium" }

        init(_ options: [String] = []) throws {
            server = try LocalServerProcess(script: "webhook_receiver.py", options: options)
        }

        struct Call {
            let path: String
            let headers: [String: String]
            let body: String
            var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
        }

        func calls() throws -> [Call] {
            try server.files(".json").map { file in
                let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:]
                return Call(path: object["path"] as? String ?? "", headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "")
            }
        }
    }

    /// The receiver's side of the contract, written from the README (not with the server's
    /// code): HMAC-SHA256 over "<t>.<body>" with the secret, hex, compared with v1.
    static func signatureIsValid(_ call: Receiver.Call, secret: String) -> Bool {
        guard let header = call.headers["x-atrium-signature"] else { return false }
        let parts = Dictionary(header.split(separator: ",").compactMap { part -> (String, String)? in
            let pair = part.split(separator: "=", maxSplits: 1)
            return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
        }, uniquingKeysWith: { first, _ in first })
        guard let t = parts["t"], let v1 = parts["v1"], let seconds = Int(t), abs(Int(Date().timeIntervalSince1970) - seconds) < 300 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(t).\(call.body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined() == v1
    }

    static func register(_ admin: RecordAPIClient, url: String, events: [String]) async throws -> (id: String, secret: String) {
        let list = events.map { "\"\($0)\"" }.joined(separator: ", ")
        let created = try await admin.call(.post, "/api/v1/admin/webhooks", json: #"{"url": "\#(url)", "events": [\#(list)], "description": "ERP"}"#)
        try #require(created.status == .created, "\(created.text)")
        return (try #require(created.json["id"]?.stringValue), try #require(created.json["secret"]?.stringValue))
    }

    @Test func recordEventsReachTheEndpointSignedWithTheirChanges() async throws {
        let receiver = try Receiver()
        try await RecordFixtures.withTenant("hook") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let (endpoint, secret) = try await Self.register(admin, url: receiver.url, events: ["account.*"])
            #expect(secret.hasPrefix("whsec_") && secret.count > 40)
            let listed = try await admin.call(.get, "/api/v1/admin/webhooks")
            #expect(listed.json["webhooks"]?.arrayValue?.count == 1)
            #expect(!listed.text.contains(secret), "the secret is shown once, at creation")

            let account = try await admin.createID("account", #"{"name": "上海华联"}"#)
            let changed = try await admin.call(.patch, "/api/v1/account/\(account)", json: #"{"name": "上海华联超市", "version": 1}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            _ = try await admin.createID("lead", #"{"name": "王芳", "company": "杭州明远"}"#)  // not an event the endpoint hears
            #expect(try await admin.call(.delete, "/api/v1/account/\(account)").status == .noContent)

            try await OutboxTests.withWorker(relay: nil, channel: "webhook") { worker in try await worker.runOnce() }
            let calls = try receiver.calls()
            try #require(calls.count == 3, "\(calls.map(\.body))")
            let byEvent = Dictionary(calls.map { ($0.headers["x-atrium-event"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            #expect(Set(byEvent.keys) == ["account.created", "account.updated", "account.deleted"])
            #expect(calls.allSatisfy { Self.signatureIsValid($0, secret: secret) })
            #expect(!Self.signatureIsValid(calls[0], secret: secret + "x"))
            let updated = try #require(byEvent["account.updated"])
            #expect(updated.json["data"]?["id"] == .string(account))
            #expect(updated.json["data"]?["name"] == .string("上海华联超市"))
            #expect(updated.json["data"]?["changes"]?["name"] != nil, "\(updated.body)")
            #expect(updated.headers["content-type"]?.hasPrefix("application/json") == true)

            // The delivery log names each delivery by the id the receiver saw.
            let log = try await admin.call(.get, "/api/v1/admin/webhooks/\(endpoint)/deliveries")
            let ids = Set(log.json["deliveries"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            #expect(ids == Set(calls.compactMap { $0.headers["x-atrium-delivery"] }))
            #expect(log.json["deliveries"]?.arrayValue?.allSatisfy { $0["status"] == .string("sent") } == true)

            // A ping goes out whatever the endpoint hears; the rotated secret signs from now on.
            let rotated = try await admin.call(.post, "/api/v1/admin/webhooks/\(endpoint)/rotate-secret")
            let newSecret = try #require(rotated.json["secret"]?.stringValue)
            #expect(try await admin.call(.post, "/api/v1/admin/webhooks/\(endpoint)/ping").status == .accepted)
            try await OutboxTests.withWorker(relay: nil, channel: "webhook") { worker in try await worker.runOnce() }
            let ping = try #require(try receiver.calls().last)
            #expect(ping.headers["x-atrium-event"] == "ping")
            #expect(Self.signatureIsValid(ping, secret: newSecret) && !Self.signatureIsValid(ping, secret: secret))
        }
    }

    @Test func endpointsThatCannotBeUsedAreRefusedNamingTheField() async throws {
        try await RecordFixtures.withTenant("hookbad") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            for (body, field) in [
                (#"{"url": "ftp://erp.example.cn/x", "events": ["account.created"]}"#, "url"),
                (#"{"url": "https://user:pw@erp.example.cn/x", "events": ["account.created"]}"#, "url"),
                (#"{"events": ["account.created"]}"#, "url"),
                (#"{"url": "https://erp.example.cn/x", "events": ["account.exploded"]}"#, "events"),
                (#"{"url": "https://erp.example.cn/x", "events": ["no_such_thing.created"]}"#, "events"),
                (#"{"url": "https://erp.example.cn/x", "events": []}"#, "events"),
                (#"{"url": "https://erp.example.cn/x", "events": ["*"], "secret": "mine"}"#, "secret"),
            ] {
                let response = try await admin.call(.post, "/api/v1/admin/webhooks", json: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            #expect(try await admin.call(.get, "/api/v1/admin/webhooks").json["webhooks"]?.arrayValue?.isEmpty == true, "nothing partly written")
            let missing = try await admin.call(.patch, "/api/v1/admin/webhooks/\(UUID())", json: #"{"active": true}"#)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "webhook_not_found")
        }
    }

    @Test func aFailingEndpointIsRetriedThenTurnedOffAndTheAdministratorsAreTold() async throws {
        let failing = try Receiver(["--status", "500"])
        try await RecordFixtures.withTenant("hookfail") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let (endpoint, _) = try await Self.register(admin, url: failing.url, events: ["account.created"])
            _ = try await admin.createID("account", #"{"name": "Failing Co"}"#)
            try await OutboxTests.withWorker(relay: nil, channel: "webhook", configure: { $0.webhookDisableAfter = 3 }) { worker in
                for _ in 0..<4 { try await worker.runOnce() }
            }
            #expect(try failing.calls().count == 3, "three attempts reach the receiver; the fourth finds the endpoint off")
            let listed = try await admin.call(.get, "/api/v1/admin/webhooks")
            let state = try #require(listed.json["webhooks"]?.arrayValue?.first)
            #expect(state["active"] == .bool(false))
            #expect(state["disabled_reason"]?.stringValue?.hasPrefix("HTTP 500") == true, "\(state)")
            let inbox = try await admin.call(.get, "/api/v1/notifications")
            #expect(inbox.json["notifications"]?.arrayValue?.map { $0["kind"] } == [.string("webhook.disabled")])
            let log = try await admin.call(.get, "/api/v1/admin/webhooks/\(endpoint)/deliveries")
            let delivery = try #require(log.json["deliveries"]?.arrayValue?.first)
            #expect(delivery["status"] == .string("failed"))
            #expect(delivery["attempts"]?.asInt == 4)

            // Fixed: point it elsewhere, turn it on, send the failed delivery again.
            let healthy = try Receiver()
            let fixed = try await admin.call(.patch, "/api/v1/admin/webhooks/\(endpoint)", json: #"{"url": "\#(healthy.url)", "active": true}"#)
            #expect(fixed.json["consecutive_failures"]?.asInt == 0)
            let id = try #require(delivery["id"]?.stringValue)
            #expect(try await admin.call(.post, "/api/v1/admin/webhooks/\(endpoint)/deliveries/\(id)/redeliver").status == .accepted)
            #expect(try await admin.call(.post, "/api/v1/admin/webhooks/\(endpoint)/deliveries/\(UUID())/redeliver").status == .notFound)
            try await OutboxTests.withWorker(relay: nil, channel: "webhook") { worker in try await worker.runOnce() }
            #expect(try healthy.calls().map { $0.headers["x-atrium-delivery"] } == [id], "the same delivery id as before")
            let after = try await admin.call(.get, "/api/v1/admin/webhooks/\(endpoint)/deliveries")
            #expect(after.json["deliveries"]?.arrayValue?.first?["status"] == .string("sent"))
        }
    }

    @Test func webhooksCallPublicAddressesOnlyUnlessAllowed() async throws {
        for url in ["http://127.0.0.1/x", "http://10.1.2.3/x", "http://172.20.0.1/", "http://192.168.1.10:8080/erp", "http://169.254.169.254/latest/meta-data",
                    "http://[::1]/x", "http://[fd00::1]/x", "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/x", "http://100.64.0.1/x"] {
            await #expect(throws: WebhookError.self, "\(url)") { try await WebhookAddressPolicy.check(url, allowPrivate: false) }
            try await WebhookAddressPolicy.check(url, allowPrivate: true)
        }
        try await WebhookAddressPolicy.check("https://8.8.8.8/hook", allowPrivate: false)
        try await WebhookAddressPolicy.check("https://[2001:4860:4860::8888]/hook", allowPrivate: false)
        #expect(Webhooks.isEventPattern("account.created") && Webhooks.isEventPattern("*.deleted") && Webhooks.isEventPattern("x_project.*"))
        #expect(!Webhooks.isEventPattern("account") && !Webhooks.isEventPattern("Account.created") && !Webhooks.isEventPattern("a.b.c"))
    }
}

import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Platform
import Testing

/// Group robots (issue 16): WeChat Work, DingTalk and Feishu group webhooks hear chosen
/// notification kinds and get one message per event, in their own formats, signed the way
/// each platform checks; a platform's error code in a 200 answer counts as a failure.
@Suite(.serialized) struct RobotTests {
    typealias Receiver = WebhookTests.Receiver

    static func add(_ admin: RecordAPIClient, _ body: String) async throws -> String {
        let created = try await admin.call(.post, "/api/v1/admin/robots", json: body)
        try #require(created.status == .created, "\(created.text)")
        #expect(created.text.contains("secret") == false, "the secret is never shown")
        return try #require(created.json["id"]?.stringValue)
    }

    /// DingTalk's check, written from its documentation: base64(HMAC-SHA256(secret, "<ms>\n<secret>")), URL-encoded.
    static func dingTalkSignatureIsValid(_ path: String, secret: String) -> Bool {
        guard let query = URLComponents(string: "http://x\(path)")?.queryItems,
              let timestamp = query.first(where: { $0.name == "timestamp" })?.value, let sign = query.first(where: { $0.name == "sign" })?.value,
              let ms = Int64(timestamp), abs(Int64(Date().timeIntervalSince1970 * 1000) - ms) < 3_600_000 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString() == sign
    }

    /// Feishu's check: base64(HMAC-SHA256(key: "<s>\n<secret>", message: "")).
    static func feishuSignatureIsValid(_ body: JSONValue, secret: String) -> Bool {
        guard let timestamp = body["timestamp"]?.stringValue, let sign = body["sign"]?.stringValue else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(), using: SymmetricKey(data: Data("\(timestamp)\n\(secret)".utf8)))
        return Data(mac).base64EncodedString() == sign
    }

    @Test func anApprovalReachesEachRobotThatHearsItInItsFormat() async throws {
        let receiver = try Receiver(["--reply", #"{"errcode": 0, "errmsg": "ok"}"#])
        let base = "http://127.0.0.1:\(receiver.server.port)"
        try await ApprovalTests.withOrg("robot") { _, tenant, org in
            let wecom = try await Self.add(org.admin, #"{"kind": "wecom", "name": "销售群", "url": "\#(base)/wecom?key=k1", "kinds": ["approval.*"]}"#)
            _ = try await Self.add(org.admin, #"{"kind": "dingtalk", "name": "管理层", "url": "\#(base)/dingtalk?access_token=t1", "kinds": ["*"], "secret": "SEC-ding"}"#)
            _ = try await Self.add(org.admin, #"{"kind": "feishu", "name": "Finance", "url": "\#(base)/feishu", "kinds": ["approval.task_assigned"], "secret": "feishu-secret", "locale": "en"}"#)
            let listed = try await org.admin.call(.get, "/api/v1/admin/robots")
            #expect(listed.json["robots"]?.arrayValue?.count == 3)
            #expect(!listed.text.contains("SEC-ding"))

            let claim = try await ApprovalTests.claim(org, org.emp, "Train to Shanghai", ["120.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            try await OutboxTests.withWorker(relay: nil, channel: "robot") { worker in try await worker.runOnce() }
            let calls = try receiver.calls()
            // task_assigned: all three; cc: the two that hear approval.* and *.
            #expect(calls.count == 5, "\(calls.map(\.path))")
            let wecomCalls = calls.filter { $0.path.hasPrefix("/wecom") }
            #expect(wecomCalls.count == 2)
            let text = wecomCalls.compactMap { $0.json["text"]?["content"]?.stringValue }
            #expect(wecomCalls.allSatisfy { $0.json["msgtype"] == .string("text") })
            #expect(text.contains { $0.contains("Train to Shanghai") && $0.contains("https://\(tenant.info.slug).crm.test/app/expense_claim/\(claim)") }, "\(text)")
            #expect(text.contains { $0.contains("审批") }, "a zh-CN robot speaks Chinese: \(text)")
            let ding = calls.filter { $0.path.hasPrefix("/dingtalk") }
            #expect(ding.count == 2 && ding.allSatisfy { Self.dingTalkSignatureIsValid($0.path, secret: "SEC-ding") }, "\(ding.map(\.path))")
            #expect(!Self.dingTalkSignatureIsValid(ding.first?.path ?? "", secret: "other"))
            let feishu = try #require(calls.first { $0.path.hasPrefix("/feishu") })
            #expect(feishu.json["msg_type"] == .string("text"))
            #expect(feishu.json["content"]?["text"]?.stringValue?.contains("is waiting for your approval") == true, "an en robot speaks English: \(feishu.body)")
            #expect(Self.feishuSignatureIsValid(feishu.json, secret: "feishu-secret"))

            // The test button sends one message to that robot only.
            #expect(try await org.admin.call(.post, "/api/v1/admin/robots/\(wecom)/test").status == .accepted)
            try await OutboxTests.withWorker(relay: nil, channel: "robot") { worker in try await worker.runOnce() }
            let test = try #require(try receiver.calls().last)
            #expect(test.path.hasPrefix("/wecom"))
            #expect(test.json["text"]?["content"]?.stringValue?.contains("销售群") == true, "\(test.body)")
        }
    }

    @Test func aPlatformErrorCodeIsAFailureAndBadRobotsAreRefusedNamingTheField() async throws {
        let refusing = try Receiver(["--reply", #"{"errcode": 310000, "errmsg": "sign not match"}"#])
        try await RecordFixtures.withTenant("robotbad") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            for (body, field) in [
                (#"{"kind": "slack", "name": "x", "url": "https://hooks.example.cn/x", "kinds": ["*"]}"#, "kind"),
                (#"{"kind": "wecom", "name": "x", "url": "ftp://hooks.example.cn/x", "kinds": ["*"]}"#, "url"),
                (#"{"kind": "wecom", "name": "x", "url": "https://hooks.example.cn/x", "kinds": ["Approval"]}"#, "kinds"),
                (#"{"kind": "wecom", "name": "x", "url": "https://hooks.example.cn/x"}"#, "kinds"),
                (#"{"kind": "wecom", "name": "x", "url": "https://hooks.example.cn/x", "kinds": ["*"], "locale": "fr"}"#, "locale"),
                (#"{"kind": "wecom", "name": "x", "url": "https://hooks.example.cn/x", "kinds": ["*"], "token": "t"}"#, "token"),
            ] {
                let response = try await admin.call(.post, "/api/v1/admin/robots", json: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            let robot = try await Self.add(admin, #"{"kind": "dingtalk", "name": "群", "url": "http://127.0.0.1:\#(refusing.server.port)/robot/send", "kinds": ["*"]}"#)
            #expect(try await admin.call(.post, "/api/v1/admin/robots/\(robot)/test").status == .accepted)
            try await OutboxTests.withWorker(relay: nil, channel: "robot") { worker in try await worker.runOnce() }
            #expect(try refusing.calls().count == 1)
            let log = try await admin.call(.get, "/api/v1/admin/outbox?channel=robot")
            let delivery = try #require(log.json["deliveries"]?.arrayValue?.first)
            #expect(delivery["status"] == .string("failed"), "a test message is tried once: \(delivery)")
            #expect(delivery["last_error"]?.stringValue?.contains("310000") == true, "\(delivery)")
            #expect(try await admin.call(.patch, "/api/v1/admin/robots/\(robot)", json: #"{"active": false}"#).json["active"] == .bool(false))
            #expect(try await admin.call(.delete, "/api/v1/admin/robots/\(robot)").status == .noContent)
            #expect(try await admin.call(.delete, "/api/v1/admin/robots/\(robot)").status == .notFound)
        }
    }
}

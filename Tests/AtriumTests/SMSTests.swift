import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import Testing

/// SMS as a notification channel (issue 16): the tenant's switch, the user's mobile number and
/// choice per kind, the outbox row written with the notification, and the HTTP adapter's
/// request as a real local receiver (`Tests/support/webhook_receiver.py`) sees it — plus a
/// provider's refusal (final), its outage (retried), the log-only adapter and no provider.
@Suite(.serialized) struct SMSTests {
    typealias Receiver = WebhookTests.Receiver

    static func withSMSWorker(_ provider: AtriumConfiguration.SMSProviderSetting?, tenant: TestEnvironment.Tenant,
                              _ body: @escaping @Sendable (OutboxWorker) async throws -> Void) async throws {
        try await OutboxTests.withWorker(relay: nil, channel: "sms", tenants: [tenant.info.id], configure: { config in
            config.smsProvider = provider
            config.smsSignature = "【测试】"
        }, body)
    }

    static func smsLog(_ admin: RecordAPIClient) async throws -> [JSONValue] {
        let response = try await admin.call(.get, "/api/v1/admin/outbox?channel=sms")
        try #require(response.status == .ok, "\(response.text)")
        return response.json["deliveries"]?.arrayValue ?? []
    }

    @Test func aChosenKindIsTextedToTheMobileWhereTheTenantTurnedSMSOn() async throws {
        let receiver = try Receiver()
        try await ApprovalTests.withOrg("sms") { _, tenant, org in
            let choose = #"{"sms": {"approval.task_assigned": true}}"#
            let early = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: choose)
            #expect(early.status == .unprocessableContent && early.errorField == "sms", "SMS is off until the tenant turns it on: \(early.text)")
            let before = try await org.mgr.api.call(.get, "/api/v1/notifications/preferences")
            #expect(before.json["sms_available"] == .bool(false) && before.json["sms"]?["approval.task_assigned"] == .bool(false))

            let on = try await org.admin.call(.put, "/api/v1/admin/mail-settings", json: #"{"sms_enabled": true}"#)
            #expect(on.status == .ok && on.json["sms_enabled"] == .bool(true), "\(on.text)")
            let chosen = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: choose)
            #expect(chosen.status == .ok && chosen.json["sms"]?["approval.task_assigned"] == .bool(true), "\(chosen.text)")
            #expect(chosen.json["email"]?["approval.task_assigned"] == .bool(true), "the e-mail choice is untouched")

            let bad = try await org.admin.call(.patch, "/api/v1/admin/users/\(org.mgr.id)", json: #"{"mobile": "138 ABC"}"#)
            #expect(bad.status == .unprocessableContent && bad.errorField == "mobile", "\(bad.text)")
            let mobile = try await org.admin.call(.patch, "/api/v1/admin/users/\(org.mgr.id)", json: #"{"mobile": "+86 138-0013-8000"}"#)
            #expect(mobile.status == .ok && mobile.json["mobile"] == .string("+8613800138000"), "\(mobile.text)")
            // The copied user has a number but did not choose SMS: nothing for them.
            _ = try await org.admin.call(.patch, "/api/v1/admin/users/\(org.cc.id)", json: #"{"mobile": "13900139000"}"#)

            let claim = try await ApprovalTests.claim(org, org.emp, "Train to Wuxi", ["80.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            try await Self.withSMSWorker(.http(url: receiver.url, token: "sms-token"), tenant: tenant) { worker in try await worker.runOnce() }
            let calls = try receiver.calls()
            try #require(calls.count == 1, "one text: the manager's task; \(calls.map(\.body))")
            let call = calls[0]
            #expect(call.headers["authorization"] == "Bearer sms-token")
            #expect(call.json["to"] == .string("+8613800138000"))
            let text = try #require(call.json["text"]?.stringValue)
            #expect(text.hasPrefix("【测试】") && text.contains("Train to Wuxi"), "\(text)")
            #expect(text.hasSuffix("https://\(tenant.info.slug).crm.test/app/expense_claim/\(claim)"), "\(text)")
            #expect(call.headers["idempotency-key"] == call.json["reference"]?.stringValue)
            #expect(try await Self.smsLog(org.admin).map { $0["status"] } == [.string("sent")])

            // The tenant turns SMS off: what is still waiting is not sent.
            _ = try await org.admin.call(.put, "/api/v1/admin/mail-settings", json: #"{"sms_enabled": false}"#)
            let second = try await ApprovalTests.claim(org, org.emp, "Bus to Hangzhou", ["30.00"])
            #expect(try await ApprovalTests.submit(org.emp, second).status == .created)
            #expect(try await Self.smsLog(org.admin).count == 1, "no SMS is queued while the tenant has it off")
        }
    }

    @Test func aRefusalIsFinalAnOutageIsRetriedTheLogAdapterSendsNothing() async throws {
        try await ApprovalTests.withOrg("sms-fail") { _, tenant, org in
            _ = try await org.admin.call(.put, "/api/v1/admin/mail-settings", json: #"{"sms_enabled": true}"#)
            _ = try await org.admin.call(.patch, "/api/v1/admin/users/\(org.mgr.id)", json: #"{"mobile": "13800138000"}"#)
            _ = try await org.mgr.api.call(.put, "/api/v1/notifications/preferences", json: #"{"sms": {"approval.task_assigned": true}}"#)
            let claim = try await ApprovalTests.claim(org, org.emp, "Taxi", ["45.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)

            // No provider: recorded as failed, not retried.
            try await Self.withSMSWorker(nil, tenant: tenant) { worker in try await worker.runOnce() }
            var log = try await Self.smsLog(org.admin)
            #expect(log.map { $0["status"] } == [.string("failed")])
            #expect(log.first?["last_error"]?.stringValue?.contains("ATRIUM_SMS_PROVIDER") == true, "\(log)")

            // An outage (500) is tried again; a refusal (400) is final.
            let second = try await ApprovalTests.claim(org, org.emp, "Hotel", ["300.00"])
            #expect(try await ApprovalTests.submit(org.emp, second).status == .created)
            let down = try Receiver(["--status", "503"])
            try await Self.withSMSWorker(.http(url: down.url, token: nil), tenant: tenant) { worker in try await worker.runOnce() }
            log = try await Self.smsLog(org.admin)
            #expect(log.contains { $0["status"] == .string("pending") && $0["last_error"]?.stringValue?.contains("503") == true }, "\(log)")
            let refusing = try Receiver(["--status", "400"])
            try await Self.withSMSWorker(.http(url: refusing.url, token: nil), tenant: tenant) { worker in try await worker.runOnce() }
            log = try await Self.smsLog(org.admin)
            #expect(log.map { $0["status"]?.stringValue ?? "" }.sorted() == ["failed", "failed"], "\(log)")
            #expect(try down.calls().count == 1 && refusing.calls().count == 1)

            // The log adapter marks a message sent without sending it.
            let third = try await ApprovalTests.claim(org, org.emp, "Ferry", ["20.00"])
            #expect(try await ApprovalTests.submit(org.emp, third).status == .created)
            try await Self.withSMSWorker(.log, tenant: tenant) { worker in try await worker.runOnce() }
            log = try await Self.smsLog(org.admin)
            #expect(log.filter { $0["status"] == .string("sent") }.count == 1, "\(log)")
        }
    }

    @Test func theSignatureAndLengthAreKeptAndNumbersMasked() {
        #expect(SMSChannel.masked("+8613800138000") == "+86*******8000")
        #expect(OrganisationAdmin.MemberChange.mobileNumber("+86 138-0013-8000") == "+8613800138000")
        #expect(OrganisationAdmin.MemberChange.mobileNumber("12345") == nil)
        #expect(OrganisationAdmin.MemberChange.mobileNumber("+86 138 0013 800a") == nil)
    }
}

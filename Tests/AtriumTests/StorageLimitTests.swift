import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Testing

/// Attachments count against the tenant's storage limit (issue 16): each content once, the
/// limit from the plan at provisioning, changed with `atrium-admin tenant limits`.
@Suite struct StorageLimitTests {
    typealias A = AttachmentTests

    /// `count` bytes of a text file that differs from every other one made here.
    static func text(_ count: Int) -> [UInt8] {
        let head = Array("atrium \(UUID())\n".utf8)
        return head + Array(repeating: UInt8(ascii: "x"), count: count - head.count)
    }

    @Test func anUploadBeyondTheStorageLimitIsRefusedNamingTheLimitAndTheSameFileTakesNoMore() async throws {
        try await RecordFixtures.withTenants(prefixes: ["quota"], configure: { $0.maxUploadBytes = 2 * 1024 * 1024 }) { client, tenants in
            let tenant = tenants[0]
            let shown = try AdminCLITests.admin(["tenant", "limits", tenant.info.slug])
            #expect(shown.stdout.contains("500 MiB"), "a trial tenant gets the plan's 500 MiB: \(shown.stdout)")
            let set = try AdminCLITests.admin(["tenant", "limits", tenant.info.slug, "--max-storage-mb", "1"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout.contains("1 MiB"), "\(set.stdout)")

            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(RecordFixtures.projectObject)
            let path = "/api/v1/x_project/\(try await api.createID("x_project", #"{"x_name": "Quota"}"#))"
            let first = Self.text(600 * 1024)
            let stored = try await A.upload(api, path, [.init(fileName: "a.txt", contentType: "text/plain", content: first)])
            #expect(stored.status == .created, "\(stored.text)")
            let again = try await A.upload(api, path, [.init(fileName: "a copy.txt", contentType: "text/plain", content: first)])
            #expect(again.status == .created, "the same bytes are stored once and take no more room: \(again.text)")
            let over = try await A.upload(api, path, [.init(fileName: "b.txt", contentType: "text/plain", content: Self.text(600 * 1024))])
            #expect(over.status == .unprocessableContent, "\(over.text)")
            #expect(over.errorCode == "plan_limit_storage")
            #expect(over.errorField == "file")
            #expect(over.errorMessage.contains("1 MiB"), "\(over.text)")
            #expect(try await A.files(api, path).json["attachments"]?.asArray?.count == 2, "nothing written for the refused file")

            #expect(try AdminCLITests.admin(["tenant", "limits", tenant.info.slug, "--max-storage-mb", "none"]).status == 0)
            let lifted = try await A.upload(api, path, [.init(fileName: "b.txt", contentType: "text/plain", content: Self.text(600 * 1024))])
            #expect(lifted.status == .created, "\(lifted.text)")
        }
    }
}

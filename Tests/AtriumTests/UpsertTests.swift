import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Platform
import Testing

/// The idempotent upsert by a unique field (issue 16's integration contract): an ERP pushes
/// products by their code again and again; the first push creates, the next ones change, and
/// pushes that race end in one record.
@Suite struct UpsertTests {
    @Test func aPushCreatesThenChangesTheRecordFoundByItsUniqueCode() async throws {
        try await RecordFixtures.withTenant("upsert") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let first = try await admin.call(.put, "/api/v1/product/by/code/P-1001", json: #"{"name": "A4 纸", "list_price": "25.00"}"#)
            #expect(first.status == .created, "\(first.text)")
            let id = try #require(first.json["id"]?.stringValue)
            #expect(first.json["code"] == .string("P-1001"))

            let again = try await admin.call(.put, "/api/v1/product/by/code/p-1001", json: #"{"name": "A4 复印纸", "list_price": "26.50"}"#)
            #expect(again.status == .ok, "the code matches whatever its case, as the unique check does: \(again.text)")
            #expect(again.json["id"] == .string(id))
            #expect(again.json["name"] == .string("A4 复印纸"))
            #expect(again.json["code"] == .string("P-1001"), "the stored code is kept")
            #expect((again.json["version"]?.asInt ?? 0) > (first.json["version"]?.asInt ?? 0))

            // Percent-encoded values with spaces and Chinese.
            let spaced = try await admin.call(.put, "/api/v1/product/by/code/%E7%BA%B8%20B5", json: #"{"name": "B5 纸", "list_price": "9"}"#)
            #expect(spaced.status == .created, "\(spaced.text)")
            #expect(spaced.json["code"] == .string("纸 B5"))

            // Bad uses name the field.
            let notUnique = try await admin.call(.put, "/api/v1/product/by/name/A4", json: #"{"list_price": "1"}"#)
            #expect(notUnique.status == .unprocessableContent)
            #expect(notUnique.errorField == "name")
            let differing = try await admin.call(.put, "/api/v1/product/by/code/P-1001", json: #"{"code": "P-2002", "name": "x"}"#)
            #expect(differing.status == .unprocessableContent)
            #expect(differing.errorField == "code")
            let invalid = try await admin.call(.put, "/api/v1/product/by/code/P-3003", json: #"{"name": "no price"}"#)
            #expect(invalid.status == .unprocessableContent, "a create still needs its required fields: \(invalid.text)")
            #expect(try await admin.call(.put, "/api/v1/no_such/by/code/x", json: "{}").status == .notFound)

            // The audit trail tells a push's create from its change.
            let history = try await admin.call(.get, "/api/v1/product/\(id)/history")
            let actions = history.json["entries"]?.arrayValue?.compactMap { $0["action"]?.stringValue } ?? []
            #expect(actions.contains("record.created") && actions.contains("record.updated"), "\(history.text.prefix(400))")
        }
    }

    @Test func racingPushesOfOneCodeEndInOneRecord() async throws {
        try await RecordFixtures.withTenant("upsertrace") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await admin.call(.put, "/api/v1/product/by/code/RACE-1", json: #"{"name": "push \#(index)", "list_price": "1"}"#).status
                    }
                }
                var all: [HTTPResponse.Status] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.filter { $0 == .created }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == .ok }.count == 7, "\(statuses)")
            let list = try await admin.call(.get, "/api/v1/product?limit=50")
            #expect(list.records.filter { $0["code"] == .string("RACE-1") }.count == 1)
        }
    }
}

import Foundation
import HTTPTypes
import Platform
import Testing

/// Typed validation of record writes: every field type refuses bad input with a 422 that
/// names the field, and a refused write stores nothing.
@Suite struct RecordValidationTests {
    /// `x_all`: one field of every type a caller can write, plus an auto-number.
    static let allTypesObject = #"""
        {"key": "x_all", "labels": {"en": "All types"},
         "fields": [
           {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true, "maxLength": 10},
           {"key": "x_notes", "labels": {"en": "Notes"}, "type": "long_text"},
           {"key": "x_num", "labels": {"en": "Number"}, "type": "number"},
           {"key": "x_pct", "labels": {"en": "Percent"}, "type": "percent"},
           {"key": "x_amount", "labels": {"en": "Amount"}, "type": "money"},
           {"key": "x_email", "labels": {"en": "Email"}, "type": "email"},
           {"key": "x_pick", "labels": {"en": "Colour"}, "type": "picklist", "options": [{"value": "red"}, {"value": "green"}]},
           {"key": "x_multi", "labels": {"en": "Tags"}, "type": "multi_picklist", "options": [{"value": "red"}, {"value": "green"}]},
           {"key": "x_date", "labels": {"en": "Date"}, "type": "date"},
           {"key": "x_dt", "labels": {"en": "When"}, "type": "datetime"},
           {"key": "x_bool", "labels": {"en": "Flag"}, "type": "boolean"},
           {"key": "x_url", "labels": {"en": "Site"}, "type": "url"},
           {"key": "x_phone", "labels": {"en": "Phone"}, "type": "phone"},
           {"key": "x_owner", "labels": {"en": "Owner"}, "type": "user"},
           {"key": "x_account", "labels": {"en": "Account"}, "type": "lookup", "target": "x_account"},
           {"key": "x_no", "labels": {"en": "No."}, "type": "auto_number", "format": "ALL-{seq:3}"}
         ]}
        """#

    static let accountObject = #"""
        {"key": "x_account", "labels": {"en": "Account"}, "fields": [{"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true}]}
        """#

    /// One bad write: the body, the field the 422 must name and its error code.
    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        let field: String
        var code = "invalid_field"

        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "number 'abc'", body: #"{"x_name": "ok", "x_num": "abc"}"#, field: "x_num"),
        BadInput(name: "number as a boolean", body: #"{"x_name": "ok", "x_num": true}"#, field: "x_num"),
        BadInput(name: "percent with three decimals", body: #"{"x_name": "ok", "x_pct": "12.345"}"#, field: "x_pct"),
        BadInput(name: "money with a lower-case currency", body: #"{"x_name": "ok", "x_amount": {"amount": "1", "currency": "cny"}}"#, field: "x_amount"),
        BadInput(name: "email without @", body: #"{"x_name": "ok", "x_email": "someone.example.com"}"#, field: "x_email"),
        BadInput(name: "picklist value not in the list", body: #"{"x_name": "ok", "x_pick": "purple"}"#, field: "x_pick"),
        BadInput(name: "multi-picklist with an unknown value", body: #"{"x_name": "ok", "x_multi": ["red", "purple"]}"#, field: "x_multi"),
        BadInput(name: "date 2026-02-30", body: #"{"x_name": "ok", "x_date": "2026-02-30"}"#, field: "x_date"),
        BadInput(name: "date in another format", body: #"{"x_name": "ok", "x_date": "2026/03/01"}"#, field: "x_date"),
        BadInput(name: "datetime without a zone", body: #"{"x_name": "ok", "x_dt": "2026-11-23T09:30:00"}"#, field: "x_dt"),
        BadInput(name: "boolean 'yes'", body: #"{"x_name": "ok", "x_bool": "yes"}"#, field: "x_bool"),
        BadInput(name: "url ftp://x", body: #"{"x_name": "ok", "x_url": "ftp://x"}"#, field: "x_url"),
        BadInput(name: "phone 'abc'", body: #"{"x_name": "ok", "x_phone": "abc"}"#, field: "x_phone"),
        BadInput(name: "user that does not exist", body: #"{"x_name": "ok", "x_owner": "00000000-0000-4000-8000-000000000001"}"#, field: "x_owner"),
        BadInput(name: "lookup that is not a UUID", body: #"{"x_name": "ok", "x_account": "acme"}"#, field: "x_account"),
        BadInput(name: "lookup to no record", body: #"{"x_name": "ok", "x_account": "00000000-0000-4000-8000-000000000001"}"#, field: "x_account"),
        BadInput(name: "required field missing", body: #"{"x_num": "1"}"#, field: "x_name", code: "required"),
        BadInput(name: "required field empty", body: #"{"x_name": ""}"#, field: "x_name", code: "required"),
        BadInput(name: "unknown field", body: #"{"x_name": "ok", "x_nope": "1"}"#, field: "x_nope", code: "unknown_field"),
        BadInput(name: "system field created_at", body: #"{"x_name": "ok", "created_at": "2020-01-01T00:00:00Z"}"#, field: "created_at", code: "read_only"),
        BadInput(name: "system field version", body: #"{"x_name": "ok", "version": 7}"#, field: "version", code: "read_only"),
        BadInput(name: "text longer than maxLength", body: #"{"x_name": "elevenchars"}"#, field: "x_name"),
        BadInput(name: "text with a line break", body: #"{"x_name": "a\nb"}"#, field: "x_name"),
        BadInput(name: "auto-number set by the caller", body: #"{"x_name": "ok", "x_no": "ALL-999"}"#, field: "x_no"),
    ]

    @Test(arguments: badInputs)
    func badInputIs422NamingTheFieldAndWritesNothing(_ bad: BadInput) async throws {
        try await RecordFixtures.withTenant("rec-bad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.accountObject)
            try await api.createObject(Self.allTypesObject)
            let before = try await RecordFixtures.storedRecordCount(tenant)
            let response = try await api.call(.post, "/api/v1/x_all", json: bad.body)
            #expect(response.status == .unprocessableContent, "\(response.text)")
            #expect(response.errorField == bad.field)
            #expect(response.errorCode == bad.code)
            #expect(response.errorMessage.contains(bad.field))
            #expect(try await api.count("x_all") == 0)
            #expect(try await RecordFixtures.storedRecordCount(tenant) == before)
            // Not even an auto-number was used up.
            #expect(try await api.create("x_all", #"{"x_name": "ok"}"#)["x_no"] == .string("ALL-001"))
        }
    }

    @Test func everyFieldTypeAcceptsGoodInputInItsStoredForm() async throws {
        try await RecordFixtures.withTenant("rec-good") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.accountObject)
            try await api.createObject(Self.allTypesObject)
            let account = try await api.createID("x_account", #"{"x_name": "Acme"}"#)
            let me = try #require(try await api.call(.get, "/api/v1/me").json["user"]?["id"]?.stringValue)
            let record = try await api.create("x_all", #"""
                {"x_name": "ok", "x_notes": "line one\nline two", "x_num": "-12.5", "x_pct": 33.3, "x_amount": "5",
                 "x_email": " Someone@Example.COM ", "x_pick": "red", "x_multi": ["green", "red", "green"], "x_date": "2028-02-29",
                 "x_dt": "2026-11-23T09:30:00+08:00", "x_bool": false, "x_url": "https://example.com/a?b=c", "x_phone": "+86 10 1234 5678",
                 "x_owner": "\#(me.uppercased())", "x_account": "\#(account.uppercased())"}
                """#)
            #expect(record["x_notes"] == .string("line one\nline two"))
            #expect(record["x_num"] == .string("-12.5"))
            #expect(record["x_pct"] == .string("33.30"))
            #expect(record["x_amount"] == .object(["amount": .string("5.00"), "currency": .string("CNY")]))
            #expect(record["x_email"] == .string("someone@example.com"))
            #expect(record["x_multi"] == .array([.string("green"), .string("red")]))
            #expect(record["x_date"] == .string("2028-02-29"))
            #expect(record["x_dt"] == .string("2026-11-23T01:30:00Z"))
            #expect(record["x_bool"] == .bool(false))
            #expect(record["x_url"] == .string("https://example.com/a?b=c"))
            #expect(record["x_phone"] == .string("+86 10 1234 5678"))
            #expect(record["x_owner"] == .string(me.lowercased()))
            #expect(record["x_account"] == .string(account.lowercased()))
            #expect(record["x_no"] == .string("ALL-001"))
        }
    }

    @Test func lookupToAnotherTenantsRecordIs422AndWritesNothing() async throws {
        try await RecordFixtures.withTenants("rec-lk-a", "rec-lk-b") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            // Both tenants have an x_account object, so only tenancy separates the records.
            let apiB = try await RecordAPIClient.admin(client, b)
            try await apiB.createObject(Self.accountObject)
            let foreign = try await apiB.createID("x_account", #"{"x_name": "B's account"}"#)

            let apiA = try await RecordAPIClient.admin(client, a)
            try await apiA.createObject(Self.accountObject)
            try await apiA.createObject(Self.allTypesObject)
            let own = try await apiA.createID("x_account", #"{"x_name": "A's account"}"#)
            let before = try await RecordFixtures.storedRecordCount(a)
            let response = try await apiA.call(.post, "/api/v1/x_all", json: #"{"x_name": "ok", "x_account": "\#(foreign)"}"#)
            #expect(response.status == .unprocessableContent)
            #expect(response.errorField == "x_account")
            #expect(try await RecordFixtures.storedRecordCount(a) == before)
            #expect(try await apiA.count("x_all") == 0)
            // The same write with A's own account works.
            #expect(try await apiA.call(.post, "/api/v1/x_all", json: #"{"x_name": "ok", "x_account": "\#(own)"}"#).status == .created)
        }
    }

    @Test func lookupToADeletedRecordOrARecordOfAnotherEntityIs422() async throws {
        try await RecordFixtures.withTenant("rec-lk-del") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.accountObject)
            try await api.createObject(Self.allTypesObject)
            let deleted = try await api.createID("x_account", #"{"x_name": "gone"}"#)
            #expect(try await api.call(.delete, "/api/v1/x_account/\(deleted)").status == .noContent)
            let toDeleted = try await api.call(.post, "/api/v1/x_all", json: #"{"x_name": "ok", "x_account": "\#(deleted)"}"#)
            #expect(toDeleted.status == .unprocessableContent)
            #expect(toDeleted.errorField == "x_account")
            let other = try await api.createID("x_all", #"{"x_name": "other"}"#)
            let toOtherEntity = try await api.call(.post, "/api/v1/x_all", json: #"{"x_name": "ok", "x_account": "\#(other)"}"#)
            #expect(toOtherEntity.status == .unprocessableContent)
            #expect(toOtherEntity.errorField == "x_account")
            #expect(try await api.count("x_all") == 1)
        }
    }

    @Test func patchWithABadValueIs422AndLeavesTheRecordUnchanged() async throws {
        try await RecordFixtures.withProject("rec-badpatch") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_headcount": 3}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_name": "b", "x_headcount": "many"}"#)
            #expect(patch.status == .unprocessableContent)
            #expect(patch.errorField == "x_headcount")
            let read = try await api.call(.get, "/api/v1/x_project/\(id)")
            #expect(read.json["x_name"] == .string("a"))
            #expect(read.json["x_headcount"] == .string("3"))
            #expect(read.version == 1)
            let history = try await api.call(.get, "/api/v1/x_project/\(id)/history")
            #expect(history.json["entries"]?.asArray?.count == 1)
        }
    }

    @Test func bodyThatIsNotAJSONObjectIs400() async throws {
        try await RecordFixtures.withProject("rec-badjson") { api, _ in
            let broken = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "#)
            #expect(broken.status == .badRequest)
            #expect(broken.errorCode == "invalid_json")
            let array = try await api.call(.post, "/api/v1/x_project", json: #"["x_name"]"#)
            #expect(array.status == .badRequest)
            #expect(try await api.count("x_project") == 0)
        }
    }

    // MARK: Unique fields

    @Test func secondRecordWithTheSameUniqueValueIs422DuplicateValueNamingTheField() async throws {
        try await RecordFixtures.withProject("rec-unique") { api, tenant in
            let add = try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                         json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text", "unique": true}"#)
            #expect(add.status == .created)
            let first = try await api.createID("x_project", #"{"x_name": "a", "x_tax_id": "91110000"}"#)
            let before = try await RecordFixtures.storedRecordCount(tenant)
            let duplicate = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "b", "x_tax_id": "91110000"}"#)
            #expect(duplicate.status == .unprocessableContent)
            #expect(duplicate.errorCode == "duplicate_value")
            #expect(duplicate.errorField == "x_tax_id")
            #expect(duplicate.errorMessage.contains("x_tax_id"))
            #expect(try await RecordFixtures.storedRecordCount(tenant) == before)
            // A PATCH onto the taken value is refused the same way.
            let second = try await api.createID("x_project", #"{"x_name": "b", "x_tax_id": "91120000"}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(second)", json: #"{"version": 1, "x_tax_id": "91110000"}"#)
            #expect(patch.status == .unprocessableContent)
            #expect(patch.errorCode == "duplicate_value")
            #expect(patch.errorField == "x_tax_id")
            // Records without a value do not collide.
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "c"}"#).status == .created)
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "d"}"#).status == .created)
            #expect(try await api.call(.get, "/api/v1/x_project/\(first)").json["x_tax_id"] == .string("91110000"))
        }
    }

    @Test func deletedRecordFreesItsUniqueValueAndCannotBeRestoredOverADuplicate() async throws {
        try await RecordFixtures.withProject("rec-uniq-bin") { api, _ in
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                       json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text", "unique": true}"#).status == .created)
            let old = try await api.createID("x_project", #"{"x_name": "old", "x_tax_id": "T-1"}"#)
            #expect(try await api.call(.delete, "/api/v1/x_project/\(old)").status == .noContent)
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "new", "x_tax_id": "T-1"}"#).status == .created)
            let restore = try await api.call(.post, "/api/v1/x_project/\(old)/restore")
            #expect(restore.errorCode == "duplicate_value")
            #expect(try await api.call(.get, "/api/v1/x_project/recycle-bin").records.strings("id") == [old])
            #expect(try await api.count("x_project") == 1)
        }
    }

    @Test func turningUniqueOffAllowsDuplicateValues() async throws {
        try await RecordFixtures.withProject("rec-uniq-off") { api, _ in
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                       json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text", "unique": true}"#).status == .created)
            _ = try await api.create("x_project", #"{"x_name": "a", "x_tax_id": "same"}"#)
            let off = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_tax_id", json: #"{"unique": false}"#)
            #expect(off.status == .ok)
            #expect(off.json["unique"] == .bool(false))
            let second = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "b", "x_tax_id": "same"}"#)
            #expect(second.status == .created, "\(second.text)")
        }
    }

    @Test func purgedUniqueFieldAddedAgainWithoutUniqueAllowsDuplicateValues() async throws {
        try await RecordFixtures.withProject("rec-uniq-readd") { api, _ in
            let fields = "/api/v1/admin/entities/x_project/fields"
            #expect(try await api.call(.post, fields, json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text", "unique": true}"#).status == .created)
            #expect(try await api.call(.patch, "\(fields)/x_tax_id", json: #"{"active": false}"#).status == .ok)
            #expect(try await api.call(.delete, "\(fields)/x_tax_id").status == .ok)
            #expect(try await api.call(.post, fields, json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text"}"#).status == .created)
            _ = try await api.create("x_project", #"{"x_name": "a", "x_tax_id": "same"}"#)
            let second = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "b", "x_tax_id": "same"}"#)
            #expect(second.status == .created, "\(second.text)")
        }
    }

    @Test func makingAFieldUniqueWhileRecordsShareAValueIs422NamingUnique() async throws {
        try await RecordFixtures.withProject("rec-uniq-late") { api, _ in
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                       json: #"{"key": "x_tax_id", "labels": {"en": "Tax id"}, "type": "text"}"#).status == .created)
            _ = try await api.create("x_project", #"{"x_name": "a", "x_tax_id": "same"}"#)
            _ = try await api.create("x_project", #"{"x_name": "b", "x_tax_id": "same"}"#)
            let change = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_tax_id", json: #"{"unique": true}"#)
            #expect(change.status == .unprocessableContent)
            #expect(change.errorField == "unique")
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            let field = meta.json["fields"]?.asArray?.first { $0["key"] == .string("x_tax_id") }
            #expect(field?["unique"] == .bool(false))
        }
    }
}

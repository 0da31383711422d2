import Foundation
import HTTPTypes
import Platform
import Testing

/// The records JSON API over HTTP against the live server: custom objects, CRUD, optimistic
/// locking, recycle bin, history, custom fields, layouts, OpenAPI and tenant isolation.
@Suite struct RecordAPITests {
    static let money1234: JSONValue = .object(["amount": .string("1234.50"), "currency": .string("CNY")])

    // MARK: Custom objects and records

    @Test func customObjectIsListedWithItsFieldsInEntitiesAndMeta() async throws {
        try await RecordFixtures.withProject("rec-obj") { api, _ in
            let entities = try await api.call(.get, "/api/v1/entities")
            #expect(entities.status == .ok)
            let project = entities.json["entities"]?.asArray?.first { $0["key"] == .string("x_project") }
            #expect(project?["custom"] == .bool(true))
            #expect(project?["labels"]?["zh-CN"] == .string("项目"))
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            #expect(meta.status == .ok)
            #expect(meta.json["fields"]?.asArray?.strings("key") == ["x_name", "x_budget", "x_stage", "x_start", "x_headcount", "x_code"])
            #expect(meta.json["titleField"] == .string("x_name"))
        }
    }

    @Test func createdRecordIsNormalisedAndReadsBackTheSame() async throws {
        try await RecordFixtures.withProject("rec-crud") { api, tenant in
            let created = try await api.create("x_project", #"""
                {"x_name": "北京华通", "x_budget": {"amount": "1234.5", "currency": "CNY"}, "x_stage": "plan",
                 "x_start": "2026-03-01", "x_headcount": 12}
                """#)
            #expect(created["x_budget"] == Self.money1234)
            #expect(created["x_headcount"] == .string("12"))  // numbers are stored as exact decimal strings
            #expect(created["x_start"] == .string("2026-03-01"))
            #expect(created["x_stage"] == .string("plan"))
            #expect(created["version"] == .number(1))
            #expect(created["entity"] == .string("x_project"))
            let id = try #require(created["id"]?.stringValue)
            let read = try await api.call(.get, "/api/v1/x_project/\(id)")
            #expect(read.status == .ok)
            #expect(read.json == created)
            #expect(read.json["owner_id"] == read.json["created_by"])
            #expect(try await RecordFixtures.storedRecordCount(tenant) == 1)
        }
    }

    @Test func moneyGivenAsABareNumberGetsTwoDecimalsAndTheDefaultCurrency() async throws {
        try await RecordFixtures.withProject("rec-money") { api, _ in
            let bare = try await api.create("x_project", #"{"x_name": "a", "x_budget": 1234.5}"#)
            #expect(bare["x_budget"] == Self.money1234)
            let text = try await api.create("x_project", #"{"x_name": "b", "x_budget": "99"}"#)
            #expect(text["x_budget"] == .object(["amount": .string("99.00"), "currency": .string("CNY")]))
            let dollars = try await api.create("x_project", #"{"x_name": "c", "x_budget": {"amount": 7, "currency": "USD"}}"#)
            #expect(dollars["x_budget"] == .object(["amount": .string("7.00"), "currency": .string("USD")]))
        }
    }

    @Test func autoNumbersCountUpInTheirFormatAndCannotBeWritten() async throws {
        try await RecordFixtures.withProject("rec-auto") { api, _ in
            let year = RecordFixtures.autoNumberYear
            let first = try await api.create("x_project", #"{"x_name": "one"}"#)
            let second = try await api.create("x_project", #"{"x_name": "two"}"#)
            #expect(first["x_code"] == .string("PRJ-\(year)-0001"))
            #expect(second["x_code"] == .string("PRJ-\(year)-0002"))
            let forced = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "three", "x_code": "PRJ-1999-9999"}"#)
            #expect(forced.status == .unprocessableContent)
            #expect(forced.errorField == "x_code")
            let third = try await api.create("x_project", #"{"x_name": "three"}"#)
            #expect(third["x_code"] == .string("PRJ-\(year)-0003"))  // the refused write used no number
        }
    }

    @Test func openAPIDocumentListsTheCustomObjectPathsAndFieldSchemas() async throws {
        try await RecordFixtures.withProject("rec-oas") { api, _ in
            let document = try await api.call(.get, "/api/openapi.json")
            #expect(document.status == .ok)
            #expect(document.json["openapi"] == .string("3.1.0"))
            let paths = try #require(document.json["paths"]?.objectValue)
            for path in ["/api/v1/x_project", "/api/v1/x_project/{id}", "/api/v1/x_project/query", "/api/v1/x_project/{id}/restore"] {
                #expect(paths[path] != nil, "missing \(path)")
            }
            #expect(paths["/api/v1/x_project"]?["post"]?["operationId"] == .string("create_x_project"))
            let schemas = try #require(document.json["components"]?["schemas"]?.objectValue)
            let properties = try #require(schemas["XProject"]?["properties"]?.objectValue)
            for key in ["x_name", "x_budget", "x_stage", "x_start", "x_headcount", "x_code", "id", "version"] {
                #expect(properties[key] != nil, "schema lacks \(key)")
            }
            #expect(schemas["XProjectInput"]?["required"] == .array([.string("x_name")]))
            let stage = properties["x_stage"]?["anyOf"]?[0]
            #expect(stage?["enum"] == .array([.string("plan"), .string("build"), .string("done")]))
        }
    }

    @Test func unknownEntityIs404WithEntityNotFound() async throws {
        try await RecordFixtures.withProject("rec-404") { api, _ in
            let list = try await api.call(.get, "/api/v1/x_nothing")
            #expect(list.status == .notFound)
            #expect(list.errorCode == "entity_not_found")
            let create = try await api.call(.post, "/api/v1/x_nothing", json: #"{"x_name": "a"}"#)
            #expect(create.status == .notFound)
            let badID = try await api.call(.get, "/api/v1/x_project/not-a-uuid")
            #expect(badID.status == .notFound)
            #expect(badID.errorCode == "record_not_found")
        }
    }

    // MARK: Optimistic locking and history

    @Test func patchWithoutVersionIs422NamingVersion() async throws {
        try await RecordFixtures.withProject("rec-lock") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_stage": "plan"}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"x_stage": "build"}"#)
            #expect(patch.status == .unprocessableContent)
            #expect(patch.errorField == "version")
            let read = try await api.call(.get, "/api/v1/x_project/\(id)")
            #expect(read.json["x_stage"] == .string("plan"))
            #expect(read.version == 1)
        }
    }

    @Test func patchWithAStaleVersionIs409NamingTheCurrentVersion() async throws {
        try await RecordFixtures.withProject("rec-stale") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_stage": "plan"}"#)
            let first = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_stage": "build"}"#)
            #expect(first.status == .ok)
            let stale = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_stage": "done"}"#)
            #expect(stale.status == .conflict)
            #expect(stale.errorCode == "version_conflict")
            #expect(stale.errorMessage.contains("current version is 2"))
            let read = try await api.call(.get, "/api/v1/x_project/\(id)")
            #expect(read.json["x_stage"] == .string("build"))
        }
    }

    @Test func correctPatchBumpsTheVersionAndHistoryShowsBeforeAndAfter() async throws {
        try await RecordFixtures.withProject("rec-hist") { api, tenant in
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_stage": "plan", "x_headcount": 3}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_stage": "build", "x_headcount": "4"}"#)
            #expect(patch.status == .ok)
            #expect(patch.version == 2)
            #expect(patch.json["x_stage"] == .string("build"))
            #expect(patch.json["x_name"] == .string("a"))  // untouched fields stay
            let history = try await api.call(.get, "/api/v1/x_project/\(id)/history")
            #expect(history.status == .ok)
            let entries = try #require(history.json["entries"]?.asArray)
            #expect(entries.strings("action") == ["record.created", "record.updated"])
            #expect(entries.strings("actor") == [tenant.adminEmail, tenant.adminEmail])
            let created = entries.first?["details"]?["changes"]
            #expect(created?["x_name"]?["before"] == .null)
            #expect(created?["x_name"]?["after"] == .string("a"))
            let changes = try #require(entries.last?["details"]?["changes"]?.objectValue)
            #expect(changes["x_stage"]?["before"] == .string("plan"))
            #expect(changes["x_stage"]?["after"] == .string("build"))
            #expect(changes["x_headcount"]?["before"] == .string("3"))
            #expect(changes["x_headcount"]?["after"] == .string("4"))
            #expect(changes["x_name"] == nil)  // only what changed
        }
    }

    @Test func patchThatChangesNothingKeepsTheVersion() async throws {
        try await RecordFixtures.withProject("rec-noop") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_stage": "plan"}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_stage": "plan"}"#)
            #expect(patch.status == .ok)
            #expect(patch.version == 1)
            let history = try await api.call(.get, "/api/v1/x_project/\(id)/history")
            #expect(history.json["entries"]?.asArray?.count == 1)
        }
    }

    @Test func patchSettingARequiredFieldToEmptyIs422() async throws {
        try await RecordFixtures.withProject("rec-reqpatch") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "a"}"#)
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_name": ""}"#)
            #expect(patch.status == .unprocessableContent)
            #expect(patch.errorCode == "required")
            #expect(patch.errorField == "x_name")
        }
    }

    // MARK: Recycle bin

    @Test func deletedRecordLeavesListAndGetAndIsInTheRecycleBin() async throws {
        try await RecordFixtures.withProject("rec-del") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "gone"}"#)
            let keep = try await api.createID("x_project", #"{"x_name": "kept"}"#)
            let delete = try await api.call(.delete, "/api/v1/x_project/\(id)")
            #expect(delete.status == .noContent)
            let list = try await api.list("x_project")
            #expect(list.records.strings("id") == [keep])
            #expect(list.total == 1)
            let get = try await api.call(.get, "/api/v1/x_project/\(id)")
            #expect(get.status == .notFound)
            #expect(get.errorCode == "record_not_found")
            let bin = try await api.call(.get, "/api/v1/x_project/recycle-bin")
            #expect(bin.status == .ok)
            #expect(bin.records.strings("id") == [id])
            #expect(bin.records.first?["deleted_at"]?.stringValue != nil)
            let again = try await api.call(.delete, "/api/v1/x_project/\(id)")
            #expect(again.status == .notFound)
        }
    }

    @Test func restoreBringsADeletedRecordBack() async throws {
        try await RecordFixtures.withProject("rec-restore") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "back"}"#)
            #expect(try await api.call(.delete, "/api/v1/x_project/\(id)").status == .noContent)
            let restore = try await api.call(.post, "/api/v1/x_project/\(id)/restore")
            #expect(restore.status == .ok)
            #expect(restore.json["x_name"] == .string("back"))
            #expect(restore.json["deleted_at"] == nil)
            #expect(try await api.call(.get, "/api/v1/x_project/\(id)").status == .ok)
            #expect(try await api.list("x_project").records.strings("id") == [id])
            #expect(try await api.call(.get, "/api/v1/x_project/recycle-bin").records.isEmpty)
            let history = try await api.call(.get, "/api/v1/x_project/\(id)/history")
            #expect(history.json["entries"]?.asArray?.strings("action") == ["record.created", "record.deleted", "record.restored"])
            // Restoring a live record is a 404: only the recycle bin can be restored from.
            #expect(try await api.call(.post, "/api/v1/x_project/\(id)/restore").status == .notFound)
        }
    }

    @Test func purgingALiveRecordIs404BecauseItMustBeInTheRecycleBinFirst() async throws {
        try await RecordFixtures.withProject("rec-purge-live") { api, tenant in
            let id = try await api.createID("x_project", #"{"x_name": "live"}"#)
            let purge = try await api.call(.delete, "/api/v1/x_project/\(id)/purge")
            #expect(purge.status == .notFound)
            #expect(try await api.call(.get, "/api/v1/x_project/\(id)").status == .ok)
            #expect(try await RecordFixtures.storedRecordCount(tenant) == 1)
        }
    }

    @Test func adminPurgeOfADeletedRecordRemovesItAndHistoryKeepsRecordPurged() async throws {
        try await RecordFixtures.withProject("rec-purge") { api, tenant in
            let id = try await api.createID("x_project", #"{"x_name": "doomed", "x_stage": "done"}"#)
            #expect(try await api.call(.delete, "/api/v1/x_project/\(id)").status == .noContent)
            let purge = try await api.call(.delete, "/api/v1/x_project/\(id)/purge")
            #expect(purge.status == .noContent)
            #expect(try await RecordFixtures.storedRecordCount(tenant) == 0)
            #expect(try await api.call(.get, "/api/v1/x_project/recycle-bin").records.isEmpty)
            #expect(try await api.call(.post, "/api/v1/x_project/\(id)/restore").status == .notFound)
            let history = try await api.call(.get, "/api/v1/x_project/\(id)/history")
            #expect(history.status == .ok)
            let entries = try #require(history.json["entries"]?.asArray)
            #expect(entries.strings("action") == ["record.created", "record.deleted", "record.purged"])
            // The purge entry keeps a snapshot of what was deleted.
            #expect(entries.last?["details"]?["changes"]?["x_name"]?["before"] == .string("doomed"))
        }
    }

    @Test func nonAdminCannotPurge() async throws {
        try await RecordFixtures.withTenant("rec-purge-403") { client, tenant in
            let member = try await RecordFixtures.createMember(in: tenant)
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(RecordFixtures.projectObject)
            let user = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: member.email, password: member.password)
            let id = try await user.createID("x_project", #"{"x_name": "mine"}"#)
            #expect(try await user.call(.delete, "/api/v1/x_project/\(id)").status == .noContent)
            let purge = try await user.call(.delete, "/api/v1/x_project/\(id)/purge")
            #expect(purge.status == .forbidden)
            #expect(purge.errorCode == "admin_only")
            #expect(try await admin.call(.get, "/api/v1/x_project/recycle-bin").records.strings("id") == [id])
        }
    }

    // MARK: Tenant isolation

    @Test func tenantBSeesNoneOfTenantAsMetadataOrRecords() async throws {
        try await RecordFixtures.withTenants("rec-iso-a", "rec-iso-b") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            let apiA = try await RecordAPIClient.admin(client, a)
            try await apiA.createObject(RecordFixtures.projectObject)
            let id = try await apiA.createID("x_project", #"{"x_name": "A's secret"}"#)
            let layout = try await apiA.call(.put, "/api/v1/admin/entities/x_project/layouts/list", json: #"{"columns": ["x_name"]}"#)
            #expect(layout.status == .ok)

            let apiB = try await RecordAPIClient.admin(client, b)
            let entities = try await apiB.call(.get, "/api/v1/entities")
            #expect(entities.status == .ok)
            #expect(!(entities.json["entities"]?.asArray?.strings("key").contains("x_project") ?? true))
            let meta = try await apiB.call(.get, "/api/v1/meta/x_project")
            #expect(meta.status == .notFound)
            #expect(try await apiB.call(.get, "/api/v1/x_project").status == .notFound)
            #expect(try await apiB.call(.get, "/api/v1/x_project/\(id)").status == .notFound)
            #expect(try await apiB.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_name": "hijacked"}"#).status == .notFound)
            #expect(try await apiB.call(.delete, "/api/v1/x_project/\(id)").status == .notFound)
            #expect(try await apiB.call(.get, "/api/v1/x_project/\(id)/history").status == .notFound)
            let openAPI = try await apiB.call(.get, "/api/openapi.json")
            #expect(openAPI.status == .ok)
            #expect(!openAPI.text.contains("x_project"))
            let audit = try await apiB.call(.get, "/api/v1/audit?limit=500")
            #expect(audit.status == .ok)
            #expect(!audit.text.contains(id))
            #expect(!audit.text.contains("x_project"))

            // A's record is untouched.
            let read = try await apiA.call(.get, "/api/v1/x_project/\(id)")
            #expect(read.json["x_name"] == .string("A's secret"))
            #expect(read.version == 1)
            // A's token does not work on B.
            let crossToken = RecordAPIClient(client: client, slug: b.info.slug, token: apiA.token)
            #expect(try await crossToken.call(.get, "/api/v1/entities").status == .unauthorized)
        }
    }

    @Test func tenantBWithTheSameObjectKeyStillSeesNoneOfAsFieldsLayoutsOrRecords() async throws {
        try await RecordFixtures.withTenants("rec-iso2-a", "rec-iso2-b") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            let apiA = try await RecordAPIClient.admin(client, a)
            try await apiA.createObject(RecordFixtures.projectObject)
            let field = try await apiA.call(.post, "/api/v1/admin/entities/x_project/fields",
                                            json: #"{"key": "x_secret", "labels": {"en": "Secret"}, "type": "text"}"#)
            #expect(field.status == .created)
            let layout = try await apiA.call(.put, "/api/v1/admin/entities/x_project/layouts/detail",
                                             json: #"{"sections": [{"title": {"en": "A only"}, "fields": [{"field": "x_secret"}]}]}"#)
            #expect(layout.status == .ok)
            let idA = try await apiA.createID("x_project", #"{"x_name": "A", "x_secret": "s3cr3t"}"#)

            let apiB = try await RecordAPIClient.admin(client, b)
            try await apiB.createObject(RecordFixtures.projectObject)
            let meta = try await apiB.call(.get, "/api/v1/meta/x_project")
            #expect(!(meta.json["fields"]?.asArray?.strings("key").contains("x_secret") ?? true))
            #expect(meta.json["layouts"]?["detail"]?["version"] == .number(0))
            #expect(!meta.text.contains("A only"))
            let list = try await apiB.list("x_project")
            #expect(list.total == 0)
            #expect(try await apiB.call(.get, "/api/v1/x_project/\(idA)").status == .notFound)
            #expect(try await apiB.call(.patch, "/api/v1/x_project/\(idA)", json: #"{"version": 1, "x_name": "B"}"#).status == .notFound)
            #expect(try await apiB.call(.delete, "/api/v1/x_project/\(idA)").status == .notFound)
            #expect(try await apiB.call(.delete, "/api/v1/x_project/\(idA)/purge").status == .notFound)
            #expect(try await apiB.call(.get, "/api/v1/x_project/\(idA)/history").status == .notFound)
            // Writing A's field on B is an unknown field; B's auto-numbers start at 1.
            let write = try await apiB.call(.post, "/api/v1/x_project", json: #"{"x_name": "B", "x_secret": "x"}"#)
            #expect(write.errorCode == "unknown_field")
            let own = try await apiB.create("x_project", #"{"x_name": "B"}"#)
            #expect(own["x_code"] == .string("PRJ-\(RecordFixtures.autoNumberYear)-0001"))
            #expect(try await apiA.call(.get, "/api/v1/x_project/\(idA)").json["x_secret"] == .string("s3cr3t"))
        }
    }

    // MARK: Custom fields on an existing entity

    @Test func addedCustomFieldCanBeWrittenFilteredAndAppearsInMeta() async throws {
        try await RecordFixtures.withProject("rec-field") { api, _ in
            let add = try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                         json: #"{"key": "x_city", "labels": {"en": "City"}, "type": "text", "filterable": true}"#)
            #expect(add.status == .created)
            #expect(add.json["isCustom"] == .bool(true))
            #expect(add.json["active"] == .bool(true))
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            #expect(meta.json["fields"]?.asArray?.strings("key").last == "x_city")
            _ = try await api.create("x_project", #"{"x_name": "a", "x_city": "北京"}"#)
            _ = try await api.create("x_project", #"{"x_name": "b", "x_city": "上海"}"#)
            let page = try await api.list("x_project", filter: #"{"field": "x_city", "op": "eq", "value": "北京"}"#)
            #expect(page.status == .ok)
            #expect(page.records.strings("x_name") == ["a"])
            let again = try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                           json: #"{"key": "x_city", "labels": {"en": "City"}, "type": "text"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "field_exists")
        }
    }

    @Test func fieldLabelsChangeAndADeactivatedFieldRefusesWrites() async throws {
        try await RecordFixtures.withProject("rec-fchg") { api, _ in
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                       json: #"{"key": "x_city", "labels": {"en": "City"}, "type": "text", "filterable": true}"#).status == .created)
            let id = try await api.createID("x_project", #"{"x_name": "a", "x_city": "北京"}"#)
            let rename = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_city",
                                            json: #"{"labels": {"en": "Town", "zh-CN": "城市"}}"#)
            #expect(rename.status == .ok)
            #expect(rename.json["labels"] == .object(["en": .string("Town"), "zh-CN": .string("城市")]))
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            let city = meta.json["fields"]?.asArray?.first { $0["key"] == .string("x_city") }
            #expect(city?["labels"]?["zh-CN"] == .string("城市"))

            let deactivate = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_city", json: #"{"active": false}"#)
            #expect(deactivate.status == .ok)
            #expect(deactivate.json["active"] == .bool(false))
            let create = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "b", "x_city": "上海"}"#)
            #expect(create.status == .unprocessableContent)
            #expect(create.errorCode == "inactive_field")
            #expect(create.errorField == "x_city")
            let patch = try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_city": "上海"}"#)
            #expect(patch.status == .unprocessableContent)
            #expect(patch.errorCode == "inactive_field")
            #expect(try await api.count("x_project") == 1)
        }
    }

    @Test func activeFieldCannotBePurgedAndPurgingADeactivatedFieldClearsItsValues() async throws {
        try await RecordFixtures.withProject("rec-fpurge") { api, _ in
            #expect(try await api.call(.post, "/api/v1/admin/entities/x_project/fields",
                                       json: #"{"key": "x_city", "labels": {"en": "City"}, "type": "text"}"#).status == .created)
            let a = try await api.createID("x_project", #"{"x_name": "a", "x_city": "北京"}"#)
            _ = try await api.create("x_project", #"{"x_name": "b", "x_city": "上海"}"#)
            _ = try await api.create("x_project", #"{"x_name": "c"}"#)
            let refused = try await api.call(.delete, "/api/v1/admin/entities/x_project/fields/x_city")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.errorCode == "field_active")
            #expect(try await api.call(.get, "/api/v1/x_project/\(a)").json["x_city"] == .string("北京"))

            #expect(try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_city", json: #"{"active": false}"#).status == .ok)
            let purge = try await api.call(.delete, "/api/v1/admin/entities/x_project/fields/x_city")
            #expect(purge.status == .ok)
            #expect(purge.json["purged"] == .string("x_city"))
            #expect(purge.json["records_cleared"] == .number(2))
            let record = try await api.call(.get, "/api/v1/x_project/\(a)")
            #expect(record.json["x_city"] == nil)
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            #expect(!(meta.json["fields"]?.asArray?.strings("key").contains("x_city") ?? true))
            let unknown = try await api.call(.delete, "/api/v1/admin/entities/x_project/fields/x_city")
            #expect(unknown.status == .notFound)
        }
    }

    @Test func fieldTypeCannotChangeAndPicklistOptionsCannotBeRemoved() async throws {
        try await RecordFixtures.withProject("rec-ftype") { api, _ in
            let retype = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_budget", json: #"{"type": "text"}"#)
            #expect(retype.status == .unprocessableContent)
            #expect(retype.errorField == "type")
            let remove = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_stage",
                                            json: #"{"options": [{"value": "plan"}, {"value": "build"}]}"#)
            #expect(remove.status == .unprocessableContent)
            #expect(remove.errorField == "options")
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            let stage = meta.json["fields"]?.asArray?.first { $0["key"] == .string("x_stage") }
            #expect(stage?["options"]?.asArray?.strings("value") == ["plan", "build", "done"])
            let budget = meta.json["fields"]?.asArray?.first { $0["key"] == .string("x_budget") }
            #expect(budget?["type"] == .string("money"))
            // Adding an option and deactivating one is allowed; the inactive one cannot be written.
            let change = try await api.call(.patch, "/api/v1/admin/entities/x_project/fields/x_stage", json: #"""
                {"options": [{"value": "plan"}, {"value": "build"}, {"value": "done", "active": false}, {"value": "hold"}]}
                """#)
            #expect(change.status == .ok)
            #expect(try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "a", "x_stage": "hold"}"#).status == .created)
            let inactive = try await api.call(.post, "/api/v1/x_project", json: #"{"x_name": "b", "x_stage": "done"}"#)
            #expect(inactive.status == .unprocessableContent)
            #expect(inactive.errorField == "x_stage")
        }
    }

    @Test func nonAdminGets403OnEveryAdminEndpoint() async throws {
        try await RecordFixtures.withTenant("rec-admin-403") { client, tenant in
            let member = try await RecordFixtures.createMember(in: tenant)
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(RecordFixtures.projectObject)
            let user = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: member.email, password: member.password)
            let calls: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/api/v1/admin/objects", RecordFixtures.simpleObject("x_other")),
                (.post, "/api/v1/admin/entities/x_project/fields", #"{"key": "x_city", "labels": {"en": "City"}, "type": "text"}"#),
                (.patch, "/api/v1/admin/entities/x_project/fields/x_name", #"{"labels": {"en": "Title"}}"#),
                (.delete, "/api/v1/admin/entities/x_project/fields/x_name", nil),
                (.put, "/api/v1/admin/entities/x_project/layouts/list", #"{"columns": ["x_name"]}"#),
                (.get, "/api/v1/audit", nil),
            ]
            for (method, path, body) in calls {
                let response = try await user.call(method, path, json: body)
                #expect(response.status == .forbidden, "\(method) \(path): \(response.text)")
                #expect(response.errorCode == "admin_only", "\(method) \(path)")
            }
            // Nothing changed; the member can still use records.
            let meta = try await admin.call(.get, "/api/v1/meta/x_project")
            #expect(meta.json["fields"]?.asArray?.count == 6)
            #expect(meta.json["layouts"]?["list"]?["version"] == .number(0))
            #expect(try await admin.call(.get, "/api/v1/meta/x_other").status == .notFound)
            #expect(try await user.call(.post, "/api/v1/x_project", json: #"{"x_name": "ok"}"#).status == .created)
        }
    }

    // MARK: Layouts

    @Test func metaHasDefaultDetailAndListLayoutsAtVersionZero() async throws {
        try await RecordFixtures.withProject("rec-layout0") { api, _ in
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            let detail = try #require(meta.json["layouts"]?["detail"])
            #expect(detail["version"] == .number(0))
            let fields = detail["sections"]?[0]?["fields"]?.asArray ?? []
            #expect(fields.strings("field") == ["x_name", "x_budget", "x_stage", "x_start", "x_headcount", "x_code"])
            #expect(fields.last?["readOnly"] == .bool(true))  // the auto-number
            let list = try #require(meta.json["layouts"]?["list"])
            #expect(list["version"] == .number(0))
            #expect(list["columns"]?.asArray?.count == 5)
            #expect(list["sort"] == .string("-created_at"))
        }
    }

    @Test func detailLayoutNamingAMissingFieldIs422NamingIt() async throws {
        try await RecordFixtures.withProject("rec-layout422") { api, _ in
            let save = try await api.call(.put, "/api/v1/admin/entities/x_project/layouts/detail", json: #"""
                {"sections": [{"title": {"en": "Main"}, "columns": 2, "fields": [{"field": "x_name"}, {"field": "x_ghost"}]}]}
                """#)
            #expect(save.status == .unprocessableContent)
            #expect(save.errorCode == "invalid_layout")
            #expect(save.errorMessage.contains("x_ghost"))
            #expect(save.errorField == "sections[0].fields[1].field")
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            #expect(meta.json["layouts"]?["detail"]?["version"] == .number(0))
        }
    }

    @Test func savedLayoutsGetIncreasingVersionsAndMetaShowsTheLatest() async throws {
        try await RecordFixtures.withProject("rec-layoutv") { api, _ in
            let path = "/api/v1/admin/entities/x_project/layouts/detail"
            let first = try await api.call(.put, path, json: #"""
                {"sections": [{"title": {"en": "Main"}, "columns": 2, "fields": [{"field": "x_name"}, {"field": "x_stage"}]}]}
                """#)
            #expect(first.status == .ok)
            #expect(first.json["version"] == .number(1))
            let second = try await api.call(.put, path, json: #"""
                {"version": 1, "sections": [{"title": {"en": "Main"}, "columns": 1, "fields": [{"field": "x_name"}, {"field": "x_budget"}, {"field": "created_at"}]}]}
                """#)
            #expect(second.status == .ok)
            #expect(second.json["version"] == .number(2))
            let meta = try await api.call(.get, "/api/v1/meta/x_project")
            let detail = meta.json["layouts"]?["detail"]
            #expect(detail?["version"] == .number(2))
            #expect(detail?["sections"]?[0]?["fields"]?.asArray?.strings("field") == ["x_name", "x_budget", "created_at"])
            // The list layout is versioned separately.
            #expect(meta.json["layouts"]?["list"]?["version"] == .number(0))
        }
    }

    @Test func listLayoutWithAnUnknownSortFieldIs400() async throws {
        try await RecordFixtures.withProject("rec-layout400") { api, _ in
            let path = "/api/v1/admin/entities/x_project/layouts/list"
            let bad = try await api.call(.put, path, json: #"{"columns": ["x_name", "x_budget"], "sort": "-x_ghost"}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "invalid_query")
            #expect(bad.errorField == "x_ghost")
            let badColumn = try await api.call(.put, path, json: #"{"columns": ["x_name", "x_ghost"]}"#)
            #expect(badColumn.status == .unprocessableContent)
            let good = try await api.call(.put, path, json: #"{"columns": ["x_name", "x_budget"], "sort": "-x_budget"}"#)
            #expect(good.status == .ok)
            #expect(good.json["version"] == .number(1))
        }
    }
}

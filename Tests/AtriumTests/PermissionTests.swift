import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Platform
import PostgresNIO
import Testing

/// Row-level data permissions over the HTTP API, on a custom object (`x_deal`, rights from the
/// `custom` key of the roles): data scopes per role and action, shares, field rules, entities
/// without access, work handover, administrators' bypass and ids of another tenant.
///
/// The organisation every test starts from (``PermissionFixtures/withOrg``):
///
///     HQ ── East ── East-Shanghai        sh       salesperson     East-Shanghai   (own)
///       └── West                         west     salesperson     West            (own)
///                                        manager  sales_manager   East            (department_tree)
///                                        reader   read_only       HQ              (read all, nothing else)
///                                        director sales_director  HQ              (all)
///
/// Deals (owner → department at create): sh1, sh2 (sh → East-Shanghai), west (west → West),
/// east (manager → East), hq (director → HQ), adm (the administrator, no department).
@Suite struct PermissionTests {
    typealias F = PermissionFixtures

    // MARK: Data scopes

    @Test func eachUserSeesExactlyItsScopeOnListGetSearchUpdateAndDelete() async throws {
        try await F.withOrg("perm-scope") { org in
            let all = Set(org.deals.values)
            let expected: [String: Set<String>] = [
                "sh": org.ids("sh1", "sh2"), "west": org.ids("west"), "manager": org.ids("sh1", "sh2", "east"),
                "reader": all, "director": all,
            ]
            for (who, visible) in expected.sorted(by: { $0.key < $1.key }) {
                let api = org[who].api
                let page = try await api.list("x_deal", limit: 200)
                #expect(page.status == .ok, "\(who): \(page.text)")
                #expect(Set(page.records.strings("id")) == visible, "\(who) lists \(org.names(page.records.strings("id")))")
                #expect(page.total == visible.count, "\(who) total")
                // Search (q=) inside the scope only.
                let everything = try await api.list("x_deal", limit: 200, q: "deal")
                #expect(Set(everything.records.strings("id")) == visible, "\(who) q=deal finds \(org.names(everything.records.strings("id")))")
                let shanghai = try await api.list("x_deal", limit: 200, q: "shanghai")
                #expect(Set(shanghai.records.strings("id")) == visible.intersection(org.ids("sh1", "sh2")), "\(who) q=shanghai")
                let gamma = try await api.list("x_deal", limit: 200, q: "GAMMA")
                #expect(Set(gamma.records.strings("id")) == visible.intersection(org.ids("west")), "\(who) q=GAMMA")
                #expect(gamma.total == visible.intersection(org.ids("west")).count)
                // The query endpoint (filter in the body) applies the same scope.
                let queried = try await api.query("x_deal", #"{"filter": {"field": "x_name", "op": "starts_with", "value": "deal"}, "limit": 200}"#)
                #expect(Set(queried.records.strings("id")) == visible, "\(who) POST query")
                // Export writes exactly the records in the export scope (the same as read here);
                // the Read-only role has no export right.
                let export = try await api.export("x_deal")
                if who == "reader" {
                    #expect(export.status == .forbidden, "reader export: \(export.text)")
                    #expect(export.errorCode == "no_permission")
                } else {
                    #expect(export.status == .ok, "\(who) export: \(export.text)")
                    #expect(Set(export.csvColumn("id")) == visible, "\(who) exports \(org.names(export.csvColumn("id")))")
                    #expect(export.csvColumn("id").count == visible.count)
                }

                for (name, id) in org.deals.sorted(by: { $0.key < $1.key }) {
                    let inside = visible.contains(id)
                    let get = try await api.call(.get, "/api/v1/x_deal/\(id)")
                    #expect(get.status == (inside ? .ok : .notFound), "\(who) GET \(name): \(get.status)")
                    if !inside { #expect(get.errorCode == "record_not_found", "\(who) GET \(name): \(get.text)") }
                    let history = try await api.call(.get, "/api/v1/x_deal/\(id)/history")
                    #expect(history.status == (inside ? .ok : .notFound), "\(who) history of \(name): \(history.status)")
                    let shares = try await api.call(.get, "/api/v1/x_deal/\(id)/shares")
                    #expect(shares.status == (inside ? .ok : .notFound), "\(who) shares of \(name): \(shares.status)")
                    guard who != "reader" else { continue }
                    // A stale version: 409 inside the update scope (nothing is written), 404 outside.
                    let probe = try await api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "probe", "version": 999}"#)
                    #expect(probe.status == (inside ? .conflict : .notFound), "\(who) PATCH \(name): \(probe.text)")
                    #expect(probe.errorCode == (inside ? "version_conflict" : "record_not_found"))
                    if !inside {
                        let real = try await api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "taken", "version": 1}"#)
                        #expect(real.status == .notFound, "\(who) PATCH \(name) with the right version: \(real.text)")
                        let delete = try await api.call(.delete, "/api/v1/x_deal/\(id)")
                        #expect(delete.status == .notFound, "\(who) DELETE \(name): \(delete.text)")
                        #expect(delete.errorCode == "record_not_found")
                    }
                }
            }
            // Nothing above changed a record.
            let untouched = try await org.admin.list("x_deal", limit: 200)
            #expect(untouched.total == 6)
            #expect(untouched.records.allSatisfy { $0["version"] == .number(1) && $0["x_stage"] == nil })

            // read_only: reads everything, may do nothing else.
            let reader = org["reader"].api
            for (method, body) in [(HTTPRequest.Method.patch, #"{"x_stage": "x", "version": 1}"#), (.delete, nil)] {
                let refused = try await reader.call(method, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: body)
                #expect(refused.status == .forbidden, "reader \(method): \(refused.text)")
                #expect(refused.errorCode == "no_permission")
            }
            let readerCreate = try await reader.call(.post, "/api/v1/x_deal", json: #"{"x_name": "reader deal"}"#)
            #expect(readerCreate.status == .forbidden)
            #expect(readerCreate.errorCode == "no_permission")

            // Real writes inside each scope.
            let ownUpdate = try await org["sh"].api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "own", "version": 1}"#)
            #expect(ownUpdate.status == .ok, "\(ownUpdate.text)")
            let treeUpdate = try await org["manager"].api.call(.patch, "/api/v1/x_deal/\(org.deals["sh2"]!)", json: #"{"x_stage": "tree", "version": 1}"#)
            #expect(treeUpdate.status == .ok, "\(treeUpdate.text)")
            let allUpdate = try await org["director"].api.call(.patch, "/api/v1/x_deal/\(org.deals["west"]!)", json: #"{"x_stage": "all", "version": 1}"#)
            #expect(allUpdate.status == .ok, "\(allUpdate.text)")

            // Deletes inside the scope; the recycle bin and restore follow the delete scope.
            let sh2 = org.deals["sh2"]!
            #expect(try await org["sh"].api.call(.delete, "/api/v1/x_deal/\(sh2)").status == .noContent)
            let shBin = try await org["sh"].api.call(.get, "/api/v1/x_deal/recycle-bin")
            #expect(Set(shBin.records.strings("id")) == [sh2])
            let westBin = try await org["west"].api.call(.get, "/api/v1/x_deal/recycle-bin")
            #expect(westBin.status == .ok)
            #expect(westBin.records.isEmpty)
            let managerBin = try await org["manager"].api.call(.get, "/api/v1/x_deal/recycle-bin")
            #expect(Set(managerBin.records.strings("id")) == [sh2])
            let westRestore = try await org["west"].api.call(.post, "/api/v1/x_deal/\(sh2)/restore")
            #expect(westRestore.status == .notFound)
            let westHistory = try await org["west"].api.call(.get, "/api/v1/x_deal/\(sh2)/history")
            #expect(westHistory.status == .notFound)
            let shRestore = try await org["sh"].api.call(.post, "/api/v1/x_deal/\(sh2)/restore")
            #expect(shRestore.status == .ok, "\(shRestore.text)")
            #expect(try await org["manager"].api.call(.delete, "/api/v1/x_deal/\(org.deals["east"]!)").status == .noContent)
            #expect(try await org["manager"].api.call(.delete, "/api/v1/x_deal/\(sh2)").status == .noContent)
            #expect(try await org["director"].api.call(.delete, "/api/v1/x_deal/\(org.deals["adm"]!)").status == .noContent)
            #expect(try await org.admin.count("x_deal") == 3)
        }
    }

    @Test func widestScopeOfSeveralRolesWinsPerActionAndDepartmentScopeStopsAtTheDepartment() async throws {
        try await F.withOrg("perm-multi") { org in
            let created = try await org.admin.call(.post, "/api/v1/admin/roles", json: #"""
                {"key": "east_desk", "labels": {"en": "Desk"},
                 "grants": {"custom": {"read": "department", "update": "department", "delete": "department"}}}
                """#)
            #expect(created.status == .created, "\(created.text)")
            let desk = try await F.member(org, "desk", department: org.departments["East"], roles: ["east_desk"])
            let deskDeal = try await org.admin.createID("x_deal", F.body(["x_name": .string("deal desk own"), "owner_id": .string(desk.id)]))
            // department: own records and records of East itself, not of East-Shanghai below it.
            let page = try await desk.api.list("x_deal", limit: 200)
            #expect(Set(page.records.strings("id")) == org.ids("east").union([deskDeal]), "desk lists \(org.names(page.records.strings("id")))")
            #expect(try await desk.api.call(.get, "/api/v1/x_deal/\(org.deals["sh1"]!)").status == .notFound)
            let deskCreate = try await desk.api.call(.post, "/api/v1/x_deal", json: #"{"x_name": "no create"}"#)
            #expect(deskCreate.status == .forbidden)
            #expect(deskCreate.errorCode == "no_permission")

            // With read_only as well: read is all (widest), update stays department.
            try await F.assign(org.admin, desk.id, department: org.departments["East"], roles: ["east_desk", "read_only"])
            let wide = try await desk.api.list("x_deal", limit: 200)
            #expect(wide.total == 7)
            let outside = try await desk.api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "x", "version": 999}"#)
            #expect(outside.status == .notFound, "\(outside.text)")
            let inside = try await desk.api.call(.patch, "/api/v1/x_deal/\(org.deals["east"]!)", json: #"{"x_stage": "x", "version": 999}"#)
            #expect(inside.status == .conflict, "\(inside.text)")

            // salesperson + read_only: reads all, updates and deletes only its own.
            try await F.assign(org.admin, org["west"].id, department: org.departments["West"], roles: ["read_only", "salesperson"])
            let west = org["west"].api
            #expect(try await west.list("x_deal", limit: 200).total == 7)
            #expect(try await west.call(.patch, "/api/v1/x_deal/\(org.deals["hq"]!)", json: #"{"x_stage": "x", "version": 1}"#).status == .notFound)
            #expect(try await west.call(.delete, "/api/v1/x_deal/\(org.deals["hq"]!)").status == .notFound)
            #expect(try await west.call(.patch, "/api/v1/x_deal/\(org.deals["west"]!)", json: #"{"x_stage": "x", "version": 1}"#).status == .ok)

            // Without a department, department scope is only the own records (a record without
            // department is not "in the same department" as a user without one).
            try await F.assign(org.admin, desk.id, department: nil, roles: ["east_desk"])
            let alone = try await desk.api.list("x_deal", limit: 200)
            #expect(Set(alone.records.strings("id")) == [deskDeal], "desk without department lists \(org.names(alone.records.strings("id")))")
            #expect(try await desk.api.call(.get, "/api/v1/x_deal/\(org.deals["adm"]!)").status == .notFound)
        }
    }

    @Test func recordDepartmentIsTheOwnersAtCreateAndFollowsAnOwnerChange() async throws {
        try await F.withOrg("perm-dept") { org in
            #expect(try await F.recordDepartments(org, ["sh1", "west", "east", "hq", "adm"]) == [
                org.departments["East-Shanghai"], org.departments["West"], org.departments["East"], org.departments["HQ"], nil,
            ])
            // The manager (tree East) gives an East-Shanghai deal to West: it leaves the manager's scope.
            let id = org.deals["sh1"]!
            let moved = try await org["manager"].api.call(.patch, "/api/v1/x_deal/\(id)", json: F.body(["owner_id": .string(org["west"].id), "version": .number(1)]))
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await F.recordDepartments(org, ["sh1"]) == [org.departments["West"]])
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(id)").status == .notFound)
            #expect(try await org["sh"].api.call(.get, "/api/v1/x_deal/\(id)").status == .notFound)
            #expect(try await org["west"].api.call(.get, "/api/v1/x_deal/\(id)").status == .ok)
            // Moving a user to another department leaves its existing records where they are.
            try await F.assign(org.admin, org["sh"].id, department: org.departments["West"], roles: ["salesperson"])
            #expect(try await F.recordDepartments(org, ["sh2"]) == [org.departments["East-Shanghai"]])
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(org.deals["sh2"]!)").status == .ok)
        }
    }

    // MARK: Shares

    @Test func sharesToAUserDepartmentOrRoleWidenTheScopeByAccessAndUnsharingRemovesThem() async throws {
        try await F.withOrg("perm-share") { org in
            let (sh, west, director) = (org["sh"], org["west"], org["director"])
            let id = org.deals["sh1"]!
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(id)").status == .notFound)

            // Read share to a user: visible, not writable, not deletable, not re-sharable.
            let share = try await sh.api.call(.post, "/api/v1/x_deal/\(id)/shares", json: F.body(["kind": .string("user"), "id": .string(west.id), "access": .string("read")]))
            #expect(share.status == .created, "\(share.text)")
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(id)").status == .ok)
            #expect(try await west.api.list("x_deal", limit: 200).records.strings("id").contains(id))
            #expect(try await west.api.list("x_deal", limit: 200, q: "alpha").records.strings("id") == [id])
            let readOnlyPatch = try await west.api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "x", "version": 1}"#)
            #expect(readOnlyPatch.status == .notFound, "\(readOnlyPatch.text)")
            #expect(try await west.api.call(.delete, "/api/v1/x_deal/\(id)").status == .notFound)
            let reshare = try await west.api.call(.post, "/api/v1/x_deal/\(id)/shares", json: F.body(["kind": .string("user"), "id": .string(org["manager"].id), "access": .string("read")]))
            #expect(reshare.status == .notFound, "\(reshare.text)")
            let listed = try await sh.api.call(.get, "/api/v1/x_deal/\(id)/shares")
            let listedShares = listed.json["shares"]?.asArray ?? []
            #expect(listedShares.count == 1, "\(listed.text)")
            #expect(listedShares.first?["kind"] == .string("user"))
            #expect(F.same(listedShares.first?["id"], west.id))
            #expect(listedShares.first?["access"] == .string("read"))
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(id)/shares").status == .ok)
            // Shared to west only: others still do not see it.
            #expect(try await org["director"].api.call(.get, "/api/v1/x_deal/\(org.deals["west"]!)").status == .ok)
            #expect(try await sh.api.call(.get, "/api/v1/x_deal/\(org.deals["west"]!)").status == .notFound)

            // Write share (the same grantee again changes the access): now writable and deletable.
            let upgrade = try await sh.api.call(.post, "/api/v1/x_deal/\(id)/shares", json: F.body(["kind": .string("user"), "id": .string(west.id), "access": .string("write")]))
            #expect(upgrade.status == .created, "\(upgrade.text)")
            let writePatch = try await west.api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "shared", "version": 1}"#)
            #expect(writePatch.status == .ok, "\(writePatch.text)")
            #expect(try await west.api.call(.get, "/api/v1/x_deal/recycle-bin").records.isEmpty)

            // Unshare: gone again.
            let unshare = try await sh.api.call(.delete, "/api/v1/x_deal/\(id)/shares/user/\(west.id)")
            #expect(unshare.status == .noContent, "\(unshare.text)")
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(id)").status == .notFound)
            #expect(!(try await west.api.list("x_deal", limit: 200).records.strings("id").contains(id)))
            #expect(try await west.api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "x", "version": 2}"#).status == .notFound)
            let again = try await sh.api.call(.delete, "/api/v1/x_deal/\(id)/shares/user/\(west.id)")
            #expect(again.status == .notFound)
            #expect(again.errorCode == "share_not_found")

            // Department share (read): members of West see it, others do not (not even the manager).
            let hq = org.deals["hq"]!
            let toWest = try await director.api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("department"), "id": .string(org.departments["West"]!), "access": .string("read")]))
            #expect(toWest.status == .created, "\(toWest.text)")
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(hq)").status == .ok)
            #expect(try await west.api.call(.patch, "/api/v1/x_deal/\(hq)", json: #"{"x_stage": "x", "version": 1}"#).status == .notFound)
            #expect(try await sh.api.call(.get, "/api/v1/x_deal/\(hq)").status == .notFound)
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(hq)").status == .notFound)

            // Role share (write): every salesperson may read and change it, the manager may not.
            let salesperson = try await F.roleID(org.admin, "salesperson")
            let toRole = try await director.api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("role"), "id": .string(salesperson), "access": .string("write")]))
            #expect(toRole.status == .created, "\(toRole.text)")
            #expect(try await sh.api.call(.get, "/api/v1/x_deal/\(hq)").status == .ok)
            #expect(try await sh.api.list("x_deal", limit: 200).records.strings("id").contains(hq))
            let rolePatch = try await sh.api.call(.patch, "/api/v1/x_deal/\(hq)", json: #"{"x_stage": "by role", "version": 1}"#)
            #expect(rolePatch.status == .ok, "\(rolePatch.text)")
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(hq)").status == .notFound)
            let removeRole = try await director.api.call(.delete, "/api/v1/x_deal/\(hq)/shares/role/\(salesperson)")
            #expect(removeRole.status == .noContent, "\(removeRole.text)")
            #expect(try await sh.api.call(.get, "/api/v1/x_deal/\(hq)").status == .notFound)
            // West keeps its read access through the department share, still without write.
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(hq)").status == .ok)
            #expect(try await west.api.call(.patch, "/api/v1/x_deal/\(hq)", json: #"{"x_stage": "x", "version": 2}"#).status == .notFound)
            #expect(try await director.api.call(.delete, "/api/v1/x_deal/\(hq)/shares/department/\(org.departments["West"]!)").status == .noContent)
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(hq)").status == .notFound)

            // Sharing needs the share action; bad kinds, accesses and grantees are 422.
            let byReader = try await org["reader"].api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("user"), "id": .string(sh.id), "access": .string("read")]))
            #expect(byReader.status == .forbidden, "\(byReader.text)")
            #expect(byReader.errorCode == "no_permission")
            let badKind = try await director.api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("team"), "id": .string(sh.id), "access": .string("read")]))
            #expect(badKind.status == .unprocessableContent, "\(badKind.text)")
            let badAccess = try await director.api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("user"), "id": .string(sh.id), "access": .string("admin")]))
            #expect(badAccess.status == .unprocessableContent, "\(badAccess.text)")
            let nobody = try await director.api.call(.post, "/api/v1/x_deal/\(hq)/shares", json: F.body(["kind": .string("user"), "id": .string(UUID().uuidString), "access": .string("read")]))
            #expect(nobody.status == .unprocessableContent, "\(nobody.text)")
            #expect(try await director.api.call(.get, "/api/v1/x_deal/\(hq)/shares").json["shares"] == .array([]))
            // Shares are audited.
            let actions = try await F.audit(org.admin).filter { $0["record_id"]?.stringValue == hq }.compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0 == "record.shared" }.count == 2)
            #expect(actions.filter { $0 == "record.unshared" }.count == 2)
        }
    }

    // MARK: Field rules

    static let clerkRole = #"""
        {"key": "deal_clerk", "labels": {"en": "Deal clerk"},
         "grants": {"custom": {"read": "all", "create": "all", "update": "all", "export": "all"}},
         "field_rules": {"x_deal": {"x_secret": "hidden", "x_stage": "read_only"}}}
        """#

    @Test func fieldRulesHideOneFieldEverywhereAndMakeAnotherReadOnly() async throws {
        try await F.withOrg("perm-field") { org in
            #expect(try await org.admin.call(.post, "/api/v1/admin/roles", json: Self.clerkRole).status == .created)
            let clerk = try await F.member(org, "clerk", department: org.departments["East"], roles: ["deal_clerk"])
            let id = try await org.admin.createID("x_deal", #"{"x_name": "deal secret", "x_secret": 42, "x_stage": "plan"}"#)
            #expect(try await org.admin.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_secret": 43, "version": 1}"#).status == .ok)

            let read = try await clerk.api.call(.get, "/api/v1/x_deal/\(id)")
            #expect(read.status == .ok, "\(read.text)")
            #expect(read.json["x_secret"] == nil, "hidden field in GET: \(read.text)")
            #expect(read.json["x_stage"] == .string("plan"))
            #expect(read.json["x_name"] == .string("deal secret"))
            let page = try await clerk.api.list("x_deal", limit: 200)
            #expect(page.total == 7)
            #expect(!page.text.contains("x_secret"), "hidden field in list: \(page.text)")
            #expect(page.records.contains { $0["id"]?.stringValue == id && $0["x_stage"] == .string("plan") })
            let history = try await clerk.api.call(.get, "/api/v1/x_deal/\(id)/history")
            #expect(history.status == .ok)
            #expect(history.json["entries"]?.asArray?.count == 2)
            #expect(!history.text.contains("x_secret"), "hidden field in history: \(history.text)")
            #expect(history.text.contains("x_stage"))
            #expect(try await org.admin.call(.get, "/api/v1/x_deal/\(id)/history").text.contains("x_secret"))
            let meta = try await clerk.api.call(.get, "/api/v1/meta/x_deal")
            #expect(meta.status == .ok)
            let fields = meta.json["fields"]?.asArray?.strings("key") ?? []
            #expect(!fields.contains("x_secret"))
            #expect(fields.contains("x_stage"))
            let openAPI = try await clerk.api.call(.get, "/api/openapi.json")
            #expect(openAPI.json["components"]?["schemas"]?["XDeal"]?["properties"]?["x_secret"] == nil, "hidden field in the OpenAPI schema")
            // Exports leave the hidden column out; the administrator's has it.
            let export = try await clerk.api.export("x_deal")
            #expect(export.status == .ok, "\(export.text)")
            #expect(export.csvRows.first?.contains("Stage") == true)
            #expect(export.csvRows.first?.contains("Secret") == false, "hidden field in export: \(export.csvRows.first ?? [])")
            #expect(!export.csvRows.joined().contains("43"), "the hidden value is in the export")
            #expect(try await org.admin.export("x_deal").csvColumn("Secret").contains("43"))

            // Filters and sorts on the hidden field: it does not exist.
            let filter = try await clerk.api.list("x_deal", filter: #"{"field": "x_secret", "op": "eq", "value": 43}"#)
            #expect(filter.status == .badRequest, "\(filter.text)")
            #expect(filter.errorCode == "invalid_query")
            let nested = try await clerk.api.query("x_deal", #"{"filter": {"or": [{"field": "x_name", "op": "eq", "value": "a"}, {"field": "x_secret", "op": "gt", "value": 0}]}}"#)
            #expect(nested.status == .badRequest, "\(nested.text)")
            let empty = try await clerk.api.list("x_deal", filter: #"{"field": "x_secret", "op": "is_empty", "value": false}"#)
            #expect(empty.status == .badRequest, "\(empty.text)")
            let sort = try await clerk.api.list("x_deal", sort: "-x_secret")
            #expect(sort.status == .badRequest, "\(sort.text)")
            #expect(sort.errorCode == "invalid_query")
            #expect(try await clerk.api.list("x_deal", filter: #"{"field": "x_stage", "op": "eq", "value": "plan"}"#).records.strings("id") == [id])

            // Writes naming the hidden or the read-only field: 403 naming it; others go through.
            for (body, field) in [(#"{"x_secret": 1, "version": 2}"#, "x_secret"), (#"{"x_stage": "won", "version": 2}"#, "x_stage"),
                                  (#"{"x_name": "renamed", "x_stage": "won", "version": 2}"#, "x_stage")] {
                let refused = try await clerk.api.call(.patch, "/api/v1/x_deal/\(id)", json: body)
                #expect(refused.status == .forbidden, "\(body): \(refused.text)")
                #expect(refused.errorCode == "field_read_only")
                #expect(refused.errorField == field)
                #expect(refused.errorMessage.contains(field))
            }
            let renamed = try await clerk.api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_name": "deal renamed", "version": 2}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(renamed.json["x_secret"] == nil, "hidden field in the PATCH answer: \(renamed.text)")
            for (body, field) in [(#"{"x_name": "deal new", "x_secret": 5}"#, "x_secret"), (#"{"x_name": "deal new", "x_stage": "plan"}"#, "x_stage")] {
                let refused = try await clerk.api.call(.post, "/api/v1/x_deal", json: body)
                #expect(refused.status == .forbidden, "\(body): \(refused.text)")
                #expect(refused.errorCode == "field_read_only")
                #expect(refused.errorField == field)
            }
            let created = try await clerk.api.call(.post, "/api/v1/x_deal", json: #"{"x_name": "deal by clerk"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect(try await org.admin.count("x_deal") == 8)
            let stored = try await org.admin.call(.get, "/api/v1/x_deal/\(id)")
            #expect(stored.json["x_secret"] == .string("43"))
            #expect(stored.json["x_stage"] == .string("plan"))
            #expect(stored.json["x_name"] == .string("deal renamed"))
            #expect(stored.version == 3)

            // Several roles: the most permissive rule wins (salesperson has no rules → editable).
            try await F.assign(org.admin, clerk.id, department: org.departments["East"], roles: ["deal_clerk", "salesperson"])
            let widened = try await clerk.api.call(.get, "/api/v1/x_deal/\(id)")
            #expect(widened.json["x_secret"] == .string("43"))
            let edit = try await clerk.api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "won", "version": 3}"#)
            #expect(edit.status == .ok, "\(edit.text)")
        }
    }

    /// "Hidden fields do not exist for this caller: not in filters" — also not behind a lookup.
    @Test func aHiddenFieldCannotBeFilteredThroughALookup() async throws {
        try await F.withOrg("perm-field-lkp") { org in
            #expect(try await org.admin.call(.post, "/api/v1/admin/roles", json: Self.clerkRole).status == .created)
            let clerk = try await F.member(org, "clerk", department: org.departments["East"], roles: ["deal_clerk"])
            let parent = try await org.admin.createID("x_deal", #"{"x_name": "deal parent", "x_secret": 42}"#)
            let child = try await org.admin.createID("x_deal", F.body(["x_name": .string("deal child"), "x_parent": .string(parent)]))
            let right = try await clerk.api.list("x_deal", filter: #"{"field": "x_parent.x_secret", "op": "eq", "value": 42}"#)
            let wrong = try await clerk.api.list("x_deal", filter: #"{"field": "x_parent.x_secret", "op": "eq", "value": 41}"#)
            #expect(right.status == .badRequest, "filtering on the hidden x_secret through x_parent: \(right.status) \(right.records.strings("id") == [child] ? "finds the child, revealing the parent's hidden value" : right.text)")
            #expect(right.errorCode == "invalid_query")
            #expect(right.records.strings("id") == wrong.records.strings("id"), "the filter is an oracle for the hidden value")
        }
    }

    /// A lookup filter must not reveal values of a target record outside the caller's read scope.
    @Test func aLookupFilterDoesNotRevealRecordsOutsideTheScope() async throws {
        try await F.withOrg("perm-lkp-scope") { org in
            // sh owns a child deal whose parent (west's deal) sh may not read.
            let child = try await org.admin.createID("x_deal", F.body(["x_name": .string("deal child"), "x_parent": .string(org.deals["west"]!), "owner_id": .string(org["sh"].id)]))
            let sh = org["sh"].api
            #expect(try await sh.call(.get, "/api/v1/x_deal/\(org.deals["west"]!)").status == .notFound)
            #expect(try await sh.call(.get, "/api/v1/x_deal/\(child)").status == .ok)
            let right = try await sh.list("x_deal", filter: #"{"field": "x_parent.x_name", "op": "eq", "value": "deal gamma west"}"#)
            let wrong = try await sh.list("x_deal", filter: #"{"field": "x_parent.x_name", "op": "eq", "value": "deal something else"}"#)
            #expect(right.status == wrong.status)
            #expect(right.records.strings("id") == wrong.records.strings("id"),
                    "filtering through x_parent tells sh the name of a deal outside its scope: right name → \(right.records.strings("id")), wrong name → \(wrong.records.strings("id"))")
        }
    }

    /// A hidden field behaves as if it did not exist — also when it is the object's default sort.
    @Test func defaultSortOnAHiddenFieldDoesNotBreakTheList() async throws {
        try await F.withOrg("perm-field-sort") { org in
            try await org.admin.createObject(#"""
                {"key": "x_ranked", "labels": {"en": "Ranked"}, "defaultSort": "-x_score",
                 "fields": [{"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
                            {"key": "x_score", "labels": {"en": "Score"}, "type": "number"}]}
                """#)
            let role = try await org.admin.call(.post, "/api/v1/admin/roles", json: #"""
                {"key": "ranked_reader", "labels": {"en": "Ranked reader"}, "grants": {"custom": {"read": "all"}},
                 "field_rules": {"x_ranked": {"x_score": "hidden"}}}
                """#)
            #expect(role.status == .created, "\(role.text)")
            let user = try await F.member(org, "ranker", department: nil, roles: ["ranked_reader"])
            try await org.admin.create("x_ranked", #"{"x_name": "low", "x_score": 1}"#)
            try await org.admin.create("x_ranked", #"{"x_name": "high", "x_score": 9}"#)
            let page = try await user.api.list("x_ranked")
            #expect(page.status == .ok, "plain list for a user the default sort field is hidden from: \(page.text)")
            #expect(page.total == 2)
            #expect(!page.text.contains("x_score"))
        }
    }

    /// Search (q=) must not match text of a field hidden from the caller (else it is an oracle
    /// for the hidden value).
    @Test func searchDoesNotMatchAHiddenSearchableField() async throws {
        try await F.withHiddenNote("perm-field-q") { admin, user, id in
            let read = try await user.api.call(.get, "/api/v1/x_memo/\(id)")
            #expect(read.status == .ok)
            #expect(read.json["x_note"] == nil)
            #expect(try await user.api.list("x_memo", q: "memo one").records.strings("id") == [id])
            #expect(try await admin.list("x_memo", q: "confidential").records.strings("id") == [id])
            let hidden = try await user.api.list("x_memo", q: "confidential-xyz")
            #expect(hidden.status == .ok)
            #expect(hidden.total == 0, "q=confidential-xyz finds \(hidden.records.strings("id")) through the hidden x_note")
        }
    }

    /// Metadata behaves as if a hidden field did not exist: not in fields, list columns or layouts.
    @Test func metadataDoesNotMentionAHiddenField() async throws {
        try await F.withHiddenNote("perm-field-meta") { _, user, _ in
            let meta = try await user.api.call(.get, "/api/v1/meta/x_memo")
            #expect(meta.status == .ok)
            #expect(meta.json["fields"]?.asArray?.strings("key") == ["x_name"])
            #expect(!meta.text.contains("x_note"), "meta names the hidden field: \(meta.text)")
        }
    }

    // MARK: Menu

    /// The home page lists only modules the user's roles reach (trial plan: sales, service,
    /// knowledge base, expenses, activities; every working role files its own expense claims
    /// and logs its own follow-ups).
    @Test func theModuleMenuFollowsTheRoles() async throws {
        try await F.withOrg("perm-menu") { org in
            let purchaser = try await F.member(org, "buyer", department: org.departments["West"], roles: ["purchaser"])
            for (email, expected) in [(org["sh"].email, ["sales", "knowledge", "expenses", "activities"]),
                                      (org["reader"].email, ["sales", "service", "knowledge", "expenses", "activities"]),
                                      // The purchaser reads the product catalog and sales orders (purchasing's entity grants).
                                      (purchaser.email, ["sales", "knowledge", "expenses", "activities"]),
                                      (org.tenant.adminEmail, ["sales", "service", "knowledge", "expenses", "activities"])] {
                var browser = BrowserSession(client: org.client, tenant: org.tenant.info.slug)
                let password = email == org.tenant.adminEmail ? org.tenant.password : F.password
                #expect(try await browser.login(email: email, password: password).status == .seeOther)
                let home = String(buffer: try await browser.send(.get, "/").body)
                let shown = home.components(separatedBy: "data-module=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
                #expect(Set(shown) == Set(expected), "\(email) sees \(shown)")
            }
        }
    }

    // MARK: Entities without access

    @Test func anEntityWithoutReadGrantIsNotFoundAndNotListed() async throws {
        try await F.withOrg("perm-noent") { org in
            try await org.admin.createObject(RecordFixtures.simpleObject("x_other"))
            let other = try await org.admin.createID("x_other", #"{"x_name": "other"}"#)
            for body in [#"{"key": "no_custom", "labels": {"en": "No custom"}, "grants": {"module:sales": {"read": "all"}}}"#,
                         #"{"key": "no_deals", "labels": {"en": "No deals"}, "grants": {"custom": {"read": "all"}, "x_deal": {"read": "none"}}}"#] {
                let created = try await org.admin.call(.post, "/api/v1/admin/roles", json: body)
                #expect(created.status == .created, "\(created.text)")
            }
            let outsider = try await F.member(org, "outsider", department: org.departments["HQ"], roles: ["no_custom"])
            let nobody = try await F.member(org, "nobody", department: org.departments["HQ"], roles: [])
            let nodeals = try await F.member(org, "nodeals", department: org.departments["HQ"], roles: ["no_deals"])
            let id = org.deals["hq"]!
            for (who, user) in [("outsider", outsider), ("nobody", nobody), ("nodeals", nodeals)] {
                let calls: [(HTTPRequest.Method, String, String?)] = [
                    (.get, "/api/v1/x_deal", nil), (.post, "/api/v1/x_deal/query", "{}"), (.get, "/api/v1/x_deal/\(id)", nil),
                    (.post, "/api/v1/x_deal", #"{"x_name": "n"}"#), (.patch, "/api/v1/x_deal/\(id)", #"{"x_name": "n", "version": 1}"#),
                    (.delete, "/api/v1/x_deal/\(id)", nil), (.get, "/api/v1/x_deal/\(id)/history", nil), (.get, "/api/v1/x_deal/\(id)/shares", nil),
                    (.get, "/api/v1/x_deal/recycle-bin", nil), (.get, "/api/v1/meta/x_deal", nil),
                ]
                for (method, path, body) in calls {
                    let response = try await user.api.call(method, path, json: body)
                    #expect(response.status == .notFound, "\(who) \(method) \(path): \(response.text)")
                    #expect(response.errorCode == "entity_not_found", "\(who) \(method) \(path): \(response.text)")
                }
                let entities = try await user.api.call(.get, "/api/v1/entities")
                #expect(entities.status == .ok)
                #expect(!(entities.json["entities"]?.asArray?.strings("key").contains("x_deal") ?? true), "\(who) sees x_deal in /entities")
                #expect(!(try await user.api.call(.get, "/api/openapi.json").text.contains("/api/v1/x_deal")), "\(who) sees x_deal in the OpenAPI document")
            }
            // The entity key overrides "custom": x_other stays readable for no_deals.
            let entities = try await nodeals.api.call(.get, "/api/v1/entities")
            #expect(entities.json["entities"]?.asArray?.strings("key").contains("x_other") == true)
            #expect(try await nodeals.api.call(.get, "/api/v1/x_other/\(other)").status == .ok)
            #expect(try await outsider.api.call(.get, "/api/v1/x_other/\(other)").status == .notFound)
            // Readable but not allowed: 403 naming the action.
            let readerPatch = try await org["reader"].api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_name": "n", "version": 1}"#)
            #expect(readerPatch.status == .forbidden)
            #expect(readerPatch.errorCode == "no_permission")
            #expect(readerPatch.errorMessage.contains("update"))
            // Administrator routes stay closed to everyone else.
            for path in ["/api/v1/admin/roles", "/api/v1/admin/users", "/api/v1/admin/departments", "/api/v1/audit"] {
                let closed = try await org["director"].api.call(.get, path)
                #expect(closed.status == .forbidden, "\(path): \(closed.text)")
            }
        }
    }

    // MARK: Handover

    @Test func handoverMovesEveryRecordOfTheLeaverWithItsDepartmentAuditsAndLocksTheLeaverOut() async throws {
        try await F.withOrg("perm-handover") { org in
            let (leaver, heir) = (org["sh"], org["west"])
            let moved = org.ids("sh1", "sh2")
            // One of the leaver's records is in the recycle bin; it moves too.
            let binned = try await org.admin.createID("x_deal", F.body(["x_name": .string("deal binned"), "owner_id": .string(leaver.id)]))
            #expect(try await leaver.api.call(.delete, "/api/v1/x_deal/\(binned)").status == .noContent)
            let notAdmin = try await org["director"].api.call(.post, "/api/v1/admin/users/\(leaver.id)/handover", json: F.body(["to": .string(heir.id)]))
            #expect(notAdmin.status == .forbidden)

            let result = try await org.admin.call(.post, "/api/v1/admin/users/\(leaver.id)/handover", json: F.body(["to": .string(heir.id)]))
            #expect(result.status == .ok, "\(result.text)")
            #expect(result.json["moved"]?["x_deal"]?.asInt == 3)
            #expect(result.json["deactivated"] == .bool(true))

            // The heir owns and sees them; their department is now the heir's.
            let page = try await heir.api.list("x_deal", limit: 200)
            #expect(Set(page.records.strings("id")) == moved.union(org.ids("west")), "heir lists \(org.names(page.records.strings("id")))")
            #expect(page.records.filter { moved.contains($0["id"]?.stringValue ?? "") }.allSatisfy { $0["owner_id"] == .string(heir.id) })
            #expect(try await F.recordDepartments(org, ["sh1", "sh2"]) == [org.departments["West"], org.departments["West"]])
            let bin = try await heir.api.call(.get, "/api/v1/x_deal/recycle-bin")
            #expect(bin.records.strings("id") == [binned])
            let update = try await heir.api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "inherited", "version": 2}"#)
            #expect(update.status == .ok, "\(update.text)")
            // The manager of East no longer reaches them (they left East-Shanghai with their owner).
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(org.deals["sh2"]!)").status == .notFound)

            // Audit: one summary and one entry per record.
            let entries = try await F.audit(org.admin)
            let summary = entries.first { $0["action"] == .string("user.handover") }
            #expect(summary?["record_id"] == .string(leaver.id))
            #expect(summary?["details"]?["to"] == .string(heir.id))
            #expect(summary?["details"]?["moved.x_deal"] == .string("3"))
            let handedOver = entries.filter { $0["action"] == .string("record.handed_over") }
            #expect(Set(handedOver.compactMap { $0["record_id"]?.stringValue }) == moved.union([binned]))
            #expect(handedOver.allSatisfy { $0["details"]?["changes"]?["owner_id"]?["after"] == .string(heir.id) })
            let history = try await heir.api.call(.get, "/api/v1/x_deal/\(org.deals["sh2"]!)/history")
            #expect(history.json["entries"]?.asArray?.compactMap { $0["action"]?.stringValue } == ["record.created", "record.handed_over"])

            // The leaver is inactive: the API token stops working and signing in fails.
            let token = try await leaver.api.call(.get, "/api/v1/x_deal")
            #expect(token.status == .unauthorized, "\(token.text)")
            var browser = BrowserSession(client: org.client, tenant: org.tenant.info.slug)
            let login = try await browser.login(email: leaver.email, password: F.password)
            #expect(login.status != .seeOther)
            #expect(login.status == .forbidden)
            let members = try await org.admin.call(.get, "/api/v1/admin/users")
            #expect(members.json["users"]?.asArray?.first { F.same($0["id"], leaver.id) }?["active"] == .bool(false))
            // Ids are written lower-case, as records and the audit trail write them.
            for key in ["id", "department_id", "manager_id"] {
                for id in members.json["users"]?.asArray?.compactMap({ $0[key]?.stringValue }) ?? [] { #expect(id == id.lowercased(), "\(key) \(id)") }
            }
            #expect(members.json["users"]?.asArray?.contains { $0["department_id"]?.stringValue != nil } == true)
            // Nothing is left with the leaver.
            let leftover = try await org.admin.list("x_deal", filter: F.body(["field": .string("owner_id"), "op": .string("eq"), "value": .string(leaver.id)]))
            #expect(leftover.total == 0)
            // An inactive heir is refused.
            let toLeaver = try await org.admin.call(.post, "/api/v1/admin/users/\(heir.id)/handover", json: F.body(["to": .string(leaver.id)]))
            #expect(toLeaver.status == .unprocessableContent, "\(toLeaver.text)")
        }
    }

    // MARK: Administrators

    @Test func administratorsBypassScopesAndTheirWritesAreAuditedAsSuch() async throws {
        try await F.withOrg("perm-admin") { org in
            #expect(try await org.admin.list("x_deal", limit: 200).total == 6)
            let id = org.deals["sh1"]!
            #expect(try await org.admin.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "admin", "version": 1}"#).status == .ok)
            #expect(try await org["sh"].api.call(.patch, "/api/v1/x_deal/\(id)", json: #"{"x_stage": "own", "version": 2}"#).status == .ok)
            let shDeal = try await org["sh"].api.createID("x_deal", #"{"x_name": "deal by sh"}"#)
            let entries = try await F.audit(org.admin).filter { $0["entity"] == .string("x_deal") }
            let adminCreate = entries.first { $0["action"] == .string("record.created") && $0["record_id"] == .string(org.deals["hq"]!) }
            #expect(adminCreate?["details"]?["admin_bypass"] == .string("true"), "\(String(describing: adminCreate))")
            let adminUpdate = entries.first { $0["action"] == .string("record.updated") && $0["record_id"] == .string(id) && $0["details"]?["version"] == .string("2") }
            #expect(adminUpdate?["details"]?["admin_bypass"] == .string("true"), "\(String(describing: adminUpdate))")
            let ownUpdate = entries.first { $0["action"] == .string("record.updated") && $0["record_id"] == .string(id) && $0["details"]?["version"] == .string("3") }
            #expect(ownUpdate != nil)
            #expect(ownUpdate?["details"]?["admin_bypass"] == nil)
            let ownCreate = entries.first { $0["action"] == .string("record.created") && $0["record_id"] == .string(shDeal) }
            #expect(ownCreate != nil)
            #expect(ownCreate?["details"]?["admin_bypass"] == nil)
        }
    }

    // MARK: Tenants

    @Test func idsOfAnotherTenantAreRefusedAndGrantNothing() async throws {
        try await RecordFixtures.withTenants("perm-xa", "perm-xb") { client, tenants in
            let (a, b) = (tenants[0], tenants[1])
            let adminA = try await RecordAPIClient.admin(client, a)
            let adminB = try await RecordAPIClient.admin(client, b)
            // Tenant A: a department, a role, a user.
            let deptA = try await F.department(adminA, "A only", parent: nil)
            let roleA = try await adminA.call(.post, "/api/v1/admin/roles", json: #"{"key": "a_role", "labels": {"en": "A"}, "grants": {"custom": {"read": "all", "update": "all"}}}"#)
            #expect(roleA.status == .created, "\(roleA.text)")
            let roleAID = try #require(roleA.id).lowercased()
            let salespersonA = try await F.roleID(adminA, "salesperson")
            let userA = try await F.addUser(a, email: "alice@\(a.info.slug).test", name: "Alice")

            // Tenant B: a deal of the administrator and a salesperson who may not see it.
            try await adminB.createObject(PermissionFixtures.dealObject)
            let deal = try await adminB.createID("x_deal", #"{"x_name": "deal of b"}"#)
            let memberIDB = try await F.addUser(b, email: "bob@\(b.info.slug).test", name: "Bob")
            try await F.assign(adminB, memberIDB, department: nil, roles: ["salesperson"])
            let bob = try await RecordAPIClient.signIn(client, slug: b.info.slug, email: "bob@\(b.info.slug).test", password: F.password)
            let own = try await bob.createID("x_deal", #"{"x_name": "deal of bob"}"#)

            for (kind, grantee) in [("user", userA), ("department", deptA), ("role", roleAID), ("role", salespersonA)] {
                for (api, record) in [(adminB, deal), (bob, own)] {
                    let share = try await api.call(.post, "/api/v1/x_deal/\(record)/shares", json: F.body(["kind": .string(kind), "id": .string(grantee), "access": .string("write")]))
                    #expect(share.status == .unprocessableContent, "\(kind) of tenant A shared in B: \(share.text)")
                    #expect(share.errorField == "id")
                }
            }
            #expect(try await adminB.call(.get, "/api/v1/x_deal/\(deal)/shares").json["shares"] == .array([]))
            #expect(try await F.shareRows(b) == 0)

            let department = try await adminB.call(.patch, "/api/v1/admin/users/\(memberIDB)", json: F.body(["department_id": .string(deptA)]))
            #expect(department.status == .unprocessableContent, "\(department.text)")
            #expect(department.errorField == "department_id")
            let roles = try await adminB.call(.patch, "/api/v1/admin/users/\(memberIDB)", json: #"{"roles": ["a_role"]}"#)
            #expect(roles.status == .unprocessableContent, "\(roles.text)")
            let parent = try await adminB.call(.post, "/api/v1/admin/departments", json: F.body(["name": .string("B child"), "parent_id": .string(deptA)]))
            #expect(parent.status == .unprocessableContent, "\(parent.text)")
            let manager = try await adminB.call(.patch, "/api/v1/admin/users/\(memberIDB)", json: F.body(["manager_id": .string(userA)]))
            #expect(manager.status == .unprocessableContent, "\(manager.text)")
            let handover = try await adminB.call(.post, "/api/v1/admin/users/\(memberIDB)/handover", json: F.body(["to": .string(userA)]))
            #expect(handover.status == .unprocessableContent, "\(handover.text)")
            let handoverFromA = try await adminB.call(.post, "/api/v1/admin/users/\(userA)/handover", json: F.body(["to": .string(memberIDB)]))
            #expect(handoverFromA.status == .notFound, "\(handoverFromA.text)")
            for (method, path) in [(HTTPRequest.Method.patch, "/api/v1/admin/roles/\(roleAID)"), (.delete, "/api/v1/admin/roles/\(roleAID)"),
                                   (.patch, "/api/v1/admin/departments/\(deptA)"), (.delete, "/api/v1/admin/departments/\(deptA)"),
                                   (.patch, "/api/v1/admin/users/\(userA)")] {
                // A user change refuses keys it does not know (422) before looking the user up.
                let body = path.contains("/users/") ? #"{"active": true}"# : #"{"labels": {"en": "taken"}, "name": "taken"}"#
                let response = try await adminB.call(method, path, json: method == .delete ? nil : body)
                #expect(response.status == .notFound, "\(method) \(path) from tenant B: \(response.text)")
            }

            // Nothing was granted: bob still sees only his own deal, A's things are unchanged.
            #expect(try await bob.call(.get, "/api/v1/x_deal/\(deal)").status == .notFound)
            #expect(try await bob.list("x_deal", limit: 200).records.strings("id") == [own])
            let membersB = try await adminB.call(.get, "/api/v1/admin/users")
            let bobRow = membersB.json["users"]?.asArray?.first { F.same($0["id"], memberIDB) }
            #expect(bobRow?["roles"] == .array([.string("salesperson")]))
            #expect((bobRow?["department_id"] ?? .null) == .null)
            #expect((bobRow?["manager_id"] ?? .null) == .null)
            #expect(try await adminB.call(.get, "/api/v1/admin/departments").json["departments"] == .array([]))
            let rolesA = try await adminA.call(.get, "/api/v1/admin/roles")
            #expect(rolesA.json["roles"]?.asArray?.first { F.same($0["id"], roleAID) }?["labels"] == .object(["en": .string("A")]))
            #expect(try await adminA.call(.get, "/api/v1/admin/departments").json["departments"]?.asArray?.count == 1)
            #expect(try await adminB.call(.get, "/api/v1/admin/users").json["users"]?.asArray?.contains { F.same($0["id"], userA) } == false)
        }
    }
}

/// The organisation of ``PermissionTests`` and helpers to build it.
enum PermissionFixtures {
    static let password = "Perm-password-1"

    /// `x_deal`: a searchable name, a number to hide, a text to make read-only, a lookup to itself.
    static let dealObject = #"""
        {"key": "x_deal", "labels": {"en": "Deal"},
         "fields": [
           {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true, "searchable": true, "maxLength": 80},
           {"key": "x_secret", "labels": {"en": "Secret"}, "type": "number"},
           {"key": "x_stage", "labels": {"en": "Stage"}, "type": "text"},
           {"key": "x_parent", "labels": {"en": "Parent"}, "type": "lookup", "target": "x_deal"}
         ]}
        """#

    struct Member: Sendable {
        let id: String
        let email: String
        let api: RecordAPIClient
    }

    struct Org: Sendable {
        let client: any TestClientProtocol
        let tenant: TestEnvironment.Tenant
        let admin: RecordAPIClient
        let adminID: String
        /// HQ, East, East-Shanghai, West → id
        let departments: [String: String]
        /// sh, west, manager, reader, director
        let people: [String: Member]
        /// sh1, sh2, west, east, hq, adm → record id
        let deals: [String: String]

        subscript(_ who: String) -> Member { people[who]! }
        func ids(_ names: String...) -> Set<String> { Set(names.map { deals[$0]! }) }
        /// Deal names of ids, for readable failure messages.
        func names(_ ids: [String]) -> [String] {
            ids.map { id in deals.first { $0.value == id }?.key ?? id }.sorted()
        }
    }

    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    /// Whether a JSON value is the id `id` (the admin API spells UUIDs upper-case, records lower-case).
    static func same(_ value: JSONValue?, _ id: String) -> Bool { value?.stringValue?.lowercased() == id.lowercased() }

    /// A new tenant with `x_deal`, the organisation above and its deals.
    static func withOrg(_ prefix: String, _ body: @escaping @Sendable (Org) async throws -> Void) async throws {
        try await RecordFixtures.withTenant(prefix) { client, tenant in
            try await body(try await makeOrg(client, tenant))
        }
    }

    static func makeOrg(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant) async throws -> Org {
        let admin = try await RecordAPIClient.admin(client, tenant)
        try await admin.createObject(dealObject)
        let hq = try await department(admin, "HQ", parent: nil)
        let east = try await department(admin, "East", parent: hq)
        let eastShanghai = try await department(admin, "East-Shanghai", parent: east)
        let west = try await department(admin, "West", parent: hq)
        let departments = ["HQ": hq, "East": east, "East-Shanghai": eastShanghai, "West": west]
        let users = try await admin.call(.get, "/api/v1/admin/users")
        let adminID = try #require(users.json["users"]?.asArray?.first { $0["email"] == .string(tenant.adminEmail) }?["id"]?.stringValue).lowercased()
        var org = Org(client: client, tenant: tenant, admin: admin, adminID: adminID, departments: departments, people: [:], deals: [:])
        var people: [String: Member] = [:]
        for (key, department, role) in [("sh", eastShanghai, "salesperson"), ("west", west, "salesperson"), ("manager", east, "sales_manager"),
                                        ("reader", hq, "read_only"), ("director", hq, "sales_director")] {
            people[key] = try await member(org, key, department: department, roles: [role])
        }
        var deals: [String: String] = [:]
        for (key, name, owner) in [("sh1", "deal alpha shanghai", people["sh"]!.id), ("sh2", "deal beta shanghai", people["sh"]!.id),
                                   ("west", "deal gamma west", people["west"]!.id), ("east", "deal delta east", people["manager"]!.id),
                                   ("hq", "deal epsilon hq", people["director"]!.id), ("adm", "deal zeta admin", adminID)] {
            deals[key] = try await admin.createID("x_deal", body(["x_name": .string(name), "owner_id": .string(owner)]))
        }
        org = Org(client: client, tenant: tenant, admin: admin, adminID: adminID, departments: departments, people: people, deals: deals)
        return org
    }

    static func department(_ admin: RecordAPIClient, _ name: String, parent: String?) async throws -> String {
        var object: [String: JSONValue] = ["name": .string(name)]
        if let parent { object["parent_id"] = .string(parent) }
        let response = try await admin.call(.post, "/api/v1/admin/departments", json: body(object))
        try #require(response.status == .created, "creating department \(name) failed: \(response.text)")
        return try #require(response.id).lowercased()
    }

    /// Adds a non-administrator without department or roles (as `RecordFixtures.createMember`,
    /// with its own email) and returns its id.
    static func addUser(_ tenant: TestEnvironment.Tenant, email: String, name: String) async throws -> String {
        let hash = try PasswordHasher(memoryKiB: 1024, iterations: 1, parallelism: 1).hash(password)
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        let id = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                try await UserStore.create(.init(email: email, displayName: name, locale: "en", passwordHash: hash, isAdmin: false),
                                           tenantID: tenantID, on: connection, logger: logger)
            }
        }
        return id.uuidString.lowercased()
    }

    /// `PATCH /api/v1/admin/users/{id}` with department and roles; the test stops unless 200.
    static func assign(_ admin: RecordAPIClient, _ id: String, department: String?, roles: [String]) async throws {
        let change = body(["department_id": department.map(JSONValue.string) ?? .null, "roles": .array(roles.map(JSONValue.string))])
        let response = try await admin.call(.patch, "/api/v1/admin/users/\(id)", json: change)
        try #require(response.status == .ok, "changing user \(id) failed: \(response.text)")
    }

    /// A new user of the org's tenant with a department and roles, signed in with an API token.
    static func member(_ org: Org, _ key: String, department: String?, roles: [String]) async throws -> Member {
        try await member(org.client, org.tenant, org.admin, key, department: department, roles: roles)
    }

    static func member(_ client: any TestClientProtocol, _ tenant: TestEnvironment.Tenant, _ admin: RecordAPIClient, _ key: String,
                       department: String?, roles: [String]) async throws -> Member {
        let email = "\(key)@\(tenant.info.slug).test"
        let id = try await addUser(tenant, email: email, name: key)
        try await assign(admin, id, department: department, roles: roles)
        let api = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: email, password: password)
        return Member(id: id, email: email, api: api)
    }

    /// A tenant with `x_memo` (searchable name and note) and a user whose only role reads every
    /// memo but has `x_note` hidden; the administrator made one memo with a distinctive note.
    static func withHiddenNote(_ prefix: String, _ body: @escaping @Sendable (RecordAPIClient, Member, String) async throws -> Void) async throws {
        try await RecordFixtures.withTenant(prefix) { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(#"""
                {"key": "x_memo", "labels": {"en": "Memo"},
                 "fields": [{"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true, "searchable": true},
                            {"key": "x_note", "labels": {"en": "Note"}, "type": "text", "searchable": true}]}
                """#)
            let role = try await admin.call(.post, "/api/v1/admin/roles", json: #"""
                {"key": "memo_reader", "labels": {"en": "Memo reader"}, "grants": {"custom": {"read": "all"}},
                 "field_rules": {"x_memo": {"x_note": "hidden"}}}
                """#)
            try #require(role.status == .created, "\(role.text)")
            let user = try await member(client, tenant, admin, "memo", department: nil, roles: ["memo_reader"])
            let id = try await admin.createID("x_memo", #"{"x_name": "memo one", "x_note": "confidential-xyz"}"#)
            try await body(admin, user, id)
        }
    }

    static func roleID(_ admin: RecordAPIClient, _ key: String) async throws -> String {
        let roles = try await admin.call(.get, "/api/v1/admin/roles")
        return try #require(roles.json["roles"]?.asArray?.first { $0["key"] == .string(key) }?["id"]?.stringValue, "\(roles.text)").lowercased()
    }

    /// The tenant's audit log, newest first (admin only).
    static func audit(_ admin: RecordAPIClient) async throws -> [JSONValue] {
        let response = try await admin.call(.get, "/api/v1/audit?limit=500")
        try #require(response.status == .ok, "\(response.text)")
        return response.json["entries"]?.asArray ?? []
    }

    /// `records.department_id` of the named deals (not part of the API), lower-cased.
    static func recordDepartments(_ org: Org, _ names: [String]) async throws -> [String?] {
        let ids = names.map { UUID(uuidString: org.deals[$0]!)! }
        let logger = TestEnvironment.logger
        let tenantID = org.tenant.info.id
        let found = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                var rows: [UUID: UUID?] = [:]
                for try await (id, department) in try await connection.query("SELECT id, department_id FROM records WHERE id = ANY(\(ids))", logger: logger)
                    .decode((UUID, UUID?).self) {
                    rows[id] = department
                }
                return rows
            }
        }
        return ids.map { id in (found[id] ?? nil)?.uuidString.lowercased() }
    }

    /// Rows of `record_shares` of the tenant, counted in the database.
    static func shareRows(_ tenant: TestEnvironment.Tenant) async throws -> Int {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                try await connection.query("SELECT count(*)::int FROM record_shares", logger: logger).collect().first!.decode(Int.self)
            }
        }
    }
}

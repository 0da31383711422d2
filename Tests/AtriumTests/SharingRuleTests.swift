import Foundation
import Platform
import Testing

/// Sharing rules and the management dimension (管理维度) on the fixed organisation of
/// ``PermissionTests``: HQ → East → East-Shanghai, HQ → West; deals sh1, sh2 (East-Shanghai),
/// east (East), west (West), hq (HQ), adm (administrator).
@Suite struct SharingRuleTests {
    typealias F = PermissionFixtures

    static func visible(_ api: RecordAPIClient) async throws -> Set<String> {
        let page = try await api.list("x_deal", limit: 200)
        try #require(page.status == .ok, "\(page.text)")
        return Set(page.records.strings("id"))
    }

    static func rule(_ org: F.Org, department: String, sub: Bool, kind: String, grantee: String, access: String) async throws -> RecordAPIResponse {
        try await org.admin.call(.post, "/api/v1/admin/sharing-rules", json: F.body([
            "entity": .string("x_deal"), "department_id": .string(org.departments[department]!), "include_sub": .bool(sub),
            "kind": .string(kind), "grantee_id": .string(grantee), "access": .string(access),
        ]))
    }

    @Test func aRuleOpensADepartmentsRecordsToARoleUserOrDepartmentWithItsAccess() async throws {
        try await F.withOrg("share-rule") { org in
            let west = org["west"]
            #expect(try await Self.visible(west.api) == org.ids("west"))
            let salesperson = try await F.roleID(org.admin, "salesperson")

            // East and below, readable by every salesperson.
            let created = try await Self.rule(org, department: "East", sub: true, kind: "role", grantee: salesperson, access: "read")
            #expect(created.status == .created, "\(created.text)")
            let ruleID = try #require(created.id)
            #expect(ruleID == ruleID.lowercased())
            #expect(try await Self.visible(west.api) == org.ids("west", "sh1", "sh2", "east"))
            #expect(try await Self.visible(org["sh"].api) == org.ids("sh1", "sh2", "east"))
            #expect(try await west.api.call(.get, "/api/v1/x_deal/\(org.deals["east"]!)").status == .ok)
            // Read access does not let them change or delete.
            let patch = try await west.api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "x", "version": 1}"#)
            #expect(patch.status == .notFound, "\(patch.text)")
            #expect(try await west.api.call(.delete, "/api/v1/x_deal/\(org.deals["east"]!)").status == .notFound)
            // The same rule twice is refused; the list shows one.
            #expect(try await Self.rule(org, department: "East", sub: true, kind: "role", grantee: salesperson, access: "read").status == .conflict)
            let rules = try await org.admin.call(.get, "/api/v1/admin/sharing-rules")
            #expect(rules.json["rules"]?.asArray?.count == 1)
            #expect(rules.json["rules"]?.asArray?.first?["include_sub"] == .bool(true))

            // Deleting the rule closes the door again.
            #expect(try await org.admin.call(.delete, "/api/v1/admin/sharing-rules/\(ruleID)").status == .noContent)
            #expect(try await Self.visible(west.api) == org.ids("west"))
            #expect(try await org.admin.call(.delete, "/api/v1/admin/sharing-rules/\(ruleID)").status == .notFound)

            // Without sub-departments, to one user, with write access.
            #expect(try await Self.rule(org, department: "East-Shanghai", sub: false, kind: "user", grantee: west.id, access: "write").status == .created)
            #expect(try await Self.visible(west.api) == org.ids("west", "sh1", "sh2"))
            let write = try await west.api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "helped", "version": 1}"#)
            #expect(write.status == .ok, "\(write.text)")
            #expect(try await Self.rule(org, department: "East", sub: false, kind: "department", grantee: org.departments["West"]!, access: "read").status == .created)
            #expect(try await Self.visible(west.api) == org.ids("west", "sh1", "sh2", "east"))
            // Others are unaffected.
            #expect(try await Self.visible(org["sh"].api) == org.ids("sh1", "sh2"))

            let audit = try await org.admin.call(.get, "/api/v1/audit?limit=100")
            #expect(audit.text.contains("sharing_rule.created"))
            #expect(audit.text.contains("sharing_rule.deleted"))
        }
    }

    @Test func aRuleNeverGrantsAnEntityTheRolesDoNotReachAndBadRulesAreRefused() async throws {
        try await F.withOrg("share-rule-bad") { org in
            let nothing = try await org.admin.call(.post, "/api/v1/admin/roles", json: #"{"key": "outsider", "labels": {"en": "Outsider"}, "grants": {}}"#)
            #expect(nothing.status == .created, "\(nothing.text)")
            let outsider = try await F.member(org, "outsider", department: org.departments["West"], roles: ["outsider"])
            #expect(try await Self.rule(org, department: "HQ", sub: true, kind: "user", grantee: outsider.id, access: "write").status == .created)
            let list = try await outsider.api.list("x_deal")
            #expect(list.status == .notFound, "\(list.text)")

            for (body, field) in [
                (#"{"entity": "x_none", "department_id": "\#(org.departments["HQ"]!)", "kind": "user", "grantee_id": "\#(outsider.id)", "access": "read"}"#, "entity"),
                (#"{"entity": "x_deal", "department_id": "\#(UUID().uuidString)", "kind": "user", "grantee_id": "\#(outsider.id)", "access": "read"}"#, "department_id"),
                (#"{"entity": "x_deal", "department_id": "\#(org.departments["HQ"]!)", "kind": "team", "grantee_id": "\#(outsider.id)", "access": "read"}"#, "kind"),
                (#"{"entity": "x_deal", "department_id": "\#(org.departments["HQ"]!)", "kind": "role", "grantee_id": "\#(outsider.id)", "access": "read"}"#, "grantee_id"),
                (#"{"entity": "x_deal", "department_id": "\#(org.departments["HQ"]!)", "kind": "user", "grantee_id": "\#(outsider.id)", "access": "all"}"#, "access"),
                (#"{"entity": "x_deal", "kind": "user", "grantee_id": "\#(outsider.id)", "access": "read"}"#, "department_id"),
            ] {
                let response = try await org.admin.call(.post, "/api/v1/admin/sharing-rules", json: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            // Only administrators manage rules.
            let byUser = try await org["director"].api.call(.get, "/api/v1/admin/sharing-rules")
            #expect(byUser.status == .forbidden)
        }
    }

    @Test func theDimensionIsIntersectedWithTheScopeAndBoundsWhatALimitedUserWrites() async throws {
        try await F.withOrg("share-dimension") { org in
            let field = try await org.admin.call(.post, "/api/v1/admin/entities/x_deal/fields", json: #"""
                {"key": "x_region", "labels": {"en": "Region", "zh-CN": "区域"}, "type": "picklist",
                 "options": [{"value": "North", "labels": {"en": "North"}}, {"value": "South", "labels": {"en": "South"}}]}
                """#)
            #expect(field.status == .created, "\(field.text)")
            for (deal, region) in [("sh1", "South"), ("sh2", "North"), ("east", "South"), ("west", "South"), ("hq", "North")] {
                let set = try await org.admin.call(.patch, "/api/v1/x_deal/\(org.deals[deal]!)", json: #"{"x_region": "\#(region)", "version": 1}"#)
                try #require(set.status == .ok, "\(set.text)")
            }
            let dimension = try await org.admin.call(.put, "/api/v1/admin/dimension", json: #"{"field": "x_region", "labels": {"en": "Region"}}"#)
            #expect(dimension.status == .ok, "\(dimension.text)")
            for (who, values) in [("manager", ["South"]), ("director", ["North"])] {
                let change = try await org.admin.call(.patch, "/api/v1/admin/users/\(org[who].id)", json: F.body(["dimension_values": .array(values.map(JSONValue.string))]))
                #expect(change.status == .ok, "\(change.text)")
                #expect(change.json["dimension_values"] == .array(values.map(JSONValue.string)))
            }
            // Department tree {sh1, sh2, east} ∩ South; all ∩ North; unlimited users unchanged.
            #expect(try await Self.visible(org["manager"].api) == org.ids("sh1", "east"))
            #expect(try await Self.visible(org["director"].api) == org.ids("sh2", "hq"))
            #expect(try await Self.visible(org["sh"].api) == org.ids("sh1", "sh2"))
            #expect(try await org.admin.list("x_deal", limit: 200).total == 6)
            #expect(try await org["manager"].api.call(.get, "/api/v1/x_deal/\(org.deals["sh2"]!)").status == .notFound)
            #expect(try await org["manager"].api.list("x_deal", q: "shanghai").records.strings("id") == [org.deals["sh1"]!])

            // Writes stay inside the caller's values.
            let defaulted = try await org["manager"].api.create("x_deal", #"{"x_name": "deal south new"}"#)
            #expect(defaulted["x_region"] == .string("South"))
            let outside = try await org["manager"].api.call(.post, "/api/v1/x_deal", json: #"{"x_name": "deal north new", "x_region": "North"}"#)
            #expect(outside.status == .forbidden, "\(outside.text)")
            #expect(outside.errorCode == "dimension_denied")
            #expect(outside.errorField == "x_region")
            let move = try await org["manager"].api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_region": "North", "version": 2}"#)
            #expect(move.status == .forbidden, "\(move.text)")
            let clear = try await org["manager"].api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_region": null, "version": 2}"#)
            #expect(clear.status == .forbidden, "\(clear.text)")
            #expect(try await org["manager"].api.call(.patch, "/api/v1/x_deal/\(org.deals["sh1"]!)", json: #"{"x_stage": "ok", "version": 2}"#).status == .ok)

            // Removing the dimension (or a user's limit) lifts it.
            #expect(try await org.admin.call(.patch, "/api/v1/admin/users/\(org["director"].id)", json: #"{"dimension_values": null}"#).status == .ok)
            #expect(try await Self.visible(org["director"].api).count == 7)
            #expect(try await org.admin.call(.get, "/api/v1/admin/dimension").json["dimension"]?["field"] == .string("x_region"))
            #expect(try await org.admin.call(.delete, "/api/v1/admin/dimension").status == .noContent)
            #expect(try await Self.visible(org["manager"].api) == org.ids("sh1", "sh2", "east").union([defaulted["id"]!.stringValue!]))
            let bad = try await org.admin.call(.put, "/api/v1/admin/dimension", json: #"{"field": "Region!"}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.errorField == "field")
            let empty = try await org.admin.call(.patch, "/api/v1/admin/users/\(org["manager"].id)", json: #"{"dimension_values": []}"#)
            #expect(empty.status == .unprocessableContent)
            #expect(empty.errorField == "dimension_values")
        }
    }
}

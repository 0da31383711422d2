import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
@testable import Platform
import PostgresNIO
import Testing

/// Automation rules (issue 16, 工作流自动化): when / if / then on the shared record engine,
/// against the real server and PostgreSQL — field changes and conditions, the actions (notify,
/// create a task, set a field, call a webhook), a failing action recorded and its rule's work
/// undone without losing the user's write, rules that would loop, date rules from the
/// scheduler, approval outcomes, imports, and rules that cannot be used.
@Suite struct AutomationTests {
    typealias Member = PermissionFixtures.Member
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    static func rule(_ admin: RecordAPIClient, _ json: String) async throws -> String {
        let created = try await admin.call(.post, "/api/v1/admin/automation/rules", json: json)
        try #require(created.status == .created, "\(created.text)")
        return try #require(created.json["id"]?.stringValue)
    }

    static func runs(_ admin: RecordAPIClient, _ rule: String) async throws -> [JSONValue] {
        let response = try await admin.call(.get, "/api/v1/admin/automation/rules/\(rule)/runs")
        try #require(response.status == .ok, "\(response.text)")
        return response.json["runs"]?.arrayValue ?? []
    }

    static func inbox(_ api: RecordAPIClient, kind: String) async throws -> [JSONValue] {
        let response = try await api.call(.get, "/api/v1/notifications")
        try #require(response.status == .ok, "\(response.text)")
        return (response.json["notifications"]?.arrayValue ?? []).filter { $0["kind"] == .string(kind) }
    }

    @Test func aFieldChangeThatMeetsTheConditionNotifiesTheManagerCreatesATaskAndSetsAField() async throws {
        try await ApprovalTests.withOrg("auto-key") { _, tenant, org in
            let rule = try await Self.rule(org.admin, #"""
                {"name": "Key account", "entity": "account", "trigger": {"type": "field_changed", "field": "level", "to": "A"},
                 "condition": {"field": "region", "op": "eq", "value": "华东"},
                 "actions": [{"type": "notify", "to": ["owner_manager"], "message": "{record} is now a key account ({region})"},
                             {"type": "create_task", "subject": "Visit {record}", "due_in_days": 2, "assignee": "owner", "priority": "high"},
                             {"type": "set_field", "field": "lifecycle", "value": "customer"}]}
                """#)
            // The salesperson's own write fires it; the reply already shows the rule's field.
            let created = try await org.emp.api.call(.post, "/api/v1/account", json: #"{"name": "上海华联", "level": "A", "region": "华东"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["lifecycle"] == .string("customer"), "\(created.text)")
            let account = try #require(created.json["id"]?.stringValue)

            let told = try await Self.inbox(org.mgr.api, kind: "automation.rule")
            #expect(told.count == 1)
            #expect(told.first?["text"]?.stringValue == "上海华联 is now a key account (华东)", "\(told)")
            #expect(told.first?["link"] == .string("/app/account/\(account)"))
            let tasks = try await org.emp.api.list("task", filter: #"{"field": "related_id", "op": "eq", "value": "\#(account)"}"#)
            #expect(tasks.records.count == 1, "\(tasks.text)")
            let task = try #require(tasks.records.first)
            #expect(task["subject"] == .string("Visit 上海华联"))
            #expect(task["assignee"] == .string(org.emp.id) && task["owner_id"] == .string(org.emp.id))
            #expect(task["priority"] == .string("high") && task["related_entity"] == .string("account"))
            #expect(task["due_at"]?.stringValue != nil)

            // The trail names the rule as the writer of the field it set.
            let requestIDs = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                    try await connection.query("""
                        SELECT request_id FROM audit_log WHERE record_id = \(account) AND action = 'record.updated'
                        """, logger: TestEnvironment.logger).collect().map { try $0.decode(String?.self) }
                }
            }
            #expect(requestIDs == ["automation:\(rule)"])

            // Outside the condition, or a change of another field: nothing happens.
            let north = try await org.emp.api.call(.post, "/api/v1/account", json: #"{"name": "北京燕莎", "level": "A", "region": "华北"}"#)
            #expect(north.status == .created && north.json["lifecycle"] != .string("customer"), "\(north.text)")
            let version = try #require(created.json["version"]?.asInt)
            let edit = try await org.emp.api.call(.patch, "/api/v1/account/\(account)", json: #"{"phone": "021-88886666", "version": \#(version)}"#)
            #expect(edit.status == .ok, "\(edit.text)")
            let runs = try await Self.runs(org.admin, rule)
            #expect(runs.count == 1, "\(runs)")
            #expect(runs.first?["status"] == .string("done") && runs.first?["trigger"] == .string("created"))
            #expect(runs.first?["record_id"] == .string(account))
            #expect(runs.first?["detail"]?["actions"]?.arrayValue?.count == 3)
            #expect(try await Self.inbox(org.mgr.api, kind: "automation.rule").count == 1)

            // Rules are the administrators'.
            let refused = try await org.emp.api.call(.post, "/api/v1/admin/automation/rules",
                                                     json: #"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": ["owner"], "message": "x"}]}"#)
            #expect(refused.status == .forbidden, "\(refused.text)")
            #expect(try await org.emp.api.call(.get, "/api/v1/admin/automation/rules").status == .forbidden)
        }
    }

    @Test func aFailingActionUndoesItsRulesWorkKeepsTheWriteAndTellsTheAuthor() async throws {
        try await RecordFixtures.withTenant("auto-fail") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rule = try await Self.rule(admin, #"""
                {"name": "Hand over to the boss", "entity": "account", "trigger": {"type": "created"},
                 "actions": [{"type": "notify", "to": ["owner"], "message": "New: {record}"},
                             {"type": "create_task", "subject": "Review {record}", "assignee": "owner_manager"}]}
                """#)
            // The administrator has no manager: the task names nobody.
            let created = try await admin.call(.post, "/api/v1/account", json: #"{"name": "杭州明远"}"#)
            #expect(created.status == .created, "the user's write stands: \(created.text)")
            let account = try #require(created.json["id"]?.stringValue)
            #expect(try await Self.inbox(admin, kind: "automation.rule").isEmpty, "the notify before the failing action was undone")
            let failed = try await Self.inbox(admin, kind: "automation.failed")
            #expect(failed.count == 1)
            #expect(failed.first?["text"]?.stringValue?.contains("Hand over to the boss") == true, "\(failed)")
            let runs = try await Self.runs(admin, rule)
            #expect(runs.count == 1)
            #expect(runs.first?["status"] == .string("failed"))
            #expect(runs.first?["detail"]?["action"]?.asInt == 1 && runs.first?["detail"]?["action_type"] == .string("create_task"))
            #expect(runs.first?["detail"]?["error"]?.stringValue?.contains("names nobody") == true, "\(runs)")
            #expect(try await admin.count("task") == 0)
            #expect(try await admin.call(.get, "/api/v1/account/\(account)").status == .ok)
            let all = try await admin.call(.get, "/api/v1/admin/automation/runs")
            #expect(all.json["runs"]?.arrayValue?.count == 1)
        }
    }

    @Test func rulesThatSetEachOthersFieldStopAtTheDepthLimit() async throws {
        try await RecordFixtures.withTenant("auto-loop") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let field = try await admin.call(.post, "/api/v1/admin/entities/account/fields",
                                             json: #"{"key": "x_flag", "labels": {"en": "Flag"}, "type": "text", "filterable": true}"#)
            try #require(field.status == .created, "\(field.text)")
            let ping = try await Self.rule(admin, #"""
                {"name": "ping", "entity": "account", "trigger": {"type": "field_changed", "field": "x_flag", "to": "ping"},
                 "actions": [{"type": "set_field", "field": "x_flag", "value": "pong"}]}
                """#)
            let pong = try await Self.rule(admin, #"""
                {"name": "pong", "entity": "account", "trigger": {"type": "field_changed", "field": "x_flag", "to": "pong"},
                 "actions": [{"type": "set_field", "field": "x_flag", "value": "ping"}]}
                """#)
            let account = try await admin.createID("account", #"{"name": "环形公司"}"#)
            let changed = try await admin.call(.patch, "/api/v1/account/\(account)", json: #"{"x_flag": "ping", "version": 1}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            // ping (1) → pong (2) → ping (3) → pong would be 4: skipped.
            #expect(changed.json["x_flag"] == .string("pong"), "\(changed.text)")
            let pingRuns = try await Self.runs(admin, ping)
            let pongRuns = try await Self.runs(admin, pong)
            #expect(pingRuns.map { $0["depth"]?.asInt ?? 0 }.sorted() == [1, 3])
            #expect(pingRuns.allSatisfy { $0["status"] == .string("done") })
            #expect(pongRuns.map { "\($0["depth"]?.asInt ?? 0) \($0["status"]?.stringValue ?? "")" }.sorted() == ["2 done", "4 skipped"], "\(pongRuns)")
            #expect(changed.json["version"]?.asInt == 5, "the user's change and three rule writes")
        }
    }

    @Test func aDateRuleFiresOnceOnItsDayFromTheScheduler() async throws {
        try await RecordFixtures.withTenant("auto-date") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let field = try await admin.call(.post, "/api/v1/admin/entities/account/fields",
                                             json: #"{"key": "x_renewal", "labels": {"en": "Renewal"}, "type": "date", "filterable": true}"#)
            try #require(field.status == .created, "\(field.text)")
            _ = try await Self.rule(admin, #"""
                {"name": "Renewal soon", "entity": "account", "trigger": {"type": "date", "field": "x_renewal", "days_before": 3},
                 "condition": {"field": "level", "op": "eq", "value": "A"},
                 "actions": [{"type": "notify", "to": ["owner"], "message": "{record} renews on {x_renewal}"}]}
                """#)
            let now = Date()
            let day = ChinaCalendar.day(of: now.addingTimeInterval(3 * 86_400))
            let due = try await admin.createID("account", Self.body(["name": .string("到期公司"), "level": .string("A"), "x_renewal": .string(day)]))
            _ = try await admin.createID("account", Self.body(["name": .string("B 类公司"), "level": .string("B"), "x_renewal": .string(day)]))
            _ = try await admin.createID("account", Self.body(["name": .string("晚到期"), "level": .string("A"),
                                                                "x_renewal": .string(ChinaCalendar.day(of: now.addingTimeInterval(4 * 86_400)))]))
            try await TestEnvironment.withOwner { connection in
                try await connection.query("DELETE FROM scheduler_jobs WHERE job = 'platform.automation_dates'", logger: TestEnvironment.logger)
            }
            let clock = SchedulerTests.Clock(now)
            try await SchedulerTests.withDatabase { database in
                let scheduler = try SchedulerTests.hostScheduler(database, clock: clock, tenant: tenant.info.id, job: "platform.automation_dates")
                #expect(try await scheduler.runDue().contains("platform.automation_dates"))
                let told = try await Self.inbox(admin, kind: "automation.rule")
                #expect(told.count == 1, "\(told)")
                #expect(told.first?["record_id"] == .string(due))
                #expect(told.first?["text"]?.stringValue == "到期公司 renews on \(day)")
                clock.advance(301)
                #expect(try await scheduler.runDue().contains("platform.automation_dates"))
                #expect(try await Self.inbox(admin, kind: "automation.rule").count == 1, "once per record and day")
            }
        }
    }

    @Test func anApprovalOutcomeFiresItsRulesOnly() async throws {
        try await ApprovalTests.withOrg("auto-appr") { _, _, org in
            _ = try await Self.rule(org.admin, #"""
                {"name": "Approved claims", "entity": "expense_claim", "trigger": {"type": "approval", "outcome": "approved"},
                 "actions": [{"type": "notify", "to": ["user:\#(org.cc.id)"], "message": "{record} is approved: {total}"}]}
                """#)
            let claim = try await ApprovalTests.claim(org, org.emp, "Trip to Suzhou", ["300.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            let first = try #require(try await ApprovalTests.task(org.emp, claim, for: org.mgr.id))
            #expect(try await ApprovalTests.decide(org.mgr, first, "approve").status == .ok)
            #expect(try await Self.inbox(org.cc.api, kind: "automation.rule").isEmpty, "not ended yet")
            let second = try #require(try await ApprovalTests.task(org.emp, claim, for: org.fin.id))
            #expect(try await ApprovalTests.decide(org.fin, second, "approve").status == .ok)
            let told = try await Self.inbox(org.cc.api, kind: "automation.rule")
            #expect(told.map { $0["text"]?.stringValue ?? "" } == ["Trip to Suzhou is approved: 300.00 CNY"], "\(told)")

            let rejected = try await ApprovalTests.claim(org, org.emp, "Golf", ["900.00"])
            #expect(try await ApprovalTests.submit(org.emp, rejected).status == .created)
            let task = try #require(try await ApprovalTests.task(org.emp, rejected, for: org.mgr.id))
            #expect(try await ApprovalTests.decide(org.mgr, task, "reject", comment: "no").status == .ok)
            #expect(try await Self.inbox(org.cc.api, kind: "automation.rule").count == 1, "a rejection is not an approval")
        }
    }

    @Test func importedRecordsFireCreatedRulesOneByOne() async throws {
        try await RecordFixtures.withTenant("auto-imp") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let rule = try await Self.rule(admin, #"""
                {"name": "Imported", "entity": "account", "trigger": {"type": "created"},
                 "condition": {"field": "region", "op": "eq", "value": "华南"},
                 "actions": [{"type": "set_field", "field": "level", "value": "B"}]}
                """#)
            let imported = try await admin.importCSV("account", "name,region\n广州一号,华南\n深圳二号,华南\n成都三号,西南\n")
            #expect(imported.status == .created, "\(imported.text)")
            #expect(try await Self.runs(admin, rule).count == 2)
            let levels = try await admin.list("account", sort: "name").records.map { "\($0["name"]?.stringValue ?? "") \($0["level"]?.stringValue ?? "-")" }
            #expect(Set(levels) == ["广州一号 B", "深圳二号 B", "成都三号 -"], "\(levels)")
        }
    }

    @Test func rulesThatCannotBeUsedAreRefusedNamingThePart() async throws {
        try await RecordFixtures.withTenant("auto-bad") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let notify = #"[{"type": "notify", "to": ["owner"], "message": "hi"}]"#
            for (body, field) in [
                (#"{"entity": "account", "trigger": {"type": "created"}, "actions": \#(notify)}"#, "name"),
                (#"{"name": "x", "entity": "no_such", "trigger": {"type": "created"}, "actions": \#(notify)}"#, "entity"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "exploded"}, "actions": \#(notify)}"#, "trigger.type"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "field_changed", "field": "nope"}, "actions": \#(notify)}"#, "trigger.field"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "field_changed", "field": "level", "to": "Z"}, "actions": \#(notify)}"#, "trigger.to"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "date", "field": "name"}, "actions": \#(notify)}"#, "trigger.field"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "approval"}, "actions": \#(notify)}"#, "trigger.type"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "condition": {"field": "nope", "op": "eq", "value": 1}, "actions": \#(notify)}"#, "condition"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": []}"#, "actions"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": ["role:nobody"], "message": "x"}]}"#, "actions[0].to[0]"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": ["everyone"], "message": "x"}]}"#, "actions[0].to[0]"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "set_field", "field": "level", "value": "Z"}]}"#, "actions[0].value"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": \#(notify), "then": 1}"#, "then"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "webhook", "endpoint_id": "\#(UUID())"}]}"#, "actions[0].endpoint_id"),
                (#"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "create_task", "subject": "x", "priority": "urgent"}]}"#, "actions[0].priority"),
            ] {
                let response = try await admin.call(.post, "/api/v1/admin/automation/rules", json: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            #expect(try await admin.call(.get, "/api/v1/admin/automation/rules").json["rules"]?.arrayValue?.isEmpty == true)
            let missing = try await admin.call(.patch, "/api/v1/admin/automation/rules/\(UUID())", json: #"{"active": false}"#)
            #expect(missing.status == .notFound && missing.errorCode == "automation_rule_not_found", "\(missing.text)")

            // A rule turned off does nothing; deleting it takes its log along.
            let rule = try await Self.rule(admin, #"{"name": "x", "entity": "account", "trigger": {"type": "created"}, "actions": [{"type": "set_field", "field": "level", "value": "C"}]}"#)
            let off = try await admin.call(.patch, "/api/v1/admin/automation/rules/\(rule)", json: #"{"active": false}"#)
            #expect(off.status == .ok && off.json["active"] == .bool(false), "\(off.text)")
            let account = try await admin.create("account", #"{"name": "不动"}"#)
            #expect(account["level"] == nil)
            #expect(try await admin.call(.delete, "/api/v1/admin/automation/rules/\(rule)").status == .noContent)
            #expect(try await admin.call(.get, "/api/v1/admin/automation/rules/\(rule)").status == .notFound)
        }
    }
}

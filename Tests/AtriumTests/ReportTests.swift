import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Modules
@testable import Platform
import PostgresNIO
import Testing

/// The report builder (issue 21) against the real server and PostgreSQL: figures equal SQL on
/// fixed data for every measure and date bucket, a shared report shows each viewer their own
/// scope, hidden fields cannot be grouped or measured, bad definitions are named, the page
/// draws a chart whose marks drill down to the list, and the export is a sheet.
@Suite struct ReportTests {
    typealias F = RecordFixtures

    /// Projects with stages, headcounts, budgets and start dates around a leap day.
    static let projects: [(name: String, stage: String, headcount: String, budget: String, start: String)] = [
        ("a", "plan", "3", "100.10", "2024-02-28"),
        ("b", "plan", "5", "200.20", "2024-02-29"),
        ("c", "build", "7", "300.30", "2024-03-01"),
        ("d", "build", "11", "0.05", "2024-12-31"),
        ("e", "done", "2.5", "999.99", "2025-01-01"),
    ]

    static func seed(_ api: RecordAPIClient) async throws {
        try await api.createObject(F.projectObject)
        for project in projects {
            try await api.create("x_project", JSONValue.object([
                "x_name": .string(project.name), "x_stage": .string(project.stage), "x_headcount": .string(project.headcount),
                "x_budget": .string(project.budget), "x_start": .string(project.start),
            ]).jsonText)
        }
        // A project without stage or start: its own "(none)" group.
        try await api.create("x_project", #"{"x_name": "f", "x_headcount": 1}"#)
    }

    /// `sql` as the application role in the tenant, one row of text cells per result row.
    static func sql(_ tenant: TestEnvironment.Tenant, _ sql: String) async throws -> [[String?]] {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                var rows: [[String?]] = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                    rows.append(try row.makeRandomAccess().map { try $0.decode(String?.self) })
                }
                return rows
            }
        }
    }

    static func run(_ api: RecordAPIClient, _ definition: String) async throws -> RecordAPIResponse {
        try await api.call(.post, "/api/v1/reports/run?lang=en", json: definition)
    }

    /// keys → values of a run, as text.
    static func figures(_ response: RecordAPIResponse) -> [[String]] {
        (response.json["rows"]?.asArray ?? []).map { row in
            (row["keys"]?.asArray ?? []).map { $0.stringValue ?? "-" } + (row["values"]?.asArray ?? []).map { $0.stringValue ?? "-" }
        }
    }

    @Test func figuresEqualSQLForEveryMeasureAndDateBucket() async throws {
        try await F.withTenant("report-sql") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await Self.seed(api)
            let byStage = try await Self.run(api, """
                {"entity": "x_project", "group_by": [{"field": "x_stage"}],
                 "measures": [{"fn": "count"}, {"fn": "sum", "field": "x_budget"}, {"fn": "avg", "field": "x_headcount"}, {"fn": "max", "field": "x_headcount"}]}
                """)
            #expect(byStage.status == .ok, "\(byStage.text)")
            let expected = try await Self.sql(tenant, """
                SELECT data->>'x_stage', count(*)::text, coalesce(sum((data->'x_budget'->>'amount')::numeric), 0)::numeric(20, 2)::text,
                       trim_scale(round(avg((data->>'x_headcount')::numeric), 4))::text, max((data->>'x_headcount')::numeric)::text
                FROM records WHERE entity = 'x_project' AND deleted_at IS NULL GROUP BY 1 ORDER BY 1
                """)
            #expect(Self.figures(byStage) == expected.map { $0.map { $0 ?? "-" } }, "\(byStage.text)")
            // Exact decimals: 300.30 + 0.05, and (7 + 11) / 2.
            #expect(Self.figures(byStage).contains(["build", "2", "300.35", "9", "11"]))
            #expect(byStage.json["rows"]?.asArray?.map { $0["labels"]?.asArray?.first?.stringValue ?? "" } == ["Build", "Done", "Plan", "(none)"])
            #expect(byStage.json["totals"]?.asArray?.prefix(2).map { $0.stringValue ?? "" } == ["6", "1600.64"], "counts and sums add up; \(byStage.text)")

            for (bucket, pattern) in [("week", #"IYYY-"W"IW"#), ("month", "YYYY-MM"), ("quarter", #"YYYY-"Q"Q"#), ("year", "YYYY"), ("day", "YYYY-MM-DD")] {
                let run = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_start", "bucket": "\#(bucket)"}], "measures": [{"fn": "count"}, {"fn": "min", "field": "x_headcount"}]}"#)
                let rows = try await Self.sql(tenant, """
                    SELECT to_char((data->>'x_start')::date, '\(pattern)'), count(*)::text, min((data->>'x_headcount')::numeric)::text
                    FROM records WHERE entity = 'x_project' AND deleted_at IS NULL GROUP BY 1 ORDER BY 1
                    """)
                #expect(Self.figures(run) == rows.map { $0.map { $0 ?? "-" } }, "\(bucket): \(run.text)")
            }
            // 2024-02-28 and the leap day share ISO week 9; 2024-12-31 is in ISO week 1 of 2025 with 2025-01-01.
            let weeks = Self.figures(try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_start", "bucket": "week"}]}"#))
            #expect(weeks.contains(["2024-W09", "3"]) && weeks.contains(["2025-W01", "2"]), "\(weeks)")
            // Top N by the first measure, largest first; two groupings.
            let top = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_stage"}], "measures": [{"fn": "sum", "field": "x_headcount"}], "sort": "-value", "limit": 2}"#)
            #expect(Self.figures(top) == [["build", "18"], ["plan", "8"]], "\(top.text)")
            let two = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_stage"}, {"field": "x_start", "bucket": "year"}]}"#)
            #expect(Self.figures(two).contains(["build", "2024", "2"]), "\(two.text)")
            // A group's drill-down filter lists exactly its records.
            let quarter = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_start", "bucket": "quarter"}]}"#)
            let q1 = try #require(quarter.json["rows"]?.asArray?.first { $0["keys"]?.asArray?.first?.stringValue == "2024-Q1" })
            let listed = try await api.list("x_project", filter: try #require(q1["filter"]).jsonText)
            #expect(listed.total == 3, "\(q1) → \(listed.text)")
        }
    }

    @Test func badDefinitionsAreRefusedNamingThePart() async throws {
        try await F.withTenant("report-bad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await Self.seed(api)
            let cases: [(String, String)] = [
                (#"{"entity": "x_project", "group_by": []}"#, "group_by"),
                (#"{"entity": "x_project", "group_by": [{"field": "x_start", "bucket": "fortnight"}]}"#, "group_by.0.bucket"),
                (#"{"entity": "x_project", "group_by": [{"field": "x_stage"}], "measures": [{"fn": "sum"}]}"#, "measures.0.field"),
                (#"{"entity": "x_project", "group_by": [{"field": "x_stage"}], "limit": 0}"#, "limit"),
                (#"{"entity": "x_project", "group_by": [{"field": "x_stage"}], "colour": "red"}"#, "colour"),
            ]
            for (body, field) in cases {
                let response = try await Self.run(api, body)
                #expect(response.status == .unprocessableContent && response.errorField == field, "\(body): \(response.text)")
            }
            let unknown = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_nothing"}]}"#)
            #expect(unknown.status == .badRequest && unknown.errorField == "x_nothing", "\(unknown.text)")
            let text = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_stage"}], "measures": [{"fn": "sum", "field": "x_name"}]}"#)
            #expect(text.status == .badRequest && text.errorField == "x_name", "\(text.text)")
            let notDate = try await Self.run(api, #"{"entity": "x_project", "group_by": [{"field": "x_stage", "bucket": "month"}]}"#)
            #expect(notDate.status == .badRequest && notDate.errorField == "x_stage", "\(notDate.text)")
            // Saving checks the same way: nothing is stored.
            let saved = try await api.call(.post, "/api/v1/reports", json: #"{"name": "bad", "definition": {"entity": "x_project", "group_by": [{"field": "x_nothing"}]}}"#)
            #expect(saved.status == .unprocessableContent && saved.errorField == "x_nothing", "\(saved.text)")
            #expect(try await api.call(.get, "/api/v1/reports").json["reports"]?.asArray?.isEmpty == true)
        }
    }

    @Test func aSharedReportShowsEachViewerTheirOwnScopeAndHiddenFieldsStayHidden() async throws {
        try await PermissionFixtures.withOrg("report-scope") { org in
            let definition = #"{"entity": "x_deal", "group_by": [{"field": "owner_id"}], "measures": [{"fn": "count"}]}"#
            let created = try await org.admin.call(.post, "/api/v1/reports", json: #"{"name": "Deals by owner", "shared": true, "definition": \#(definition)}"#)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.id)
            func total(_ api: RecordAPIClient) async throws -> String? {
                let shown = try await api.call(.get, "/api/v1/reports/\(id)")
                return shown.json["result"]?["totals"]?.asArray?.first?.stringValue
            }
            #expect(try await total(org.admin) == "6")
            #expect(try await total(org["sh"].api) == "2", "a salesperson counts only her own deals")
            #expect(try await total(org["manager"].api) == "3", "the East manager counts East and East-Shanghai")
            // Owner names, not ids; the salesperson's own name only.
            let shown = try await org["sh"].api.call(.get, "/api/v1/reports/\(id)")
            #expect(shown.json["result"]?["rows"]?.asArray?.map { $0["labels"]?.asArray?.first?.stringValue ?? "" } == ["sh"], "\(shown.text)")
            // Only the owner or an administrator changes it.
            let renamed = try await org["sh"].api.call(.patch, "/api/v1/reports/\(id)", json: #"{"name": "mine now"}"#)
            #expect(renamed.status == .forbidden, "\(renamed.text)")
            // A private report is nobody else's: not listed, not shown, not pinned.
            let own = try await org.admin.call(.post, "/api/v1/reports", json: #"{"name": "Admin only", "definition": \#(definition)}"#)
            let ownID = try #require(own.id)
            #expect(try await org["sh"].api.call(.get, "/api/v1/reports/\(ownID)").status == .notFound)
            #expect(try await org["sh"].api.call(.put, "/api/v1/reports/\(ownID)/pin").status == .notFound)
            #expect(try await org["sh"].api.call(.get, "/api/v1/reports").json["reports"]?.asArray?.map { $0["name"]?.stringValue ?? "" } == ["Deals by owner"])

            // A field hidden from a role cannot be grouped or measured by its members.
            #expect(try await org.admin.call(.post, "/api/v1/admin/roles", json: PermissionTests.clerkRole).status == .created)
            let clerk = try await PermissionFixtures.member(org, "clerk", department: org.departments["East"], roles: ["deal_clerk"])
            let secret = try await Self.run(clerk.api, #"{"entity": "x_deal", "group_by": [{"field": "x_stage"}], "measures": [{"fn": "sum", "field": "x_secret"}]}"#)
            #expect(secret.status == .badRequest && secret.errorField == "x_secret", "\(secret.text)")
            let grouped = try await Self.run(clerk.api, #"{"entity": "x_deal", "group_by": [{"field": "x_secret"}]}"#)
            #expect(grouped.status == .badRequest && grouped.errorField == "x_secret", "\(grouped.text)")
            #expect(try await Self.run(org.admin, #"{"entity": "x_deal", "group_by": [{"field": "x_secret"}]}"#).status == .ok)
        }
    }

    @Test func everyReadyMadeReportRunsAndFillsTheDefaultDashboardUntilReportsArePinned() async throws {
        let shipped = BuiltInModules.all.flatMap(\.reports)
        #expect(shipped.count >= 5 && Set(shipped.map(\.key)).count == shipped.count, "keys are unique")
        try await F.withTenant("report-ready") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            for report in shipped {
                let definition = try #require(report.definition, "\(report.key) does not parse")
                let run = try await api.call(.post, "/api/v1/reports/run", json: definition.json.jsonText)
                #expect(run.status == .ok, "\(report.key): \(run.text)")
            }
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            // Nothing pinned: the administrator's default dashboard is the ready-made reports naming the role.
            let home = String(buffer: try await browser.send(.get, "/").body)
            let mine = shipped.filter { $0.roles.contains("administrator") }.prefix(Reports.maxPins)
            for report in mine {
                #expect(home.contains("href=\"/app/reports/ready/\(report.key)\""), "\(report.key) is not on the default dashboard")
            }
            #expect(!home.contains("/app/reports/ready/expenses.by_month"), "a finance-only report is not on the administrator's dashboard")
            let list = String(buffer: try await browser.send(.get, "/app/reports").body)
            #expect(list.contains("data-testid=\"ready-reports\"") && list.contains("/app/reports/ready/expenses.by_month"), "everyone may open every ready-made report")
            let ready = try await browser.send(.get, "/app/reports/ready/sales.pipeline_by_stage")
            let readyHTML = String(buffer: ready.body)
            #expect(ready.status == .ok && readyHTML.contains("data-testid=\"save-copy\"") && !readyHTML.contains("data-testid=\"pin\""))
            #expect(try await browser.send(.get, "/app/reports/ready/sales.nothing").status == .notFound)
            let csrf = try #require(BrowserSession.csrfToken(in: readyHTML))
            let copied = try await browser.send(.post, "/app/reports/ready/sales.pipeline_by_stage", form: ["_csrf": csrf])
            #expect(copied.status == .seeOther)
            let copy = try #require(copied.headers[.location]?.split(separator: "/").last.map(String.init))
            #expect(try await api.call(.get, "/api/v1/reports/\(copy)").json["report"]?["name"]?.stringValue == "Pipeline by stage")
            // Pinning one replaces the default dashboard with the user's own.
            #expect(try await api.call(.put, "/api/v1/reports/\(copy)/pin").status == .noContent)
            let own = String(buffer: try await browser.send(.get, "/").body)
            #expect(own.contains("href=\"/app/reports/\(copy)\"") && !own.contains("/app/reports/ready/"), "\(own)")
        }
    }

    @Test func theReportPageDrawsAChartThatDrillsDownAndExportsASheet() async throws {
        try await F.withTenant("report-page") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await Self.seed(api)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let form = try await browser.send(.get, "/app/reports/new?entity=x_project")
            let formHTML = String(buffer: form.body)
            #expect(form.status == .ok && formHTML.contains("name=\"group1\""), "\(formHTML.prefix(400))")
            let csrf = try #require(BrowserSession.csrfToken(in: formHTML))
            let refused = try await browser.send(.post, "/app/reports", form: [
                "_csrf": csrf, "entity": "x_project", "name": "Budget by stage", "group1": "x_stage", "fn": "sum", "measure_field": "", "chart": "bar",
            ])
            #expect(refused.status == .unprocessableContent && String(buffer: refused.body).contains("measures.0.field"))
            let saved = try await browser.send(.post, "/app/reports", form: [
                "_csrf": csrf, "entity": "x_project", "name": "Budget <by> stage", "group1": "x_stage", "fn": "sum", "measure_field": "x_budget",
                "chart": "bar", "sort": "-value", "shared": "1",
            ])
            #expect(saved.status == .seeOther, "\(String(buffer: saved.body).prefix(300))")
            let location = try #require(saved.headers[.location])
            let page = String(buffer: try await browser.send(.get, location).body)
            #expect(page.contains("<svg class=\"report-chart\""), "the page has a chart")
            #expect(page.contains("Budget &lt;by&gt; stage") && !page.contains("Budget <by> stage"), "the name is escaped")
            #expect(page.contains("/app/x_project?f0=x_stage&amp;op0=eq&amp;v0=build"), "a bar links to its records")
            #expect(page.contains("¥1,600.64"), "the total of the sums")
            let list = try await browser.send(.get, "/app/x_project?f0=x_stage&op0=eq&v0=build")
            #expect(String(buffer: list.body).contains("data-testid=\"total\">2<"), "the drill-down lists the group's 2 records")
            #expect(String(buffer: try await browser.send(.get, "/app/reports").body).contains("Budget &lt;by&gt; stage"))

            let id = String(location.split(separator: "/").last ?? "")
            // Pinned, it is on the home page with its chart; unpinned, it is gone.
            let home = String(buffer: try await browser.send(.get, "/").body)
            #expect(home.contains("data-testid=\"dashboard\"") && !home.contains("data-widget=\"Budget &lt;by&gt; stage\""), "not pinned yet")
            let pinned = try await browser.send(.post, "/app/reports/\(id)/pin", form: ["_csrf": csrf, "pin": "1"])
            #expect(pinned.status == .seeOther && pinned.headers[.location] == "/")
            let dashboard = String(buffer: try await browser.send(.get, "/").body)
            #expect(dashboard.contains("data-widget=\"Budget &lt;by&gt; stage\"") && dashboard.contains("<svg class=\"report-chart\""), "\(dashboard)")
            #expect(dashboard.contains("Σ ¥1,600.64"))
            #expect(try await browser.send(.post, "/app/reports/\(id)/pin", form: ["_csrf": csrf, "pin": "0"]).status == .seeOther)
            #expect(!String(buffer: try await browser.send(.get, "/").body).contains("data-widget=\"Budget &lt;by&gt; stage\""))
            // At most eight on a home page.
            for index in 0..<8 {
                let other = try await api.call(.post, "/api/v1/reports", json: #"{"name": "r\#(index)", "definition": {"entity": "x_project", "group_by": [{"field": "x_stage"}]}}"#)
                #expect(try await api.call(.put, "/api/v1/reports/\(try #require(other.id))/pin").status == .noContent)
            }
            let ninth = try await api.call(.put, "/api/v1/reports/\(id)/pin")
            #expect(ninth.status == .unprocessableContent && ninth.errorCode == "too_many_pins", "\(ninth.text)")

            let (status, _, bytes) = try await ExcelTests.raw(api, .get, "/api/v1/reports/\(id)/export?format=xlsx&lang=en")
            #expect(status == .ok)
            let rows = try XLSXReader.rows(bytes)
            // Largest sum first: Done, Build, Plan, then the project without a stage.
            #expect(rows == [["Stage", "Sum of Budget"], ["Done", "999.99"], ["Build", "300.35"], ["Plan", "300.30"], ["(none)", "0.00"], ["Σ", "1600.64"]], "\(rows)")
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import PostgresNIO
import Testing

/// Daily and weekly reports (日报/周报): the pre-fill equals the period's own data of the
/// author (a colleague's never), submitting tells the manager, the manager's comment tells the
/// author, the team view lists who has not submitted within the viewer's data scope, and a
/// salesperson cannot read a colleague's report.
@Suite struct WorkReportTests {
    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    /// A fixed past Wednesday (China time) and its week, Monday 2026-11-16 to Sunday 2026-11-22.
    static let day = "2026-11-18"

    static func log(_ api: RecordAPIClient, _ entity: String, _ id: String, _ subject: String, at: String, kind: String = "call") async throws -> String {
        try await api.createID("activity", body(["subject": .string(subject), "kind": .string(kind), "occurred_at": .string(at),
                                                 "related_entity": .string(entity), "related_id": .string(id)]))
    }

    static func prefill(_ api: RecordAPIClient, kind: String = "daily", date: String) async throws -> RecordAPIResponse {
        let response = try await api.call(.get, "/api/v1/work-reports/prefill?kind=\(kind)&date=\(date)")
        try #require(response.status == .ok, "\(response.text)")
        return response
    }

    static func section(_ response: RecordAPIResponse, _ key: String) -> [String]? {
        response.json["sections"]?.asArray?.first { $0["key"] == .string(key) }?["ids"]?.asArray?.compactMap(\.stringValue)
    }

    static func sectionKeys(_ response: RecordAPIResponse) -> [String] {
        response.json["sections"]?.asArray?.compactMap { $0["key"]?.stringValue } ?? []
    }

    static func notifications(_ api: RecordAPIClient) async throws -> [JSONValue] {
        let inbox = try await api.call(.get, "/api/v1/notifications")
        try #require(inbox.status == .ok, "\(inbox.text)")
        return inbox.json["notifications"]?.asArray ?? []
    }

    @Test func theReportIsPrefilledWithExactlyTheAuthorsDataOfTheDay() async throws {
        try await RecordFixtures.withTenant("report-prefill") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: nil, roles: ["salesperson"])
            let account = try await amy.api.createID("account", #"{"name": "北京华通科技有限公司"}"#)
            let bobs = try await bob.api.createID("account", #"{"name": "Bob's customer"}"#)
            // The day's bounds are China midnights: the first and last minute count, the minute before and after do not.
            let first = try await Self.log(amy.api, "account", account, "早上电话", at: "\(Self.day)T00:00:00+08:00")
            let last = try await Self.log(amy.api, "account", account, "晚上微信", at: "\(Self.day)T23:59:00+08:00", kind: "wechat")
            let dayBefore = try await Self.log(amy.api, "account", account, "day before", at: "2026-11-17T23:59:59+08:00")
            let dayAfter = try await Self.log(amy.api, "account", account, "day after", at: "2026-11-19T00:00:00+08:00")
            let lastWeek = try await Self.log(amy.api, "account", account, "last week", at: "2026-11-15T23:00:00+08:00")
            _ = try await Self.log(bob.api, "account", bobs, "Bob's call that day", at: "\(Self.day)T10:00:00+08:00")

            let daily = try await Self.prefill(amy.api, date: Self.day)
            #expect(daily.json["period_start"] == .string(Self.day))
            #expect(Self.section(daily, "activities") == [first, last], "\(daily.text)")
            #expect(Self.sectionKeys(daily) == ["activities", "tasks_completed", "leads", "opportunities", "orders", "receipts"])
            for key in ["tasks_completed", "leads", "opportunities", "orders", "receipts"] { #expect(Self.section(daily, key) == [], "\(key)") }
            let weekly = try await Self.prefill(amy.api, kind: "weekly", date: Self.day)
            #expect(weekly.json["period_start"] == "2026-11-16" && weekly.json["period_end"] == "2026-11-22")
            #expect(daily.json["period_end"] == .string(Self.day))
            #expect(Self.section(weekly, "activities") == [dayBefore, first, last, dayAfter])
            #expect(!(Self.section(weekly, "activities") ?? []).contains(lastWeek))

            // The report written for the day starts with the same summary; Bob's call is not in it.
            let summary = try #require(daily.json["summary"]?.stringValue)
            #expect(summary.contains("早上电话") && summary.contains("晚上微信") && !summary.contains("Bob") && !summary.contains("day before"))
            let report = try await amy.api.create("work_report", Self.body(["kind": "daily", "period_start": .string(Self.day)]))
            #expect(report["summary"] == .string(summary))
            #expect(report["status"] == "draft" && report["owner_id"] == .string(amy.id))
            // A weekly report's day is its week's Monday; one report per author, kind and period.
            let week = try await amy.api.create("work_report", Self.body(["kind": "weekly", "period_start": .string(Self.day)]))
            #expect(week["period_start"] == "2026-11-16")
            let again = try await amy.api.call(.post, "/api/v1/work_report", json: Self.body(["kind": "daily", "period_start": .string(Self.day)]))
            #expect(again.status == .conflict && again.errorField == "period_start", "\(again.text)")
            // Bob's report of the same day is his own data only.
            let bobsReport = try await bob.api.create("work_report", Self.body(["kind": "daily", "period_start": .string(Self.day)]))
            #expect(bobsReport["summary"]?.stringValue?.contains("Bob's call that day") == true)
            #expect(bobsReport["summary"]?.stringValue?.contains("早上电话") == false)
            // Nobody files a report in a colleague's name.
            let forged = try await admin.call(.post, "/api/v1/work_report", json: Self.body(["kind": "daily", "period_start": "2026-11-19", "owner_id": .string(amy.id)]))
            #expect(forged.status == .unprocessableContent && forged.errorField == "owner_id", "\(forged.text)")
        }
    }

    /// Today: the tasks Amy completed, the leads and opportunities she created; Bob's are not hers.
    @Test func todaysPrefillHasCompletedTasksAndNewSalesRecords() async throws {
        try await RecordFixtures.withTenant("report-today") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: nil, roles: ["salesperson"])
            let stages = try await SalesTests.stages(admin)
            let account = try await amy.api.createID("account", #"{"name": "Acme"}"#)
            let lead = try await amy.api.createID("lead", #"{"name": "张伟", "company": "华北物流"}"#)
            _ = try await bob.api.createID("lead", #"{"name": "Bob's lead"}"#)
            let opportunity = try await amy.api.createID("opportunity", Self.body([
                "name": "Acme CRM rollout", "account": .string(account), "amount": "250000", "close_date": "2027-01-15",
                "stage": .string(stages["Needs analysis"]!)]))
            let task = try await amy.api.createID("task", #"{"subject": "Send the proposal"}"#)
            _ = try await amy.api.createID("task", #"{"subject": "Still open"}"#)
            func finish(_ api: RecordAPIClient, _ id: String) async throws {
                // Version 2: a new task's assignee is filled in after its creation.
                let version = try #require(try await api.call(.get, "/api/v1/task/\(id)").version)
                let done = try await api.call(.patch, "/api/v1/task/\(id)", json: Self.body(["version": .number(Decimal(version)), "status": "done"]))
                #expect(done.status == .ok, "\(done.text)")
            }
            try await finish(amy.api, task)
            try await finish(bob.api, try await bob.api.createID("task", #"{"subject": "Bob's task"}"#))

            let today = try await Self.prefill(amy.api, date: ChinaCalendar.today())
            #expect(Self.section(today, "tasks_completed") == [task], "\(today.text)")
            #expect(Self.section(today, "leads") == [lead])
            #expect(Self.section(today, "opportunities") == [opportunity])
            #expect(Self.section(today, "activities") == [])
            let summary = today.json["summary"]?.stringValue ?? ""
            #expect(summary.contains("Send the proposal") && summary.contains("张伟") && summary.contains("Acme CRM rollout · 250000.00") && !summary.contains("Bob"), "\(summary)")
            #expect(!summary.contains("Still open"))
        }
    }

    /// Without the sales module the report has no sales sections, and is still written.
    @Test func withoutSalesThePrefillHasNoSalesSections() async throws {
        try await RecordFixtures.withTenant("report-nosales") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            #expect(try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "expenses"]).status == 0)
            let off = try AdminCLITests.admin(["tenant", "modules", tenant.info.slug, "--disable", "sales"])
            try #require(off.status == 0, "\(off.stderr)")
            try await admin.createObject(RecordFixtures.simpleObject("x_site"))
            let site = try await admin.createID("x_site", #"{"x_name": "Shenzhen plant"}"#)
            let visit = try await Self.log(admin, "x_site", site, "site visit", at: "\(Self.day)T09:00:00+08:00", kind: "visit")
            let daily = try await Self.prefill(admin, date: Self.day)
            #expect(Self.sectionKeys(daily) == ["activities", "tasks_completed"], "\(daily.text)")
            #expect(Self.section(daily, "activities") == [visit])
            let report = try await admin.create("work_report", Self.body(["kind": "daily", "period_start": .string(Self.day)]))
            #expect(report["summary"]?.stringValue?.contains("site visit") == true)
        }
    }

    @Test func submittingTellsTheManagerAndTheCommentTellsTheAuthor() async throws {
        try await RecordFixtures.withTenant("report-flow") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let sales = try await PermissionFixtures.department(admin, "华北销售部", parent: nil)
            let mia = try await PermissionFixtures.member(client, tenant, admin, "mia", department: sales, roles: ["sales_manager"])
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: sales, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: sales, roles: ["salesperson"])
            let managed = try await admin.call(.patch, "/api/v1/admin/users/\(amy.id)", json: Self.body(["manager_id": .string(mia.id)]))
            try #require(managed.status == .ok, "\(managed.text)")

            let report = try await amy.api.create("work_report", Self.body(["kind": "daily", "period_start": .string(ChinaCalendar.today()),
                                                                             "summary": "拜访两家客户", "next_plans": "明天准备方案"]))
            let id = try #require(report["id"]?.stringValue)
            #expect(report["summary"] == "拜访两家客户", "a summary given is kept")
            // The author cannot comment; a draft cannot be commented by the manager either.
            let selfComment = try await amy.api.call(.patch, "/api/v1/work_report/\(id)", json: #"{"version": 1, "manager_comment": "great"}"#)
            #expect(selfComment.status == .unprocessableContent && selfComment.errorField == "manager_comment", "\(selfComment.text)")
            let draftComment = try await mia.api.call(.post, "/api/v1/work-reports/\(id)/comment", json: #"{"comment": "too early"}"#)
            #expect(draftComment.status == .unprocessableContent && draftComment.errorField == "manager_comment", "\(draftComment.text)")
            #expect(try await Self.notifications(mia.api).isEmpty)
            // A colleague cannot read it (own scope), nor submit it.
            #expect(try await bob.api.call(.get, "/api/v1/work_report/\(id)").status == .notFound)
            #expect(try await bob.api.call(.post, "/api/v1/work-reports/\(id)/submit").status == .notFound)
            #expect(try await bob.api.count("work_report") == 0)

            let submitted = try await amy.api.call(.post, "/api/v1/work-reports/\(id)/submit")
            #expect(submitted.status == .ok, "\(submitted.text)")
            #expect(submitted.json["status"] == "submitted" && submitted.json["submitted_at"]?.stringValue?.isEmpty == false)
            let told = try await Self.notifications(mia.api)
            #expect(told.contains { $0["kind"] == "activities.report_submitted" && $0["record_id"] == .string(id) }, "\(told)")
            #expect(try await amy.api.call(.post, "/api/v1/work-reports/\(id)/submit").status == .conflict)
            // Submitted: the author's text is fixed; the manager cannot rewrite it.
            let version = try #require(submitted.json["version"]?.asInt)
            let edit = try await amy.api.call(.patch, "/api/v1/work_report/\(id)", json: Self.body(["version": .number(Decimal(version)), "summary": "changed"]))
            #expect(edit.status == .unprocessableContent && edit.errorField == "summary", "\(edit.text)")
            let rewrite = try await mia.api.call(.patch, "/api/v1/work_report/\(id)", json: Self.body(["version": .number(Decimal(version)), "summary": "rewritten"]))
            #expect(rewrite.status == .unprocessableContent && rewrite.errorField == "summary", "\(rewrite.text)")

            let commented = try await mia.api.call(.post, "/api/v1/work-reports/\(id)/comment", json: #"{"comment": "客户跟进及时，继续推进方案。"}"#)
            #expect(commented.status == .ok, "\(commented.text)")
            #expect(commented.json["status"] == "commented" && commented.json["commented_by"] == .string(mia.id))
            #expect(commented.json["manager_comment"] == "客户跟进及时，继续推进方案。" && commented.json["summary"] == "拜访两家客户")
            let authorTold = try await Self.notifications(amy.api)
            #expect(authorTold.contains { $0["kind"] == "activities.report_commented" && $0["record_id"] == .string(id) }, "\(authorTold)")
            let empty = try await mia.api.call(.post, "/api/v1/work-reports/\(id)/comment", json: #"{"comment": "  "}"#)
            #expect(empty.status == .unprocessableContent && empty.errorField == "comment")
        }
    }

    @Test func withoutAManagerTheDepartmentHeadIsTold() async throws {
        try await RecordFixtures.withTenant("report-head") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let company = try await PermissionFixtures.department(admin, "销售中心", parent: nil)
            let east = try await PermissionFixtures.department(admin, "华东销售部", parent: company)
            let chief = try await PermissionFixtures.member(client, tenant, admin, "chief", department: company, roles: ["sales_director"])
            let lead = try await PermissionFixtures.member(client, tenant, admin, "lead", department: east, roles: ["sales_manager"])
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            for (department, head) in [(company, chief.id), (east, lead.id)] {
                let set = try await admin.call(.patch, "/api/v1/admin/departments/\(department)", json: Self.body(["head_id": .string(head)]))
                try #require(set.status == .ok, "\(set.text)")
            }
            func submit(_ author: PermissionFixtures.Member, _ summary: String, day: Int = 0) async throws -> String {
                let report = try await author.api.create("work_report", Self.body(["kind": "daily", "period_start": .string(ChinaCalendar.day(day)),
                                                                                    "summary": .string(summary)]))
                let id = try #require(report["id"]?.stringValue)
                let submitted = try await author.api.call(.post, "/api/v1/work-reports/\(id)/submit")
                try #require(submitted.status == .ok, "\(submitted.text)")
                return id
            }
            func told(_ reader: PermissionFixtures.Member, _ id: String) async throws -> Bool {
                try await Self.notifications(reader.api).contains { $0["kind"] == "activities.report_submitted" && $0["record_id"] == .string(id) }
            }
            // Amy has no manager of her own: the head of her department reads her report.
            let hers = try await submit(amy, "拜访客户")
            #expect(try await told(lead, hers))
            #expect(try await told(chief, hers) == false)
            // The head of a department reports to the head of the department above.
            let his = try await submit(lead, "部门周计划")
            #expect(try await told(chief, his))
            #expect(try await told(lead, his) == false)
            // A deactivated head is skipped for the next one up.
            let off = try await admin.call(.patch, "/api/v1/admin/users/\(lead.id)", json: #"{"active": false}"#)
            try #require(off.status == .ok, "\(off.text)")
            let second = try await submit(amy, "第二份", day: -1)
            #expect(try await told(chief, second))
        }
    }

    @Test func theTeamViewListsWhoHasNotSubmittedWithinTheViewersScope() async throws {
        try await RecordFixtures.withTenant("report-team") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let north = try await PermissionFixtures.department(admin, "华北销售部", parent: nil)
            let beijing = try await PermissionFixtures.department(admin, "北京组", parent: north)
            let south = try await PermissionFixtures.department(admin, "华南销售部", parent: nil)
            let mia = try await PermissionFixtures.member(client, tenant, admin, "mia", department: north, roles: ["sales_manager"])
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: north, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: beijing, roles: ["salesperson"])
            let cat = try await PermissionFixtures.member(client, tenant, admin, "cat", department: beijing, roles: ["salesperson"])
            let dan = try await PermissionFixtures.member(client, tenant, admin, "dan", department: south, roles: ["salesperson"])
            let today = ChinaCalendar.today()
            for person in [amy, dan] {
                let id = try await person.api.createID("work_report", Self.body(["kind": "daily", "period_start": .string(today), "summary": "done"]))
                #expect(try await person.api.call(.post, "/api/v1/work-reports/\(id)/submit").status == .ok)
            }
            // Cat has a draft only: not submitted.
            _ = try await cat.api.createID("work_report", Self.body(["kind": "daily", "period_start": .string(today), "summary": "draft"]))

            let team = try await mia.api.call(.get, "/api/v1/work-reports/team?date=\(today)")
            #expect(team.status == .ok, "\(team.text)")
            let members = team.json["members"]?.asArray ?? []
            #expect(Set(members.strings("user_id")) == [amy.id, bob.id, cat.id], "her department tree, without Dan (south) and herself: \(team.text)")
            #expect(members.filter { $0["submitted"] == .bool(false) }.strings("user_id").sorted() == [bob.id, cat.id].sorted())
            #expect(members.first { $0["user_id"] == .string(cat.id) }?["status"] == "draft")
            #expect(members.first { $0["user_id"] == .string(bob.id) }?["status"] == "missing")
            #expect(team.json["submitted_count"]?.asInt == 1 && team.json["missing_count"]?.asInt == 2)
            // The administrator sees everyone; a salesperson only herself; the weekly view has nobody yet.
            let all = try await admin.call(.get, "/api/v1/work-reports/team?date=\(today)")
            let everyone = Set(all.json["members"]?.asArray?.strings("user_id") ?? [])
            #expect(everyone.isSuperset(of: [mia.id, amy.id, bob.id, cat.id, dan.id]), "\(all.text)")
            let own = try await bob.api.call(.get, "/api/v1/work-reports/team?date=\(today)")
            #expect(own.json["members"]?.asArray?.strings("user_id") == [bob.id], "\(own.text)")
            let weekly = try await mia.api.call(.get, "/api/v1/work-reports/team?kind=weekly&date=\(today)")
            #expect(weekly.json["submitted_count"]?.asInt == 0 && weekly.json["missing_count"]?.asInt == 3)
            #expect(try await mia.api.call(.get, "/api/v1/work-reports/team?kind=monthly").errorField == "kind")
            // The manager reads Amy's report (department tree); the page lists the missing ones.
            let reports = try await mia.api.call(.get, "/api/v1/work_report")
            #expect(Set(reports.records.compactMap { $0["owner_id"]?.stringValue }) == [amy.id, cat.id])
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenant.info.slug, email: mia.email, password: PermissionFixtures.password)
            let (status, page, _) = try await browser.get("/app/work-reports/team?date=\(today)")
            #expect(status == .ok)
            let missingSection = page.components(separatedBy: "data-testid=\"report-missing\"").last?
                .components(separatedBy: "data-testid=\"report-submitted\"").first ?? ""
            #expect(missingSection.contains("data-user=\"\(bob.id)\"") && missingSection.contains("data-user=\"\(cat.id)\""))
            #expect(!missingSection.contains("data-user=\"\(amy.id)\"") && !page.contains("data-user=\"\(dan.id)\""))
        }
    }
}

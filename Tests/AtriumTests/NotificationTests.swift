import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Testing

/// The in-app notification centre (issue 16, first part): approvals and shares notify the
/// people concerned in the transaction of the event, each inbox is its owner's alone, and the
/// top bar's bell counts what is unread.
@Suite struct NotificationTests {
    typealias Member = PermissionFixtures.Member

    static func inbox(_ who: Member, unread: Bool = false) async throws -> (unread: Int, items: [JSONValue]) {
        let response = try await who.api.call(.get, "/api/v1/notifications" + (unread ? "?unread=true" : ""))
        try #require(response.status == .ok, "\(response.text)")
        return (response.json["unread"]?.asInt ?? -1, response.json["notifications"]?.arrayValue ?? [])
    }

    @Test func anApprovalNotifiesItsApproversTheCopiedAndTheSubmitter() async throws {
        try await ApprovalTests.withOrg("note") { _, _, org in
            let claim = try await ApprovalTests.claim(org, org.emp, "Train to Shanghai", ["120.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)

            // The manager's task is waiting; the copied user hears of it; nobody else does.
            let manager = try await Self.inbox(org.mgr)
            #expect(manager.unread == 1)
            let assigned = try #require(manager.items.first)
            #expect(assigned["kind"] == .string("approval.task_assigned"))
            #expect(assigned["link"] == .string("/app/expense_claim/\(claim)"))
            #expect(assigned["text"]?.stringValue == "emp’s Expense claim “Train to Shanghai” is waiting for your approval.", "\(assigned)")
            #expect(try await Self.inbox(org.cc).items.map { $0["kind"] } == [.string("approval.cc")])
            #expect(try await Self.inbox(org.emp).items.isEmpty, "the submitter is not told of their own submission")
            #expect(try await Self.inbox(org.fin).items.isEmpty, "the finance step is not open yet")

            // Someone else's notification is as absent as a missing one.
            let id = try #require(assigned["id"]?.stringValue)
            let foreign = try await org.fin.api.call(.post, "/api/v1/notifications/\(id)/read")
            #expect(foreign.status == .notFound)
            #expect(foreign.errorCode == "notification_not_found")
            #expect(try await Self.inbox(org.mgr).unread == 1)

            let task = try #require(try await ApprovalTests.task(org.mgr, claim, for: org.mgr.id))
            #expect(try await ApprovalTests.decide(org.mgr, task, "approve").status == .ok)
            #expect(try await Self.inbox(org.fin).items.map { $0["kind"] } == [.string("approval.task_assigned")])
            #expect(try await Self.inbox(org.emp).items.isEmpty, "one step approved is not the outcome")
            let finance = try #require(try await ApprovalTests.task(org.fin, claim, for: org.fin.id))
            #expect(try await ApprovalTests.decide(org.fin, finance, "approve").status == .ok)
            let outcome = try await Self.inbox(org.emp)
            #expect(outcome.items.map { $0["kind"] } == [.string("approval.approved")])
            #expect(outcome.items.first?["text"]?.stringValue?.hasPrefix("fin approved your Expense claim") == true)

            // Marking read: one, then all; the count follows.
            let read = try await org.mgr.api.call(.post, "/api/v1/notifications/\(id)/read")
            #expect(read.status == .ok)
            #expect(read.json["read_at"]?.stringValue != nil)
            #expect(try await Self.inbox(org.mgr, unread: true).items.isEmpty)
            let all = try await org.cc.api.call(.post, "/api/v1/notifications/read-all")
            #expect(all.json["marked"]?.asInt == 1)
            #expect(try await Self.inbox(org.cc).unread == 0)
        }
    }

    @Test func aReturnedClaimTellsTheSubmitterAndARolledBackSubmissionTellsNobody() async throws {
        try await ApprovalTests.withOrg("noteret") { _, _, org in
            let claim = try await ApprovalTests.claim(org, org.emp, "Hotel", ["300.00"])
            #expect(try await ApprovalTests.submit(org.emp, claim).status == .created)
            let task = try #require(try await ApprovalTests.task(org.mgr, claim, for: org.mgr.id))
            #expect(try await ApprovalTests.decide(org.mgr, task, "return", comment: "add the invoice").status == .ok)
            #expect(try await Self.inbox(org.emp).items.map { $0["kind"] } == [.string("approval.returned")])

            // A claim without lines is refused at submission: nothing is written, nobody is told.
            let empty = try await org.emp.api.createID("expense_claim", #"{"title": "Nothing"}"#)
            #expect(try await ApprovalTests.submit(org.emp, empty).status == .unprocessableContent)
            #expect(try await Self.inbox(org.mgr).items.count == 1, "only the first claim's task")
        }
    }

    /// A share to a person tells them; the web inbox shows it, the bell counts it, opening it
    /// marks it read and lands on the record.
    @Test func aShareNotifiesThePersonAndTheBellCountsIt() async throws {
        try await RecordFixtures.withTenant("noteshare") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(RecordFixtures.projectObject)
            let project = try await admin.createID("x_project", #"{"x_name": "Harbour racking"}"#)
            let east = try await PermissionFixtures.department(admin, "East", parent: nil)
            let li = try await PermissionFixtures.member(client, tenant, admin, "li", department: east, roles: ["salesperson"])
            let shared = try await admin.call(.post, "/api/v1/x_project/\(project)/shares", json: #"{"kind": "user", "id": "\#(li.id)", "access": "read"}"#)
            #expect(shared.status == .created || shared.status == .ok, "\(shared.text)")
            let department = try await admin.call(.post, "/api/v1/x_project/\(project)/shares", json: #"{"kind": "department", "id": "\#(east)", "access": "read"}"#)
            #expect(department.status == .created || department.status == .ok, "\(department.text)")
            let items = try await Self.inbox(li).items
            #expect(items.map { $0["kind"] } == [.string("record.shared")], "a department share does not notify its members: \(items)")

            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: li.email, password: PermissionFixtures.password).status == .seeOther)
            let home = String(buffer: try await browser.send(.get, "/").body)
            #expect(home.contains(#"data-testid="unread-count">1<"#), "the bell shows one unread")
            let page = String(buffer: try await browser.send(.get, "/app/notifications").body)
            #expect(page.contains("shared Project “Harbour racking” with you"), "\(page.prefix(2000))")
            let id = try #require(items.first?["id"]?.stringValue)
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            let opened = try await browser.send(.post, "/app/notifications/\(id)/open", form: ["_csrf": csrf])
            #expect(opened.status == .seeOther)
            #expect(opened.headers[.location] == "/app/x_project/\(project)")
            let after = String(buffer: try await browser.send(.get, "/").body)
            #expect(!after.contains(#"data-testid="unread-count""#), "nothing unread any more")
            // Without the form token nothing is marked.
            #expect(try await browser.send(.post, "/app/notifications/read-all", form: [:]).status == .forbidden)
        }
    }

    @Test func everyNotificationKindHasATextInBothLanguages() throws {
        let root = TestEnvironment.packageRoot.appendingPathComponent("Sources/Platform/Resources/locales")
        for locale in ["en", "zh-CN"] {
            let json = try JSONValue.parse(String(contentsOf: root.appendingPathComponent("\(locale).json"), encoding: .utf8))
            let kinds = json["notifications"]?["kinds"]
            for kind in ["approval.task_assigned", "approval.approved", "approval.rejected", "approval.returned", "approval.cc", "record.shared"] {
                let parts = kind.split(separator: ".").map(String.init)
                #expect(kinds?[parts[0]]?[parts[1]]?.stringValue?.isEmpty == false, "\(locale) has no text for \(kind)")
            }
            #expect(json["errors"]?["notification_not_found"]?.stringValue != nil)
        }
    }
}

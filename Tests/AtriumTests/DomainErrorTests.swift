import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Modules
@testable import Platform
@testable import Tenancy
import Testing

/// Errors are typed per domain and mapped to HTTP once: every case of `ApprovalError`,
/// `AccessError` and `TenancyError` has a client status, a code of its own within its domain
/// and a text in both languages, and `ErrorMiddleware` answers one of them as
/// `{"error": {"code", "message", "field"}}`.
@Suite struct DomainErrorTests {
    /// Every domain's examples (one value or more per case), with the domain's name.
    static let domains: [(name: String, examples: [any DomainError])] = [
        ("ApprovalError", ApprovalError.examples),
        ("AccessError", AccessError.examples),
        ("TenancyError", TenancyError.examples),
        ("AttachmentError", AttachmentError.examples),
        ("CommentError", CommentError.examples),
        ("NotificationError", NotificationError.examples),
        ("WebhookError", WebhookError.examples),
        ("RobotError", RobotError.examples),
        ("AutomationError", AutomationError.examples),
    ]

    /// The enum case's name, without its associated values.
    static func caseName(_ error: any DomainError) -> String {
        Mirror(reflecting: error).children.first?.label ?? "\(error)"
    }

    @Test func everyCodeHasItsTextInBothLanguages() throws {
        let localizer = try Localizer(directory: PlatformResources.directory.appendingPathComponent("locales"),
                                      extra: [BuiltInModules.resources.appendingPathComponent("locales")])
        let en = localizer.keys("en"), zh = localizer.keys("zh-CN")
        for (name, examples) in Self.domains {
            for error in examples {
                #expect(error.localeKey == "errors.\(error.code)")
                let (inEnglish, inChinese) = (en.contains(error.localeKey), zh.contains(error.localeKey))
                #expect(inEnglish, "\(name).\(Self.caseName(error)): no \(error.localeKey) in en.json")
                #expect(inChinese, "\(name).\(Self.caseName(error)): no \(error.localeKey) in zh-CN.json")
                if let key = error.atriumError.messageKey.map({ "validation.\($0)" }) {
                    let both = en.contains(key) && zh.contains(key)
                    #expect(both, "\(name).\(Self.caseName(error)): no \(key) in both locale files")
                }
            }
        }
    }

    @Test func everyCaseIsAClientErrorOrAMeantUnavailable() {
        for (name, examples) in Self.domains {
            for error in examples {
                let status = Int(error.status.code)
                #expect((400..<500).contains(status) || (status == 503 && error.code == "export_failed"),
                        "\(name).\(Self.caseName(error)) is \(status)")
                #expect(!error.message.isEmpty && error.code.range(of: "^[a-z_]+$", options: .regularExpression) != nil, "\(name).\(Self.caseName(error))")
            }
        }
    }

    @Test func eachCodeBelongsToOneCaseOfItsDomain() {
        for (name, examples) in Self.domains {
            var codeOfCase: [String: String] = [:]
            var caseOfCode: [String: String] = [:]
            for error in examples {
                let caseName = Self.caseName(error)
                #expect(codeOfCase[caseName, default: error.code] == error.code, "\(name).\(caseName) gives two codes")
                #expect(caseOfCode[error.code, default: caseName] == caseName, "\(name): \(error.code) from \(caseName) and \(caseOfCode[error.code] ?? "")")
                codeOfCase[caseName] = error.code
                caseOfCode[error.code] = caseName
            }
            #expect(codeOfCase.count == caseOfCode.count, "\(name)")
        }
    }

    @Test func domainErrorsAreAbsentOnlyWhenNotFound() async throws {
        let absent: Int? = try await absentIfNotFound { throw ApprovalError.taskNotFound("x") }
        #expect(absent == nil)
        await #expect(throws: ApprovalError.notYourTask) {
            let _: Int? = try await absentIfNotFound { throw ApprovalError.notYourTask }
        }
        #expect(AtriumError(TenancyError.tenantNotFound("acme"))?.code == "tenant_not_found")
        #expect(AtriumError(CancellationError()) == nil)
    }

    @Test func middlewareAnswersADomainErrorAsJSONAndAsAPageInTheUsersLanguage() async throws {
        try await RecordFixtures.withTenant("derr") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let task = UUID().uuidString.lowercased()
            let missing = try await api.call(.post, "/api/v1/approvals/tasks/\(task)/approve", json: "{}")
            #expect(missing.status == .notFound)
            #expect(missing.json == .object(["error": .object(["code": .string("task_not_found"), "message": .string("no approval task \(task)")])]),
                    "\(missing.text)")
            let malformed = try await api.call(.post, "/api/v1/approvals/tasks/not-an-id/approve", json: "{}")
            #expect(malformed.status == .notFound && malformed.errorCode == "task_not_found" && malformed.errorMessage == "no approval task 'not-an-id'",
                    "\(malformed.text)")
            let decision = try await api.call(.post, "/api/v1/approvals/tasks/\(task)/sign", json: "{}")
            #expect(decision.status == .notFound && decision.errorCode == "not_found", "\(decision.text)")

            let page = try await client.execute(uri: "/", method: .get, headers: [
                TenantResolver.header: "no-such-tenant-derr", .accept: "text/html", .acceptLanguage: "zh-CN",
            ])
            #expect(page.status == .notFound)
            #expect(String(buffer: page.body).contains("该地址没有对应的公司"), "\(String(buffer: page.body))")
        }
    }
}

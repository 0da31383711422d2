import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Testing

/// `atrium-admin` run as a real subprocess against the test database.
@Suite struct AdminCLITests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The built `atrium-admin` sits next to the test runner in the build folder.
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("atrium-admin")
    }

    /// ``admin(_:environment:)`` on a thread of its own, for tests with a live server beside it:
    /// waiting on the test's thread held one of the cooperative pool's two threads, and the
    /// server then missed the test client's 20 s read timeout in a fresh-clone CI run.
    static func adminOffPool(_ arguments: [String]) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try admin(arguments) }) }
        }
    }

    static func admin(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["ATRIUM_ARGON2_MEMORY_KIB"] = "1024"
        env["ATRIUM_ARGON2_ITERATIONS"] = "1"
        env["ATRIUM_PLUGINS"] = TestEnvironment.packageRoot.appendingPathComponent("plugins.json").path
        env["ATRIUM_FILES_DIR"] = TestEnvironment.filesDirectory.path  // the servers' file store in tests
        env.merge(extra) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func tenantLifecycleCreateLoginSuspendResume() async throws {
        _ = try await TestEnvironment.ready()
        let slug = TestEnvironment.uniqueSlug("cli")
        let created = try await Self.adminOffPool(["tenant", "create", "--slug", slug, "--name", "CLI 测试", "--admin-email", "Boss@\(slug).test", "--locale", "en"])
        #expect(created.status == 0, "\(created.stderr)")
        let password = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("password: ") }?
            .dropFirst("password: ".count).split(separator: " ").first.map(String.init))
        #expect(created.stdout.contains("administrator: boss@\(slug).test"))

        let listed = try await Self.adminOffPool(["tenant", "list", "--json"])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("\"slug\" : \"\(slug)\""))

        let duplicate = try await Self.adminOffPool(["tenant", "create", "--slug", slug, "--name", "Again", "--admin-email", "x@\(slug).test"])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr == "atrium-admin: tenant slug '\(slug)' is already taken\n")

        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: slug)
            #expect(try await browser.login(email: "boss@\(slug).test", password: password).status == .seeOther)

            let suspended = try await Self.adminOffPool(["tenant", "suspend", slug])
            #expect(suspended.status == 0)
            #expect(suspended.stdout.contains("is now suspended"))
            var other = BrowserSession(client: client, tenant: slug)
            let refused = try await other.send(.get, "/login")
            #expect(refused.status == .forbidden)
            #expect(String(buffer: refused.body).contains("This company&#39;s workspace is suspended") || String(buffer: refused.body).contains("workspace is suspended"))
            // Suspension also ended the existing session.
            #expect(try await browser.send(.get, "/api/v1/me").status == .forbidden)

            #expect(try await Self.adminOffPool(["tenant", "resume", slug]).status == 0)
            var again = BrowserSession(client: client, tenant: slug)
            #expect(try await again.login(email: "boss@\(slug).test", password: password).status == .seeOther)
            #expect(try await browser.send(.get, "/api/v1/me").status == .unauthorized)
        }

        let shown = try await Self.adminOffPool(["tenant", "show", slug, "--json"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("\"users\" : 1"))
        #expect(shown.stdout.contains("\"status\" : \"active\""))
    }

    @Test func badInputFailsWithAOneLineReasonAndWritesNothing() async throws {
        _ = try await TestEnvironment.ready()
        let slug = TestEnvironment.uniqueSlug("bad")
        let badEmail = try Self.admin(["tenant", "create", "--slug", slug, "--name", "X", "--admin-email", "not-an-email"])
        #expect(badEmail.status == 1)
        #expect(badEmail.stderr == "atrium-admin: admin-email 'not-an-email' is not an email address\n")
        let badSlug = try Self.admin(["tenant", "create", "--slug", "Bad_Slug", "--name", "X", "--admin-email", "a@b.test"])
        #expect(badSlug.status == 1)
        #expect(badSlug.stderr.contains("slug 'Bad_Slug' must be"))
        let badPlan = try Self.admin(["tenant", "create", "--slug", slug, "--name", "X", "--admin-email", "a@b.test", "--plan", "gold"])
        #expect(badPlan.status == 1)
        #expect(badPlan.stderr.contains("plan 'gold' is not a plan"))
        let shown = try Self.admin(["tenant", "show", slug])
        #expect(shown.status == 1)
        #expect(shown.stderr == "atrium-admin: no tenant '\(slug)'\n")
    }

    @Test func missingDatabaseIsAClearError() throws {
        let unset = try Self.admin(["tenant", "list"], environment: ["DATABASE_OWNER_URL": ""])
        #expect(unset.status == 1)
        #expect(unset.stderr.contains("DATABASE_OWNER_URL is not set"))
        let refused = try Self.admin(["tenant", "list", "--database-url", "postgres://nobody:x@127.0.0.1:1/atrium"])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("atrium-admin: cannot connect to the database at nobody@127.0.0.1:1/atrium"))
        #expect(!refused.stderr.contains(":x@"))  // no password in messages
    }

    @Test func userCreateAndResetPassword() async throws {
        let tenant = try await TestEnvironment.provisionTenant("users")
        let slug = tenant.info.slug
        let created = try Self.admin(["user", "create", "--tenant", slug, "--email", "li.lei@\(slug).test", "--name", "李雷", "--password", "First-pass-1"])
        #expect(created.status == 0, "\(created.stderr)")
        let duplicate = try Self.admin(["user", "create", "--tenant", slug, "--email", "li.lei@\(slug).test", "--name", "李雷"])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
        let short = try Self.admin(["user", "reset-password", "--tenant", slug, "--email", "li.lei@\(slug).test", "--password", "short"])
        #expect(short.status == 1)
        #expect(short.stderr.contains("password must be at least 8 characters"))
        let reset = try Self.admin(["user", "reset-password", "--tenant", slug, "--email", "li.lei@\(slug).test", "--password", "Second-pass-2"])
        #expect(reset.status == 0)
        try await TestEnvironment.withLiveApp { client in
            var browser = BrowserSession(client: client, tenant: slug)
            let old = try await browser.login(email: "li.lei@\(slug).test", password: "First-pass-1")
            #expect(old.status == .unauthorized)
            let new = try await browser.login(email: "li.lei@\(slug).test", password: "Second-pass-2")
            #expect(new.status == .seeOther)
        }
    }
}

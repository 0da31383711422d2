import Foundation
import HummingbirdTesting
import Platform
import Tenancy
import Testing

/// `atrium-admin` as a remote client: the real binary, run as a subprocess with `--url` and a
/// real admin token against the real server listening on a port.
@Suite struct AdminRemoteCLITests {
    /// Runs the binary on a Dispatch thread, so the live server's handlers keep the Swift
    /// concurrency threads while the test waits for the subprocess.
    static func admin(_ arguments: [String], environment: [String: String] = [:]) async throws -> AdminCLITests.Run {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try AdminCLITests.admin(arguments, environment: environment) })
            }
        }
    }

    static func remote(_ url: String, _ token: String) -> [String] { ["--url", url, "--token", token] }

    @Test func operatorAndResellerEndToEnd() async throws {
        let op = try await AdminAPITests.token(.operator, name: "cli e2e")
        let reseller = try await AdminAPITests.reseller(maxTenants: 1)
        let slug = TestEnvironment.uniqueSlug("rcli")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        try await TestEnvironment.withLiveApp { client in
            let url = "http://127.0.0.1:\(try #require(client.port))"
            // Global options may also stand before the subcommand.
            let created = try await Self.admin(Self.remote(url, op.secret) + ["tenant", "create", "--slug", slug, "--name", "远程 测试",
                                                                              "--admin-email", "boss@\(slug).test", "--locale", "en"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("created tenant \(slug) (远程 测试), plan trial"))
            #expect(created.stdout.contains("password: "))

            let table = try await Self.admin(["tenant", "list"] + Self.remote(url, op.secret))
            #expect(table.status == 0, "\(table.stderr)")
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("SLUG") == true)
            let row = try #require(lines.first { $0.hasPrefix(slug + " ") })
            // Aligned: the NAME column starts at the same place in the header and in the row.
            let header = String(lines[0])
            let nameColumn = header.distance(from: header.startIndex, to: try #require(header.range(of: "NAME")).lowerBound)
            #expect(row.prefix(while: { $0 != "远" }).count == nameColumn)

            let json = try await Self.admin(["tenant", "list", "--json"] + Self.remote(url, op.secret))
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            #expect(parsed.contains { $0["slug"] as? String == slug && $0["status"] as? String == "active" })

            let invited = try await Self.admin(["user", "invite", "--tenant", slug, "--email", "han.meimei@\(slug).test", "--name", "韩梅梅"] + Self.remote(url, op.secret))
            #expect(invited.status == 0, "\(invited.stderr)")
            let password = try #require(invited.stdout.split(separator: "\n").first { $0.hasPrefix("password: ") }?
                .dropFirst("password: ".count).split(separator: " ").first.map(String.init))
            var browser = BrowserSession(client: client, tenant: slug)
            #expect(try await browser.login(email: "han.meimei@\(slug).test", password: password).status == .seeOther)

            let shown = try await Self.admin(["tenant", "show", slug, "--json"] + Self.remote(url, op.secret))
            #expect(shown.stdout.contains("\"users\" : 2"))

            let archive = folder.appendingPathComponent("\(slug).jsonl").path
            let exported = try await Self.admin(["tenant", "export", slug, "-o", archive] + Self.remote(url, op.secret))
            #expect(exported.status == 0, "\(exported.stderr)")
            #expect(exported.stderr.contains("exporting \(slug):") && exported.stderr.contains("bytes"))
            let size = try #require(try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int)
            #expect(exported.stdout.contains("\(size) bytes"))
            #expect(exported.stderr.contains("(\(size) bytes)"))
            #expect(try String(contentsOfFile: archive, encoding: .utf8).contains(#""format":"atrium-tenant-archive""#))
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: archive)[.posixPermissions] as? Int)
            #expect(mode == 0o600)

            let copy = TestEnvironment.uniqueSlug("rcopy")
            let imported = try await Self.admin(["tenant", "import", archive, "--slug", copy] + Self.remote(url, op.secret))
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stderr.contains("importing \(copy):"))
            #expect(imported.stdout.hasPrefix("imported tenant \(copy):"))

            // The reseller: its first tenant fits, the second is over its quota of one.
            let first = try await Self.admin(["tenant", "create", "--slug", TestEnvironment.uniqueSlug("rq"), "--name", "R1",
                                              "--admin-email", "a@r1.test"] + Self.remote(url, reseller.token.secret))
            #expect(first.status == 0, "\(first.stderr)")
            let over = try await Self.admin(["tenant", "create", "--slug", TestEnvironment.uniqueSlug("rq"), "--name", "R2",
                                             "--admin-email", "a@r2.test"] + Self.remote(url, reseller.token.secret))
            #expect(over.status == 1)
            #expect(over.stderr == "atrium-admin: reseller '\(reseller.slug)' may have 1 tenants (max_tenants) and has 1; delete one or ask the operator to raise the quota\n")
            let foreign = try await Self.admin(["tenant", "suspend", slug] + Self.remote(url, reseller.token.secret))
            #expect(foreign.status == 1 && foreign.stderr == "atrium-admin: no tenant '\(slug)'\n")
            let resellers = try await Self.admin(["reseller", "list"] + Self.remote(url, reseller.token.secret))
            #expect(resellers.status == 1 && resellers.stderr.hasPrefix("atrium-admin: reseller.list needs an operator token"))

            // Login saves a private profile that later commands use.
            let config = folder.appendingPathComponent("config").path
            let env = ["XDG_CONFIG_HOME": config, "DATABASE_OWNER_URL": "", "ATRIUM_ADMIN_URL": "", "ATRIUM_ADMIN_TOKEN": ""]
            let login = try await Self.admin(["login", "--url", url, "--token", reseller.token.secret], environment: env)
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout.contains("as reseller \(reseller.slug)"))
            let profile = config + "/atrium/admin.json"
            #expect(try FileManager.default.attributesOfItem(atPath: profile)[.posixPermissions] as? Int == 0o600)
            let mine = try await Self.admin(["tenant", "list", "--json"], environment: env)
            #expect(mine.status == 0, "\(mine.stderr)")
            #expect((try JSONSerialization.jsonObject(with: Data(mine.stdout.utf8)) as? [Any])?.count == 1)
            let badLogin = try await Self.admin(["login", "--url", url, "--token", "atradm_wrong"], environment: env)
            #expect(badLogin.status == 1 && badLogin.stderr.hasPrefix("atrium-admin: send a valid admin token"))

            // Revoked: the next call is refused with the server's reason.
            let revoked = try await Self.admin(["token", "revoke", op.id.uuidString])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            let refused = try await Self.admin(["tenant", "list"] + Self.remote(url, op.secret))
            #expect(refused.status == 1 && refused.stderr.hasPrefix("atrium-admin: send a valid admin token"))
        }
        let unreachable = try await Self.admin(["tenant", "list", "--url", "http://127.0.0.1:1", "--token", "atradm_x"])
        #expect(unreachable.status == 1 && unreachable.stderr.hasPrefix("atrium-admin: cannot reach http://127.0.0.1:1"))
        #expect(unreachable.stderr.split(separator: "\n").count == 1)
    }

    @Test func tokenCommandsCreateListAndRevoke() async throws {
        let reseller = try await AdminAPITests.reseller()
        let created = try await Self.admin(["token", "create", "--reseller", reseller.slug, "partner laptop", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let secret = try #require(object["secret"] as? String)
        let id = try #require((object["token"] as? [String: Any])?["id"] as? String)
        #expect(secret.hasPrefix("atradm_"))
        let listed = try await Self.admin(["token", "list"])
        #expect(listed.stdout.contains(id.lowercased()) && listed.stdout.contains("partner laptop") && !listed.stdout.contains(secret))
        let both = try await Self.admin(["token", "create", "--operator", "--reseller", reseller.slug, "x"])
        #expect(both.status == 1 && both.stderr.contains("exactly one of --operator or --reseller"))
        let noSuch = try await Self.admin(["token", "create", "--reseller", "no-such-reseller", "x"])
        #expect(noSuch.status == 1 && noSuch.stderr == "atrium-admin: no reseller 'no-such-reseller'\n")
        #expect(try await Self.admin(["token", "revoke", id]).status == 0)
        let again = try await Self.admin(["token", "revoke", id])
        #expect(again.status == 1 && again.stderr.contains("no active admin token"))
        let remoteOnly = try await Self.admin(["token", "list", "--url", "http://127.0.0.1:1"])
        #expect(remoteOnly.status == 1 && remoteOnly.stderr.contains("works on the database only"))
    }
}

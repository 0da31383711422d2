import AtriumApp
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Platform
import Tenancy
import Testing

/// The database goes away and comes back while the server runs (issue 23, finding 1): the app
/// reaches the real test cluster through a TCP forwarder (`Tests/support/tcp_forward.py`);
/// killing the forwarder drops every connection and refuses new ones, as a stopped or
/// unreachable PostgreSQL does; starting it again restores the path.
@Suite(.serialized) struct DatabaseOutageTests {
    final class Forwarder: @unchecked Sendable {
        let port: Int
        let target: Int
        var process: Process?

        init(target: Int) throws {
            self.target = target
            let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) } }
            port = Int(UInt16(bigEndian: address.sin_port))
            close(probe)
        }

        func start() throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", TestEnvironment.packageRoot.appendingPathComponent("Tests/support/tcp_forward.py").path, "\(port)", "\(target)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            // "ready": listening.
            guard let ready = HelperOutput.first(output, of: process), !ready.isEmpty else {
                throw ForwarderFailure(description: "tcp_forward.py printed nothing within 30 s")
            }
            self.process = process
        }

        /// Kills the forwarder (no blocking wait: `waitUntilExit` would hold one of the few
        /// cooperative threads) and waits until its port refuses connections.
        func stop() async {
            guard let process else { return }
            kill(process.processIdentifier, SIGKILL)
            self.process = nil
            for _ in 0..<100 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        deinit {
            if let process { kill(process.processIdentifier, SIGKILL) }
        }
    }

    struct ForwarderFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func timed(_ body: () async throws -> TestResponse) async throws -> (TestResponse, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await body()
        return (response, clock.now - start)
    }

    @Test func requestsAnswer503QuicklyWhileTheDatabaseIsAwayAndWorkAgainWhenItReturns() async throws {
        let tenant = try await TestEnvironment.provisionTenant("outage")
        var config = try await TestEnvironment.ready()
        let forwarder = try Forwarder(target: config.databaseURL.port)
        config.databaseURL.port = forwarder.port
        config.databaseAcquireTimeout = .seconds(1)
        config.databaseConnectTimeout = .seconds(1)
        config.migrateOnStart = false
        // A server cannot start without its database: the start-up check gives up quickly.
        let clock = ContinuousClock()
        let started = clock.now
        let away = Database(url: config.databaseURL, poolSize: 2, connectTimeout: .seconds(1), acquireTimeout: .seconds(1), logger: TestEnvironment.logger)
        await #expect(throws: (any Error).self) {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await away.client.run() }
                defer { group.cancelAll() }
                try await AtriumHost.checkApplicationRole(database: away, logger: TestEnvironment.logger)
            }
        }
        #expect(clock.now - started < .seconds(10), "the start-up check took \(clock.now - started)")

        // The server starts with the database there, then loses it.
        try forwarder.start()
        let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
        let slug = tenant.info.slug
        try await app.test(.live) { client in
            // 1. The database goes away: its connections drop, new ones are refused.
            try await Self.waitUntilReady(client, within: .seconds(30))
            await forwarder.stop()
            let (ready, readyTime) = try await Self.timed { try await client.execute(uri: "/readyz", method: .get) }
            #expect(ready.status == .serviceUnavailable)
            #expect(readyTime < .seconds(5), "/readyz took \(readyTime)")
            let (api, apiTime) = try await Self.timed {
                try await client.execute(uri: "/api/v1/me", method: .get, headers: [TenantResolver.header: slug, .accept: "application/json"])
            }
            #expect(api.status == .serviceUnavailable)
            #expect(api.headers[.retryAfter] == "5")
            #expect(String(buffer: api.body).contains("database_unavailable"), "\(String(buffer: api.body))")
            #expect(apiTime < .seconds(8), "the API took \(apiTime)")
            let page = try await client.execute(uri: "/login", method: .get, headers: [TenantResolver.header: slug, .acceptLanguage: "zh-CN"])
            #expect(page.status == .serviceUnavailable)
            #expect(String(buffer: page.body).contains("暂时无法使用"), "a localized 503 page")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok, "the process itself is alive")
            print("database away: /readyz answered 503 in \(readyTime), an API call in \(apiTime)")

            // 2. The database comes back: the pool reconnects by itself.
            try forwarder.start()
            try await Self.waitUntilReady(client, within: .seconds(60))
            let api2 = try await RecordAPIClient.admin(client, tenant)
            #expect(try await api2.call(.get, "/api/v1/me").status == .ok)

            // 3. It goes away under way: pooled connections drop; calls fail fast, not hang.
            await forwarder.stop()
            let (down, downTime) = try await Self.timed {
                try await client.execute(uri: "/api/v1/me", method: .get, headers: [
                    .authorization: "Bearer \(api2.token)", TenantResolver.header: slug, .accept: "application/json"])
            }
            #expect(down.status == .serviceUnavailable, "\(down.status) \(String(buffer: down.body))")
            #expect(downTime < .seconds(8), "took \(downTime)")
            print("database dropped under way: an API call answered \(down.status.code) in \(downTime)")

            // 4. And back again, with the same token (sessions and tokens live in the database).
            try forwarder.start()
            try await Self.waitUntilReady(client, within: .seconds(60))
            #expect(try await api2.call(.get, "/api/v1/me").status == .ok)
        }
        await forwarder.stop()
    }

    static func waitUntilReady(_ client: any TestClientProtocol, within limit: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            if try await client.execute(uri: "/readyz", method: .get).status == .ok { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("/readyz did not become ready within \(limit) after the database came back")
        throw CancellationError()
    }
}

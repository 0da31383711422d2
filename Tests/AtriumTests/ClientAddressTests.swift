import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Platform
import AtriumApp
import PostgresNIO
import Testing

/// The client address behind a trusted reverse proxy: X-Forwarded-For is believed only from a
/// configured proxy, read right to left, and never lets a client pick its own address.
@Suite struct ClientAddressTests {
    @Test func forwardedForIsReadOnlyFromTrustedProxiesRightToLeft() {
        let trusted: Set<String> = ["127.0.0.1", "::1", "10.0.0.2"]
        // Not from a proxy: the header is ignored.
        #expect(ClientAddress.resolve(peer: "198.51.100.7", forwardedFor: ["1.2.3.4"], trusted: trusted) == "198.51.100.7")
        // nginx on the host: the address it wrote.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["203.0.113.9"], trusted: trusted) == "203.0.113.9")
        // A spoofed left part is skipped: the rightmost untrusted hop is the client.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 203.0.113.9, 10.0.0.2"], trusted: trusted) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: ["2001:db8::5"], trusted: trusted) == "2001:db8::5")
        // Garbage ends the walk at the last trusted hop; no header keeps the peer.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["<script>, 10.0.0.2"], trusted: trusted) == "10.0.0.2")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: [], trusted: trusted) == "127.0.0.1")
    }

    @Test func aBadProxyListIsAConfigurationErrorNamingTheVariable() throws {
        var env = ["DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db", "ATRIUM_TRUSTED_PROXIES": "127.0.0.1, nginx.local"]
        do {
            _ = try AtriumConfiguration(environment: env)
            Issue.record("a host name was accepted as a proxy address")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("ATRIUM_TRUSTED_PROXIES") && error.description.contains("nginx.local"))
        }
        env["ATRIUM_TRUSTED_PROXIES"] = "127.0.0.1, ::1"
        #expect(try AtriumConfiguration(environment: env).trustedProxies == ["127.0.0.1", "::1"])
    }

    /// The audit entry of a write records the forwarded address only when the proxy is trusted.
    @Test func theAuditLogSeesTheForwardedClientOnlyBehindATrustedProxy() async throws {
        let tenant = try await TestEnvironment.provisionTenant("xff")
        for trust in [false, true] {
            var config = try await TestEnvironment.ready()
            config.databasePoolSize = 2
            if trust { config.trustedProxies = ["127.0.0.1", "::1"] }
            let app = try await AtriumHost.buildApplication(configuration: config, logger: TestEnvironment.logger)
            try await app.test(.live) { client in
                let api = try await RecordAPIClient.admin(client, tenant)
                let name = "xff-\(trust)"
                let created = try await api.send(.post, "/api/v1/account", body: #"{"name": "\#(name)"}"#, contentType: "application/json",
                                                 headers: [HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"])
                try #require(created.status == .created, "\(created.text)")
                let id = try #require(created.id)
                let ip = try await TestEnvironment.withAppRole { connection in
                    try await connection.inTenantTransaction(tenant.info.id, logger: TestEnvironment.logger) { connection in
                        try await connection.query("SELECT ip FROM audit_log WHERE record_id = \(id) AND action = 'record.created'",
                                                   logger: TestEnvironment.logger).collect().first?.decode(String?.self)
                    }
                }
                if trust {
                    #expect(ip == "203.0.113.9")
                } else {
                    #expect(ip != "203.0.113.9" && ip != nil, "untrusted: the socket's address, got \(ip ?? "nil")")
                }
            }
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Testing

/// API-token calls are rate-limited per token and per tenant (issue 23, abuse limits); browser
/// sessions are not. The server runs with small limits so a short burst crosses them.
@Suite struct RateLimitTests {
    @Test func aTokenOverItsRateGets429WithRetryAfterWhileOthersGoOn() async throws {
        try await RecordFixtures.withTenants(prefixes: ["rate-a", "rate-b"], configure: { config in
            config.apiRateLimits.enabled = true
            config.apiRateLimits.perToken = 2      // a burst of 4, then 2 per second
            config.apiRateLimits.perTenant = 1000
        }) { client, tenants in
            let a = try await RecordAPIClient.admin(client, tenants[0])
            // Ten calls at once (not one after another: on a loaded machine slow calls would let
            // the bucket refill between them and the test would measure the machine).
            let responses = try await Self.atOnce(10) { _ in try await a.call(.get, "/api/v1/me") }
            let statuses = responses.map(\.status)
            #expect(statuses.filter { $0 == .ok }.count >= 4, "the burst is allowed: \(statuses)")
            let limited = try #require(responses.first { $0.status == .tooManyRequests }, "10 calls at once must cross 2/s with a burst of 4: \(statuses)")
            #expect(limited.errorCode == "rate_limited")
            #expect(limited.errorMessage.contains("2 requests per second"), "\(limited.text)")
            let retry = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...2).contains(retry), "Retry-After \(retry)")

            // Another tenant's token, and the same user in the browser, are not affected.
            let b = try await RecordAPIClient.admin(client, tenants[1])
            #expect(try await b.call(.get, "/api/v1/me").status == .ok)
            var browser = try await WebAppTests.Browser.signIn(client, slug: tenants[0].info.slug, email: tenants[0].adminEmail, password: tenants[0].password)
            for _ in 0..<6 { #expect(try await browser.get("/api/v1/me").0 == .ok) }

            // The bucket refills: after the wait the token works again.
            try await Task.sleep(for: .seconds(retry))
            #expect(try await a.call(.get, "/api/v1/me").status == .ok)
        }
    }

    @Test func aTenantOverItsPlanRateGets429AcrossItsTokens() async throws {
        try await RecordFixtures.withTenants(prefixes: ["rate-t"], configure: { config in
            config.apiRateLimits.enabled = true
            config.apiRateLimits.perToken = 1000
            config.apiRateLimits.perTenant = 1     // a burst of 2 over every token of the company: 12 calls would have to take 10 s to pass
        }) { client, tenants in
            let first = try await RecordAPIClient.admin(client, tenants[0])
            let second = try await RecordAPIClient.admin(client, tenants[0])
            let statuses = try await Self.atOnce(12) { index in try await (index % 2 == 0 ? first : second).call(.get, "/api/v1/me") }.map(\.status)
            #expect(statuses.contains(.tooManyRequests), "12 calls over two tokens must cross 1/s with a burst of 2: \(statuses)")
            let refused = try await second.call(.get, "/api/v1/me")
            if refused.status == .tooManyRequests {
                #expect(refused.errorMessage.contains("limited to 1 requests per second"), "\(refused.text)")
            }
        }
    }

    /// `count` calls started together; their responses.
    static func atOnce(_ count: Int, _ call: @escaping @Sendable (Int) async throws -> RecordAPIResponse) async throws -> [RecordAPIResponse] {
        try await withThrowingTaskGroup(of: RecordAPIResponse.self) { group in
            for index in 0..<count { group.addTask { try await call(index) } }
            var responses: [RecordAPIResponse] = []
            for try await response in group { responses.append(response) }
            return responses
        }
    }

    @Test func plansCarryTheirTenantRates() {
        #expect(PlanLimits.defaults(plan: "trial").apiRequestsPerSecond == 20)
        #expect(PlanLimits.defaults(plan: "pro").apiRequestsPerSecond == 100)
        #expect(PlanLimits.defaults(plan: "enterprise").apiRequestsPerSecond == nil)
    }

    @Test func theBucketRefillsAtItsRate() async throws {
        let limiter = RateLimiter()
        #expect(limiter.take("k", rate: 10, burst: 2) == nil)
        #expect(limiter.take("k", rate: 10, burst: 2) == nil)
        let wait = try #require(limiter.take("k", rate: 10, burst: 2))
        #expect(wait <= .milliseconds(100) && wait > .zero, "\(wait)")
        #expect(limiter.take("other", rate: 10, burst: 2) == nil, "keys are independent")
        try await Task.sleep(for: .milliseconds(250))
        #expect(limiter.take("k", rate: 10, burst: 2) == nil)
    }
}

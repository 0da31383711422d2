import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Token buckets in this process's memory: each key may spend `burst` requests at once and
/// earns `rate` per second back. With several app nodes each node counts on its own (the
/// effective limit is the sum over the nodes the load balancer uses).
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var stamp: ContinuousClock.Instant
    }

    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    private let clock = ContinuousClock()
    /// Past this many keys, buckets that have refilled are dropped (they hold no information).
    static let pruneAbove = 50_000

    public init() {}

    /// Takes one request from `key`'s bucket; nil when allowed, else how long until one is free.
    public func take(_ key: String, rate: Double, burst: Double) -> Duration? {
        let now = clock.now
        return buckets.withLockedValue { buckets in
            if buckets.count > Self.pruneAbove {
                buckets = buckets.filter { _, bucket in bucket.stamp.duration(to: now) < .seconds(60) }
            }
            var bucket = buckets[key] ?? Bucket(tokens: burst, stamp: now)
            let elapsed = bucket.stamp.duration(to: now)
            bucket.tokens = min(burst, bucket.tokens + elapsed / .seconds(1) * rate)
            bucket.stamp = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
        }
    }
}

/// Request-rate limits on API-token calls (scripts and integrations; browser sessions are
/// people and are not limited): per token, and per tenant by plan
/// (``PlanLimits/apiRequestsPerSecond``). Over a limit: 429 `rate_limited` with `Retry-After`.
/// Add it after ``IdentityMiddleware``.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext

    public struct Policy: Sendable {
        public var enabled = true
        /// Sustained requests per second per API token; bursts may spend two seconds' worth.
        public var perToken = 20
        /// Per tenant, when set, instead of the plan's ``PlanLimits/apiRequestsPerSecond``.
        public var perTenant: Int?
        public init() {}
    }

    let policy: Policy
    let limiter: RateLimiter

    public init(policy: Policy, limiter: RateLimiter = RateLimiter()) {
        self.policy = policy
        self.limiter = limiter
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard policy.enabled, let tenant = context.tenant, case .apiToken? = context.identity?.method,
              let bearer = request.headers[.authorization] else {
            return try await next(request, context)
        }
        // The key is a digest of the token, never the token itself.
        let tokenKey = "k:" + SecureToken.hash(bearer)
        if let wait = limiter.take(tokenKey, rate: Double(policy.perToken), burst: Double(policy.perToken * 2)) {
            return Self.refusal(wait, message: "this API token may make \(policy.perToken) requests per second; slow down")
        }
        if let perTenant = policy.perTenant ?? PlanLimits.defaults(plan: tenant.plan).apiRequestsPerSecond,
           let wait = limiter.take("t:\(tenant.id)", rate: Double(perTenant), burst: Double(perTenant * 2)) {
            return Self.refusal(wait, message: "this company's API calls are limited to \(perTenant) requests per second (\(tenant.plan) plan); slow down")
        }
        return try await next(request, context)
    }

    static func refusal(_ wait: Duration, message: String) -> Response {
        var response = ErrorMiddleware.json(AtriumError(status: .tooManyRequests, code: "rate_limited", message: message))
        response.headers[.retryAfter] = "\(max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))"
        return response
    }
}

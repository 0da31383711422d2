import Foundation
import Hummingbird
import Logging

/// A small, hand-written set of Prometheus metrics, served as text at `/metrics`:
///
/// ```
/// atrium_http_requests_total{group="api",status="2xx"} 1234
/// atrium_http_request_duration_seconds_bucket{group="api",le="0.05"} 1200
/// atrium_tenants{status="active"} 42
/// ```
///
/// Labels are bounded on purpose — the path's *group* (`web`, `api`, `admin`, `ops`, `static`)
/// and the status class — so no tenant, user or record id ever becomes a series.
public final class Metrics: @unchecked Sendable {
    public static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Series: Hashable {
        let group: String
        let status: String
    }

    private let lock = NSLock()
    private var requests: [Series: Int] = [:]
    private var durationCounts: [String: [Int]] = [:]
    private var durationSums: [String: Double] = [:]
    private var durationTotals: [String: Int] = [:]
    let started = Date()

    public init() {}

    /// The path's group: the only part of a path that becomes a label.
    public static func group(of path: String) -> String {
        let first = path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        switch first {
        case "api": return "api"
        case "admin": return path.hasPrefix("/admin/v1") ? "admin" : "web"
        case "static": return "static"
        case "healthz", "readyz", "metrics": return "ops"
        default: return "web"
        }
    }

    public func record(group: String, status: Int, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        requests[Series(group: group, status: "\(status / 100)xx"), default: 0] += 1
        var counts = durationCounts[group] ?? Array(repeating: 0, count: Self.buckets.count)
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
        durationCounts[group] = counts
        durationSums[group, default: 0] += seconds
        durationTotals[group, default: 0] += 1
    }

    /// The Prometheus text exposition (format 0.0.4); `gauges` are read at scrape time.
    public func render(tenants: [String: Int]) -> String {
        lock.lock()
        defer { lock.unlock() }
        var lines: [String] = []
        lines.append("# HELP atrium_http_requests_total HTTP requests answered, by path group and status class.")
        lines.append("# TYPE atrium_http_requests_total counter")
        for (series, count) in requests.sorted(by: { ($0.key.group, $0.key.status) < ($1.key.group, $1.key.status) }) {
            lines.append("atrium_http_requests_total{group=\"\(series.group)\",status=\"\(series.status)\"} \(count)")
        }
        lines.append("# HELP atrium_http_request_duration_seconds Time to produce the response (head), by path group.")
        lines.append("# TYPE atrium_http_request_duration_seconds histogram")
        for group in durationTotals.keys.sorted() {
            let counts = durationCounts[group] ?? []
            for (index, bound) in Self.buckets.enumerated() {
                lines.append("atrium_http_request_duration_seconds_bucket{group=\"\(group)\",le=\"\(bound)\"} \(counts[index])")
            }
            lines.append("atrium_http_request_duration_seconds_bucket{group=\"\(group)\",le=\"+Inf\"} \(durationTotals[group] ?? 0)")
            lines.append("atrium_http_request_duration_seconds_sum{group=\"\(group)\"} \(durationSums[group] ?? 0)")
            lines.append("atrium_http_request_duration_seconds_count{group=\"\(group)\"} \(durationTotals[group] ?? 0)")
        }
        lines.append("# HELP atrium_tenants Tenants, by status.")
        lines.append("# TYPE atrium_tenants gauge")
        for (status, count) in tenants.sorted(by: { $0.key < $1.key }) {
            lines.append("atrium_tenants{status=\"\(status)\"} \(count)")
        }
        lines.append("# HELP atrium_process_start_time_seconds Start of this server process (Unix time).")
        lines.append("# TYPE atrium_process_start_time_seconds gauge")
        lines.append("atrium_process_start_time_seconds \(Int(started.timeIntervalSince1970))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Counts every answered request and its duration in ``Metrics``. It sits inside the error
/// middleware, so a thrown error is counted with the status it is about to become.
public struct MetricsMiddleware: RouterMiddleware {
    public typealias Context = AtriumContext
    let metrics: Metrics

    public init(metrics: Metrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let group = Metrics.group(of: request.uri.path)
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        do {
            let response = try await next(request, context)
            metrics.record(group: group, status: Int(response.status.code), seconds: seconds())
            return response
        } catch {
            let status: Int
            switch DatabaseErrors.unwrap(error) {
            case let error as any DomainError: status = Int(error.status.code)
            case let error as HTTPError: status = Int(error.status.code)
            default: status = 500
            }
            metrics.record(group: group, status: status, seconds: seconds())
            throw error
        }
    }
}

/// `GET /metrics`: Prometheus text. Counts only, nothing about any tenant's data; still,
/// the private deployment's nginx keeps it to the host and private networks.
public struct MetricsRoutes: Sendable {
    let metrics: Metrics
    let database: Database

    public init(metrics: Metrics, database: Database) {
        self.metrics = metrics
        self.database = database
    }

    public func register(on router: Router<AtriumContext>) {
        router.get("metrics") { _, context in
            let logger = context.logger
            // Tenants are a platform table the application role may read; no tenant is set.
            let tenants: [String: Int] = (try? await database.withTransaction(logger: logger) { connection -> [String: Int] in
                var counts: [String: Int] = [:]
                for try await (status, count) in try await connection.query("SELECT status, count(*)::int FROM tenants GROUP BY status", logger: logger)
                    .decode((String, Int).self) {
                    counts[status] = count
                }
                return counts
            }) ?? [:]
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render(tenants: tenants))))
        }
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import Platform
import Testing

/// `/metrics`: Prometheus text with bounded labels.
@Suite struct MetricsTests {
    @Test func countsRequestsByGroupAndStatusClassWithoutTenantLabels() async throws {
        let tenant = try await TestEnvironment.provisionTenant("metrics")
        try await TestEnvironment.withLiveApp { client in
            _ = try await client.execute(uri: "/healthz", method: .get)
            _ = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.init("X-Tenant")!: tenant.info.slug])  // 401
            _ = try await client.execute(uri: "/admin/v1/tenants", method: .get)  // 401
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            #expect(text.contains("atrium_http_requests_total{group=\"ops\",status=\"2xx\"} 1"))
            #expect(text.contains("atrium_http_requests_total{group=\"api\",status=\"4xx\"} 1"))
            #expect(text.contains("atrium_http_requests_total{group=\"admin\",status=\"4xx\"} 1"))
            #expect(text.contains("atrium_http_request_duration_seconds_count{group=\"api\"} 1"))
            #expect(text.contains("atrium_http_request_duration_seconds_bucket{group=\"ops\",le=\"+Inf\"} 1"))
            #expect(text.range(of: #"atrium_tenants\{status="active"\} [1-9]"#, options: .regularExpression) != nil)
            #expect(!text.contains(tenant.info.slug))
        }
        #expect(Metrics.group(of: "/app/x_project/123") == "web")
        #expect(Metrics.group(of: "/admin/v1/tenants/acme") == "admin")
        #expect(Metrics.group(of: "/static/app.css") == "static")
    }
}

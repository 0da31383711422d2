import Foundation
import HTTPTypes
import Hummingbird

/// `/healthz` (the process answers), `/readyz` (the database answers as the application role
/// and the schema is current) and `/static/*`. None of them needs a tenant.
public struct OperationsRoutes: Sendable {
    let services: PlatformServices
    let expectedSchemaVersion: Int

    public init(services: PlatformServices, expectedSchemaVersion: Int) {
        self.services = services
        self.expectedSchemaVersion = expectedSchemaVersion
    }

    struct Status: ResponseEncodable {
        let status: String
        var reason: String? = nil
    }

    public func register(on router: Router<AtriumContext>) {
        router.get("healthz") { _, _ in Status(status: "ok") }
        router.get("readyz") { _, context in
            do {
                let logger = context.logger
                // A load balancer's probe wants an answer within a second, database or not.
                let version = try await services.database.withConnection(timeout: .seconds(1)) { connection in
                    try await connection.query("SELECT coalesce(max(version), 0)::int FROM schema_migrations", logger: logger)
                        .collect().first?.decode(Int.self) ?? 0
                }
                guard version >= expectedSchemaVersion else {
                    return EditedResponse(status: .serviceUnavailable,
                                          response: Status(status: "unavailable", reason: "schema at version \(version), this build needs \(expectedSchemaVersion): run atrium-admin migrate"))
                }
                return EditedResponse(status: .ok, response: Status(status: "ready"))
            } catch {
                var headers = HTTPFields()
                headers[.retryAfter] = "\(AtriumError.retryAfterSeconds)"
                return EditedResponse(status: .serviceUnavailable, headers: headers,
                                      response: Status(status: "unavailable", reason: "database: \(DatabaseErrors.describe(error))"))
            }
        }
        router.get("static/:name") { _, context in
            guard let name = context.parameters.get("name"), let response = services.renderer.asset(name) else {
                throw AtriumError(status: .notFound, code: "not_found", message: "no such file")
            }
            return response
        }
    }
}

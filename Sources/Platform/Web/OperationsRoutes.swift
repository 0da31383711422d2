import Foundation
import HTTPTypes
import Hummingbird

/// `/healthz` (the process answers), `/readyz` (the database answers as the application role
/// and every migration this build carries — the platform's and each module's — is applied) and
/// `/static/*`. None of them needs a tenant.
public struct OperationsRoutes: Sendable {
    let services: PlatformServices
    /// Core migration versions, and each module's migration versions by module id.
    let expectedCore: Set<Int>
    let expectedModules: [String: Set<Int>]

    public init(services: PlatformServices, coreMigrations: [Migration], moduleMigrations: [(String, [Migration])]) {
        self.services = services
        self.expectedCore = Set(coreMigrations.map(\.version))
        self.expectedModules = Dictionary(moduleMigrations.map { ($0.0, Set($0.1.map(\.version))) }, uniquingKeysWith: { $0.union($1) })
    }

    func missing(core: Set<Int>, modules: [String: Set<Int>]) -> String? {
        Self.missing(expectedCore: expectedCore, expectedModules: expectedModules, core: core, modules: modules)
    }

    /// What the database lacks of what a build expects, e.g. `platform 28; sales 3`; nil when nothing.
    static func missing(expectedCore: Set<Int>, expectedModules: [String: Set<Int>], core: Set<Int>, modules: [String: Set<Int>]) -> String? {
        var parts: [String] = []
        let core = expectedCore.subtracting(core).sorted()
        if !core.isEmpty { parts.append("platform " + core.map(String.init).joined(separator: ", ")) }
        for (module, versions) in expectedModules.sorted(by: { $0.key < $1.key }) {
            let lacking = versions.subtracting(modules[module] ?? []).sorted()
            if !lacking.isEmpty { parts.append("\(module) " + lacking.map(String.init).joined(separator: ", ")) }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
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
                let applied = try await services.database.withConnection(timeout: .seconds(1)) { connection in
                    // One round trip: the platform's versions under '', the modules' under their ids.
                    var core = Set<Int>()
                    var modules: [String: Set<Int>] = [:]
                    for try await (module, version) in try await connection.query("""
                        SELECT '', version FROM schema_migrations UNION ALL SELECT module, version FROM module_migrations
                        """, logger: logger).decode((String, Int).self) {
                        if module.isEmpty { core.insert(version) } else { modules[module, default: []].insert(version) }
                    }
                    return (core, modules)
                }
                if let lacking = missing(core: applied.0, modules: applied.1) {
                    return EditedResponse(status: .serviceUnavailable,
                                          response: Status(status: "unavailable", reason: "migrations not applied: \(lacking): run atrium-admin migrate"))
                }
                return EditedResponse(status: .ok, response: Status(status: "ready"))
            } catch {
                var headers = HTTPFields()
                headers[.retryAfter] = "\(AtriumError.retryAfterSeconds)"
                return EditedResponse(status: .serviceUnavailable, headers: headers,
                                      response: Status(status: "unavailable", reason: "database: \(DatabaseErrors.describe(error))"))
            }
        }
        // Browsers that ignore the page's icon link still ask for /favicon.ico.
        router.get("favicon.ico") { _, _ in
            Response(status: .movedPermanently, headers: [.location: "/static/favicon.svg", .cacheControl: "public, max-age=86400"])
        }
        router.get("static/:name") { _, context in
            guard let name = context.parameters.get("name"), let response = services.renderer.asset(name) else {
                throw AtriumError(status: .notFound, code: "not_found", message: "no such file")
            }
            return response
        }
    }
}

import Foundation
import Hummingbird

/// The administrators' login ranges API (admin only):
///
///     GET    /api/v1/admin/login-ranges          {"ranges": [{id, range, role, applies_to_tokens, description, created_at}], "your_address"}
///     POST   /api/v1/admin/login-ranges          {"range": "203.0.113.0/24", "role"?: "salesperson", "applies_to_tokens"?: false, "description"?}
///     DELETE /api/v1/admin/login-ranges/{id}
///
/// A change that would refuse the administrator's own address is a 422 and is not saved.
struct LoginRangeRoutes: Sendable {
    let records: RecordRoutes

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/login-ranges", use: list)
        router.post("api/v1/admin/login-ranges", use: add)
        router.delete("api/v1/admin/login-ranges/:id", use: remove)
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let ip = context.clientIP
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["ranges": .array(try await LoginRanges.list(on: db.connection, logger: db.logger).map(\.json)), "your_address": .string(ip)])
        })
    }

    @Sendable func add(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        let known: Set<String> = ["range", "role", "applies_to_tokens", "description"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw AtriumError.validation(field: unknown, "is not a login range field (range, role, applies_to_tokens, description)")
        }
        guard let range = body["range"]?.stringValue else { throw AtriumError.validation(field: "range", "is required, e.g. 203.0.113.0/24") }
        let role: String?
        switch body["role"] {
        case nil, .null?: role = nil
        case .string(let key)?: role = key
        default: throw AtriumError.validation(field: "role", "must be a role key or null (everyone)")
        }
        let tokens: Bool
        switch body["applies_to_tokens"] {
        case nil: tokens = false
        case .bool(let flag)?: tokens = flag
        default: throw AtriumError.validation(field: "applies_to_tokens", "must be true or false")
        }
        let description = body["description"]?.stringValue
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await LoginRanges.add(range: range, roleKey: role, appliesToTokens: tokens, description: description, as: actor,
                                      on: db.connection, logger: db.logger).json
        }, status: .created)
    }

    @Sendable func remove(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try RecordRoutes.uuid(context, "id", notFound: { AtriumError(status: .notFound, code: "login_range_not_found", message: "no login range \($0)") })
        try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await LoginRanges.remove(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }
}

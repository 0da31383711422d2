import Foundation
import Hummingbird

/// The pools' (公海) JSON API. Reading a pool's records is the entity's list with `pool=`:
///
///     GET    /api/v1/pools                          {"pools": [{id, entity, name, department_id, idle_days, reclaim_inactive_owners, claim_limit, active, waiting}]}
///     GET    /api/v1/{entity}?pool={id}             the records waiting in a pool I belong to (filter, q, sort, paging as any list)
///     POST   /api/v1/{entity}/{id}/claim            I take it (领取); 409 not_in_pool, 422 claim_limit_reached
///     POST   /api/v1/{entity}/{id}/release          {"pool_id"?, "reason"?} back to a pool (退回公海)
///     GET    /api/v1/{entity}/{id}/pool-moves       the record's moves, newest first
///     POST   /api/v1/admin/pools                    {"entity", "name", "department_id"?, "idle_days"?, "reclaim_inactive_owners"?, "claim_limit"?, "active"?}
///     PATCH  /api/v1/admin/pools/{id}               the same keys but entity
///     DELETE /api/v1/admin/pools/{id}               an empty pool; 409 pool_not_empty
///     POST   /api/v1/admin/pools/reclaim            run the reclaim rules now {"taken": {pool id: count}}
///
/// Assigning a pool record to someone is an ordinary change of its `owner_id`.
struct PoolRoutes: Sendable {
    let records: RecordRoutes
    var engine: RecordEngine { records.engine }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/pools", use: list)
        router.post("api/v1/admin/pools", use: create)
        router.post("api/v1/admin/pools/reclaim", use: reclaim)
        router.patch("api/v1/admin/pools/:pool", use: update)
        router.delete("api/v1/admin/pools/:pool", use: delete)
        router.post("api/v1/:entity/:id/claim", use: claim)
        router.post("api/v1/:entity/:id/release", use: release)
        router.get("api/v1/:entity/:id/pool-moves", use: moves)
    }

    static func poolID(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("pool"), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "pool_not_found", message: "no pool '\(context.parameters.get("pool") ?? "")'")
        }
        return id
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context) { actor, db in
            .object(["pools": .array(try await RecordPools.list(as: actor, engine: engine, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await RecordPools.create(body, engine: engine, as: actor, on: db.connection, logger: db.logger).json
        }, status: .created)
    }

    @Sendable func update(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.poolID(context)
        let body = try await RecordRoutes.object(request)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await RecordPools.update(id, body, engine: engine, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.poolID(context)
        try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await RecordPools.delete(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func reclaim(_ request: Request, context: AtriumContext) async throws -> Response {
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { _, db in
            let taken = try await RecordPools.reclaim(now: Date(), engine: engine, on: db.connection, logger: db.logger)
            return JSONValue.object(["taken": .object(Dictionary(uniqueKeysWithValues: taken.map { ($0.key.uuidString.lowercased(), .number(Decimal($0.value))) }))])
        })
    }

    @Sendable func claim(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true) { actor, db in
            try await RecordPools.claim(entity, id: id, engine: engine, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func release(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        let body = try await RecordRoutes.object(request, emptyAllowed: true)
        if let unknown = body.keys.sorted().first(where: { $0 != "pool_id" && $0 != "reason" }) {
            throw AtriumError.validation(field: unknown, "is not part of a release (pool_id, reason)")
        }
        var pool: UUID?
        if let value = body["pool_id"], !value.isNull {
            guard let text = value.stringValue, let parsed = UUID(uuidString: text) else { throw AtriumError.validation(field: "pool_id", "must be a pool's id") }
            pool = parsed
        }
        var reason: String?
        if let value = body["reason"], !value.isNull {
            guard let text = value.stringValue else { throw AtriumError.validation(field: "reason", "must be text") }
            reason = text
        }
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true) { [pool, reason] actor, db in
            try await RecordPools.release(entity, id: id, to: pool, reason: reason, engine: engine, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func moves(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context) { actor, db in
            // Only for a record the caller may open.
            _ = try await engine.get(entity, id: id, as: actor, on: db.connection, logger: db.logger)
            return JSONValue.object(["moves": .array(try await RecordPools.moves(of: id, on: db.connection, logger: db.logger))])
        })
    }
}

import Foundation
import Logging
import PostgresNIO

/// A pool (公海): records of one entity that nobody owns, waiting to be claimed. The tenant's
/// pool has no department; a department's pool is for that department and those below it.
public struct RecordPool: Sendable, Equatable {
    public let id: UUID
    public var entity: String
    public var name: String
    public var departmentID: UUID?
    /// Owned records without a follow-up for this many days go back to the pool.
    public var idleDays: Int?
    /// Records of a deactivated owner go back to the pool.
    public var reclaimInactiveOwners: Bool
    /// How many records claimed from this pool one person may hold at once (nil: no limit).
    public var claimLimit: Int?
    public var active: Bool
    /// Records waiting in the pool now (filled by ``RecordPools/list``).
    public var waiting: Int = 0

    public var json: JSONValue {
        .object(["id": .string(id.uuidString.lowercased()), "entity": .string(entity), "name": .string(name),
                 "department_id": departmentID.map { .string($0.uuidString.lowercased()) } ?? .null,
                 "idle_days": idleDays.map { .number(Decimal($0)) } ?? .null, "reclaim_inactive_owners": .bool(reclaimInactiveOwners),
                 "claim_limit": claimLimit.map { .number(Decimal($0)) } ?? .null, "active": .bool(active), "waiting": .number(Decimal(waiting))])
    }
}

/// Why a record moved into or out of a pool (`record_pool_moves.kind`).
public enum PoolMoveKind: String, Sendable, CaseIterable {
    case idle, owner_inactive, released, claimed, assigned
}

public struct PoolMove: Sendable {
    public let pool: UUID
    public let entity: String
    public let record: UUID
    public let kind: PoolMoveKind
    public let from: UUID?
    public let to: UUID?
    public var reason: String? = nil
}

/// Pools and the moves of records through them, in the record engine's terms: reading a pool
/// is the engine's list with the pool named (the caller must belong to it), claiming takes
/// the record's row lock so two people claiming at once get one winner, and every move is
/// audited on the record and kept in `record_pool_moves`.
///
/// Reclaiming (``reclaim(now:engine:on:logger:)``) runs per tenant from the scheduler: each
/// active pool takes back, from the departments it covers (deeper department pools first; the
/// tenant's pool takes the rest), the records idle for its `idle_days` — no follow-up, claim
/// or assignment since — and those of deactivated owners. Rows locked by a concurrent run are
/// skipped, and a record is only moved while it still has an owner, so two nodes never
/// reclaim one record twice.
public enum RecordPools {
    static let columns = "id, entity, name, department_id, idle_days, reclaim_inactive_owners, claim_limit, active"

    static func decode(_ rows: PostgresRowSequence) async throws -> [RecordPool] {
        var pools: [RecordPool] = []
        for try await (id, entity, name, department, idle, inactive, limit, active) in rows.decode((UUID, String, String, UUID?, Int?, Bool, Int?, Bool).self) {
            pools.append(RecordPool(id: id, entity: entity, name: name, departmentID: department, idleDays: idle, reclaimInactiveOwners: inactive,
                                    claimLimit: limit, active: active))
        }
        return pools
    }

    static func notFound(_ id: UUID) -> AtriumError {
        AtriumError(status: .notFound, code: "pool_not_found", message: "no pool \(id.uuidString.lowercased())")
    }

    public static func get(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> RecordPool {
        guard let pool = try await decode(connection.query("SELECT \(unescaped: columns) FROM record_pools WHERE id = \(id)", logger: logger)).first else {
            throw notFound(id)
        }
        return pool
    }

    /// The pools the caller may open (administrators: all), each with its waiting count.
    public static func list(as actor: RecordEngine.Actor, engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws -> [RecordPool] {
        let entities = try await engine.entities(on: connection, logger: logger)
        var pools = try await decode(connection.query("SELECT \(unescaped: columns) FROM record_pools ORDER BY entity, name, id", logger: logger))
        if !actor.access.unrestricted {
            let mine = Set(actor.access.pools.values.joined())
            pools = pools.filter { mine.contains($0.id) && entities[$0.entity].map(actor.access.canSee) == true }
        }
        var counts: [UUID: Int] = [:]
        for try await (id, count) in try await connection.query("""
            SELECT pool_id, count(*)::int FROM records WHERE pool_id = ANY(\(pools.map(\.id))::uuid[]) AND deleted_at IS NULL GROUP BY pool_id
            """, logger: logger).decode((UUID, Int).self) {
            counts[id] = count
        }
        return pools.map { var pool = $0; pool.waiting = counts[pool.id] ?? 0; return pool }
    }

    // MARK: Setting up (administrators)

    /// A pool from a create or change body over `base`; unknown keys and bad values are named.
    static func apply(_ body: [String: JSONValue], to base: RecordPool, creating: Bool, engine: RecordEngine,
                      on connection: PostgresConnection, logger: Logger) async throws -> RecordPool {
        let known: Set<String> = ["entity", "name", "department_id", "idle_days", "reclaim_inactive_owners", "claim_limit", "active"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw AtriumError.validation(field: unknown, "is not part of a pool (\(known.sorted().joined(separator: ", ")))")
        }
        var pool = base
        if let value = body["entity"] {
            guard creating else { throw AtriumError.validation(field: "entity", "cannot change; make a new pool") }
            guard let key = value.stringValue else { throw AtriumError.validation(field: "entity", "must be an object's key") }
            guard try await engine.entities(on: connection, logger: logger)[key] != nil else { throw AtriumError.validation(field: "entity", "names no object: \(key)") }
            pool.entity = key
        } else if creating {
            throw AtriumError.validation(field: "entity", "is required")
        }
        if let value = body["name"] {
            guard let text = value.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), (1...60).contains(text.count), !text.utf8.contains(0) else {
                throw AtriumError.validation(field: "name", "must be 1 to 60 characters")
            }
            pool.name = text
        } else if creating {
            throw AtriumError.validation(field: "name", "is required")
        }
        if let value = body["department_id"] {
            if value.isNull {
                pool.departmentID = nil
            } else {
                guard let text = value.stringValue, let id = UUID(uuidString: text),
                      try await connection.query("SELECT 1 FROM departments WHERE id = \(id)", logger: logger).collect().count == 1 else {
                    throw AtriumError.validation(field: "department_id", "names no department of this company")
                }
                pool.departmentID = id
            }
        }
        func whole(_ key: String, _ range: ClosedRange<Int>) throws -> Int?? {
            guard let value = body[key] else { return .none }
            if value.isNull { return .some(nil) }
            guard case .number(let number) = value, let int = Int(exactly: NSDecimalNumber(decimal: number).doubleValue), Decimal(int) == number,
                  range.contains(int) else {
                throw AtriumError.validation(field: key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), or null")
            }
            return .some(int)
        }
        if let idle = try whole("idle_days", 1...3650) { pool.idleDays = idle }
        if let limit = try whole("claim_limit", 0...100_000) { pool.claimLimit = limit }
        for key in ["reclaim_inactive_owners", "active"] {
            guard let value = body[key] else { continue }
            guard case .bool(let flag) = value else { throw AtriumError.validation(field: key, "must be true or false") }
            if key == "active" { pool.active = flag } else { pool.reclaimInactiveOwners = flag }
        }
        return pool
    }

    /// One entity has at most one pool per department (and one for the whole tenant), and
    /// names are unique per entity: either clash is a 422 naming the field.
    static func checkUnique(_ pool: RecordPool, on connection: PostgresConnection, logger: Logger) async throws {
        let clashes = try await connection.query("""
            SELECT name = \(pool.name), department_id IS NOT DISTINCT FROM \(pool.departmentID) FROM record_pools
            WHERE entity = \(pool.entity) AND id <> \(pool.id) AND (name = \(pool.name) OR department_id IS NOT DISTINCT FROM \(pool.departmentID))
            """, logger: logger).collect()
        for row in clashes {
            let (name, department) = try row.decode((Bool, Bool).self)
            if name { throw AtriumError(status: .unprocessableContent, code: "duplicate_value", message: "name: another pool of \(pool.entity) is called \(pool.name)", field: "name") }
            if department {
                throw AtriumError(status: .unprocessableContent, code: "duplicate_value",
                                  message: "department_id: \(pool.entity) already has a pool for \(pool.departmentID == nil ? "the whole company" : "this department")", field: "department_id")
            }
        }
    }

    public static func create(_ body: [String: JSONValue], engine: RecordEngine, as actor: RecordEngine.Actor,
                              on connection: PostgresConnection, logger: Logger) async throws -> RecordPool {
        let blank = RecordPool(id: UUID(), entity: "", name: "", departmentID: nil, idleDays: nil, reclaimInactiveOwners: true, claimLimit: nil, active: true)
        let pool = try await apply(body, to: blank, creating: true, engine: engine, on: connection, logger: logger)
        try await checkUnique(pool, on: connection, logger: logger)
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO record_pools (tenant_id, id, entity, name, department_id, idle_days, reclaim_inactive_owners, claim_limit, active)
            VALUES (\(tenant), \(pool.id), \(pool.entity), \(pool.name), \(pool.departmentID), \(pool.idleDays), \(pool.reclaimInactiveOwners),
                    \(pool.claimLimit), \(pool.active))
            """, logger: logger)
        try await auditPool("pool.created", pool, actor: actor, on: connection, logger: logger)
        return pool
    }

    public static func update(_ id: UUID, _ body: [String: JSONValue], engine: RecordEngine, as actor: RecordEngine.Actor,
                              on connection: PostgresConnection, logger: Logger) async throws -> RecordPool {
        let existing = try await get(id, on: connection, logger: logger)
        let pool = try await apply(body, to: existing, creating: false, engine: engine, on: connection, logger: logger)
        try await checkUnique(pool, on: connection, logger: logger)
        try await connection.query("""
            UPDATE record_pools SET name = \(pool.name), department_id = \(pool.departmentID), idle_days = \(pool.idleDays),
                reclaim_inactive_owners = \(pool.reclaimInactiveOwners), claim_limit = \(pool.claimLimit), active = \(pool.active)
            WHERE id = \(id)
            """, logger: logger)
        try await auditPool("pool.updated", pool, actor: actor, on: connection, logger: logger)
        return pool
    }

    /// Deletes an empty pool; one with records waiting is a 409 (assign or claim them first,
    /// or switch the pool off).
    public static func delete(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let pool = try await get(id, on: connection, logger: logger)
        let waiting = try await connection.query("SELECT count(*)::int FROM records WHERE pool_id = \(id)", logger: logger).collect().first?.decode(Int.self) ?? 0
        guard waiting == 0 else {
            throw AtriumError(status: .conflict, code: "pool_not_empty", message: "\(waiting) records are in this pool (the recycle bin included); assign them or switch the pool off")
        }
        try await connection.query("DELETE FROM record_pools WHERE id = \(id)", logger: logger)
        try await auditPool("pool.deleted", pool, actor: actor, on: connection, logger: logger)
    }

    static func auditPool(_ action: String, _ pool: RecordPool, actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        var details = ["name": pool.name, "entity": pool.entity, "active": "\(pool.active)"]
        details["idle_days"] = pool.idleDays.map(String.init) ?? "none"
        details["claim_limit"] = pool.claimLimit.map(String.init) ?? "none"
        details["reclaim_inactive_owners"] = "\(pool.reclaimInactiveOwners)"
        if let department = pool.departmentID { details["department_id"] = department.uuidString.lowercased() }
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: "record_pool", recordID: pool.id.uuidString.lowercased(),
                                        details: details, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await TenantScope.current(on: connection, logger: logger), on: connection, logger: logger)
    }

    // MARK: Moves

    /// How many records claimed from `pool` the user holds now: records they own whose last
    /// move was their claim from it (a record handed on or returned no longer counts).
    public static func held(pool: UUID, user: UUID, entity: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("""
            SELECT count(*)::int FROM records r
            WHERE r.tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) AND r.entity = \(entity)
              AND r.owner_id = \(user) AND r.deleted_at IS NULL
              AND (SELECT m.kind = 'claimed' AND m.pool_id = \(pool) AND m.to_user = \(user) FROM record_pool_moves m
                   WHERE m.tenant_id = r.tenant_id AND m.record_id = r.id ORDER BY m.id DESC LIMIT 1)
            """, logger: logger).collect().first?.decode(Int.self) ?? 0
    }

    /// Claims a record waiting in one of the caller's pools (领取): the caller becomes its owner.
    /// Someone else's claim first → 409 `not_in_pool`; the pool's limit reached → 422
    /// `claim_limit_reached`. Needs the update right on the entity.
    public static func claim(_ entityKey: String, id: UUID, engine: RecordEngine, as actor: RecordEngine.Actor,
                             on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await engine.entity(entityKey, for: .update, actor: actor, on: connection, logger: logger)
        // Visible to the caller (else 404) — then locked unscoped, so whoever waited on a
        // colleague's claim learns that it is gone (409) rather than that it never existed.
        do {
            _ = try await engine.fetch(entity.key, id: id, deleted: false, scope: (actor.access, entity, .read), pools: true, on: connection, logger: logger)
        } catch let error as AtriumError where error.status == .notFound {
            // Just claimed by someone else out of one of my pools: say so, not "no record".
            let last = try await connection.query("""
                SELECT pool_id FROM record_pool_moves WHERE record_id = \(id) AND kind IN ('claimed', 'assigned') ORDER BY id DESC LIMIT 1
                """, logger: logger).collect().first?.decode(UUID.self)
            guard let last, actor.access.pools[entity.key]?.contains(last) == true else { throw error }
            throw AtriumError(status: .conflict, code: "not_in_pool", message: "this \(entity.key) is not in the pool any more: someone claimed it first")
        }
        let existing = try await engine.fetch(entity.key, id: id, deleted: false, lock: true, on: connection, logger: logger)
        let reachable = actor.access.unrestricted || actor.access.scope(entity, .read) == .all
        guard let poolID = existing.poolID, reachable || actor.access.pools[entity.key]?.contains(poolID) == true else {
            throw AtriumError(status: .conflict, code: "not_in_pool", message: "this \(entity.key) is not in a pool (any more): someone may have claimed it first")
        }
        let pool = try await get(poolID, on: connection, logger: logger)
        guard pool.active || actor.access.unrestricted else {
            throw AtriumError(status: .conflict, code: "pool_inactive", message: "the pool \(pool.name) is switched off")
        }
        let me = actor.user.id
        if let limit = pool.claimLimit {
            // One claim per person and pool at a time, so two tabs cannot both pass the count.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(poolID.uuidString + me.uuidString), 0))", logger: logger)
            let held = try await held(pool: poolID, user: me, entity: entity.key, on: connection, logger: logger)
            guard held < limit else {
                throw AtriumError(status: .unprocessableContent, code: "claim_limit_reached",
                                  message: "you already hold \(held) records claimed from \(pool.name); its limit is \(limit)", field: "pool_id")
            }
        }
        let record = try await RecordEngine.decode(connection.query("""
            UPDATE records r SET owner_id = \(me), department_id = (SELECT department_id FROM users WHERE id = \(me)), pool_id = NULL,
                version = version + 1, updated_by = \(me), updated_at = now()
            WHERE r.id = \(id) RETURNING \(unescaped: RecordEngine.columns)
            """, logger: logger)).firstRow()
        try await logMoves([PoolMove(pool: poolID, entity: entity.key, record: id, kind: .claimed, from: nil, to: me)], actor: me, at: nil,
                           on: connection, logger: logger)
        try await engine.audit("record.claimed", record: record, changes: ownerChange(from: nil, to: me, pool: poolID, into: false), actor: actor,
                               on: connection, logger: logger)
        return actor.access.redact(record, entity: entity)
    }

    /// The owner (or anyone who may change the record) gives it back to a pool (退回公海): the
    /// named one, else the pool of the record's department (the nearest above it), else the
    /// tenant's. No pool for the entity → 422 naming `pool_id`.
    public static func release(_ entityKey: String, id: UUID, to poolID: UUID?, reason: String?, engine: RecordEngine, as actor: RecordEngine.Actor,
                               on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await engine.entity(entityKey, for: .update, actor: actor, on: connection, logger: logger)
        if let reason, reason.count > 500 || reason.utf8.contains(0) { throw AtriumError.validation(field: "reason", "must be at most 500 characters") }
        let existing = try await engine.fetch(entity.key, id: id, deleted: false, lock: true, scope: (actor.access, entity, .update), on: connection, logger: logger)
        try await engine.checkApprovalLock(existing, deleting: false, actor: actor, on: connection, logger: logger)
        guard existing.poolID == nil, let owner = existing.ownerID else {
            throw AtriumError(status: .conflict, code: "already_in_pool", message: "this \(entity.key) is already in a pool")
        }
        let pool: RecordPool
        if let poolID {
            pool = try await get(poolID, on: connection, logger: logger)
            guard pool.entity == entity.key, pool.active else { throw AtriumError.validation(field: "pool_id", "names no active pool of \(entity.key)") }
        } else {
            guard let found = try await defaultPool(entity: entity.key, department: existing.departmentID, on: connection, logger: logger) else {
                throw AtriumError.validation(field: "pool_id", "— \(entity.key) has no active pool; an administrator sets one up")
            }
            pool = found
        }
        let record = try await RecordEngine.decode(connection.query("""
            UPDATE records r SET owner_id = NULL, pool_id = \(pool.id), department_id = \(pool.departmentID),
                version = version + 1, updated_by = \(actor.user.id), updated_at = now()
            WHERE r.id = \(id) RETURNING \(unescaped: RecordEngine.columns)
            """, logger: logger)).firstRow()
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        try await logMoves([PoolMove(pool: pool.id, entity: entity.key, record: id, kind: .released, from: owner, to: nil,
                                     reason: trimmed?.isEmpty == false ? trimmed : nil)], actor: actor.user.id, at: nil, on: connection, logger: logger)
        var changes = ownerChange(from: owner, to: nil, pool: pool.id, into: true)
        if let trimmed, !trimmed.isEmpty { changes["reason"] = .object(["before": .null, "after": .string(trimmed)]) }
        try await engine.audit("record.released", record: record, changes: changes, actor: actor, on: connection, logger: logger)
        return actor.access.redact(record, entity: entity)
    }

    /// The active pool of `entity` nearest above `department` (itself included), else the
    /// tenant's.
    static func defaultPool(entity: String, department: UUID?, on connection: PostgresConnection, logger: Logger) async throws -> RecordPool? {
        try await decode(connection.query("""
            WITH RECURSIVE above (id, depth) AS (
                SELECT id, 0 FROM departments WHERE id = \(department)
                UNION SELECT d.parent_id, a.depth + 1 FROM departments d JOIN above a ON d.id = a.id WHERE d.parent_id IS NOT NULL)
            SELECT \(unescaped: columns) FROM record_pools p
            WHERE p.entity = \(entity) AND p.active AND (p.department_id IS NULL OR p.department_id IN (SELECT id FROM above))
            ORDER BY (SELECT a.depth FROM above a WHERE a.id = p.department_id) NULLS LAST LIMIT 1
            """, logger: logger)).first
    }

    static func ownerChange(from: UUID?, to: UUID?, pool: UUID, into: Bool) -> [String: JSONValue] {
        func text(_ id: UUID?) -> JSONValue { id.map { .string($0.uuidString.lowercased()) } ?? .null }
        return ["owner_id": .object(["before": text(from), "after": text(to)]),
                "pool_id": .object(["before": into ? .null : text(pool), "after": into ? text(pool) : .null])]
    }

    /// Keeps moves in `record_pool_moves` (`at`: the run's clock for reclaims, else now).
    static func logMoves(_ moves: [PoolMove], actor: UUID?, at: Date?, on connection: PostgresConnection, logger: Logger) async throws {
        guard !moves.isEmpty else { return }
        try await connection.query("""
            INSERT INTO record_pool_moves (tenant_id, pool_id, entity, record_id, kind, from_user, to_user, actor_id, reason, at)
            SELECT (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), m.pool, m.entity, m.record, m.kind,
                   NULLIF(m.from_text, '')::uuid, NULLIF(m.to_text, '')::uuid,
                   \(actor), NULLIF(m.reason, ''), coalesce(\(at), now())
            FROM unnest(\(moves.map(\.pool))::uuid[], \(moves.map(\.entity))::text[], \(moves.map(\.record))::uuid[], \(moves.map(\.kind.rawValue))::text[],
                        \(moves.map { $0.from?.uuidString ?? "" })::text[], \(moves.map { $0.to?.uuidString ?? "" })::text[], \(moves.map { $0.reason ?? "" })::text[])
                 AS m (pool, entity, record, kind, from_text, to_text, reason)
            """, logger: logger)
    }

    /// The record's moves through pools, newest first.
    public static func moves(of record: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [JSONValue] {
        var result: [JSONValue] = []
        for try await (pool, kind, from, to, reason, at) in try await connection.query("""
            SELECT pool_id, kind, from_user, to_user, reason, at FROM record_pool_moves WHERE record_id = \(record) ORDER BY id DESC LIMIT 100
            """, logger: logger).decode((UUID, String, UUID?, UUID?, String?, Date).self) {
            func text(_ id: UUID?) -> JSONValue { id.map { .string($0.uuidString.lowercased()) } ?? .null }
            result.append(.object(["pool_id": text(pool), "kind": .string(kind), "from_user": text(from), "to_user": text(to),
                                   "reason": reason.map(JSONValue.string) ?? .null, "at": .string(FieldValidator.formatDateTime(at))]))
        }
        return result
    }

    // MARK: Reclaiming

    /// Puts idle records and those of deactivated owners back into their pools, as of `now`
    /// (the scheduler's clock). Returns how many records each pool took back.
    @discardableResult
    public static func reclaim(now: Date, engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws -> [UUID: Int] {
        let pools = try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM record_pools WHERE active AND (idle_days IS NOT NULL OR reclaim_inactive_owners)
            """, logger: logger))
        guard !pools.isEmpty else { return [:] }
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        // Each department pool's subtree; deeper pools first, the tenant's pools last.
        var parents: [UUID: UUID?] = [:]
        for try await (id, parent) in try await connection.query("SELECT id, parent_id FROM departments", logger: logger).decode((UUID, UUID?).self) {
            parents[id] = parent
        }
        func depth(_ id: UUID?) -> Int {
            var depth = 0, current = id
            while let node = current, depth < 1000 { depth += 1; current = parents[node] ?? nil }
            return depth
        }
        func covers(_ pool: RecordPool, _ department: UUID) -> Bool {
            var current: UUID? = department, steps = 0
            while let node = current, steps < 1000 { if node == pool.departmentID { return true }; current = parents[node] ?? nil; steps += 1 }
            return false
        }
        var taken: [UUID: Int] = [:]
        for pool in pools.sorted(by: { depth($0.departmentID) > depth($1.departmentID) }) {
            // The departments this pool covers, less those a deeper pool of the entity covers.
            let deeper = pools.filter { $0.entity == pool.entity && $0.id != pool.id && $0.departmentID != nil && depth($0.departmentID) > depth(pool.departmentID) }
            let covered = parents.keys.filter { department in pool.departmentID.map { _ in covers(pool, department) } ?? true }
            let excluded = covered.filter { department in deeper.contains { covers($0, department) } }
            let mine = pool.departmentID == nil ? nil : covered.filter { !excluded.contains($0) }
            let cutoff = pool.idleDays.map { now.addingTimeInterval(-Double($0) * 86_400) }
            while true {
                var moved: [(UUID, Int, UUID, String)] = []
                for try await row in try await connection.query("""
                    WITH candidates AS (
                        SELECT r.id, r.owner_id, CASE WHEN u.is_active THEN 'idle' ELSE 'owner_inactive' END AS kind
                        FROM records r JOIN users u ON u.id = r.owner_id
                        WHERE r.tenant_id = \(tenant) AND r.entity = \(pool.entity) AND r.deleted_at IS NULL AND r.owner_id IS NOT NULL
                          AND (\(mine)::uuid[] IS NULL OR r.department_id = ANY(\(mine)::uuid[]))
                          AND NOT (r.department_id IS NOT NULL AND r.department_id = ANY(\(excluded)::uuid[]))
                          AND ((NOT u.is_active AND \(pool.reclaimInactiveOwners))
                               OR (\(cutoff)::timestamptz IS NOT NULL AND u.is_active
                                   AND greatest(r.created_at, r.last_activity_at,
                                                (SELECT max(m.at) FROM record_pool_moves m WHERE m.tenant_id = r.tenant_id AND m.record_id = r.id
                                                   AND m.kind IN ('claimed', 'assigned'))) < \(cutoff)::timestamptz))
                        ORDER BY r.id LIMIT 500
                        FOR UPDATE OF r SKIP LOCKED
                    )
                    UPDATE records r SET owner_id = NULL, pool_id = \(pool.id), department_id = \(pool.departmentID), version = version + 1,
                        updated_at = now()
                    FROM candidates c WHERE r.id = c.id AND r.owner_id IS NOT NULL
                    RETURNING r.id, r.version, c.owner_id, c.kind
                    """, logger: logger).decode((UUID, Int, UUID, String).self) {
                    moved.append(row)
                }
                guard !moved.isEmpty else { break }
                try await logMoves(moved.map { PoolMove(pool: pool.id, entity: pool.entity, record: $0.0, kind: PoolMoveKind(rawValue: $0.3) ?? .idle,
                                                        from: $0.2, to: nil) }, actor: nil, at: now, on: connection, logger: logger)
                for (id, version, owner, kind) in moved {
                    try await AuditLog.record(.init(action: "record.reclaimed", actor: .system("pool reclaim"), entity: pool.entity, recordID: id.uuidString.lowercased(),
                                                    details: ["version": "\(version)", "pool": pool.name, "reason": kind],
                                                    changes: ownerChange(from: owner, to: nil, pool: pool.id, into: true)),
                                              tenantID: tenant, on: connection, logger: logger)
                }
                taken[pool.id, default: 0] += moved.count
                if moved.count < 500 { break }
            }
        }
        return taken
    }

    /// The scheduler job: every hour, per tenant, in the tenant's RLS context.
    public static let job = ScheduledJob(key: "platform.pool_reclaim", every: .seconds(3600)) { run in
        try await reclaim(now: run.now, engine: run.engine, on: run.connection, logger: run.logger)
    }
}

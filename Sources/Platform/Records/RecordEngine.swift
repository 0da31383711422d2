import Foundation
import Logging
import PostgresNIO

/// The one path every entity's records take: metadata → validation → SQL → audit.
///
/// All methods expect a connection inside a tenant transaction (``Database/withTenant``), so
/// RLS scopes every statement; each write and its audit entry commit together.
/// ```swift
/// let record = try await engine.create("x_project", values: ["x_name": .string("北京华通")], as: actor, on: conn)
/// ```
public struct RecordEngine: Sendable {
    /// Entities declared by compiled-in modules (shown to tenants that enable the module).
    public let moduleEntities: [EntityDefinition]
    public var hooks: HookRegistry
    /// How module entities take part in approvals (status field, inbox summary, checks).
    public var approvals: [String: ApprovalBinding]
    /// Each tenant's entities by its metadata stamp; shared by copies of this engine.
    let metadataCache = VersionedCache<UUID, [String: EntityDefinition]>(capacity: 4_096)

    public init(moduleEntities: [EntityDefinition], hooks: HookRegistry = HookRegistry(), approvals: [ApprovalBinding] = []) {
        self.moduleEntities = moduleEntities
        self.hooks = hooks
        self.approvals = Dictionary(approvals.map { ($0.entity, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The engine for the modules of a catalog: their entities (tagged with the module) and
    /// their hooks.
    public init(catalog: ModuleCatalog) {
        let manifests = catalog.entries.compactMap { catalog.manifests[$0.id] }
        var hooks = HookRegistry()
        for manifest in manifests {
            for (entity, hook) in manifest.hooks { hooks.register(hook, for: entity) }
        }
        self.init(moduleEntities: manifests.flatMap { manifest in
            manifest.entities.map { entity in
                var entity = entity
                entity.module = manifest.id
                return entity
            }
        }, hooks: hooks, approvals: manifests.flatMap(\.approvals))
    }

    /// Who writes, for `created_by`, `updated_by` and the audit log.
    /// `access` decides which records and fields the actor reaches; the HTTP layer loads it per
    /// request (``AccessContext/load(for:on:logger:)``), engine-internal work uses `.system`.
    public struct Actor: Sendable {
        public let user: AuthenticatedUser
        public let ip: String?
        public let requestID: String?
        public let access: AccessContext

        /// The same user, address and request with ``AccessContext/derived`` access: for what
        /// module rules write on the caller's behalf (totals, history), audited under the user.
        public var derived: Actor { Actor(user: user, ip: ip, requestID: requestID, access: .derived) }

        public init(user: AuthenticatedUser, ip: String? = nil, requestID: String? = nil, access: AccessContext = .system) {
            self.user = user
            self.ip = ip
            self.requestID = requestID
            self.access = access
        }
    }

    static let columns = "r.id, r.entity, r.version, r.owner_id, r.created_by, r.created_at, r.updated_by, r.updated_at, r.deleted_at, r.data::text, r.department_id, r.last_activity_at, r.pool_id"

    // MARK: Metadata

    /// The tenant's entities: one small statement for the tenant's metadata stamp, then the
    /// cached definitions unless a field, object or module changed since (any app node).
    public func entities(on connection: PostgresConnection, logger: Logger) async throws -> [String: EntityDefinition] {
        let versions = try await TenantVersions.forMetadata(on: connection, logger: logger)
        return try await metadataCache.value(for: versions.tenantID, version: versions.metadata) {
            try await MetadataStore.load(moduleEntities: moduleEntities, on: connection, logger: logger)
        }
    }

    public func entity(_ key: String, on connection: PostgresConnection, logger: Logger) async throws -> (EntityDefinition, [String: EntityDefinition]) {
        let all = try await entities(on: connection, logger: logger)
        guard let entity = all[key] else {
            throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity '\(key)'")
        }
        return (entity, all)
    }

    /// The entity for an action of the actor: an entity it cannot read at all is a 404 (as if it
    /// did not exist), one it may read but not act on is a 403 naming the action.
    func entity(_ key: String, for action: RecordAction, actor: Actor, on connection: PostgresConnection,
                logger: Logger) async throws -> (EntityDefinition, [String: EntityDefinition]) {
        let (entity, all) = try await entity(key, on: connection, logger: logger)
        guard actor.access.canSee(entity) else {
            throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity '\(key)'")
        }
        guard actor.access.scope(entity, action) > .none else {
            throw AtriumError(status: .forbidden, code: "no_permission", message: "your roles do not allow \(action.rawValue) on \(key)")
        }
        return (entity, all)
    }

    /// Entities the actor may read (for the entity list, metadata and OpenAPI document).
    public func visibleEntities(for actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> [String: EntityDefinition] {
        Self.visible(try await entities(on: connection, logger: logger), to: actor.access)
    }

    /// The entities `access` may read, each with its hidden fields removed.
    public static func visible(_ entities: [String: EntityDefinition], to access: AccessContext) -> [String: EntityDefinition] {
        entities.filter { access.canSee($0.value) }.mapValues { access.visible($0) }
    }

    /// A write may only name fields the actor may edit: read-only or hidden → 403 naming the field.
    func checkWritable(_ values: [String: JSONValue], entity: EntityDefinition, actor: Actor) throws {
        for key in values.keys.sorted() where entity.field(key) != nil && actor.access.fieldAccess(entity, key) != .editable {
            throw AtriumError(status: .forbidden, code: "field_read_only", message: "you may not change \(key)", field: key)
        }
    }

    // MARK: Reading

    static func decode(_ rows: PostgresRowSequence) async throws -> [Record] {
        var records: [Record] = []
        for try await (id, entity, version, owner, createdBy, createdAt, updatedBy, updatedAt, deletedAt, data, department, lastActivity, pool) in rows.decode(
            (UUID, String, Int, UUID?, UUID?, Date, UUID?, Date, Date?, String, UUID?, Date?, UUID?).self
        ) {
            records.append(Record(id: id, entity: entity, version: version, ownerID: owner, createdBy: createdBy, createdAt: createdAt,
                                  updatedBy: updatedBy, updatedAt: updatedAt, deletedAt: deletedAt,
                                  values: (try JSONValue.parse(data)).objectValue ?? [:], departmentID: department,
                                  lastActivityAt: lastActivity, poolID: pool))
        }
        return records
    }

    /// One record, if it exists and (with `scope`) lies in the actor's scope for the action;
    /// otherwise 404 either way, so a record outside the scope is not revealed.
    func fetch(_ entity: String, id: UUID, deleted: Bool?, lock: Bool = false, scope: (AccessContext, EntityDefinition, RecordAction)? = nil,
               pools: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let deletedClause = deleted.map { $0 ? "AND r.deleted_at IS NOT NULL" : "AND r.deleted_at IS NULL" } ?? ""
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(entity)
        var scopeClause = ""
        if let (access, definition, action) = scope,
           let predicate = try access.predicate(for: definition, action: action, alias: "r", pools: pools, binds: &binds) {
            scopeClause = " AND \(predicate)"
        }
        let sql = "SELECT \(Self.columns) FROM records r WHERE r.id = $1 AND r.entity = $2 \(deletedClause)\(scopeClause)\(lock ? " FOR UPDATE OF r" : "")"
        guard let record = try await Self.decode(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).first else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no \(entity) record \(id.uuidString.lowercased())\(deleted == true ? " in the recycle bin" : "")")
        }
        return record
    }

    public func get(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        let record = try await fetch(entityKey, id: id, deleted: false, scope: (actor.access, entity, .read), pools: true, on: connection, logger: logger)
        return actor.access.redact(record, entity: entity)
    }

    public struct Page: Sendable {
        public let records: [Record]
        /// Exact when `totalIsExact`; otherwise a lower bound (``RecordQuery/countCap``).
        public let total: Int
        public let limit: Int
        public let offset: Int
        public var totalIsExact = true
        /// For `after=` (keyset paging) when the page is full and sorted by a time column.
        public var nextCursor: String?
    }

    /// Lists live records (or the recycle bin) with filter, search, sort and paging.
    public func list(_ entityKey: String, query: RecordQuery, recycleBin: Bool = false, action: RecordAction = .read, as actor: Actor,
                     on connection: PostgresConnection, logger: Logger) async throws -> Page {
        let (fullEntity, all) = try await entity(entityKey, for: action, actor: actor, on: connection, logger: logger)
        // Hidden fields do not exist for this caller: not in filters, sorts or results.
        let entity = actor.access.visible(fullEntity)
        let limit = query.limit ?? 50
        let offset = query.offset ?? 0
        guard (1...RecordQuery.maxLimit).contains(limit) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "limit must be 1 to \(RecordQuery.maxLimit)", field: "limit")
        }
        guard (0...1_000_000).contains(offset) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "offset must be 0 to 1000000", field: "offset")
        }
        var compiler = QueryCompiler(entity: entity, entities: all)
        // tenant_id and entity as parameters the planner sees, leading the btree indexes.
        let tenantParam = compiler.bind(try await currentTenant(on: connection, logger: logger))
        compiler.tenantParam = tenantParam
        compiler.access = actor.access
        let entityParam = compiler.bind(entity.key)
        var conditions = ["r.tenant_id = \(tenantParam)", "r.entity = \(entityParam)",
                          recycleBin ? "r.deleted_at IS NOT NULL" : "r.deleted_at IS NULL"]
        if let predicate = try actor.access.predicate(for: fullEntity, action: recycleBin ? .delete : action, alias: "r", pools: query.pool != nil,
                                                      binds: &compiler.binds) {
            conditions.append(predicate)
        }
        if let pool = query.pool { conditions.append("r.pool_id = \(compiler.bind(pool))") }
        if let filter = query.filter, !filter.isNull {
            conditions.append(try compiler.condition(filter))
        }
        if let text = query.q?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard text.count <= 100 else { throw AtriumError(status: .badRequest, code: "invalid_query", message: "q must be at most 100 characters", field: "q") }
            guard !text.utf8.contains(0) else { throw AtriumError(status: .badRequest, code: "invalid_query", message: "q must not contain a NUL character", field: "q") }
            let escaped = text.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let pattern = compiler.bind("%\(escaped)%")
            conditions += SearchTokens(query: text).conditions(tenant: tenantParam, entity: entityParam, alias: "r") { compiler.bind($0) }
            let hiddenSearchable = fullEntity.searchableFields.count != entity.searchableFields.count
            if hiddenSearchable {
                // The stored search text includes fields this caller may not see; match the
                // visible searchable fields one by one so q= cannot probe a hidden value.
                let parts = entity.searchableFields.map { field -> String in
                    // Field keys are validated identifiers ([a-z][a-z0-9_]*), as in QueryCompiler.
                    switch field.type {
                    case .money: return "lower(r.data->'\(field.key)'->>'amount') LIKE \(pattern)"
                    default: return "lower(r.data->>'\(field.key)') LIKE \(pattern)"
                    }
                }
                conditions.append(parts.isEmpty ? "false" : "(" + parts.joined(separator: " OR ") + ")")
            } else {
                conditions.append("r.search LIKE \(pattern)")
            }
        }
        var keyset: (column: SystemField, descending: Bool)?
        if let cursor = query.after, !cursor.isEmpty {
            guard !recycleBin, let column = compiler.keysetColumn(query.sort) else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "after= pages a list sorted by created_at or updated_at (either direction)", field: "after")
            }
            guard let id = UUID(uuidString: cursor) else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "after must be the next_cursor of the previous page", field: "after")
            }
            guard offset == 0 else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "offset and after cannot be combined", field: "offset")
            }
            // The cursor record's own time, read in the statement (exact to the microsecond);
            // `<=`/`>=` lets the time index bound the scan, the OR breaks ties by id.
            let cursorParam = compiler.bind(id)
            let time = "(SELECT c.\(column.column.rawValue) FROM records c WHERE c.tenant_id = \(tenantParam) AND c.id = \(cursorParam))"
            let (past, tie) = column.descending ? ("<", "<=") : (">", ">=")
            conditions.append("(\(column.column.column) \(tie) \(time) AND (\(column.column.column) \(past) \(time) OR r.id > \(cursorParam)))")
            keyset = column
        } else if !recycleBin {
            keyset = compiler.keysetColumn(query.sort)
        }
        let order = recycleBin ? "r.deleted_at DESC, r.id" : try compiler.orderBy(query.sort)
        let whereClause = conditions.joined(separator: " AND ")
        let records: [Record]
        if !recycleBin, let (field, descending) = compiler.keyOrder(query.sort) {
            records = try await keyOrderedPage(field: field, descending: descending, whereClause: whereClause, order: order,
                                               tenant: tenantParam, entity: entityParam, limit: limit, offset: offset,
                                               binds: compiler.binds, on: connection, logger: logger)
        } else {
            let sql = "SELECT \(Self.columns) FROM records r WHERE \(whereClause) ORDER BY \(order) LIMIT \(limit) OFFSET \(offset)"
            records = try await Self.decode(connection.query(PostgresQuery(unsafeSQL: sql, binds: compiler.binds), logger: logger))
        }
        let exact = try query.wantsExactCount()
        var total = offset + records.count
        var totalIsExact = true
        // A short page that starts at 0 is its own total: no count statement.
        if offset > 0 || records.count == limit {
            let counted = exact ? "SELECT count(*)::int FROM records r WHERE \(whereClause)"
                : "SELECT count(*)::int FROM (SELECT 1 FROM records r WHERE \(whereClause) LIMIT \(RecordQuery.countCap + 1)) capped"
            let countRows = try await connection.query(PostgresQuery(unsafeSQL: counted, binds: compiler.binds), logger: logger)
            let count = try await countRows.collect().first?.decode(Int.self) ?? 0
            if !exact && count > RecordQuery.countCap {
                total = max(RecordQuery.countCap, offset + records.count)
                totalIsExact = false
            } else {
                total = count
            }
        }
        var page = Page(records: records.map { actor.access.redact($0, entity: fullEntity) }, total: total, limit: limit, offset: offset,
                        totalIsExact: totalIsExact)
        if keyset != nil, records.count == limit, let last = records.last { page.nextCursor = last.id.uuidString.lowercased() }
        return page
    }

    /// A page sorted by a filterable field, read in the order of its `record_index` keys (the
    /// index `record_index_lookup` walks them sorted, so the page stops after `offset + limit`
    /// matches instead of sorting every match); records without a value follow, as `NULLS
    /// LAST` puts them, read only when the keyed ones run out before the page is full.
    func keyOrderedPage(field: FieldDefinition, descending: Bool, whereClause: String, order: String, tenant: String, entity: String,
                        limit: Int, offset: Int, binds: PostgresBindings, on connection: PostgresConnection, logger: Logger) async throws -> [Record] {
        // Field keys are validated identifiers ([a-z][a-z0-9_]*), as in QueryCompiler.
        let keyed = """
            FROM record_index sk JOIN records r ON r.tenant_id = sk.tenant_id AND r.id = sk.record_id
            WHERE sk.tenant_id = \(tenant) AND sk.entity = \(entity) AND sk.field = '\(field.key)' AND \(whereClause)
            """
        var records = try await Self.decode(connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.columns) \(keyed) ORDER BY sk.key \(descending ? "DESC" : "ASC"), \(order) LIMIT \(limit) OFFSET \(offset)",
            binds: binds), logger: logger))
        guard records.count < limit else { return records }
        // The keyed matches ended on this page (or before it): continue with the keyless ones.
        var keyedCount = offset + records.count
        if records.isEmpty && offset > 0 {
            keyedCount = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int \(keyed)", binds: binds), logger: logger)
                .collect().first?.decode(Int.self) ?? 0
        }
        let keyless = """
            SELECT \(Self.columns) FROM records r WHERE \(whereClause) AND NOT EXISTS (SELECT 1 FROM record_index nk
                WHERE nk.tenant_id = r.tenant_id AND nk.record_id = r.id AND nk.field = '\(field.key)')
            ORDER BY \(order) LIMIT \(limit - records.count) OFFSET \(max(0, offset - keyedCount))
            """
        records += try await Self.decode(connection.query(PostgresQuery(unsafeSQL: keyless, binds: binds), logger: logger))
        return records
    }

    func currentTenant(on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        try await TenantScope.current(on: connection, logger: logger)
    }

    // MARK: Writing

    /// Creates a record; `action` is `.import` when the record comes from a file import (the
    /// caller then needs the import right rather than the create right).
    public func create(_ entityKey: String, values input: [String: JSONValue], action: RecordAction = .create, as actor: Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await entity(entityKey, for: action, actor: actor, on: connection, logger: logger)
        try checkWritable(input, entity: entity, actor: actor)
        if !entity.referenceData {
            try await PlanLimits.checkRecords(excluding: moduleEntities.filter(\.referenceData).map(\.key), on: connection, logger: logger)
        }
        var input = input
        try actor.access.checkDimension(&input, entity: entity, isCreate: true)
        let owner = try await takeOwner(&input, default: actor.user.id, on: connection, logger: logger)
        let context = HookContext(entity: entity, actor: actor, engine: self, connection: connection, logger: logger)
        var write = RecordWrite(entity: entity, isCreate: true, values: input, existing: nil, context: context)
        for hook in hooks.callAll(for: entity.key) { try await hook.beforeValidate(&write) }
        var data = try await validate(write.values, entity: entity, isCreate: true, actor: actor, on: connection, logger: logger)
        for field in entity.activeFields where field.type == .autoNumber {
            data[field.key] = .string(try await nextNumber(entity: entity.key, field: field, on: connection, logger: logger))
        }
        data = data.filter { !$0.value.isNull }
        let tenantID = try await currentTenant(on: connection, logger: logger)
        var binds = PostgresBindings()
        binds.append(tenantID)
        binds.append(entity.key)
        binds.append(owner)
        binds.append(actor.user.id)
        binds.append(JSONValue.object(data).jsonText)
        binds.append(Self.searchText(entity: entity, data: data))
        let sql = """
            INSERT INTO records AS r (tenant_id, entity, owner_id, department_id, created_by, updated_by, data, search)
            VALUES ($1, $2, $3, (SELECT department_id FROM users WHERE id = $3), $4, $4, $5::jsonb, $6) RETURNING \(Self.columns)
            """
        let record = try await Self.decode(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).firstRow()
        try await FieldIndex.sync(record, entity: entity, tenantID: tenantID, isNew: true, on: connection, logger: logger)
        let changes = data.mapValues { JSONValue.object(["before": .null, "after": $0]) }
        try await audit("record.created", record: record, changes: changes, actor: actor, on: connection, logger: logger)
        for hook in hooks.callAll(for: entity.key) { try await hook.afterCreate(record, context: context) }
        let automated = try await Automation.fire(.created, record: record, entity: entity, actor: actor, engine: self, on: connection, logger: logger)
        return actor.access.redact(try await reloadAfterHooks(record, force: automated, on: connection, logger: logger), entity: entity)
    }

    /// The record as stored after its after-hooks and automation rules ran (they may have
    /// changed it, e.g. an order's totals), so the caller gets the current version.
    func reloadAfterHooks(_ record: Record, force: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Record {
        guard force || !hooks.callAll(for: record.entity).isEmpty else { return record }
        return try await fetch(record.entity, id: record.id, deleted: false, on: connection, logger: logger)
    }

    /// Partial update with optimistic locking: `expectedVersion` must be the stored version.
    public func update(_ entityKey: String, id: UUID, values input: [String: JSONValue], expectedVersion: Int?, as actor: Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await entity(entityKey, for: .update, actor: actor, on: connection, logger: logger)
        guard let expectedVersion else {
            throw AtriumError.validation(field: "version", "is required: send the version you last read, so a concurrent change is not overwritten")
        }
        let existing = try await fetch(entity.key, id: id, deleted: false, lock: true, scope: (actor.access, entity, .update), on: connection, logger: logger)
        try checkWritable(input, entity: entity, actor: actor)
        try await checkApprovalLock(existing, deleting: false, actor: actor, on: connection, logger: logger)
        guard existing.version == expectedVersion else {
            throw AtriumError(status: .conflict, code: "version_conflict",
                              message: "this record was changed by someone else: current version is \(existing.version), you sent \(expectedVersion); reload and apply your change again",
                              field: "version")
        }
        var input = input
        try actor.access.checkDimension(&input, entity: entity, isCreate: false)
        // A record waiting in a pool keeps no owner until one is named (assigning it from the pool).
        let owner: UUID? = existing.poolID != nil && input["owner_id"] == nil
            ? nil : try await takeOwner(&input, default: existing.ownerID ?? actor.user.id, on: connection, logger: logger)
        let context = HookContext(entity: entity, actor: actor, engine: self, connection: connection, logger: logger)
        var write = RecordWrite(entity: entity, isCreate: false, values: input, existing: existing, context: context)
        for hook in hooks.callAll(for: entity.key) { try await hook.beforeValidate(&write) }
        let changes = try await validate(write.values, entity: entity, isCreate: false, actor: actor, on: connection, logger: logger)
        var data = existing.values
        var diff: [String: JSONValue] = [:]
        for (key, value) in changes where (data[key] ?? .null) != value {
            diff[key] = .object(["before": data[key] ?? .null, "after": value])
            data[key] = value.isNull ? nil : value
        }
        if owner != existing.ownerID {
            diff["owner_id"] = .object(["before": existing.ownerID.map { .string($0.uuidString.lowercased()) } ?? .null,
                                        "after": owner.map { .string($0.uuidString.lowercased()) } ?? .null])
        }
        guard !diff.isEmpty else { return actor.access.redact(existing, entity: entity) }
        let tenantID = try await currentTenant(on: connection, logger: logger)
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(JSONValue.object(data).jsonText)
        binds.append(Self.searchText(entity: entity, data: data))
        binds.append(actor.user.id)
        binds.append(owner)
        let sql = """
            UPDATE records r SET data = $2::jsonb, search = $3, updated_by = $4, updated_at = now(), owner_id = $5, version = version + 1,
                department_id = CASE WHEN r.owner_id IS DISTINCT FROM $5 THEN (SELECT department_id FROM users WHERE id = $5) ELSE r.department_id END,
                pool_id = CASE WHEN $5::uuid IS NULL THEN r.pool_id END
            WHERE r.id = $1 RETURNING \(Self.columns)
            """
        let record = try await Self.decode(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).firstRow()
        try await FieldIndex.sync(record, entity: entity, tenantID: tenantID, isNew: false, on: connection, logger: logger)
        try await audit("record.updated", record: record, changes: diff, actor: actor, on: connection, logger: logger)
        if let pool = existing.poolID, let owner {
            try await RecordPools.logMoves([PoolMove(pool: pool, entity: entity.key, record: id, kind: .assigned, from: nil, to: owner)],
                                           actor: actor.user.id, at: nil, on: connection, logger: logger)
        }
        for hook in hooks.callAll(for: entity.key) { try await hook.afterUpdate(record, previous: existing, context: context) }
        let automated = try await Automation.fire(.updated(previous: existing), record: record, entity: entity, actor: actor, engine: self,
                                                  on: connection, logger: logger)
        return actor.access.redact(try await reloadAfterHooks(record, force: automated, on: connection, logger: logger), entity: entity)
    }

    /// Takes the row lock of a live record until the transaction ends, so rules that
    /// recompute it from its children (order totals from receipts) run one at a time.
    public func lock(_ entityKey: String, id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await fetch(entityKey, id: id, deleted: false, lock: true, on: connection, logger: logger)
    }

    /// Soft delete into the recycle bin.
    public func delete(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let (entity, _) = try await entity(entityKey, for: .delete, actor: actor, on: connection, logger: logger)
        let existing = try await fetch(entity.key, id: id, deleted: false, lock: true, scope: (actor.access, entity, .delete), on: connection, logger: logger)
        try await checkApprovalLock(existing, deleting: true, actor: actor, on: connection, logger: logger)
        let context = HookContext(entity: entity, actor: actor, engine: self, connection: connection, logger: logger)
        for hook in hooks.callAll(for: entity.key) { try await hook.beforeDelete(existing, context: context) }
        try await connection.query("""
            UPDATE records SET deleted_at = now(), deleted_by = \(actor.user.id), version = version + 1 WHERE id = \(id)
            """, logger: logger)
        try await FieldIndex.releaseUnique(existing, tenantID: try await currentTenant(on: connection, logger: logger), on: connection, logger: logger)
        try await audit("record.deleted", record: existing, changes: [:], actor: actor, on: connection, logger: logger)
        for hook in hooks.callAll(for: entity.key) { try await hook.afterDelete(existing, context: context) }
    }

    public func restore(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> Record {
        let (entity, _) = try await entity(entityKey, for: .delete, actor: actor, on: connection, logger: logger)
        _ = try await fetch(entity.key, id: id, deleted: true, lock: true, scope: (actor.access, entity, .delete), on: connection, logger: logger)
        let tenantID = try await currentTenant(on: connection, logger: logger)
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(actor.user.id)
        let record = try await Self.decode(connection.query(PostgresQuery(unsafeSQL: """
            UPDATE records r SET deleted_at = NULL, deleted_by = NULL, updated_by = $2, updated_at = now(), version = version + 1
            WHERE r.id = $1 RETURNING \(Self.columns)
            """, binds: binds), logger: logger)).firstRow()
        // A value another record took while this one was in the bin → 422 duplicate_value.
        try await FieldIndex.claimUnique(record, entity: entity, tenantID: tenantID, fields: entity.fields.filter(\.unique), on: connection, logger: logger)
        try await audit("record.restored", record: record, changes: [:], actor: actor, on: connection, logger: logger)
        let context = HookContext(entity: entity, actor: actor, engine: self, connection: connection, logger: logger)
        for hook in hooks.callAll(for: entity.key) { try await hook.afterRestore(record, context: context) }
        return actor.access.redact(record, entity: entity)
    }

    /// Hard delete of a record already in the recycle bin (administrators only; the route checks).
    public func purge(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let (entity, _) = try await entity(entityKey, on: connection, logger: logger)
        let existing = try await fetch(entity.key, id: id, deleted: true, lock: true, on: connection, logger: logger)
        try await connection.query("DELETE FROM records WHERE id = \(id)", logger: logger)
        let snapshot = existing.values.mapValues { JSONValue.object(["before": $0, "after": .null]) }
        try await audit("record.purged", record: existing, changes: snapshot, actor: actor, on: connection, logger: logger)
    }

    public struct HistoryEntry: Sendable, Encodable {
        public let at: Date
        public let actor: String
        public let action: String
        public let details: JSONValue
        public let requestID: String?
    }

    /// The record's audit trail, oldest first (also for purged or deleted records).
    public func history(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> [HistoryEntry] {
        let (entity, _) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        if !actor.access.unrestricted {
            // In the bin or not, the record must be in the caller's read scope (purged: administrators only).
            _ = try await fetch(entityKey, id: id, deleted: nil, scope: (actor.access, entity, .read), on: connection, logger: logger)
        }
        var entries: [HistoryEntry] = []
        let access = actor.access
        for try await (at, actor, action, details, requestID) in try await connection.query("""
            SELECT at, actor, action, details::text, request_id FROM audit_log
            WHERE entity = \(entityKey) AND record_id = \(id.uuidString.lowercased()) ORDER BY id
            """, logger: logger).decode((Date, String, String, String, String?).self) {
            entries.append(HistoryEntry(at: at, actor: actor, action: action, details: Self.redact(try JSONValue.parse(details), entity: entity, access: access),
                                        requestID: requestID))
        }
        guard !entries.isEmpty else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no \(entityKey) record \(id.uuidString.lowercased())")
        }
        return entries
    }

    // MARK: Helpers

    /// Validates and normalises the given values; on create also applies defaults and
    /// checks required fields that were not sent.
    func validate(_ input: [String: JSONValue], entity: EntityDefinition, isCreate: Bool, actor: Actor,
                  on connection: PostgresConnection, logger: Logger) async throws -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for key in input.keys.sorted() {
            let (field, normalised) = try Self.normalised(input[key]!, key: key, entity: entity)
            if !normalised.isNull {
                try await checkReference(normalised, field: field, actor: actor, on: connection, logger: logger)
            }
            result[key] = normalised
        }
        if isCreate { try Self.applyDefaults(&result, entity: entity) }
        return result
    }

    /// One sent value in stored form, or the error naming its field: the checks of ``validate``
    /// that need no database (the set-wise import runs them on every row without SQL).
    static func normalised(_ value: JSONValue, key: String, entity: EntityDefinition) throws -> (FieldDefinition, JSONValue) {
        guard let field = entity.field(key), !MetadataStore.reservedKeys.contains(key) else {
            if MetadataStore.reservedKeys.contains(key) {
                throw AtriumError(status: .unprocessableContent, code: "read_only", message: "\(key) is set by the system and cannot be written", field: key)
            }
            throw AtriumError(status: .unprocessableContent, code: "unknown_field", message: "\(entity.key) has no field '\(key)'", field: key)
        }
        return (field, try normalised(value, field: field))
    }

    /// ``normalised(_:key:entity:)`` for a field already looked up.
    static func normalised(_ value: JSONValue, field: FieldDefinition) throws -> JSONValue {
        let key = field.key
        if MetadataStore.reservedKeys.contains(key) {
            throw AtriumError(status: .unprocessableContent, code: "read_only", message: "\(key) is set by the system and cannot be written", field: key)
        }
        guard field.active else {
            throw AtriumError(status: .unprocessableContent, code: "inactive_field", message: "\(key) is deactivated and cannot be written", field: key)
        }
        let normalised = try FieldValidator.normalise(value, for: field)
        if field.required && normalised.isNull {
            throw AtriumError(status: .unprocessableContent, code: "required", message: "\(key) is required", field: key)
        }
        return normalised
    }

    /// On create: the defaults of fields that were not sent, then the required ones still empty.
    static func applyDefaults(_ result: inout [String: JSONValue], entity: EntityDefinition) throws {
        try applyDefaults(&result, fields: defaultedFields(of: entity))
    }

    /// The fields ``applyDefaults(_:entity:)`` looks at: active ones with a default or required.
    static func defaultedFields(of entity: EntityDefinition) -> [FieldDefinition] {
        entity.fields.filter { $0.active && $0.type != .autoNumber && ($0.defaultValue != nil || $0.required) }
    }

    static func applyDefaults(_ result: inout [String: JSONValue], fields: [FieldDefinition]) throws {
        for field in fields where result[field.key] == nil {
            if let defaultValue = field.defaultValue {
                result[field.key] = try FieldValidator.normalise(defaultValue, for: field)
            }
            if field.required && (result[field.key] ?? .null).isNull {
                throw AtriumError(status: .unprocessableContent, code: "required", message: "\(field.key) is required", field: field.key)
            }
        }
    }

    /// Lookups must point at a live record of the target entity in this tenant (RLS hides
    /// other tenants' records, so those fail the same way) that the actor may read (a lookup
    /// is not a way to learn that a record outside one's scope exists); users must be active
    /// users, departments departments of the tenant.
    func checkReference(_ value: JSONValue, field: FieldDefinition, actor: Actor? = nil, on connection: PostgresConnection, logger: Logger) async throws {
        guard let text = value.stringValue, let id = UUID(uuidString: text) else { return }
        let found: Bool
        switch field.type {
        case .lookup:
            let target = field.target ?? ""
            if let targetEntity = try await entities(on: connection, logger: logger)[target] {
                found = try await absentIfNotFound({ try await fetch(target, id: id, deleted: false, scope: (actor?.access ?? .system, targetEntity, .read),
                                                                     on: connection, logger: logger) }) != nil
            } else {
                found = false
            }
        case .user:
            found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(id) AND is_active", logger: logger)
                .collect().first?.decode(Int.self) ?? 0 > 0
        case .department:
            found = try await connection.query("SELECT count(*)::int FROM departments WHERE id = \(id)", logger: logger)
                .collect().first?.decode(Int.self) ?? 0 > 0
        default:
            return
        }
        if !found { throw Self.missingReference(field, text) }
    }

    /// What ``checkReference`` says when the id names nothing the field may point at.
    static func missingReference(_ field: FieldDefinition, _ text: String) -> AtriumError {
        let what: String
        switch field.type {
        case .user: what = "active user"
        case .department: what = "department"
        default: what = "\(field.target ?? "") record"
        }
        return AtriumError(status: .unprocessableContent, code: "invalid_field", message: "\(field.key): no \(what) \(text)", field: field.key)
    }

    /// Removes `owner_id` from the values and checks it names an active user.
    func takeOwner(_ input: inout [String: JSONValue], default owner: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        guard let id = try Self.takeOwnerValue(&input) else { return owner }
        try await checkReference(.string(id.uuidString.lowercased()), field: Self.ownerField, on: connection, logger: logger)
        return id
    }

    /// `owner_id` as a field, for its checks and messages.
    static let ownerField: FieldDefinition = {
        var field = FieldDefinition(key: "owner_id", labels: [:], type: .user)
        field.required = true
        return field
    }()

    /// Removes `owner_id` from the values: nil when it was not sent, else the id it names
    /// (not yet checked against the users).
    static func takeOwnerValue(_ input: inout [String: JSONValue]) throws -> UUID? {
        guard let value = input.removeValue(forKey: "owner_id") else { return nil }
        let normalised = try FieldValidator.normalise(value, for: ownerField)
        guard let text = normalised.stringValue, let id = UUID(uuidString: text) else {
            throw AtriumError(status: .unprocessableContent, code: "required", message: "owner_id is required", field: "owner_id")
        }
        return id
    }

    func nextNumber(entity: String, field: FieldDefinition, on connection: PostgresConnection, logger: Logger) async throws -> String {
        try await autoNumbers(entity: entity, field: field, count: 1, on: connection, logger: logger).text(0)
    }

    /// `count` consecutive numbers of an auto-number field, drawn from `record_counters` in one
    /// statement (the counter row stays locked until the transaction ends, so no one else's
    /// numbers fall in between).
    func autoNumbers(entity: String, field: FieldDefinition, count: Int, now: Date = Date(),
                     on connection: PostgresConnection, logger: Logger) async throws -> AutoNumbers {
        let format = field.format ?? "{seq:5}"
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month], from: now)
        let year = String(format: "%04d", parts.year ?? 0), month = String(format: "%02d", parts.month ?? 0)
        let period = format.contains("{MM}") ? "\(year)-\(month)" : format.contains("{YYYY}") ? year : "all"
        let last = try await connection.query("""
            INSERT INTO record_counters (tenant_id, entity, field, period, value)
            VALUES ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(entity), \(field.key), \(period), \(Int64(count)))
            ON CONFLICT (tenant_id, entity, field, period) DO UPDATE SET value = record_counters.value + \(Int64(count))
            RETURNING value
            """, logger: logger).one(Int64.self)
        return AutoNumbers(template: format.replacingOccurrences(of: "{YYYY}", with: year).replacingOccurrences(of: "{MM}", with: month),
                           first: last - Int64(count) + 1)
    }

    /// A block of drawn auto-numbers and how they are written: `PRJ-2026-{seq:4}` → `PRJ-2026-0042`.
    struct AutoNumbers: Sendable {
        let prefix: Substring
        let suffix: Substring
        let width: Int
        let hasSequence: Bool
        let first: Int64

        init(template: String, first: Int64) {
            self.first = first
            if let range = template.range(of: #"\{seq(:\d+)?\}"#, options: .regularExpression) {
                prefix = template[..<range.lowerBound]
                suffix = template[range.upperBound...]
                width = Int(template[range].dropFirst(5).dropLast()) ?? 1
                hasSequence = true
            } else {
                prefix = Substring(template)
                suffix = ""
                width = 0
                hasSequence = false
            }
        }

        /// The `offset`-th number of the block (0 is the first).
        func text(_ offset: Int) -> String {
            guard hasSequence else { return String(prefix) }
            let digits = String(first + Int64(offset))
            return String(prefix) + String(repeating: "0", count: max(0, width - digits.count)) + digits + String(suffix)
        }
    }

    /// Lower-cased text of the searchable fields, matched with LIKE (trigram-indexed).
    static func searchText(entity: EntityDefinition, data: [String: JSONValue]) -> String {
        searchText(fields: entity.searchableFields, data: data)
    }

    /// ``searchText(entity:data:)`` with the entity's searchable fields looked up once.
    static func searchText(fields: [FieldDefinition], data: [String: JSONValue]) -> String {
        fields.compactMap { field -> String? in
            switch data[field.key] {
            case .string(let text)?: return text
            case .object(let money)?: return money["amount"]?.stringValue
            case .array(let items)?: return items.compactMap(\.stringValue).joined(separator: " ")
            default: return nil
            }
        }.joined(separator: " ").lowercased()
    }

    func audit(_ action: String, record: Record, changes: [String: JSONValue], actor: Actor,
               on connection: PostgresConnection, logger: Logger) async throws {
        let tenantID = try await currentTenant(on: connection, logger: logger)
        var details = ["version": "\(record.version)"]
        // Administrators act outside any data scope: say so in the trail.
        if actor.access.unrestricted && actor.access.userID != nil { details["admin_bypass"] = "true" }
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: record.entity, recordID: record.id.uuidString.lowercased(),
                                        details: details, changes: changes, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
        // Whatever is audited is also offered to the tenant's webhooks, in the same transaction.
        var data = record.json
        if action == "record.updated", case .object(var object) = data {
            object["changes"] = .object(changes)
            data = .object(object)
        }
        try await Webhooks.offer(entity: record.entity, action: String(action.dropFirst("record.".count)), data: data, actorID: actor.user.id,
                                 on: connection, logger: logger)
    }

    /// An audit entry's details without the before/after of fields hidden from the caller.
    static func redact(_ details: JSONValue, entity: EntityDefinition, access: AccessContext) -> JSONValue {
        guard !access.unrestricted, case .object(var object) = details, case .object(var changes)? = object["changes"] else { return details }
        for key in changes.keys where access.fieldAccess(entity, key) == .hidden { changes[key] = nil }
        object["changes"] = .object(changes)
        return .object(object)
    }
}

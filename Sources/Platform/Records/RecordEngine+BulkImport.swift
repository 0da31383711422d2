import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Set-wise CSV import (issue 14): a file of 100 000 rows in one request, one transaction,
/// all or nothing, with the same checks and the same rows written as ``RecordEngine/create``
/// gives each record — but without a round trip per row.
///
/// - **In Swift, on every row, without SQL:** the checks `create` makes before its first
///   statement, in its order and with its functions: field permissions, the management
///   dimension (``AccessContext/checkDimension(_:entity:isCreate:)``), the owner column,
///   ``RecordEngine/normalised(_:key:entity:)`` (types, lengths, picklists, patterns, required)
///   and defaults. The rows are checked in chunks on every core.
/// - **Set-wise in PostgreSQL, one statement per check:** lookups (the target record must be
///   live and readable by the importer), users (active) and departments named by the file,
///   and unique values against `record_unique`; uniqueness within the file is a dictionary.
/// - **One of each for the tenant:** the plan's record limit for the whole file, a block of
///   auto-numbers per auto-number field (``RecordEngine/autoNumbers(entity:field:count:now:on:logger:)``).
/// - **Writes:** while the rows are checked, their records, index keys and unique claims
///   stream through `COPY` into one temporary staging table (COPY into `records` itself is
///   refused under RLS); then one `INSERT … SELECT` each into `records` (the owner's
///   department joined from `users`), `record_index`, `record_unique` and `audit_log` (one
///   `record.created` entry per record, as `create` writes). The search-token trigger runs
///   once for the statement.
///
/// Problems are reported as before, one per row (the first found: the Swift checks, then
/// references, then unique values), the first 50 by line; nothing is written. A dry run
/// checks without the staging table and keeps nothing.
///
/// Only for entities without module rules (``RecordHooks``) or an approval binding: rules
/// such as the sales duplicate check look at one record at a time, so those entities keep
/// the row-by-row import (``RecordEngine/importRowWise(_:columns:rows:dryRun:as:on:logger:)``).
extension RecordEngine {
    /// Whether an import into `entity` may take the set-wise path (see the extension's notes).
    func importsSetWise(_ entity: EntityDefinition) -> Bool {
        hooks.callAll(for: entity.key).isEmpty && approvalBinding(for: entity) == nil
    }

    /// Imports `rows` (the file's data rows, line 2 first) into `entity` (the full definition),
    /// returning the new records' ids in file order; throws `import_failed` listing bad rows,
    /// or ``DryRunFinished``.
    func importSetWise(_ entity: EntityDefinition, columns: [FieldDefinition?], rows: ArraySlice<[String]>, dryRun: Bool,
                       as actor: Actor, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var timing = ImportTiming()
        let tenantID = try await currentTenant(on: connection, logger: logger)
        if !entity.referenceData {
            try await PlanLimits.checkRecords(adding: rows.count, excluding: moduleEntities.filter(\.referenceData).map(\.key),
                                              on: connection, logger: logger)
        }
        // Drawn before the rows are checked (their text goes into the rows); a refused file
        // or a dry run rolls the counters back with everything else.
        var numbers: [ImportPlan.Numbering] = []
        for field in entity.activeFields where field.type == .autoNumber {
            numbers.append(.init(key: field.key, block: try await autoNumbers(entity: entity.key, field: field, count: rows.count,
                                                                               on: connection, logger: logger)))
        }
        let plan = ImportPlan(entity: entity, columns: columns, numbers: numbers, actor: actor)
        var outcome = ImportOutcome()
        timing.lap("limit_numbers")
        if dryRun {
            try await plan.prepare(rows) { outcome.add($0) }
        } else {
            try await connection.query(PostgresQuery(unsafeSQL: ImportPlan.createStaging), logger: logger)
            try await connection.copyFrom(table: ImportPlan.staging, columns: ImportPlan.stagingColumns, logger: logger) { writer in
                try await plan.prepare(rows) { chunk in
                    outcome.add(chunk)
                    // After the first bad row nothing will be written: stop sending, keep checking.
                    if outcome.problems.isEmpty { try await writer.write(ByteBuffer(string: chunk.copy)) }
                }
            }
        }
        timing.lap(dryRun ? "check_rows" : "check_rows_copy")
        try await checkReferences(&outcome, plan: plan, tenantID: tenantID, actor: actor, on: connection, logger: logger)
        timing.lap("references")
        try await checkUnique(&outcome, plan: plan, tenantID: tenantID, on: connection, logger: logger)
        timing.lap("unique")
        if !outcome.problems.isEmpty {
            let problems = outcome.problems.values.sorted { ($0.row ?? 0) < ($1.row ?? 0) }
            throw AtriumError(status: .unprocessableContent, code: "import_failed",
                              message: "\(problems.count) of \(rows.count) rows are not valid; nothing was imported",
                              field: problems.first?.field, details: Array(problems.prefix(50)))
        }
        if dryRun {
            timing.log(entity: entity.key, rows: rows.count, dryRun: true, logger: logger)
            throw DryRunFinished(created: outcome.ids.count)
        }
        try await writeStaged(plan: plan, claims: outcome.claims.count, tenantID: tenantID, actor: actor, timing: &timing, on: connection, logger: logger)
        if rows.count >= ImportPlan.analyzeFromRows {
            // See migration 14: without statistics for the new rows a filtered list could take seconds to minutes.
            try await connection.query("SELECT atrium_analyze_after_import()", logger: logger)
            timing.lap("analyze")
        }
        timing.log(entity: entity.key, rows: rows.count, dryRun: false, logger: logger)
        return outcome.ids
    }

    /// Lookups, users and departments the file names, one statement per kind of target.
    func checkReferences(_ outcome: inout ImportOutcome, plan: ImportPlan, tenantID: UUID, actor: Actor,
                         on connection: PostgresConnection, logger: Logger) async throws {
        guard !outcome.references.isEmpty else { return }
        var wanted = [Set<UUID>](repeating: [], count: plan.references.count)
        for reference in outcome.references { wanted[reference.kind].insert(reference.id) }
        var found = [Set<UUID>](repeating: [], count: plan.references.count)
        func ids(_ rows: PostgresRowSequence) async throws -> Set<UUID> {
            var result = Set<UUID>()
            for try await id in rows.decode(UUID.self) { result.insert(id) }
            return result
        }
        // Every user field and the owner column against one statement, departments the same.
        for type in [FieldType.user, .department] {
            let kinds = plan.references.indices.filter { plan.references[$0].type == type }
            let asked = Array(kinds.reduce(into: Set<UUID>()) { $0.formUnion(wanted[$1]) })
            guard !asked.isEmpty else { continue }
            let sql: PostgresQuery = type == .user
                ? "SELECT id FROM users WHERE id = ANY(\(asked)::uuid[]) AND is_active"
                : "SELECT id FROM departments WHERE id = ANY(\(asked)::uuid[])"
            let present = try await ids(connection.query(sql, logger: logger))
            for kind in kinds { found[kind] = present }
        }
        // Lookups per target entity, under the importer's read scope of the target.
        let all = try await entities(on: connection, logger: logger)
        let lookups = Dictionary(grouping: plan.references.indices.filter { plan.references[$0].type == .lookup }) { plan.references[$0].target ?? "" }
        for (target, kinds) in lookups {
            let asked = Array(kinds.reduce(into: Set<UUID>()) { $0.formUnion(wanted[$1]) })
            guard !asked.isEmpty, let targetEntity = all[target] else { continue }
            var binds = PostgresBindings()
            binds.append(tenantID)
            binds.append(target)
            binds.append(asked)
            var sql = "SELECT r.id FROM records r WHERE r.tenant_id = $1 AND r.entity = $2 AND r.id = ANY($3::uuid[]) AND r.deleted_at IS NULL"
            if let predicate = try actor.access.predicate(for: targetEntity, action: .read, alias: "r", binds: &binds) {
                sql += " AND \(predicate)"
            }
            let present = try await ids(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
            for kind in kinds { found[kind] = present }
        }
        for reference in outcome.references where !found[reference.kind].contains(reference.id) {
            let field = plan.references[reference.kind]
            outcome.report(RecordEngine.missingReference(field, reference.id.uuidString.lowercased()), line: reference.line)
        }
    }

    /// Unique values: a later row repeating an earlier one's, then values other records hold
    /// (one statement per unique field), for rows with no problem so far.
    func checkUnique(_ outcome: inout ImportOutcome, plan: ImportPlan, tenantID: UUID,
                     on connection: PostgresConnection, logger: Logger) async throws {
        guard !outcome.claims.isEmpty else { return }
        var first = [[String: Int]](repeating: [:], count: plan.unique.count)
        for claim in outcome.claims where outcome.problems[claim.line] == nil {
            if let earlier = first[claim.field][claim.key] {
                let key = plan.unique[claim.field].key
                outcome.report(AtriumError(status: .unprocessableContent, code: "duplicate_value",
                                           message: "\(key): row \(earlier) of the file has the same value", field: key), line: claim.line)
            } else {
                first[claim.field][claim.key] = claim.line
            }
        }
        for (index, field) in plan.unique.enumerated() where !first[index].isEmpty {
            let keys = Array(first[index].keys)
            var taken = Set<String>()
            for try await key in try await connection.query("""
                SELECT key FROM record_unique WHERE tenant_id = \(tenantID) AND entity = \(plan.entity.key) AND field = \(field.key)
                    AND key = ANY(\(keys)::text[])
                """, logger: logger).decode(String.self) {
                taken.insert(key)
            }
            for (key, line) in first[index] where taken.contains(key) {
                outcome.report(FieldIndex.duplicateValue(field.key, entity: plan.entity.key), line: line)
            }
        }
    }

    /// From the staging table into the tenant's tables, one statement each.
    func writeStaged(plan: ImportPlan, claims: Int, tenantID: UUID, actor: Actor, timing: inout ImportTiming,
                     on connection: PostgresConnection, logger: Logger) async throws {
        let entity = plan.entity.key, user = actor.user.id
        let staging = ImportPlan.staging
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO records (tenant_id, id, entity, owner_id, department_id, created_by, updated_by, data, search)
            SELECT $1, s.id, $2, s.owner_id, u.department_id, $3, $3, s.data, s.search
            FROM \(staging) s LEFT JOIN users u ON u.id = s.owner_id WHERE s.kind = 'r'
            """, binds: Self.binds(tenantID, entity, user)), logger: logger)
        timing.lap("insert_records")  // with the search-token trigger
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO record_index (tenant_id, record_id, entity, field, key)
            SELECT $1, s.id, $2, s.field, s.key FROM \(staging) s WHERE s.kind = 'i'
            """, binds: Self.binds(tenantID, entity)), logger: logger)
        timing.lap("insert_index_keys")
        if claims > 0 {
            // Checked above; a value someone else claimed since (in a transaction that
            // committed meanwhile) is skipped here and refuses the file.
            let claimed = try await connection.query(PostgresQuery(unsafeSQL: """
                WITH claimed AS (
                    INSERT INTO record_unique (tenant_id, entity, field, key, record_id)
                    SELECT $1, $2, s.field, s.key, s.id FROM \(staging) s WHERE s.kind = 'u'
                    ON CONFLICT DO NOTHING RETURNING 1)
                SELECT count(*)::int FROM claimed
                """, binds: Self.binds(tenantID, entity)), logger: logger).one(Int.self)
            if claimed != claims {
                throw AtriumError(status: .conflict, code: "duplicate_value",
                                  message: "another record took a unique value of this file while it was imported; nothing was imported, try again")
            }
            timing.lap("insert_unique_claims")
        }
        var audit = Self.binds(tenantID, entity, user)
        audit.append(actor.user.email)
        audit.append(actor.ip)
        audit.append(actor.requestID)
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO audit_log (tenant_id, actor_user_id, actor, action, entity, record_id, details, ip, request_id)
            SELECT $1, $3, $4, 'record.created', $2, s.id::text, s.audit, $5, $6 FROM \(staging) s WHERE s.kind = 'r'
            """, binds: audit), logger: logger)
        timing.lap("insert_audit")
        // Gone at commit anyway; dropped now so a second import in this transaction can stage.
        try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(staging)"), logger: logger)
    }

    static func binds(_ tenantID: UUID, _ entity: String, _ user: UUID? = nil) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(tenantID)
        binds.append(entity)
        if let user { binds.append(user) }
        return binds
    }
}

/// Seconds per stage of one set-wise import, logged once at its end (info: an import is rare
/// and large, and this line is how to tell where its time went).
struct ImportTiming {
    let clock = ContinuousClock()
    let started: ContinuousClock.Instant
    var last: ContinuousClock.Instant
    var stages: [(String, Duration)] = []

    init() {
        started = clock.now
        last = started
    }

    mutating func lap(_ stage: String) {
        let now = clock.now
        stages.append((stage, now - last))
        last = now
    }

    func log(entity: String, rows: Int, dryRun: Bool, logger: Logger) {
        func seconds(_ duration: Duration) -> String {
            let (whole, fraction) = duration.components
            return String(format: "%.3f", Double(whole) + Double(fraction) / 1e18)
        }
        var metadata: Logger.Metadata = ["entity": "\(entity)", "rows": "\(rows)", "dry_run": "\(dryRun)",
                                         "seconds": "\(seconds(clock.now - started))"]
        for (stage, duration) in stages { metadata["s_\(stage)"] = "\(seconds(duration))" }
        logger.info("set-wise import", metadata: metadata)
    }
}

/// What the checks of all rows found: ids, references and unique claims to check in the
/// database, and the first problem of each bad row.
struct ImportOutcome {
    struct Reference: Sendable {
        /// Index into ``ImportPlan/references``.
        var kind: Int
        var id: UUID
        var line: Int
    }

    struct Claim: Sendable {
        /// Index into ``ImportPlan/unique``.
        var field: Int
        var key: String
        var line: Int
    }

    var ids: [UUID] = []
    var references: [Reference] = []
    var claims: [Claim] = []
    /// By line: the first problem of the row.
    var problems: [Int: AtriumError.Detail] = [:]

    mutating func add(_ chunk: ImportPlan.Chunk) {
        ids += chunk.ids
        references += chunk.references
        claims += chunk.claims
        for problem in chunk.problems { problems[problem.row ?? 0] = problem }
    }

    mutating func report(_ error: AtriumError, line: Int) {
        if problems[line] == nil { problems[line] = .init(row: line, field: error.field, message: error.message) }
    }
}

/// The per-file part of a set-wise import: what is looked up once (fields by role, field
/// permissions, auto-number blocks) and the check of one row, which runs without SQL.
struct ImportPlan: Sendable {
    static let staging = "atrium_import_staging"
    /// One table for everything staged: records (`r`: id, owner, data, search text, audit
    /// details) and their index keys (`i`) and unique claims (`u`: id, field, key).
    static let createStaging = """
        CREATE TEMP TABLE \(staging) (
            kind "char" NOT NULL, id uuid NOT NULL, owner_id uuid, data jsonb, search text, audit jsonb, field text, key text
        ) ON COMMIT DROP
        """
    static let stagingColumns = ["kind", "id", "owner_id", "data", "search", "audit", "field", "key"]
    static let rowsPerChunk = 1_000
    /// From this many rows the import refreshes the planner's statistics of `records` and
    /// `record_index` (migration 14; ~0.4 s for `record_index` alone on a table of 4 million
    /// keys). Below it a join misjudged by stale statistics stays small.
    static let analyzeFromRows = 5_000

    struct Numbering: Sendable {
        let key: String
        let block: RecordEngine.AutoNumbers
    }

    /// The staged text and the findings of a run of rows.
    struct Chunk: Sendable {
        var copy = ""
        var ids: [UUID] = []
        var references: [ImportOutcome.Reference] = []
        var claims: [ImportOutcome.Claim] = []
        var problems: [AtriumError.Detail] = []
    }

    let entity: EntityDefinition
    let columns: [FieldDefinition?]
    let numbers: [Numbering]
    let access: AccessContext
    /// Fields the importer may not write (``RecordEngine/checkWritable(_:entity:actor:)``).
    let readOnly: Set<String>
    /// The entity's fields by key, and those with defaults or required (``RecordEngine/applyDefaults(_:entity:)``).
    let fields: [String: FieldDefinition]
    let defaulted: [FieldDefinition]
    let searchable: [FieldDefinition]
    let indexed: [FieldDefinition]
    let unique: [FieldDefinition]
    /// Fields whose values name a row elsewhere (lookups, users, departments), then `owner_id`.
    let references: [FieldDefinition]
    let referenceIndex: [String: Int]
    let defaultOwner: String
    let auditHead: String

    init(entity: EntityDefinition, columns: [FieldDefinition?], numbers: [Numbering], actor: RecordEngine.Actor) {
        self.entity = entity
        self.columns = columns
        self.numbers = numbers
        access = actor.access
        readOnly = Set(entity.fields.map(\.key).filter { actor.access.fieldAccess(entity, $0) != .editable })
        fields = Dictionary(entity.fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        defaulted = RecordEngine.defaultedFields(of: entity)
        searchable = entity.searchableFields
        indexed = FieldIndex.indexedFields(of: entity)
        unique = entity.fields.filter(\.unique)
        references = entity.activeFields.filter { [.lookup, .user, .department].contains($0.type) } + [RecordEngine.ownerField]
        referenceIndex = Dictionary(references.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        defaultOwner = ImportText.text(actor.user.id)
        // As ``RecordEngine/audit``: administrators act outside any data scope, said in the trail.
        auditHead = actor.access.unrestricted && actor.access.userID != nil ? #"{"version":"1","admin_bypass":"true""# : #"{"version":"1""#
    }

    /// Checks `rows` in chunks, several at once, and hands the chunks to `each` in file order.
    func prepare(_ rows: ArraySlice<[String]>, _ each: (Chunk) async throws -> Void) async throws {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        var start = rows.startIndex
        while start < rows.endIndex {
            var ranges: [Range<Int>] = []
            while ranges.count < workers && start < rows.endIndex {
                let end = min(start + Self.rowsPerChunk, rows.endIndex)
                ranges.append(start..<end)
                start = end
            }
            let firstIndex = rows.startIndex
            let chunks = try await withThrowingTaskGroup(of: (Int, Chunk).self) { group in
                for (position, range) in ranges.enumerated() {
                    let slice = rows[range]
                    group.addTask { (position, try self.chunk(slice, firstIndex: firstIndex)) }
                }
                var done = [Chunk?](repeating: nil, count: ranges.count)
                for try await (position, chunk) in group { done[position] = chunk }
                return done
            }
            for chunk in chunks { if let chunk { try await each(chunk) } }
        }
    }

    func chunk(_ rows: ArraySlice<[String]>, firstIndex: Int) throws -> Chunk {
        var chunk = Chunk()
        chunk.copy.reserveCapacity(rows.count * 600)
        var random = SystemRandomNumberGenerator()
        for index in rows.indices {
            let offset = index - firstIndex
            try row(rows[index], line: offset + 2, offset: offset, into: &chunk, random: &random)
        }
        return chunk
    }

    /// One row, checked as ``RecordEngine/create`` checks its values before any SQL; a
    /// problem is noted for the row, other errors (none expected) end the import.
    func row(_ cells: [String], line: Int, offset: Int, into chunk: inout Chunk, random: inout SystemRandomNumberGenerator) throws {
        guard cells.count <= columns.count else {
            chunk.problems.append(.init(row: line, message: "has \(cells.count) cells but the header has \(columns.count)"))
            return
        }
        var data: [String: JSONValue] = [:]
        var named: [(kind: Int, id: UUID)] = []
        var owner: UUID?
        do {
            var values: [String: JSONValue] = [:]
            for (index, cell) in cells.enumerated() {
                guard let field = columns[index] else { continue }
                let value = RecordCSV.value(cell, field: field)
                if !value.isNull { values[field.key] = value }
            }
            let keys = values.keys.sorted()
            if let key = keys.first(where: readOnly.contains) {
                throw AtriumError(status: .forbidden, code: "field_read_only", message: "you may not change \(key)", field: key)
            }
            try access.checkDimension(&values, entity: entity, isCreate: true)
            owner = try RecordEngine.takeOwnerValue(&values)
            if let owner { named.append((references.count - 1, owner)) }
            for key in values.keys.sorted() {
                let field: FieldDefinition, value: JSONValue
                if let known = fields[key] {
                    (field, value) = (known, try RecordEngine.normalised(values[key]!, field: known))
                } else {
                    (field, value) = try RecordEngine.normalised(values[key]!, key: key, entity: entity)
                }
                if let kind = referenceIndex[field.key], let text = value.stringValue, let id = UUID(uuidString: text) {
                    named.append((kind, id))
                }
                data[key] = value
            }
            try RecordEngine.applyDefaults(&data, fields: defaulted)
        } catch let error as AtriumError where error.status.code < 500 {
            chunk.problems.append(.init(row: line, field: error.field, message: error.message))
            return
        }
        for numbering in numbers { data[numbering.key] = .string(numbering.block.text(offset)) }
        data = data.filter { !$0.value.isNull }

        let id = ImportText.randomUUID(&random)
        let idText = ImportText.text(id)
        chunk.ids.append(id)
        for (kind, target) in named { chunk.references.append(.init(kind: kind, id: target, line: line)) }
        // Each value as JSON once, for the record and for its audit entry (keys are field keys:
        // validated identifiers, nothing to escape).
        let values = data.keys.sorted().map { key -> (key: String, json: String) in
            var json = ""
            ImportText.appendJSON(data[key]!, to: &json)
            return (key, json)
        }
        // kind, id, owner_id, data, search, audit, field, key
        chunk.copy += "r\t"
        chunk.copy += idText
        chunk.copy += "\t"
        chunk.copy += owner.map(ImportText.text) ?? defaultOwner
        chunk.copy += "\t{"
        for (position, value) in values.enumerated() {
            chunk.copy += position == 0 ? "\"" : ",\""
            chunk.copy += value.key
            chunk.copy += "\":"
            chunk.copy += value.json
        }
        chunk.copy += "}\t"
        ImportText.appendCopy(RecordEngine.searchText(fields: searchable, data: data), to: &chunk.copy)
        chunk.copy += "\t"
        chunk.copy += auditHead
        if !values.isEmpty {
            chunk.copy += #","changes":{"#
            for (position, value) in values.enumerated() {
                chunk.copy += position == 0 ? "\"" : ",\""
                chunk.copy += value.key
                chunk.copy += #"":{"before":null,"after":"#
                chunk.copy += value.json
                chunk.copy += "}"
            }
            chunk.copy += "}"
        }
        chunk.copy += "}\t\\N\t\\N\n"
        for field in indexed {
            guard let value = data[field.key], let key = FieldIndex.key(value, type: field.type) else { continue }
            stageKey("i", id: idText, field: field.key, key: key, into: &chunk.copy)
        }
        for (position, field) in unique.enumerated() {
            guard let value = data[field.key], let key = FieldIndex.uniqueKey(value, type: field.type) else { continue }
            stageKey("u", id: idText, field: field.key, key: key, into: &chunk.copy)
            chunk.claims.append(.init(field: position, key: key, line: line))
        }
    }

    func stageKey(_ kind: String, id: String, field: String, key: String, into copy: inout String) {
        copy += kind
        copy += "\t"
        copy += id
        copy += "\t\\N\t\\N\t\\N\t\\N\t"
        copy += field  // a validated identifier
        copy += "\t"
        ImportText.appendCopy(key, to: &copy)
        copy += "\n"
    }
}

/// Text for `COPY … FROM STDIN` in its text format: columns split by tabs, rows by newlines,
/// `\N` for NULL, and a backslash starting an escape — so backslashes, tabs, newlines and
/// carriage returns in values are written as `\\`, `\t`, `\n` and `\r`.
enum ImportText {
    /// A random (version 4) UUID; `UUID()` cost ~8 µs here.
    static func randomUUID(_ random: inout SystemRandomNumberGenerator) -> UUID {
        let high: UInt64 = random.next(), low: UInt64 = random.next()
        func byte(_ word: UInt64, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: word >> (56 - 8 * index)) }
        return UUID(uuid: (byte(high, 0), byte(high, 1), byte(high, 2), byte(high, 3), byte(high, 4), byte(high, 5),
                           byte(high, 6) & 0x0F | 0x40, byte(high, 7), byte(low, 0) & 0x3F | 0x80, byte(low, 1),
                           byte(low, 2), byte(low, 3), byte(low, 4), byte(low, 5), byte(low, 6), byte(low, 7)))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// The lower-case text of a UUID, as the API and `uuid::text` write it.
    static func text(_ id: UUID) -> String {
        withUnsafeBytes(of: id.uuid) { raw in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var position = 0
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = hexDigits[Int(byte >> 4)]
                    buffer[position + 1] = hexDigits[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    /// A value as COPY text.
    static func appendCopy(_ text: String, to out: inout String) {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            out += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    /// `value` as JSON, already in COPY text: JSON escapes every control character itself, so
    /// the only character COPY needs escaped is the backslash, written twice.
    static func appendJSON(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += "\(number)"
        case .string(let text): appendJSONString(text, to: &out)
        case .array(let items):
            out += "["
            for (position, item) in items.enumerated() {
                if position > 0 { out += "," }
                appendJSON(item, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (position, key) in object.keys.sorted().enumerated() {
                if position > 0 { out += "," }
                appendJSONString(key, to: &out)
                out += ":"
                appendJSON(object[key]!, to: &out)
            }
            out += "}"
        }
    }

    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += text
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += #"\\""#
                case "\\": out += #"\\\\"#
                case "\n": out += #"\\n"#
                case "\r": out += #"\\r"#
                case "\t": out += #"\\t"#
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += #"\\u"# + String(repeating: "0", count: 4 - hex.count) + hex
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

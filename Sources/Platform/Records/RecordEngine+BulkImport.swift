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
            && !entity.automationRules.contains { $0.active && $0.trigger.firesOnCreate }
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

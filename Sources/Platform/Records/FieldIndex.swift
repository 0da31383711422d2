import Foundation
import Logging
import PostgresNIO

/// Index rows for filterable and unique fields, kept beside `records` in two plain tables.
///
/// Why not expression indexes on `records.data`: under FORCE ROW LEVEL SECURITY PostgreSQL
/// may only use an index for a condition whose functions are all *leakproof*, and `->>`,
/// casts to numeric and numeric comparison are not. An expression index on `data` is never
/// used for tenant queries, so filters scanned every row of every tenant. The tables here
/// hold each indexed value as one `text COLLATE "C"` key, compared only with text `=`, `<`,
/// `>=` … (leakproof), so the planner can use their btree indexes under RLS:
///
/// - `record_index (tenant_id, record_id, field, entity, key)` — one row per record and
///   filterable field with a value; numbers are encoded so that text order is numeric order
///   (``numberKey(_:)``), dates and UTC datetimes are already ordered, text is lower-cased
///   and cut to ``textKeyLength`` characters. A filter uses it to narrow the candidates and
///   keeps its exact condition on `data` as a recheck, so a lossy key never changes a result.
/// - `record_unique (tenant_id, entity, field, key)` primary key — one row per live record
///   and unique field with a value; a taken value is found with `ON CONFLICT DO NOTHING`
///   and reported as a 422 naming the field, without aborting the transaction.
///
/// No DDL runs when a tenant adds, changes or purges a field: only rows change.
enum FieldIndex {
    static let textKeyLength = 200

    /// Whether a field of this type can have an index key at all.
    static func indexable(_ type: FieldType) -> Bool {
        type != .multiPicklist && type != .longText
    }

    /// Whether equal keys mean equal values for this field: numbers (canonical keys), dates,
    /// times, booleans, and picklists whose option values stay distinct when lower-cased. Text
    /// keys are lower-cased and cut, so text needs the exact comparison too.
    static func keyIsExact(_ field: FieldDefinition) -> Bool {
        switch field.type {
        case .number, .percent, .money, .date, .datetime, .boolean:
            return true
        case .picklist:
            let values = (field.options ?? []).map(\.value)
            return values.allSatisfy { $0.count <= textKeyLength } && Set(values.map { textKey($0) }).count == values.count
        default:
            return false
        }
    }

    static func isNumeric(_ type: FieldType) -> Bool {
        type == .number || type == .percent || type == .money
    }

    static func isRangeType(_ type: FieldType) -> Bool {
        switch type {
        case .number, .percent, .money, .date, .datetime: return true
        default: return false
        }
    }

    /// Order-preserving text for a decimal string (`-12.50`): text order equals numeric order.
    ///
    /// Zero is `1`; a positive value `0.d1d2… × 10^e` is `2`, `e + 500` in three digits and
    /// the digits without trailing zeros; a negative value is `0`, `499 − e` in three digits,
    /// the nines' complement of the digits and `~` (which sorts after every digit, so a
    /// longer magnitude sorts first among negatives).
    static func numberKey(_ text: String) -> String? {
        guard FieldValidator.isDecimalText(text) else { return nil }
        var body = Substring(text)
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0], fraction = parts.count > 1 ? parts[1] : ""
        let digits = Array(integer + fraction)
        guard let first = digits.firstIndex(where: { $0 != "0" }) else { return "1" }
        let exponent = integer.count - first
        guard (-499...499).contains(exponent) else { return nil }
        var mantissa = digits[first...]
        while mantissa.last == "0" { mantissa = mantissa.dropLast() }
        func three(_ n: Int) -> String { String(repeating: "0", count: 3 - String(n).count) + String(n) }
        if !negative { return "2" + three(exponent + 500) + String(mantissa) }
        let complement = mantissa.map { Character(String(9 - Int(String($0))!)) }
        return "0" + three(499 - exponent) + String(complement) + "~"
    }

    /// The index key of a stored value (or of a filter value in stored form).
    static func key(_ value: JSONValue, type: FieldType) -> String? {
        switch type {
        case .number, .percent:
            return value.stringValue.flatMap(numberKey)
        case .money:
            if case .object(let money) = value { return money["amount"]?.stringValue.flatMap(numberKey) }
            return value.stringValue.flatMap(numberKey)
        case .boolean:
            if case .bool(let flag) = value { return flag ? "true" : "false" }
            return value.stringValue
        case .date, .datetime:
            return value.stringValue
        case .multiPicklist, .longText:
            return nil
        default:
            return value.stringValue.map(textKey)
        }
    }

    static func textKey(_ text: String) -> String {
        String(text.lowercased().prefix(textKeyLength))
    }

    /// The unique key: exact for numbers and dates, case-insensitive and trimmed for text;
    /// long text is replaced by its digest so the btree entry stays small.
    static func uniqueKey(_ value: JSONValue, type: FieldType) -> String? {
        let key: String?
        switch type {
        case .number, .percent, .money, .boolean, .date, .datetime: key = Self.key(value, type: type)
        case .multiPicklist, .longText: key = nil
        default: key = value.stringValue.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        }
        guard let key, !key.isEmpty else { return nil }
        return key.utf8.count <= 500 ? key : "sha256:" + SecureToken.hash(key)
    }

    // MARK: Keeping the rows in step with records

    /// The fields with `record_index` rows: filterable ones of an indexable type, active or not.
    static func indexedFields(of entity: EntityDefinition) -> [FieldDefinition] {
        entity.fields.filter { $0.filterable && indexable($0.type) }
    }

    /// Rewrites the record's index rows (all indexed fields, active or not, so a
    /// reactivated field is still indexed) and, for a live record, its unique rows.
    /// Throws a 422 `duplicate_value` naming the first field whose value is taken.
    static func sync(_ record: Record, entity: EntityDefinition, tenantID: UUID, isNew: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let indexed = indexedFields(of: entity)
        let unique = entity.fields.filter { $0.unique }
        guard !indexed.isEmpty || !unique.isEmpty else { return }
        if !isNew {
            try await connection.query("DELETE FROM record_index WHERE tenant_id = \(tenantID) AND record_id = \(record.id)", logger: logger)
            try await connection.query("DELETE FROM record_unique WHERE tenant_id = \(tenantID) AND record_id = \(record.id)", logger: logger)
        }
        var fields: [String] = [], keys: [String] = []
        for field in indexed {
            if let value = record.values[field.key], let key = key(value, type: field.type) {
                fields.append(field.key)
                keys.append(key)
            }
        }
        if !fields.isEmpty {
            try await connection.query("""
                INSERT INTO record_index (tenant_id, record_id, entity, field, key)
                SELECT \(tenantID), \(record.id), \(entity.key), f, k FROM unnest(\(fields)::text[], \(keys)::text[]) AS u (f, k)
                """, logger: logger)
        }
        if record.deletedAt == nil {
            try await claimUnique(record, entity: entity, tenantID: tenantID, fields: unique, on: connection, logger: logger)
        }
    }

    /// Inserts the record's unique rows; a value another record holds → 422 naming the field.
    static func claimUnique(_ record: Record, entity: EntityDefinition, tenantID: UUID, fields unique: [FieldDefinition],
                            on connection: PostgresConnection, logger: Logger) async throws {
        var fields: [String] = [], keys: [String] = []
        for field in unique {
            if let value = record.values[field.key], let key = uniqueKey(value, type: field.type) {
                fields.append(field.key)
                keys.append(key)
            }
        }
        guard !fields.isEmpty else { return }
        let rows = try await connection.query("""
            INSERT INTO record_unique (tenant_id, entity, field, key, record_id)
            SELECT \(tenantID), \(entity.key), f, k, \(record.id) FROM unnest(\(fields)::text[], \(keys)::text[]) AS u (f, k)
            ON CONFLICT DO NOTHING RETURNING field
            """, logger: logger)
        var claimed = Set<String>()
        for try await field in rows.decode(String.self) { claimed.insert(field) }
        if let taken = fields.first(where: { !claimed.contains($0) }) {
            throw duplicateValue(taken, entity: entity.key)
        }
    }

    /// The 422 for a unique value another record of the entity holds.
    static func duplicateValue(_ field: String, entity: String) -> AtriumError {
        AtriumError(status: .unprocessableContent, code: "duplicate_value", message: "\(field): another \(entity) record already has this value", field: field)
    }

    /// A record going to the recycle bin frees its unique values.
    static func releaseUnique(_ record: Record, tenantID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM record_unique WHERE tenant_id = \(tenantID) AND record_id = \(record.id)", logger: logger)
    }

    // MARK: Field changes

    /// Brings the rows of one field in line with its new definition: builds or drops its
    /// index rows when `filterable` changes and its unique rows when `unique` changes.
    /// Making a field unique while live records share a value is a 422 naming `unique`.
    static func fieldChanged(from before: FieldDefinition?, to after: FieldDefinition, entity: String, tenantID: UUID,
                             on connection: PostgresConnection, logger: Logger) async throws {
        let wasIndexed = before.map { $0.filterable && indexable($0.type) } ?? false
        let isIndexed = after.filterable && indexable(after.type)
        if wasIndexed && !isIndexed {
            try await drop(field: after.key, entity: entity, table: "record_index", on: connection, logger: logger)
        }
        if isIndexed && !wasIndexed {
            try await backfill(field: after, entity: entity, tenantID: tenantID, unique: false, on: connection, logger: logger)
        }
        let wasUnique = before?.unique ?? false
        if wasUnique && !after.unique {
            try await drop(field: after.key, entity: entity, table: "record_unique", on: connection, logger: logger)
        }
        if after.unique && !wasUnique {
            try await backfill(field: after, entity: entity, tenantID: tenantID, unique: true, on: connection, logger: logger)
        }
    }

    /// Removes every row of a field (purge).
    static func dropField(_ key: String, entity: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await drop(field: key, entity: entity, table: "record_index", on: connection, logger: logger)
        try await drop(field: key, entity: entity, table: "record_unique", on: connection, logger: logger)
    }

    static func drop(field: String, entity: String, table: String, on connection: PostgresConnection, logger: Logger) async throws {
        precondition(table == "record_index" || table == "record_unique")
        var binds = PostgresBindings()
        binds.append(entity)
        binds.append(field)
        try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE entity = $1 AND field = $2", binds: binds), logger: logger)
    }

    /// Writes the rows of one field for every existing record (live ones only for unique),
    /// in batches of 2 000 records.
    static func backfill(field: FieldDefinition, entity: String, tenantID: UUID, unique: Bool,
                         on connection: PostgresConnection, logger: Logger) async throws {
        let deletedClause = unique ? "AND deleted_at IS NULL" : ""
        var binds = PostgresBindings()
        binds.append(entity)
        binds.append(field.key)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT id, (data -> $2)::text FROM records WHERE entity = $1 AND data ? $2 \(deletedClause)
            """, binds: binds), logger: logger)
        var pending: [(UUID, String)] = []
        for try await (id, text) in rows.decode((UUID, String).self) {
            let value = try JSONValue.parse(text)
            if let key = unique ? uniqueKey(value, type: field.type) : key(value, type: field.type) {
                pending.append((id, key))
            }
        }
        var offset = 0
        while offset < pending.count {
            let batch = pending[offset..<min(offset + 2_000, pending.count)]
            offset += batch.count
            let ids = batch.map(\.0), keys = batch.map(\.1)
            if unique {
                let inserted = try await connection.query("""
                    WITH added AS (
                        INSERT INTO record_unique (tenant_id, entity, field, key, record_id)
                        SELECT \(tenantID), \(entity), \(field.key), k, i FROM unnest(\(ids)::uuid[], \(keys)::text[]) AS u (i, k)
                        ON CONFLICT DO NOTHING RETURNING 1)
                    SELECT count(*)::int FROM added
                    """, logger: logger).collect().first?.decode(Int.self) ?? 0
                if inserted != batch.count {
                    throw AtriumError.validation(field: "unique", "cannot be set: existing \(entity) records share values of \(field.key)")
                }
            } else {
                try await connection.query("""
                    INSERT INTO record_index (tenant_id, record_id, entity, field, key)
                    SELECT \(tenantID), i, \(entity), \(field.key), k FROM unnest(\(ids)::uuid[], \(keys)::text[]) AS u (i, k)
                    """, logger: logger)
            }
        }
    }
}

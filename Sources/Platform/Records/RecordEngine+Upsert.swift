import Foundation
import Logging
import PostgresNIO

extension RecordEngine {
    /// Creates or changes the record whose unique field `field` has `value` — the idempotent
    /// write an integration (an ERP pushing products, a shop pushing customers) repeats without
    /// first asking what exists:
    ///
    ///     PUT /api/v1/product/by/code/P-1001   {"name": "…", "list_price": 12.5}   → 201 created | 200 changed
    ///
    /// Concurrent upserts of one key wait for each other (a transaction-scoped advisory lock on
    /// the tenant, entity, field and key), so the second finds what the first created instead of
    /// failing on the unique value. An existing record is changed at its current version (last
    /// write wins); everything else — scope, field rules, validation, hooks, audit, webhooks —
    /// is the plain create or update. A record with the value that the caller may not see is
    /// refused as a duplicate, as a plain create would be.
    public func upsert(_ entityKey: String, by fieldKey: String, value: String, values input: [String: JSONValue], as actor: Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> (record: Record, created: Bool) {
        let (entity, _) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        guard let field = entity.field(fieldKey), field.unique, let key = FieldIndex.uniqueKey(.string(value), type: field.type) else {
            throw AtriumError.validation(field: fieldKey, "is not a unique field of \(entity.key) to find the record by (mark a field unique in the designer)")
        }
        if let sent = input[fieldKey], FieldIndex.uniqueKey(sent, type: field.type) != key {
            throw AtriumError.validation(field: fieldKey, "differs from the value in the address")
        }
        let tenantID = try await currentTenant(on: connection, logger: logger)
        try await connection.query("""
            SELECT pg_advisory_xact_lock(hashtextextended(\(tenantID.uuidString) || '/' || \(entity.key) || '/' || \(fieldKey) || '/' || \(key), 0))
            """, logger: logger)
        let rows = try await connection.query("""
            SELECT record_id FROM record_unique WHERE tenant_id = \(tenantID) AND entity = \(entity.key) AND field = \(fieldKey) AND key = \(key)
            """, logger: logger).collect()
        var values = input
        values.removeValue(forKey: "version")
        if let row = rows.first {
            let id = try row.decode(UUID.self)
            let existing: Record
            do {
                existing = try await get(entity.key, id: id, as: actor, on: connection, logger: logger)
            } catch let error as AtriumError where error.status == .notFound {
                throw FieldIndex.duplicateValue(fieldKey, entity: entity.key)
            }
            values.removeValue(forKey: fieldKey)
            let record = try await update(entity.key, id: id, values: values, expectedVersion: existing.version, as: actor, on: connection, logger: logger)
            return (record, false)
        }
        values[fieldKey] = .string(value)
        return (try await create(entity.key, values: values, as: actor, on: connection, logger: logger), true)
    }
}

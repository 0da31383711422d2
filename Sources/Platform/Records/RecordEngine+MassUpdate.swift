import Foundation
import Logging
import PostgresNIO

/// 批量修改 — the same values written to chosen records (a list's ticked rows, or ids sent to
/// `POST /api/v1/{entity}/bulk-update`): each record goes through ``update(_:id:values:expectedVersion:as:on:logger:)``
/// as the caller — scope, field rules, hooks, validation and one audit entry per record — in
/// the caller's one transaction, so one refusal (a record out of scope, a value a rule
/// refuses) writes none of them.
extension RecordEngine {
    public static let maxMassUpdate = 500

    /// Fields a list offers for a mass update: active, editable by the caller, written by
    /// people (no computed or auto-numbered ones), in the entity's order.
    public static func massUpdatableFields(of entity: EntityDefinition, access: AccessContext) -> [FieldDefinition] {
        entity.activeFields.filter { field in
            !field.computed && field.type != .autoNumber && access.fieldAccess(entity, field.key) == .editable
        }
    }

    /// The named field when the caller may set it in a mass update; a 422 naming `field` otherwise.
    public static func massUpdatable(_ key: String, of entity: EntityDefinition, access: AccessContext) throws -> FieldDefinition {
        guard let field = massUpdatableFields(of: entity, access: access).first(where: { $0.key == key }) else {
            throw AtriumError.validation(field: "field", "must be a field of \(entity.key) you may change: \(key)")
        }
        return field
    }

    /// Writes `values` to every record of `ids` (1 to ``maxMassUpdate``, duplicates once) and
    /// returns the updated records.
    public func massUpdate(_ entityKey: String, ids: [UUID], values: [String: JSONValue], as actor: Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> [Record] {
        var unique: [UUID] = []
        for id in ids where !unique.contains(id) { unique.append(id) }
        guard (1...Self.maxMassUpdate).contains(unique.count) else {
            throw AtriumError.validation(field: "ids", "must name 1 to \(Self.maxMassUpdate) records")
        }
        guard !values.isEmpty else { throw AtriumError.validation(field: "values", "must name at least one field") }
        var updated: [Record] = []
        for id in unique {
            let record = try await get(entityKey, id: id, as: actor, on: connection, logger: logger)
            updated.append(try await update(entityKey, id: id, values: values, expectedVersion: record.version, as: actor, on: connection, logger: logger))
        }
        return updated
    }
}

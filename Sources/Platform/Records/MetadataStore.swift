import Foundation
import Logging
import PostgresNIO

/// A tenant's entities as the engine sees them: module-declared entities of the tenant's
/// enabled modules plus its custom objects, each with the tenant's custom fields appended.
/// Everything is read under the tenant's RLS, so one tenant never sees another's metadata.
public enum MetadataStore {
    public static let customKeyPattern = "^x_[a-z][a-z0-9_]{0,40}$"
    /// Keys that name record columns or API routes and so cannot be field or entity keys.
    public static let reservedKeys: Set<String> = Set(SystemField.allCases.map(\.rawValue))
        .union(["deleted_at", "deleted_by", "entity", "entities", "meta", "admin", "tokens", "me", "audit", "query", "recycle_bin"])

    public static func load(moduleEntities: [EntityDefinition], on connection: PostgresConnection, logger: Logger) async throws -> [String: EntityDefinition] {
        let enabled = Set(try await TenantModules.enabled(on: connection, logger: logger))
        var entities: [String: EntityDefinition] = [:]
        for entity in moduleEntities where entity.module.map(enabled.contains) ?? true {
            entities[entity.key] = entity
        }
        let decoder = JSONDecoder()
        for try await (key, definition) in try await connection.query(
            "SELECT key, definition::text FROM entity_defs WHERE active ORDER BY key", logger: logger
        ).decode((String, String).self) {
            var entity = try decoder.decode(EntityDefinition.self, from: Data(definition.utf8))
            entity.key = key
            entity.isCustom = true
            entity.fields = []
            entities[key] = entity
        }
        for try await (entityKey, key, definition, active) in try await connection.query(
            "SELECT entity, key, definition::text, active FROM field_defs ORDER BY entity, position, key", logger: logger
        ).decode((String, String, String, Bool).self) {
            guard entities[entityKey] != nil else { continue }
            var field = try decoder.decode(FieldDefinition.self, from: Data(definition.utf8))
            field.key = key
            field.active = active
            field.isCustom = true
            entities[entityKey]!.fields.append(field)
        }
        for rule in try await AutomationRules.list(on: connection, logger: logger) where entities[rule.entity] != nil {
            entities[rule.entity]!.automationRules.append(rule)
        }
        return entities
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Checks a field definition a tenant admin submits; names the first problem.
    public static func validateNewField(_ field: FieldDefinition, on entity: EntityDefinition, entities: [String: EntityDefinition]) throws {
        guard field.key.range(of: customKeyPattern, options: .regularExpression) != nil else {
            throw AtriumError.validation(field: "key", "must start with x_ followed by lower-case letters, digits or underscores (at most 42 characters), got '\(field.key)'")
        }
        if entity.field(field.key) != nil {
            throw AtriumError(status: .conflict, code: "field_exists", message: "\(entity.key) already has a field \(field.key)", field: "key")
        }
        if field.computed {
            throw AtriumError.validation(field: "computed", "is only for fields a module's rules fill in")
        }
        if field.labels.values.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw AtriumError.validation(field: "labels", "needs at least one label, e.g. {\"zh-CN\": \"预算\", \"en\": \"Budget\"}")
        }
        switch field.type {
        case .picklist, .multiPicklist:
            let values = field.options?.map(\.value) ?? []
            if values.isEmpty { throw AtriumError.validation(field: "options", "a picklist needs at least one option") }
            if Set(values).count != values.count { throw AtriumError.validation(field: "options", "option values must be unique") }
            if values.contains(where: { $0.isEmpty || $0.count > 100 }) { throw AtriumError.validation(field: "options", "option values must be 1 to 100 characters") }
        case .lookup:
            guard let target = field.target, entities[target] != nil else {
                throw AtriumError.validation(field: "target", "must name an existing entity, got '\(field.target ?? "")'")
            }
        case .autoNumber:
            guard let format = field.format, format.contains("{seq") else {
                throw AtriumError.validation(field: "format", "an auto-number needs a format with {seq}, e.g. PRJ-{YYYY}-{seq:5}")
            }
            // One {seq} or {seq:N} with N from 1 to 12 (a bigint has 19 digits; nobody reads more
            // than 12), and the whole number fits a text field.
            let sequences = format.matches(of: /\{seq(?::(\d+))?\}/)
            guard sequences.count == 1, format.components(separatedBy: "{seq").count == 2 else {
                throw AtriumError.validation(field: "format", "must contain {seq} or {seq:N} exactly once, e.g. PRJ-{YYYY}-{seq:5}")
            }
            if let width = sequences[0].output.1, !(1...12).contains(Int(width) ?? 0) {
                throw AtriumError.validation(field: "format", "the {seq:N} width must be 1 to 12")
            }
            if format.count > 60 { throw AtriumError.validation(field: "format", "must be at most 60 characters") }
        default:
            break
        }
        if let scale = field.scale, !(0...10).contains(scale) { throw AtriumError.validation(field: "scale", "must be 0 to 10") }
        if let maxLength = field.maxLength, !(1...100_000).contains(maxLength) { throw AtriumError.validation(field: "maxLength", "must be 1 to 100000") }
        if let pattern = field.pattern, (try? NSRegularExpression(pattern: pattern)) == nil {
            throw AtriumError.validation(field: "pattern", "is not a valid regular expression")
        }
        if field.unique && [.multiPicklist, .boolean, .longText].contains(field.type) {
            throw AtriumError.validation(field: "unique", "is not supported for \(field.type.rawValue) fields")
        }
    }
}

import Foundation
import Logging
import PostgresNIO

/// Tenant administrators' changes to metadata: custom objects, custom fields (add, change,
/// deactivate, purge) and layouts. Every change is audited in its transaction.
public struct MetadataAdmin: Sendable {
    let engine: RecordEngine

    public init(engine: RecordEngine) {
        self.engine = engine
    }

    public struct NewObject: Sendable, Decodable {
        public var key: String
        public var labels: [String: String]
        public var fields: [FieldDefinition]
        public var titleField: String?
        public var listColumns: [String]?
        public var defaultSort: String?
    }

    public func createObject(_ object: NewObject, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> EntityDefinition {
        guard object.key.range(of: MetadataStore.customKeyPattern, options: .regularExpression) != nil else {
            throw AtriumError.validation(field: "key", "must start with x_ followed by lower-case letters, digits or underscores, got '\(object.key)'")
        }
        var entities = try await engine.entities(on: connection, logger: logger)
        if entities[object.key] != nil {
            throw AtriumError(status: .conflict, code: "entity_exists", message: "an entity '\(object.key)' already exists", field: "key")
        }
        guard !object.labels.isEmpty else { throw AtriumError.validation(field: "labels", "needs at least one label") }
        guard !object.fields.isEmpty else { throw AtriumError.validation(field: "fields", "a custom object needs at least one field") }
        var entity = EntityDefinition(key: object.key, labels: object.labels, fields: [],
                                      titleField: object.titleField ?? object.fields[0].key,
                                      listColumns: object.listColumns ?? Array(object.fields.prefix(5).map(\.key)),
                                      defaultSort: object.defaultSort ?? "-created_at")
        entity.isCustom = true
        entities[entity.key] = entity  // so lookups may point at the object itself
        for var field in object.fields {
            field.isCustom = true
            try MetadataStore.validateNewField(field, on: entity, entities: entities)
            entity.fields.append(field)
        }
        guard entity.field(entity.titleField) != nil else {
            throw AtriumError.validation(field: "titleField", "must be one of the object's fields")
        }
        for column in entity.listColumns where entity.field(column) == nil && SystemField(rawValue: column) == nil {
            throw AtriumError.validation(field: "listColumns", "names '\(column)', which is not a field of \(entity.key)")
        }
        _ = try QueryCompiler(entity: entity, entities: entities).orderBy(entity.defaultSort)
        var header = entity
        header.fields = []
        try await connection.query("""
            INSERT INTO entity_defs (tenant_id, key, definition)
            VALUES ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(entity.key), \(MetadataStore.encode(header))::jsonb)
            """, logger: logger)
        for (position, field) in entity.fields.enumerated() {
            try await insertField(field, entity: entity.key, position: position, on: connection, logger: logger)
        }
        try await auditMeta("meta.object_created", entity: entity.key, key: nil, details: .object(["fields": .array(entity.fields.map { .string($0.key) })]),
                            actor: actor, on: connection, logger: logger)
        return entity
    }

    func insertField(_ field: FieldDefinition, entity: String, position: Int, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO field_defs (tenant_id, entity, key, definition, position, active)
            VALUES ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(entity), \(field.key),
                    \(MetadataStore.encode(field))::jsonb, \(position), \(field.active))
            """, logger: logger)
        try await FieldIndex.fieldChanged(from: nil, to: field, entity: entity, tenantID: try await engine.currentTenant(on: connection, logger: logger),
                                          on: connection, logger: logger)
    }

    public func addField(_ field: FieldDefinition, to entityKey: String, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> FieldDefinition {
        let (entity, entities) = try await engine.entity(entityKey, on: connection, logger: logger)
        var field = field
        field.isCustom = true
        field.active = true
        try MetadataStore.validateNewField(field, on: entity, entities: entities)
        if field.required && field.defaultValue == nil {
            let existing = try await connection.query(
                "SELECT count(*)::int FROM records WHERE entity = \(entity.key) AND deleted_at IS NULL", logger: logger
            ).collect().first?.decode(Int.self) ?? 0
            if existing > 0 {
                throw AtriumError.validation(field: "required", "cannot be true without a defaultValue: \(existing) existing records would have no value")
            }
        }
        if let defaultValue = field.defaultValue {
            field.defaultValue = try FieldValidator.normalise(defaultValue, for: field)
        }
        try await insertField(field, entity: entity.key, position: entity.fields.count, on: connection, logger: logger)
        try await auditMeta("meta.field_added", entity: entity.key, key: field.key, details: .string(field.type.rawValue), actor: actor, on: connection, logger: logger)
        return field
    }

    /// What a field change may touch; key and type never change.
    public struct FieldChange: Sendable, Decodable {
        public var labels: [String: String]?
        public var options: [PicklistOption]?
        public var required: Bool?
        public var unique: Bool?
        public var filterable: Bool?
        public var searchable: Bool?
        public var active: Bool?
        public var maxLength: Int?
        public var pattern: String?
        public var min: Decimal?
        public var max: Decimal?
        public var defaultValue: JSONValue?
        public var type: String?
        public var key: String?
    }

    public func changeField(_ key: String, of entityKey: String, change: FieldChange, as actor: RecordEngine.Actor,
                            on connection: PostgresConnection, logger: Logger) async throws -> FieldDefinition {
        let (entity, entities) = try await engine.entity(entityKey, on: connection, logger: logger)
        guard let before = entity.field(key) else {
            throw AtriumError(status: .notFound, code: "field_not_found", message: "\(entity.key) has no field '\(key)'")
        }
        guard before.isCustom else {
            throw AtriumError(status: .unprocessableContent, code: "core_field", message: "\(key) is defined by the \(entity.module ?? "") module and cannot be changed here", field: key)
        }
        if change.type != nil && change.type != before.type.rawValue {
            throw AtriumError.validation(field: "type", "cannot change; add a new field and copy the values instead")
        }
        if change.key != nil && change.key != key { throw AtriumError.validation(field: "key", "cannot change; change the labels instead") }
        var after = before
        if let labels = change.labels { after.labels = labels }
        if let options = change.options { after.options = options }
        if let required = change.required { after.required = required }
        if let unique = change.unique { after.unique = unique }
        if let filterable = change.filterable { after.filterable = filterable }
        if let searchable = change.searchable { after.searchable = searchable }
        if let active = change.active { after.active = active }
        if let maxLength = change.maxLength { after.maxLength = maxLength }
        if let pattern = change.pattern { after.pattern = pattern.isEmpty ? nil : pattern }
        if let min = change.min { after.min = min }
        if let max = change.max { after.max = max }
        if let defaultValue = change.defaultValue { after.defaultValue = defaultValue.isNull ? nil : try FieldValidator.normalise(defaultValue, for: after) }
        var others = entity
        others.fields.removeAll { $0.key == key }
        try MetadataStore.validateNewField(after, on: others, entities: entities)
        if (before.options ?? []).contains(where: { old in !(after.options ?? []).contains { $0.value == old.value } }) {
            throw AtriumError.validation(field: "options", "an option cannot be removed (records may use it); set \"active\": false on it instead")
        }
        try await connection.query("""
            UPDATE field_defs SET definition = \(MetadataStore.encode(after))::jsonb, active = \(after.active), updated_at = now()
            WHERE entity = \(entity.key) AND key = \(key)
            """, logger: logger)
        try await FieldIndex.fieldChanged(from: before, to: after, entity: entity.key, tenantID: try await engine.currentTenant(on: connection, logger: logger),
                                          on: connection, logger: logger)
        let beforeJSON = try JSONValue.parse(MetadataStore.encode(before)), afterJSON = try JSONValue.parse(MetadataStore.encode(after))
        try await auditMeta("meta.field_changed", entity: entity.key, key: key,
                            details: .object(["before": beforeJSON, "after": afterJSON]), actor: actor, on: connection, logger: logger)
        return after
    }

    /// Deletes a deactivated custom field and its values from every record. Irreversible.
    public func purgeField(_ key: String, of entityKey: String, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let (entity, _) = try await engine.entity(entityKey, on: connection, logger: logger)
        guard let field = entity.field(key), field.isCustom else {
            throw AtriumError(status: .notFound, code: "field_not_found", message: "\(entity.key) has no custom field '\(key)'")
        }
        guard !field.active else {
            throw AtriumError(status: .unprocessableContent, code: "field_active", message: "deactivate \(key) first; purging deletes its values from every record", field: key)
        }
        let cleared = try await connection.query("""
            WITH changed AS (UPDATE records SET data = data - \(key) WHERE entity = \(entity.key) AND data ? \(key) RETURNING 1)
            SELECT count(*)::int FROM changed
            """, logger: logger).collect().first?.decode(Int.self) ?? 0
        try await connection.query("DELETE FROM field_defs WHERE entity = \(entity.key) AND key = \(key)", logger: logger)
        try await FieldIndex.dropField(key, entity: entity.key, on: connection, logger: logger)
        try await auditMeta("meta.field_purged", entity: entity.key, key: key, details: .object(["records_cleared": .number(Decimal(cleared))]),
                            actor: actor, on: connection, logger: logger)
        return cleared
    }

    // MARK: Layouts

    /// The layout in force: the tenant's latest saved version, else the default from the entity.
    public func layout(_ kind: String, of entityKey: String, on connection: PostgresConnection, logger: Logger) async throws -> JSONValue {
        let (entity, _) = try await engine.entity(entityKey, on: connection, logger: logger)
        guard ["detail", "list"].contains(kind) else { throw AtriumError(status: .notFound, code: "layout_not_found", message: "layouts are detail or list") }
        let rows = try await connection.query("""
            SELECT version, definition::text FROM layouts WHERE entity = \(entity.key) AND kind = \(kind) ORDER BY version DESC LIMIT 1
            """, logger: logger)
        if let (version, text) = try await rows.collect().first?.decode((Int, String).self), case .object(var object) = try JSONValue.parse(text) {
            object["version"] = .number(Decimal(version))
            return .object(object)
        }
        return Self.defaultLayout(kind, entity: entity)
    }

    static func defaultLayout(_ kind: String, entity: EntityDefinition) -> JSONValue {
        if kind == "list" {
            return .object(["version": .number(0), "columns": .array(entity.listColumns.map(JSONValue.string)), "sort": .string(entity.defaultSort)])
        }
        func item(_ field: FieldDefinition) -> JSONValue {
            .object(["field": .string(field.key), "readOnly": .bool(field.type == .autoNumber || field.computed)])
        }
        func section(_ titles: [String: String], columns: Int, fields: [FieldDefinition]) -> JSONValue {
            .object(["title": .object(titles.mapValues(JSONValue.string)), "columns": .number(Decimal(columns)), "fields": .array(fields.map(item))])
        }
        guard !entity.defaultSections.isEmpty else {
            return .object(["version": .number(0), "sections": .array([section(entity.labels, columns: 2, fields: entity.activeFields)])])
        }
        // The module's sections with the fields still active, then whatever they do not place.
        var placed = Set<String>()
        var sections: [JSONValue] = []
        for declared in entity.defaultSections {
            let fields = declared.fields.compactMap { key in entity.field(key).flatMap { $0.active && placed.insert(key).inserted ? $0 : nil } }
            if !fields.isEmpty { sections.append(section(declared.titles, columns: declared.columns, fields: fields)) }
        }
        let rest = entity.activeFields.filter { !placed.contains($0.key) }
        if !rest.isEmpty { sections.append(section(["en": "More", "zh-CN": "其他信息"], columns: 2, fields: rest)) }
        return .object(["version": .number(0), "sections": .array(sections)])
    }

    /// Checks a layout against the entity's fields and stores it as the next version.
    public func saveLayout(_ kind: String, of entityKey: String, definition: JSONValue, as actor: RecordEngine.Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> JSONValue {
        let (entity, entities) = try await engine.entity(entityKey, on: connection, logger: logger)
        guard case .object(var object) = definition else { throw AtriumError.validation(field: "layout", "must be a JSON object") }
        object["version"] = nil
        func checkField(_ value: JSONValue?, path: String) throws -> String {
            guard case .string(let key)? = value else { throw AtriumError.validation(field: path, "must name a field") }
            guard entity.field(key)?.active == true || SystemField(rawValue: key) != nil else {
                throw AtriumError(status: .unprocessableContent, code: "invalid_layout", message: "\(path) names '\(key)', which is not an active field of \(entity.key)", field: path)
            }
            return key
        }
        switch kind {
        case "detail":
            guard case .array(let sections)? = object["sections"], !sections.isEmpty else {
                throw AtriumError.validation(field: "sections", "a detail layout needs a non-empty list of sections")
            }
            var seen = Set<String>()
            for (s, section) in sections.enumerated() {
                guard case .object(let sectionObject) = section, case .array(let fields)? = sectionObject["fields"] else {
                    throw AtriumError.validation(field: "sections[\(s)].fields", "must be a list")
                }
                if let columns = sectionObject["columns"], columns != .number(1), columns != .number(2), columns != .number(3) {
                    throw AtriumError.validation(field: "sections[\(s)].columns", "must be 1, 2 or 3")
                }
                for (f, item) in fields.enumerated() {
                    let key = try checkField(item["field"], path: "sections[\(s)].fields[\(f)].field")
                    guard seen.insert(key).inserted else {
                        throw AtriumError.validation(field: "sections[\(s)].fields[\(f)].field", "'\(key)' appears twice")
                    }
                }
            }
        case "list":
            guard case .array(let columns)? = object["columns"], !columns.isEmpty else {
                throw AtriumError.validation(field: "columns", "a list layout needs a non-empty list of columns")
            }
            for (index, column) in columns.enumerated() { _ = try checkField(column, path: "columns[\(index)]") }
            if case .string(let sort)? = object["sort"] {
                _ = try QueryCompiler(entity: entity, entities: entities).orderBy(sort)
            }
            if let filter = object["filter"], !filter.isNull {
                var compiler = QueryCompiler(entity: entity, entities: entities)
                _ = try compiler.condition(filter)
            }
        default:
            throw AtriumError(status: .notFound, code: "layout_not_found", message: "layouts are detail or list")
        }
        let stored = JSONValue.object(object)
        let version = try await connection.query("""
            INSERT INTO layouts (tenant_id, entity, kind, version, definition, updated_by)
            SELECT (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(entity.key), \(kind),
                   coalesce(max(version), 0) + 1, \(stored.jsonText)::jsonb, \(actor.user.id)
            FROM layouts WHERE entity = \(entity.key) AND kind = \(kind)
            RETURNING version
            """, logger: logger).one(Int.self)
        try await auditMeta("meta.layout_saved", entity: entity.key, key: kind, details: .object(["version": .number(Decimal(version))]),
                            actor: actor, on: connection, logger: logger)
        object["version"] = .number(Decimal(version))
        return .object(object)
    }

    func auditMeta(_ action: String, entity: String, key: String?, details: JSONValue, actor: RecordEngine.Actor,
                   on connection: PostgresConnection, logger: Logger) async throws {
        let tenantID = try await engine.currentTenant(on: connection, logger: logger)
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: "meta", recordID: key.map { "\(entity).\($0)" } ?? entity,
                                        changes: ["meta": details], ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
    }
}

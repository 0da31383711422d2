import Foundation
import Logging
import PostgresNIO

/// Saved reports and running them (issue 21). A report runs through
/// ``RecordEngine/aggregate(_:_:as:on:logger:)`` as the person looking at it: their read scope,
/// hidden fields and the filter language apply, so two users see their own totals of one shared
/// report, and a field hidden from someone cannot be grouped or measured by them (400 naming it).
public struct ReportResult: Sendable {
    public struct Row: Sendable {
        /// Stored group values (picklist value, user id, `2026-Q4`…), nil for "none".
        public let keys: [String?]
        /// What a person reads for each key (option label, user name, record title, the period).
        public let labels: [String]
        /// One per measure; nil when no record of the group has a value (avg/min/max).
        public let values: [Decimal?]
        /// The list filter that shows this group's records (drill-down).
        public let filter: JSONValue
    }

    public let definition: ReportDefinition
    /// Column titles: the groupings, then the measures, in the runner's language.
    public let groupTitles: [String]
    public let measureTitles: [String]
    public let rows: [Row]
    /// Per measure: the total over all groups for count and sum (nil for avg/min/max, which do not add up).
    public let totals: [Decimal?]
    /// Per measure: 2 for money (figures are written with two decimals), nil for plain numbers.
    public let scales: [Int?]

    /// A figure of measure `index` as plain text (`300.30` for money, `2.5` for numbers).
    public func text(_ value: Decimal?, measure index: Int) -> String? {
        value.map { Reports.text($0, scale: scales[index]) }
    }

    public var json: JSONValue {
        .object([
            "definition": definition.json,
            "columns": .array((groupTitles + measureTitles).map(JSONValue.string)),
            "rows": .array(rows.map { row in
                .object([
                    "keys": .array(row.keys.map { $0.map(JSONValue.string) ?? .null }),
                    "labels": .array(row.labels.map(JSONValue.string)),
                    "values": .array(row.values.enumerated().map { index, value in text(value, measure: index).map(JSONValue.string) ?? .null }),
                    "filter": row.filter,
                ])
            }),
            "totals": .array(totals.enumerated().map { index, value in text(value, measure: index).map(JSONValue.string) ?? .null }),
        ])
    }
}

public struct SavedReport: Sendable {
    public let id: UUID
    public let ownerID: UUID
    public let name: String
    public let definition: ReportDefinition
    public let shared: Bool
    public let updatedAt: Date

    public var json: JSONValue {
        .object(["id": .string(id.uuidString.lowercased()), "owner_id": .string(ownerID.uuidString.lowercased()), "name": .string(name),
                 "shared": .bool(shared), "definition": definition.json, "updated_at": .string(FieldValidator.formatDateTime(updatedAt))])
    }
}

public enum Reports {
    /// A decimal as plain text (`1234.5`, never an exponent).
    static func plain(_ value: Decimal) -> String { NSDecimalNumber(decimal: value).stringValue }

    /// `value` rounded half up to `scale` places and written with exactly that many (`300.30`).
    static func text(_ value: Decimal, scale: Int?) -> String {
        guard let scale else { return plain(value) }
        var input = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, scale, .plain)
        var text = plain(rounded)
        let places = text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
        if places == 0 && scale > 0 { text += "." }
        return text + String(repeating: "0", count: max(0, scale - places))
    }

    // MARK: Running

    public static func run(_ definition: ReportDefinition, engine: RecordEngine, locale: String, as actor: RecordEngine.Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> ReportResult {
        let definitions = try await engine.entities(on: connection, logger: logger)
        guard let full = definitions[definition.entity], actor.access.scope(full, .read) > .none else {
            throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity '\(definition.entity)'", field: "entity")
        }
        let entity = actor.access.visible(full)
        var rows = try await engine.aggregate(definition.entity, definition.aggregate, as: actor, on: connection, logger: logger)
        // The figures in measure order: count from the row, the others from the aggregate's measures.
        func values(_ row: RecordAggregate.Row) -> [Decimal?] {
            var next = 0
            return definition.measures.map { measure in
                if measure.function == .count { return Decimal(row.count) }
                defer { next += 1 }
                return row.measures[next]
            }
        }
        if definition.sortByValue {
            rows.sort { left, right in
                let (a, b) = (values(left).first ?? nil, values(right).first ?? nil)
                if a == b { return left.keys.lexicographicallyPrecedes(right.keys) { ($0 ?? "") < ($1 ?? "") } }
                guard let a else { return false }
                guard let b else { return true }
                return definition.descending ? a > b : a < b
            }
        }
        if let limit = definition.limit, rows.count > limit { rows = Array(rows.prefix(limit)) }

        var names: [[String: String]] = []
        for (index, group) in definition.groupBy.enumerated() {
            let keys = Set(rows.compactMap { $0.keys[index] })
            names.append(try await labels(for: group, keys: keys, entity: entity, definitions: definitions, engine: engine, locale: locale,
                                          as: actor, on: connection, logger: logger))
        }
        let none = locale.hasPrefix("zh") ? "（空）" : "(none)"
        let result = rows.map { row in
            let labels = row.keys.enumerated().map { index, key in key.map { names[index][$0] ?? $0 } ?? none }
            let conditions = definition.groupBy.enumerated().flatMap { index, group in drill(group, key: row.keys[index], entity: entity) }
            let filter: JSONValue = conditions.count == 1 ? conditions[0] : .object(["and": .array(conditions)])
            return ReportResult.Row(keys: row.keys, labels: labels, values: values(row), filter: filter)
        }
        let totals = definition.measures.enumerated().map { index, measure -> Decimal? in
            guard measure.function == .count || measure.function == .sum else { return nil }
            return result.reduce(Decimal(0)) { $0 + ($1.values[index] ?? 0) }
        }
        let scales = definition.measures.map { measure in measure.field.flatMap { entity.field($0) }?.type == .money ? 2 : nil }
        return ReportResult(definition: definition,
                            groupTitles: definition.groupBy.map { title(of: $0, entity: entity, locale: locale) },
                            measureTitles: definition.measures.map { title(of: $0, entity: entity, locale: locale) },
                            rows: result, totals: totals, scales: scales)
    }

    static func fieldLabel(_ key: String, entity: EntityDefinition, locale: String) -> String {
        if let field = entity.field(key) { return RecordCSV.label(field.labels, locale: locale, fallback: key) }
        let zh = locale.hasPrefix("zh")
        switch key {
        case "owner_id": return zh ? "负责人" : "Owner"
        case "department_id": return zh ? "部门" : "Department"
        case "created_at": return zh ? "创建时间" : "Created"
        case "updated_at": return zh ? "修改时间" : "Last changed"
        default: return key
        }
    }

    static func title(of group: ReportDefinition.Grouping, entity: EntityDefinition, locale: String) -> String {
        let name = fieldLabel(group.field, entity: entity, locale: locale)
        guard let bucket = group.bucket else { return name }
        let periods = locale.hasPrefix("zh")
            ? ["day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年"]
            : ["day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"]
        return locale.hasPrefix("zh") ? "\(name)（\(periods[bucket.rawValue] ?? "")）" : "\(name) (\(periods[bucket.rawValue] ?? ""))"
    }

    static func title(of measure: ReportDefinition.Measure, entity: EntityDefinition, locale: String) -> String {
        let zh = locale.hasPrefix("zh")
        guard let field = measure.field else { return zh ? "数量" : "Count" }
        let name = fieldLabel(field, entity: entity, locale: locale)
        let function: String
        switch measure.function {
        case .count: function = zh ? "数量" : "Count"
        case .sum: function = zh ? "合计" : "Sum"
        case .avg: function = zh ? "平均" : "Average"
        case .min: function = zh ? "最小" : "Min"
        case .max: function = zh ? "最大" : "Max"
        }
        return zh ? "\(name)\(function)" : "\(function) of \(name)"
    }

    /// Readable names for a grouping's keys: option labels, user and department names, the
    /// titles of looked-up records the runner may read (others keep their id).
    static func labels(for group: ReportDefinition.Grouping, keys: Set<String>, entity: EntityDefinition, definitions: [String: EntityDefinition],
                       engine: RecordEngine, locale: String, as actor: RecordEngine.Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> [String: String] {
        guard group.bucket == nil, !keys.isEmpty else { return [:] }
        var names: [String: String] = [:]
        let field = entity.field(group.field)
        switch (group.field, field?.type) {
        case ("owner_id", _), (_, .user?):
            let ids = keys.compactMap(UUID.init(uuidString:))
            for try await (id, name) in try await connection.query("SELECT id, display_name FROM users WHERE id = ANY(\(ids))", logger: logger)
                .decode((UUID, String).self) { names[id.uuidString.lowercased()] = name }
        case ("department_id", _), (_, .department?):
            let ids = keys.compactMap(UUID.init(uuidString:))
            for try await (id, name) in try await connection.query("SELECT id, name FROM departments WHERE id = ANY(\(ids))", logger: logger)
                .decode((UUID, String).self) { names[id.uuidString.lowercased()] = name }
        case (_, .picklist?), (_, .multiPicklist?):
            if let field { for key in keys { names[key] = RecordCSV.optionLabel(key, field: field, locale: locale) } }
        case (_, .boolean?):
            for key in keys { names[key] = key == "true" ? (locale.hasPrefix("zh") ? "是" : "Yes") : (locale.hasPrefix("zh") ? "否" : "No") }
        case (_, .lookup?):
            guard let targetKey = field?.target, let target = definitions[targetKey], actor.access.scope(target, .read) > .none else { break }
            let filter: JSONValue = .object(["field": .string("id"), "op": .string("in"), "value": .array(keys.sorted().map(JSONValue.string))])
            let found = try await engine.list(targetKey, query: RecordQuery(filter: filter, limit: RecordQuery.maxLimit), as: actor, on: connection, logger: logger)
            for record in found.records {
                names[record.id.uuidString.lowercased()] = target.title(of: record, locale: locale) ?? record.id.uuidString.lowercased()
            }
        default:
            break
        }
        return names
    }

    /// The list filter of one group value: equality, "is empty", or the period's date range.
    static func drill(_ group: ReportDefinition.Grouping, key: String?, entity: EntityDefinition) -> [JSONValue] {
        func leaf(_ op: String, _ value: JSONValue) -> JSONValue {
            .object(["field": .string(group.field), "op": .string(op), "value": value])
        }
        guard let key else { return [leaf("is_empty", .bool(true))] }
        guard let bucket = group.bucket else {
            if entity.field(group.field)?.type == .boolean { return [leaf("eq", .bool(key == "true"))] }
            return [leaf("eq", .string(key))]
        }
        guard let (start, end) = period(key, bucket: bucket) else { return [leaf("eq", .string(key))] }
        let isDate = entity.field(group.field)?.type == .date
        func text(_ date: Date) -> JSONValue { .string(isDate ? FieldValidator.formatDate(date) : FieldValidator.formatDateTime(date)) }
        return [leaf("gte", text(start)), leaf("lt", text(end))]
    }

    /// The first instant of a period named like `2026-11-23`, `2026-W48`, `2026-11`, `2026-Q4`
    /// or `2026`, and the first instant after it (UTC).
    static func period(_ key: String, bucket: RecordAggregate.Bucket) -> (Date, Date)? {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = key.split(whereSeparator: { $0 == "-" || $0 == "W" || $0 == "Q" }).compactMap { Int($0) }
        guard let year = parts.first else { return nil }
        var components = DateComponents(year: year, month: 1, day: 1)
        let step: DateComponents
        switch bucket {
        case .day:
            guard parts.count == 3 else { return nil }
            components.month = parts[1]
            components.day = parts[2]
            step = DateComponents(day: 1)
        case .week:
            guard parts.count == 2 else { return nil }
            components = DateComponents(weekday: 2, weekOfYear: parts[1], yearForWeekOfYear: year)
            step = DateComponents(day: 7)
        case .month:
            guard parts.count == 2 else { return nil }
            components.month = parts[1]
            step = DateComponents(month: 1)
        case .quarter:
            guard parts.count == 2, (1...4).contains(parts[1]) else { return nil }
            components.month = (parts[1] - 1) * 3 + 1
            step = DateComponents(month: 3)
        case .year:
            step = DateComponents(year: 1)
        }
        guard let start = calendar.date(from: components), let end = calendar.date(byAdding: step, to: start) else { return nil }
        return (start, end)
    }

    // MARK: Storage

    /// The caller's own reports and those shared with the tenant, by name.
    public static func list(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> [SavedReport] {
        var reports: [SavedReport] = []
        for try await (id, owner, name, definition, shared, updated) in try await connection.query("""
            SELECT id, owner_id, name, definition::text, shared, updated_at FROM reports
            WHERE owner_id = \(actor.user.id) OR shared ORDER BY lower(name), id
            """, logger: logger).decode((UUID, UUID, String, String, Bool, Date).self) {
            // A stored definition was checked when saved; one an upgrade cannot read is skipped, not fatal.
            guard let parsed = try? ReportDefinition(json: JSONValue.parse(definition)) else { continue }
            reports.append(SavedReport(id: id, ownerID: owner, name: name, definition: parsed, shared: shared, updatedAt: updated))
        }
        return reports
    }

    public static func get(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> SavedReport {
        var found: (UUID, String, String, Bool, Date)?
        for try await row in try await connection.query("""
            SELECT owner_id, name, definition::text, shared, updated_at FROM reports
            WHERE id = \(id) AND (owner_id = \(actor.user.id) OR shared)
            """, logger: logger).decode((UUID, String, String, Bool, Date).self) { found = row }
        guard let (owner, name, definition, shared, updated) = found else {
            throw AtriumError(status: .notFound, code: "report_not_found", message: "no report \(id.uuidString.lowercased())")
        }
        return SavedReport(id: id, ownerID: owner, name: name, definition: try ReportDefinition(json: JSONValue.parse(definition)), shared: shared, updatedAt: updated)
    }

    /// Checks a report's name and definition by running it once as its author (an unknown
    /// field, a hidden one or a bad filter is refused before anything is stored).
    static func validate(name: String, definition: ReportDefinition, engine: RecordEngine, as actor: RecordEngine.Actor,
                         on connection: PostgresConnection, logger: Logger) async throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else {
            throw AtriumError(status: .unprocessableContent, code: "invalid_report", message: "name must be 1 to 100 characters", field: "name")
        }
        do {
            _ = try await run(definition, engine: engine, locale: "en", as: actor, on: connection, logger: logger)
        } catch let error as AtriumError where error.status.code < 500 {
            throw AtriumError(status: .unprocessableContent, code: "invalid_report", message: error.message, field: error.field ?? "definition")
        }
        return trimmed
    }

    public static func create(name: String, definition: ReportDefinition, shared: Bool, engine: RecordEngine, as actor: RecordEngine.Actor,
                              on connection: PostgresConnection, logger: Logger) async throws -> SavedReport {
        let name = try await validate(name: name, definition: definition, engine: engine, as: actor, on: connection, logger: logger)
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        let id = UUID()
        try await connection.query("""
            INSERT INTO reports (tenant_id, id, owner_id, name, entity, definition, shared)
            VALUES (\(tenant), \(id), \(actor.user.id), \(name), \(definition.entity), \(definition.json.jsonText)::jsonb, \(shared))
            """, logger: logger)
        try await audit("report.created", id: id, name: name, actor: actor, tenant: tenant, on: connection, logger: logger)
        return try await get(id, as: actor, on: connection, logger: logger)
    }

    /// Changes a report; only its owner or an administrator may.
    public static func update(_ id: UUID, name: String?, definition: ReportDefinition?, shared: Bool?, engine: RecordEngine, as actor: RecordEngine.Actor,
                              on connection: PostgresConnection, logger: Logger) async throws -> SavedReport {
        let current = try await get(id, as: actor, on: connection, logger: logger)
        try mayChange(current, actor)
        let newDefinition = definition ?? current.definition
        let newName = try await validate(name: name ?? current.name, definition: newDefinition, engine: engine, as: actor, on: connection, logger: logger)
        try await connection.query("""
            UPDATE reports SET name = \(newName), entity = \(newDefinition.entity), definition = \(newDefinition.json.jsonText)::jsonb,
                shared = \(shared ?? current.shared), updated_at = now() WHERE id = \(id)
            """, logger: logger)
        try await audit("report.updated", id: id, name: newName, actor: actor, tenant: try await TenantScope.current(on: connection, logger: logger),
                        on: connection, logger: logger)
        return try await get(id, as: actor, on: connection, logger: logger)
    }

    public static func delete(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let current = try await get(id, as: actor, on: connection, logger: logger)
        try mayChange(current, actor)
        try await connection.query("DELETE FROM reports WHERE id = \(id)", logger: logger)
        try await audit("report.deleted", id: id, name: current.name, actor: actor, tenant: try await TenantScope.current(on: connection, logger: logger),
                        on: connection, logger: logger)
    }

    // MARK: Ready-made reports

    /// The ready-made reports of the tenant's enabled modules whose object the caller may read,
    /// and whether each is on the caller's default dashboard (one of their roles is named).
    public static func ready(catalog: ModuleCatalog, as actor: RecordEngine.Actor, definitions: [String: EntityDefinition],
                             on connection: PostgresConnection, logger: Logger) async throws -> [(report: ModuleReport, mine: Bool)] {
        var roleKeys: Set<String> = actor.user.isAdmin ? ["administrator"] : []
        for try await key in try await connection.query("SELECT key FROM roles WHERE id = ANY(\(actor.access.roleIDs))", logger: logger)
            .decode(String.self) { roleKeys.insert(key) }
        var result: [(ModuleReport, Bool)] = []
        for id in try await TenantModules.enabled(on: connection, logger: logger) {
            for report in catalog.manifests[id]?.reports ?? [] {
                guard let definition = report.definition, let entity = definitions[definition.entity],
                      actor.access.scope(entity, .read) > .none else { continue }
                result.append((report, !roleKeys.isDisjoint(with: report.roles)))
            }
        }
        return result
    }

    // MARK: The dashboard

    /// Reports a user may keep on the home page at once.
    public static let maxPins = 8

    /// The caller's pinned reports they may still see, in pinning order.
    public static func pinned(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> [SavedReport] {
        var reports: [SavedReport] = []
        for try await (id, owner, name, definition, shared, updated) in try await connection.query("""
            SELECT r.id, r.owner_id, r.name, r.definition::text, r.shared, r.updated_at FROM report_pins p
            JOIN reports r ON r.tenant_id = p.tenant_id AND r.id = p.report_id
            WHERE p.user_id = \(actor.user.id) AND (r.owner_id = \(actor.user.id) OR r.shared) ORDER BY p.position, p.created_at
            """, logger: logger).decode((UUID, UUID, String, String, Bool, Date).self) {
            guard let parsed = try? ReportDefinition(json: JSONValue.parse(definition)) else { continue }
            reports.append(SavedReport(id: id, ownerID: owner, name: name, definition: parsed, shared: shared, updatedAt: updated))
        }
        return reports
    }

    /// Pins a report the caller may see to their home page (at the end), or takes it off.
    public static func pin(_ id: UUID, _ on: Bool, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await get(id, as: actor, on: connection, logger: logger)
        if !on {
            try await connection.query("DELETE FROM report_pins WHERE user_id = \(actor.user.id) AND report_id = \(id)", logger: logger)
            return
        }
        let current = try await pinned(as: actor, on: connection, logger: logger)
        if current.contains(where: { $0.id == id }) { return }
        guard current.count < maxPins else {
            throw AtriumError(status: .unprocessableContent, code: "too_many_pins", message: "a home page holds at most \(maxPins) reports; unpin one first", field: "pin")
        }
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO report_pins (tenant_id, user_id, report_id, position) VALUES (\(tenant), \(actor.user.id), \(id), \(current.count))
            """, logger: logger)
    }

    static func mayChange(_ report: SavedReport, _ actor: RecordEngine.Actor) throws {
        guard report.ownerID == actor.user.id || actor.user.isAdmin else {
            throw AtriumError(status: .forbidden, code: "forbidden", message: "only the report's owner or an administrator may change it")
        }
    }

    static func audit(_ action: String, id: UUID, name: String, actor: RecordEngine.Actor, tenant: UUID,
                      on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: "report", recordID: id.uuidString.lowercased(),
                                        details: ["name": name], ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenant, on: connection, logger: logger)
    }
}

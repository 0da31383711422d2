import Foundation
import Logging
import PostgresNIO

/// A grouped count and sums over an entity's live records, for reports (funnel, forecast,
/// ageing). It takes the same path as a list: the caller's read scope, hidden fields and the
/// filter language of ``RecordQuery`` all apply, so a report never shows what a list would not.
///
/// ```swift
/// let rows = try await engine.aggregate("opportunity", RecordAggregate(groups: [.field("stage")], sums: ["amount"]), as: actor, on: conn, logger: logger)
/// ```
public struct RecordAggregate: Sendable {
    public enum Group: Sendable, Equatable {
        /// The stored value of a field (picklist value, lookup id, text).
        case field(String)
        /// `YYYY-MM` of a date or datetime field, or of `created_at` / `updated_at`.
        case month(String)
        /// A date, datetime or system time field cut to a period: `2026-11-23` (day),
        /// `2026-W48` (ISO week), `2026-11` (month), `2026-Q4` (quarter), `2026` (year); UTC.
        case bucket(String, Bucket)
        case owner
        /// The owner's department (`records.department_id`).
        case department
    }

    public enum Bucket: String, Sendable, CaseIterable {
        case day, week, month, quarter, year

        /// The `to_char` pattern of the period's name; `IYYY`/`IW` make weeks ISO weeks.
        var pattern: String {
            switch self {
            case .day: "YYYY-MM-DD"
            case .week: #"IYYY-"W"IW"#
            case .month: "YYYY-MM"
            case .quarter: #"YYYY-"Q"Q"#
            case .year: "YYYY"
            }
        }
    }

    /// A figure per group beyond the count: sum, average, minimum or maximum of a number,
    /// percent or money field (money: its amount; one currency per tenant is assumed).
    public struct Measure: Sendable, Equatable {
        public enum Function: String, Sendable, CaseIterable { case sum, avg, min, max }
        public var function: Function
        public var field: String

        public init(_ function: Function, _ field: String) {
            self.function = function
            self.field = field
        }
    }

    public var groups: [Group]
    /// Number, percent or money fields summed per group (money: the amount; one currency per tenant is assumed).
    public var sums: [String]
    /// Figures after the sums, in ``Row/measures``. Averages are exact decimals rounded to 4 places.
    public var measures: [Measure]
    public var filter: JSONValue?

    public init(groups: [Group], sums: [String] = [], measures: [Measure] = [], filter: JSONValue? = nil) {
        self.groups = groups
        self.sums = sums
        self.measures = measures
        self.filter = filter
    }

    public struct Row: Sendable, Equatable {
        /// One value per group, nil when the records have none.
        public let keys: [String?]
        public let count: Int
        /// One exact sum per summed field (0 when every value is empty).
        public let sums: [Decimal]
        /// One value per ``RecordAggregate/measures`` entry; nil when no record of the group has a value.
        public var measures: [Decimal?] = []
    }

    static let maxGroups = 3
    static let maxSums = 4
}

extension RecordEngine {
    public func aggregate(_ entityKey: String, _ spec: RecordAggregate, as actor: Actor,
                          on connection: PostgresConnection, logger: Logger) async throws -> [RecordAggregate.Row] {
        let (fullEntity, all) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        let entity = actor.access.visible(fullEntity)
        guard (1...RecordAggregate.maxGroups).contains(spec.groups.count), spec.sums.count + spec.measures.count <= RecordAggregate.maxSums else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "a report groups by 1 to 3 keys and has at most 4 measures besides the count")
        }
        func field(_ key: String) throws -> FieldDefinition {
            // Only metadata keys (^[a-z][a-z0-9_]*$) ever reach the SQL text.
            guard let field = entity.field(key), field.active else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(entity.key) has no field \(key)", field: key)
            }
            return field
        }
        var groupExpressions: [String] = []
        for group in spec.groups {
            switch group {
            case .owner:
                groupExpressions.append("r.owner_id::text")
            case .department:
                groupExpressions.append("r.department_id::text")
            case .field(let key):
                _ = try field(key)
                groupExpressions.append("r.data->>'\(key)'")
            case .month(let key):
                if let system = SystemField(rawValue: key), system.isTime {
                    groupExpressions.append("to_char(\(system.column) AT TIME ZONE 'UTC', 'YYYY-MM')")
                } else {
                    let field = try field(key)
                    guard field.type == .date || field.type == .datetime else {
                        throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(key) is not a date", field: key)
                    }
                    groupExpressions.append("left(r.data->>'\(key)', 7)")
                }
            case .bucket(let key, let bucket):
                let moment: String
                if let system = SystemField(rawValue: key), system.isTime {
                    moment = "\(system.column) AT TIME ZONE 'UTC'"
                } else {
                    let field = try field(key)
                    switch field.type {
                    case .date: moment = "(r.data->>'\(key)')::date"
                    case .datetime: moment = "(r.data->>'\(key)')::timestamptz AT TIME ZONE 'UTC'"
                    default: throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(key) is not a date", field: key)
                    }
                }
                groupExpressions.append("to_char(\(moment), '\(bucket.pattern)')")
            }
        }
        var sumExpressions: [String] = []
        for key in spec.sums {
            let field = try field(key)
            switch field.type {
            case .money: sumExpressions.append("coalesce(sum((r.data->'\(key)'->>'amount')::numeric), 0)::text")
            case .number, .percent: sumExpressions.append("coalesce(sum((r.data->>'\(key)')::numeric), 0)::text")
            default: throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(key) is not a number", field: key)
            }
        }
        for measure in spec.measures {
            let field = try field(measure.field)
            let value: String
            switch field.type {
            case .money: value = "(r.data->'\(measure.field)'->>'amount')::numeric"
            case .number, .percent: value = "(r.data->>'\(measure.field)')::numeric"
            default: throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(measure.field) is not a number", field: measure.field)
            }
            switch measure.function {
            case .avg: sumExpressions.append("trim_scale(round(avg(\(value)), 4))::text")
            case .sum: sumExpressions.append("coalesce(sum(\(value)), 0)::text")
            default: sumExpressions.append("\(measure.function.rawValue)(\(value))::text")
            }
        }
        var compiler = QueryCompiler(entity: entity, entities: all)
        let tenantParam = compiler.bind(try await currentTenant(on: connection, logger: logger))
        compiler.tenantParam = tenantParam
        compiler.access = actor.access
        let entityParam = compiler.bind(entity.key)
        var conditions = ["r.tenant_id = \(tenantParam)", "r.entity = \(entityParam)", "r.deleted_at IS NULL"]
        if let predicate = try actor.access.predicate(for: fullEntity, action: .read, alias: "r", binds: &compiler.binds) {
            conditions.append(predicate)
        }
        if let filter = spec.filter, !filter.isNull {
            conditions.append(try compiler.condition(filter))
        }
        let positions = (1...groupExpressions.count).map(String.init).joined(separator: ", ")
        let sql = """
            SELECT \((groupExpressions + ["count(*)::int"] + sumExpressions).joined(separator: ", "))
            FROM records r WHERE \(conditions.joined(separator: " AND "))
            GROUP BY \(positions) ORDER BY \(positions)
            """
        var rows: [RecordAggregate.Row] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: compiler.binds), logger: logger) {
            let cells = row.makeRandomAccess()
            let keys = try (0..<groupExpressions.count).map { try cells[$0].decode(String?.self) }
            let count = try cells[groupExpressions.count].decode(Int.self)
            let sums = try (0..<spec.sums.count).map { index -> Decimal in
                let text = try cells[groupExpressions.count + 1 + index].decode(String.self)
                return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0
            }
            let measures = try (0..<spec.measures.count).map { index -> Decimal? in
                let text = try cells[groupExpressions.count + 1 + spec.sums.count + index].decode(String?.self)
                return text.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) }
            }
            rows.append(RecordAggregate.Row(keys: keys, count: count, sums: sums, measures: measures))
        }
        return rows
    }
}

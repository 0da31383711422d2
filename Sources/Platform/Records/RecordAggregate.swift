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
        case owner
        /// The owner's department (`records.department_id`).
        case department
    }

    public var groups: [Group]
    /// Number, percent or money fields summed per group (money: the amount; one currency per tenant is assumed).
    public var sums: [String]
    public var filter: JSONValue?

    public init(groups: [Group], sums: [String] = [], filter: JSONValue? = nil) {
        self.groups = groups
        self.sums = sums
        self.filter = filter
    }

    public struct Row: Sendable, Equatable {
        /// One value per group, nil when the records have none.
        public let keys: [String?]
        public let count: Int
        /// One exact sum per summed field (0 when every value is empty).
        public let sums: [Decimal]
    }

    static let maxGroups = 3
    static let maxSums = 4
}

extension RecordEngine {
    public func aggregate(_ entityKey: String, _ spec: RecordAggregate, as actor: Actor,
                          on connection: PostgresConnection, logger: Logger) async throws -> [RecordAggregate.Row] {
        let (fullEntity, all) = try await entity(entityKey, for: .read, actor: actor, on: connection, logger: logger)
        let entity = actor.access.visible(fullEntity)
        guard (1...RecordAggregate.maxGroups).contains(spec.groups.count), spec.sums.count <= RecordAggregate.maxSums else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "a report groups by 1 to 3 keys and sums at most 4 fields")
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
            let sums = try (0..<sumExpressions.count).map { index -> Decimal in
                let text = try cells[groupExpressions.count + 1 + index].decode(String.self)
                return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0
            }
            rows.append(RecordAggregate.Row(keys: keys, count: count, sums: sums))
        }
        return rows
    }
}

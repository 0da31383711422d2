import Foundation

/// What a report computes (issue 21's report builder), as stored in `reports.definition` and
/// sent by the API:
///
/// ```json
/// {"entity": "opportunity",
///  "group_by": [{"field": "stage"}, {"field": "close_date", "bucket": "month"}],
///  "measures": [{"fn": "count"}, {"fn": "sum", "field": "amount"}],
///  "filter": {"field": "status", "op": "eq", "value": "open"},
///  "sort": "-value", "limit": 10, "chart": "bar"}
/// ```
/// - `group_by`: one or two of a field (picklist, lookup, user, department, text, boolean…),
///   `owner_id`, `department_id`, or a date/datetime field or `created_at`/`updated_at` with a
///   `bucket` (day, week, month, quarter, year);
/// - `measures`: one to four of `count`, or `sum`/`avg`/`min`/`max` of a number, percent or money field;
/// - `sort`: `key` (by the groups, the default) or `-value` / `value` (by the first measure);
/// - `limit`: top N groups (1–1000); `chart`: bar, line, pie or table.
public struct ReportDefinition: Sendable, Equatable {
    public struct Grouping: Sendable, Equatable {
        public var field: String
        public var bucket: RecordAggregate.Bucket?
    }

    public struct Measure: Sendable, Equatable {
        public enum Function: String, Sendable, CaseIterable { case count, sum, avg, min, max }
        public var function: Function
        public var field: String?
    }

    public enum Chart: String, Sendable, CaseIterable { case bar, line, pie, table }

    public var entity: String
    public var groupBy: [Grouping]
    public var measures: [Measure]
    public var filter: JSONValue?
    public var sortByValue: Bool
    public var descending: Bool
    public var limit: Int?
    public var chart: Chart

    static let maxGroups = 2
    static let maxMeasures = 4
    static let maxLimit = 1_000

    /// Reads a definition, naming the first bad part (`group_by.0.bucket`, `measures.1.field`…).
    public init(json: JSONValue) throws {
        func bad(_ field: String, _ message: String) -> AtriumError {
            AtriumError(status: .unprocessableContent, code: "invalid_report", message: "\(field) \(message)", field: field)
        }
        guard case .object(let object) = json else { throw bad("definition", "must be a JSON object") }
        let known: Set<String> = ["entity", "group_by", "measures", "filter", "sort", "limit", "chart"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) { throw bad(unknown, "is not part of a report") }
        guard let entity = object["entity"]?.stringValue, !entity.isEmpty else { throw bad("entity", "is required") }
        self.entity = entity
        guard let groups = object["group_by"]?.arrayValue, (1...Self.maxGroups).contains(groups.count) else {
            throw bad("group_by", "must list 1 or \(Self.maxGroups) groupings")
        }
        groupBy = try groups.enumerated().map { index, group in
            guard let field = group["field"]?.stringValue, !field.isEmpty else { throw bad("group_by.\(index).field", "is required") }
            var bucket: RecordAggregate.Bucket?
            if let text = group["bucket"], !text.isNull {
                guard let name = text.stringValue, let value = RecordAggregate.Bucket(rawValue: name) else {
                    throw bad("group_by.\(index).bucket", "must be one of \(RecordAggregate.Bucket.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                bucket = value
            }
            return Grouping(field: field, bucket: bucket)
        }
        let measureList = object["measures"]?.arrayValue ?? [.object(["fn": .string("count")])]
        guard (1...Self.maxMeasures).contains(measureList.count) else { throw bad("measures", "must list 1 to \(Self.maxMeasures) measures") }
        measures = try measureList.enumerated().map { index, measure in
            guard let name = measure["fn"]?.stringValue, let function = Measure.Function(rawValue: name) else {
                throw bad("measures.\(index).fn", "must be one of \(Measure.Function.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let field = measure["field"]?.stringValue
            if function != .count && (field ?? "").isEmpty { throw bad("measures.\(index).field", "is required for \(name)") }
            return Measure(function: function, field: function == .count ? nil : field)
        }
        filter = object["filter"].flatMap { $0.isNull ? nil : $0 }
        switch object["sort"]?.stringValue ?? "key" {
        case "key": (sortByValue, descending) = (false, false)
        case "value": (sortByValue, descending) = (true, false)
        case "-value": (sortByValue, descending) = (true, true)
        default: throw bad("sort", "must be key, value or -value")
        }
        if let limit = object["limit"], !limit.isNull {
            guard let count = limit.intValue, (1...Self.maxLimit).contains(count) else { throw bad("limit", "must be a whole number from 1 to \(Self.maxLimit)") }
            self.limit = count
        }
        guard let chart = Chart(rawValue: object["chart"]?.stringValue ?? "bar") else {
            throw bad("chart", "must be one of \(Chart.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.chart = chart
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "entity": .string(entity),
            "group_by": .array(groupBy.map { group in
                var item: [String: JSONValue] = ["field": .string(group.field)]
                if let bucket = group.bucket { item["bucket"] = .string(bucket.rawValue) }
                return .object(item)
            }),
            "measures": .array(measures.map { measure in
                var item: [String: JSONValue] = ["fn": .string(measure.function.rawValue)]
                if let field = measure.field { item["field"] = .string(field) }
                return .object(item)
            }),
            "sort": .string(sortByValue ? (descending ? "-value" : "value") : "key"),
            "chart": .string(chart.rawValue),
        ]
        if let filter { object["filter"] = filter }
        if let limit { object["limit"] = .number(Decimal(limit)) }
        return .object(object)
    }

    /// The engine's aggregate for this definition.
    var aggregate: RecordAggregate {
        let groups: [RecordAggregate.Group] = groupBy.map { group in
            if let bucket = group.bucket { return .bucket(group.field, bucket) }
            switch group.field {
            case "owner_id": return .owner
            case "department_id": return .department
            default: return .field(group.field)
            }
        }
        let figures = measures.compactMap { measure -> RecordAggregate.Measure? in
            guard let field = measure.field, let function = RecordAggregate.Measure.Function(rawValue: measure.function.rawValue) else { return nil }
            return RecordAggregate.Measure(function, field)
        }
        return RecordAggregate(groups: groups, measures: figures, filter: filter)
    }
}

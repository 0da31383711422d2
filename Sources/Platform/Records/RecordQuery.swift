import Foundation
import PostgresNIO

/// A list request: filter tree, sort, paging and fuzzy search, all resolved against the
/// entity's metadata before any SQL exists. Field names never reach SQL text unless they are
/// keys of the metadata (which match `^[a-z][a-z0-9_]*$`); values are always bound parameters.
///
/// Filter JSON: `{"and": [...]}`, `{"or": [...]}` or
/// `{"field": "x_budget", "op": "gte", "value": 1000}`; a field may go one level through a
/// lookup: `{"field": "account.region", "op": "eq", "value": "East"}`.
public struct RecordQuery: Sendable, Decodable {
    public var filter: JSONValue?
    public var sort: String?
    public var limit: Int?
    public var offset: Int?
    public var q: String?
    /// `exact` counts every match; otherwise (`capped`, the default) the total is exact up to
    /// ``countCap`` and reported as "more than that" beyond it, as the large CRMs do (Salesforce
    /// list views show "2000+"): counting 40 000 matches cost 80 ms where the page took 2 ms, and
    /// even the first 2 000 of a filter matching 40 % cost ~40 ms (bench/request_path_bench.py).
    public var count: String?
    /// Keyset paging: the `next_cursor` of the previous page (the id of its last record). The
    /// next page then starts right after that record in the sort order, however deep the list,
    /// instead of skipping `offset` rows; needs a sort by `created_at` or `updated_at`.
    public var after: String?
    /// The records waiting in this pool (公海), which the caller must belong to.
    public var pool: UUID?

    public init(filter: JSONValue? = nil, sort: String? = nil, limit: Int? = nil, offset: Int? = nil, q: String? = nil, count: String? = nil,
                after: String? = nil, pool: UUID? = nil) {
        self.pool = pool
        self.filter = filter
        self.sort = sort
        self.limit = limit
        self.offset = offset
        self.q = q
        self.count = count
        self.after = after
    }

    public static let maxLimit = 200
    public static let countCap = 1_000

    /// Whether the caller asked for an exact total (`count=exact`); anything but `exact` or
    /// `capped` is a 400 naming `count`.
    func wantsExactCount() throws -> Bool {
        switch count {
        case nil, "capped": return false
        case "exact": return true
        default: throw AtriumError(status: .badRequest, code: "invalid_query", message: "count must be exact or capped", field: "count")
        }
    }
    public static let operators: Set<String> = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "starts_with", "is_empty", "between"]
}

/// Builds the WHERE and ORDER BY of a record list as SQL with numbered parameters.
struct QueryCompiler {
    let entity: EntityDefinition
    let entities: [String: EntityDefinition]
    var binds = PostgresBindings()
    /// The bound parameter holding the tenant id, so index-table conditions name it directly.
    var tenantParam: String?
    /// Compiling the children of an `or` (indexed equality becomes an id array, see `indexCondition`).
    var inDisjunction = false
    /// The caller's access: a filter through a lookup only sees target records (and fields)
    /// the caller may read, so filtering cannot reveal what the scope hides.
    var access: AccessContext = .system

    init(entity: EntityDefinition, entities: [String: EntityDefinition]) {
        self.entity = entity
        self.entities = entities
    }

    static func badFilter(_ message: String, field: String? = nil) -> AtriumError {
        AtriumError(status: .badRequest, code: "invalid_query", message: message, field: field)
    }

    mutating func bind(_ value: String) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    mutating func bind(_ value: UUID) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    /// SQL for `node`, evaluated against the row alias `alias`.
    mutating func condition(_ node: JSONValue, alias: String = "r", depth: Int = 0) throws -> String {
        guard depth < 8 else { throw Self.badFilter("filter nests too deeply (at most 8 levels)") }
        guard case .object(let object) = node else { throw Self.badFilter("a filter must be an object") }
        if let group = object["and"] ?? object["or"] {
            guard object.count == 1, case .array(let children) = group, !children.isEmpty else {
                throw Self.badFilter("\"and\"/\"or\" take a non-empty list of filters and nothing else")
            }
            let joiner = object["and"] != nil ? " AND " : " OR "
            var parts: [String] = []
            let outer = inDisjunction
            inDisjunction = object["or"] != nil
            defer { inDisjunction = outer }
            for child in children { parts.append(try condition(child, alias: alias, depth: depth + 1)) }
            return "(" + parts.joined(separator: joiner) + ")"
        }
        guard case .string(let path)? = object["field"] else { throw Self.badFilter("a filter needs \"field\"") }
        guard case .string(let op)? = object["op"], RecordQuery.operators.contains(op) else {
            throw Self.badFilter("unknown operator; use one of \(RecordQuery.operators.sorted().joined(separator: ", "))", field: path)
        }
        let value = object["value"] ?? .null
        let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if segments.count == 2 {
            guard let lookup = entity.field(segments[0]), lookup.active, lookup.type == .lookup,
                  let target = lookup.target.flatMap({ entities[$0] }), access.canSee(target) else {
                throw Self.badFilter("'\(segments[0])' is not a lookup field of \(entity.key)", field: path)
            }
            var inner = QueryCompiler(entity: access.visible(target), entities: entities)
            inner.binds = binds
            inner.tenantParam = tenantParam
            inner.access = access
            var clause = try inner.comparison(field: segments[1], op: op, value: value, alias: "j")
            if let scope = try access.predicate(for: target, action: .read, alias: "j", binds: &inner.binds) {
                clause += " AND \(scope)"
            }
            binds = inner.binds
            return """
                EXISTS (SELECT 1 FROM records j WHERE j.tenant_id = \(alias).tenant_id AND j.deleted_at IS NULL \
                AND j.entity = '\(target.key)' AND j.id = (\(alias).data->>'\(lookup.key)')::uuid AND \(clause))
                """
        }
        guard segments.count == 1 else { throw Self.badFilter("a field path goes at most one lookup deep", field: path) }
        return try comparison(field: path, op: op, value: value, alias: alias)
    }

    enum Operand {
        case numeric(String)    // SQL expression of type numeric
        case text(String)       // SQL expression of type text
        case time(String)       // timestamptz column
        case uuid(String)
        case array(String)      // jsonb array (multi-picklist)
    }

    /// The typed SQL expression for a field; its text matches the per-field index.
    func operand(_ key: String, alias: String) throws -> (Operand, FieldDefinition?) {
        if let system = SystemField(rawValue: key) {
            let column = "\(alias).\(system.rawValue)"
            switch system {
            case .created_at, .updated_at, .last_activity_at: return (.time(column), nil)
            case .version: return (.numeric("\(column)::numeric"), nil)
            default: return (.uuid(column), nil)
            }
        }
        guard let field = entity.field(key), field.active else {
            throw Self.badFilter("\(entity.key) has no field '\(key)'", field: key)
        }
        // `key` comes from metadata (checked pattern), so inlining it as a literal is safe.
        let text = "(\(alias).data->>'\(field.key)')"
        switch field.type {
        case .number, .percent: return (.numeric("(\(text)::numeric)"), field)
        case .money: return (.numeric("(((\(alias).data->'\(field.key)')->>'amount')::numeric)"), field)
        case .multiPicklist: return (.array("(\(alias).data->'\(field.key)')"), field)
        default: return (.text(text), field)
        }
    }

    /// A filter value in stored form (so a date compares as the stored text does).
    func normalise(_ value: JSONValue, field: FieldDefinition?, key: String) throws -> String {
        guard let field else {
            guard case .string(let text) = value else {
                if case .number(let number) = value { return "\(number)" }
                throw Self.badFilter("value for \(key) must be text", field: key)
            }
            return text
        }
        var filterField = field
        filterField.required = false
        filterField.pattern = nil
        filterField.min = nil
        filterField.max = nil
        filterField.scale = nil
        if field.type == .multiPicklist { filterField.type = .picklist }
        if field.type == .autoNumber || field.type == .longText { filterField.type = .text; filterField.maxLength = 100_000 }
        do {
            let normalised = try FieldValidator.normalise(value, for: filterField)
            switch normalised {
            case .string(let text): return text
            case .bool(let flag): return flag ? "true" : "false"
            case .object(let money): return money["amount"]?.stringValue ?? ""
            default: throw Self.badFilter("value for \(key) is empty", field: key)
            }
        } catch let error as AtriumError {
            throw Self.badFilter("filter value for \(error.message)", field: key)
        }
    }

    mutating func comparison(field key: String, op: String, value: JSONValue, alias: String) throws -> String {
        let exact = try exactComparison(field: key, op: op, value: value, alias: alias)
        guard let field = entity.field(key), field.active, field.filterable,
              let narrowing = try indexCondition(field: field, op: op, value: value, alias: alias) else {
            return exact
        }
        // Equality on a key that is the value itself (a picklist value, a number, a date) needs
        // no second test on `data` — and must not get one: PostgreSQL guesses 0.5 % for any
        // `data->>…` condition, so with it a filter matching 40 % looked like 200 rows and the
        // list sorted every match instead of walking the time index (bench: 398 ms → 1 ms).
        if (op == "eq" || op == "in") && FieldIndex.keyIsExact(field) { return narrowing }
        // Otherwise the key table narrows the candidates with leakproof text comparisons (usable
        // under RLS); the exact condition on `data` still decides, so a lossy key cannot change results.
        return "(\(narrowing) AND \(exact))"
    }

    /// An `EXISTS` on `record_index` for an operator its keys answer, else nil (see `FieldIndex`).
    mutating func indexCondition(field: FieldDefinition, op: String, value: JSONValue, alias: String) throws -> String? {
        guard FieldIndex.indexable(field.type) else { return nil }
        let isRange = FieldIndex.isRangeType(field.type)
        func key(_ value: JSONValue) throws -> String {
            let text = try normalise(value, field: field, key: field.key)
            let stored: JSONValue = field.type == .boolean ? .bool(text == "true") : .string(text)
            guard let key = FieldIndex.key(stored, type: field.type) else {
                throw Self.badFilter("value for \(field.key) is not a valid \(field.type.rawValue)", field: field.key)
            }
            return key
        }
        let test: String
        switch op {
        case "eq":
            test = "ix.key = \(bind(try key(value)))"
        case "in":
            guard case .array(let items) = value, !items.isEmpty, items.count <= 500 else { return nil }
            test = "ix.key IN (" + (try items.map { bind(try key($0)) }).joined(separator: ", ") + ")"
        case "lt", "lte", "gt", "gte":
            guard isRange else { return nil }
            let sign = ["lt": "<", "lte": "<=", "gt": ">", "gte": ">="][op]!
            test = "ix.key \(sign) \(bind(try key(value)))"
        case "between":
            guard isRange, case .array(let bounds) = value, bounds.count == 2 else { return nil }
            test = "ix.key BETWEEN \(bind(try key(bounds[0]))) AND \(bind(try key(bounds[1])))"
        case "starts_with":
            guard field.type != .boolean, !FieldIndex.isNumeric(field.type), case .string(let prefix) = value, !prefix.isEmpty else { return nil }
            let low = isRange ? prefix : FieldIndex.textKey(prefix)
            test = "ix.key >= \(bind(low)) AND ix.key < \(bind(low + "\u{10FFFF}"))"
        default:
            return nil
        }
        let tenant = tenantParam ?? "\(alias).tenant_id"
        if inDisjunction, let tenantParam, op == "eq" || op == "in" {
            // Inside an OR (a duplicate check: same name OR phone OR tax id) a correlated
            // EXISTS makes PostgreSQL test every row of the entity; the matching ids as an
            // array, computed once, let it combine primary-key lookups (a BitmapOr) instead.
            return """
                \(alias).id = ANY(ARRAY(SELECT ix.record_id FROM record_index ix WHERE ix.tenant_id = \(tenantParam) \
                AND ix.entity = '\(entity.key)' AND ix.field = '\(field.key)' AND \(test)))
                """
        }
        return """
            EXISTS (SELECT 1 FROM record_index ix WHERE ix.tenant_id = \(tenant) AND ix.entity = '\(entity.key)' \
            AND ix.field = '\(field.key)' AND \(test) AND ix.record_id = \(alias).id)
            """
    }

    mutating func exactComparison(field key: String, op: String, value: JSONValue, alias: String) throws -> String {
        let (operand, field) = try operand(key, alias: alias)
        func typed(_ value: JSONValue) throws -> String {
            let text = try normalise(value, field: field, key: key)
            switch operand {
            case .numeric: return "\(bind(text))::numeric"
            case .time: return "\(bind(text))::timestamptz"
            case .uuid:
                guard let id = UUID(uuidString: text) else { throw Self.badFilter("value for \(key) must be a UUID", field: key) }
                return bind(id)
            case .text, .array: return bind(text)
            }
        }
        let expression: String
        switch operand {
        case .numeric(let e), .text(let e), .time(let e), .uuid(let e), .array(let e): expression = e
        }
        if op == "is_empty" {
            guard case .bool(let empty) = value else { throw Self.badFilter("is_empty takes true or false", field: key) }
            let emptyTest: String
            switch operand {
            case .text(let e): emptyTest = "coalesce(\(e), '') = ''"
            case .array(let e): emptyTest = "coalesce(jsonb_array_length(\(e)), 0) = 0"
            default: emptyTest = "\(expression) IS NULL"
            }
            return empty ? emptyTest : "NOT (\(emptyTest))"
        }
        if case .array(let e) = operand {
            switch op {
            case "contains", "eq": return "(\(e) ? \(try typed(value)))"
            case "in":
                guard case .array(let items) = value, !items.isEmpty else { throw Self.badFilter("in takes a non-empty list", field: key) }
                return "(" + (try items.map { "(\(e) ? \(try typed($0)))" }).joined(separator: " OR ") + ")"
            default: throw Self.badFilter("\(op) is not available for multi-picklist \(key); use contains or in", field: key)
            }
        }
        switch op {
        case "eq": return "\(expression) = \(try typed(value))"
        case "ne": return "\(expression) IS DISTINCT FROM \(try typed(value))"
        case "lt": return "\(expression) < \(try typed(value))"
        case "lte": return "\(expression) <= \(try typed(value))"
        case "gt": return "\(expression) > \(try typed(value))"
        case "gte": return "\(expression) >= \(try typed(value))"
        case "between":
            guard case .array(let bounds) = value, bounds.count == 2 else { throw Self.badFilter("between takes [low, high]", field: key) }
            return "\(expression) BETWEEN \(try typed(bounds[0])) AND \(try typed(bounds[1]))"
        case "in":
            guard case .array(let items) = value, !items.isEmpty, items.count <= 500 else {
                throw Self.badFilter("in takes a list of 1 to 500 values", field: key)
            }
            return "\(expression) IN (" + (try items.map { try typed($0) }).joined(separator: ", ") + ")"
        case "contains", "starts_with":
            guard case .text(let e) = operand, case .string(let text) = value, !text.isEmpty else {
                throw Self.badFilter("\(op) takes text and works on text fields", field: key)
            }
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let pattern = op == "contains" ? "%\(escaped)%" : "\(escaped)%"
            return "\(e) ILIKE \(bind(pattern))"
        default:
            throw Self.badFilter("unknown operator \(op)", field: key)
        }
    }

    /// ORDER BY from `field,-other`; unknown fields are a 400.
    /// The time column a keyset (cursor) page can continue from: the sort is exactly one of
    /// `created_at`, `updated_at` (either direction; the id breaks ties), else nil.
    func keysetColumn(_ sort: String?) -> (column: SystemField, descending: Bool)? {
        let spec = (sort?.isEmpty == false ? sort! : entity.defaultSort).trimmingCharacters(in: .whitespaces)
        let descending = spec.hasPrefix("-")
        guard let column = SystemField(rawValue: descending ? String(spec.dropFirst()) : spec), column.isTime, column.isNeverNull else { return nil }
        return (column, descending)
    }

    /// The field whose `record_index` keys can drive the list in sort order: the first sort
    /// key when it is a filterable field with keys (their order is the value's order — numbers
    /// and dates by value, text case-insensitively), else nil.
    func keyOrder(_ sort: String?) -> (field: FieldDefinition, descending: Bool)? {
        let spec = (sort?.isEmpty == false ? sort! : entity.defaultSort)
        guard let first = spec.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), !first.isEmpty else { return nil }
        let descending = first.hasPrefix("-")
        let key = descending ? String(first.dropFirst()) : first
        guard SystemField(rawValue: key) == nil, let field = entity.field(key), field.active, field.filterable,
              FieldIndex.indexable(field.type) else { return nil }
        return (field, descending)
    }

    func orderBy(_ sort: String?) throws -> String {
        let spec = (sort?.isEmpty == false ? sort! : entity.defaultSort)
        var parts: [String] = []
        for raw in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            let descending = raw.hasPrefix("-")
            let key = descending ? String(raw.dropFirst()) : raw
            // The entity's default sort may name a field hidden from this caller: skip it then.
            if sort?.isEmpty != false && entity.field(key) == nil && SystemField(rawValue: key) == nil { continue }
            let (operand, field) = try operand(key, alias: "r")
            if field?.type == .multiPicklist { throw Self.badFilter("cannot sort on multi-picklist \(key)", field: key) }
            let expression: String
            switch operand {
            case .numeric(let e), .text(let e), .time(let e), .uuid(let e), .array(let e): expression = e
            }
            // Columns that are never NULL sort in the indexes' own order (a `DESC NULLS LAST`
            // would not match `records_live`, and every match would be sorted to keep 50).
            if let system = SystemField(rawValue: key), system.isNeverNull {
                parts.append("\(expression) \(descending ? "DESC" : "ASC")")
            } else {
                parts.append("\(expression) \(descending ? "DESC" : "ASC") NULLS LAST")
            }
        }
        parts.append("r.id")
        return parts.joined(separator: ", ")
    }
}

import Foundation
import PostgresNIO
@testable import Platform
import Testing

/// The key tables behind filterable and unique fields (`FieldIndex`): keys sort like their
/// values, an indexed filter answers exactly what the plain condition answers, and the
/// planner can use the key index for a tenant under row-level security.
@Suite struct FieldIndexTests {
    @Test func numberKeysSortLikeTheNumbers() throws {
        let values = ["0", "-0.00", "1", "1.5", "1.50", "-1", "-1.5", "-1.55", "-1.549", "10", "9.999", "100000000000000000000.01",
                      "-100000000000000000000", "0.001", "0.0011", "-0.001", "-0.0011", "12345.6789", "12345.67891", "2", "-2", "0.5", "-0.5",
                      "99", "100", "-99", "-100", "3.14159265358979323846", "-0.000000001"]
        let sorted = values.sorted { Decimal(string: $0)! < Decimal(string: $1)! }
        let byKey = values.sorted { FieldIndex.numberKey($0)! < FieldIndex.numberKey($1)! }
        // Equal numbers ("1.5" and "1.50", "0" and "-0.00") may come in either order; compare values.
        #expect(byKey.map { Decimal(string: $0)! } == sorted.map { Decimal(string: $0)! })
        #expect(FieldIndex.numberKey("1.5") == FieldIndex.numberKey("1.50"))
        #expect(FieldIndex.numberKey("-0.00") == "1")
        #expect(FieldIndex.numberKey("1e5") == nil)
        #expect(FieldIndex.numberKey("abc") == nil)
        #expect(FieldIndex.numberKey("") == nil)
    }

    @Test func uniqueKeysIgnoreCaseAndSpacesOfTextButNotOfNumbers() {
        #expect(FieldIndex.uniqueKey(.string(" ACME Ltd "), type: .text) == FieldIndex.uniqueKey(.string("acme ltd"), type: .text))
        #expect(FieldIndex.uniqueKey(.string("10.0"), type: .number) == FieldIndex.uniqueKey(.string("10"), type: .number))
        #expect(FieldIndex.uniqueKey(.string("   "), type: .text) == nil)
        let long = String(repeating: "长", count: 400)
        #expect(FieldIndex.uniqueKey(.string(long), type: .text)?.hasPrefix("sha256:") == true)
    }

    static let twins = #"""
        {"key": "x_twin", "labels": {"en": "Twin"},
         "fields": [
           {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
           {"key": "x_n", "labels": {"en": "N"}, "type": "number", "scale": 2},
           {"key": "x_ni", "labels": {"en": "N indexed"}, "type": "number", "scale": 2, "filterable": true},
           {"key": "x_t", "labels": {"en": "T"}, "type": "text"},
           {"key": "x_ti", "labels": {"en": "T indexed"}, "type": "text", "filterable": true},
           {"key": "x_d", "labels": {"en": "D"}, "type": "date"},
           {"key": "x_di", "labels": {"en": "D indexed"}, "type": "date", "filterable": true},
           {"key": "x_m", "labels": {"en": "M"}, "type": "money"},
           {"key": "x_mi", "labels": {"en": "M indexed"}, "type": "money", "filterable": true},
           {"key": "x_b", "labels": {"en": "B"}, "type": "boolean"},
           {"key": "x_bi", "labels": {"en": "B indexed"}, "type": "boolean", "filterable": true}
         ]}
        """#

    @Test func indexedFiltersAnswerExactlyWhatPlainFiltersAnswer() async throws {
        try await RecordFixtures.withTenant("fidx-same") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.twins)
            let numbers = ["-12.5", "-3", "-0.25", "0", "0.25", "1", "2.5", "10", "10.01", "99.99", "100", "12345.67"]
            let texts = ["Apple", "apple", "APRICOT", "Banana", "北京华通", "北京大学", "b", "Äpfel", "zebra", "apple pie", "Apple", "ap"]
            let dates = ["2025-12-31", "2026-01-01", "2026-01-15", "2026-02-28", "2026-03-01", "2026-11-23", "2027-01-01",
                         "2026-01-01", "2024-02-29", "2026-06-30", "2026-07-01", "2026-12-31"]
            for (index, number) in numbers.enumerated() {
                let text = texts[index], date = dates[index], flag = index % 3 == 0
                _ = try await api.create("x_twin", """
                    {"x_name": "r\(index)", "x_n": "\(number)", "x_ni": "\(number)", "x_t": "\(text)", "x_ti": "\(text)",
                     "x_d": "\(date)", "x_di": "\(date)", "x_m": "\(number)", "x_mi": "\(number)", "x_b": \(flag), "x_bi": \(flag)}
                    """)
            }
            _ = try await api.create("x_twin", #"{"x_name": "empty"}"#)
            let cases: [(String, String)] = [
                ("n", #""op": "eq", "value": 10"#), ("n", #""op": "eq", "value": "10.00""#), ("n", #""op": "gt", "value": 0"#),
                ("n", #""op": "gte", "value": -3"#), ("n", #""op": "lt", "value": -0.25"#), ("n", #""op": "lte", "value": 1"#),
                ("n", #""op": "between", "value": [-1, 10.01]"#), ("n", #""op": "in", "value": [0, 100, 7]"#), ("n", #""op": "ne", "value": 1"#),
                ("m", #""op": "gte", "value": 10"#), ("m", #""op": "lt", "value": {"amount": "0"}"#), ("m", #""op": "between", "value": [0, 100]"#),
                ("t", #""op": "eq", "value": "Apple""#), ("t", #""op": "eq", "value": "apple""#), ("t", #""op": "starts_with", "value": "ap""#),
                ("t", #""op": "starts_with", "value": "AP""#), ("t", #""op": "starts_with", "value": "北京""#), ("t", #""op": "in", "value": ["b", "zebra"]"#),
                ("t", #""op": "contains", "value": "华通""#), ("t", #""op": "is_empty", "value": true"#),
                ("d", #""op": "gte", "value": "2026-01-01""#), ("d", #""op": "between", "value": ["2026-01-01", "2026-06-30"]"#),
                ("d", #""op": "eq", "value": "2026-01-01""#), ("d", #""op": "starts_with", "value": "2026-0""#), ("d", #""op": "lt", "value": "2026-01-01""#),
                ("b", #""op": "eq", "value": true"#), ("b", #""op": "eq", "value": false"#),
            ]
            var nonEmpty = 0
            for (field, condition) in cases {
                let plain = try await api.query("x_twin", #"{"limit": 200, "filter": {"field": "x_\#(field)", \#(condition)}}"#)
                let indexed = try await api.query("x_twin", #"{"limit": 200, "filter": {"field": "x_\#(field)i", \#(condition)}}"#)
                #expect(plain.status == .ok, "\(field) \(condition): \(plain.text)")
                #expect(indexed.status == .ok, "\(field)i \(condition): \(indexed.text)")
                let plainNames = plain.records.strings("x_name").sorted(), indexedNames = indexed.records.strings("x_name").sorted()
                #expect(plainNames == indexedNames, "\(field) \(condition)")
                #expect(plain.total == indexed.total)
                if !plainNames.isEmpty { nonEmpty += 1 }
            }
            // The comparison above is only worth something if most cases match records.
            #expect(nonEmpty >= cases.count - 2)
            // Spot checks against known answers, so both paths cannot be wrong together.
            let gte = try await api.query("x_twin", #"{"limit": 200, "filter": {"field": "x_ni", "op": "gte", "value": 10}}"#)
            #expect(gte.records.strings("x_name").sorted() == ["r10", "r11", "r7", "r8", "r9"])
            #expect(gte.total == 5)
            let prefix = try await api.query("x_twin", #"{"filter": {"field": "x_ti", "op": "starts_with", "value": "AP"}}"#)
            #expect(prefix.records.strings("x_ti").sorted() == ["APRICOT", "Apple", "Apple", "ap", "apple", "apple pie"])
        }
    }

    @Test func indexedFilterFollowsChangesDeletesAndFieldToggles() async throws {
        try await RecordFixtures.withTenant("fidx-sync") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.twins)
            let filter = #"{"filter": {"field": "x_ni", "op": "gte", "value": 50}}"#
            let id = try await api.createID("x_twin", #"{"x_name": "one", "x_ni": "60"}"#)
            #expect(try await api.query("x_twin", filter).total == 1)
            #expect(try await api.call(.patch, "/api/v1/x_twin/\(id)", json: #"{"version": 1, "x_ni": "40"}"#).status == .ok)
            #expect(try await api.query("x_twin", filter).total == 0)
            #expect(try await api.call(.patch, "/api/v1/x_twin/\(id)", json: #"{"version": 2, "x_ni": "70"}"#).status == .ok)
            #expect(try await api.query("x_twin", filter).total == 1)
            // Plain field becomes filterable: existing values are indexed at once.
            _ = try await api.create("x_twin", #"{"x_name": "two", "x_n": "500"}"#)
            let onPlain = #"{"filter": {"field": "x_n", "op": "gte", "value": 50}}"#
            #expect(try await api.call(.patch, "/api/v1/admin/entities/x_twin/fields/x_n", json: #"{"filterable": true}"#).status == .ok)
            #expect(try await api.query("x_twin", onPlain).records.strings("x_name") == ["two"])
            #expect(try await Self.keyRows(tenant, field: "x_n") == 1)
            #expect(try await api.call(.patch, "/api/v1/admin/entities/x_twin/fields/x_n", json: #"{"filterable": false}"#).status == .ok)
            #expect(try await Self.keyRows(tenant, field: "x_n") == 0)
            #expect(try await api.query("x_twin", onPlain).records.strings("x_name") == ["two"])
            // Soft delete hides it; restore brings it back; purging the record drops its keys.
            #expect(try await api.call(.delete, "/api/v1/x_twin/\(id)").status == .noContent)
            #expect(try await api.query("x_twin", filter).total == 0)
            #expect(try await api.call(.post, "/api/v1/x_twin/\(id)/restore").status == .ok)
            #expect(try await api.query("x_twin", filter).total == 1)
            #expect(try await api.call(.delete, "/api/v1/x_twin/\(id)").status == .noContent)
            #expect(try await Self.keyRows(tenant, field: "x_ni") == 1)
            #expect(try await api.call(.delete, "/api/v1/x_twin/\(id)/purge").status == .noContent)
            #expect(try await Self.keyRows(tenant, field: "x_ni") == 0)
        }
    }

    static func keyRows(_ tenant: TestEnvironment.Tenant, field: String) async throws -> Int {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                try await connection.query("SELECT count(*)::int FROM record_index WHERE field = \(field)", logger: logger)
                    .collect().first!.decode(Int.self)
            }
        }
    }

    /// The point of the key table: under FORCE RLS, as the application role, the filter value
    /// can be an index condition. (With an expression index on `data` it could not: `->>` and
    /// numeric comparison are not leakproof.) The compiled filter must go through the key table,
    /// and the key comparison it uses must be an `Index Cond` of `record_index_lookup`; sequential
    /// scans are off so the plan shows what is possible, not what a tiny table makes cheapest.
    @Test func filterOnAFilterableFieldIsAnIndexConditionUnderRowLevelSecurity() async throws {
        try await RecordFixtures.withTenant("fidx-plan") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.twins)
            for index in 0..<20 { _ = try await api.create("x_twin", #"{"x_name": "p\#(index)", "x_ni": "\#(index)", "x_ti": "T\#(index)"}"#) }
            let logger = TestEnvironment.logger
            let tenantID = tenant.info.id
            let (conditions, plans) = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                    let entities = try await MetadataStore.load(moduleEntities: [], on: connection, logger: logger)
                    var conditions: [String] = []
                    for filter in [#"{"field": "x_ni", "op": "gt", "value": 15}"#, #"{"field": "x_ti", "op": "starts_with", "value": "t1"}"#,
                                   #"{"field": "x_n", "op": "gt", "value": 15}"#] {
                        var compiler = QueryCompiler(entity: entities["x_twin"]!, entities: entities)
                        compiler.tenantParam = compiler.bind(tenantID)
                        conditions.append(try compiler.condition(try JSONValue.parse(filter)))
                    }
                    // On 20 rows the primary key (tenant, record, field) costs about the same as the
                    // key index, and which one wins depended on whether autovacuum had analysed the
                    // table yet. Asking for key order with sorts disabled leaves only the key index,
                    // so the plan shows whether the key comparison can be its index condition.
                    try await connection.query("SET LOCAL enable_seqscan = off", logger: logger)
                    try await connection.query("SET LOCAL enable_sort = off", logger: logger)
                    var plans: [String] = []
                    for (comparison, key) in [(">", FieldIndex.numberKey("15")!), (">=", "t1")] {
                        var binds = PostgresBindings()
                        binds.append(tenantID)
                        binds.append(key)
                        let sql = """
                            EXPLAIN SELECT record_id FROM record_index ix WHERE ix.tenant_id = $1 AND ix.entity = 'x_twin' \
                            AND ix.field = 'x_ni' AND ix.key \(comparison) $2 ORDER BY ix.key
                            """
                        var lines: [String] = []
                        for try await line in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(String.self) {
                            lines.append(line)
                        }
                        plans.append(lines.joined(separator: "\n"))
                    }
                    return (conditions, plans)
                }
            }
            #expect(conditions[0].contains("FROM record_index ix") && conditions[0].contains("ix.key >"), "\(conditions[0])")
            #expect(conditions[1].contains("FROM record_index ix") && conditions[1].contains("ix.key >="), "\(conditions[1])")
            #expect(!conditions[2].contains("record_index"), "a field that is not filterable has no keys: \(conditions[2])")
            for plan in plans {
                let indexConditions = plan.split(separator: "\n").filter { $0.contains("Index Cond") && $0.contains("key") }
                #expect(plan.contains("record_index_lookup") && !indexConditions.isEmpty, "the key is not an index condition:\n\(plan)")
            }
        }
    }
}

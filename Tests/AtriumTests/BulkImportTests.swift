import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
@testable import Platform
import PostgresNIO
import Tenancy
import Testing

/// Set-wise CSV import (issue 14): large files of a custom object in one request, with the
/// rows, index keys, unique claims, auto-numbers and audit entries `create` would write, every
/// bad row named, and nothing kept unless every row is good; entities with module rules keep
/// the row-by-row import.
@Suite struct BulkImportTests {
    typealias F = RecordFixtures

    /// `x_deal`: one field of each usual kind, six of them with index keys, a unique code and
    /// an auto-number; its lookup points at `x_client`.
    static let dealObject = #"""
        {"key": "x_deal", "labels": {"en": "Deal"},
         "fields": [
           {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true, "searchable": true},
           {"key": "x_amount", "labels": {"en": "Amount"}, "type": "number", "filterable": true},
           {"key": "x_price", "labels": {"en": "Price"}, "type": "money", "filterable": true},
           {"key": "x_day", "labels": {"en": "Day"}, "type": "date", "filterable": true},
           {"key": "x_stage", "labels": {"en": "Stage"}, "type": "picklist", "filterable": true,
            "options": [{"value": "a", "labels": {"en": "Alpha"}}, {"value": "b", "labels": {"en": "Beta"}}, {"value": "c", "labels": {"en": "Gamma"}}]},
           {"key": "x_open", "labels": {"en": "Open"}, "type": "boolean", "filterable": true},
           {"key": "x_client", "labels": {"en": "Client"}, "type": "lookup", "target": "x_client", "filterable": true},
           {"key": "x_code", "labels": {"en": "Code"}, "type": "text", "unique": true},
           {"key": "x_no", "labels": {"en": "Number"}, "type": "auto_number", "format": "D-{seq:6}"},
           {"key": "x_mail", "labels": {"en": "Mail"}, "type": "email"}
         ]}
        """#

    static let header = "Name,x_amount,Price,x_day,Stage,x_open,x_client,x_code,x_mail"

    /// Data row `n` (0-based; file line n + 2) of a deal file.
    static func dealRow(_ n: Int, clients: [String]) -> String {
        let name = n % 7 == 0 ? "北京华通 \(n)" : "Deal \(n)"
        let price = n % 10 == 0 ? "\(n).5 USD" : "\(n).50"
        let day = String(format: "2026-%02d-%02d", 1 + n % 12, 1 + n % 28)
        let stage = ["a", "Beta", "c"][n % 3]
        return [name, "\(n % 1000)", price, day, stage, n % 2 == 0 ? "yes" : "false", clients[n % clients.count], "C-\(n)", "User\(n)@Example.COM"]
            .joined(separator: ",")
    }

    static func dealFile(rows: Int, clients: [String], replacing: [Int: String] = [:]) -> String {
        var lines = [header]
        lines.reserveCapacity(rows + 1)
        for n in 0..<rows { lines.append(replacing[n + 2] ?? dealRow(n, clients: clients)) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The tenant's `x_client` and `x_deal` objects and five clients (their ids).
    static func dealSetUp(_ api: RecordAPIClient) async throws -> [String] {
        try await api.createObject(#"{"key": "x_client", "labels": {"en": "Client"}, "fields": [{"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true}]}"#)
        try await api.createObject(dealObject)
        var clients: [String] = []
        for index in 1...5 { clients.append(try await api.createID("x_client", #"{"x_name": "Client \#(index)"}"#)) }
        return clients
    }

    /// One integer from SQL run as the application role inside the tenant.
    static func sqlInt(_ tenant: TestEnvironment.Tenant, _ sql: String) async throws -> Int {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        return try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first!.decode(Int.self)
            }
        }
    }

    /// Pairs of text from SQL run as the application role inside the tenant.
    static func sqlPairs(_ tenant: TestEnvironment.Tenant, _ sql: String) async throws -> [(String, String)] {
        let logger = TestEnvironment.logger
        let tenantID = tenant.info.id
        let rows = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                var pairs: [[String]] = []
                for try await (first, second) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode((String, String).self) {
                    pairs.append([first, second])
                }
                return pairs
            }
        }
        return rows.map { ($0[0], $0[1]) }
    }

    /// `POST /api/v1/{entity}/import` without the test client's 20-second read timeout: a
    /// 20 000-row file in a debug build, beside the rest of the suite, may take longer.
    static func importFile(_ api: RecordAPIClient, _ entity: String, _ csv: String, dryRun: Bool = false) async throws -> RecordAPIResponse {
        guard let port = api.client.port else { return try await api.importCSV(entity, csv, dryRun: dryRun) }
        var request = URLRequest(url: URL(string: "http://localhost:\(port)/api/v1/\(entity)/import\(dryRun ? "?dry_run=true" : "")")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 600
        request.httpBody = Data(csv.utf8)
        for (name, value) in ["Authorization": "Bearer \(api.token)", TenantResolver.header.rawName: api.slug, "Accept": "application/json",
                              "Content-Type": "text/csv; charset=utf-8"] {
            request.setValue(value, forHTTPHeaderField: name)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        let status = HTTPResponse.Status(code: (response as? HTTPURLResponse)?.statusCode ?? 0)
        return RecordAPIResponse(status: status, json: (try? JSONValue.parse(text)) ?? .null, text: text)
    }

    static func exactTotal(_ api: RecordAPIClient, _ entity: String, filter: String) async throws -> RecordAPIResponse {
        try await api.query(entity, #"{"filter": \#(filter), "limit": 200, "sort": "x_amount", "count": "exact"}"#)
    }

    // MARK: Checks without Foundation in the loop

    /// What `Decimal` made of a number before the import needed speed (parse, round, print).
    static func decimalByFoundation(_ text: String, scale: Int?) -> String? {
        guard let number = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        guard let scale, scale > 0 else { return "\(number)" }
        var rounded = Decimal(), copy = number
        NSDecimalRound(&rounded, &copy, scale, .plain)
        let parts = "\(rounded)".split(separator: ".", maxSplits: 1)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        return "\(parts[0]).\(fraction.padding(toLength: scale, withPad: "0", startingAt: 0))"
    }

    @Test func numbersDatesAndBlanksAreReadAsFoundationReadThem() throws {
        var random = SystemRandomNumberGenerator()
        var samples = ["0", "-0", "-0.00", "000", "007.500", "0.000100", "123456789012345678", "-123456789012345678.000000000000000001",
                       "1.10", "100", "100.0", "-5", "0.5", "12345678901234567.12345678901234567"]
        for _ in 0..<2_000 {
            let integer = String((0..<Int.random(in: 1...18, using: &random)).map { _ in "0123456789".randomElement(using: &random)! })
            let fraction = Bool.random(using: &random) ? "" : "." + String((0..<Int.random(in: 1...8, using: &random)).map { _ in "0000123456789".randomElement(using: &random)! })
            samples.append((Bool.random(using: &random) ? "-" : "") + integer + fraction)
        }
        for text in samples {
            for scale in [nil, 0, 2, 4] {
                var field = FieldDefinition(key: "x_n", labels: [:], type: .number)
                field.scale = scale
                let fractionDigits = text.split(separator: ".").dropFirst().first.map { $0.reversed().drop { $0 == "0" }.count } ?? 0
                guard fractionDigits <= (scale ?? .max) else { continue }
                let stored = try FieldValidator.normalise(.string(text), for: field).stringValue
                #expect(stored == Self.decimalByFoundation(text, scale: scale), "\(text) scale \(String(describing: scale))")
            }
        }
        for bad in ["-", "1.", ".5", "1e5", "1234567890123456789", "١٢", "1,5", "+1", "1.2.3"] {
            #expect(throws: AtriumError.self, "\(bad)") { try FieldValidator.normalise(.string(bad), for: FieldDefinition(key: "x_n", labels: [:], type: .number)) }
        }
        // Every day of 1999–2001 and some that are not days: the same answer as the formatter.
        let date = FieldDefinition(key: "x_d", labels: [:], type: .date)
        var days: [String] = ["2026-02-29", "2024-02-29", "1900-02-29", "2000-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "1582-10-10", "0000-01-01"]
        for year in 1999...2001 { for month in 1...12 { for day in 1...31 { days.append(String(format: "%04d-%02d-%02d", year, month, day)) } } }
        for text in days {
            let byFormatter = FieldValidator.parseDate(text).map(FieldValidator.formatDate)
            let stored = try? FieldValidator.normalise(.string(text), for: date).stringValue
            #expect(stored == byFormatter, "\(text)")
        }
        for (text, trimmed) in [(" a ", "a"), ("a", "a"), ("\ta\u{3000}", "a"), ("", ""), ("\u{00A0}x", "x"), ("a\n", "a\n")] {
            #expect(FieldValidator.trimmingWhitespace(text) == trimmed, "\(text)")
            #expect(FieldValidator.trimmingWhitespace(text) == text.trimmingCharacters(in: .whitespaces))
            #expect(FieldValidator.trimmingWhitespace(text, newlines: true) == text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let id = ImportText.randomUUID(&generator)
            #expect(ImportText.text(id) == id.uuidString.lowercased())
        }
    }

    // MARK: Large files

    @Test func twentyThousandRowsImportWithTheirKeysAutoNumbersAndAuditInOneRequest() async throws {
        try await F.withTenant("bulk-big") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let clients = try await Self.dealSetUp(api)
            let rows = 20_000
            let started = Date()
            let imported = try await Self.importFile(api, "x_deal", Self.dealFile(rows: rows, clients: clients))
            let seconds = Date().timeIntervalSince(started)
            #expect(imported.status == .created, "\(imported.text.prefix(2_000))")
            #expect(imported.json["created"]?.asInt == rows)
            let ids = imported.json["ids"]?.asArray?.compactMap(\.stringValue) ?? []
            #expect(ids.count == rows && Set(ids).count == rows)
            print("BulkImportTests: \(rows) rows in \(String(format: "%.2f", seconds)) s (\(Int(Double(rows) / seconds)) rows/s, debug build)")

            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_deal' AND deleted_at IS NULL") == rows)
            // One key per record for each of the six filterable fields, one claim per code.
            for field in ["x_amount", "x_price", "x_day", "x_stage", "x_open", "x_client"] {
                #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM record_index WHERE entity = 'x_deal' AND field = '\(field)'") == rows, "\(field)")
            }
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM record_unique WHERE entity = 'x_deal' AND field = 'x_code'") == rows)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM audit_log WHERE entity = 'x_deal' AND action = 'record.created'") == rows)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM audit_log WHERE entity = 'x_deal' AND action = 'records.imported'") == 1)
            // Owner, department and creator as `create` sets them (the administrator has no department).
            #expect(try await Self.sqlInt(tenant, """
                SELECT count(*)::int FROM records r JOIN users u ON u.id = r.owner_id
                WHERE r.entity = 'x_deal' AND u.email = '\(tenant.adminEmail)' AND r.created_by = u.id AND r.updated_by = u.id
                    AND r.department_id IS NOT DISTINCT FROM u.department_id AND r.version = 1
                """) == rows)

            // Auto-numbers follow the file's order without gaps.
            let numbers = try await Self.sqlPairs(tenant, "SELECT data->>'x_code', data->>'x_no' FROM records WHERE entity = 'x_deal'")
            let byCode = Dictionary(uniqueKeysWithValues: numbers)
            #expect(byCode.count == rows)
            #expect((0..<rows).allSatisfy { byCode["C-\($0)"] == String(format: "D-%06d", $0 + 1) }, "auto-numbers are not consecutive in file order")

            // Filters through the API answer exactly (they use the index keys written by the import).
            let expected = (0..<rows).filter { (n: Int) -> Bool in n % 3 == 1 && n % 5 == 2 && (100...149).contains(n % 1000) }
            let page = try await Self.exactTotal(api, "x_deal", filter: """
                {"and": [{"field": "x_stage", "op": "eq", "value": "b"}, {"field": "x_amount", "op": "between", "value": [100, 149]},
                         {"field": "x_client", "op": "eq", "value": "\(clients[2])"}]}
                """)
            #expect(page.status == .ok, "\(page.text.prefix(500))")
            #expect(page.total == expected.count && expected.count < 200)
            #expect(page.records.compactMap { $0["x_code"]?.stringValue }.sorted() == expected.map { "C-\($0)" }.sorted())
            let dated = try await Self.exactTotal(api, "x_deal", filter: #"{"field": "x_day", "op": "eq", "value": "2026-03-03"}"#)
            #expect(dated.total == (0..<rows).filter { (n: Int) -> Bool in n % 12 == 2 && n % 28 == 2 }.count)
            let open = try await Self.exactTotal(api, "x_deal", filter: #"{"field": "x_open", "op": "eq", "value": true}"#)
            #expect(open.total == rows / 2)
            let search = try await api.list("x_deal", limit: 5, q: "华通 7")
            #expect(search.status == .ok && (search.total ?? 0) > 0, "\(search.text.prefix(300))")

            // A record reads back as its row says, and its history holds the created entry.
            let sample = try #require(try await api.query("x_deal", #"{"filter": {"field": "x_code", "op": "eq", "value": "C-70"}}"#).records.first)
            #expect(sample["x_name"]?.stringValue == "北京华通 70")
            #expect(sample["x_amount"]?.stringValue == "70")
            #expect(sample["x_price"] == .object(["amount": .string("70.50"), "currency": .string("USD")]))
            #expect(sample["x_day"]?.stringValue == "2026-11-15")
            #expect(sample["x_stage"]?.stringValue == "b")
            #expect(sample["x_open"] == .bool(true))
            #expect(sample["x_client"]?.stringValue == clients[0])
            #expect(sample["x_mail"]?.stringValue == "user70@example.com")
            #expect(sample["x_no"]?.stringValue == "D-000071")
            let history = try await api.call(.get, "/api/v1/x_deal/\(sample["id"]?.stringValue ?? "")/history")
            #expect(history.status == .ok, "\(history.text)")
            #expect(history.json["entries"]?[0]?["action"]?.stringValue == "record.created", "\(history.text)")
            #expect(history.text.contains("北京华通 70") && history.text.contains("D-000071"), "\(history.text)")

            // The same keys as a record created through the API gets.
            let single = try await api.createID("x_deal", #"{"x_name": "one more", "x_amount": 5, "x_price": "1", "x_day": "2026-01-01", "x_stage": "a", "x_open": false, "x_client": "\#(clients[0])", "x_code": "single"}"#)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM record_index WHERE record_id = '\(single)'") == 6)
            #expect(try await api.call(.get, "/api/v1/x_deal/\(single)").json["x_no"]?.stringValue == "D-\(String(format: "%06d", rows + 1))")
        }
    }

    @Test func badRowsAnywhereInALargeFileRefuseItWholeNamingEachRowAndField() async throws {
        try await F.withTenant("bulk-bad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let clients = try await Self.dealSetUp(api)
            _ = try await api.createID("x_deal", #"{"x_name": "existing", "x_code": "Taken"}"#)
            let missing = UUID().uuidString.lowercased()
            let file = Self.dealFile(rows: 20_000, clients: clients, replacing: [
                5: "fifth,1,1,2026-01-01,a,yes,\(clients[0]),C-1,",           // repeats line 3's code (C-1)
                9: "ninth,1,1,2026-01-01,a,yes,\(clients[0]),  taken ,",       // another record has it (case and blanks aside)
                11: "eleventh,1,1,2026-01-01,a,yes,\(missing),C-eleven,",     // no such client
                17_000: "bad number,12x,1,2026-01-01,a,yes,\(clients[0]),C-bad,",
            ])
            let refused = try await Self.importFile(api, "x_deal", file)
            #expect(refused.status == .unprocessableContent, "\(refused.text.prefix(1_000))")
            #expect(refused.errorCode == "import_failed")
            let details = refused.json["error"]?["details"]?.asArray ?? []
            #expect(details.compactMap { $0["row"]?.asInt } == [5, 9, 11, 17_000], "\(refused.text)")
            #expect(details.compactMap { $0["field"]?.stringValue } == ["x_code", "x_code", "x_client", "x_amount"], "\(refused.text)")
            #expect(details[0]["message"]?.stringValue?.contains("row 3") == true, "\(refused.text)")
            #expect(details[1]["message"]?.stringValue?.contains("another x_deal record") == true, "\(refused.text)")
            #expect(details[2]["message"]?.stringValue?.contains(missing) == true, "\(refused.text)")
            #expect(refused.errorMessage.hasPrefix("4 of 20000 rows"), "\(refused.errorMessage)")

            // Nothing was written: no records, keys, claims, audit entries or numbers.
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_deal'") == 1)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM record_unique WHERE entity = 'x_deal'") == 1)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM audit_log WHERE entity = 'x_deal'") == 1)
            #expect(try await api.create("x_deal", #"{"x_name": "next"}"#)["x_no"]?.stringValue == "D-000002")

            // More than 50 bad rows: the first 50 are listed, all are counted.
            let many = Self.dealFile(rows: 300, clients: clients, replacing: Dictionary(uniqueKeysWithValues: (0..<120).map {
                ($0 * 2 + 2, "r\($0),not a number,1,2026-01-01,a,yes,\(clients[0]),M-\($0),")
            }))
            let listed = try await api.importCSV("x_deal", many)
            #expect(listed.status == .unprocessableContent)
            #expect(listed.json["error"]?["details"]?.asArray?.count == 50)
            #expect(listed.errorMessage.hasPrefix("120 of 300 rows"), "\(listed.errorMessage)")
        }
    }

    @Test func aDryRunChecksEveryRowAndKeepsNothing() async throws {
        try await F.withTenant("bulk-dry") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let clients = try await Self.dealSetUp(api)
            let file = Self.dealFile(rows: 2_000, clients: clients)
            let dry = try await api.importCSV("x_deal", file, dryRun: true)
            #expect(dry.status == .ok, "\(dry.text.prefix(500))")
            #expect(dry.json["valid_rows"]?.asInt == 2_000)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_deal'") == 0)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM audit_log WHERE entity = 'x_deal'") == 0)
            // The counter drawn for the check was rolled back too.
            #expect(try await api.create("x_deal", #"{"x_name": "first"}"#)["x_no"]?.stringValue == "D-000001")
            // A dry run finds the same problems as the import.
            let bad = try await api.importCSV("x_deal", Self.dealFile(rows: 50, clients: clients, replacing: [40: "x,1,1,2026-02-30,a,yes,\(clients[0]),C-x,"]), dryRun: true)
            #expect(bad.status == .unprocessableContent, "\(bad.text)")
            #expect(bad.json["error"]?["details"]?[0]?["row"]?.asInt == 40)
            #expect(bad.json["error"]?["details"]?[0]?["field"]?.stringValue == "x_day")
            // The import itself still works afterwards (the staging table is gone).
            #expect(try await api.importCSV("x_deal", file).status == .created)
            #expect(try await api.importCSV("x_deal", Self.dealFile(rows: 1, clients: clients).replacingOccurrences(of: "C-0", with: "C-again")).status == .created)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_deal'") == 2_002)
        }
    }

    @Test func aFileBeyondThePlanLimitIsRefusedWholeWithTheLimitNamed() async throws {
        try await F.withTenant("bulk-limit") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.simpleObject("x_item"))
            let tenantID = tenant.info.id
            let logger = TestEnvironment.logger
            _ = try await TestEnvironment.withOwner { connection in
                try await connection.query("UPDATE tenants SET max_records = 1000 WHERE id = \(tenantID)", logger: logger)
            }
            func file(_ rows: Int, _ prefix: String) -> String { "Name\n" + (0..<rows).map { "\(prefix) \($0)" }.joined(separator: "\n") + "\n" }
            #expect(try await api.importCSV("x_item", file(990, "first")).status == .created)
            let refused = try await api.importCSV("x_item", file(20, "second"))
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.errorCode == "plan_limit_records")
            #expect(refused.errorMessage.contains("allows 1000 records") && refused.errorMessage.contains("room for 10"), "\(refused.errorMessage)")
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_item'") == 990)
            #expect(try await api.importCSV("x_item", file(10, "third")).status == .created)
            #expect(try await api.importCSV("x_item", file(1, "fourth")).errorCode == "plan_limit_records")
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE entity = 'x_item'") == 1_000)
        }
    }

    // MARK: What the rows may name

    @Test func ownersUsersDepartmentsAndOddCharactersAreCheckedAndKept() async throws {
        try await F.withTenant("bulk-refs") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(#"""
                {"key": "x_note", "labels": {"en": "Note"},
                 "fields": [
                   {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
                   {"key": "x_body", "labels": {"en": "Body"}, "type": "long_text", "searchable": true},
                   {"key": "x_key", "labels": {"en": "Key"}, "type": "text", "unique": true, "filterable": true},
                   {"key": "x_helper", "labels": {"en": "Helper"}, "type": "user"},
                   {"key": "x_team", "labels": {"en": "Team"}, "type": "department"}
                 ]}
                """#)
            let east = try #require(try await api.call(.post, "/api/v1/admin/departments", json: #"{"name": "East"}"#).json["id"]?.stringValue)
            _ = try await F.createMember(in: tenant)
            let member = try #require(try await Self.sqlPairs(tenant, "SELECT id::text, email FROM users WHERE email LIKE 'member@%'").first?.0)
            let tenantID = tenant.info.id
            let logger = TestEnvironment.logger
            _ = try await TestEnvironment.withAppRole { connection in
                try await connection.inTenantTransaction(tenantID, logger: logger) { connection in
                    try await connection.query("UPDATE users SET department_id = \(UUID(uuidString: east)!) WHERE id = \(UUID(uuidString: member)!)", logger: logger)
                }
            }
            let nobody = UUID().uuidString.lowercased()
            let bad = "x_name,x_helper,x_team,owner_id\nok,\(member),\(east),\(member)\nno helper,\(nobody),,\nno team,,\(nobody),\nno owner,,,\(nobody)\n"
            let refused = try await api.importCSV("x_note", bad)
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            let details = refused.json["error"]?["details"]?.asArray ?? []
            #expect(details.compactMap { $0["row"]?.asInt } == [3, 4, 5], "\(refused.text)")
            #expect(details.compactMap { $0["field"]?.stringValue } == ["x_helper", "x_team", "owner_id"], "\(refused.text)")

            // Tabs, backslashes, quotes, line breaks and Chinese survive COPY's text format.
            let body = "第一行\tTab \\ backslash \\N \"quoted\"\r\nsecond line\\t"
            let key = #"K\1"#
            let csv = "x_name,x_body,x_key,x_helper,x_team,owner_id\r\n"
                + "\"a \\ b \"\"c\"\"\",\"\(body.replacingOccurrences(of: "\"", with: "\"\""))\",\(key),\(member),\(east),\(member)\r\n"
                + "plain,,,,,\r\n"
            let imported = try await api.importCSV("x_note", csv)
            #expect(imported.status == .created, "\(imported.text)")
            let ids = imported.json["ids"]?.asArray?.compactMap(\.stringValue) ?? []
            let first = try await api.call(.get, "/api/v1/x_note/\(ids.first ?? "")").json
            #expect(first["x_name"]?.stringValue == #"a \ b "c""#)
            #expect(first["x_body"]?.stringValue == body)
            #expect(first["x_key"]?.stringValue == key)
            #expect(first["x_helper"]?.stringValue == member)
            #expect(first["x_team"]?.stringValue == east)
            #expect(first["owner_id"]?.stringValue == member)
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM records WHERE id = '\(ids[0])' AND department_id = '\(east)'") == 1,
                    "the owner's department is the record's")
            #expect(try await Self.sqlInt(tenant, "SELECT count(*)::int FROM record_index WHERE record_id = '\(ids[0])' AND key = 'k\\1'") == 1)
            let found = try await api.list("x_note", q: "backslash")
            #expect(found.total == 1, "\(found.text)")
            let keyed = try await api.query("x_note", #"{"filter": {"field": "x_key", "op": "eq", "value": "K\\1"}}"#)
            #expect(keyed.total == 1, "\(keyed.text)")
            #expect(try await api.call(.get, "/api/v1/x_note/\(ids[1])").json["owner_id"]?.stringValue != member, "the importer owns rows without an owner")
            // A unique value the import claimed is taken for `create` too.
            let again = try await api.call(.post, "/api/v1/x_note", json: #"{"x_name": "again", "x_key": "k\\1"}"#)
            #expect(again.errorCode == "duplicate_value", "\(again.text)")
            // A NUL character is not text PostgreSQL can store: refused as a bad file, not a 500.
            #expect(try await api.importCSV("x_note", "x_name\nnul\u{0}here\n").errorCode == "invalid_csv")
        }
    }

    // MARK: Entities with module rules

    /// Which built-in entities take which path (the README lists them): every entity with a
    /// module rule or an approval binding keeps the row-by-row import.
    @Test func onlyEntitiesWithoutRulesOrApprovalsImportSetWise() throws {
        let engine = RecordEngine(catalog: try TestEnvironment.catalog())
        let setWise = Set(engine.moduleEntities.filter { engine.importsSetWise($0) }.map(\.key))
        #expect(setWise == ["contact", "product", "price_list_item", "sales_stage", "expense_category",
                           "competitor", "competitor_product", "competitive_deal", "mass_mail",
                           "service_queue", "service_queue_member", "service_sla_policy", "service_holiday",
                           "supplier", "supplier_price", "warehouse", "stock_rule", "purchase_plan", "purchase_plan_line",
                           "kb_board"], "\(setWise.sorted())")
        for entity in engine.moduleEntities where !setWise.contains(entity.key) {
            #expect(!engine.hooks.callAll(for: entity.key).isEmpty || engine.approvalBinding(for: entity) != nil, "\(entity.key)")
        }
    }

    @Test func entitiesWithModuleRulesStillImportRowByRow() async throws {
        try await F.withTenant("bulk-sales") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let existing = try await api.createID("account", #"{"name": "杭州云帆网络", "tax_id": "91330100MA2B3C4D5E"}"#)
            // The sales duplicate check runs on each row: the look-alike of an existing account is refused.
            let refused = try await api.importCSV("account", "name,tax_id\n新公司甲,91110000ABCDEF1234\n云帆网络（杭州）,91330100MA2B3C4D5E\n")
            #expect(refused.status == .unprocessableContent, "\(refused.text)")
            #expect(refused.errorCode == "import_failed")
            let detail = refused.json["error"]?["details"]?[0]
            #expect(detail?["row"]?.asInt == 3)
            #expect(detail?["message"]?.stringValue?.contains(existing) == true, "\(refused.text)")
            #expect(try await api.count("account") == 1)
            // Rows the rules accept import as before.
            let imported = try await api.importCSV("account", "name,tax_id\n新公司甲,91110000ABCDEF1234\n新公司乙,91110000ABCDEF5678\n")
            #expect(imported.status == .created, "\(imported.text)")
            #expect(try await api.count("account") == 3)
            // Such files stay within the row-by-row limit.
            let tooMany = try await api.importCSV("account", "name\n" + (0...RecordCSV.maxRowWiseImportRows).map { "a\($0)" }.joined(separator: "\n"))
            #expect(tooMany.status == .unprocessableContent)
            #expect(tooMany.errorField == "file" && tooMany.errorMessage.contains("at most \(RecordCSV.maxRowWiseImportRows)"), "\(tooMany.text)")
        }
    }
}

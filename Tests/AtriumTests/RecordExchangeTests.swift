import Foundation
import Platform
import Testing

/// CSV export and import through the records API, against the real server and PostgreSQL.
@Suite struct RecordExchangeTests {
    typealias F = RecordFixtures

    // MARK: The CSV reader

    @Test func csvReaderHandlesQuotesLineBreaksByteOrderMarkAndBlankLines() throws {
        let text = "\u{FEFF}a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n\n1,,3\r\nlast,\"\",z"
        let rows = try RecordCSV.parse(text)
        #expect(rows == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\r\nlines"], ["1", "", "3"], ["last", "", "z"]])
        for broken in ["a,\"open", "a,b\"c\n", "\"closed\"x,y"] {
            #expect(throws: AtriumError.self, "\(broken)") { try RecordCSV.parse(broken) }
        }
    }

    // MARK: Round trip

    @Test func anExportImportsBackIntoIdenticalRecordsAndHeadersFollowTheLanguage() async throws {
        try await F.withTenant("csv-round") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            let bodies = [
                #"{"x_name": "华通 电子, 有限公司", "x_budget": {"amount": "1234.50", "currency": "USD"}, "x_stage": "build", "x_start": "2026-11-23", "x_headcount": 12}"#,
                #"{"x_name": "say \"hi\"", "x_budget": "99.9", "x_stage": "plan"}"#,
                #"{"x_name": "=HYPERLINK(\"http://evil\")", "x_headcount": -3}"#,
            ]
            var originals: [JSONValue] = []
            for body in bodies { originals.append(try await api.create("x_project", body)) }

            let english = try await api.export("x_project", "lang=en&sort=x_headcount")
            #expect(english.status == .ok, "\(english.text)")
            #expect(english.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(english.headers[.contentDisposition]?.contains("x_project-") == true)
            #expect(english.text.hasPrefix("\u{FEFF}"), "no byte order mark for Excel")
            #expect(english.csvRows.first == ["Name", "Budget", "Stage", "Start", "Headcount", "Code", "id", "owner_id", "created_at", "updated_at"])
            #expect(english.csvColumn("Stage").sorted() == ["", "Build", "Plan"], "picklists export their labels")
            #expect(english.csvColumn("Budget").contains("1234.50 USD"))
            // A cell a spreadsheet would run as a formula is defused.
            #expect(english.csvColumn("Name").contains("'=HYPERLINK(\"http://evil\")"))
            let chinese = try await api.export("x_project", "lang=zh-CN")
            #expect(chinese.csvRows.first?.first == "名称")

            let imported = try await api.importCSV("x_project", english.text)
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["created"] == .number(3))
            #expect(try await api.count("x_project") == 6)
            for id in imported.json["ids"]?.asArray?.compactMap(\.stringValue) ?? [] {
                let copy = try await api.call(.get, "/api/v1/x_project/\(id)").json
                let original = try #require(originals.first { $0["x_name"] == copy["x_name"] }, "no original for \(copy)")
                for key in ["x_name", "x_budget", "x_stage", "x_start", "x_headcount"] {
                    #expect(copy[key] == original[key], "\(key): \(String(describing: copy[key])) != \(String(describing: original[key]))")
                }
                #expect(copy["x_code"] != original["x_code"], "an auto-number is given anew")
            }
            let audit = try await api.call(.get, "/api/v1/audit?limit=50")
            #expect(audit.text.contains("records.exported"))
            #expect(audit.text.contains("records.imported"))
        }
    }

    // MARK: Import rules

    @Test func aFileWithBadRowsImportsNothingAndNamesEachRowAndField() async throws {
        try await F.withTenant("csv-bad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            let csv = "Name,Stage,Headcount,Start\nfine,Plan,1,2026-01-02\nalso fine,build,2,\nbad stage,Shipping,3,\n,Plan,4,\nbad date,Plan,5,23.11.2026\n"
            let failed = try await api.importCSV("x_project", csv)
            #expect(failed.status == .unprocessableContent, "\(failed.text)")
            #expect(failed.errorCode == "import_failed")
            let details = failed.json["error"]?["details"]?.asArray ?? []
            #expect(details.compactMap { $0["row"]?.asInt } == [4, 5, 6], "\(failed.text)")
            #expect(details.compactMap { $0["field"]?.stringValue } == ["x_stage", "x_name", "x_start"], "\(failed.text)")
            #expect(try await api.count("x_project") == 0, "a partly imported file")

            let good = "Name,Stage,Headcount\nfine,Plan,1\nalso fine,build,2\n"
            let dry = try await api.importCSV("x_project", good, dryRun: true)
            #expect(dry.status == .ok, "\(dry.text)")
            #expect(dry.json["valid_rows"] == .number(2))
            #expect(try await api.count("x_project") == 0, "a dry run kept records")
            #expect(try await api.importCSV("x_project", good).status == .created)
            #expect(try await api.count("x_project") == 2)

            for (file, code, field) in [("Name,Colour\nx,red\n", "unknown_column", "Colour"), ("", "invalid_file", "file"),
                                        ("Name\n", "invalid_file", "file"), ("Name,Name\nx,y\n", "invalid_csv", "x_name"),
                                        ("Name\n\"open\n", "invalid_csv", "file"), ("Name\nx,y\n", "import_failed", nil)] {
                let response = try await api.importCSV("x_project", file)
                #expect(response.status == .unprocessableContent, "\(file): \(response.text)")
                #expect(response.errorCode == code, "\(file): \(response.text)")
                if let field { #expect(response.errorField == field, "\(file): \(response.text)") }
            }
            #expect(try await api.count("x_project") == 2)
            #expect(try await api.importCSV("x_nothing", "Name\nx\n").status == .notFound)
        }
    }

    @Test func importNeedsTheImportRightAndExportTheExportRight() async throws {
        try await F.withTenant("csv-rights") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            try await admin.createObject(F.projectObject)
            let (email, password) = try await F.createMember(in: tenant)
            let member = try await RecordAPIClient.signIn(client, slug: tenant.info.slug, email: email, password: password)
            _ = try await member.createID("x_project", #"{"x_name": "mine"}"#)
            _ = try await admin.createID("x_project", #"{"x_name": "not mine"}"#)
            // The default Salesperson role may export its own records but not import.
            let export = try await member.export("x_project")
            #expect(export.status == .ok, "\(export.text)")
            #expect(export.csvColumn("Name") == ["mine"])
            let refused = try await member.importCSV("x_project", "Name\nsneaky\n")
            #expect(refused.status == .forbidden, "\(refused.text)")
            #expect(refused.errorCode == "no_permission")
            #expect(try await admin.count("x_project") == 2)
        }
    }
}

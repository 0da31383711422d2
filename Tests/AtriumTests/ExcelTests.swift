import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Platform
import Tenancy
import Testing

/// Excel (.xlsx) export and import: the ZIP and sheet reader/writer on their own, a workbook
/// written by LibreOffice Calc, and the records API and import page against the real server
/// and PostgreSQL. (Tests/browser/excel_checks.py opens the exports in LibreOffice itself.)
@Suite struct ExcelTests {
    typealias F = RecordFixtures

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures")

    // MARK: ZIP

    @Test func zipEntriesRoundTripAndDamageIsRefused() throws {
        var writer = try ZipArchiveWriter()
        let big = Array(String(repeating: "华通 row,", count: 20_000).utf8)
        try writer.add("a.txt", Array("hello".utf8))
        try writer.add("dir/big.xml", big)
        try writer.add("empty", [])
        let bytes = try writer.finish()
        #expect(bytes.count < big.count / 10, "deflate did not compress: \(bytes.count) bytes")
        let reader = try ZipArchiveReader(bytes)
        #expect(reader.paths == ["a.txt", "dir/big.xml", "empty"])
        #expect(try reader.read("a.txt") == Array("hello".utf8))
        #expect(try reader.read("dir/big.xml") == big)
        #expect(try reader.read("empty") == [])
        #expect(try reader.read("missing") == nil)

        // One flipped byte inside the compressed data of big.xml: inflate or CRC must notice.
        var damaged = bytes
        let name = Array("dir/big.xml".utf8)
        func isHeader(_ at: Int) -> Bool {
            let signature: [UInt8] = [0x50, 0x4B, 3, 4]
            return Array(bytes[at..<(at + 4)]) == signature && Array(bytes[(at + 30)..<(at + 30 + name.count)]) == name
        }
        let header = try #require((0..<(bytes.count - 30 - name.count)).first(where: isHeader))
        let extra = Int(bytes[header + 28]) + Int(bytes[header + 29]) * 256
        let dataStart = header + 30 + name.count + extra
        damaged[dataStart + 20] ^= 0xFF
        let damagedReader = try ZipArchiveReader(damaged)
        #expect(throws: ZipArchiveError.self) { _ = try damagedReader.read("dir/big.xml") }
        #expect(throws: ZipArchiveError.notZip) { _ = try ZipArchiveReader(Array("Name,Stage\nx,y\n".utf8)) }
        #expect(throws: ZipArchiveError.notZip) { _ = try ZipArchiveReader(Array(bytes.prefix(40))) }
    }

    @Test func anEntryThatInflatesBeyondItsDeclaredSizeIsStopped() throws {
        // A "zip bomb": 4 MiB of zeros deflate to a few KiB; the archive then claims 1 000 bytes.
        var writer = try ZipArchiveWriter()
        try writer.add("xl/worksheets/sheet1.xml", [UInt8](repeating: 0x30, count: 4 * 1024 * 1024))
        var bytes = try writer.finish()
        #expect(bytes.count < 64 * 1024)
        func patch(_ signature: [UInt8], sizeAt offset: Int) {
            var position = 0
            while position + 4 <= bytes.count {
                if Array(bytes[position..<(position + 4)]) == signature {
                    let claimed: UInt32 = 1_000
                    for byte in 0..<4 { bytes[position + offset + byte] = UInt8(truncatingIfNeeded: claimed >> (8 * UInt32(byte))) }
                }
                position += 1
            }
        }
        patch([0x50, 0x4B, 0x03, 0x04], sizeAt: 22)   // local header: uncompressed size
        patch([0x50, 0x4B, 0x01, 0x02], sizeAt: 24)   // central directory: uncompressed size
        let reader = try ZipArchiveReader(bytes)
        #expect(throws: ZipArchiveError.corrupt("xl/worksheets/sheet1.xml")) { _ = try reader.read("xl/worksheets/sheet1.xml") }
    }

    @Test func readingStopsPastTheRowLimitAndSaysSo() throws {
        var sheet = XLSXWriter(sheetName: "s", headers: ["Name"])
        for index in 0..<60 { sheet.addRow([.text("row \(index)")]) }
        let bytes = try sheet.finish()
        #expect(try XLSXReader.rows(bytes, maxRows: 61).count == 61)
        do {
            _ = try XLSXReader.rows(bytes, maxRows: 51)
            Issue.record("60 rows were read under a limit of 50")
        } catch let failure as XLSXReader.Failure {
            #expect(failure.description.contains("more than 50 rows"), "\(failure.description)")
        }
    }

    // MARK: Writer and reader

    @Test func typedCellsReadBackAsTheTextAnImportExpects() throws {
        let day = try #require(ISO8601DateFormatter().date(from: "2026-11-23T00:00:00Z"))
        let moment = try #require(ISO8601DateFormatter().date(from: "2026-11-23T09:30:15Z"))
        var sheet = XLSXWriter(sheetName: "项目/Projects?", headers: ["名称", "Amount", "Share", "Day", "At", "On", "Big", "Note"])
        sheet.addRow([.text("Acme & <Sons> \"Ltd\""), .money("1234.50"), .percent("12.5"), .date(day), .dateTime(moment), .bool(true),
                      .number("12345678901234567890"), .text("=HYPERLINK(\"http://evil\")")])
        sheet.addRow([.text("华通\u{1}电子"), .number("0.1"), .percent("7"), .empty, .empty, .bool(false), .number("-42"), .text("  two\nlines  ")])
        let rows = try XLSXReader.rows(try sheet.finish())
        #expect(rows.count == 3)
        #expect(rows[0] == ["名称", "Amount", "Share", "Day", "At", "On", "Big", "Note"])
        #expect(rows[1] == ["Acme & <Sons> \"Ltd\"", "1234.50", "12.5", "2026-11-23", "2026-11-23T09:30:15Z", "true",
                            "12345678901234567890", "=HYPERLINK(\"http://evil\")"])
        // A control character XML cannot carry is dropped; an empty cell is an empty string.
        #expect(rows[2] == ["华通电子", "0.1", "7", "", "", "false", "-42", "  two\nlines  "])
    }

    @Test func aWorkbookWrittenByLibreOfficeReadsWithSharedStringsStylesDatesAndPercentages() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("libreoffice-projects.xlsx")))
        let rows = try XLSXReader.rows(bytes)
        // LibreOffice Calc wrote the file: `soffice --headless --convert-to xlsx libreoffice-projects.csv`.
        #expect(rows == [
            ["Name", "Stage", "Start", "Headcount", "Budget", "Share", "Active", "Notes"],
            ["华通 电子", "Build", "2026-11-23", "12", "1234.5", "12.5", "true", "line one"],
            ["Acme & Sons <Ltd>", "计划", "2025-01-31", "0.1", "99.99", "7", "false"],
        ])
    }

    @Test func sheetNumbersLoseTheirBinaryNoiseAndFormatsAreRecognised() throws {
        #expect(XLSXReader.number("0.30000000000000004") == "0.3")
        #expect(XLSXReader.number("1234.5600000000001") == "1234.56")
        #expect(XLSXReader.number("1E+20") == "100000000000000000000")
        #expect(XLSXReader.number("12") == "12")
        #expect(XLSXReader.percentPoints("0.125") == "12.5")
        #expect(XLSXReader.format(id: 14, code: nil) == .date)
        #expect(XLSXReader.format(id: 22, code: nil) == .dateTime)
        #expect(XLSXReader.format(id: 58, code: nil) == .date, "a Chinese built-in date format")
        #expect(XLSXReader.format(id: 170, code: #"[$-804]yyyy"年"m"月"d"日";@"#) == .date)
        #expect(XLSXReader.format(id: 171, code: "yyyy/m/d h:mm") == .dateTime)
        #expect(XLSXReader.format(id: 172, code: #"#,##0.00 "元""#) == .general, "letters inside quotes are not a date")
        #expect(XLSXReader.format(id: 173, code: "General") == .general)
        #expect(XLSXReader.format(id: 174, code: "0.0%") == .percent)
        #expect(XLSXWriter.columnName(0) == "A" && XLSXWriter.columnName(25) == "Z" && XLSXWriter.columnName(26) == "AA" && XLSXWriter.columnName(701) == "ZZ")
        #expect(try XLSXReader.columnIndex("AB12") == 27)
        // Serial dates: 1970-01-01 is day 25569; noon is half a day; before 1970 still counts up.
        #expect(XLSXWriter.serial(Date(timeIntervalSince1970: 0), wholeDays: false) == "25569")
        #expect(XLSXWriter.serial(Date(timeIntervalSince1970: 43_200), wholeDays: false) == "25569.5")
        #expect(XLSXWriter.serial(Date(timeIntervalSince1970: -86_400 + 21_600), wholeDays: false) == "25568.25")
        #expect(XLSXWriter.serial(Date(timeIntervalSince1970: 43_200), wholeDays: true) == "25569")
    }

    @Test func brokenWorkbooksAreRefusedWithAReason() throws {
        var writer = try ZipArchiveWriter()
        try writer.add("hello.txt", Array("not a workbook".utf8))
        #expect(throws: XLSXReader.Failure.self) { _ = try XLSXReader.rows(try writer.finish()) }
        // A sheet with an error value (#N/A) says which cell.
        var sheet = XLSXWriter(sheetName: "s", headers: ["a"])
        sheet.addRow([.text("placeholder")])
        var bytes = try sheet.finish()
        let zip = try ZipArchiveReader(bytes)
        var xml = String(decoding: try #require(try zip.read("xl/worksheets/sheet1.xml")), as: UTF8.self)
        xml = xml.replacingOccurrences(of: #"<c r="A2" t="inlineStr"><is><t xml:space="preserve">placeholder</t></is></c>"#, with: #"<c r="A2" t="e"><v>#N/A</v></c>"#)
        var rebuilt = try ZipArchiveWriter()
        for path in zip.paths { try rebuilt.add(path, path.hasSuffix("sheet1.xml") ? Array(xml.utf8) : try #require(try zip.read(path))) }
        bytes = try rebuilt.finish()
        do {
            _ = try XLSXReader.rows(bytes)
            Issue.record("an error cell was read as a value")
        } catch let failure as XLSXReader.Failure {
            #expect(failure.description.contains("A2"), "\(failure.description)")
        }
    }

    // MARK: Through the API

    /// `GET` or `POST` with raw bytes, answering the raw bytes.
    static func raw(_ api: RecordAPIClient, _ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil,
                    contentType: String? = nil) async throws -> (HTTPResponse.Status, HTTPFields, [UInt8]) {
        var headers: HTTPFields = [.authorization: "Bearer \(api.token)", TenantResolver.header: api.slug]
        if let contentType { headers[.contentType] = contentType }
        let response = try await api.client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        return (response.status, response.headers, Array(response.body.readableBytesView))
    }

    @Test func anExcelExportHasTypedCellsAndImportsBackIntoTheSameRecords() async throws {
        try await F.withTenant("xlsx-round") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            let bodies = [
                #"{"x_name": "华通 电子, 有限公司", "x_budget": {"amount": "1234.50", "currency": "USD"}, "x_stage": "build", "x_start": "2026-11-23", "x_headcount": 12}"#,
                #"{"x_name": "say \"hi\" & <bye>", "x_budget": "99.9", "x_stage": "plan", "x_headcount": 0.25}"#,
                #"{"x_name": "=HYPERLINK(\"http://evil\")", "x_headcount": -3}"#,
            ]
            var originals: [JSONValue] = []
            for body in bodies { originals.append(try await api.create("x_project", body)) }

            let (status, headers, bytes) = try await Self.raw(api, .get, "/api/v1/x_project/export?format=xlsx&lang=zh-CN&sort=x_headcount")
            #expect(status == .ok, "\(String(decoding: bytes, as: UTF8.self))")
            #expect(headers[.contentType] == RecordFileFormat.xlsx.contentType)
            #expect(headers[.contentDisposition]?.contains(".xlsx") == true)
            #expect(headers[HTTPField.Name("X-Atrium-Rows")!] == "3")
            let rows = try XLSXReader.rows(bytes)
            #expect(rows.first == ["名称", "Budget", "Stage", "Start", "Headcount", "Code", "id", "owner_id", "created_at", "updated_at"])
            #expect(rows.count == 4)
            // Sorted by headcount: -3, 0.25, 12. Text is never defused in a sheet (a cell is never a formula).
            #expect(rows[1][0] == "=HYPERLINK(\"http://evil\")")
            #expect(rows[2][0] == "say \"hi\" & <bye>" && rows[2][1] == "99.90" && rows[2][2] == "Plan" && rows[2][4] == "0.25")
            #expect(rows[3][1] == "1234.50 USD" && rows[3][2] == "Build" && rows[3][3] == "2026-11-23" && rows[3][4] == "12")
            #expect(rows[3][8].hasSuffix("Z"), "created_at is a date-time cell read back in UTC: \(rows[3][8])")
            // The sheet says what the CSV says, cell for cell, except the defused formula and the money format.
            let csv = try await api.export("x_project", "lang=zh-CN&sort=x_headcount")
            #expect(csv.csvRows.count == rows.count)
            #expect(csv.csvRows.map { $0[6] } == rows.map { $0[6] }, "the same ids in the same order")

            let (imported, _, answer) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: bytes, contentType: RecordFileFormat.xlsx.contentType)
            let json = try JSONValue.parse(String(decoding: answer, as: UTF8.self))
            #expect(imported == .created, "\(json)")
            #expect(json["created"] == .number(3))
            for id in json["ids"]?.asArray?.compactMap(\.stringValue) ?? [] {
                let copy = try await api.call(.get, "/api/v1/x_project/\(id)").json
                let original = try #require(originals.first { $0["x_name"] == copy["x_name"] }, "no original for \(copy)")
                for key in ["x_name", "x_budget", "x_stage", "x_start", "x_headcount"] {
                    #expect(copy[key] == original[key], "\(key): \(String(describing: copy[key])) != \(String(describing: original[key]))")
                }
            }
            let audit = try await api.call(.get, "/api/v1/audit?limit=50")
            #expect(audit.text.contains("\"format\":\"xlsx\""), "the export's audit entry names its format")

            // The list's search narrows the sheet like the list.
            let (_, _, found) = try await Self.raw(api, .get, "/api/v1/x_project/export?format=xlsx&q=\(RecordAPIClient.escape("华通"))&sort=x_name")
            #expect(try XLSXReader.rows(found).dropFirst().map { $0[0] } == ["华通 电子, 有限公司", "华通 电子, 有限公司"], "the original and its imported copy")

            let bad = try await api.export("x_project", "format=pdf")
            #expect(bad.status == .badRequest && bad.errorField == "format", "\(bad.text)")
        }
    }

    @Test func aLibreOfficeWorkbookImportsByLabelsAndBadRowsAreNamed() async throws {
        try await F.withTenant("xlsx-import") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            // The fixture's columns Share, Active and Notes are no fields of x_project: refused by name.
            let fixture = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("libreoffice-projects.xlsx")))
            let (refused, _, refusal) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: fixture)
            let refusalJSON = try JSONValue.parse(String(decoding: refusal, as: UTF8.self))
            #expect(refused == .unprocessableContent && refusalJSON["error"]?["field"]?.stringValue == "Share", "\(refusalJSON)")

            // The same workbook with only the object's columns, the second stage given in Chinese,
            // which x_project has no label for: row 3 is refused, naming x_stage; nothing is kept.
            var sheet = XLSXWriter(sheetName: "p", headers: ["名称", "Stage", "Start", "Headcount", "Budget"])
            sheet.addRow([.text("华通 电子"), .text("Build"), .date(try #require(ISO8601DateFormatter().date(from: "2026-11-23T00:00:00Z"))), .number("12"), .money("1234.5")])
            sheet.addRow([.text("Acme"), .text("计划"), .empty, .number("0.1"), .money("99.99")])
            let file = try sheet.finish()
            let (failed, _, failure) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: file, contentType: RecordFileFormat.xlsx.contentType)
            let failureJSON = try JSONValue.parse(String(decoding: failure, as: UTF8.self))
            #expect(failed == .unprocessableContent, "\(failureJSON)")
            let details = failureJSON["error"]?["details"]?.asArray ?? []
            #expect(details.compactMap { $0["row"]?.asInt } == [3] && details.first?["field"]?.stringValue == "x_stage", "\(failureJSON)")
            #expect(try await api.count("x_project") == 0)

            // Fixed, checked (dry run) and imported.
            var fixed = XLSXWriter(sheetName: "p", headers: ["名称", "Stage", "Start", "Headcount", "Budget"])
            fixed.addRow([.text("华通 电子"), .text("Build"), .date(try #require(ISO8601DateFormatter().date(from: "2026-11-23T00:00:00Z"))), .number("12"), .money("1234.5")])
            fixed.addRow([.text("Acme"), .text("plan"), .empty, .number("0.1"), .money("99.99")])
            let good = try fixed.finish()
            let (checked, _, checkAnswer) = try await Self.raw(api, .post, "/api/v1/x_project/import?dry_run=true", body: good)
            #expect(checked == .ok && String(decoding: checkAnswer, as: UTF8.self).contains("\"valid_rows\":2"))
            #expect(try await api.count("x_project") == 0, "a dry run keeps nothing")
            let (created, _, _) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: good)
            #expect(created == .created)
            let listed = try await api.list("x_project", sort: "x_name")
            #expect(listed.records.map { $0["x_stage"]?.stringValue ?? "" } == ["plan", "build"])
            #expect(listed.records.last?["x_start"]?.stringValue == "2026-11-23")
            #expect(listed.records.last?["x_budget"]?["amount"]?.stringValue == "1234.50")

            // Not a workbook, not text: a clear 422 naming the file.
            var garbage: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
            garbage += Array(repeating: 0xAB, count: 200)
            let (broken, _, brokenAnswer) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: garbage)
            let brokenJSON = try JSONValue.parse(String(decoding: brokenAnswer, as: UTF8.self))
            #expect(broken == .unprocessableContent && brokenJSON["error"]?["code"]?.stringValue == "invalid_xlsx"
                    && brokenJSON["error"]?["field"]?.stringValue == "file", "\(brokenJSON)")
            let (binary, _, binaryAnswer) = try await Self.raw(api, .post, "/api/v1/x_project/import", body: [0xFF, 0xFE, 0x00, 0x41])
            #expect(binary == .unprocessableContent && String(decoding: binaryAnswer, as: UTF8.self).contains("\"field\":\"file\""))
        }
    }

    @Test func aWorkbookImportsIntoAModuleEntityRecordByRecordAndIsFoundBySearch() async throws {
        try await F.withTenant("xlsx-account") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            var sheet = XLSXWriter(sheetName: "客户", headers: ["客户名称", "电话"])
            sheet.addRow([.text("表格导入客户甲"), .text("+86 10 1234 5678")])
            sheet.addRow([.text("表格导入客户乙"), .number("13800138000")])
            let (status, _, answer) = try await Self.raw(api, .post, "/api/v1/account/import", body: try sheet.finish())
            #expect(status == .created, "\(String(decoding: answer, as: UTF8.self))")
            let listed = try await api.list("account", sort: "name", q: "表格导入客户")
            #expect(Set(listed.records.map { $0["phone"]?.stringValue ?? "" }) == ["+86 10 1234 5678", "13800138000"], "\(listed.text)")
            let (_, _, bytes) = try await Self.raw(api, .get, "/api/v1/account/export?format=xlsx&sort=name&lang=zh-CN&q=\(RecordAPIClient.escape("表格导入客户"))")
            let rows = try XLSXReader.rows(bytes)
            #expect(rows.dropFirst().map { [$0[0], $0[6]] }.sorted { $0[0] < $1[0] } == [["表格导入客户乙", "13800138000"], ["表格导入客户甲", "+86 10 1234 5678"]], "\(rows)")
        }
    }

    @Test func theImportTemplateHasTheImportableColumnsAndPicklistDropDowns() async throws {
        try await F.withTenant("xlsx-template") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            let (status, headers, bytes) = try await Self.raw(api, .get, "/api/v1/x_project/import-template?format=xlsx&lang=zh-CN")
            #expect(status == .ok && headers[.contentDisposition]?.contains("x_project-import.xlsx") == true)
            #expect(try XLSXReader.rows(bytes) == [["名称", "Budget", "Stage", "Start", "Headcount"]], "the auto-number is left out")
            let sheetXML = String(decoding: try #require(try ZipArchiveReader(bytes).read("xl/worksheets/sheet1.xml")), as: UTF8.self)
            #expect(sheetXML.contains(#"<dataValidation type="list""#) && sheetXML.contains("Plan,Build,Done"), "\(sheetXML)")
            let csv = try await api.call(.get, "/api/v1/x_project/import-template?lang=en")
            #expect(csv.status == .ok && csv.csvRows == [["Name", "Budget", "Stage", "Start", "Headcount"]])
        }
    }

    // MARK: The import page

    @Test func theImportPageChecksAndImportsAnUploadedWorkbookAndListsBadRows() async throws {
        try await F.withTenant("xlsx-page") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(F.projectObject)
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let list = String(buffer: try await browser.send(.get, "/app/x_project").body)
            #expect(list.contains("href=\"/app/x_project/import\"") && list.contains("format=xlsx"), "the list offers Excel export and import")
            let page = try await browser.send(.get, "/app/x_project/import")
            let html = String(buffer: page.body)
            #expect(page.status == .ok && html.contains("import-template?format=xlsx") && html.contains("enctype=\"multipart/form-data\""))
            let csrf = try #require(BrowserSession.csrfToken(in: html))

            var sheet = XLSXWriter(sheetName: "p", headers: ["Name", "Stage"])
            sheet.addRow([.text("<b>one</b>"), .text("Plan")])
            sheet.addRow([.text("two"), .text("Shipping")])
            func post(_ file: [UInt8], csrf: String?, checkOnly: Bool = false) async throws -> (HTTPResponse.Status, String) {
                let boundary = "----atrium\(UUID().uuidString)"
                var body = ByteBuffer()
                if let csrf { body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n") }
                if checkOnly { body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"check_only\"\r\n\r\n1\r\n") }
                body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"项目.xlsx\"\r\nContent-Type: \(RecordFileFormat.xlsx.contentType)\r\n\r\n")
                body.writeBytes(file)
                body.writeString("\r\n--\(boundary)--\r\n")
                let response = try await client.execute(uri: "/app/x_project/import", method: .post, headers: [
                    .contentType: "multipart/form-data; boundary=\(boundary)", .cookie: browser.cookieHeader, TenantResolver.header: tenant.info.slug,
                ], body: body)
                return (response.status, String(buffer: response.body))
            }
            let (forged, _) = try await post(try sheet.finish(), csrf: nil)
            #expect(forged == .forbidden, "an upload without the CSRF token")
            let (refused, refusedHTML) = try await post(try sheet.finish(), csrf: csrf)
            #expect(refused == .unprocessableContent)
            #expect(refusedHTML.contains("data-testid=\"import-problems\"") && refusedHTML.contains("<td>3</td><td>x_stage</td>"), "\(refusedHTML)")
            #expect(refusedHTML.contains("项目.xlsx"))
            #expect(try await api.count("x_project") == 0)

            var fixed = XLSXWriter(sheetName: "p", headers: ["Name", "Stage"])
            fixed.addRow([.text("<b>one</b>"), .text("Plan")])
            fixed.addRow([.text("two"), .text("build")])
            let (checked, checkedHTML) = try await post(try fixed.finish(), csrf: csrf, checkOnly: true)
            #expect(checked == .ok && checkedHTML.contains("data-testid=\"import-checked\""), "\(checkedHTML)")
            #expect(try await api.count("x_project") == 0)
            let (done, doneHTML) = try await post(try fixed.finish(), csrf: csrf)
            #expect(done == .ok && doneHTML.contains("2 records imported"), "\(doneHTML)")
            #expect(try await api.count("x_project") == 2)
        }
    }
}

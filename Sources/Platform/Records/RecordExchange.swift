import Foundation
import Logging
import PostgresNIO

/// CSV export and import of records, in the form spreadsheet users expect: UTF-8 with a byte
/// order mark (so Excel shows Chinese correctly), CRLF line ends, a header row of field labels
/// in the caller's language. Both go through the engine: an export is a list under the export
/// scope with hidden fields absent; an import creates each row under the import scope, all
/// rows in one transaction or none.
public enum RecordCSV {
    public static let maxExportRows = 50_000
    /// Rows of one file on the set-wise path (``RecordEngine/importCSV``); 100 000 rows of ten
    /// typed fields are about 15 MiB.
    public static let maxImportRows = 200_000
    /// Rows of one file into an entity whose module rules run per record (the row-by-row path
    /// writes a few hundred rows a second, all in one transaction).
    public static let maxRowWiseImportRows = 10_000
    public static let maxImportBytes = 64 * 1024 * 1024
    /// System columns written after the fields; on import `owner_id` is honoured, the rest ignored.
    static let systemColumns = ["id", "owner_id", "created_at", "updated_at"]

    // MARK: Text

    /// One CSV line: cells quoted when they hold a comma, quote or line break.
    static func line(_ cells: [String]) -> String {
        cells.map { cell in
            cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",") + "\r\n"
    }

    /// Rows of cells (RFC 4180: quoted cells may hold commas, quotes and line breaks). A
    /// leading byte order mark is skipped; blank lines are dropped.
    public static func parse(_ text: String) throws -> [[String]] {
        var text = text
        return try text.withUTF8 { try parse(bytes: $0) }
    }

    /// ``parse(_:)`` over UTF-8 bytes: every character that shapes a CSV file is ASCII, so the
    /// reader walks bytes and decodes each cell once (walking `Character`s, with their
    /// grapheme breaking, made reading a 100 000-row file take longer than importing it).
    /// A NUL byte is refused: PostgreSQL cannot store it in text.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) throws -> [[String]] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var rows: [[String]] = []
        var row: [String] = []
        var cell: [UInt8] = []
        cell.reserveCapacity(256)
        var quoted = false
        var afterQuote = false
        var line = 1
        var index = 0
        let count = bytes.count
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
        func invalid(_ message: String) -> AtriumError {
            AtriumError(status: .unprocessableContent, code: "invalid_csv", message: "line \(line): \(message)", field: "file")
        }
        func endCell() {
            row.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
        }
        func endRow() {
            endCell()
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
            row.reserveCapacity(rows.last?.count ?? 8)
        }
        while index < count {
            let byte = bytes[index]
            index += 1
            if byte == 0 { throw invalid("a NUL character") }
            if quoted {
                if byte == quote {
                    quoted = false
                    afterQuote = true
                } else {
                    // A line break inside a quoted cell: "\r\n" counts once, as a line.
                    if byte == lf || (byte == cr && (index == count || bytes[index] != lf)) { line += 1 }
                    cell.append(byte)
                }
                continue
            }
            switch byte {
            case quote:
                if afterQuote { cell.append(quote); quoted = true; afterQuote = false }
                else if cell.isEmpty { quoted = true }
                else { throw invalid("a quote inside an unquoted cell") }
            case comma:
                endCell()
                afterQuote = false
            case lf, cr:
                if byte == cr && index < count && bytes[index] == lf { index += 1 }
                endRow()
                line += 1
                afterQuote = false
            default:
                if afterQuote { throw invalid("text after a closing quote") }
                cell.append(byte)
            }
        }
        if quoted { throw invalid("a quoted cell is not closed") }
        if !cell.isEmpty || !row.isEmpty { endRow() }
        return rows
    }

    // MARK: Cells

    static func label(_ labels: [String: String], locale: String, fallback: String) -> String {
        labels[locale] ?? labels[String(locale.prefix(2))] ?? labels["en"] ?? labels.values.sorted().first ?? fallback
    }

    /// Cells a spreadsheet would run as a formula get a leading apostrophe (CSV injection);
    /// the import takes it off again.
    static func guarded(_ text: String) -> String {
        guard let first = text.first, "=+-@\t\r".contains(first) else { return text }
        return "'" + text
    }

    static func cell(_ value: JSONValue?, field: FieldDefinition, locale: String) -> String {
        guard let value, !value.isNull else { return "" }
        switch (field.type, value) {
        case (.money, .object(let money)):
            let amount = money["amount"]?.stringValue ?? ""
            let currency = money["currency"]?.stringValue ?? ""
            return currency.isEmpty || currency == (field.currency ?? "CNY") ? amount : "\(amount) \(currency)"
        case (.number, _), (.percent, _):
            return value.stringValue ?? value.jsonText
        case (.boolean, .bool(let flag)):
            return flag ? "true" : "false"
        case (.picklist, .string(let option)):
            return guarded(optionLabel(option, field: field, locale: locale))
        case (.multiPicklist, .array(let items)):
            return guarded(items.compactMap(\.stringValue).map { optionLabel($0, field: field, locale: locale) }.joined(separator: "; "))
        case (_, .string(let text)):
            return guarded(text)
        default:
            return value.jsonText
        }
    }

    static func optionLabel(_ value: String, field: FieldDefinition, locale: String) -> String {
        guard let option = field.options?.first(where: { $0.value == value }) else { return value }
        return label(option.labels, locale: locale, fallback: value)
    }

    /// The option whose value or label (in any language) is `text`, values first.
    static func optionValue(_ text: String, field: FieldDefinition) -> String {
        let options = field.options ?? []
        if options.contains(where: { $0.value == text }) { return text }
        return options.first { $0.labels.values.contains(text) }?.value ?? text
    }

    /// The JSON value for one imported cell; the engine validates it like any other input.
    static func value(_ raw: String, field: FieldDefinition) -> JSONValue {
        var text = FieldValidator.trimmingWhitespace(raw)
        if text.count > 1, text.first == "'", let second = text.dropFirst().first, "=+-@".contains(second) { text.removeFirst() }
        if text.isEmpty { return .null }
        switch field.type {
        case .boolean:
            switch text.lowercased() {
            case "true", "yes", "y", "1", "是", "√": return .bool(true)
            case "false", "no", "n", "0", "否": return .bool(false)
            default: return .string(text)
            }
        case .money:
            let parts = text.split(separator: " ").map(String.init)
            let amount = parts.first.map { removing([",", "¥"], from: $0) } ?? text
            if parts.count == 2 { return .object(["amount": .string(amount), "currency": .string(parts[1].uppercased())]) }
            return .string(amount)
        case .number, .percent:
            return .string(removing([",", "%"], from: text))
        case .picklist:
            return .string(optionValue(text, field: field))
        case .multiPicklist:
            let items = text.split(whereSeparator: { $0 == ";" || $0 == "；" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return .array(items.map { .string(optionValue($0, field: field)) })
        default:
            return .string(text)
        }
    }

    /// `text` without the given characters (thousands separators, currency and percent signs).
    static func removing(_ characters: Set<Character>, from text: String) -> String {
        text.contains(where: characters.contains) ? text.filter { !characters.contains($0) } : text
    }

    /// Which field each header cell names: a field key, or its label in any language. System
    /// columns map to nil (skipped) except `owner_id`; anything else is refused by name.
    static func columns(_ header: [String], entity: EntityDefinition) throws -> [FieldDefinition?] {
        var seen = Set<String>()
        return try header.enumerated().map { index, raw in
            let name = raw.trimmingCharacters(in: .whitespaces)
            let field = entity.activeFields.first { $0.key == name } ?? entity.activeFields.first { $0.labels.values.contains(name) }
            if let field {
                guard seen.insert(field.key).inserted else {
                    throw AtriumError(status: .unprocessableContent, code: "invalid_csv", message: "column \(index + 1) '\(name)' repeats \(field.key)", field: field.key)
                }
                // Auto-numbers are given by the engine: an exported file re-imports cleanly.
                return field.type == .autoNumber ? nil : field
            }
            if name == "owner_id" { return FieldDefinition(key: "owner_id", labels: [:], type: .user) }
            if systemColumns.contains(name) || name.isEmpty { return nil }
            throw AtriumError(status: .unprocessableContent, code: "unknown_column",
                              message: "column \(index + 1) '\(name)' is not a field of \(entity.key)", field: name)
        }
    }
}

/// The file kinds records are exported to and imported from.
public enum RecordFileFormat: String, Sendable, CaseIterable {
    case csv, xlsx

    public var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
    }
}

extension RecordCSV {
    /// One typed spreadsheet cell of a field's value: numbers, money, percentages, dates and
    /// times as spreadsheet values, labels for picklists, text as text (never a formula).
    static func sheetCell(_ value: JSONValue?, field: FieldDefinition, locale: String) -> XLSXWriter.Cell {
        guard let value, !value.isNull else { return .empty }
        switch (field.type, value) {
        case (.money, .object(let money)):
            let amount = money["amount"]?.stringValue ?? ""
            let currency = money["currency"]?.stringValue ?? ""
            return currency.isEmpty || currency == (field.currency ?? "CNY") ? .money(amount) : .text("\(amount) \(currency)")
        case (.number, _):
            return value.stringValue.map { .number($0) } ?? .text(value.jsonText)
        case (.percent, _):
            return value.stringValue.map { .percent($0) } ?? .text(value.jsonText)
        case (.boolean, .bool(let flag)):
            return .bool(flag)
        case (.date, .string(let text)):
            return FieldValidator.parseDate(text).map { .date($0) } ?? .text(text)
        case (.datetime, .string(let text)):
            return FieldValidator.parseDateTime(text).map { .dateTime($0) } ?? .text(text)
        case (.picklist, .string(let option)):
            return .text(optionLabel(option, field: field, locale: locale))
        case (.multiPicklist, .array(let items)):
            return .text(items.compactMap(\.stringValue).map { optionLabel($0, field: field, locale: locale) }.joined(separator: "; "))
        case (_, .string(let text)):
            return .text(text)
        default:
            return .text(value.jsonText)
        }
    }

    /// The header cell of `field` in `locale` (the import reads labels in any language, or keys).
    static func header(_ field: FieldDefinition, locale: String) -> String {
        label(field.labels, locale: locale, fallback: field.key)
    }
}

extension RecordEngine {
    /// Every record the caller may export that matches `query` (filter, sort, q), as CSV text.
    public func exportCSV(_ entityKey: String, query: RecordQuery, locale: String, as actor: Actor,
                          on connection: PostgresConnection, logger: Logger) async throws -> (text: String, rows: Int) {
        var text = ""
        let rows = try await exportPages(entityKey, query: query, format: .csv, as: actor, on: connection, logger: logger) { _, fields, records in
            if text.isEmpty {
                text = "\u{FEFF}" + RecordCSV.line(fields.map { RecordCSV.header($0, locale: locale) } + RecordCSV.systemColumns)
            }
            for record in records {
                let system = [record.id.uuidString.lowercased(), record.ownerID?.uuidString.lowercased() ?? "",
                              FieldValidator.formatDateTime(record.createdAt), FieldValidator.formatDateTime(record.updatedAt)]
                text += RecordCSV.line(fields.map { RecordCSV.cell(record.values[$0.key], field: $0, locale: locale) } + system)
            }
        }
        return (text, rows)
    }

    /// The same export as ``exportCSV(_:query:locale:as:on:logger:)``, as an .xlsx workbook of
    /// one sheet named after the entity, with typed cells (see ``XLSXWriter``).
    public func exportXLSX(_ entityKey: String, query: RecordQuery, locale: String, as actor: Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> (bytes: [UInt8], rows: Int) {
        var sheet: XLSXWriter?
        let rows = try await exportPages(entityKey, query: query, format: .xlsx, as: actor, on: connection, logger: logger) { entity, fields, records in
            if sheet == nil {
                sheet = XLSXWriter(sheetName: RecordCSV.label(entity.labels, locale: locale, fallback: entity.key),
                                   headers: fields.map { RecordCSV.header($0, locale: locale) } + RecordCSV.systemColumns)
            }
            for record in records {
                let system: [XLSXWriter.Cell] = [.text(record.id.uuidString.lowercased()), .text(record.ownerID?.uuidString.lowercased() ?? ""),
                                                 .dateTime(record.createdAt), .dateTime(record.updatedAt)]
                sheet!.addRow(fields.map { RecordCSV.sheetCell(record.values[$0.key], field: $0, locale: locale) } + system)
            }
        }
        return (try sheet!.finish(), rows)
    }

    /// Pages through what the caller may export (hidden fields left out), handing each page's
    /// records to `body` — the first call comes before any record, with the columns — and audits
    /// the export. Refuses more than ``RecordCSV/maxExportRows`` matches before reading them.
    func exportPages(_ entityKey: String, query: RecordQuery, format: RecordFileFormat, as actor: Actor,
                     on connection: PostgresConnection, logger: Logger,
                     _ body: (EntityDefinition, [FieldDefinition], [Record]) async throws -> Void) async throws -> Int {
        let (full, _) = try await entity(entityKey, for: .export, actor: actor, on: connection, logger: logger)
        let entity = actor.access.visible(full)
        let fields = entity.activeFields
        try await body(entity, fields, [])
        var page = query
        page.limit = RecordQuery.maxLimit
        page.offset = 0
        page.count = "exact"
        var rows = 0
        while true {
            let result = try await list(entityKey, query: page, action: .export, as: actor, on: connection, logger: logger)
            page.count = "capped"  // counted once, on the first page
            if result.total > RecordCSV.maxExportRows {
                throw AtriumError(status: .unprocessableContent, code: "export_too_large",
                                  message: "\(result.total) records match; an export holds at most \(RecordCSV.maxExportRows) — narrow the filter", field: "filter")
            }
            try await body(entity, fields, result.records)
            rows += result.records.count
            if result.records.count < page.limit! { break }
            // Keyset paging when the sort allows it (deep pages cost as little as the first).
            if let cursor = result.nextCursor { page.after = cursor } else { page.offset! += page.limit! }
        }
        try await AuditLog.record(.init(action: "records.exported", actor: .user(actor.user), entity: entity.key,
                                        details: ["rows": "\(rows)", "format": format.rawValue], ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await currentTenant(on: connection, logger: logger), on: connection, logger: logger)
        return rows
    }

    /// An empty file to fill in for an import: the header row of every field the caller may
    /// import, in `locale`; as .xlsx with a drop-down of labels on each picklist column.
    public func importTemplate(_ entityKey: String, format: RecordFileFormat, locale: String, as actor: Actor,
                               on connection: PostgresConnection, logger: Logger) async throws -> [UInt8] {
        let (full, _) = try await entity(entityKey, for: .import, actor: actor, on: connection, logger: logger)
        let entity = actor.access.visible(full)
        let fields = entity.activeFields.filter { $0.type != .autoNumber && !$0.computed }
        let headers = fields.map { RecordCSV.header($0, locale: locale) }
        switch format {
        case .csv:
            return Array(("\u{FEFF}" + RecordCSV.line(headers)).utf8)
        case .xlsx:
            var sheet = XLSXWriter(sheetName: RecordCSV.label(entity.labels, locale: locale, fallback: entity.key), headers: headers)
            for (index, field) in fields.enumerated() where field.type == .picklist {
                let labels = (field.options ?? []).filter(\.active).map { RecordCSV.label($0.labels, locale: locale, fallback: $0.value) }
                sheet.addListValidation(column: index, labels: labels)
            }
            return try sheet.finish()
        }
    }

    /// ``importRows(_:rows:dryRun:as:on:logger:)`` of a file's bytes: an .xlsx workbook (its
    /// first sheet) when they start like one, else UTF-8 CSV text.
    public func importFile(_ entityKey: String, bytes: [UInt8], dryRun: Bool, as actor: Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> (created: Int, ids: [UUID]) {
        let rows: [[String]]
        if XLSXReader.looksLikeWorkbook(bytes) {
            // Reading stops one row past the most any import takes, so the limit is named below.
            do { rows = try XLSXReader.rows(bytes, maxRows: RecordCSV.maxImportRows + 2) } catch let failure as XLSXReader.Failure {
                throw AtriumError(status: .unprocessableContent, code: "invalid_xlsx", message: "the workbook \(failure.description)", field: "file")
            }
        } else {
            rows = try bytes.withUnsafeBufferPointer { buffer in
                guard String(validating: buffer, as: UTF8.self) != nil else {
                    throw AtriumError.validation(field: "file", "must be an .xlsx workbook or UTF-8 CSV text (save it from Excel as \"CSV UTF-8\" or as .xlsx)")
                }
                return try RecordCSV.parse(bytes: buffer)
            }
        }
        return try await importRows(entityKey, rows: rows, dryRun: dryRun, as: actor, on: connection, logger: logger)
    }

    /// Creates one record per data row of `csv`. Every row is checked; if any fails, nothing is
    /// kept (the caller's transaction is rolled back by the thrown error, which lists up to 50
    /// bad rows by line number and field). `dryRun` checks everything and keeps nothing.
    ///
    /// Entities without module rules or approvals (tenant custom objects, plain module
    /// entities) are imported set-wise (``importSetWise(_:columns:rows:dryRun:as:on:logger:)``:
    /// checks in Swift and with one statement per check, writes through a staging table);
    /// the others create each row through ``create(_:values:action:as:on:logger:)`` so that
    /// their rules (e.g. the sales duplicate check) see every record.
    public func importCSV(_ entityKey: String, csv: String, dryRun: Bool, as actor: Actor,
                          on connection: PostgresConnection, logger: Logger) async throws -> (created: Int, ids: [UUID]) {
        try await importRows(entityKey, rows: try RecordCSV.parse(csv), dryRun: dryRun, as: actor, on: connection, logger: logger)
    }

    /// The import of a file already read into rows of text cells (CSV or a sheet), header first.
    public func importRows(_ entityKey: String, rows: [[String]], dryRun: Bool, as actor: Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> (created: Int, ids: [UUID]) {
        let (full, _) = try await entity(entityKey, for: .import, actor: actor, on: connection, logger: logger)
        let entity = actor.access.visible(full)
        guard let header = rows.first else { throw AtriumError.validation(field: "file", "is empty; the first row names the columns") }
        let columns = try RecordCSV.columns(header, entity: entity)
        let data = rows.dropFirst()
        guard !data.isEmpty else { throw AtriumError.validation(field: "file", "has a header but no rows") }
        let setWise = importsSetWise(full)
        let maxRows = setWise ? RecordCSV.maxImportRows : RecordCSV.maxRowWiseImportRows
        guard data.count <= maxRows else {
            throw AtriumError.validation(field: "file", "has \(data.count) rows; an import \(setWise ? "" : "into \(entity.key) ")takes at most \(maxRows)")
        }
        let ids: [UUID]
        if setWise {
            ids = try await importSetWise(full, columns: columns, rows: data, dryRun: dryRun, as: actor, on: connection, logger: logger)
        } else {
            ids = try await importRowWise(entityKey, columns: columns, rows: data, dryRun: dryRun, as: actor, on: connection, logger: logger)
        }
        // Each record has its own record.created entry; this one ties them to the file.
        try await AuditLog.record(.init(action: "records.imported", actor: .user(actor.user), entity: entity.key,
                                        details: ["rows": "\(ids.count)"], ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await currentTenant(on: connection, logger: logger), on: connection, logger: logger)
        return (ids.count, ids)
    }

    /// The import of entities with module rules: ``create(_:values:action:as:on:logger:)`` for
    /// each row, as before the set-wise path existed.
    func importRowWise(_ entityKey: String, columns: [FieldDefinition?], rows data: ArraySlice<[String]>, dryRun: Bool, as actor: Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var problems: [AtriumError.Detail] = []
        var ids: [UUID] = []
        for (offset, row) in data.enumerated() {
            let line = offset + 2
            if row.count > columns.count {
                problems.append(.init(row: line, message: "has \(row.count) cells but the header has \(columns.count)"))
                if problems.count >= 50 { break } else { continue }
            }
            var values: [String: JSONValue] = [:]
            for (index, cell) in row.enumerated() {
                guard let field = columns[index] else { continue }
                let value = RecordCSV.value(cell, field: field)
                if !value.isNull { values[field.key] = value }
            }
            do {
                ids.append(try await create(entityKey, values: values, action: .import, as: actor, on: connection, logger: logger).id)
            } catch let error as AtriumError where error.status.code < 500 {
                // Validation happens before any SQL, so the transaction is still usable.
                problems.append(.init(row: line, field: error.field, message: error.message))
                if problems.count >= 50 { break }
            }
        }
        if !problems.isEmpty {
            throw AtriumError(status: .unprocessableContent, code: "import_failed",
                              message: "\(problems.count)\(problems.count >= 50 ? "+" : "") of \(data.count) rows are not valid; nothing was imported",
                              field: problems.first?.field, details: problems)
        }
        if dryRun { throw DryRunFinished(created: ids.count) }
        return ids
    }

    /// Thrown to roll back a dry-run import after every row passed; the route turns it into 200.
    public struct DryRunFinished: Error, Sendable {
        public let created: Int
    }
}

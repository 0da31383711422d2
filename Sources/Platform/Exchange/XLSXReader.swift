import Foundation

/// Reads the first worksheet of an .xlsx workbook (Excel, WPS, LibreOffice, or any Office Open
/// XML writer) as rows of text cells, the same shape ``RecordCSV/parse(_:)`` gives for a CSV
/// file, so an import treats both alike:
/// - numbers as plain decimals (`1234.5`; the binary noise of a double such as
///   `0.30000000000000004` is cut at 15 significant digits), percent-formatted numbers in
///   percent points (a cell showing 12.5 % reads `12.5`);
/// - date-formatted numbers as `2026-11-23`, or `2026-11-23T09:30:00Z` when the format shows a
///   time (sheet times are read as UTC, as the export writes them); the 1904 date system too;
/// - `true`/`false` for logical cells, shared and inline strings as written (rich text joined,
///   phonetic guides left out), a formula's cached result;
/// - blank rows dropped, missing cells empty.
///
/// An error cell (`#N/A`, `#DIV/0!`) is refused with its reference, not imported as text.
public enum XLSXReader {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static let maxColumns = 16_384

    /// The non-blank rows of the first sheet, header included; more than `maxRows` of them stop
    /// the reading with a ``Failure`` that says so (before the rest is decoded or held).
    public static func rows(_ bytes: [UInt8], maxRows: Int = 1_048_576) throws -> [[String]] {
        let zip: ZipArchiveReader
        do { zip = try ZipArchiveReader(bytes) } catch let error as ZipArchiveError { throw Failure(description: error.description) }
        do {
            let workbookPath = try officeDocument(zip)
            let base = workbookPath.split(separator: "/").dropLast().joined(separator: "/")
            let relationships = try relationships(zip, of: workbookPath)
            guard let workbookXML = try zip.read(workbookPath) else { throw Failure(description: "has no workbook (\(workbookPath)); is it an .xlsx file?") }
            let (sheetID, date1904) = try firstSheet(workbookXML)
            guard let target = relationships.byID[sheetID] else { throw Failure(description: "names a first sheet the workbook does not contain") }
            let sheetPath = resolve(target, base: base)
            let sharedPath = relationships.byType["sharedStrings"].map { resolve($0, base: base) }
            let stylesPath = relationships.byType["styles"].map { resolve($0, base: base) }
            let shared = try sharedPath.flatMap { try zip.read($0) }.map(sharedStrings) ?? []
            let formats = try stylesPath.flatMap { try zip.read($0) }.map(cellFormats) ?? []
            guard let sheetXML = try zip.read(sheetPath) else { throw Failure(description: "has no sheet at \(sheetPath)") }
            return try sheet(sheetXML, shared: shared, formats: formats, date1904: date1904, maxRows: maxRows)
        } catch let error as ZipArchiveError {
            throw Failure(description: error.description)
        } catch let error as XMLScanner.Malformed {
            throw Failure(description: "is damaged: \(error.description)")
        }
    }

    /// Whether `bytes` start like a ZIP archive (an .xlsx file), as opposed to CSV text.
    public static func looksLikeWorkbook(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: [0x50, 0x4B, 0x03, 0x04])
    }

    // MARK: Package parts

    static func officeDocument(_ zip: ZipArchiveReader) throws -> String {
        guard let rels = try zip.read("_rels/.rels") else { return "xl/workbook.xml" }
        var scanner = XMLScanner(rels)
        while let event = try scanner.next() {
            if case .start("Relationship", let attributes, _) = event, attributes["Type"]?.hasSuffix("/officeDocument") == true, let target = attributes["Target"] {
                return resolve(target, base: "")
            }
        }
        return "xl/workbook.xml"
    }

    struct Relationships {
        var byID: [String: String] = [:]
        /// The target of the first relationship of each kind (the last path segment of its type).
        var byType: [String: String] = [:]
    }

    static func relationships(_ zip: ZipArchiveReader, of part: String) throws -> Relationships {
        var segments = part.split(separator: "/").map(String.init)
        let name = segments.removeLast()
        let path = (segments + ["_rels", name + ".rels"]).joined(separator: "/")
        var result = Relationships()
        guard let xml = try zip.read(path) else { return result }
        var scanner = XMLScanner(xml)
        while let event = try scanner.next() {
            guard case .start("Relationship", let attributes, _) = event, let id = attributes["Id"], let target = attributes["Target"] else { continue }
            if attributes["TargetMode"] == "External" { continue }
            result.byID[id] = target
            if let kind = attributes["Type"]?.split(separator: "/").last.map(String.init), result.byType[kind] == nil { result.byType[kind] = target }
        }
        return result
    }

    /// A relationship target relative to `base` (or absolute, from the package root).
    static func resolve(_ target: String, base: String) -> String {
        var parts = target.hasPrefix("/") ? [] : base.split(separator: "/").map(String.init)
        for segment in target.split(separator: "/") {
            if segment == ".." { _ = parts.popLast() } else if segment != "." { parts.append(String(segment)) }
        }
        return parts.joined(separator: "/")
    }

    /// The relationship id of the first sheet in tab order, and whether dates count from 1904.
    static func firstSheet(_ xml: [UInt8]) throws -> (String, Bool) {
        var scanner = XMLScanner(xml)
        var date1904 = false
        while let event = try scanner.next() {
            guard case .start(let name, let attributes, _) = event else { continue }
            if name == "workbookPr", let flag = attributes["date1904"] { date1904 = flag == "1" || flag == "true" }
            if name == "sheet", let id = attributes["id"] { return (id, date1904) }
        }
        throw Failure(description: "has no sheet")
    }

    static func sharedStrings(_ xml: [UInt8]) throws -> [String] {
        var scanner = XMLScanner(xml)
        var strings: [String] = []
        var current: String?
        while let event = try scanner.next() {
            switch event {
            case .start("si", _, let selfClosing):
                if selfClosing { strings.append("") } else { current = "" }
            case .start("t", _, false) where current != nil:
                current! += try scanner.text(until: "t")
            case .start("rPh", _, false):
                try scanner.skipElement()
            case .end("si"):
                strings.append(current ?? "")
                current = nil
            default:
                break
            }
        }
        return strings
    }

    enum Format { case general, date, dateTime, percent }

    /// The kind of number format of each `cellXfs` entry, by its index (a cell's `s`).
    static func cellFormats(_ xml: [UInt8]) throws -> [Format] {
        var scanner = XMLScanner(xml)
        var custom: [Int: String] = [:]
        var formats: [Format] = []
        var inCellXfs = false
        while let event = try scanner.next() {
            switch event {
            case .start("numFmt", let attributes, _):
                if let id = attributes["numFmtId"].flatMap({ Int($0) }), let code = attributes["formatCode"] { custom[id] = code }
            case .start("cellXfs", _, let selfClosing):
                inCellXfs = !selfClosing
            case .end("cellXfs"):
                inCellXfs = false
            case .start("xf", let attributes, let selfClosing) where inCellXfs:
                let id = attributes["numFmtId"].flatMap { Int($0) } ?? 0
                formats.append(format(id: id, code: custom[id]))
                if !selfClosing { try scanner.skipElement() }
            default:
                break
            }
        }
        return formats
    }

    /// Built-in formats (ECMA-376 18.8.30, with the CJK date formats 27–36 and 50–58), else
    /// the custom code's tokens outside quotes, brackets and escapes.
    static func format(id: Int, code: String?) -> Format {
        switch id {
        case 9, 10: return .percent
        case 14...17, 27...31, 34...36, 50...58: return .date
        case 18...22, 32, 33, 45...47: return .dateTime
        default: break
        }
        guard let code else { return .general }
        var plain = ""
        var quoted = false
        var bracket = false
        var escaped = false
        for character in code {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "\"": quoted.toggle()
            case "[" where !quoted: bracket = true
            case "]" where !quoted: bracket = false
            default: if !quoted && !bracket { plain.append(character) }
            }
        }
        let lowered = plain.lowercased()
        // Only the positive section decides (a code may hold ";"-separated sections).
        let section = lowered.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? lowered
        if section.contains("%") { return .percent }
        let hasDate = section.contains("y") || section.contains("d") || (section.contains("m") && !section.contains("h") && !section.contains("s"))
        let hasTime = section.contains("h") || section.contains("s")
        if hasTime { return .dateTime }
        if hasDate && !section.contains("general") { return .date }
        return .general
    }

    // MARK: The sheet

    static func sheet(_ xml: [UInt8], shared: [String], formats: [Format], date1904: Bool, maxRows: Int) throws -> [[String]] {
        var scanner = XMLScanner(xml)
        var rows: [[String]] = []
        var row: [String] = []
        var rowNumber = 0
        var nextColumn = 0
        while let event = try scanner.next() {
            switch event {
            case .start("row", let attributes, let selfClosing):
                let number = attributes["r"].flatMap { Int($0) } ?? rowNumber + 1
                guard number > rowNumber else { throw Failure(description: "is damaged: row \(number) comes after row \(rowNumber)") }
                rowNumber = number
                row = []
                nextColumn = 0
                if selfClosing { continue }
            case .end("row"):
                // Blank rows are dropped, as blank lines of a CSV file are.
                if row.contains(where: { !$0.isEmpty }) {
                    guard rows.count < maxRows else { throw Failure(description: "has more than \(maxRows - 1) rows below its header") }
                    rows.append(row)
                }
            case .start("c", let attributes, let selfClosing):
                let reference = attributes["r"] ?? ""
                let column = reference.isEmpty ? nextColumn : try columnIndex(reference)
                guard column < maxColumns else { throw Failure(description: "has a cell beyond column XFD (\(reference))") }
                nextColumn = column + 1
                if selfClosing { continue }
                let value = try cell(&scanner, attributes: attributes, reference: reference, shared: shared, formats: formats, date1904: date1904)
                if !value.isEmpty {
                    while row.count < column { row.append("") }
                    if row.count == column { row.append(value) } else { row[column] = value }
                }
            default:
                break
            }
        }
        return rows
    }

    static func cell(_ scanner: inout XMLScanner, attributes: [String: String], reference: String, shared: [String],
                     formats: [Format], date1904: Bool) throws -> String {
        let type = attributes["t"] ?? "n"
        var value: String?
        var inline = ""
        while let event = try scanner.next() {
            switch event {
            case .start("v", _, false): value = try scanner.text(until: "v")
            case .start("is", _, false):
                // Inline rich text: every <t> except phonetic runs.
                while let inner = try scanner.next() {
                    if case .start("t", _, false) = inner { inline += try scanner.text(until: "t") }
                    else if case .start("rPh", _, false) = inner { try scanner.skipElement() }
                    else if case .end("is") = inner { break }
                }
            case .start(_, _, false): try scanner.skipElement()   // <f> formulas, <extLst>
            case .end("c"):
                return try text(type: type, value: value, inline: inline, style: attributes["s"].flatMap { Int($0) } ?? 0,
                                reference: reference, shared: shared, formats: formats, date1904: date1904)
            default: break
            }
        }
        throw Failure(description: "is damaged: cell \(reference) is not closed")
    }

    static func text(type: String, value: String?, inline: String, style: Int, reference: String, shared: [String],
                     formats: [Format], date1904: Bool) throws -> String {
        switch type {
        case "inlineStr": return inline
        case "s":
            guard let index = value.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), shared.indices.contains(index) else {
                throw Failure(description: "is damaged: cell \(reference) points to a missing shared string")
            }
            return shared[index]
        case "str": return value ?? ""
        case "b": return value.map { $0 == "1" || $0.lowercased() == "true" ? "true" : "false" } ?? ""
        case "e": throw Failure(description: "has an error value \(value ?? "") in cell \(reference); fix or clear it first")
        case "d": return value ?? ""
        default:
            guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return "" }
            let format = formats.indices.contains(style) ? formats[style] : .general
            switch format {
            case .general: return number(value)
            case .percent: return percentPoints(value)
            case .date, .dateTime:
                guard let serial = Double(value) else { return value }
                let date = Date(timeIntervalSince1970: ((serial + (date1904 ? 1_462 : 0)) - 25_569) * 86_400)
                let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded())
                return format == .date ? FieldValidator.formatDate(whole) : FieldValidator.formatDateTime(whole)
            }
        }
    }

    /// A sheet number as a plain decimal: exact as written when it has at most 15 significant
    /// digits and no exponent, else the double rounded to 15 significant digits.
    static func number(_ text: String) -> String {
        if !text.contains("e") && !text.contains("E") && XLSXWriter.fitsDouble(text) { return text }
        guard let double = Double(text) else { return text }
        let rounded = String(format: "%.15g", double)
        if rounded.contains("e"), let decimal = Decimal(string: rounded, locale: Locale(identifier: "en_US_POSIX")) {
            return NSDecimalNumber(decimal: decimal).stringValue
        }
        return rounded
    }

    static func percentPoints(_ text: String) -> String {
        let plain = number(text)
        guard let decimal = Decimal(string: plain, locale: Locale(identifier: "en_US_POSIX")) else { return plain }
        return NSDecimalNumber(decimal: decimal * 100).stringValue
    }

    /// `B3` → 1 (0-based column).
    static func columnIndex(_ reference: String) throws -> Int {
        var column = 0
        var letters = 0
        for scalar in reference.unicodeScalars {
            let value = scalar.value
            if (65...90).contains(value) || (97...122).contains(value) {
                column = column * 26 + Int((value & ~0x20) - 64)
                letters += 1
                guard letters <= 3 else { break }
            } else { break }
        }
        guard letters > 0 else { throw Failure(description: "is damaged: a cell reference '\(reference)' without a column") }
        return column - 1
    }
}

import Foundation

/// Writes a one-sheet Office Open XML workbook (.xlsx, ECMA-376) that Excel, WPS and
/// LibreOffice open as a normal table: a bold, frozen header row with an autofilter, column
/// widths from the content, typed cells (numbers, dates and times, money with two decimals,
/// percentages, true/false), and text as inline strings, so nothing a cell holds can be run as a
/// formula. Picklist columns can carry a drop-down of their labels (the import template does).
///
/// ```swift
/// var sheet = XLSXWriter(sheetName: "客户", headers: ["名称", "创建时间"])
/// sheet.addRow([.text("华通"), .dateTime(Date())])
/// let bytes = try sheet.finish()
/// ```
public struct XLSXWriter {
    public enum Cell {
        case empty
        case text(String)
        /// A decimal number as text (`"1234.5"`); more than 15 significant digits are written
        /// as text, since a spreadsheet number is a double and would round them.
        case number(String)
        case money(String)
        /// Percent points (`"12.5"` is 12.5 %), shown with a % format.
        case percent(String)
        case date(Date)
        case dateTime(Date)
        case bool(Bool)
    }

    /// Style indices in styles.xml's `cellXfs`, in this order.
    enum Style: Int {
        case plain = 0, header, date, dateTime, money, percent, number
    }

    private let sheetName: String
    private let columnCount: Int
    private var rows = 0
    private var sheetData: String = ""
    /// Display widths (in characters, CJK counting two) of the longest value seen per column.
    private var widths: [Int]
    private var validations: [(column: Int, labels: [String])] = []
    /// `A`, `B`, … for each column, made once (a cell reference is column + row).
    private let columnNames: [String]

    /// Characters a sheet name may not hold, and its length limit (Excel's rules).
    static let forbiddenInSheetNames: Set<Character> = ["[", "]", ":", "*", "?", "/", "\\"]

    public init(sheetName: String, headers: [String]) {
        var name = String(sheetName.filter { !Self.forbiddenInSheetNames.contains($0) && !$0.isNewline }.prefix(31))
            .trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        if name.isEmpty { name = "Sheet1" }
        self.sheetName = name
        self.columnCount = headers.count
        self.widths = headers.map(Self.displayWidth)
        self.columnNames = headers.indices.map(Self.columnName)
        sheetData.reserveCapacity(1 << 16)
        addRow(headers.map { .text($0) }, style: .header)
    }

    /// A drop-down list on `column` (0-based) from the second row down, for picklists. Lists
    /// whose labels hold a comma or a quote, or that are longer than Excel's 255 characters,
    /// are left out (Excel would split or refuse them).
    public mutating func addListValidation(column: Int, labels: [String]) {
        guard column < columnCount, !labels.isEmpty,
              labels.allSatisfy({ !$0.contains(",") && !$0.contains("\"") }),
              labels.joined(separator: ",").count <= 255 else { return }
        validations.append((column, labels))
    }

    public mutating func addRow(_ cells: [Cell]) {
        addRow(cells, style: nil)
    }

    private mutating func addRow(_ cells: [Cell], style header: Style?) {
        rows += 1
        let row = rows
        sheetData += "<row r=\"\(row)\">"
        for (index, cell) in cells.prefix(max(columnCount, cells.count)).enumerated() {
            let reference = (index < columnNames.count ? columnNames[index] : Self.columnName(index)) + String(row)
            let text: String
            switch cell {
            case .empty:
                continue
            case .text(let value):
                if value.isEmpty { continue }
                let style = header.map { " s=\"\($0.rawValue)\"" } ?? ""
                sheetData += "<c r=\"\(reference)\"\(style) t=\"inlineStr\"><is><t xml:space=\"preserve\">\(XMLText.escaped(value))</t></is></c>"
                text = value
            case .number(let value), .money(let value), .percent(let value):
                let style: Style
                var stored = value
                switch cell {
                case .money: style = .money
                case .percent:
                    style = .percent
                    stored = Self.hundredth(value)
                default: style = .number
                }
                guard Self.fitsDouble(stored) else {
                    sheetData += "<c r=\"\(reference)\" t=\"inlineStr\"><is><t>\(XMLText.escaped(value))</t></is></c>"
                    text = value
                    break
                }
                sheetData += "<c r=\"\(reference)\" s=\"\(style.rawValue)\"><v>\(stored)</v></c>"
                text = style == .money ? value + "000" : value
            case .date(let date):
                sheetData += "<c r=\"\(reference)\" s=\"\(Style.date.rawValue)\"><v>\(Self.serial(date, wholeDays: true))</v></c>"
                text = "2026-12-31"
            case .dateTime(let date):
                sheetData += "<c r=\"\(reference)\" s=\"\(Style.dateTime.rawValue)\"><v>\(Self.serial(date, wholeDays: false))</v></c>"
                text = "2026-12-31 23:59:59"
            case .bool(let flag):
                sheetData += "<c r=\"\(reference)\" t=\"b\"><v>\(flag ? 1 : 0)</v></c>"
                text = "FALSE"
            }
            if index < widths.count, rows <= 1_000 { widths[index] = max(widths[index], Self.displayWidth(text)) }
        }
        sheetData += "</row>"
    }

    /// The workbook's bytes.
    public func finish() throws -> [UInt8] {
        let lastColumn = Self.columnName(max(0, columnCount - 1))
        let range = "A1:\(lastColumn)\(max(rows, 1))"
        var sheet = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
            <dimension ref="\(range)"/>\
            <sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
            <selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>\
            <sheetFormatPr defaultRowHeight="15"/>
            """
        if columnCount > 0 {
            sheet += "<cols>"
            for (index, width) in widths.enumerated() {
                sheet += "<col min=\"\(index + 1)\" max=\"\(index + 1)\" width=\"\(min(60, max(8, width + 2)))\" customWidth=\"1\"/>"
            }
            sheet += "</cols>"
        }
        sheet += "<sheetData>" + sheetData + "</sheetData>"
        if columnCount > 0 { sheet += "<autoFilter ref=\"\(range)\"/>" }
        if !validations.isEmpty {
            sheet += "<dataValidations count=\"\(validations.count)\">"
            for validation in validations {
                let column = Self.columnName(validation.column)
                let list = XMLText.escaped(validation.labels.joined(separator: ","))
                sheet += "<dataValidation type=\"list\" allowBlank=\"1\" showErrorMessage=\"1\" sqref=\"\(column)2:\(column)100000\"><formula1>\"\(list)\"</formula1></dataValidation>"
            }
            sheet += "</dataValidations>"
        }
        sheet += "</worksheet>"

        let quotedName = "'" + sheetName.replacingOccurrences(of: "'", with: "''") + "'"
        let filterRange = "\(quotedName)!$A$1:$\(lastColumn)$\(max(rows, 1))"
        let workbook = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
            <bookViews><workbookView/></bookViews>\
            <sheets><sheet name="\(XMLText.escaped(sheetName, attribute: true))" sheetId="1" r:id="rId1"/></sheets>\
            \(columnCount > 0 ? "<definedNames><definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"0\" hidden=\"1\">\(XMLText.escaped(filterRange))</definedName></definedNames>" : "")\
            </workbook>
            """
        var zip = try ZipArchiveWriter()
        try zip.add("[Content_Types].xml", Array(Self.contentTypes.utf8))
        try zip.add("_rels/.rels", Array(Self.packageRelationships.utf8))
        try zip.add("docProps/app.xml", Array(Self.appProperties.utf8))
        try zip.add("xl/workbook.xml", Array(workbook.utf8))
        try zip.add("xl/_rels/workbook.xml.rels", Array(Self.workbookRelationships.utf8))
        try zip.add("xl/styles.xml", Array(Self.styles.utf8))
        try zip.add("xl/worksheets/sheet1.xml", Data(sheet.utf8))
        return try zip.finish()
    }

    // MARK: Values

    /// `0` → `A`, `25` → `Z`, `26` → `AA`.
    static func columnName(_ index: Int) -> String {
        var index = index
        var name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + index % 26))) + name
            index = index / 26 - 1
        } while index >= 0
        return name
    }

    /// Days since 1899-12-30 (the 1900 date system as every spreadsheet reads it), in UTC; a
    /// time as the day's fraction to 10 places (whole seconds, so it reads back as written).
    /// Integer arithmetic only: formatting through `String(format:)` and a regular expression
    /// made a 50 000-row export's dates a large share of its time.
    static func serial(_ date: Date, wholeDays: Bool) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded())
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { days -= 1; rest += 86_400 }
        days += 25_569
        if wholeDays || rest == 0 { return String(days) }
        var fraction = String(rest * 10_000_000_000 / 86_400)
        fraction = String(repeating: "0", count: max(0, 10 - fraction.count)) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(days).\(fraction)"
    }

    /// A decimal's text divided by 100 (percent points → the fraction a % format shows).
    static func hundredth(_ value: String) -> String {
        guard let decimal = Decimal(string: value, locale: Locale(identifier: "en_US_POSIX")) else { return value }
        return NSDecimalNumber(decimal: decimal / 100).stringValue
    }

    /// Whether a spreadsheet's double keeps every digit of `value` (at most 15 significant).
    static func fitsDouble(_ value: String) -> Bool {
        guard !value.isEmpty, Double(value) != nil else { return false }
        let digits = value.drop(while: { $0 == "-" || $0 == "0" || $0 == "." }).filter(\.isNumber)
        let significant = digits.reversed().drop(while: { $0 == "0" && value.contains(".") })
        return significant.count <= 15 && !value.lowercased().contains("e")
    }

    /// Characters as a spreadsheet column shows them: wide (CJK) ones count two.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && ($1.properties.isIdeographic || (0xFF00...0xFFEF).contains($1.value) || (0x3000...0x30FF).contains($1.value) || (0xAC00...0xD7A3).contains($1.value)) ? 2 : 1) }
    }

    // MARK: Fixed parts

    static let contentTypes = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
        <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
        <Default Extension="xml" ContentType="application/xml"/>\
        <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
        <Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
        <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
        <Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>\
        </Types>
        """

    static let packageRelationships = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
        <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>\
        </Relationships>
        """

    static let appProperties = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Atrium</Application></Properties>
        """

    static let workbookRelationships = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>\
        <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>\
        </Relationships>
        """

    /// cellXfs in ``Style`` order: plain, bold header on grey, yyyy-mm-dd, yyyy-mm-dd hh:mm:ss,
    /// #,##0.00, 0.00%, general number.
    static let styles = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
        <numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/>\
        <numFmt numFmtId="166" formatCode="0.00%"/></numFmts>\
        <fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
        <fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
        <fill><patternFill patternType="solid"><fgColor rgb="FFE8ECF2"/><bgColor indexed="64"/></patternFill></fill></fills>\
        <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
        <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
        <cellXfs count="7">\
        <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
        <xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>\
        <xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
        <xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
        </cellXfs>\
        <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
        </styleSheet>
        """
}

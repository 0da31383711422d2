import Foundation

/// How stored values read on a page, per language: money with its symbol and grouping
/// (¥1,234.50), numbers grouped, picklists by their label, dates as 2026-11-23, people and
/// records by name. Pure; the caller supplies names of users, departments and records.
public struct DisplayFormat: Sendable {
    public let locale: String
    public let yes: String
    public let no: String
    /// user/department/record id (lower-case) → name or title
    public var names: [String: String] = [:]

    public init(locale: String, yes: String, no: String) {
        self.locale = locale
        self.yes = yes
        self.no = no
    }

    public static func label(_ labels: [String: String], locale: String, fallback: String) -> String {
        RecordCSV.label(labels, locale: locale, fallback: fallback)
    }

    static let symbols = ["CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$"]

    /// `1234567.5` → `1,234,567.50` with `scale` decimals (at least those present when nil).
    public static func grouped(_ text: String, scale: Int?) -> String {
        var digits = text
        var sign = ""
        if digits.hasPrefix("-") { sign = "-"; digits.removeFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = String(parts.first ?? "0")
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        if let scale {
            if fraction.count < scale { fraction += String(repeating: "0", count: scale - fraction.count) }
        }
        var groupedWhole = ""
        for (index, char) in whole.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { groupedWhole.append(",") }
            groupedWhole.append(char)
        }
        let result = String(groupedWhole.reversed()) + (fraction.isEmpty ? "" : "." + fraction)
        return sign + result
    }

    public static func money(_ amount: String, currency: String) -> String {
        let number = grouped(amount, scale: 2)
        if let symbol = symbols[currency] {
            return number.hasPrefix("-") ? "-" + symbol + number.dropFirst() : symbol + number
        }
        return "\(currency) \(number)"
    }

    public func text(_ value: JSONValue?, field: FieldDefinition) -> String {
        guard let value, !value.isNull else { return "" }
        switch (field.type, value) {
        case (.money, .object(let money)):
            return Self.money(money["amount"]?.stringValue ?? "", currency: money["currency"]?.stringValue ?? field.currency ?? "CNY")
        case (.number, _):
            return Self.grouped(value.stringValue ?? value.jsonText, scale: nil)
        case (.percent, _):
            return Self.grouped(value.stringValue ?? value.jsonText, scale: nil) + "%"
        case (.boolean, .bool(let flag)):
            return flag ? yes : no
        case (.picklist, .string(let option)):
            return RecordCSV.optionLabel(option, field: field, locale: locale)
        case (.multiPicklist, .array(let items)):
            return items.compactMap(\.stringValue).map { RecordCSV.optionLabel($0, field: field, locale: locale) }
                .joined(separator: locale == "zh-CN" ? "、" : ", ")
        case (.datetime, .string(let text)):
            return Self.dateTime(text)
        case (.lookup, .string(let id)), (.user, .string(let id)), (.department, .string(let id)):
            return names[id.lowercased()] ?? "—"
        case (_, .string(let text)):
            return text
        default:
            return value.stringValue ?? value.jsonText
        }
    }

    /// `2026-11-23T01:30:00Z` → `2026-11-23 01:30 UTC`.
    public static func dateTime(_ text: String) -> String {
        guard text.count >= 16 else { return text }
        let day = text.prefix(10)
        let time = text.dropFirst(11).prefix(5)
        return "\(day) \(time) UTC"
    }

    public static func dateTime(_ date: Date) -> String {
        dateTime(FieldValidator.formatDateTime(date))
    }

    /// `1536` → `1.5 KB`, `20971520` → `20.0 MB` (binary units, as the upload limit is given).
    public static func fileSize(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KB", "MB", "GB", "TB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(String(format: "%.1f", value)) \(units[unit])"
    }
}

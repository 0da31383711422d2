import Foundation

/// Turns what a caller sent for one field into the stored form, or says what is wrong with
/// it in a message that names the field. Pure: existence checks for lookups and users are
/// done by the engine against the database.
public enum FieldValidator {
    static let maxTextLength = 255
    static let maxLongTextLength = 32_000
    static let posix = Locale(identifier: "en_US_POSIX")

    static func fail(_ field: FieldDefinition, _ message: String, key: String? = nil, _ arguments: [String: String] = [:]) -> AtriumError {
        var error = AtriumError(status: .unprocessableContent, code: "invalid_field", message: "\(field.key): \(message)", field: field.key)
        error.messageKey = key
        error.messageArguments = arguments
        return error
    }

    /// Normalised value; `.null` means "empty".
    public static func normalise(_ value: JSONValue, for field: FieldDefinition) throws -> JSONValue {
        if value.isNull || value == .string("") || value == .array([]) { return .null }
        // PostgreSQL cannot store U+0000 in text or jsonb: refuse it here, naming the field.
        if containsNUL(value) { throw fail(field, "must not contain a NUL character", key: "nul") }
        switch field.type {
        case .text, .longText:
            guard case .string(let text) = value else { throw fail(field, "must be text", key: "text") }
            let limit = field.maxLength ?? (field.type == .text ? maxTextLength : maxLongTextLength)
            if text.count > limit { throw fail(field, "must be at most \(limit) characters", key: "too_long", ["max": "\(limit)"]) }
            if field.type == .text && text.contains(where: { $0 == "\n" || $0 == "\r" }) { throw fail(field, "must be a single line", key: "single_line") }
            if let pattern = field.pattern {
                let regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
                if regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                    throw fail(field, "does not match the required pattern \(pattern)", key: "pattern", ["pattern": pattern])
                }
            }
            return .string(text)
        case .number, .percent:
            return .string(try decimalText(value, field: field, defaultScale: field.type == .percent ? 2 : nil))
        case .money:
            var amountValue = value
            var currency = field.currency ?? "CNY"
            if case .object(let object) = value {
                amountValue = object["amount"] ?? .null
                if let code = object["currency"] {
                    guard case .string(let text) = code, text.utf8.count == 3, text.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) else {
                        throw fail(field, "currency must be a three-letter code such as CNY", key: "currency")
                    }
                    currency = text
                }
            }
            if amountValue.isNull { throw fail(field, "needs an amount", key: "number") }
            let amount = try decimalText(amountValue, field: field, defaultScale: 2)
            return .object(["amount": .string(amount), "currency": .string(currency)])
        case .date:
            guard case .string(let text) = value else { throw fail(field, "must be a date like 2026-11-23", key: "date") }
            if let valid = isCalendarDate(text) {
                guard valid else { throw fail(field, "must be a date like 2026-11-23", key: "date") }
                return .string(text)
            }
            guard let date = parseDate(text) else { throw fail(field, "must be a date like 2026-11-23", key: "date") }
            return .string(formatDate(date))
        case .datetime:
            guard case .string(let text) = value, let date = parseDateTime(text) else {
                throw fail(field, "must be a date and time with a zone, like 2026-11-23T09:30:00+08:00", key: "datetime")
            }
            return .string(formatDateTime(date))
        case .boolean:
            guard case .bool = value else { throw fail(field, "must be true or false", key: "boolean") }
            return value
        case .email:
            guard case .string(let text) = value, let email = UserInputRules.normalisedEmail(text) else {
                throw fail(field, "must be an email address like name@example.com", key: "email")
            }
            return .string(email)
        case .phone:
            guard case .string(let text) = value,
                  text.count <= 30,
                  text.allSatisfy({ $0.isASCII && ($0.isNumber || " +-()#".contains($0)) || $0 == "x" }),
                  text.filter(\.isNumber).count >= 5
            else { throw fail(field, "must be a phone number such as +86 10 1234 5678", key: "phone") }
            return .string(text.trimmingCharacters(in: .whitespaces))
        case .url:
            guard case .string(let text) = value, text.count <= 2000, let url = URL(string: text),
                  let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host?.isEmpty == false
            else { throw fail(field, "must be a web address starting with http:// or https://", key: "url") }
            return .string(text)
        case .picklist:
            guard case .string(let text) = value else { throw fail(field, "must be one of the list's values") }
            try checkOption(text, field: field)
            return .string(text)
        case .multiPicklist:
            guard case .array(let items) = value else { throw fail(field, "must be a list of the picklist's values") }
            var seen: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw fail(field, "must be a list of the picklist's values") }
                try checkOption(text, field: field)
                if !seen.contains(text) { seen.append(text) }
            }
            return .array(seen.map(JSONValue.string))
        case .lookup, .user, .department:
            guard case .string(let text) = value, let id = UUID(uuidString: text) else { throw fail(field, "must be a record id (UUID)") }
            return .string(id.uuidString.lowercased())
        case .autoNumber:
            throw fail(field, "is numbered automatically and cannot be set")
        }
    }

    static func containsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return text.utf8.contains(0)
        case .array(let items): return items.contains(where: containsNUL)
        case .object(let members): return members.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        default: return false
        }
    }

    static func checkOption(_ value: String, field: FieldDefinition) throws {
        let options = (field.options ?? []).filter(\.active).map(\.value)
        guard options.contains(value) else {
            throw fail(field, "'\(value)' is not in the list (\(options.joined(separator: ", ")))", key: "option", ["value": value])
        }
    }

    static func decimalText(_ value: JSONValue, field: FieldDefinition, defaultScale: Int?) throws -> String {
        let text: String
        switch value {
        case .number(let number): text = "\(number)"
        case .string(let string): text = trimmingWhitespace(string)
        default: throw fail(field, "must be a number", key: "number")
        }
        guard isDecimalText(text, maxIntegerDigits: 18) else { throw fail(field, "must be a number, got '\(text)'", key: "number") }
        let scale = field.scale ?? defaultScale
        if let scale, let dot = text.utf8.firstIndex(of: UInt8(ascii: ".")) {
            let digits = text.utf8[text.utf8.index(after: dot)...].reversed().drop { $0 == UInt8(ascii: "0") }.count
            if digits > scale { throw fail(field, "allows at most \(scale) digits after the decimal point", key: "scale", ["scale": "\(scale)"]) }
        }
        if field.min == nil && field.max == nil, let canonical = canonicalDecimal(text) {
            guard let scale, scale > 0 else { return canonical }
            // Fixed scale for display and exact comparison: 12.5 with scale 2 → "12.50".
            let fraction = canonical.utf8.firstIndex(of: UInt8(ascii: ".")).map { canonical.utf8.distance(from: $0, to: canonical.utf8.endIndex) - 1 }
            return canonical + (fraction == nil ? "." : "") + String(repeating: "0", count: scale - (fraction ?? 0))
        }
        guard let number = Decimal(string: text, locale: posix) else { throw fail(field, "must be a number, got '\(text)'", key: "number") }
        if let min = field.min, number < min { throw fail(field, "must be at least \(min)", key: "min", ["min": "\(min)"]) }
        if let max = field.max, number > max { throw fail(field, "must be at most \(max)", key: "max", ["max": "\(max)"]) }
        var result = "\(number)"
        if let scale, scale > 0 {
            // Fixed scale for display and exact comparison: 12.5 with scale 2 → "12.50".
            var rounded = Decimal()
            var copy = number
            NSDecimalRound(&rounded, &copy, scale, .plain)
            let parts = "\(rounded)".split(separator: ".", maxSplits: 1)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            result = "\(parts[0]).\(fraction.padding(toLength: scale, withPad: "0", startingAt: 0))"
        }
        return result
    }

    /// How `Decimal` writes the number `text` (already ``isDecimalText(_:maxIntegerDigits:)``):
    /// no leading zeros, no trailing zeros after the point, no sign on zero — worked out on the
    /// digits, as parsing and printing a `Decimal` per value cost more than the rest of an
    /// imported row. Nil beyond 34 digits (where `Decimal` would round): the caller parses.
    static func canonicalDecimal(_ text: String) -> String? {
        var bytes = text.utf8[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        guard bytes.count <= 35 else { return nil }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        var integer = bytes[..<(dot ?? bytes.endIndex)]
        var fraction = dot.map { bytes[bytes.index(after: $0)...] } ?? bytes[bytes.endIndex...]
        while integer.count > 1, integer.first == UInt8(ascii: "0") { integer = integer.dropFirst() }
        while fraction.last == UInt8(ascii: "0") { fraction = fraction.dropLast() }
        let zero = integer.elementsEqual([UInt8(ascii: "0")]) && fraction.isEmpty
        var result = negative && !zero ? "-" : ""
        result += String(decoding: integer, as: UTF8.self)
        if !fraction.isEmpty { result += "." + String(decoding: fraction, as: UTF8.self) }
        return result
    }

    /// `text` without surrounding whitespace (with `newlines`, line breaks too), as
    /// `trimmingCharacters(in:)` gives it; a text with ordinary characters at both ends is
    /// returned as it is without asking Foundation (which bridges through NSString here).
    static func trimmingWhitespace(_ text: String, newlines: Bool = false) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        func plain(_ byte: UInt8) -> Bool {
            byte < 0x80 && byte != 0x20 && byte != 0x09 && (!newlines || !(0x0A...0x0D).contains(byte))
        }
        if plain(first) && plain(last) { return text }
        return text.trimmingCharacters(in: newlines ? .whitespacesAndNewlines : .whitespaces)
    }

    /// Whether `text` is `-?d{1,maxIntegerDigits}(.d+)?` in ASCII digits (what a number field
    /// takes; checked byte by byte, as a regular expression per value cost more than the import
    /// of the row).
    static func isDecimalText(_ text: String, maxIntegerDigits: Int = .max) -> Bool {
        var bytes = text.utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        let integer = bytes.prefix(while: isDigit)
        guard (1...maxIntegerDigits).contains(integer.count) else { return false }
        let rest = bytes[integer.endIndex...]
        guard let dot = rest.first else { return true }
        let fraction = rest.dropFirst()
        return dot == UInt8(ascii: ".") && !fraction.isEmpty && fraction.allSatisfy(isDigit)
    }

    /// For `YYYY-MM-DD` with a year from 1583 (the proleptic Gregorian calendar agrees with the
    /// formatter's from there on): whether it names a day of the calendar; nil for any other
    /// text, which ``parseDate(_:)`` decides (a formatter per value cost ~0.5 ms on Linux).
    static func isCalendarDate(_ text: String) -> Bool? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1583 else { return nil }
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    static func parseDate(_ text: String) -> Date? {
        guard text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else { return nil }
        let formatter = DateFormatter()
        formatter.locale = posix
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.isLenient = false
        guard let date = formatter.date(from: text), formatter.string(from: date) == text else { return nil }
        return date
    }

    static func formatDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = posix
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    static func parseDateTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `2026-11-23T08:30:00Z`. The format style needs no ICU formatter: creating an
    /// `ISO8601DateFormatter` per value was ~9 % of a GET's CPU time (perf, release build).
    static func formatDateTime(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

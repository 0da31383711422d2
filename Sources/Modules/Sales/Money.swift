import Foundation
import Platform

/// Exact money arithmetic for quotes and orders (Foundation `Decimal`, never `Double`).
///
/// Rounding rule (四舍五入 to the cent, per line): unit prices are net of tax;
/// a line's gross = qty × unit price, net = qty × unit price × (100 − discount %) / 100,
/// tax = net × tax rate % / 100 — each rounded to 0.01 half away from zero, then
/// discount = gross − net and line total = net + tax. A document's totals are the sums of
/// its lines' rounded figures, so the printed lines always add up to the printed total.
public enum Money {
    static let posix = Locale(identifier: "en_US_POSIX")

    public static func round(_ value: Decimal, scale: Int = 2) -> Decimal {
        var input = value
        var result = Decimal()
        // .plain rounds a half away from zero for both signs.
        NSDecimalRound(&result, &input, scale, .plain)
        return result
    }

    /// `1234.5` → `"1234.50"`.
    public static func text(_ value: Decimal, scale: Int = 2) -> String {
        let rounded = round(value, scale: scale)
        let plain = "\(rounded)"
        let negative = plain.hasPrefix("-")
        let digits = negative ? String(plain.dropFirst()) : plain
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        fraction = fraction.padding(toLength: scale, withPad: "0", startingAt: 0)
        let body = scale > 0 ? "\(parts[0]).\(fraction)" : String(parts[0])
        return negative && rounded != 0 ? "-" + body : body
    }

    /// A stored money value (`{"amount": "12.50", "currency": "CNY"}`), number or decimal text.
    public static func amount(_ value: JSONValue?) -> Decimal? {
        guard let value else { return nil }
        switch value {
        case .object(let object): return amount(object["amount"])
        case .string(let text): return Decimal(string: text, locale: posix)
        case .number(let number): return number
        default: return nil
        }
    }

    public static func currency(_ value: JSONValue?) -> String? {
        value?["currency"]?.stringValue
    }

    public static func value(_ amount: Decimal, currency: String = "CNY") -> JSONValue {
        .object(["amount": .string(text(amount)), "currency": .string(currency)])
    }

    public struct Line: Sendable, Equatable {
        public var quantity: Decimal
        public var unitPrice: Decimal
        /// Percent, 0–100.
        public var discount: Decimal
        /// Percent, 0–100.
        public var taxRate: Decimal

        public init(quantity: Decimal, unitPrice: Decimal, discount: Decimal = 0, taxRate: Decimal = 0) {
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.discount = discount
            self.taxRate = taxRate
        }
    }

    public struct Figures: Sendable, Equatable {
        public var gross: Decimal = 0
        public var discount: Decimal = 0
        public var net: Decimal = 0
        public var tax: Decimal = 0
        public var total: Decimal = 0

        public init() {}

        public static func + (a: Figures, b: Figures) -> Figures {
            var sum = Figures()
            sum.gross = a.gross + b.gross
            sum.discount = a.discount + b.discount
            sum.net = a.net + b.net
            sum.tax = a.tax + b.tax
            sum.total = a.total + b.total
            return sum
        }
    }

    public static func figures(_ line: Line) -> Figures {
        var figures = Figures()
        figures.gross = round(line.quantity * line.unitPrice)
        figures.net = round(line.quantity * line.unitPrice * (100 - line.discount) / 100)
        figures.discount = figures.gross - figures.net
        figures.tax = round(figures.net * line.taxRate / 100)
        figures.total = figures.net + figures.tax
        return figures
    }

    public static func figures(_ lines: [Line]) -> Figures {
        lines.map(figures).reduce(Figures(), +)
    }
}

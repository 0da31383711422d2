import Foundation

/// Server-rendered SVG of a report's first measure: horizontal bars (long Chinese labels stay
/// readable at 390 px), a line for periods, or a donut. Every mark links to its records
/// (drill-down) and carries its label and value as a `<title>`; the table beside the chart
/// holds the same figures as text. Everything written is escaped.
enum ReportChart {
    struct Point {
        let label: String
        let value: Decimal
        let text: String
        let href: String
    }

    static let palette = ["#2f6fb3", "#e0823d", "#3f9b6b", "#c4493f", "#7a5bb5", "#8c6d3f", "#d16aa8", "#5f7f8f"]

    static func svg(_ kind: ReportDefinition.Chart, points: [Point], title: String) -> String {
        guard !points.isEmpty, kind != .table else { return "" }
        switch kind {
        case .line: return line(points, title: title)
        case .pie: return donut(points, title: title)
        default: return bars(points, title: title)
        }
    }

    static func escape(_ text: String) -> String { XMLText.escaped(text, attribute: true) }

    static func number(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    static func opening(width: Int, height: Int, title: String) -> String {
        """
        <svg class="report-chart" viewBox="0 0 \(width) \(height)" width="100%" role="img" aria-label="\(escape(title))" \
        xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="system-ui, 'Noto Sans CJK SC', sans-serif"><title>\(escape(title))</title>
        """
    }

    static func bars(_ points: [Point], title: String) -> String {
        let rowHeight = 26, labelWidth = 150, width = 600
        let height = points.count * rowHeight + 10
        let top = max(points.map { number($0.value) }.max() ?? 0, 0)
        let scale = top > 0 ? Double(width - labelWidth - 90) / top : 0
        var svg = opening(width: width, height: height, title: title)
        for (index, point) in points.enumerated() {
            let y = index * rowHeight + 5
            let length = max(0, number(point.value) * scale)
            let label = point.label.count > 12 ? String(point.label.prefix(11)) + "…" : point.label
            svg += """
                <a href="\(escape(point.href))"><title>\(escape(point.label)): \(escape(point.text))</title>\
                <text x="\(labelWidth - 6)" y="\(y + 16)" text-anchor="end">\(escape(label))</text>\
                <rect x="\(labelWidth)" y="\(y + 3)" width="\(String(format: "%.1f", length))" height="\(rowHeight - 8)" fill="\(palette[0])" rx="2"/>\
                <text x="\(String(format: "%.1f", Double(labelWidth) + length + 6))" y="\(y + 16)">\(escape(point.text))</text></a>
                """
        }
        return svg + "</svg>"
    }

    static func line(_ points: [Point], title: String) -> String {
        let width = 600, height = 260, left = 50, bottom = 40, top = 20
        let values = points.map { number($0.value) }
        let highest = max(values.max() ?? 0, 0), lowest = min(values.min() ?? 0, 0)
        let span = highest - lowest > 0 ? highest - lowest : 1
        let step = points.count > 1 ? Double(width - left - 20) / Double(points.count - 1) : 0
        func x(_ index: Int) -> Double { Double(left) + step * Double(index) }
        func y(_ value: Double) -> Double { Double(height - bottom) - (value - lowest) / span * Double(height - bottom - top) }
        var svg = opening(width: width, height: height, title: title)
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 10)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        let path = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(palette[0])\" stroke-width=\"2\"/>"
        // At most ~12 axis labels, so a year of weeks stays legible.
        let every = max(1, Int((Double(points.count) / 12).rounded(.up)))
        for (index, point) in points.enumerated() {
            svg += """
                <a href="\(escape(point.href))"><title>\(escape(point.label)): \(escape(point.text))</title>\
                <circle cx="\(String(format: "%.1f", x(index)))" cy="\(String(format: "%.1f", y(values[index])))" r="5" fill="\(palette[0])"/></a>
                """
            if index % every == 0 {
                svg += "<text x=\"\(String(format: "%.1f", x(index)))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(escape(point.label))</text>"
            }
        }
        svg += "<text x=\"\(left - 6)\" y=\"\(top + 4)\" text-anchor=\"end\">\(escape(points[values.firstIndex(of: values.max() ?? 0) ?? 0].text))</text>"
        return svg + "</svg>"
    }

    static func donut(_ points: [Point], title: String) -> String {
        let size = 260, radius = 100.0, hole = 55.0
        let center = Double(size) / 2
        let values = points.map { max(0, number($0.value)) }
        let total = values.reduce(0, +)
        let legendHeight = points.count * 20 + 10
        var svg = opening(width: size + 260, height: max(size, legendHeight), title: title)
        var angle = -Double.pi / 2
        for (index, point) in points.enumerated() {
            let colour = palette[index % palette.count]
            let share = total > 0 ? values[index] / total : 0
            if share > 0 {
                let end = angle + share * 2 * Double.pi
                let large = share > 0.5 ? 1 : 0
                func spot(_ r: Double, _ a: Double) -> String { String(format: "%.2f %.2f", center + r * cos(a), center + r * sin(a)) }
                // A full circle cannot be one arc: draw it as two halves.
                let arc = share >= 0.9999
                    ? "M \(spot(radius, angle)) A \(radius) \(radius) 0 1 1 \(spot(radius, angle + Double.pi)) A \(radius) \(radius) 0 1 1 \(spot(radius, angle)) Z"
                    : "M \(spot(radius, angle)) A \(radius) \(radius) 0 \(large) 1 \(spot(radius, end)) L \(spot(hole, end)) A \(hole) \(hole) 0 \(large) 0 \(spot(hole, angle)) Z"
                svg += "<a href=\"\(escape(point.href))\"><title>\(escape(point.label)): \(escape(point.text))</title><path d=\"\(arc)\" fill=\"\(colour)\"/></a>"
                angle = end
            }
            let y = index * 20 + 20
            svg += "<rect x=\"\(size + 10)\" y=\"\(y - 10)\" width=\"12\" height=\"12\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(size + 28)\" y=\"\(y)\">\(escape(point.label)) · \(escape(point.text)) (\(String(format: "%.1f", share * 100))%)</text>"
        }
        return svg + "</svg>"
    }
}

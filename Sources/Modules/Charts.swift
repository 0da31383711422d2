import Foundation

/// Shapes for the server-rendered SVG charts: plain numbers and texts a template puts into
/// `<rect>`/`<text>` elements (no script, no inline style, so the page's CSP holds).
enum Charts {
    static let width = 640
    static let rowHeight = 34

    /// A funnel: one centred bar per open stage, width by count (widest = full width).
    static func funnel(_ rows: [(label: String, count: Int, amount: String)]) -> [String: Any] {
        let widest = max(1, rows.map(\.count).max() ?? 1)
        let shapes: [[String: Any]] = rows.enumerated().map { index, row in
            let barWidth = max(40, Int(Double(width - 40) * Double(row.count) / Double(widest)))
            return ["x": (width - barWidth) / 2, "y": index * rowHeight, "w": barWidth, "h": rowHeight - 4,
                    "tx": width / 2, "ty": index * rowHeight + 20, "text": "\(row.label) · \(row.count) · \(row.amount)", "shade": index % 4]
        }
        return ["w": width, "h": max(rowHeight, rows.count * rowHeight), "bars": shapes, "empty": rows.isEmpty]
    }

    /// Vertical bars with a label under each and the value above.
    static func bars(_ rows: [(label: String, value: Decimal, text: String)]) -> [String: Any] {
        let height = 200, top = 20, bottom = 40
        let largest = rows.map(\.value).max() ?? 0
        let slot = rows.isEmpty ? width : width / rows.count
        let shapes: [[String: Any]] = rows.enumerated().map { index, row in
            let share = largest > 0 ? NSDecimalNumber(decimal: row.value / largest).doubleValue : 0
            let barHeight = Int(Double(height - top - bottom) * max(0, share))
            let x = index * slot + slot / 6
            return ["x": x, "y": height - bottom - barHeight, "w": slot * 2 / 3, "h": barHeight,
                    "lx": x + slot / 3, "ly": height - bottom + 16, "label": row.label, "vy": height - bottom - barHeight - 4, "value": row.text]
        }
        return ["w": width, "h": height, "bars": shapes, "empty": rows.isEmpty]
    }

    /// Horizontal progress bars: actual against target (capped at 150 % of the track).
    static func progress(_ rows: [(label: String, actual: Decimal, target: Decimal)]) -> [String: Any] {
        let track = 400
        let shapes: [[String: Any]] = rows.enumerated().map { index, row in
            let share = row.target > 0 ? min(1.5, NSDecimalNumber(decimal: row.actual / row.target).doubleValue) : 0
            return ["y": index * 26, "w": Int(Double(track) * share / 1.5), "target_x": track * 2 / 3, "label": row.label,
                    "ty": index * 26 + 15, "reached": row.target > 0 && row.actual >= row.target]
        }
        return ["w": track + 100, "h": rows.count * 26, "track": track, "bars": shapes]
    }
}

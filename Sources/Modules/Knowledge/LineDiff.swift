import Foundation

/// A line-based diff of two texts (an article version against another): the longest common
/// subsequence of lines after trimming the common head and tail, so an edit in a long article
/// compares only the changed middle.
///
///     LineDiff.lines("a\nb\nc", "a\nB\nc")
///     // [.same("a"), .removed("b"), .added("B"), .same("c")]
///
/// The middle is compared with a table of `n × m` cells; beyond ``maxCells`` (two rewritten
/// 2 000-line bodies) the middle is shown as removed then added instead, which is still correct,
/// only less minimal.
enum LineDiff {
    enum Line: Equatable, Sendable {
        case same(String), removed(String), added(String)

        var kind: String {
            switch self {
            case .same: "same"
            case .removed: "removed"
            case .added: "added"
            }
        }

        var text: String {
            switch self {
            case .same(let text), .removed(let text), .added(let text): text
            }
        }
    }

    static let maxCells = 4_000_000

    static func lines(_ old: String, _ new: String) -> [Line] {
        diff(split(old), split(new))
    }

    static func split(_ text: String) -> [String] {
        text.isEmpty ? [] : text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func diff(_ a: [String], _ b: [String]) -> [Line] {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let oldMiddle = Array(a[head..<(a.count - tail)]), newMiddle = Array(b[head..<(b.count - tail)])
        var result = a[..<head].map(Line.same)
        if oldMiddle.count * newMiddle.count > maxCells {
            result += oldMiddle.map(Line.removed) + newMiddle.map(Line.added)
        } else {
            result += middle(oldMiddle, newMiddle)
        }
        return result + a[(a.count - tail)...].map(Line.same)
    }

    /// LCS by dynamic programming from the end, then a walk from the start (removals before
    /// additions at each change, as readers expect).
    static func middle(_ a: [String], _ b: [String]) -> [Line] {
        let n = a.count, m = b.count
        guard n > 0 else { return b.map(Line.added) }
        guard m > 0 else { return a.map(Line.removed) }
        var table = [Int32](repeating: 0, count: (n + 1) * (m + 1))
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i * (m + 1) + j] = a[i] == b[j] ? table[(i + 1) * (m + 1) + j + 1] + 1
                    : max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1])
            }
        }
        var result: [Line] = []
        var i = 0, j = 0
        while i < n, j < m {
            if a[i] == b[j] {
                result.append(.same(a[i])); i += 1; j += 1
            } else if table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1] {
                result.append(.removed(a[i])); i += 1
            } else {
                result.append(.added(b[j])); j += 1
            }
        }
        result += a[i...].map(Line.removed) + b[j...].map(Line.added)
        return result
    }
}

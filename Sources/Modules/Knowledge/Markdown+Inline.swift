import Foundation

/// Inline Markdown: code spans, emphasis, links, images, autolinks, hard breaks, escapes.
/// Every search for a closing mark remembers where it failed, so hostile input (fifty
/// thousand `*` or `[`) stays linear rather than quadratic.
extension Markdown {
    static func inline(_ text: String, depth: Int = 0) -> String {
        let scanner = InlineScanner(characters: Array(text))
        return scanner.render(0..<scanner.characters.count, links: true, depth: depth)
    }

    /// The text of inline Markdown without marks (an image's alt text).
    static func plain(_ characters: ArraySlice<Character>) -> String {
        String(characters.filter { !"*_~`[]!".contains($0) })
    }
}

struct InlineScanner {
    let characters: [Character]
    /// The `]` matching each `[` (nested brackets counted, escaped ones skipped).
    let closing: [Int: Int]

    init(characters: [Character]) {
        self.characters = characters
        var closing: [Int: Int] = [:]
        var open: [Int] = []
        var i = 0
        while i < characters.count {
            switch characters[i] {
            case "\\": i += 1
            case "[": open.append(i)
            case "]": if let start = open.popLast() { closing[start] = i }
            default: break
            }
            i += 1
        }
        self.closing = closing
    }

    static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

    func isSpace(_ index: Int) -> Bool { index < 0 || index >= characters.count || characters[index].isWhitespace }
    func isWordCharacter(_ index: Int) -> Bool { index >= 0 && index < characters.count && (characters[index].isLetter || characters[index].isNumber) }

    func run(of mark: Character, at start: Int, before end: Int) -> Int {
        var j = start
        while j < end, characters[j] == mark { j += 1 }
        return j - start
    }

    func render(_ range: Range<Int>, links: Bool, depth: Int) -> String {
        var out = ""
        var i = range.lowerBound
        let end = range.upperBound
        // Where a search for a closing mark already failed (it fails from any later start too).
        var noCodeCloser = Set<Int>()
        var noEmphasisCloser: [String: Int] = [:]
        func failed(_ key: String, _ at: Int) -> Bool { noEmphasisCloser[key].map { at >= $0 } ?? false }

        while i < end {
            let character = characters[i]
            switch character {
            case "\\":
                if i + 1 < end, Self.punctuation.contains(characters[i + 1]) {
                    out += Markdown.escape(String(characters[i + 1]))
                    i += 2
                } else if i + 1 < end, characters[i + 1] == "\n" {
                    out += "<br>\n"
                    i += 2
                } else {
                    out += "\\"
                    i += 1
                }
            case "`":
                let length = run(of: "`", at: i, before: end)
                if !noCodeCloser.contains(length), let close = codeCloser(length, from: i + length, before: end) {
                    var code = String(characters[(i + length)..<close]).replacingOccurrences(of: "\n", with: " ")
                    if code.count >= 2, code.first == " ", code.last == " ", !code.allSatisfy({ $0 == " " }) { code = String(code.dropFirst().dropLast()) }
                    out += "<code>\(Markdown.escape(code))</code>"
                    i = close + length
                } else {
                    noCodeCloser.insert(length)
                    out += String(repeating: "`", count: length)
                    i += length
                }
            case "!" where links && i + 1 < end && characters[i + 1] == "[":
                if let (html, next) = link(at: i + 1, end: end, image: true, depth: depth) {
                    out += html
                    i = next
                } else {
                    out += "!"
                    i += 1
                }
            case "[" where links:
                if let (html, next) = link(at: i, end: end, image: false, depth: depth) {
                    out += html
                    i = next
                } else {
                    out += "["
                    i += 1
                }
            case "<":
                if links, let (html, next) = autolink(at: i, end: end) {
                    out += html
                    i = next
                } else {
                    out += "&lt;"
                    i += 1
                }
            case "*", "_", "~":
                let length = run(of: character, at: i, before: end)
                let opens = !isSpace(i + length) && (character != "_" || !isWordCharacter(i - 1))
                let wanted = character == "~" ? (length == 2 ? 2 : 0) : min(length, 2)
                let key = "\(character)\(wanted)"
                if opens, wanted > 0, depth < Markdown.maxDepth, !failed(key, i) {
                    if let close = emphasisCloser(character, length: wanted, from: i + wanted, before: end) {
                        let tag = character == "~" ? "del" : wanted == 2 ? "strong" : "em"
                        // A run of three opens both: the extra mark is literal text before it.
                        out += String(repeating: character, count: length - wanted)
                        out += "<\(tag)>\(render((i + length)..<close, links: links, depth: depth + 1))</\(tag)>"
                        i = close + wanted
                        continue
                    }
                    noEmphasisCloser[key] = i
                }
                out += Markdown.escape(String(repeating: character, count: length))
                i += length
            case "\n":
                let trailing = out.reversed().prefix { $0 == " " }.count
                out.removeLast(trailing)
                out += trailing >= 2 ? "<br>\n" : "\n"
                i += 1
                while i < end, characters[i] == " " { i += 1 }
            default:
                out += Markdown.escape(String(character))
                i += 1
            }
        }
        return out
    }

    func codeCloser(_ length: Int, from start: Int, before end: Int) -> Int? {
        var j = start
        while j < end {
            if characters[j] == "`" {
                let found = run(of: "`", at: j, before: end)
                if found == length { return j }
                j += found
            } else {
                j += 1
            }
        }
        return nil
    }

    /// The start of the closing run for emphasis opened at `start`: a run of exactly `length`
    /// marks (or, for a single mark, a run of one) not preceded by a space; for `_` not
    /// followed by a letter. Code spans and escapes in between are skipped.
    func emphasisCloser(_ mark: Character, length: Int, from start: Int, before end: Int) -> Int? {
        var j = start
        while j < end {
            let character = characters[j]
            if character == "\\" { j += 2; continue }
            if character == "`" {
                let ticks = run(of: "`", at: j, before: end)
                j = codeCloser(ticks, from: j + ticks, before: end).map { $0 + ticks } ?? j + ticks
                continue
            }
            guard character == mark else { j += 1; continue }
            let found = run(of: mark, at: j, before: end)
            let closes = j > start && !isSpace(j - 1) && (mark != "_" || !isWordCharacter(j + found))
            if closes, found == length || (found > length && length == 2) { return j }
            j += found
        }
        return nil
    }

    /// An address or title longer than this is not a link (keeps `![](` × 20 000 linear).
    static let maxAddress = 512
    static let maxParens = 32

    /// `[text](address "title")` or `![alt](address)` starting at the `[`.
    func link(at open: Int, end: Int, image: Bool, depth: Int) -> (String, Int)? {
        guard let close = closing[open], close < end, close + 1 < end, characters[close + 1] == "(" else { return nil }
        let end = min(end, close + 2 + 2 * Self.maxAddress)
        var j = close + 2
        func skipSpaces() { while j < end, characters[j] == " " || characters[j] == "\n" { j += 1 } }
        skipSpaces()
        var address = ""
        if j < end, characters[j] == "<" {
            j += 1
            while j < end, characters[j] != ">", characters[j] != "\n", characters[j] != "<" { address.append(characters[j]); j += 1 }
            guard j < end, characters[j] == ">" else { return nil }
            j += 1
        } else {
            // Indices first; the address is built only for a link that closes.
            var parens = 0
            let start = j
            while j < end, characters[j] != " ", characters[j] != "\n" {
                let character = characters[j]
                if character == "\\", j + 1 < end { j += 2; continue }
                if character == "(" {
                    parens += 1
                    // As cmark does: deeper nesting is no address (and `](` × 20 000 stays linear).
                    if parens > Self.maxParens { return nil }
                } else if character == ")" {
                    if parens == 0 { break }
                    parens -= 1
                }
                j += 1
            }
            guard j < end else { return nil }
            var k = start
            while k < j {
                if characters[k] == "\\", k + 1 < j, Self.punctuation.contains(characters[k + 1]) { address.append(characters[k + 1]); k += 2; continue }
                address.append(characters[k])
                k += 1
            }
        }
        skipSpaces()
        var title: String?
        if j < end, let opener = Optional(characters[j]), opener == "\"" || opener == "'" || opener == "(" {
            let closer: Character = opener == "(" ? ")" : opener
            var text = ""
            j += 1
            while j < end, characters[j] != closer {
                if characters[j] == "\\", j + 1 < end { text.append(characters[j + 1]); j += 2; continue }
                text.append(characters[j])
                j += 1
            }
            guard j < end else { return nil }
            title = text
            j += 1
            skipSpaces()
        }
        guard j < end, characters[j] == ")" else { return nil }
        let next = j + 1
        let titleAttribute = title.map { " title=\"\(Markdown.escape(Markdown.decodeReferences($0)))\"" } ?? ""
        if image {
            let alt = Markdown.plain(characters[(open + 1)..<close])
            guard let source = Markdown.safeURL(address, image: true) else { return (Markdown.escape(alt), next) }
            return ("<img src=\"\(Markdown.escape(source))\" alt=\"\(Markdown.escape(alt))\"\(titleAttribute) loading=\"lazy\">", next)
        }
        let text = render((open + 1)..<close, links: false, depth: depth + 1)
        guard let href = Markdown.safeURL(address) else { return (text, next) }
        return ("<a href=\"\(Markdown.escape(href))\"\(titleAttribute) rel=\"nofollow noopener noreferrer\">\(text)</a>", next)
    }

    /// `<https://example.com>` or `<name@example.com>`.
    func autolink(at open: Int, end: Int) -> (String, Int)? {
        var j = open + 1
        var text = ""
        while j < end, j - open < 2048 {
            let character = characters[j]
            if character == ">" { break }
            if character.isWhitespace || character == "<" { return nil }
            text.append(character)
            j += 1
        }
        guard j < end, characters[j] == ">", !text.isEmpty else { return nil }
        let isMail = !text.contains(":") && text.contains("@") && !text.hasPrefix("@")
        guard isMail || text.contains(":"), let href = Markdown.safeURL(isMail ? "mailto:" + text : text) else { return nil }
        return ("<a href=\"\(Markdown.escape(href))\" rel=\"nofollow noopener noreferrer\">\(Markdown.escape(text))</a>", j + 1)
    }
}

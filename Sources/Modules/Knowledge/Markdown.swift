import Foundation

/// Article bodies in Markdown (a CommonMark subset with GitHub tables) rendered to HTML that is
/// safe to put into a page as is.
///
///     Markdown.html("## 报价\n**注意**：折扣 > 15% 需 [审批](/app/approvals)")
///     // <h2>报价</h2>\n<p><strong>注意</strong>：折扣 &gt; 15% 需 <a href="/app/approvals" rel="nofollow noopener noreferrer">审批</a></p>
///
/// Safety comes from construction, not from cleaning HTML afterwards: the renderer emits only
/// its own fixed tags and attributes, every piece of the author's text goes through
/// ``escape(_:)`` (raw HTML in the source is shown as text, never passed through), headings get
/// no `id` (no DOM clobbering), and a link or image address must pass ``safeURL(_:image:)``
/// (http, https, mailto for links, or a relative address) — otherwise only its text is shown.
///
/// Supported: ATX headings, paragraphs, hard breaks, emphasis/strong/strikethrough, code spans,
/// fenced and indented code blocks, block quotes, ordered and bullet lists (nested by indent),
/// thematic breaks, links, images, autolinks and pipe tables. Not supported (rendered as text):
/// setext headings, reference links, HTML blocks, footnotes.
enum Markdown {
    /// Nesting of quotes and lists beyond this is rendered as text, so hostile input
    /// (`>>>>>>…` a hundred thousand deep) cannot exhaust the stack.
    static let maxDepth = 12

    static func html(_ source: String) -> String {
        let normalised = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        let lines = normalised.split(separator: "\n", omittingEmptySubsequences: false).map { expandTabs(String($0)) }
        return blocks(lines, depth: 0).joined(separator: "\n")
    }

    // MARK: Escaping and addresses

    /// Text for an element's content or a double-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static let linkSchemes: Set<String> = ["http", "https", "mailto"]
    static let imageSchemes: Set<String> = ["http", "https"]

    /// The address to put into `href`/`src`, or nil to refuse it. Character references are
    /// decoded first and every control character, space and invisible format character is
    /// dropped, so the scheme tested is the one a browser would see (`jav&#x09;ascript:`,
    /// `java\tscript:`, `&#106;avascript:` and ` javascript:` all become `javascript:`); then the
    /// address must have an allowed scheme or none at all (relative: `/app/…`, `#part`,
    /// `page?x=1`, `//host/path`).
    static func safeURL(_ raw: String, image: Bool = false) -> String? {
        let decoded = decodeReferences(raw)
        var cleaned = ""
        for scalar in decoded.unicodeScalars {
            if scalar.value <= 0x20 || (0x7F...0x9F).contains(scalar.value) { continue }
            if scalar.properties.generalCategory == .format || scalar.properties.isWhitespace { continue }
            cleaned.unicodeScalars.append(scalar)
        }
        guard !cleaned.isEmpty else { return nil }
        // Backslashes are slashes to a browser (`\\evil` → `//evil`, `javascript\:`); keep URLs simple.
        guard !cleaned.contains("\\") else { return nil }
        let schemeEnd = cleaned.firstIndex { ":/?#".contains($0) }
        if let schemeEnd, cleaned[schemeEnd] == ":" {
            // Any colon before the path is a scheme to check: only the allowed ones pass.
            guard (image ? imageSchemes : linkSchemes).contains(cleaned[..<schemeEnd].lowercased()) else { return nil }
        }
        return cleaned
    }

    static let namedReferences: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "colon": ":", "Tab": "\t", "NewLine": "\n",
        "nbsp": "\u{A0}", "sol": "/", "lpar": "(", "rpar": ")", "period": ".", "semi": ";", "num": "#", "excl": "!",
    ]

    /// `&#106;`, `&#x6A;`, `&colon;` … decoded (the semicolon optional, as browsers allow in
    /// attributes); unknown names stay as written.
    static func decodeReferences(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "&" else { out.append(scalars[i]); i += 1; continue }
            var j = i + 1
            var decoded: Unicode.Scalar?
            if j < scalars.count, scalars[j] == "#" {
                j += 1
                let hex = j < scalars.count && (scalars[j] == "x" || scalars[j] == "X")
                if hex { j += 1 }
                let start = j
                while j < scalars.count, (hex ? scalars[j].properties.isASCIIHexDigit : ("0"..."9").contains(scalars[j])), j - start < 8 { j += 1 }
                if j > start, let value = UInt32(String(String.UnicodeScalarView(scalars[start..<j])), radix: hex ? 16 : 10) {
                    decoded = Unicode.Scalar(value) ?? "\u{FFFD}"
                }
            } else {
                let start = j
                while j < scalars.count, scalars[j].properties.isAlphabetic, scalars[j].isASCII, j - start < 10 { j += 1 }
                if let value = namedReferences[String(String.UnicodeScalarView(scalars[start..<j]))] { decoded = value.unicodeScalars.first }
            }
            if let decoded {
                out.append(decoded)
                if j < scalars.count, scalars[j] == ";" { j += 1 }
                i = j
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }

    // MARK: Blocks

    static func expandTabs(_ line: String) -> String {
        guard line.contains("\t") else { return line }
        var out = ""
        var column = 0
        for character in line {
            if character == "\t" {
                let spaces = 4 - column % 4
                out += String(repeating: " ", count: spaces)
                column += spaces
            } else {
                out.append(character)
                column += 1
            }
        }
        return out
    }

    static func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
    static func isBlank(_ line: String) -> Bool { line.allSatisfy { $0 == " " } }

    static func heading(_ line: String) -> (Int, String)? {
        guard indent(line) < 4 else { return nil }
        let trimmed = line.drop { $0 == " " }
        let level = trimmed.prefix { $0 == "#" }.count
        guard (1...6).contains(level) else { return nil }
        let rest = trimmed.dropFirst(level)
        guard rest.isEmpty || rest.first == " " else { return nil }
        var text = rest.trimmingCharacters(in: .whitespaces)
        // A closing run of #s preceded by a space is not part of the heading.
        if let lastNonHash = text.lastIndex(where: { $0 != "#" }) {
            if text[lastNonHash] == " " { text = String(text[..<lastNonHash]).trimmingCharacters(in: .whitespaces) }
        } else {
            text = ""
        }
        return (level, text)
    }

    static func isThematicBreak(_ line: String) -> Bool {
        guard indent(line) < 4 else { return false }
        let marks = line.filter { $0 != " " }
        guard marks.count >= 3, let first = marks.first, "-*_".contains(first) else { return false }
        return marks.allSatisfy { $0 == first }
    }

    static func fence(_ line: String) -> (String, Int)? {
        guard indent(line) < 4 else { return nil }
        let trimmed = line.drop { $0 == " " }
        guard let mark = trimmed.first, mark == "`" || mark == "~" else { return nil }
        let length = trimmed.prefix { $0 == mark }.count
        guard length >= 3 else { return nil }
        if mark == "`", trimmed.dropFirst(length).contains("`") { return nil }
        return (String(repeating: mark, count: length), indent(line))
    }

    /// A list item's marker: (ordered, start number, content column).
    static func listMarker(_ line: String) -> (ordered: Bool, start: Int, content: Int)? {
        let lead = indent(line)
        guard lead < 4 else { return nil }
        let trimmed = line.dropFirst(lead)
        if let first = trimmed.first, "-*+".contains(first) {
            let after = trimmed.dropFirst()
            guard after.isEmpty || after.first == " " else { return nil }
            if isThematicBreak(line) { return nil }
            let gap = min(max(after.prefix { $0 == " " }.count, 1), 4)
            return (false, 1, lead + 1 + (after.isEmpty ? 1 : gap))
        }
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard (1...9).contains(digits.count) else { return nil }
        let after = trimmed.dropFirst(digits.count)
        guard let delimiter = after.first, delimiter == "." || delimiter == ")" else { return nil }
        let rest = after.dropFirst()
        guard rest.isEmpty || rest.first == " " else { return nil }
        let gap = min(max(rest.prefix { $0 == " " }.count, 1), 4)
        return (true, Int(digits) ?? 1, lead + digits.count + 1 + (rest.isEmpty ? 1 : gap))
    }

    static func quoteContent(_ line: String) -> String? {
        guard indent(line) < 4 else { return nil }
        let trimmed = line.drop { $0 == " " }
        guard trimmed.first == ">" else { return nil }
        let rest = trimmed.dropFirst()
        return String(rest.first == " " ? rest.dropFirst() : rest)
    }

    /// Does this line start a block other than a paragraph (so it ends a paragraph)?
    static func interrupts(_ line: String) -> Bool {
        heading(line) != nil || isThematicBreak(line) || fence(line) != nil || quoteContent(line) != nil
            || listMarker(line).map { !$0.ordered || $0.start == 1 } == true
    }

    static func blocks(_ lines: [String], depth: Int) -> [String] {
        var out: [String] = []
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if isBlank(line) { i += 1; continue }
            if let (open, column) = fence(line) {
                let info = line.drop { $0 == " " }.dropFirst(open.count).trimmingCharacters(in: .whitespaces)
                let language = info.prefix { $0 != " " }.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "-_+".contains($0)) }
                var code: [String] = []
                i += 1
                while i < lines.count {
                    let candidate = lines[i].drop { $0 == " " }
                    if indent(lines[i]) < 4, candidate.hasPrefix(open), candidate.allSatisfy({ $0 == open.first }) { i += 1; break }
                    code.append(String(lines[i].dropFirst(min(column, indent(lines[i])))))
                    i += 1
                }
                let attribute = language.isEmpty ? "" : " class=\"language-\(escape(String(language.prefix(30))))\""
                out.append("<pre><code\(attribute)>\(escape(code.joined(separator: "\n")))\(code.isEmpty ? "" : "\n")</code></pre>")
                continue
            }
            if indent(line) >= 4 {
                var code: [String] = []
                while i < lines.count, indent(lines[i]) >= 4 || isBlank(lines[i]) {
                    code.append(String(lines[i].dropFirst(min(4, indent(lines[i])))))
                    i += 1
                }
                while code.last.map(isBlank) == true { code.removeLast() }
                out.append("<pre><code>\(escape(code.joined(separator: "\n")))\n</code></pre>")
                continue
            }
            if let (level, text) = heading(line) {
                out.append("<h\(level)>\(inline(text))</h\(level)>")
                i += 1
                continue
            }
            if isThematicBreak(line) {
                out.append("<hr>")
                i += 1
                continue
            }
            if quoteContent(line) != nil {
                var inner: [String] = []
                while i < lines.count, !isBlank(lines[i]) {
                    if let content = quoteContent(lines[i]) {
                        inner.append(content)
                    } else if let last = inner.last, !isBlank(last), !interrupts(lines[i]) {
                        inner.append(lines[i])  // lazy continuation of the quoted paragraph
                    } else {
                        break
                    }
                    i += 1
                }
                out.append(depth < maxDepth ? "<blockquote>\n\(blocks(inner, depth: depth + 1).joined(separator: "\n"))\n</blockquote>"
                                            : "<p>\(inline(inner.joined(separator: "\n")))</p>")
                continue
            }
            if let marker = listMarker(line) {
                let (html, next) = list(lines, from: i, marker: marker, depth: depth)
                out.append(html)
                i = next
                continue
            }
            if i + 1 < lines.count, let table = table(lines, from: i) {
                out.append(table.html)
                i = table.next
                continue
            }
            var paragraph = [line]
            i += 1
            while i < lines.count, !isBlank(lines[i]), !interrupts(lines[i]) {
                paragraph.append(lines[i])
                i += 1
            }
            let text = paragraph.map { line in line.drop { $0 == " " } }.joined(separator: "\n")
            out.append("<p>\(inline(text))</p>")
        }
        return out
    }

    static func list(_ lines: [String], from start: Int, marker first: (ordered: Bool, start: Int, content: Int), depth: Int) -> (String, Int) {
        var items: [[String]] = []
        var loose = false
        var i = start
        var sawBlank = false
        while i < lines.count {
            guard let marker = listMarker(lines[i]), marker.ordered == first.ordered else { break }
            if sawBlank { loose = true }
            sawBlank = false
            let column = marker.content
            var item = [String(lines[i].dropFirst(min(column, lines[i].count)))]
            i += 1
            while i < lines.count {
                let line = lines[i]
                if isBlank(line) {
                    item.append("")
                    i += 1
                    continue
                }
                if indent(line) >= column {
                    if item.last == "" { sawBlank = true }
                    item.append(String(line.dropFirst(column)))
                } else if item.last != "", !interrupts(line), listMarker(line) == nil {
                    item.append(line.trimmingCharacters(in: .whitespaces))  // lazy continuation
                } else {
                    break
                }
                i += 1
            }
            // Blank lines after an item make the list loose only if another item follows.
            while item.last == "" {
                item.removeLast()
                sawBlank = true
            }
            items.append(item)
        }
        let tag = first.ordered ? "ol" : "ul"
        let startAttribute = first.ordered && first.start != 1 ? " start=\"\(first.start)\"" : ""
        var html = "<\(tag)\(startAttribute)>\n"
        for item in items {
            guard depth < maxDepth else {
                html += "<li>\(inline(item.joined(separator: "\n")))</li>\n"
                continue
            }
            var inner = blocks(item, depth: depth + 1)
            if !loose {
                // A tight list shows its paragraphs without <p>.
                inner = inner.map { $0.hasPrefix("<p>") && $0.hasSuffix("</p>") ? String($0.dropFirst(3).dropLast(4)) : $0 }
            }
            html += "<li>\(inner.joined(separator: "\n"))</li>\n"
        }
        return (html + "</\(tag)>", i)
    }

    // MARK: Tables

    static func cells(_ line: String) -> [String] {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("|") { text.removeFirst() }
        if text.hasSuffix("|") && !text.hasSuffix("\\|") { text.removeLast() }
        var cells: [String] = []
        var current = ""
        var escaped = false
        var inCode = false
        for character in text {
            if escaped { current += character == "|" ? "|" : "\\\(character)"; escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "`" { inCode.toggle() }
            if character == "|" && !inCode { cells.append(current.trimmingCharacters(in: .whitespaces)); current = ""; continue }
            current.append(character)
        }
        if escaped { current += "\\" }
        cells.append(current.trimmingCharacters(in: .whitespaces))
        return cells
    }

    static func table(_ lines: [String], from start: Int) -> (html: String, next: Int)? {
        let header = lines[start], delimiter = lines[start + 1]
        guard header.contains("|"), indent(header) < 4, delimiter.contains("-") else { return nil }
        let alignments: [String?] = cells(delimiter).map { cell in
            guard !cell.isEmpty, cell.allSatisfy({ ":-".contains($0) }), cell.contains("-") else { return "invalid" }
            switch (cell.hasPrefix(":"), cell.hasSuffix(":")) {
            case (true, true): return "center"
            case (false, true): return "right"
            case (true, false): return "left"
            default: return nil
            }
        }
        let heads = cells(header)
        guard !alignments.contains("invalid"), alignments.count == heads.count else { return nil }
        func row(_ values: [String], tag: String) -> String {
            let padded = (0..<alignments.count).map { $0 < values.count ? values[$0] : "" }
            return "<tr>" + zip(padded, alignments).map { value, align in
                "<\(tag)\(align.map { " class=\"align-\($0)\"" } ?? "")>\(inline(value))</\(tag)>"
            }.joined() + "</tr>"
        }
        var html = "<div class=\"table-scroll\"><table>\n<thead>\(row(heads, tag: "th"))</thead>\n"
        var i = start + 2
        var body: [String] = []
        while i < lines.count, !isBlank(lines[i]), lines[i].contains("|"), !interrupts(lines[i]) {
            body.append(row(cells(lines[i]), tag: "td"))
            i += 1
        }
        if !body.isEmpty { html += "<tbody>\n" + body.joined(separator: "\n") + "\n</tbody>\n" }
        return (html + "</table></div>", i)
    }
}

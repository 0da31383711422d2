import Foundation
@testable import Modules
import Testing

/// Article bodies: Markdown rendered to HTML that is safe by construction, checked against a
/// corpus of XSS payloads; and the line diff of article versions.
@Suite struct KnowledgeMarkdownTests {
    static let allowedTags: Set<String> = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "em", "strong", "del", "code", "pre",
                                           "ul", "ol", "li", "blockquote", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "div"]
    static let allowedAttributes: Set<String> = ["href", "src", "alt", "title", "rel", "loading", "class", "start"]

    /// Every tag is one the renderer makes, with only its own attributes, and every address
    /// in them is http(s), mailto or relative.
    static func expectSafe(_ html: String, _ source: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let tag = try! NSRegularExpression(pattern: "<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
        let attribute = try! NSRegularExpression(pattern: "\\s([^\\s=]+)=\"([^\"]*)\"")
        let text = html as NSString
        for match in tag.matches(in: html, range: NSRange(location: 0, length: text.length)) {
            let name = text.substring(with: match.range(at: 2)).lowercased()
            #expect(allowedTags.contains(name), "tag <\(name)> from \(source.debugDescription): \(html)", sourceLocation: sourceLocation)
            let attributes = text.substring(with: match.range(at: 3)) as NSString
            // Whatever is in the tag must be name="value" pairs only (no bare onload, no stray quotes).
            let leftover = attribute.stringByReplacingMatches(in: attributes as String, range: NSRange(location: 0, length: attributes.length), withTemplate: "")
            #expect(leftover.trimmingCharacters(in: .whitespaces).isEmpty, "stray text \(leftover.debugDescription) in <\(name)> from \(source.debugDescription): \(html)",
                    sourceLocation: sourceLocation)
            for pair in attribute.matches(in: attributes as String, range: NSRange(location: 0, length: attributes.length)) {
                let key = attributes.substring(with: pair.range(at: 1)).lowercased()
                let value = attributes.substring(with: pair.range(at: 2))
                #expect(allowedAttributes.contains(key), "attribute \(key) from \(source.debugDescription): \(html)", sourceLocation: sourceLocation)
                if key == "href" || key == "src" {
                    let scheme = value.split(separator: ":", maxSplits: 1).first.map(String.init)?.lowercased() ?? ""
                    let hasScheme = value.contains(":") && !value.prefix { $0 != ":" }.contains { "/?#".contains($0) }
                    #expect(!hasScheme || ["http", "https", "mailto"].contains(scheme), "address \(value) from \(source.debugDescription)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    static let hostile: [String] = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x]( javascript:alert(1) \"t\")",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;avascript&colon;alert(1))",
        "[x](&#0000106avascript:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](<java\u{0}script:alert(1)>)",
        "[x](\u{200B}javascript:alert(1))",
        "[x](ｊａｖａｓｃｒｉｐｔ:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "![x](javascript:alert(1))",
        "![x](mailto:a@b.example)",
        "<javascript:alert(1)>",
        "<vbscript:msgbox(1)>",
        "[x](javascript\\:alert(1))",
        "[x](\\\\evil.example/share)",
        "![a\" onerror=\"alert(1)](https://ok.example/a.png)",
        "[x](https://ok.example/\" onclick=\"alert(1))",
        "[x](https://ok.example/ \"a\\\" onmouseover=\\\"alert(1)\")",
        "```\"><script>alert(1)</script>\ncode\n```",
        "`<script>alert(1)</script>`",
        "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [y](javascript:alert(1)) |",
        "> <script>alert(1)</script>\n> [q](javascript:alert(1))",
        "- <b onmouseover=alert(1)>x</b>\n- [z](vbscript:x)",
        "**<script>**alert(1)**</script>**",
        "[<img src=x onerror=alert(1)>](https://ok.example)",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ]

    @Test func hostileInputNeverBecomesMarkupOrScript() {
        for source in Self.hostile {
            let html = Markdown.html(source)
            Self.expectSafe(html, source)
            #expect(!html.lowercased().contains("<script"), "\(source.debugDescription) → \(html)")
            #expect(!html.lowercased().contains("javascript:") || !html.contains("href=\"javascript"), "\(source.debugDescription) → \(html)")
            #expect(!html.contains("href=\"vbscript") && !html.contains("src=\"data:") && !html.contains("href=\"data:"), "\(source.debugDescription) → \(html)")
        }
        // Refused addresses keep the link's text and drop the link.
        #expect(Markdown.html("[点这里](javascript:alert(1))") == "<p>点这里</p>")
        #expect(Markdown.html("![图](data:image/png;base64,AAAA)") == "<p>图</p>")
        // Raw HTML is shown as text.
        #expect(Markdown.html("<b onmouseover=alert(1)>x</b>") == "<p>&lt;b onmouseover=alert(1)&gt;x&lt;/b&gt;</p>")
        // Entity text stays text (no double decoding into markup).
        #expect(Markdown.html("&lt;script&gt;") == "<p>&amp;lt;script&amp;gt;</p>")
    }

    @Test func addressesAreCheckedAsABrowserWouldReadThem() {
        #expect(Markdown.safeURL("https://example.com/a?b=1#c") == "https://example.com/a?b=1#c")
        #expect(Markdown.safeURL("mailto:sales@example.com") == "mailto:sales@example.com")
        #expect(Markdown.safeURL("mailto:sales@example.com", image: true) == nil)
        #expect(Markdown.safeURL("/app/kb_article") == "/app/kb_article")
        #expect(Markdown.safeURL("#part") == "#part")
        #expect(Markdown.safeURL("page?x=a:b") == "page?x=a:b")
        for refused in ["javascript:alert(1)", " JAVASCRIPT:alert(1)", "java\nscript:alert(1)", "&#106;&#97;vascript:x", "&#x6a;avascript:x",
                        "javascript&colon;x", "jav&Tab;ascript:x", "vbscript:x", "data:text/html,x", "file:///etc/passwd", "\u{FEFF}javascript:x", ""] {
            #expect(Markdown.safeURL(refused) == nil, "\(refused.debugDescription) should be refused")
        }
    }

    @Test func commonMarkdownRendersToTheExpectedHTML() {
        #expect(Markdown.html("# 标题 #\n\n正文 *强调* **加粗** ~~删除~~ `a<b`") ==
                "<h1>标题</h1>\n<p>正文 <em>强调</em> <strong>加粗</strong> <del>删除</del> <code>a&lt;b</code></p>")
        #expect(Markdown.html("- one\n- two\n  - nested\n\n1. first\n2. second") ==
                "<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>nested</li>\n</ul></li>\n</ul>\n<ol>\n<li>first</li>\n<li>second</li>\n</ol>")
        #expect(Markdown.html("3) third") == "<ol start=\"3\">\n<li>third</li>\n</ol>")
        #expect(Markdown.html("> quoted\ncontinued\n\n---") == "<blockquote>\n<p>quoted\ncontinued</p>\n</blockquote>\n<hr>")
        #expect(Markdown.html("```swift\nlet a = \"<b>\"\n```") == "<pre><code class=\"language-swift\">let a = &quot;&lt;b&gt;&quot;\n</code></pre>")
        #expect(Markdown.html("    indented <code>") == "<pre><code>indented &lt;code&gt;\n</code></pre>")
        #expect(Markdown.html("[手册](https://example.com/m \"说明\") 和 ![logo](/static/logo.png)") ==
                "<p><a href=\"https://example.com/m\" title=\"说明\" rel=\"nofollow noopener noreferrer\">手册</a> 和 <img src=\"/static/logo.png\" alt=\"logo\" loading=\"lazy\"></p>")
        #expect(Markdown.html("<https://example.com> <sales@example.com>") ==
                "<p><a href=\"https://example.com\" rel=\"nofollow noopener noreferrer\">https://example.com</a> <a href=\"mailto:sales@example.com\" rel=\"nofollow noopener noreferrer\">sales@example.com</a></p>")
        #expect(Markdown.html("line one  \nline two\\\nthree") == "<p>line one<br>\nline two<br>\nthree</p>")
        #expect(Markdown.html("| 模块 | 版本 |\n|:--|--:|\n| 销售 | 1.0 |") ==
                "<div class=\"table-scroll\"><table>\n<thead><tr><th class=\"align-left\">模块</th><th class=\"align-right\">版本</th></tr></thead>\n<tbody>\n<tr><td class=\"align-left\">销售</td><td class=\"align-right\">1.0</td></tr>\n</tbody>\n</table></div>")
        #expect(Markdown.html("snake_case_name and 2*3*4") == "<p>snake_case_name and 2<em>3</em>4</p>")
        #expect(Markdown.html("\\*not emphasis\\*") == "<p>*not emphasis*</p>")
    }

    /// Pathological input stays fast (linear searches) and shallow (nesting capped).
    @Test func pathologicalInputIsRenderedQuickly() {
        let inputs: [(String, String)] = [
            ("*a × 20 000", String(repeating: "*a", count: 20_000)), ("[ × 40 000", String(repeating: "[", count: 40_000)),
            ("> × 40 000", String(repeating: ">", count: 40_000)), ("- × 5 000", String(repeating: "- ", count: 5_000) + "x"),
            ("`a × 20 000", String(repeating: "`a", count: 20_000)), ("_a × 20 000", String(repeating: "_a ", count: 20_000)),
            ("![ ]( × 20 000", String(repeating: "![", count: 20_000) + String(repeating: "](", count: 20_000)),
            ("** × 20 000", String(repeating: "**a ", count: 20_000)), ("lines × 20 000", String(repeating: "> - 1. x\n", count: 20_000)),
        ]
        for (name, source) in inputs {
            let started = Date()
            let html = Markdown.html(source)
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds < 5, "rendering \(name) took \(seconds) s (debug build)")
            Self.expectSafe(html, name)
        }
    }

    @Test func lineDiffFindsTheChangedLines() {
        #expect(LineDiff.lines("a\nb\nc", "a\nB\nc") == [.same("a"), .removed("b"), .added("B"), .same("c")])
        #expect(LineDiff.lines("", "x") == [.added("x")])
        #expect(LineDiff.lines("x\ny", "") == [.removed("x"), .removed("y")])
        #expect(LineDiff.lines("1\n2\n3\n4", "0\n1\n3\n4\n5") == [.added("0"), .same("1"), .removed("2"), .same("3"), .same("4"), .added("5")])
        let long = (1...3000).map { "line \($0)" }
        var edited = long
        edited[1500] = "changed"
        let diff = LineDiff.diff(long, edited)
        #expect(diff.filter { $0 != .same($0.text) } == [.removed("line 1501"), .added("changed")])
    }
}

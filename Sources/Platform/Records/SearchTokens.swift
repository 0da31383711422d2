import Foundation

/// A search query split the way `atrium_search_tokens` (migration 13) splits a record's search
/// text, so `q=` can find candidates through `record_search_tokens` — an index PostgreSQL may
/// use under forced RLS — before the exact `LIKE` decides.
///
/// - Chinese (CJK ideographs): every two neighbouring characters; a record matches a run when
///   it holds all of its bigrams, so Chinese still matches anywhere in the text.
/// - ASCII letters and digits: words, matched as prefixes of the record's words (`hua` finds
///   "Huatong", `tong` does not) — the rule of most CRMs' search boxes.
/// - A query with no piece of two or more characters uses no tokens and scans as before.
///
/// ```swift
/// SearchTokens(query: "北京华通 hua")   // bigrams ["北京", "京华", "华通"], words ["hua"]
/// ```
struct SearchTokens {
    var bigrams: [String] = []
    var words: [String] = []

    /// Conditions beyond this many add more work than they save (each is one index range).
    static let maxConditions = 3

    init(query: String) {
        var word = ""
        var run: [Character] = []
        func flush() {
            if word.count >= 2 { words.append(String(word.prefix(60))) }
            word = ""
            if run.count >= 2 {
                for index in 0..<(run.count - 1) { bigrams.append(String(run[index...index + 1])) }
            }
            run = []
        }
        for character in query.lowercased() {
            if character.isASCII, let scalar = character.unicodeScalars.first, Self.isWordScalar(scalar) {
                if !run.isEmpty { flush() }
                word.append(character)
            } else if character.unicodeScalars.count == 1, let scalar = character.unicodeScalars.first, Self.isCJK(scalar) {
                if !word.isEmpty { flush() }
                run.append(character)
            } else {
                flush()
            }
        }
        flush()
        bigrams = Array(Set(bigrams)).sorted()
        words = Array(Set(words)).sorted()
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// The ranges `[㐀-䶿一-鿿豈-﫿]` of the SQL function.
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        (0x3400...0x4DBF).contains(scalar.value) || (0x4E00...0x9FFF).contains(scalar.value) || (0xF900...0xFAFF).contains(scalar.value)
    }

    /// The pieces to look up: longer words first (more selective), then bigrams spread over
    /// the query, at most ``maxConditions``.
    var chosen: [(token: String, prefix: Bool)] {
        let byLength = words.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        var picked = byLength.map { ($0, true) }
        if !bigrams.isEmpty {
            let stride = max(1, bigrams.count / Self.maxConditions)
            picked += Swift.stride(from: 0, to: bigrams.count, by: stride).map { (bigrams[$0], false) }
        }
        return Array(picked.prefix(Self.maxConditions))
    }

    /// `r.id IN (…)` conditions on the token table, with `bind` adding parameters.
    func conditions(tenant: String, entity: String, alias: String, bind: (String) -> String) -> [String] {
        chosen.map { token, prefix in
            let test = prefix ? "st.token >= \(bind(token)) AND st.token < \(bind(token + "\u{10FFFF}"))" : "st.token = \(bind(token))"
            return "\(alias).id IN (SELECT st.record_id FROM record_search_tokens st WHERE st.tenant_id = \(tenant) AND st.entity = \(entity) AND \(test))"
        }
    }
}

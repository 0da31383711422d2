import Foundation

/// UI strings per language, from `Resources/locales/<locale>.json` (nested objects of strings).
///
/// Templates read them as `{{t.login.title}}`; code reads them with ``string(_:locale:)``.
/// Every key of `en.json` must exist in `zh-CN.json` and vice versa (a test checks).
public struct Localizer: @unchecked Sendable {
    public static let supported = ["zh-CN", "en"]
    public static let fallback = "en"

    /// Nested dictionaries as loaded, for template contexts. Immutable after init.
    private let trees: [String: [String: Any]]
    private let flat: [String: [String: String]]

    /// Loads `directory` and then each of `extra` (modules' locale files), whose top-level
    /// keys (`sales`, …) are added next to the platform's.
    public init(directory: URL, extra: [URL] = []) throws {
        var trees: [String: [String: Any]] = [:]
        var flat: [String: [String: String]] = [:]
        for locale in Self.supported {
            var tree: [String: Any] = [:]
            for dir in [directory] + extra {
                let data = try Data(contentsOf: dir.appendingPathComponent("\(locale).json"))
                guard let part = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw ConfigurationError(variable: "\(dir.lastPathComponent)/\(locale).json", message: "is not a JSON object")
                }
                tree = Self.merged(tree, part)
            }
            trees[locale] = tree
            flat[locale] = Self.flatten(tree)
        }
        self.trees = trees
        self.flat = flat
    }

    /// `extra` laid over `base`, nested objects merged key by key.
    static func merged(_ base: [String: Any], _ extra: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in extra {
            if let nested = value as? [String: Any], let existing = result[key] as? [String: Any] {
                result[key] = merged(existing, nested)
            } else {
                result[key] = value
            }
        }
        return result
    }

    static func flatten(_ tree: [String: Any], prefix: String = "") -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in tree {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if let string = value as? String {
                result[path] = string
            } else if let nested = value as? [String: Any] {
                result.merge(flatten(nested, prefix: path)) { $1 }
            }
        }
        return result
    }

    public func tree(_ locale: String) -> [String: Any] {
        trees[locale] ?? trees[Self.fallback] ?? [:]
    }

    public func keys(_ locale: String) -> Set<String> {
        flat[locale].map { Set($0.keys) } ?? []
    }

    /// The string for `key`, with `{name}` placeholders filled from `arguments`.
    public func string(_ key: String, locale: String, _ arguments: [String: String] = [:]) -> String? {
        guard var text = flat[locale]?[key] ?? flat[Self.fallback]?[key] else { return nil }
        for (name, value) in arguments {
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return text
    }

    /// Picks the UI language: the user's setting, then the `atrium_lang` cookie, then
    /// `Accept-Language` (first supported entry by q-order), then English.
    public static func choose(userLocale: String?, cookie: String?, acceptLanguage: String?) -> String {
        if let userLocale, supported.contains(userLocale) { return userLocale }
        if let cookie, supported.contains(cookie) { return cookie }
        if let acceptLanguage {
            let ranked = acceptLanguage.split(separator: ",").enumerated().compactMap { index, part -> (String, Double, Int)? in
                let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let tag = pieces.first, !tag.isEmpty else { return nil }
                let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
                return (tag.lowercased(), q, index)
            }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 < $1.2 }
            for (tag, q, _) in ranked where q > 0 {
                if tag.hasPrefix("zh") { return "zh-CN" }
                if tag.hasPrefix("en") { return "en" }
            }
        }
        return fallback
    }
}

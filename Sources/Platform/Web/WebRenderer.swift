import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders Mustache pages in the caller's language and serves the static assets.
///
/// Every page extends `layout.mustache`; each render gets `t` (the locale's strings),
/// `lang`, and whatever the handler adds. `{{…}}` escapes HTML, so user text is always shown
/// as text; templates never use the unescaped `{{{…}}}` form for user data.
public struct WebRenderer: @unchecked Sendable {
    let library: MustacheLibrary
    public let localizer: Localizer
    let assets: [String: (contentType: String, body: ByteBuffer)]

    /// Loads templates, locales and static files from `directory` (defaults to the bundled
    /// `Resources`, overridable with `ATRIUM_RESOURCES`).
    /// `modules` are further resource directories (templates/ and locales/) of feature modules.
    public static func load(directory: URL? = nil, modules: [URL] = []) async throws -> WebRenderer {
        let root = directory ?? PlatformResources.directory
        var library = try await MustacheLibrary(directory: root.appendingPathComponent("templates").path)
        for module in modules {
            let templates = module.appendingPathComponent("templates")
            for name in try FileManager.default.contentsOfDirectory(atPath: templates.path).sorted() where name.hasSuffix(".mustache") {
                let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            }
        }
        let localizer = try Localizer(directory: root.appendingPathComponent("locales"), extra: modules.map { $0.appendingPathComponent("locales") })
        var assets: [String: (String, ByteBuffer)] = [:]
        let staticDirs = [root.appendingPathComponent("static")] + modules.map { $0.appendingPathComponent("static") }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        for staticDir in staticDirs {
          for name in try FileManager.default.contentsOfDirectory(atPath: staticDir.path) {
            let data = try Data(contentsOf: staticDir.appendingPathComponent(name))
            let type = name.hasSuffix(".css") ? "text/css; charset=utf-8"
                : name.hasSuffix(".js") ? "text/javascript; charset=utf-8"
                : name.hasSuffix(".svg") ? "image/svg+xml" : "application/octet-stream"
            assets[name] = (type, ByteBuffer(bytes: data))
          }
        }
        return WebRenderer(library: library, localizer: localizer, assets: assets)
    }

    /// A template rendered to text with the locale's strings, for a part of a page.
    public func fragment(_ template: String, locale: String, _ values: [String: Any]) -> String {
        library.render(context(values, locale: locale), withTemplate: template) ?? ""
    }

    /// `values` with the locale's strings (`t`), `lang` and `is_zh`.
    func context(_ values: [String: Any], locale: String) -> [String: Any] {
        var context = values
        context["t"] = localizer.tree(locale)
        context["lang"] = locale
        context["is_zh"] = locale == "zh-CN"
        return context
    }

    public func html(_ template: String, locale: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], _ values: [String: Any] = [:]) -> Response {
        let body = library.render(context(values, locale: locale), withTemplate: template) ?? "template \(template) missing"
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: asset.body)
        )
    }
}

/// Where the bundled templates, locales and static files are.
public enum PlatformResources {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["ATRIUM_RESOURCES"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return Bundle.module.bundleURL.appendingPathComponent("Resources")
    }
}

import Foundation

/// A ready-made report a module ships as data (issue 21: 一键报表): offered to everyone on the
/// reports page while the module is on, and shown on the home page of users whose roles it names
/// until they pin reports of their own (the default dashboard per role). Like any report it runs
/// as the viewer, so the salesperson's "pipeline by stage" is her own pipeline.
public struct ModuleReport: Sendable {
    /// Unique across modules, e.g. `sales.pipeline_by_stage`.
    public let key: String
    public let names: [String: String]
    /// The definition as JSON text (see ``ReportDefinition``); a test runs every module's.
    public let definitionText: String
    /// Role keys whose default dashboard shows it (`administrator` for tenant administrators).
    public let roles: [String]

    public init(key: String, names: [String: String], definition: String, roles: [String]) {
        self.key = key
        self.names = names
        self.definitionText = definition
        self.roles = roles
    }

    public var definition: ReportDefinition? {
        (try? JSONValue.parse(definitionText)).flatMap { try? ReportDefinition(json: $0) }
    }

    public func name(locale: String) -> String {
        names[locale] ?? names[String(locale.prefix(2))] ?? names["en"] ?? key
    }
}

import Foundation
import Platform

/// The feature modules compiled into this build. `plugins.json` chooses among them.
///
/// Sales, Marketing, Service, Expenses, Knowledge and Activities are modules in their own folders (Sources/Modules/<Name>); the others declare
/// identity, labels and grants only so far, so tenants can enable them and the UI can list them.
public enum BuiltInModules {
    public static let all: [ModuleManifest] = [
        SalesModule.manifest,
        MarketingModule.manifest,
        ServiceModule.manifest,
        KnowledgeModule.manifest,
        ExpensesModule.manifest,
        ActivitiesModule.manifest,
        ModuleManifest(id: "purchasing", version: "0.1.0", names: ["en": "Purchasing", "zh-CN": "采购"],
                       defaultGrants: ["administrator": DefaultRoles.working(.all), "purchaser": DefaultRoles.working(.own),
                                       "finance": DefaultRoles.readAll, "read_only": DefaultRoles.rights([(.read, .all)])],
                       roles: [ModuleRole(key: "purchaser", labels: ["en": "Purchaser", "zh-CN": "采购员"], customGrants: DefaultRoles.working(.own))]),
    ]

    /// The modules' templates, locale files and static files (loaded next to the platform's).
    public static var resources: URL {
        if let override = ProcessInfo.processInfo.environment["ATRIUM_MODULE_RESOURCES"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return Bundle.module.bundleURL.appendingPathComponent("Resources")
    }
}

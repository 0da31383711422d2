import Foundation
import Platform

/// The feature modules compiled into this build. `plugins.json` chooses among them.
///
/// Every module lives in its own folder (Sources/Modules/<Name>).
public enum BuiltInModules {
    public static let all: [ModuleManifest] = [
        SalesModule.manifest,
        MarketingModule.manifest,
        ServiceModule.manifest,
        KnowledgeModule.manifest,
        ExpensesModule.manifest,
        ActivitiesModule.manifest,
        PurchasingModule.manifest,
    ]

    /// The modules' templates, locale files and static files (loaded next to the platform's).
    public static var resources: URL {
        if let override = ProcessInfo.processInfo.environment["ATRIUM_MODULE_RESOURCES"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return Bundle.module.bundleURL.appendingPathComponent("Resources")
    }
}

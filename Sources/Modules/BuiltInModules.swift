import Platform

/// The feature modules compiled into this build. `plugins.json` chooses among them.
///
/// Each module's manifest grows in its own folder as the module is built (Sales, Marketing,
/// Service, Knowledge, Expenses, Purchasing); today they declare identity and labels only,
/// so tenants can enable them and the UI can list them.
public enum BuiltInModules {
    public static let all: [ModuleManifest] = [
        ModuleManifest(id: "sales", version: "0.1.0", names: ["en": "Sales", "zh-CN": "销售"]),
        ModuleManifest(id: "marketing", version: "0.1.0", names: ["en": "Marketing", "zh-CN": "市场"], depends: ["sales"]),
        ModuleManifest(id: "service", version: "0.1.0", names: ["en": "Service", "zh-CN": "服务"]),
        ModuleManifest(id: "knowledge", version: "0.1.0", names: ["en": "Knowledge base", "zh-CN": "知识库"]),
        ModuleManifest(id: "expenses", version: "0.1.0", names: ["en": "Expenses", "zh-CN": "费用"]),
        ModuleManifest(id: "purchasing", version: "0.1.0", names: ["en": "Purchasing", "zh-CN": "采购"]),
    ]
}

import Foundation
import Platform

/// The knowledge module (知识库): the team's shared memory — a category tree, articles that go
/// through review before everyone reads them, and announcements shown for a period. Its
/// entities, rules, roles' rights, layouts, set-up and demo data all live in this folder.
public enum KnowledgeModule {
    public static let manifest = ModuleManifest(
        id: "knowledge", version: "0.2.0", names: ["en": "Knowledge base", "zh-CN": "知识库"],
        entities: KnowledgeEntities.all, hooks: KnowledgeRules.hooks, setUp: KnowledgeSetUp.run,
        pages: [ModulePage(path: "/app/kb_article?f0=status&op0=eq&v0=published", labelKey: "knowledge.nav.published", requires: "kb_article")],
        defaultGrants: defaultGrants, demoData: KnowledgeDemoData.seed, layouts: layouts)

    /// Everyone reads the knowledge base; service agents write it (they answer the questions).
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "sales_director": DefaultRoles.readAll,
        "sales_manager": DefaultRoles.readAll,
        "salesperson": DefaultRoles.readAll,
        "service_agent": DefaultRoles.working(.all),
        "purchaser": DefaultRoles.readAll,
        "finance": DefaultRoles.readAll,
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]

    static let layouts: [ModuleLayout] = [
        ModuleLayout(entity: "kb_article", sections: [
            LayoutSection(titles: ["en": "Article", "zh-CN": "文章"], fields: ["number", "title", "category", "status", "audience", "tags"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["summary", "body"]),
            LayoutSection(titles: ["en": "Related and review", "zh-CN": "关联与复审"], fields: ["product", "account", "review_by", "published_at"]),
        ]),
        ModuleLayout(entity: "announcement", sections: [
            LayoutSection(titles: ["en": "Announcement", "zh-CN": "公告"], fields: ["title", "importance", "pinned", "starts_on", "ends_on"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["body"]),
        ]),
    ]
}

/// What a tenant gets when it enables the module: the usual top categories (once).
enum KnowledgeSetUp {
    static let categories: [(String, String, Int)] = [
        ("产品资料", "Product material", 10), ("销售手册", "Sales playbook", 20), ("常见问题", "FAQ", 30), ("公司制度", "Company policies", 40),
    ]

    static let run: ModuleSetUp = { engine, actor, connection, logger in
        let store = ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
        guard try await store.all("kb_category").isEmpty else { return }
        for (name, english, position) in categories {
            _ = try await store.create("kb_category", ["name": .string(name), "name_en": .string(english), "position": .number(Decimal(position))])
        }
    }
}

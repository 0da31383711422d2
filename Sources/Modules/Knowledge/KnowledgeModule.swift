import Foundation
import Platform

/// The knowledge module (知识库): the team's shared memory — a category tree, articles that go
/// through review before everyone reads them, announcements shown for a period, and
/// discussions (问题讨论) whose solved questions become articles. Its
/// entities, rules, roles' rights, layouts, set-up and demo data all live in this folder.
public enum KnowledgeModule {
    public static let manifest = ModuleManifest(
        id: "knowledge", version: "0.4.0", names: ["en": "Knowledge base", "zh-CN": "知识库"],
        entities: KnowledgeEntities.all + DocumentLibraryEntities.all, hooks: KnowledgeRules.hooks + DocumentLibraryRules.hooks, routes: KnowledgeRoutes(),
        setUp: KnowledgeSetUp.run,
        pages: [ModulePage(path: "/app/kb_article?f0=status&op0=eq&v0=published", labelKey: "knowledge.nav.published", requires: "kb_article"),
                ModulePage(path: "/app/announcement", labelKey: "knowledge.nav.announcements", requires: "announcement"),
                ModulePage(path: "/app/knowledge/search", labelKey: "knowledge.nav.search", requires: "kb_article"),
                ModulePage(path: "/app/knowledge/favourites", labelKey: "knowledge.nav.favourites", requires: "kb_article"),
                ModulePage(path: "/app/knowledge/boards", labelKey: "knowledge.nav.discussions", requires: "kb_topic"),
                ModulePage(path: DocumentLibraryPages.home, labelKey: "knowledge.library.nav", requires: "doc_document")],
        actions: [ModuleAction(entity: "kb_article", labelKey: "knowledge.actions.read", path: "/app/knowledge/articles/{id}", right: .read),
                  ModuleAction(entity: "kb_article", labelKey: "knowledge.actions.versions", path: "/app/knowledge/articles/{id}/versions", right: .read),
                  ModuleAction(entity: "announcement", labelKey: "knowledge.actions.open_announcement", path: "/app/knowledge/announcements/{id}", right: .read),
                  ModuleAction(entity: "kb_topic", labelKey: "knowledge.actions.open_topic", path: "/app/knowledge/topics/{id}", right: .read),
                  ModuleAction(entity: "doc_document", labelKey: "knowledge.library.open_document", path: "/app/knowledge/library/documents/{id}", right: .read)],
        defaultGrants: defaultGrants, entityGrants: entityGrants.merging(DocumentLibraryEntities.entityGrants) { $0.merging($1) { first, _ in first } },
        migrations: [ArticleFeedback.migration, ArticleFavourites.migration, KnowledgeReminders.migration],
        demoData: KnowledgeDemoData.seed, layouts: layouts + DocumentLibraryEntities.layouts, jobs: [KnowledgeReminders.reviewJob],
        notificationKinds: ["knowledge.review_due", "knowledge.announcement_unread"], homeBlocks: [CurrentAnnouncements()])

    /// Service agents and administrators write the knowledge base (they answer the questions)
    /// and see every article, drafts included. Everyone else reads articles by share only — a
    /// published article is shared with its category's readers (``ArticleReaders``), so
    /// drafts stay private — and reads the announcements meant for them.
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "service_agent": DefaultRoles.working(.all),
        "read_only": DefaultRoles.rights([(.read, .own)]),
    ].merging(readers.map { ($0, DefaultRoles.rights([(.read, .own), (.export, .own)])) }) { first, _ in first }

    static let readers = ["sales_director", "sales_manager", "salesperson", "purchaser", "finance"]

    /// Article versions are written by the article's rule only: the roles that write articles
    /// read them (readers see them on the article's versions page, through the article).
    /// Announcements reach readers by share, like articles (their audience: ``Audience``).
    ///
    /// Discussions are open to everyone who uses the module: every reader role reads all
    /// topics, starts its own and changes (and so accepts the answer of) its own; read-only
    /// users read them. Administrators and service agents have every right on them through the
    /// module's grant (they moderate).
    static let entityGrants: [String: [String: [String: DataScope]]] = [
        "administrator": ["kb_article_version": versionsReadOnly],
        "service_agent": ["kb_article_version": versionsReadOnly],
        "read_only": ["kb_topic": DefaultRoles.readAll],
    ].merging(readers.map { ($0, ["kb_topic": topicsOwnWrite]) }) { first, _ in first }

    static let topicsOwnWrite = DefaultRoles.rights([(.read, .all), (.export, .all), (.create, .all), (.update, .own), (.delete, .own), (.share, .none)])

    /// An entity grant overrides the module's per action, so the writes are named as none.
    static let versionsReadOnly = DefaultRoles.rights([(.read, .all), (.export, .all), (.create, .none), (.update, .none), (.delete, .none), (.share, .none)])

    static let layouts: [ModuleLayout] = [
        ModuleLayout(entity: "kb_article", sections: [
            LayoutSection(titles: ["en": "Article", "zh-CN": "文章"], fields: ["number", "title", "category", "status", "audience", "tags"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["summary", "body"]),
            LayoutSection(titles: ["en": "Related and review", "zh-CN": "关联与复审"], fields: ["product", "account", "review_by", "published_at", "revision"]),
        ]),
        ModuleLayout(entity: "kb_article_version", sections: [
            LayoutSection(titles: ["en": "Version", "zh-CN": "版本"], fields: ["article", "revision", "title", "editor", "edited_at"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["summary", "body"]),
        ]),
        ModuleLayout(entity: "announcement", sections: [
            LayoutSection(titles: ["en": "Announcement", "zh-CN": "公告"], fields: ["title", "importance", "pinned", "starts_on", "ends_on"]),
            LayoutSection(titles: ["en": "For whom", "zh-CN": "发布范围"], fields: ["audience", "target_department", "target_roles"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["body"]),
        ]),
        ModuleLayout(entity: "kb_topic", sections: [
            LayoutSection(titles: ["en": "Topic", "zh-CN": "主题"], fields: ["title", "board", "status", "solved_at", "article"]),
            LayoutSection(titles: ["en": "Question", "zh-CN": "问题"], columns: 1, fields: ["body"]),
        ]),
        ModuleLayout(entity: "kb_board", sections: [
            LayoutSection(titles: ["en": "Board", "zh-CN": "讨论版"], fields: ["name", "category", "position"]),
            LayoutSection(titles: ["en": "Description", "zh-CN": "说明"], columns: 1, fields: ["description"]),
        ]),
        ModuleLayout(entity: "kb_category", sections: [
            LayoutSection(titles: ["en": "Category", "zh-CN": "分类"], fields: ["name", "name_en", "parent", "position"]),
            LayoutSection(titles: ["en": "Who reads its articles", "zh-CN": "阅读权限"], fields: ["readers", "reader_department", "reader_roles"]),
            LayoutSection(titles: ["en": "Description", "zh-CN": "说明"], columns: 1, fields: ["description"]),
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

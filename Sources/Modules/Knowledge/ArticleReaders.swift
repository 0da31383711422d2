import Foundation
import Platform

/// Who reads an article, enforced by the shared permission layer (record shares), not by the
/// module: readers' roles reach articles with the `own` scope only, so a draft is private to
/// its author (and to the editors whose scope is `all`); publishing shares the article for
/// reading with the audience its category names — every role of the tenant, the chosen roles,
/// or a department and every department below it — and leaving `published` takes those shares
/// back. The engine then applies them everywhere: record pages, lists, search, counts, exports,
/// the module's own routes (they read the article through the engine first).
///
/// The module keeps only the department and role shares with read access; a share to a user,
/// or any write share, is someone's deliberate choice and is left alone. A role or department
/// created after publication is reached when the article or its category is saved again.
enum ArticleReaders {
    /// Makes the article's managed shares those of its category while it is published, none
    /// otherwise. Runs as the derived actor of the rule (audited under the user).
    static func sync(_ article: Record, store: ModuleStore) async throws {
        var wanted: [RecordEngine.Share] = []
        if article.string("status") == "published" {
            let category = try await store.derived.get("kb_category", article.string("category"))
            wanted = try await Audience(category, fields: Audience.categoryFields).shares(store: store.derived)
        }
        try await Audience.sync(article, wanted: wanted, store: store)
    }

    /// After a category's audience changed: its published articles follow.
    static func syncCategory(_ category: Record, store: ModuleStore) async throws {
        let filter = ModuleStore.and([ModuleStore.eq("category", category.idText), ModuleStore.eq("status", "published")])
        for article in try await store.derived.all("kb_article", filter: filter) {
            try await sync(article, store: store)
        }
    }

    static let audienceFields = ["readers", "reader_department", "reader_roles"]
}

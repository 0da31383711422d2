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
    /// The shares a published article of `category` should have.
    static func audience(of category: Record?, store: ModuleStore) async throws -> [RecordEngine.Share] {
        let organisation = OrganisationAdmin()
        switch category?.string("readers") ?? "everyone" {
        case "departments":
            guard let root = category?.string("reader_department").flatMap(UUID.init(uuidString:)) else { return [] }
            let departments = try await organisation.departments(on: store.connection, logger: store.logger)
            var reached: Set<UUID> = [root]
            var grew = true
            while grew {
                let below = departments.filter { department in
                    department.parentID.map { reached.contains($0) } ?? false && !reached.contains(department.id)
                }.map(\.id)
                grew = !below.isEmpty
                reached.formUnion(below)
            }
            return reached.sorted { $0.uuidString < $1.uuidString }.map { RecordEngine.Share(kind: "department", granteeID: $0, access: "read") }
        case "roles":
            let keys = Set(category?.values["reader_roles"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            return try await organisation.roles(on: store.connection, logger: store.logger).filter { keys.contains($0.key) }
                .map { RecordEngine.Share(kind: "role", granteeID: $0.id, access: "read") }
        default:
            return try await organisation.roles(on: store.connection, logger: store.logger)
                .map { RecordEngine.Share(kind: "role", granteeID: $0.id, access: "read") }
        }
    }

    /// Makes the article's managed shares those of its category while it is published, none
    /// otherwise. Runs as the derived actor of the rule (audited under the user).
    static func sync(_ article: Record, store: ModuleStore) async throws {
        let derived = store.derived
        var wanted: [RecordEngine.Share] = []
        if article.string("status") == "published" {
            wanted = try await audience(of: try await derived.get("kb_category", article.string("category")), store: derived)
        }
        let current = try await derived.engine.shares("kb_article", id: article.id, as: derived.actor, on: derived.connection, logger: derived.logger)
        for share in current where share.kind != "user" && share.access == "read"
            && !wanted.contains(where: { $0.kind == share.kind && $0.granteeID == share.granteeID }) {
            try await derived.engine.unshare("kb_article", id: article.id, kind: share.kind, grantee: share.granteeID,
                                             as: derived.actor, on: derived.connection, logger: derived.logger)
        }
        for share in wanted where !current.contains(where: { $0.kind == share.kind && $0.granteeID == share.granteeID }) {
            try await derived.engine.share("kb_article", id: article.id, share, as: derived.actor, on: derived.connection, logger: derived.logger)
        }
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

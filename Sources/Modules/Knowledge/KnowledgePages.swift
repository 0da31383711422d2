import Foundation
import Hummingbird
import Platform

/// Web pages of the knowledge module in the shared shell: reading an article (its Markdown
/// body rendered safe, "was this helpful", views, its comments), its versions with a diff and restore, and
/// an announcement (opening it is the read receipt; who may change it sees who has read it).
/// Each reads and writes through the engine as the signed-in user.
struct KnowledgePages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/knowledge/articles/:id", use: article)
        router.post("app/knowledge/articles/:id/vote", use: vote)
        router.post("app/knowledge/articles/:id/favourite", use: favourite)
        router.get("app/knowledge/favourites", use: favourites)
        router.get("app/knowledge/articles/:id/versions", use: versions)
        router.get("app/knowledge/articles/:id/diff", use: diff)
        router.post("app/knowledge/articles/:id/versions/:revision/restore", use: restore)
        router.get("app/knowledge/announcements/:id", use: announcement)
        router.post("app/knowledge/announcements/:id/remind", use: remindUnread)
        router.get("app/knowledge/search", use: search)
    }

    func label(_ options: [PicklistOption], _ value: String?, _ locale: String) -> String {
        guard let value else { return "" }
        return options.first { $0.value == value }.map { DisplayFormat.label($0.labels, locale: locale, fallback: value) } ?? value
    }

    func time(_ text: String?) -> String {
        guard let text, let date = try? Date(text, strategy: .iso8601) else { return text ?? "" }
        return DisplayFormat.dateTime(date)
    }

    @Sendable func article(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "kb_article") { page, db in
            let store = store(page, db)
            let article = try await KnowledgeAPI.read("kb_article", id, store: store)
            // Opening the page is a view (one narrow upsert, no audit row: see ArticleFeedback).
            try await ArticleFeedback.view(id, by: page.actor.user.id, on: db.connection, logger: db.logger)
            let counts = try await ArticleFeedback.counts(id, for: page.actor.user.id, on: db.connection, logger: db.logger)
            let category = try await store.get("kb_category", article.string("category"))
            let lang = page.locale
            let canEdit = try await KnowledgeAPI.mayUpdate(article, store: store)
            let starred = try await ArticleFavourites.ids(of: page.actor.user.id, on: db.connection, logger: db.logger).contains(id)
            // Documents attached to the article (the platform's files; the download checks the record again).
            let files = try await Attachments(engine: web.engine, files: web.services.files)
                .list(of: "kb_article", id: id, as: page.actor, on: db.connection, logger: db.logger)
            let categoryName = category.map { (lang == "en" ? $0.string("name_en") : nil) ?? $0.string("name") ?? "" } ?? ""
            // The platform's comment thread of the article, its forms returning here.
            guard let entity = page.entities["kb_article"] else { throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity 'kb_article'") }
            var thread = try await web.commentsPanel(article, entity: entity, page: page, db: db)
            thread["back"] = "/app/knowledge/articles/\(article.idText)"
            return web.render("knowledge_article", page, [
                "thread": thread,
                "title": article.string("title") ?? "", "id": article.idText, "number": article.string("number") ?? "",
                "category": categoryName, "category_id": category?.idText ?? "",
                "status": label(KnowledgeEntities.articleStatuses, article.string("status"), lang), "status_key": article.string("status") ?? "",
                "published_at": time(article.string("published_at")), "revision": "\(ArticleVersions.revision(of: article))",
                "author": article.ownerID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                "summary": article.string("summary") ?? "", "tags": article.string("tags") ?? "",
                "html": Markdown.html(article.string("body") ?? ""),
                "helpful": "\(counts.helpful)", "not_helpful": "\(counts.notHelpful)", "views": "\(counts.views)", "readers": "\(counts.readers)",
                "voted_yes": counts.mine == true, "voted_no": counts.mine == false,
                "can_edit": canEdit, "starred": starred, "has_files": !files.isEmpty,
                "files": files.map { ["name": $0.fileName, "size": DisplayFormat.fileSize($0.byteSize),
                                      "href": "/app/kb_article/\(article.idText)/attachments/\($0.id.uuidString.lowercased())"] },
            ])
        }
    }

    @Sendable func vote(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            _ = try await KnowledgeAPI.read("kb_article", id, store: store(page, db))
            try await ArticleFeedback.vote(id, by: page.actor.user.id, helpful: form["helpful"] == "yes", on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/knowledge/articles/\(id.uuidString.lowercased())?notice=voted#feedback")
        }
    }

    @Sendable func favourite(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            _ = try await KnowledgeAPI.read("kb_article", id, store: store(page, db))
            try await ArticleFavourites.set(id, for: page.actor.user.id, starred: form["starred"] == "yes", on: db.connection, logger: db.logger)
            return WebApp.redirect(LocalPath.safe(form["back"]) ?? "/app/knowledge/articles/\(id.uuidString.lowercased())")
        }
    }

    @Sendable func favourites(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "kb_article") { page, db in
            let store = store(page, db)
            try await KnowledgeAPI.requireEnabled(store)
            let articles = try await ArticleFavourites.articles(of: page.actor.user.id, store: store)
            return web.render("knowledge_favourites", page, [
                "title": web.t("knowledge.nav.favourites", page.locale), "none": articles.isEmpty,
                "articles": articles.map { ["id": $0.idText, "title": $0.string("title") ?? "", "number": $0.string("number") ?? "",
                                            "summary": $0.string("summary") ?? "", "published_at": time($0.string("published_at"))] },
            ])
        }
    }

    @Sendable func versions(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "kb_article") { page, db in
            let store = store(page, db)
            let article = try await KnowledgeAPI.read("kb_article", id, store: store)
            let revisions = try await ArticleVersions.revisions(of: article, store: store)
            let canEdit = try await KnowledgeAPI.mayUpdate(article, store: store)
            let starred = try await ArticleFavourites.ids(of: page.actor.user.id, on: db.connection, logger: db.logger).contains(id)
            // Documents attached to the article (the platform's files; the download checks the record again).
            let files = try await Attachments(engine: web.engine, files: web.services.files)
                .list(of: "kb_article", id: id, as: page.actor, on: db.connection, logger: db.logger)
            return web.render("knowledge_versions", page, [
                "title": article.string("title") ?? "", "id": article.idText, "can_edit": canEdit, "several": revisions.count > 1,
                "revisions": revisions.enumerated().map { index, revision in
                    ["number": revision.number, "title": revision.title, "current": revision.current,
                     "editor": revision.editor.flatMap { page.format.names[$0] } ?? "", "at": time(revision.editedAt),
                     "from_checked": index == min(1, revisions.count - 1), "to_checked": index == 0, "can_restore": canEdit && !revision.current]
                },
            ])
        }
    }

    @Sendable func diff(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let from = try KnowledgeAPI.revisionNumber(request.uri.queryParameters["from"].map(String.init), field: "from")
        let to = try KnowledgeAPI.revisionNumber(request.uri.queryParameters["to"].map(String.init), field: "to")
        return try await web.page(request, context, current: "kb_article") { page, db in
            let store = store(page, db)
            let article = try await KnowledgeAPI.read("kb_article", id, store: store)
            let revisions = try await ArticleVersions.revisions(of: article, store: store)
            let lines = ArticleVersions.diff(try ArticleVersions.revision(from, of: revisions), try ArticleVersions.revision(to, of: revisions))
            let marks = ["same": " ", "removed": "−", "added": "+"]
            return web.render("knowledge_diff", page, [
                "title": article.string("title") ?? "", "id": article.idText, "from": "\(from)", "to": "\(to)",
                "lines": lines.map { ["kind": $0.kind, "mark": marks[$0.kind] ?? " ", "text": $0.text] },
                "added": "\(lines.filter { $0.kind == "added" }.count)", "removed": "\(lines.filter { $0.kind == "removed" }.count)",
            ])
        }
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let number = try KnowledgeAPI.revisionNumber(context.parameters.get("revision"), field: "revision")
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            let store = store(page, db)
            let article = try await KnowledgeAPI.read("kb_article", id, store: store)
            _ = try await ArticleVersions.restore(number, of: article, store: store)
            return WebApp.redirect("/app/knowledge/articles/\(id.uuidString.lowercased())/versions?notice=saved")
        }
    }

    @Sendable func announcement(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "announcement") { page, db in
            let store = store(page, db)
            let notice = try await KnowledgeAPI.read("announcement", id, store: store)
            // Opening it is the receipt (the first time counts).
            try await AnnouncementReads.markRead(id, by: page.actor.user.id, on: db.connection, logger: db.logger)
            var values: [String: Any] = [
                "title": notice.string("title") ?? "", "id": notice.idText, "html": Markdown.html(notice.string("body") ?? ""),
                "important": notice.string("importance") == "important", "pinned": notice.values["pinned"] == .bool(true),
                "starts_on": notice.string("starts_on") ?? "", "ends_on": notice.string("ends_on") ?? "",
                "author": notice.ownerID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
            ]
            if try await KnowledgeAPI.mayUpdate(notice, store: store) {
                let (read, unread) = try await AnnouncementReads.receipts(notice, on: db.connection, logger: db.logger)
                values["receipts"] = [
                    "read_count": "\(read.count)", "unread_count": "\(unread.count)",
                    "read": read.map { ["name": $0.name, "email": $0.email, "at": $0.readAt.map { DisplayFormat.dateTime($0) } ?? ""] },
                    "unread": unread.map { ["name": $0.name, "email": $0.email] },
                ] as [String: Any]
                let last = try await KnowledgeReminders.lastUnreadReminder(id, on: db.connection, logger: db.logger)
                let waiting = last.map { Date().timeIntervalSince($0) < KnowledgeReminders.unreadInterval } ?? false
                values["can_remind"] = !unread.isEmpty && !waiting
                values["reminded_at"] = last.map { DisplayFormat.dateTime($0) } ?? ""
            }
            return web.render("knowledge_announcement", page, values)
        }
    }

    @Sendable func remindUnread(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            let store = store(page, db)
            let notice = try await KnowledgeAPI.read("announcement", id, store: store)
            _ = try await KnowledgeReminders.remindUnread(notice, store: store)
            return WebApp.redirect("/app/knowledge/announcements/\(id.uuidString.lowercased())?notice=unread_reminded")
        }
    }
}

/// The home page's block of current announcements (pinned and important first), each marked
/// unread until the user opens it; nothing when there is none or the user cannot read them.
struct CurrentAnnouncements: HomeBlock {
    func render(page: WebApp.Page, db: PostgresConnectionBox, web: WebApp) async throws -> String? {
        guard let entity = page.entities["announcement"], page.actor.access.scope(entity, .read) > .none else { return nil }
        let store = ModuleStore(engine: web.engine, actor: page.actor, connection: db.connection, logger: db.logger)
        let shown = try await KnowledgeAPI.current(store: store)
        guard !shown.isEmpty else { return nil }
        let read = try await AnnouncementReads.read(shown.map(\.id), by: page.actor.user.id, on: db.connection, logger: db.logger)
        return web.fragment("knowledge_home", page, [
            "announcements": shown.prefix(5).map { notice in
                ["id": notice.idText, "title": notice.string("title") ?? "", "starts_on": notice.string("starts_on") ?? "",
                 "important": notice.string("importance") == "important", "pinned": notice.values["pinned"] == .bool(true),
                 "read": read.contains(notice.id), "summary": String((notice.string("body") ?? "").prefix(120))] as [String: Any]
            },
            "more": shown.count > 5,
        ])
    }
}

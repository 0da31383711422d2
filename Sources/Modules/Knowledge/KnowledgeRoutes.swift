import Foundation
import Hummingbird
import Platform

/// JSON API of the knowledge module (articles and announcements themselves are records:
/// `/api/v1/kb_article`, `/api/v1/announcement`, …). Every handler first reads the record
/// through the engine as the caller, so a record the caller cannot read is a 404 here too.
///
///     GET  /api/v1/knowledge/articles/{id}/rendered            {"html", "feedback"}: the body as sanitized HTML
///     POST /api/v1/knowledge/articles/{id}/views               counts one view → {"feedback"}
///     POST /api/v1/knowledge/articles/{id}/vote                {"helpful": true|false} → {"feedback"}
///     GET  /api/v1/knowledge/articles/{id}/versions            {"revisions": [{"revision", "title", …, "current"}]}
///     GET  /api/v1/knowledge/articles/{id}/diff?from=1&to=2    {"lines": [{"kind": same|removed|added, "text"}]}
///     POST /api/v1/knowledge/articles/{id}/versions/{n}/restore  the article with revision n's content (a new revision)
///     POST /api/v1/knowledge/articles/{id}/favourite           {"starred": true|false} → {"starred"}
///     GET  /api/v1/knowledge/favourites                       {"articles": […]}: the caller's starred articles they can read
///     GET  /api/v1/knowledge/announcements/current             today's announcements, pinned first, with "read"
///     POST /api/v1/knowledge/announcements/{id}/read           marks it read by the caller
///     GET  /api/v1/knowledge/announcements/{id}/receipts       {"read": […], "unread": […]} (who may change it)
///     POST /api/v1/knowledge/announcements/{id}/remind         tells the unread (who may change it; once an hour)
///     GET  /api/v1/knowledge/search?q=…&limit=20               published articles, title hits first, with snippets
struct KnowledgeRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = KnowledgeAPI(web: web)
        router.get("api/v1/knowledge/articles/:id/rendered", use: api.rendered)
        router.post("api/v1/knowledge/articles/:id/views", use: api.view)
        router.post("api/v1/knowledge/articles/:id/vote", use: api.vote)
        router.get("api/v1/knowledge/articles/:id/versions", use: api.versions)
        router.get("api/v1/knowledge/articles/:id/diff", use: api.diff)
        router.post("api/v1/knowledge/articles/:id/versions/:revision/restore", use: api.restore)
        router.post("api/v1/knowledge/articles/:id/favourite", use: api.favourite)
        router.get("api/v1/knowledge/favourites", use: api.favourites)
        router.get("api/v1/knowledge/announcements/current", use: api.current)
        router.post("api/v1/knowledge/announcements/:id/read", use: api.markRead)
        router.get("api/v1/knowledge/announcements/:id/receipts", use: api.receipts)
        router.post("api/v1/knowledge/announcements/:id/remind", use: api.remindUnread)
        router.get("api/v1/knowledge/search", use: api.search)
        KnowledgePages(web: web).register(on: router)
        DiscussionPages(web: web).register(on: router)
        DocumentLibraryAPI(web: web).register(on: router)
    }
}

struct KnowledgeAPI: ModuleHandlers {
    let web: WebApp

    static func requireEnabled(_ store: ModuleStore) async throws {
        guard try await TenantModules.enabled(on: store.connection, logger: store.logger).contains(KnowledgeModule.manifest.id) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "the knowledge module is not enabled for this company")
        }
    }

    /// The record, read as the caller with the module on (its 404 otherwise).
    static func read(_ entity: String, _ id: UUID, store: ModuleStore) async throws -> Record {
        try await requireEnabled(store)
        return try await store.get(entity, id)
    }

    /// Whether the caller may change this record (its scope for `update` reaches it).
    static func mayUpdate(_ record: Record, store: ModuleStore) async throws -> Bool {
        guard let entity = try await store.engine.entities(on: store.connection, logger: store.logger)[record.entity],
              store.actor.access.scope(entity, .update) > .none else { return false }
        let page = try await store.engine.list(record.entity, query: RecordQuery(filter: ModuleStore.eq("id", record.idText), limit: 1),
                                               action: .update, as: store.actor, on: store.connection, logger: store.logger)
        return !page.records.isEmpty
    }

    static func revisionNumber(_ text: String?, field: String) throws -> Int {
        guard let text, let number = Int(text), number > 0 else { throw AtriumError.validation(field: field, "must be a revision number") }
        return number
    }

    @Sendable func rendered(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            let article = try await Self.read("kb_article", id, store: store)
            let counts = try await ArticleFeedback.counts(id, for: store.actor.user.id, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["html": .string(Markdown.html(article.string("body") ?? "")), "feedback": counts.json]))
        }
    }

    @Sendable func view(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            _ = try await Self.read("kb_article", id, store: store)
            try await ArticleFeedback.view(id, by: store.actor.user.id, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["feedback": try await ArticleFeedback.counts(id, for: store.actor.user.id, on: store.connection, logger: store.logger).json]))
        }
    }

    @Sendable func vote(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        guard case .bool(let helpful)? = body["helpful"] else { throw AtriumError.validation(field: "helpful", "must be true or false") }
        return try await run(request, context, write: true) { store in
            _ = try await Self.read("kb_article", id, store: store)
            try await ArticleFeedback.vote(id, by: store.actor.user.id, helpful: helpful, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["feedback": try await ArticleFeedback.counts(id, for: store.actor.user.id, on: store.connection, logger: store.logger).json]))
        }
    }

    @Sendable func versions(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            let article = try await Self.read("kb_article", id, store: store)
            let revisions = try await ArticleVersions.revisions(of: article, store: store)
            return RecordRoutes.json(.object(["revisions": .array(revisions.map(\.json))]))
        }
    }

    @Sendable func diff(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let from = try Self.revisionNumber(request.uri.queryParameters["from"].map(String.init), field: "from")
        let to = try Self.revisionNumber(request.uri.queryParameters["to"].map(String.init), field: "to")
        return try await run(request, context) { store in
            let article = try await Self.read("kb_article", id, store: store)
            let revisions = try await ArticleVersions.revisions(of: article, store: store)
            let lines = ArticleVersions.diff(try ArticleVersions.revision(from, of: revisions), try ArticleVersions.revision(to, of: revisions))
            return RecordRoutes.json(.object(["from": .number(Decimal(from)), "to": .number(Decimal(to)),
                                              "lines": .array(lines.map { .object(["kind": .string($0.kind), "text": .string($0.text)]) })]))
        }
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let number = try Self.revisionNumber(context.parameters.get("revision"), field: "revision")
        return try await run(request, context, write: true) { store in
            let article = try await Self.read("kb_article", id, store: store)
            return RecordRoutes.json(try await ArticleVersions.restore(number, of: article, store: store).json)
        }
    }

    @Sendable func favourite(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        guard case .bool(let starred)? = body["starred"] else { throw AtriumError.validation(field: "starred", "must be true or false") }
        return try await run(request, context, write: true) { store in
            _ = try await Self.read("kb_article", id, store: store)
            try await ArticleFavourites.set(id, for: store.actor.user.id, starred: starred, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["starred": .bool(starred)]))
        }
    }

    @Sendable func favourites(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await Self.requireEnabled(store)
            let articles = try await ArticleFavourites.articles(of: store.actor.user.id, store: store)
            return RecordRoutes.json(.object(["articles": .array(articles.map(\.json))]))
        }
    }

    /// Announcements shown today (China time), pinned and important first, then the newest.
    static func current(store: ModuleStore) async throws -> [Record] {
        let today = ChinaCalendar.day(0)
        let window = ModuleStore.and([ModuleStore.op("starts_on", "lte", .string(today)),
                                      .object(["or": .array([ModuleStore.op("ends_on", "gte", .string(today)), ModuleStore.op("ends_on", "is_empty", .bool(true))])])])
        let shown = try await store.all("announcement", filter: window, sort: "-starts_on")
        func rank(_ record: Record) -> Int { (record.values["pinned"] == .bool(true) ? 0 : 2) + (record.string("importance") == "important" ? 0 : 1) }
        return shown.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }

    @Sendable func current(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await Self.requireEnabled(store)
            let shown = try await Self.current(store: store)
            let read = try await AnnouncementReads.read(shown.map(\.id), by: store.actor.user.id, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["announcements": .array(shown.map { record in
                var json = record.json
                if case .object(var object) = json { object["read"] = .bool(read.contains(record.id)); json = .object(object) }
                return json
            })]))
        }
    }

    @Sendable func markRead(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            _ = try await Self.read("announcement", id, store: store)
            try await AnnouncementReads.markRead(id, by: store.actor.user.id, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["read": .bool(true)]))
        }
    }

    /// Receipts are for whoever may change the announcement (its author, administrators);
    /// other readers get the engine's 403 for a record they can read but not change.
    static func receipts(_ announcement: Record, store: ModuleStore) async throws -> (read: [AnnouncementReads.Reader], unread: [AnnouncementReads.Reader]) {
        guard try await mayUpdate(announcement, store: store) else {
            throw AtriumError(status: .forbidden, code: "forbidden", message: "only who may change the announcement sees its read receipts")
        }
        return try await AnnouncementReads.receipts(announcement, on: store.connection, logger: store.logger)
    }

    @Sendable func receipts(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            let announcement = try await Self.read("announcement", id, store: store)
            let (read, unread) = try await Self.receipts(announcement, store: store)
            return RecordRoutes.json(.object(["read": .array(read.map(\.json)), "unread": .array(unread.map(\.json)),
                                              "read_count": .number(Decimal(read.count)), "unread_count": .number(Decimal(unread.count))]))
        }
    }
}

import Foundation
import Hummingbird
import Platform

/// Discussions in the shared shell: the boards, a board's topics, and a topic with its question
/// (Markdown, rendered safe), its replies (the topic record's comments, mentions as names) and
/// the reply form; who may change the topic accepts a reply as the answer, and a solved topic
/// becomes a draft article. Topics are written with the record form (`/app/kb_topic/new`).
/// Everything is read and written through the engine as the signed-in user.
///
///     GET  /app/knowledge/boards                       the boards, with open and solved counts
///     GET  /app/knowledge/boards/{id}                  a board's topics, newest first
///     GET  /app/knowledge/topics/{id}                  a topic, its replies and the reply form
///     POST /app/knowledge/topics/{id}/accept           reply_id → the topic is solved
///     POST /app/knowledge/topics/{id}/article          a draft article from the solved topic
///     POST /api/v1/knowledge/topics/{id}/accept        {"reply_id"} → the topic
///     POST /api/v1/knowledge/topics/{id}/article       → 201 the article (200 when it was made before)
struct DiscussionPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/knowledge/boards", use: boards)
        router.get("app/knowledge/boards/:id", use: board)
        router.get("app/knowledge/topics/:id", use: topic)
        router.post("app/knowledge/topics/:id/accept", use: pageAccept)
        router.post("app/knowledge/topics/:id/article", use: pageArticle)
        router.post("api/v1/knowledge/topics/:id/accept", use: apiAccept)
        router.post("api/v1/knowledge/topics/:id/article", use: apiArticle)
    }

    func text(_ locale: String) -> TopicAnswers.ArticleText {
        TopicAnswers.ArticleText(question: web.t("knowledge.discussions.question", locale), answer: web.t("knowledge.discussions.answer", locale),
                                 source: web.t("knowledge.discussions.source", locale))
    }

    @Sendable func boards(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/knowledge/boards") { page, db in
            let store = store(page, db)
            try await KnowledgeAPI.requireEnabled(store)
            var rows: [[String: Any]] = []
            for board in try await store.all("kb_board", sort: "position") {
                var counts: [String: Int] = [:]
                for status in ["open", "solved"] {
                    counts[status] = try await web.engine.list("kb_topic", query: RecordQuery(filter: ModuleStore.and([
                        ModuleStore.eq("board", board.idText), ModuleStore.eq("status", status)]), limit: 1), as: page.actor,
                        on: db.connection, logger: db.logger).total
                }
                rows.append(["id": board.idText, "name": board.string("name") ?? "", "description": board.string("description") ?? "",
                             "open": counts["open"] ?? 0, "solved": counts["solved"] ?? 0])
            }
            let canCreate = page.entities["kb_board"].map { page.actor.access.scope($0, .create) > .none } ?? false
            return web.render("knowledge_boards", page, ["title": web.t("knowledge.nav.discussions", page.locale), "boards": rows,
                                                         "none": rows.isEmpty, "can_create": canCreate])
        }
    }

    @Sendable func board(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "/app/knowledge/boards") { page, db in
            let store = store(page, db)
            let board = try await KnowledgeAPI.read("kb_board", id, store: store)
            let topics = try await web.engine.list("kb_topic", query: RecordQuery(filter: ModuleStore.eq("board", board.idText), sort: "-created_at",
                                                                                  limit: RecordQuery.maxLimit), as: page.actor, on: db.connection, logger: db.logger)
            let canPost = page.entities["kb_topic"].map { page.actor.access.scope($0, .create) > .none } ?? false
            return web.render("knowledge_board", page, [
                "title": board.string("name") ?? "", "id": board.idText, "description": board.string("description") ?? "",
                "can_post": canPost, "none": topics.records.isEmpty, "total": topics.total,
                "topics": topics.records.map { topic in
                    ["id": topic.idText, "title": topic.string("title") ?? "", "solved": topic.string("status") == "solved",
                     "status": label(topic.string("status"), page.locale),
                     "author": topic.createdBy.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                     "when": DisplayFormat.dateTime(topic.createdAt)] as [String: Any]
                },
            ])
        }
    }

    func label(_ status: String?, _ locale: String) -> String {
        KnowledgeEntities.topicStatuses.first { $0.value == status }.map { DisplayFormat.label($0.labels, locale: locale, fallback: $0.value) } ?? ""
    }

    @Sendable func topic(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "/app/knowledge/boards") { page, db in
            let store = store(page, db)
            let topic = try await TopicAnswers.topic(id, store: store)
            let board = try await store.get("kb_board", topic.string("board"))
            guard let entity = page.entities["kb_topic"] else { throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity 'kb_topic'") }
            // The replies are the topic's comments: the platform's thread, the answer first and marked.
            let canAccept = try await KnowledgeAPI.mayUpdate(topic, store: store)
            let thread = try await Self.thread(of: topic, entity: entity, accepted: topic.string("accepted_reply"), canAccept: canAccept,
                                               page: page, db: db, web: web)
            let article = try await store.get("kb_article", topic.string("article"))
            let canWriteArticles = page.entities["kb_article"].map { page.actor.access.scope($0, .create) > .none } ?? false
            let solved = topic.string("status") == "solved"
            return web.render("knowledge_topic", page, [
                "title": topic.string("title") ?? "", "id": topic.idText, "html": Markdown.html(CommentBody(topic.string("body") ?? "").plain(names: page.format.names)),
                "board": board.map { ["id": $0.idText, "name": $0.string("name") ?? ""] as Any } ?? false,
                "solved": solved, "status": label(topic.string("status"), page.locale),
                "author": topic.createdBy.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                "when": DisplayFormat.dateTime(topic.createdAt),
                "thread": thread, "can_edit": canAccept,
                "article": article.map { ["id": $0.idText, "title": $0.string("title") ?? ""] as Any } ?? false,
                "can_make_article": solved && article == nil && canWriteArticles,
            ])
        }
    }

    @Sendable func pageAccept(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            _ = try await TopicAnswers.accept(try Self.replyID(form["reply_id"]), on: id, store: store(page, db))
            return WebApp.redirect("/app/knowledge/topics/\(id.uuidString.lowercased())?notice=topic_solved")
        }
    }

    @Sendable func pageArticle(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 4 * 1024)
        return try await web.page(request, context, form: form) { page, db in
            let article = try await TopicAnswers.article(from: id, store: store(page, db), text: text(page.locale))
            return WebApp.redirect("/app/kb_article/\(article.idText)?notice=topic_article_made")
        }
    }

    /// The topic's comments as replies (the platform's thread partial): headed and posted as
    /// replies, back to the topic page; the accepted one first, badged and highlighted; the
    /// others with an accept button for who may change the topic.
    static func thread(of topic: Record, entity: EntityDefinition, accepted: String?, canAccept: Bool, page: WebApp.Page, db: PostgresConnectionBox,
                       web: WebApp) async throws -> [String: Any] {
        var thread = try await web.commentsPanel(topic, entity: entity, page: page, db: db)
        let rows = (thread["rows"] as? [[String: Any]] ?? []).map { row -> [String: Any] in
            var row = row
            let id = row["id"] as? String ?? ""
            if id == accepted {
                row["badge"] = web.t("knowledge.discussions.accepted", page.locale)
                row["highlight"] = true
            } else if canAccept {
                row["actions"] = [["action": "/app/knowledge/topics/\(topic.idText)/accept", "label": web.t("knowledge.discussions.accept", page.locale),
                                   "testid": "accept", "fields": [["name": "reply_id", "value": id]]] as [String: Any]]
            }
            return row
        }
        thread["rows"] = rows.filter { $0["id"] as? String == accepted } + rows.filter { $0["id"] as? String != accepted }
        thread["heading"] = web.t("knowledge.discussions.replies", page.locale)
        thread["post_label"] = web.t("knowledge.discussions.post_reply", page.locale)
        thread["back"] = "/app/knowledge/topics/\(topic.idText)"
        return thread
    }

    static func replyID(_ text: String?) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else { throw AtriumError.validation(field: "reply_id", "must be the id of a reply") }
        return id
    }

    @Sendable func apiAccept(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        let reply = try Self.replyID(body["reply_id"]?.stringValue)
        return try await run(request, context, write: true) { store in
            RecordRoutes.json(try await TopicAnswers.accept(reply, on: id, store: store).json)
        }
    }

    @Sendable func apiArticle(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let text = text(context.identity?.user.locale ?? "zh-CN")
        return try await run(request, context, write: true) { store in
            let before = try await TopicAnswers.topic(id, store: store).string("article")
            let article = try await TopicAnswers.article(from: id, store: store, text: text)
            return RecordRoutes.json(article.json, status: before == nil ? .created : .ok)
        }
    }
}

import Foundation
import Hummingbird

/// Comment threads of any record, for API clients and the record page. A body mentions people
/// as `@[Name](user-id)` (``CommentBody``); the answer to a new comment names the mentioned
/// people who were not notified because they cannot read the record (`not_notified`).
///
///     GET    /api/v1/{entity}/{id}/comments                {"comments": [comment, …]} oldest first
///     POST   /api/v1/{entity}/{id}/comments                {"body": "…"} → 201 the comment
///     PATCH  /api/v1/{entity}/{id}/comments/{cid}          {"body": "…"} → the comment (its author only)
///     DELETE /api/v1/{entity}/{id}/comments/{cid}          204 (its author or an administrator)
///     POST   /app/{entity}/{id}/comments                   the record page's comment form
///     POST   /app/{entity}/{id}/comments/{cid}             the record page's edit form
///     POST   /app/{entity}/{id}/comments/{cid}/delete      the record page's remove button
struct CommentRoutes: Sendable {
    let web: WebApp

    var comments: RecordComments { RecordComments(engine: web.engine, accessCache: web.services.accessCache) }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/:entity/:id/comments", use: list)
        router.post("api/v1/:entity/:id/comments", use: post)
        router.patch("api/v1/:entity/:id/comments/:cid", use: edit)
        router.delete("api/v1/:entity/:id/comments/:cid", use: delete)
        router.post("app/:entity/:id/comments", use: pagePost)
        router.post("app/:entity/:id/comments/:cid", use: pageEdit)
        router.post("app/:entity/:id/comments/:cid/delete", use: pageDelete)
    }

    static func commentID(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("cid"), let id = UUID(uuidString: text) else {
            throw CommentError.notFound(context.parameters.get("cid") ?? "")
        }
        return id
    }

    /// The `body` member of a JSON request: a string, else 422 naming `body`.
    static func body(_ request: Request) async throws -> String {
        let object = try await RecordRoutes.object(request)
        guard let value = object["body"], !value.isNull else { throw CommentError.bodyRequired }
        guard case .string(let text) = value else { throw AtriumError.validation(field: "body", "must be a string") }
        return text
    }

    // MARK: JSON

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        let comments = self.comments
        return RecordRoutes.json(try await web.records.run(request, context) { actor, db in
            JSONValue.object(["comments": .array(try await comments.list(on: entity, id: id, as: actor, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func post(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context))
        _ = try context.requireUser()
        let text = try await Self.body(request)
        let comments = self.comments
        let comment = try await web.records.run(request, context, write: true) { actor, db in
            try await comments.post(text, on: entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return RecordRoutes.json(comment.json, status: .created)
    }

    @Sendable func edit(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id, commentID) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context), try Self.commentID(context))
        _ = try context.requireUser()
        let text = try await Self.body(request)
        let comments = self.comments
        return RecordRoutes.json(try await web.records.run(request, context, write: true) { actor, db in
            try await comments.edit(commentID, text: text, on: entity, id: id, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id, commentID) = (RecordRoutes.entityKey(context), try RecordRoutes.id(context), try Self.commentID(context))
        let comments = self.comments
        try await web.records.run(request, context, write: true) { actor, db in
            try await comments.remove(commentID, on: entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    // MARK: Record page

    /// Back to the thread — the record page, or the page that holds the form (`back`, e.g. a
    /// module's discussion page); `comment_not_notified` when someone mentioned cannot read the
    /// record.
    static func back(_ entity: String, _ id: UUID, notice: String, form: [String: String]) -> Response {
        let page = LocalPath.safe(form["back"]).map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? $0 }
            ?? "/app/\(entity)/\(id.uuidString.lowercased())"
        return WebApp.redirect("\(page)?notice=\(notice)#comments")
    }

    @Sendable func pagePost(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id) = (WebApp.entityKey(context), try WebApp.recordID(context))
        let form = try await FormBody.parse(request)
        let comments = self.comments
        return try await web.page(request, context, form: form) { page, db in
            let comment = try await comments.post(form["body"], on: entity, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return Self.back(entity, id, notice: comment.notNotified.isEmpty ? "comment_added" : "comment_not_notified", form: form)
        }
    }

    @Sendable func pageEdit(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id, commentID) = (WebApp.entityKey(context), try WebApp.recordID(context), try Self.commentID(context))
        let form = try await FormBody.parse(request)
        let comments = self.comments
        return try await web.page(request, context, form: form) { page, db in
            let comment = try await comments.edit(commentID, text: form["body"], on: entity, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return Self.back(entity, id, notice: comment.notNotified.isEmpty ? "comment_saved" : "comment_not_notified", form: form)
        }
    }

    @Sendable func pageDelete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id, commentID) = (WebApp.entityKey(context), try WebApp.recordID(context), try Self.commentID(context))
        let form = try await FormBody.parse(request)
        let comments = self.comments
        return try await web.page(request, context, form: form) { page, db in
            try await comments.remove(commentID, on: entity, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return Self.back(entity, id, notice: "comment_deleted", form: form)
        }
    }
}

import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The notification centre's JSON API and pages; every route acts on the caller's own inbox.
///
///     GET  /api/v1/notifications?unread=true   {"unread": n, "notifications": [{id, kind, text, link, created_at, read_at, …}]}
///     POST /api/v1/notifications/{id}/read     the notification, read
///     POST /api/v1/notifications/read-all      {"marked": n}
///     GET  /app/notifications                  the inbox page (the top bar's bell links here)
///     POST /app/notifications/{id}/open        marks it read and opens its record
///     POST /app/notifications/read-all
struct NotificationRoutes: Sendable {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/notifications", use: list)
        router.post("api/v1/notifications/read-all", use: readAll)
        router.post("api/v1/notifications/:id/read", use: read)
        router.get("app/notifications", use: page)
        router.post("app/notifications/read-all", use: pageReadAll)
        router.post("app/notifications/:id/open", use: open)
        registerPreferences(on: router)
    }

    /// The notification's text in `locale`: its kind's locale text with its arguments, the
    /// entity's label as `entity`.
    static func text(_ notification: UserNotification, web: WebApp, entities: [String: EntityDefinition], locale: String) -> String {
        notification.text(localizer: web.renderer.localizer, entities: entities, locale: locale)
    }

    static func id(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw NotificationError.notFound(context.parameters.get("id") ?? "")
        }
        return id
    }

    // MARK: JSON

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let unreadOnly = request.uri.queryParameters["unread"].map { $0 == "true" || $0 == "1" } ?? false
        let locale = web.locale(request, context)
        let engine = web.engine
        let web = self.web
        return RecordRoutes.json(try await web.records.run(request, context) { actor, db in
            let entities = try await engine.entities(on: db.connection, logger: db.logger)
            let items = try await Notifications.inbox(of: actor.user.id, unreadOnly: unreadOnly, on: db.connection, logger: db.logger)
            let unread = try await Notifications.unreadCount(of: actor.user.id, on: db.connection, logger: db.logger)
            return JSONValue.object([
                "unread": .number(Decimal(unread)),
                "notifications": .array(items.map { $0.json(text: Self.text($0, web: web, entities: entities, locale: locale)) }),
            ])
        })
    }

    @Sendable func read(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let locale = web.locale(request, context)
        let engine = web.engine
        let web = self.web
        return RecordRoutes.json(try await web.records.run(request, context, write: true) { actor, db in
            guard let notification = try await Notifications.markRead(id, of: actor.user.id, on: db.connection, logger: db.logger) else {
                throw NotificationError.notFound(id.uuidString.lowercased())
            }
            let entities = try await engine.entities(on: db.connection, logger: db.logger)
            return notification.json(text: Self.text(notification, web: web, entities: entities, locale: locale))
        })
    }

    @Sendable func readAll(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await web.records.run(request, context, write: true) { actor, db in
            JSONValue.object(["marked": .number(Decimal(try await Notifications.markAllRead(of: actor.user.id, on: db.connection, logger: db.logger)))])
        })
    }

    // MARK: Pages

    @Sendable func page(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let web = self.web
        return try await web.page(request, context, current: "notifications") { page, db in
            let items = try await Notifications.inbox(of: page.actor.user.id, on: db.connection, logger: db.logger)
            let rows: [[String: Any]] = items.map { item in
                [
                    "id": item.id.uuidString.lowercased(),
                    "text": Self.text(item, web: web, entities: page.definitions, locale: page.locale),
                    "when": DisplayFormat.dateTime(item.createdAt),
                    "unread": item.readAt == nil,
                    "has_link": item.link != nil,
                ]
            }
            return web.render("notifications", page, [
                "title": web.t("notifications.title", page.locale), "rows": rows, "has_rows": !rows.isEmpty,
                "has_unread": items.contains { $0.readAt == nil },
            ])
        }
    }

    @Sendable func open(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form) { page, db in
            guard let notification = try await Notifications.markRead(id, of: page.actor.user.id, on: db.connection, logger: db.logger) else {
                throw NotificationError.notFound(id.uuidString.lowercased())
            }
            return WebApp.redirect(notification.link ?? "/app/notifications")
        }
    }

    @Sendable func pageReadAll(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form) { page, db in
            _ = try await Notifications.markAllRead(of: page.actor.user.id, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/notifications?notice=notifications_read")
        }
    }
}

/// What went wrong in the notification centre.
public enum NotificationError: DomainError, Equatable {
    /// No notification of the caller's with this id (someone else's is as absent as a missing one).
    case notFound(String)
    /// A preference named something that is not a notification kind (`approval.task_assigned`),
    /// or a choice that is not true or false.
    case invalidPreference(String)
    /// A tenant mail setting that cannot be used (an address that is not one); names the field.
    case invalidMailSetting(String)

    public var atriumError: AtriumError {
        switch self {
        case .notFound(let reference):
            AtriumError(status: .notFound, code: "notification_not_found", message: "no notification \(reference)")
        case .invalidPreference(let kind):
            AtriumError(status: .unprocessableContent, code: "invalid_notification_preference",
                        message: "'\(kind.prefix(100))' is not a notification kind with a true/false choice", field: kind)
        case .invalidMailSetting(let field):
            AtriumError(status: .unprocessableContent, code: "invalid_mail_setting", message: "\(field) is not a usable value", field: field)
        }
    }

    /// One of each case, for the locale and status checks.
    public static let examples: [NotificationError] = [.notFound("x"), .invalidPreference("x"), .invalidMailSetting("reply_to")]
}

import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// E-mail choices, the tenant's mail settings and the delivery log:
///
///     GET  /api/v1/notifications/preferences   {"email": {"approval.task_assigned": true, …}}
///     PUT  /api/v1/notifications/preferences   {"email": {"approval.cc": true}} (kinds not named keep their choice)
///     GET  /app/notifications/preferences      the page; POST saves its form
///     GET  /api/v1/admin/mail-settings         admin: {"sender_name", "sender_address", "reply_to", "email_enabled"}
///     PUT  /api/v1/admin/mail-settings         admin: the same object (every key; null clears)
///     GET  /api/v1/admin/outbox?channel=email  admin: the latest deliveries with status, attempts, last error
extension NotificationRoutes {
    func registerPreferences(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/notifications/preferences", use: preferences)
        router.put("api/v1/notifications/preferences", use: changePreferences)
        router.get("app/notifications/preferences", use: preferencesPage)
        router.post("app/notifications/preferences", use: savePreferencesPage)
        router.get("api/v1/admin/mail-settings", use: mailSettings)
        router.put("api/v1/admin/mail-settings", use: changeMailSettings)
        router.get("api/v1/admin/outbox", use: outboxLog)
    }

    static func audit(_ action: String, details: [String: String], actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(action, by: actor, details: details, on: connection, logger: logger)
    }

    static func saveEmailChoices(_ choices: [String: Bool], actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        try await NotificationPreferences.setEmail(choices, of: actor.user.id, on: connection, logger: logger)
        try await audit("notifications.preferences_changed", details: choices.mapValues { $0 ? "email" : "in_app" },
                        actor: actor, on: connection, logger: logger)
    }

    /// The platform's kinds and those of the tenant's enabled modules, in that order.
    static func offeredKinds(catalog: ModuleCatalog, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let enabled = try await TenantModules.enabled(on: connection, logger: logger)
        var kinds = NotificationPreferences.kinds
        for module in catalog.modules where enabled.contains(module.id) {
            kinds += module.notificationKinds.filter { !kinds.contains($0) }
        }
        return kinds
    }

    static func preferencesJSON(_ email: [String: Bool]) -> JSONValue {
        .object(["email": .object(email.mapValues(JSONValue.bool))])
    }

    @Sendable func preferences(_ request: Request, context: AtriumContext) async throws -> Response {
        let catalog = web.services.catalog
        return RecordRoutes.json(try await web.records.run(request, context) { actor, db in
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            return Self.preferencesJSON(try await NotificationPreferences.email(of: actor.user.id, offered: offered, on: db.connection, logger: db.logger))
        })
    }

    @Sendable func changePreferences(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        if let unknown = body.keys.sorted().first(where: { $0 != "email" }) { throw NotificationError.invalidPreference(unknown) }
        guard case .object(let entries)? = body["email"] else { throw AtriumError.validation(field: "email", "must be an object of kind: true|false") }
        var choices: [String: Bool] = [:]
        for (kind, value) in entries {
            guard case .bool(let enabled) = value else { throw NotificationError.invalidPreference(kind) }
            choices[kind] = enabled
        }
        let chosen = choices
        let catalog = web.services.catalog
        return RecordRoutes.json(try await web.records.run(request, context, write: true) { actor, db in
            try await Self.saveEmailChoices(chosen, actor: actor, on: db.connection, logger: db.logger)
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            return Self.preferencesJSON(try await NotificationPreferences.email(of: actor.user.id, offered: offered, on: db.connection, logger: db.logger))
        })
    }

    @Sendable func preferencesPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let web = self.web
        return try await web.page(request, context, current: "notifications") { page, db in
            let offered = try await Self.offeredKinds(catalog: web.services.catalog, on: db.connection, logger: db.logger)
            let email = try await NotificationPreferences.email(of: page.actor.user.id, offered: offered, on: db.connection, logger: db.logger)
            let rows: [[String: Any]] = offered.map { kind in
                ["kind": kind, "label": web.t("notifications.kind_names.\(kind)", page.locale), "email": email[kind] ?? false]
            }
            return web.render("notification_preferences", page, [
                "title": web.t("notifications.preferences.title", page.locale), "rows": rows,
            ])
        }
    }

    @Sendable func savePreferencesPage(_ request: Request, context: AtriumContext) async throws -> Response {
        let pairs = try await FormBody.parsePairs(request)
        let form = FormBody.single(pairs)
        let chosen = Set(pairs.filter { $0.0 == "email" }.map(\.1))
        let catalog = web.services.catalog
        return try await web.page(request, context, form: form) { page, db in
            // The page's boxes: each offered kind, ticked or not (an unticked box sends nothing).
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            let choices = Dictionary(offered.map { ($0, chosen.contains($0)) }, uniquingKeysWith: { first, _ in first })
            try await Self.saveEmailChoices(choices, actor: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/notifications/preferences?notice=notification_preferences_saved")
        }
    }

    @Sendable func mailSettings(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await web.records.run(request, context, adminOnly: true) { _, db in
            try await MailSettings.current(on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func changeMailSettings(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        let known: Set<String> = ["sender_name", "sender_address", "reply_to", "email_enabled"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) { throw NotificationError.invalidMailSetting(unknown) }
        func text(_ key: String) throws -> String? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value.trimmingCharacters(in: .whitespaces).isEmpty ? nil : value.trimmingCharacters(in: .whitespaces)
            default: throw NotificationError.invalidMailSetting(key)
            }
        }
        var settings = MailSettings(senderName: try text("sender_name"), senderAddress: try text("sender_address")?.lowercased(),
                                    replyTo: try text("reply_to")?.lowercased())
        switch body["email_enabled"] {
        case nil: break
        case .bool(let enabled)?: settings.emailEnabled = enabled
        default: throw NotificationError.invalidMailSetting("email_enabled")
        }
        let saved = settings
        return RecordRoutes.json(try await web.records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await saved.save(on: db.connection, logger: db.logger)
            try await Self.audit("tenant.mail_settings_changed", details: ["sender_address": saved.senderAddress ?? "", "reply_to": saved.replyTo ?? "",
                                                                         "email_enabled": "\(saved.emailEnabled)"],
                                 actor: actor, on: db.connection, logger: db.logger)
            return saved.json
        })
    }

    @Sendable func outboxLog(_ request: Request, context: AtriumContext) async throws -> Response {
        let channel = request.uri.queryParameters["channel"].map(String.init)
        return RecordRoutes.json(try await web.records.run(request, context, adminOnly: true) { _, db in
            let entries = try await Outbox.entries(channel: channel, on: db.connection, logger: db.logger)
            return JSONValue.object(["deliveries": .array(entries.map { entry in
                .object([
                    "id": .string(entry.id.uuidString.lowercased()), "channel": .string(entry.channel), "status": .string(entry.status),
                    "attempts": .number(Decimal(entry.attempts)), "last_error": entry.lastError.map(JSONValue.string) ?? .null,
                    "sent_at": entry.sentAt.map { .string($0.formatted(.iso8601)) } ?? .null,
                ])
            })])
        })
    }
}

import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// E-mail choices, the tenant's mail settings and the delivery log:
///
///     GET  /api/v1/notifications/preferences   {"email": {"approval.task_assigned": true, …}, "sms": {…}, "sms_available": bool}
///     PUT  /api/v1/notifications/preferences   {"email": {"approval.cc": true}, "sms"?: {…}} (kinds not named keep their choice)
///     GET  /app/notifications/preferences      the page; POST saves its form
///     GET  /api/v1/admin/mail-settings         admin: {"sender_name", "sender_address", "reply_to", "email_enabled", "sms_enabled"}
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
        try await saveChoices(["email": choices], actor: actor, on: connection, logger: logger)
    }

    /// Stores the choices per channel; SMS choices need the tenant's SMS switch on (else 422).
    static func saveChoices(_ byChannel: [String: [String: Bool]], actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        if let sms = byChannel["sms"], sms.values.contains(true), !(try await MailSettings.current(on: connection, logger: logger).smsEnabled) {
            throw AtriumError.validation(field: "sms", "cannot be chosen: this company has not turned SMS on")
        }
        var details: [String: String] = [:]
        for (channel, choices) in byChannel.sorted(by: { $0.key < $1.key }) {
            try await NotificationPreferences.set(choices, channel: channel, of: actor.user.id, on: connection, logger: logger)
            for (kind, on) in choices { details["\(channel).\(kind)"] = on ? "on" : "off" }
        }
        try await audit("notifications.preferences_changed", details: details, actor: actor, on: connection, logger: logger)
    }

    /// Both channels' choices and whether SMS can be chosen (the tenant's switch).
    static func preferencesJSON(of user: UUID, offered: [String], on connection: PostgresConnection, logger: Logger) async throws -> JSONValue {
        let email = try await NotificationPreferences.choices(of: user, channel: "email", offered: offered, on: connection, logger: logger)
        let sms = try await NotificationPreferences.choices(of: user, channel: "sms", offered: offered, on: connection, logger: logger)
        let available = try await MailSettings.current(on: connection, logger: logger).smsEnabled
        let digest = try await NotificationPreferences.choices(of: user, channel: "email", offered: [NotificationDigest.kind], on: connection, logger: logger)
        return .object(["email": .object(email.mapValues(JSONValue.bool)), "sms": .object(sms.mapValues(JSONValue.bool)), "sms_available": .bool(available),
                        "digest": .bool(digest[NotificationDigest.kind] ?? false)])
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

    @Sendable func preferences(_ request: Request, context: AtriumContext) async throws -> Response {
        let catalog = web.services.catalog
        return RecordRoutes.json(try await web.records.run(request, context) { actor, db in
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            return try await Self.preferencesJSON(of: actor.user.id, offered: offered, on: db.connection, logger: db.logger)
        })
    }

    @Sendable func changePreferences(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        if let unknown = body.keys.sorted().first(where: { !NotificationPreferences.channels.contains($0) && $0 != "digest" }) {
            throw NotificationError.invalidPreference(unknown)
        }
        guard !body.isEmpty else { throw AtriumError.validation(field: "email", "or sms or digest is required: an object of kind: true|false") }
        var byChannel: [String: [String: Bool]] = [:]
        switch body["digest"] {
        case nil: break
        case .bool(let on)?: byChannel["email", default: [:]][NotificationDigest.kind] = on
        default: throw AtriumError.validation(field: "digest", "must be true or false")
        }
        for (channel, value) in body where channel != "digest" {
            guard case .object(let entries) = value else { throw AtriumError.validation(field: channel, "must be an object of kind: true|false") }
            var choices: [String: Bool] = [:]
            for (kind, value) in entries {
                guard case .bool(let enabled) = value else { throw NotificationError.invalidPreference(kind) }
                choices[kind] = enabled
            }
            byChannel[channel, default: [:]].merge(choices) { _, new in new }
        }
        let chosen = byChannel
        let catalog = web.services.catalog
        return RecordRoutes.json(try await web.records.run(request, context, write: true) { actor, db in
            try await Self.saveChoices(chosen, actor: actor, on: db.connection, logger: db.logger)
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            return try await Self.preferencesJSON(of: actor.user.id, offered: offered, on: db.connection, logger: db.logger)
        })
    }

    @Sendable func preferencesPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard web.signedIn(context) else { return WebApp.redirect("/login") }
        let web = self.web
        return try await web.page(request, context, current: "notifications") { page, db in
            let offered = try await Self.offeredKinds(catalog: web.services.catalog, on: db.connection, logger: db.logger)
            let email = try await NotificationPreferences.email(of: page.actor.user.id, offered: offered, on: db.connection, logger: db.logger)
            let sms = try await NotificationPreferences.choices(of: page.actor.user.id, channel: "sms", offered: offered, on: db.connection, logger: db.logger)
            let smsAvailable = try await MailSettings.current(on: db.connection, logger: db.logger).smsEnabled
            let mobile = try await db.connection.query("SELECT mobile FROM users WHERE id = \(page.actor.user.id)", logger: db.logger)
                .collect().first?.decode(String?.self) ?? nil
            let rows: [[String: Any]] = offered.map { kind in
                ["kind": kind, "label": web.t("notifications.kind_names.\(kind)", page.locale), "email": email[kind] ?? false, "sms": sms[kind] ?? false]
            }
            let digest = try await NotificationPreferences.choices(of: page.actor.user.id, channel: "email", offered: [NotificationDigest.kind],
                                                                   on: db.connection, logger: db.logger)[NotificationDigest.kind] ?? false
            return web.render("notification_preferences", page, [
                "title": web.t("notifications.preferences.title", page.locale), "rows": rows, "digest": digest,
                "sms_available": smsAvailable, "mobile": mobile ?? "", "no_mobile": mobile == nil,
            ])
        }
    }

    @Sendable func savePreferencesPage(_ request: Request, context: AtriumContext) async throws -> Response {
        let pairs = try await FormBody.parsePairs(request)
        let form = FormBody.single(pairs)
        let chosen = Set(pairs.filter { $0.0 == "email" }.map(\.1))
        let texts = Set(pairs.filter { $0.0 == "sms" }.map(\.1))
        let smsShown = form["sms_shown"] == "1"
        let catalog = web.services.catalog
        return try await web.page(request, context, form: form) { page, db in
            // The page's boxes: each offered kind, ticked or not (an unticked box sends nothing).
            let offered = try await Self.offeredKinds(catalog: catalog, on: db.connection, logger: db.logger)
            let choices = Dictionary(offered.map { ($0, chosen.contains($0)) }, uniquingKeysWith: { first, _ in first })
            var byChannel = ["email": choices.merging([NotificationDigest.kind: form["digest"] == "on"]) { old, _ in old }]
            if smsShown { byChannel["sms"] = Dictionary(offered.map { ($0, texts.contains($0)) }, uniquingKeysWith: { first, _ in first }) }
            try await Self.saveChoices(byChannel, actor: page.actor, on: db.connection, logger: db.logger)
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
        let known: Set<String> = ["sender_name", "sender_address", "reply_to", "email_enabled", "sms_enabled"]
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
        switch body["sms_enabled"] {
        case nil: break
        case .bool(let enabled)?: settings.smsEnabled = enabled
        default: throw NotificationError.invalidMailSetting("sms_enabled")
        }
        let saved = settings
        return RecordRoutes.json(try await web.records.run(request, context, write: true, adminOnly: true) { actor, db in
            try await saved.save(on: db.connection, logger: db.logger)
            try await Self.audit("tenant.mail_settings_changed", details: ["sender_address": saved.senderAddress ?? "", "reply_to": saved.replyTo ?? "",
                                                                         "email_enabled": "\(saved.emailEnabled)", "sms_enabled": "\(saved.smsEnabled)"],
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

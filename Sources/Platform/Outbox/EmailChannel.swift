import Foundation
import Logging
import PostgresNIO

/// The outbox's e-mail channel. Two payloads:
///
///     {"kind": "notification", "notification_id": "…"}     an inbox notification, mailed to its user
///     {"kind": "message", "to": ["a@b.cn"], "subject": "…", "text": "…", "html": "…"}   a module's own mail
///
/// A notification is rendered when it is sent, in the recipient's language, from the tenant's
/// sender settings; a user deactivated or a notification deleted meanwhile sends nothing.
/// The outbox item's id is the `Message-ID`, the same on every attempt.
public struct EmailChannel: OutboxChannel {
    public let name = "email"
    let database: Database
    let relay: SMTPRelay?
    let mailFrom: String
    let publicURL: String
    let localizer: Localizer
    let entities: @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition]
    let logger: Logger

    public init(database: Database, relay: SMTPRelay?, mailFrom: String, publicURL: String, localizer: Localizer,
                entities: @escaping @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition], logger: Logger) {
        self.database = database
        self.relay = relay
        self.mailFrom = mailFrom
        self.publicURL = publicURL
        self.localizer = localizer
        self.entities = entities
        self.logger = logger
    }

    public func deliver(_ item: OutboxItem, tenant: UUID) async -> DeliveryOutcome {
        guard let relay else { return .failed("no mail relay configured (ATRIUM_SMTP_URL)", retry: false) }
        let message: MailMessage?
        do {
            message = try await compose(item, tenant: tenant)
        } catch let error as EmailPayloadError {
            return .failed(error.reason, retry: false)
        } catch {
            return .failed("cannot prepare the message: \(DatabaseErrors.describe(error))", retry: true)
        }
        guard let message else { return .sent }  // nobody to tell any more
        do {
            try await SMTPClient(relay: relay).send(message.rendered(), from: mailFrom, to: message.to.map(\.address))
            return .sent
        } catch let error as SMTPError {
            return .failed(error.description, retry: !error.permanent)
        } catch {
            return .failed("\(error)", retry: true)
        }
    }

    struct EmailPayloadError: Error {
        let reason: String
    }

    /// The message for `item`, or nil when there is no longer anyone to send it to.
    func compose(_ item: OutboxItem, tenant: UUID) async throws -> MailMessage? {
        guard case .object(let payload) = item.payload, let kind = payload["kind"]?.stringValue else {
            throw EmailPayloadError(reason: "payload has no kind")
        }
        let messageID = "<\(item.id.uuidString.lowercased())@\(mailFrom.split(separator: "@").last.map(String.init) ?? "atrium")>"
        switch kind {
        case "notification":
            guard let text = payload["notification_id"]?.stringValue, let id = UUID(uuidString: text) else {
                throw EmailPayloadError(reason: "notification payload without notification_id")
            }
            return try await notificationMail(id, tenant: tenant, messageID: messageID)
        case "message":
            let recipients = (payload["to"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard !recipients.isEmpty, recipients.allSatisfy(MailAddress.isValid), let subject = payload["subject"]?.stringValue,
                  let text = payload["text"]?.stringValue else {
                throw EmailPayloadError(reason: "message payload needs to (valid addresses), subject and text")
            }
            let settings = try await database.withTenant(tenant, logger: logger) { [logger] connection in
                try await MailSettings.current(on: connection, logger: logger)
            }
            guard settings.emailEnabled else { return nil }
            return MailMessage(from: sender(settings, tenantName: nil), to: recipients.map { MailAddress($0) },
                               replyTo: settings.replyTo.map { MailAddress($0) }, subject: subject, text: text,
                               html: payload["html"]?.stringValue, messageID: messageID)
        case "digest":
            guard let user = payload["user_id"]?.stringValue.flatMap(UUID.init(uuidString:)), let sinceText = payload["since"]?.stringValue,
                  let since = try? Date(sinceText, strategy: .iso8601) else {
                throw EmailPayloadError(reason: "digest payload needs user_id and since")
            }
            return try await digestMail(for: user, since: since, tenant: tenant, messageID: messageID)
        default:
            throw EmailPayloadError(reason: "unknown e-mail payload kind \(kind)")
        }
    }

    func sender(_ settings: MailSettings, tenantName: String?) -> MailAddress {
        MailAddress(settings.senderAddress ?? mailFrom, name: settings.senderName ?? tenantName)
    }

    func notificationMail(_ id: UUID, tenant: UUID, messageID: String) async throws -> MailMessage? {
        struct Loaded: Sendable {
            let notification: UserNotification
            let email: String
            let userName: String
            let locale: String
            let tenantName: String
            let tenantSlug: String
            let settings: MailSettings
            let entities: [String: EntityDefinition]
        }
        let entities = self.entities
        let loaded: Loaded? = try await database.withTenant(tenant, logger: logger) { [logger] connection in
            let rows = try await connection.query("""
                SELECT n.id, n.kind, n.entity, n.record_id, n.actor_id, n.arguments::text, n.created_at, n.read_at, u.email, u.display_name, u.locale, t.name, t.slug
                FROM notifications n JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.user_id AND u.is_active
                JOIN tenants t ON t.id = n.tenant_id
                WHERE n.id = \(id)
                """, logger: logger)
            for try await (nid, kind, entity, record, actor, arguments, created, read, email, userName, locale, tenantName, slug)
                in rows.decode((UUID, String, String?, UUID?, UUID?, String, Date, Date?, String, String, String, String, String).self) {
                let notification = UserNotification(id: nid, kind: kind, entity: entity, recordID: record, actorID: actor,
                                                    arguments: try JSONDecoder().decode([String: String].self, from: Data(arguments.utf8)),
                                                    createdAt: created, readAt: read)
                return Loaded(notification: notification, email: email, userName: userName, locale: locale, tenantName: tenantName,
                              tenantSlug: slug, settings: try await MailSettings.current(on: connection, logger: logger),
                              entities: try await entities(connection, logger))
            }
            return nil
        }
        guard let loaded, loaded.settings.emailEnabled else { return nil }
        let locale = loaded.locale
        let text = loaded.notification.text(localizer: localizer, entities: loaded.entities, locale: locale)
        let base = publicURL.replacingOccurrences(of: "{tenant}", with: loaded.tenantSlug)
        let link = loaded.notification.link.map { base + $0 }
        let preferences = base + "/app/notifications/preferences"
        let open = localizer.string("notifications.email.open", locale: locale) ?? "Open"
        let footer = localizer.string("notifications.email.footer", locale: locale, ["tenant": loaded.tenantName]) ?? ""
        let change = localizer.string("notifications.email.preferences", locale: locale) ?? "Preferences"
        var plain = text + "\n\n"
        if let link { plain += "\(open): \(link)\n\n" }
        plain += "-- \n\(footer)\n\(change): \(preferences)\n"
        var html = "<!doctype html><html lang=\"\(locale)\"><body style=\"font-family:sans-serif;font-size:15px;color:#1f2933\">"
        html += "<p>\(Self.escaped(text))</p>"
        if let link { html += "<p><a href=\"\(Self.escaped(link))\">\(Self.escaped(open))</a></p>" }
        html += "<hr><p style=\"font-size:12px;color:#616e7c\">\(Self.escaped(footer))<br><a href=\"\(Self.escaped(preferences))\">\(Self.escaped(change))</a></p></body></html>"
        var message = MailMessage(from: sender(loaded.settings, tenantName: loaded.tenantName),
                                  to: [MailAddress(loaded.email, name: loaded.userName)], replyTo: loaded.settings.replyTo.map { MailAddress($0) },
                                  subject: "[\(loaded.tenantName)] \(text.prefix(150))", text: plain, html: html, messageID: messageID)
        message.headers = [("X-Atrium-Notification", loaded.notification.kind)]
        return message
    }

    /// The most notifications one digest lists (the rest: "and N more" and the inbox link).
    static let digestLimit = 50

    /// One mail with the user's notifications still unread since `since`, newest first; nil
    /// when they have read them all meanwhile (or left, or the tenant stopped mailing).
    func digestMail(for user: UUID, since: Date, tenant: UUID, messageID: String) async throws -> MailMessage? {
        struct Loaded: Sendable {
            let email: String
            let userName: String
            let locale: String
            let tenantName: String
            let tenantSlug: String
            let settings: MailSettings
            let entities: [String: EntityDefinition]
            let notifications: [UserNotification]
            let total: Int
        }
        let entities = self.entities
        let limit = Self.digestLimit
        let loaded: Loaded? = try await database.withTenant(tenant, logger: logger) { [logger] connection in
            var person: (String, String, String, String, String)?
            for try await row in try await connection.query("""
                SELECT u.email, u.display_name, u.locale, t.name, t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id
                WHERE u.id = \(user) AND u.is_active
                """, logger: logger).decode((String, String, String, String, String).self) {
                person = row
            }
            guard let (email, userName, locale, tenantName, slug) = person else { return nil }
            var notifications: [UserNotification] = []
            var total = 0
            for try await (nid, kind, entity, record, actor, arguments, created, read, count) in try await connection.query("""
                SELECT id, kind, entity, record_id, actor_id, arguments::text, created_at, read_at, count(*) OVER ()::int
                FROM notifications WHERE user_id = \(user) AND read_at IS NULL AND created_at > \(since)
                ORDER BY created_at DESC, id LIMIT \(limit)
                """, logger: logger).decode((UUID, String, String?, UUID?, UUID?, String, Date, Date?, Int).self) {
                notifications.append(UserNotification(id: nid, kind: kind, entity: entity, recordID: record, actorID: actor,
                                                      arguments: try JSONDecoder().decode([String: String].self, from: Data(arguments.utf8)),
                                                      createdAt: created, readAt: read))
                total = count
            }
            return Loaded(email: email, userName: userName, locale: locale, tenantName: tenantName, tenantSlug: slug,
                          settings: try await MailSettings.current(on: connection, logger: logger), entities: try await entities(connection, logger),
                          notifications: notifications, total: total)
        }
        guard let loaded, loaded.settings.emailEnabled, !loaded.notifications.isEmpty else { return nil }
        let locale = loaded.locale
        func t(_ key: String, _ arguments: [String: String] = [:]) -> String { localizer.string(key, locale: locale, arguments) ?? key }
        let base = publicURL.replacingOccurrences(of: "{tenant}", with: loaded.tenantSlug)
        let subject = "[\(loaded.tenantName)] " + t("notifications.digest.subject", ["count": "\(loaded.total)"])
        var plain = t("notifications.digest.intro", ["count": "\(loaded.total)"]) + "\n\n"
        var html = "<!doctype html><html lang=\"\(locale)\"><body style=\"font-family:sans-serif;font-size:15px;color:#1f2933\">"
        html += "<p>\(Self.escaped(t("notifications.digest.intro", ["count": "\(loaded.total)"])))</p><ul>"
        for notification in loaded.notifications {
            let text = notification.text(localizer: localizer, entities: loaded.entities, locale: locale)
            let link = notification.link.map { base + $0 }
            plain += "- \(text)" + (link.map { "\n  \($0)" } ?? "") + "\n"
            html += "<li>" + (link.map { "<a href=\"\(Self.escaped($0))\">\(Self.escaped(text))</a>" } ?? Self.escaped(text)) + "</li>"
        }
        html += "</ul>"
        if loaded.total > loaded.notifications.count {
            let more = t("notifications.digest.more", ["count": "\(loaded.total - loaded.notifications.count)"])
            plain += "\n\(more)\n"
            html += "<p>\(Self.escaped(more))</p>"
        }
        let inbox = base + "/app/notifications"
        let preferences = base + "/app/notifications/preferences"
        let footer = t("notifications.email.footer", ["tenant": loaded.tenantName])
        plain += "\n\(t("notifications.digest.inbox")): \(inbox)\n\n-- \n\(footer)\n\(t("notifications.email.preferences")): \(preferences)\n"
        html += "<p><a href=\"\(Self.escaped(inbox))\">\(Self.escaped(t("notifications.digest.inbox")))</a></p>"
        html += "<hr><p style=\"font-size:12px;color:#616e7c\">\(Self.escaped(footer))<br><a href=\"\(Self.escaped(preferences))\">\(Self.escaped(t("notifications.email.preferences")))</a></p></body></html>"
        var message = MailMessage(from: sender(loaded.settings, tenantName: loaded.tenantName), to: [MailAddress(loaded.email, name: loaded.userName)],
                                  replyTo: loaded.settings.replyTo.map { MailAddress($0) }, subject: subject, text: plain, html: html, messageID: messageID)
        message.headers = [("X-Atrium-Notification", NotificationDigest.kind)]
        return message
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}

import Foundation
import Logging
import PostgresNIO

/// Per user and notification kind: is it wanted by e-mail as well as in the inbox? A user's
/// own choice wins; without one, ``emailByDefault`` decides (what waits for the user's action
/// or answers their request arrives by mail; copies and shares stay in the inbox).
public enum NotificationPreferences {
    /// The kinds a preferences page offers, in its order. Modules' own kinds can be set through
    /// the API as well.
    public static let kinds = ["approval.task_assigned", "approval.approved", "approval.rejected", "approval.returned", "approval.cc", "record.shared", "comment.mentioned",
                                     "automation.rule", "automation.failed"]

    public static let emailByDefault: Set<String> = ["approval.task_assigned", "approval.approved", "approval.rejected", "approval.returned",
                                                           "automation.failed"]

    /// Dotted lower-case, as notifications' kinds.
    public static func isKind(_ text: String) -> Bool {
        text.range(of: #"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"#, options: .regularExpression) != nil && text.count <= 100
    }

    /// The channels besides the inbox: e-mail, and SMS where the tenant turned it on (no kind
    /// goes by SMS unless its user asks: messages cost money).
    public static let channels = ["email", "sms"]

    /// Whether `user` gets each of `offered` (by default the platform's ``kinds``) and every
    /// kind they chose by e-mail.
    public static func email(of user: UUID, offered: [String] = kinds, on connection: PostgresConnection, logger: Logger) async throws -> [String: Bool] {
        try await choices(of: user, channel: "email", offered: offered, on: connection, logger: logger)
    }

    /// The user's choice per kind on `channel`: theirs, else the default (e-mail:
    /// ``emailByDefault``; SMS: no).
    public static func choices(of user: UUID, channel: String, offered: [String] = kinds, on connection: PostgresConnection,
                               logger: Logger) async throws -> [String: Bool] {
        var choices = Dictionary(offered.map { ($0, channel == "email" && emailByDefault.contains($0)) }, uniquingKeysWith: { first, _ in first })
        for try await (kind, enabled) in try await connection.query("""
            SELECT kind, enabled FROM notification_preferences WHERE user_id = \(user) AND channel = \(channel)
            """, logger: logger).decode((String, Bool).self) {
            choices[kind] = enabled
        }
        return choices
    }

    /// Records `user`'s e-mail choices (kinds not named keep theirs). Throws naming the first
    /// kind that is not one.
    public static func setEmail(_ choices: [String: Bool], of user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await set(choices, channel: "email", of: user, on: connection, logger: logger)
    }

    /// Records `user`'s choices on `channel` (kinds not named keep theirs).
    public static func set(_ choices: [String: Bool], channel: String, of user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        if let bad = choices.keys.sorted().first(where: { !isKind($0) }) {
            throw NotificationError.invalidPreference(bad)
        }
        guard !choices.isEmpty else { return }
        let names = choices.keys.sorted()
        try await connection.query("""
            INSERT INTO notification_preferences (tenant_id, user_id, kind, channel, enabled)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(user), k, \(channel), e
            FROM unnest(\(names)::text[], \(names.map { choices[$0] ?? false })::boolean[]) AS c (k, e)
            ON CONFLICT (tenant_id, user_id, kind, channel) DO UPDATE SET enabled = excluded.enabled
            """, logger: logger)
    }
}

/// A tenant's sender settings for e-mail: the name and address mail shows as from, where
/// replies go, and whether the tenant sends e-mail at all. The relay is the server's.
public struct MailSettings: Sendable, Equatable {
    public var senderName: String?
    public var senderAddress: String?
    public var replyTo: String?
    public var emailEnabled = true
    /// Whether the tenant's people may choose SMS (off by default: messages cost money).
    public var smsEnabled = false

    public init(senderName: String? = nil, senderAddress: String? = nil, replyTo: String? = nil, emailEnabled: Bool = true, smsEnabled: Bool = false) {
        self.senderName = senderName
        self.senderAddress = senderAddress
        self.replyTo = replyTo
        self.emailEnabled = emailEnabled
        self.smsEnabled = smsEnabled
    }

    public static func current(on connection: PostgresConnection, logger: Logger) async throws -> MailSettings {
        for try await (name, address, replyTo, enabled, sms) in try await connection.query("""
            SELECT sender_name, sender_address, reply_to, email_enabled, sms_enabled FROM tenant_mail_settings
            """, logger: logger).decode((String?, String?, String?, Bool, Bool).self) {
            return MailSettings(senderName: name, senderAddress: address, replyTo: replyTo, emailEnabled: enabled, smsEnabled: sms)
        }
        return MailSettings()
    }

    /// Checks and stores the settings; a malformed address is a 422 naming its field.
    public func save(on connection: PostgresConnection, logger: Logger) async throws {
        for (field, value) in [("sender_address", senderAddress), ("reply_to", replyTo)] {
            if let value, !MailAddress.isValid(value) { throw NotificationError.invalidMailSetting(field) }
        }
        if let senderName, senderName.count > 100 || senderName.contains(where: \.isNewline) { throw NotificationError.invalidMailSetting("sender_name") }
        try await connection.query("""
            INSERT INTO tenant_mail_settings (tenant_id, sender_name, sender_address, reply_to, email_enabled, sms_enabled)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(senderName), \(senderAddress), \(replyTo), \(emailEnabled), \(smsEnabled))
            ON CONFLICT (tenant_id) DO UPDATE SET sender_name = excluded.sender_name, sender_address = excluded.sender_address,
                reply_to = excluded.reply_to, email_enabled = excluded.email_enabled, sms_enabled = excluded.sms_enabled, updated_at = now()
            """, logger: logger)
    }

    public var json: JSONValue {
        .object([
            "sender_name": senderName.map(JSONValue.string) ?? .null, "sender_address": senderAddress.map(JSONValue.string) ?? .null,
            "reply_to": replyTo.map(JSONValue.string) ?? .null, "email_enabled": .bool(emailEnabled), "sms_enabled": .bool(smsEnabled),
        ])
    }
}

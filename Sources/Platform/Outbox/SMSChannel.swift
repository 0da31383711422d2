import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Where text messages leave the server: one interface, two adapters.
/// - ``HTTPSMSGateway`` posts JSON to a provider's (or an in-house relay's) HTTP endpoint;
/// - ``LogSMSGateway`` only writes a log line (the number masked): for a private deployment
///   without a provider, so choices and the delivery log work and nothing is sent.
public protocol SMSGateway: Sendable {
    /// Sends `text` to `number`; `reference` is the same on every attempt of one message
    /// (providers that deduplicate take it as an idempotency key).
    func send(to number: String, text: String, reference: String) async -> DeliveryOutcome
}

/// `ATRIUM_SMS_PROVIDER=http`: `POST ATRIUM_SMS_URL` with
/// `{"to": "+86…", "text": "【签名】…", "reference": "<outbox id>"}`, `Authorization: Bearer
/// ATRIUM_SMS_TOKEN` and `Idempotency-Key: <reference>`. A 2xx answer is sent; 408, 429 and 5xx
/// are tried again later; any other answer is final (a wrong number stays wrong).
public struct HTTPSMSGateway: SMSGateway {
    let url: String
    let token: String?
    let timeout: Duration

    public init(url: String, token: String?, timeout: Duration = .seconds(15)) {
        self.url = url
        self.token = token
        self.timeout = timeout
    }

    public func send(to number: String, text: String, reference: String) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: reference)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let body = JSONValue.object(["to": .string(number), "text": .string(text), "reference": .string(reference)]).jsonText
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await WebhookChannel.client.execute(request, timeout: .seconds(Int64(timeout / .seconds(1))))
            let answer = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return .sent }
            return .failed("SMS provider answered HTTP \(code): \(answer.prefix(200))", retry: code == 408 || code == 429 || code >= 500)
        } catch {
            return .failed("SMS provider unreachable: \(error)", retry: true)
        }
    }
}

/// `ATRIUM_SMS_PROVIDER=log`: nothing leaves the server; each message is a log line at notice
/// level with the number masked and the text's length.
public struct LogSMSGateway: SMSGateway {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(to number: String, text: String, reference: String) async -> DeliveryOutcome {
        logger.notice("SMS not sent (ATRIUM_SMS_PROVIDER=log)", metadata: ["to": "\(SMSChannel.masked(number))", "characters": "\(text.count)",
                                                                          "reference": "\(reference)"])
        return .sent
    }
}

/// The outbox's SMS channel. Two payloads:
///
///     {"kind": "notification", "notification_id": "…"}     an inbox notification, texted to its user's mobile
///     {"kind": "message", "to": ["+86…"], "text": "…"}      a module's own message
///
/// A notification is rendered when it is sent, in the recipient's language, with the record's
/// link, prefixed by the signature (`ATRIUM_SMS_SIGN`, e.g. 【某某科技】, which Chinese carriers
/// require) and cut to 300 characters. A user deactivated, without a mobile number any more, or
/// a tenant that turned SMS off meanwhile sends nothing.
public struct SMSChannel: OutboxChannel {
    public let name = "sms"
    let database: Database
    let gateway: (any SMSGateway)?
    let signature: String
    let publicURL: String
    let localizer: Localizer
    let entities: @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition]
    let logger: Logger

    public static let maxCharacters = 300

    public init(database: Database, gateway: (any SMSGateway)?, signature: String, publicURL: String, localizer: Localizer,
                entities: @escaping @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition], logger: Logger) {
        self.database = database
        self.gateway = gateway
        self.signature = signature
        self.publicURL = publicURL
        self.localizer = localizer
        self.entities = entities
        self.logger = logger
    }

    /// `+8613800138000` → `+86*******8000`.
    static func masked(_ number: String) -> String {
        guard number.count > 7 else { return String(repeating: "*", count: number.count) }
        return String(number.prefix(3)) + String(repeating: "*", count: number.count - 7) + String(number.suffix(4))
    }

    public func deliver(_ item: OutboxItem, tenant: UUID) async -> DeliveryOutcome {
        guard let gateway else { return .failed("no SMS provider configured (ATRIUM_SMS_PROVIDER)", retry: false) }
        guard case .object(let payload) = item.payload, let kind = payload["kind"]?.stringValue else {
            return .failed("malformed SMS delivery", retry: false)
        }
        let reference = item.id.uuidString.lowercased()
        switch kind {
        case "message":
            let numbers = (payload["to"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard !numbers.isEmpty, numbers.allSatisfy({ OrganisationAdmin.MemberChange.mobileNumber($0) == $0 }),
                  let text = payload["text"]?.stringValue, !text.isEmpty else {
                return .failed("message payload needs to (phone numbers) and text", retry: false)
            }
            for number in numbers {
                let outcome = await gateway.send(to: number, text: compose(text), reference: numbers.count == 1 ? reference : "\(reference)-\(number)")
                if outcome != .sent { return outcome }
            }
            return .sent
        case "notification":
            guard let text = payload["notification_id"]?.stringValue, let id = UUID(uuidString: text) else {
                return .failed("notification payload without notification_id", retry: false)
            }
            let message: (String, String)?
            do {
                message = try await notificationText(id, tenant: tenant)
            } catch {
                return .failed("cannot prepare the message: \(DatabaseErrors.describe(error))", retry: true)
            }
            guard let (number, body) = message else { return .sent }  // nobody to tell any more
            return await gateway.send(to: number, text: compose(body), reference: reference)
        default:
            return .failed("unknown SMS payload kind \(kind)", retry: false)
        }
    }

    /// The signature, then the text, at most ``maxCharacters``.
    func compose(_ text: String) -> String {
        let full = signature + text
        return full.count <= Self.maxCharacters ? full : String(full.prefix(Self.maxCharacters - 1)) + "…"
    }

    /// The recipient's number and the notification's text with its link, or nil when there is
    /// no one to text any more.
    func notificationText(_ id: UUID, tenant: UUID) async throws -> (String, String)? {
        let entities = self.entities
        let localizer = self.localizer
        let publicURL = self.publicURL
        return try await database.withTenant(tenant, logger: logger) { [logger] connection in
            let rows = try await connection.query("""
                SELECT n.id, n.kind, n.entity, n.record_id, n.actor_id, n.arguments::text, n.created_at, n.read_at, u.mobile, u.locale, t.slug
                FROM notifications n JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.user_id AND u.is_active AND u.mobile IS NOT NULL
                JOIN tenants t ON t.id = n.tenant_id
                JOIN tenant_mail_settings s ON s.tenant_id = n.tenant_id AND s.sms_enabled
                WHERE n.id = \(id)
                """, logger: logger)
            for try await (nid, kind, entity, record, actor, arguments, created, read, mobile, locale, slug)
                in rows.decode((UUID, String, String?, UUID?, UUID?, String, Date, Date?, String, String, String).self) {
                let notification = UserNotification(id: nid, kind: kind, entity: entity, recordID: record, actorID: actor,
                                                    arguments: try JSONDecoder().decode([String: String].self, from: Data(arguments.utf8)),
                                                    createdAt: created, readAt: read)
                var text = notification.text(localizer: localizer, entities: try await entities(connection, logger), locale: locale)
                if let link = notification.link { text += " " + publicURL.replacingOccurrences(of: "{tenant}", with: slug) + link }
                return (mobile, text)
            }
            return nil
        }
    }
}

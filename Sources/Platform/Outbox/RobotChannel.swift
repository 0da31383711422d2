import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A tenant's group robot: a WeChat Work, DingTalk or Feishu group webhook hearing some
/// notification kinds (`approval.*`, `sales.receivable_overdue`, `*`).
public struct NotificationRobot: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// 企业微信群机器人: `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`
        case wecom
        /// 钉钉自定义机器人: `https://oapi.dingtalk.com/robot/send?access_token=…`, optional 加签 secret
        case dingtalk
        /// 飞书自定义机器人: `https://open.feishu.cn/open-apis/bot/v2/hook/…`, optional 签名校验 secret
        case feishu
    }

    public let id: UUID
    public var kind: Kind
    public var name: String
    public var url: String
    public var hasSecret: Bool
    public var kinds: [String]
    public var locale: String
    public var active: Bool

    public var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "kind": .string(kind.rawValue), "name": .string(name), "url": .string(url),
            "signed": .bool(hasSecret), "kinds": .array(kinds.map(JSONValue.string)), "locale": .string(locale), "active": .bool(active),
        ])
    }
}

/// The outbox's robot channel: renders the notification in the robot's language and posts it in
/// the robot's own format — signing it the DingTalk or Feishu way when the robot has a secret.
/// The platforms answer HTTP 200 with an error code in the body; anything but code 0 is a
/// failure (retried: their usual errors are rate limits).
public struct RobotChannel: OutboxChannel {
    public let name = "robot"
    let database: Database
    let localizer: Localizer
    let publicURL: String
    let allowPrivateAddresses: Bool
    let entities: @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition]
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(database: Database, localizer: Localizer, publicURL: String, allowPrivateAddresses: Bool,
                entities: @escaping @Sendable (PostgresConnection, Logger) async throws -> [String: EntityDefinition],
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.database = database
        self.localizer = localizer
        self.publicURL = publicURL
        self.allowPrivateAddresses = allowPrivateAddresses
        self.entities = entities
        self.clock = clock
        self.logger = logger
    }

    struct Target: Sendable {
        let kind: NotificationRobot.Kind
        let url: String
        let secret: String?
        let locale: String
        let tenantSlug: String
        let entities: [String: EntityDefinition]
    }

    public func deliver(_ item: OutboxItem, tenant: UUID) async -> DeliveryOutcome {
        guard case .object(let payload) = item.payload, let robotText = payload["robot_id"]?.stringValue, let robotID = UUID(uuidString: robotText),
              let kind = payload["kind"]?.stringValue else {
            return .failed("malformed robot delivery", retry: false)
        }
        let entities = self.entities
        let target: Target?
        do {
            target = try await database.withTenant(tenant, logger: logger) { [logger] connection in
                for try await (robotKind, url, secret, locale, slug) in try await connection.query("""
                    SELECT r.kind, r.url, r.secret, r.locale, t.slug FROM notification_robots r JOIN tenants t ON t.id = r.tenant_id
                    WHERE r.id = \(robotID) AND r.active
                    """, logger: logger).decode((String, String, String?, String, String).self) {
                    guard let robotKind = NotificationRobot.Kind(rawValue: robotKind) else { return nil }
                    return Target(kind: robotKind, url: url, secret: secret, locale: locale, tenantSlug: slug, entities: try await entities(connection, logger))
                }
                return nil
            }
        } catch {
            return .failed("cannot read the robot: \(DatabaseErrors.describe(error))", retry: true)
        }
        guard let target else { return .failed("the robot is disabled or deleted", retry: false) }
        var arguments: [String: String] = [:]
        if case .object(let values)? = payload["arguments"] { arguments = values.compactMapValues(\.stringValue) }
        let entity = payload["entity"]?.stringValue
        let recordID = payload["record_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        let notification = UserNotification(id: item.id, kind: kind, entity: entity, recordID: recordID, actorID: nil, arguments: arguments,
                                            createdAt: item.createdAt, readAt: nil)
        let text = notification.text(localizer: localizer, entities: target.entities, locale: target.locale)
        let link = notification.link.map { publicURL.replacingOccurrences(of: "{tenant}", with: target.tenantSlug) + $0 }
        do {
            try await WebhookAddressPolicy.check(target.url, allowPrivate: allowPrivateAddresses)
        } catch {
            return .failed("\(error)", retry: false)
        }
        let (url, body) = Self.request(for: target.kind, url: target.url, secret: target.secret, text: text, link: link, now: clock())
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await WebhookChannel.client.execute(request, timeout: .seconds(15))
            let answer = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            guard (200..<300).contains(Int(response.status.code)) else { return .failed("HTTP \(response.status.code): \(answer.prefix(200))", retry: true) }
            // {"errcode": 0, "errmsg": "ok"} (WeChat Work, DingTalk) or {"code": 0, "msg": "success"} (Feishu).
            if case .object(let reply)? = try? JSONValue.parse(answer) {
                let code = reply["errcode"] ?? reply["code"] ?? reply["StatusCode"]
                if let code, code != .number(0) {
                    return .failed("\(target.kind.rawValue) refused: \(answer.prefix(200))", retry: true)
                }
            }
            return .sent
        } catch {
            return .failed("\(error)", retry: true)
        }
    }

    /// The URL and JSON body each platform expects: plain text, with the record's link on its
    /// own line; DingTalk's signature goes in the URL, Feishu's in the body.
    static func request(for kind: NotificationRobot.Kind, url: String, secret: String?, text: String, link: String?, now: Date) -> (String, String) {
        let content = link.map { "\(text)\n\($0)" } ?? text
        switch kind {
        case .wecom:
            return (url, JSONValue.object(["msgtype": .string("text"), "text": .object(["content": .string(content)])]).jsonText)
        case .dingtalk:
            var signed = url
            if let secret, !secret.isEmpty {
                let timestamp = Int64(now.timeIntervalSince1970 * 1000)
                let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp)\n\(secret)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
                let sign = Data(mac).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                signed += (url.contains("?") ? "&" : "?") + "timestamp=\(timestamp)&sign=\(sign)"
            }
            return (signed, JSONValue.object(["msgtype": .string("text"), "text": .object(["content": .string(content)])]).jsonText)
        case .feishu:
            var body: [String: JSONValue] = ["msg_type": .string("text"), "content": .object(["text": .string(content)])]
            if let secret, !secret.isEmpty {
                let timestamp = Int64(now.timeIntervalSince1970)
                // Feishu signs with "timestamp\nsecret" as the key over an empty message.
                let mac = HMAC<SHA256>.authenticationCode(for: Data(), using: SymmetricKey(data: Data("\(timestamp)\n\(secret)".utf8)))
                body["timestamp"] = .string("\(timestamp)")
                body["sign"] = .string(Data(mac).base64EncodedString())
            }
            return (url, JSONValue.object(body).jsonText)
        }
    }
}

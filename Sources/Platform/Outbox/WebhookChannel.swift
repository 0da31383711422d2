import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The outbox's webhook channel: POSTs a delivery's body to its endpoint, signed, and keeps the
/// endpoint's count of failed attempts in a row — past `disableAfter` the endpoint is turned
/// off and the tenant's administrators are notified (`webhook.disabled`).
///
/// Redirects are not followed and, unless `allowPrivateAddresses`, an endpoint whose name
/// resolves to a loopback, private, link-local or otherwise internal address is refused, so a
/// tenant cannot make the server call into its own network.
public struct WebhookChannel: OutboxChannel {
    public let name = "webhook"
    let database: Database
    let allowPrivateAddresses: Bool
    let disableAfter: Int
    let timeout: Duration
    let logger: Logger

    /// One client for the process (never shut down: it lives as long as the server).
    static let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                                          timeout: .init(connect: .seconds(5), read: .seconds(15))))

    public init(database: Database, allowPrivateAddresses: Bool, disableAfter: Int = 15, timeout: Duration = .seconds(15), logger: Logger) {
        self.database = database
        self.allowPrivateAddresses = allowPrivateAddresses
        self.disableAfter = disableAfter
        self.timeout = timeout
        self.logger = logger
    }

    public func deliver(_ item: OutboxItem, tenant: UUID) async -> DeliveryOutcome {
        guard case .object(let payload) = item.payload, let endpointText = payload["endpoint_id"]?.stringValue,
              let endpointID = UUID(uuidString: endpointText), let event = payload["event"]?.stringValue, let body = payload["body"]?.stringValue else {
            return .failed("malformed webhook delivery", retry: false)
        }
        let target: (url: String, secret: String)?
        do {
            target = try await database.withTenant(tenant, logger: logger) { [logger] connection in
                for try await (url, secret) in try await connection.query("""
                    SELECT url, secret FROM webhook_endpoints WHERE id = \(endpointID) AND active
                    """, logger: logger).decode((String, String).self) {
                    return (url, secret)
                }
                return nil
            }
        } catch {
            return .failed("cannot read the endpoint: \(DatabaseErrors.describe(error))", retry: true)
        }
        guard let target else { return .failed("the endpoint is disabled or deleted", retry: false) }
        let outcome = await post(body, event: event, delivery: item.id, to: target.url, secret: target.secret)
        do {
            try await account(outcome, endpoint: endpointID, url: target.url, tenant: tenant)
        } catch {
            logger.warning("webhook failure count not kept", metadata: ["endpoint": "\(endpointID)", "error": "\(DatabaseErrors.describe(error))"])
        }
        return outcome
    }

    func post(_ body: String, event: String, delivery: UUID, to url: String, secret: String) async -> DeliveryOutcome {
        do {
            try await WebhookAddressPolicy.check(url, allowPrivate: allowPrivateAddresses)
        } catch let error as WebhookError {
            if case .invalid(_, let reason) = error { return .failed(reason, retry: false) }
            return .failed("\(error)", retry: false)
        } catch {
            return .failed("cannot resolve the endpoint: \(error)", retry: true)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Atrium-Webhooks/1")
        request.headers.add(name: "X-Atrium-Event", value: event)
        request.headers.add(name: "X-Atrium-Delivery", value: delivery.uuidString.lowercased())
        request.headers.add(name: "X-Atrium-Signature", value: Webhooks.signature(body: body, secret: secret, timestamp: Int(Date().timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await Self.client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
            let status = Int(response.status.code)
            let excerpt = (try? await response.body.collect(upTo: 512)).map { String(buffer: $0) } ?? ""
            if (200..<300).contains(status) { return .sent }
            let reason = "HTTP \(status)" + (excerpt.isEmpty ? "" : ": \(excerpt.prefix(200))")
            // 410 Gone: the receiver says the endpoint is no more; other answers may pass.
            return .failed(reason, retry: status != 410)
        } catch {
            return .failed("\(error)", retry: true)
        }
    }

    /// Resets the endpoint's failure count on success; counts a failure and turns the endpoint
    /// off past the limit, telling the tenant's administrators once.
    func account(_ outcome: DeliveryOutcome, endpoint: UUID, url: String, tenant: UUID) async throws {
        let limit = disableAfter
        try await database.withTenant(tenant, logger: logger) { [logger] connection in
            switch outcome {
            case .sent:
                try await connection.query("""
                    UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = \(endpoint) AND consecutive_failures <> 0
                    """, logger: logger)
            case .failed(let reason, _):
                let rows = try await connection.query("""
                    UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
                        active = active AND consecutive_failures + 1 < \(limit),
                        disabled_at = CASE WHEN active AND consecutive_failures + 1 >= \(limit) THEN now() ELSE disabled_at END,
                        disabled_reason = CASE WHEN active AND consecutive_failures + 1 >= \(limit) THEN \(String(reason.prefix(500))) ELSE disabled_reason END
                    WHERE id = \(endpoint)
                    RETURNING disabled_at = now() AND NOT active
                    """, logger: logger)
                guard try await rows.collect().first?.decode(Bool.self) == true else { return }
                var admins: [UUID] = []
                for try await id in try await connection.query("SELECT id FROM users WHERE is_admin AND is_active", logger: logger).decode(UUID.self) {
                    admins.append(id)
                }
                try await Notifications.notify(admins, of: NotificationEvent(kind: "webhook.disabled", arguments: [
                    "url": url, "failures": "\(limit)",
                ]), on: connection, logger: logger)
            }
        }
    }
}

/// Which addresses a webhook may call.
public enum WebhookAddressPolicy {
    /// Checks the URL's form (http or https, a host, no user info) and, unless `allowPrivate`,
    /// that every address its host resolves to is public. Throws ``WebhookError/invalid``.
    public static func check(_ text: String, allowPrivate: Bool) async throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw WebhookError.invalid(field: "url", reason: "must be an http:// or https:// URL with a host")
        }
        guard url.user == nil, url.password == nil else { throw WebhookError.invalid(field: "url", reason: "must not carry a user name or password") }
        guard !allowPrivate else { return }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let name = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = try await NIOThreadPool.singleton.runIfActive { try resolve(name, port: port) }
        guard !addresses.isEmpty else { throw WebhookError.invalid(field: "url", reason: "\(host) does not resolve") }
        if let inside = addresses.first(where: isInternal) {
            throw WebhookError.invalid(field: "url", reason: "\(host) resolves to an internal address (\(inside.ipAddress ?? "?")); webhooks call public addresses only")
        }
    }

    /// Every address `host` resolves to (getaddrinfo, on the thread pool: it blocks).
    static func resolve(_ host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw WebhookError.invalid(field: "url", reason: "\(host) does not resolve")
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let raw = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET: addresses.append(raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                case AF_INET6: addresses.append(raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Loopback, private (RFC 1918, fc00::/7), link-local, carrier-grade NAT, unspecified,
    /// multicast and broadcast addresses (IPv4-mapped IPv6 judged as IPv4).
    static func isInternal(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isInternal(v4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return isInternal(v4: (UInt32(bytes[12]) << 24) | (UInt32(bytes[13]) << 16) | (UInt32(bytes[14]) << 8) | UInt32(bytes[15]))
            }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
            return bytes[0] & 0xfe == 0xfc || (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) || bytes[0] == 0xff
        case .unixDomainSocket:
            return true
        }
    }

    static func isInternal(v4 value: UInt32) -> Bool {
        let a = value >> 24, b = (value >> 16) & 0xff
        return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
            || (a == 100 && (64...127).contains(b)) || a >= 224
    }
}

import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where mail goes: the relay named by `ATRIUM_SMTP_URL`.
///
///     smtp://host:25                      STARTTLS when the server offers it
///     smtp://user:pass@host:587?starttls=required
///     smtps://user:pass@host:465          TLS from the first byte
///     smtp://127.0.0.1:1025?starttls=off  a local catcher (never with a password)
///     …&cafile=/etc/atrium/relay-ca.pem   trust this CA for the relay's certificate
public struct SMTPRelay: Sendable, Equatable {
    public enum Security: String, Sendable {
        /// TLS from the first byte (port 465).
        case implicitTLS
        /// STARTTLS or give up.
        case startTLSRequired
        /// STARTTLS when offered; plain otherwise (never with credentials).
        case startTLSIfOffered
        /// Plain text: a catcher on loopback.
        case none
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    public var caFile: String?
    /// The name this host gives in EHLO.
    public var heloName = "atrium.localdomain"
    /// The longest a whole conversation may take.
    public var timeout: Duration = .seconds(30)

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
    }

    /// Reads an `smtp://` or `smtps://` URL; throws naming `variable` on anything else.
    public init(parsing text: String, variable: String = "ATRIUM_SMTP_URL") throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty else {
            throw ConfigurationError(variable: variable, message: "must be smtp://[user:password@]host[:port][?starttls=required|auto|off] or smtps://…")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        var security: Security = scheme == "smtps" ? .implicitTLS : .startTLSIfOffered
        if scheme == "smtp" {
            switch query["starttls"]?.lowercased() {
            case nil, "", "auto": security = .startTLSIfOffered
            case "required", "require", "on": security = .startTLSRequired
            case "off", "none": security = .none
            default: throw ConfigurationError(variable: variable, message: "starttls must be required, auto or off")
            }
        }
        self.init(host: host, port: components.port ?? (scheme == "smtps" ? 465 : 25), security: security,
                  username: components.percentEncodedUser?.removingPercentEncoding,
                  password: components.percentEncodedPassword?.removingPercentEncoding, caFile: query["cafile"])
        if let helo = query["helo"], !helo.isEmpty { heloName = helo }
    }

    /// The relay without its password, for logs and pages.
    public var redacted: String {
        "\(security == .implicitTLS ? "smtps" : "smtp")://\(username.map { "\($0)@" } ?? "")\(host):\(port)"
    }
}

/// A reply or a refusal from the mail server. `permanent` (5xx): another attempt with the same
/// message cannot succeed.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public let code: Int
    public let message: String
    public var permanent: Bool { code >= 500 && code < 600 }
    public var description: String { code == 0 ? message : "\(code) \(message)" }

    static func local(_ message: String) -> SMTPError { SMTPError(code: 0, message: message) }
}

/// A small SMTP client (RFC 5321) on SwiftNIO: one connection per message, EHLO, STARTTLS
/// (RFC 3207), AUTH PLAIN or LOGIN, MAIL/RCPT/DATA with dot-stuffing, QUIT. Enough for a relay;
/// no pipelining, no connection reuse — the outbox worker runs several at once instead.
public struct SMTPClient: Sendable {
    public let relay: SMTPRelay

    public init(relay: SMTPRelay) {
        self.relay = relay
    }

    /// Sends `message` (a complete RFC 5322 text with CRLF line ends) from `sender` to
    /// `recipients`. Throws ``SMTPError`` for a refusal, a timeout or a broken connection.
    public func send(_ message: String, from sender: String, to recipients: [String]) async throws {
        guard !recipients.isEmpty else { throw SMTPError.local("no recipients") }
        let tls = try relay.security == .none ? nil : makeTLSContext()
        let implicit = relay.security == .implicitTLS
        let host = relay.host
        let channel: NIOAsyncChannel<SMTPReplyLine, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: relay.host, port: relay.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicit, let tls {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: SMTPClient.sniName(host)))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        return try NIOAsyncChannel<SMTPReplyLine, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPError.local("cannot connect to \(relay.host):\(relay.port): \(error)")
        }
        let deadline = Task { [timeout = relay.timeout] in
            try await Task.sleep(for: timeout)
            try? await channel.channel.close()
        }
        defer { deadline.cancel() }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var conversation = SMTPConversation(channel: channel.channel, replies: inbound.makeAsyncIterator(), outbound: outbound)
                try await conversation.expect(220)
                var features = try await conversation.hello(relay.heloName)
                var secured = implicit
                if !secured, relay.security != .none, let tls {
                    if features.contains("STARTTLS") {
                        try await conversation.command("STARTTLS", expect: 220)
                        try await conversation.startTLS(context: tls, serverHostname: SMTPClient.sniName(host))
                        secured = true
                        features = try await conversation.hello(relay.heloName)
                    } else if relay.security == .startTLSRequired {
                        throw SMTPError.local("\(relay.host) does not offer STARTTLS (starttls=required); it offers \(features.sorted().joined(separator: ", "))")
                    }
                }
                if let username = relay.username, let password = relay.password {
                    guard secured || SMTPClient.isLoopback(relay.host) else {
                        throw SMTPError.local("refusing to send the relay password without TLS")
                    }
                    try await conversation.authenticate(username: username, password: password, features: features)
                }
                try await conversation.command("MAIL FROM:<\(sender)>", expect: 250)
                for recipient in recipients {
                    try await conversation.command("RCPT TO:<\(recipient)>", expect: 250, 251)
                }
                try await conversation.command("DATA", expect: 354)
                try await conversation.write(SMTPClient.dotStuffed(message) + ".\r\n")
                try await conversation.expect(250)
                try? await conversation.command("QUIT", expect: 221)
            }
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError.local(deadline.isCancelled ? "\(error)" : "connection to \(relay.host) failed or timed out: \(error)")
        }
    }

    func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = relay.caFile { configuration.trustRoots = .file(caFile) }
        return try NIOSSLContext(configuration: configuration)
    }

    /// SNI takes names, not addresses.
    static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    /// CRLF line ends, a leading dot doubled (RFC 5321 4.5.2), ending in CRLF.
    static func dotStuffed(_ message: String) -> String {
        let normalized = message.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = normalized.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        if lines.last == "" { lines.removeLast() }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// One line of a server reply: `250-PIPELINING` is (250, more: true, "PIPELINING").
struct SMTPReplyLine: Sendable {
    let code: Int
    let more: Bool
    let text: String
}

/// Splits the server's bytes into reply lines.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReplyLine

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError.local("reply line too long") }
            return .needMoreData
        }
        let length = view.distance(from: view.startIndex, to: newline) + 1
        guard var bytes = buffer.readBytes(length: length) else { return .needMoreData }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        let line = String(decoding: bytes, as: UTF8.self)
        let digits = line.prefix(3)
        guard digits.count == 3, let code = Int(digits) else { throw SMTPError.local("not an SMTP reply: \(line.prefix(80))") }
        let rest = line.dropFirst(3)
        context.fireChannelRead(wrapInboundOut(SMTPReplyLine(code: code, more: rest.first == "-", text: String(rest.dropFirst()))))
        return .continue
    }
}

/// The client's side of one conversation.
struct SMTPConversation {
    let channel: any Channel
    var replies: NIOAsyncChannelInboundStream<SMTPReplyLine>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// The next complete reply: its code and its lines' texts.
    mutating func reply() async throws -> (Int, [String]) {
        var texts: [String] = []
        while let line = try await replies.next() {
            texts.append(line.text)
            if !line.more { return (line.code, texts) }
        }
        throw SMTPError.local("the server closed the connection")
    }

    mutating func expect(_ codes: Int...) async throws {
        let (code, texts) = try await reply()
        guard codes.contains(code) else { throw SMTPError(code: code, message: texts.joined(separator: " ")) }
    }

    func write(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    mutating func command(_ line: String, expect codes: Int...) async throws {
        try await write(line + "\r\n")
        let (code, texts) = try await reply()
        guard codes.contains(code) else { throw SMTPError(code: code, message: texts.joined(separator: " ")) }
    }

    /// EHLO; the server's extensions, upper-cased (`AUTH PLAIN LOGIN`, `STARTTLS`).
    mutating func hello(_ name: String) async throws -> Set<String> {
        try await write("EHLO \(name)\r\n")
        let (code, texts) = try await reply()
        guard code == 250 else { throw SMTPError(code: code, message: texts.joined(separator: " ")) }
        return Set(texts.dropFirst().map { $0.uppercased() })
    }

    /// Puts TLS under the conversation, at the front of the pipeline.
    func startTLS(context: NIOSSLContext, serverHostname: String?) async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first)
        }.get()
    }

    mutating func authenticate(username: String, password: String, features: Set<String>) async throws {
        let mechanisms = features.first { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }.map { Set($0.dropFirst(5).split(separator: " ").map(String.init)) } ?? []
        if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
            let token = Data("\u{0}\(username)\u{0}\(password)".utf8).base64EncodedString()
            try await command("AUTH PLAIN \(token)", expect: 235)
        } else {
            try await command("AUTH LOGIN", expect: 334)
            try await command(Data(username.utf8).base64EncodedString(), expect: 334)
            try await command(Data(password.utf8).base64EncodedString(), expect: 235)
        }
    }
}

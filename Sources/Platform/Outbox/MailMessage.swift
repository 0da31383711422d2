import Foundation

/// An e-mail address with an optional display name, safe to put in a header.
public struct MailAddress: Sendable, Equatable {
    public let address: String
    public let name: String?

    public init(_ address: String, name: String? = nil) {
        self.address = address
        self.name = name.map(MailMessage.oneLine).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `local@domain`, printable, no spaces, angle brackets or line breaks; at most 254.
    public static func isValid(_ text: String) -> Bool {
        guard text.count <= 254, text.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && !"<>()[]\\,;:\"".unicodeScalars.contains($0) }) else {
            return false
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && (parts[1].contains(".") || parts[1] == "localhost") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
    }

    var header: String {
        guard let name else { return address }
        return "\(MailMessage.encodedWord(name)) <\(address)>"
    }
}

/// One e-mail as RFC 5322 text: UTF-8 throughout, a plain-text part and an HTML part
/// (multipart/alternative, each base64), header values cleared of line breaks so nothing can
/// inject a header, non-ASCII subjects and names as RFC 2047 encoded words.
public struct MailMessage: Sendable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var replyTo: MailAddress?
    public var subject: String
    public var text: String
    public var html: String?
    /// `<id@host>`: the idempotency key receivers can drop repeats by.
    public var messageID: String
    public var date: Date
    /// Extra headers (`X-Atrium-Notification`), values made one line.
    public var headers: [(String, String)] = []

    public init(from: MailAddress, to: [MailAddress], replyTo: MailAddress? = nil, subject: String, text: String, html: String? = nil,
                messageID: String, date: Date = Date()) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }

    /// The message, CRLF line ends.
    public func rendered(boundary: String = "atrium-" + UUID().uuidString.lowercased()) -> String {
        var lines = [
            "Date: \(Self.rfc5322Date(date))",
            "From: \(from.header)",
            "To: \(to.map(\.header).joined(separator: ", "))",
        ]
        if let replyTo { lines.append("Reply-To: \(replyTo.header)") }
        lines += [
            "Subject: \(Self.encodedWord(Self.oneLine(subject)))",
            "Message-ID: \(messageID)",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        lines += headers.map { "\(Self.oneLine($0.0)): \(Self.oneLine($0.1))" }
        if let html {
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            for (type, body) in [("text/plain", text), ("text/html", html)] {
                lines += ["--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", "", Self.base64Lines(body)]
            }
            lines.append("--\(boundary)--")
        } else {
            lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "", Self.base64Lines(text)]
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func oneLine(_ text: String) -> String {
        text.unicodeScalars.map { CharacterSet.newlines.contains($0) || $0.value < 32 ? " " : String($0) }.joined()
    }

    /// As is when printable ASCII; else `=?UTF-8?B?…?=` words of at most 45 bytes each, split
    /// between characters (RFC 2047: a word ≤ 75 characters).
    static func encodedWord(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) { return text }
        var words: [String] = []
        var chunk = Data()
        for character in text {
            let bytes = Data(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
                chunk = Data()
            }
            chunk.append(bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    static func base64Lines(_ text: String) -> String {
        Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    static func rfc5322Date(_ date: Date) -> String {
        let style = Date.VerbatimFormatStyle(
            format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
            locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian))
        return date.formatted(style)
    }
}

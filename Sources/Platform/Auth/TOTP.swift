import Crypto
import Foundation

/// RFC 4648 base32 (the alphabet authenticator apps use for secrets), without padding on output.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8], padding: Bool = false) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        if padding { while output.count % 8 != 0 { output.append(UInt8(ascii: "=")) } }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes case-insensitively, ignoring spaces, hyphens and trailing `=`; nil for any other
    /// character or for trailing bits that are not zero.
    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for scalar in text.uppercased().unicodeScalars where scalar != " " && scalar != "-" && scalar != "=" {
            guard scalar.isASCII, let index = alphabet.firstIndex(of: UInt8(scalar.value)) else { return nil }
            buffer = (buffer << 5) | UInt32(index)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }
}

/// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) with HMAC-SHA1, the variant every
/// authenticator app speaks: 30-second steps, 6 digits.
///
/// ```swift
/// let totp = TOTP(secret: Base32.decode("JBSWY3DPEHPK3PXP")!)
/// totp.code(at: Date())                       // "492039"
/// totp.matchingStep("492039", at: Date())    // the step it belongs to, within ±1 step
/// ```
public struct TOTP: Sendable {
    public let secret: [UInt8]
    public var period: Int64 = 30
    public var digits: Int = 6

    public init(secret: [UInt8], period: Int64 = 30, digits: Int = 6) {
        self.secret = secret
        self.period = period
        self.digits = digits
    }

    /// 20 random bytes (160 bits, RFC 4226's recommended length).
    public static func newSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public func step(at date: Date) -> Int64 { Int64(floor(date.timeIntervalSince1970)) / period }

    /// RFC 4226 §5.3: HMAC-SHA1 of the big-endian counter, dynamic truncation, modulo 10^digits.
    public func code(step counter: Int64) -> String {
        var message = [UInt8](repeating: 0, count: 8)
        var value = UInt64(bitPattern: counter)
        for index in stride(from: 7, through: 0, by: -1) {
            message[index] = UInt8(value & 0xFF)
            value >>= 8
        }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let number = String(binary % modulus)
        return String(repeating: "0", count: digits - number.count) + number
    }

    public func code(at date: Date) -> String { code(step: step(at: date)) }

    /// The step (current, previous or next: clocks drift) whose code `code` is, or nil.
    /// Every candidate is compared in constant time, so timing tells nothing about near misses.
    public func matchingStep(_ code: String, at date: Date, window: Int64 = 1) -> Int64? {
        let code = code.filter { !$0.isWhitespace }
        guard code.count == digits, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber) else { return nil }
        let now = step(at: date)
        var found: Int64?
        for candidate in (now - window)...(now + window) where SecureToken.constantTimeEquals(self.code(step: candidate), code) {
            found = found ?? candidate
        }
        return found
    }

    /// The `otpauth://` URI authenticator apps read from the QR code (Key Uri Format):
    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
    public func uri(issuer: String, account: String) -> String {
        // ASCII unreserved characters only: a Chinese tenant name is percent-encoded UTF-8.
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~@")
        func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))&issuer=\(escape(issuer))"
            + "&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }
}

import Crypto
import Foundation

/// How a TOTP secret is kept in `user_two_factor.secret`.
///
/// The server must read the secret back to check codes, so it cannot be hashed like a password.
/// With `ATRIUM_SECRET_KEY` it is sealed with AES-256-GCM (`aesgcm:` + base64 of nonce, cipher
/// text and tag), the tenant and user ids bound as authenticated data so a row copied onto
/// another user does not open. Without a key it is stored as base32 text (`plain:`): a leaked
/// database (or tenant archive) then leaks second factors too — the README says so and
/// recommends the key. A `plain:` secret still opens once a key is configured (it is sealed
/// at the next enrolment); an `aesgcm:` one without the key is an error, never a silent pass.
public struct TwoFactorSecretBox: Sendable {
    let key: SymmetricKey?

    public init(key: [UInt8]?) {
        self.key = key.map { SymmetricKey(data: $0) }
    }

    public var encrypts: Bool { key != nil }

    /// 64 hex digits → 32 bytes; nil otherwise.
    public static func key(hex: String) -> [UInt8]? {
        let text = Array(hex.utf8)
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: text[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    public struct CannotOpen: Error, CustomStringConvertible {
        public let description: String
    }

    static func context(tenantID: UUID, userID: UUID) -> Data {
        Data("atrium-totp:\(tenantID.uuidString.lowercased()):\(userID.uuidString.lowercased())".utf8)
    }

    public func seal(_ secret: [UInt8], tenantID: UUID, userID: UUID) throws -> String {
        guard let key else { return "plain:" + Base32.encode(secret) }
        let box = try AES.GCM.seal(secret, using: key, authenticating: Self.context(tenantID: tenantID, userID: userID))
        guard let combined = box.combined else { throw CannotOpen(description: "AES-GCM gave no combined form") }
        return "aesgcm:" + combined.base64EncodedString()
    }

    public func open(_ stored: String, tenantID: UUID, userID: UUID) throws -> [UInt8] {
        if stored.hasPrefix("plain:"), let secret = Base32.decode(String(stored.dropFirst(6))) { return secret }
        guard stored.hasPrefix("aesgcm:"), let combined = Data(base64Encoded: String(stored.dropFirst(7))) else {
            throw CannotOpen(description: "a two-factor secret is stored in an unknown form")
        }
        guard let key else { throw CannotOpen(description: "two-factor secrets are encrypted but ATRIUM_SECRET_KEY is not set") }
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key,
                                          authenticating: Self.context(tenantID: tenantID, userID: userID)))
        } catch {
            throw CannotOpen(description: "a two-factor secret does not open with ATRIUM_SECRET_KEY (another key, or a row moved)")
        }
    }
}

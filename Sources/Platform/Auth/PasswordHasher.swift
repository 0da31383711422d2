import CArgon2
import Foundation
import NIOPosix

/// Argon2id password hashing over Debian's libargon2.
///
/// The encoded form (`$argon2id$v=19$m=65536,t=3,p=1$salt$hash`) carries its parameters, so
/// raising the cost later still verifies old hashes. Hashing is deliberately slow (≈0.3 s at the
/// defaults); the async variants run it on NIO's blocking thread pool, off the event loops.
public struct PasswordHasher: Sendable {
    public var memoryKiB: UInt32 = 65_536
    public var iterations: UInt32 = 3
    public var parallelism: UInt32 = 1
    static let saltLength = 16
    static let hashLength = 32

    public init() {}

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    public struct HashingFailed: Error, CustomStringConvertible {
        public let description: String
    }

    public func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: Self.saltLength)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let password = Array(password.utf8)
        let length = argon2_encodedlen(iterations, memoryKiB, parallelism, UInt32(Self.saltLength), UInt32(Self.hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let status = argon2id_hash_encoded(
            iterations, memoryKiB, parallelism,
            password, password.count,
            salt, salt.count,
            Self.hashLength,
            &encoded, length
        )
        guard status == ARGON2_OK.rawValue else {
            throw HashingFailed(description: String(cString: argon2_error_message(status)))
        }
        return encoded.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// True only for the right password; a malformed or non-Argon2id hash is a mismatch.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard encoded.hasPrefix("$argon2id$") else { return false }
        let password = Array(password.utf8)
        return argon2id_verify(encoded, password, password.count) == ARGON2_OK.rawValue
    }

    public func hashOffLoop(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { try self.hash(password) }
    }

    public func verifyOffLoop(_ password: String, against encoded: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { self.verify(password, against: encoded) }
    }
}

/// The rule every new password meets, on every path that sets one (invite, reset, provisioning,
/// the CLI and the admin API); returns the problem, or nil.
///
/// At least 8 characters; at least two kinds of character (letters, digits, others) unless it
/// is a passphrase of 16 characters or more; not a run of one to three repeated characters;
/// not one of the common passwords below (compared without case, and without trailing digits
/// and punctuation, so `Password123!` is refused with `password`); not the user's e-mail or its
/// part before the `@`.
public enum PasswordPolicy {
    public static let minimumLength = 8
    public static let passphraseLength = 16

    public static func problem(with password: String, email: String? = nil) -> String? {
        if password.count < minimumLength { return "must be at least \(minimumLength) characters" }
        if password.utf8.count > 1024 { return "must be at most 1024 bytes" }
        let lowered = password.lowercased()
        if Set(lowered).count <= 3 { return "must not be a few characters repeated" }
        if let email = email?.lowercased(), lowered == email || lowered == email.split(separator: "@").first.map(String.init) {
            return "must not be the e-mail address"
        }
        let stem = String(lowered.reversed().drop { $0.isNumber || $0.isPunctuation || $0.isSymbol }.reversed())
        if common.contains(lowered) || common.contains(stem) || isRun(lowered) { return "is too common; choose one that is harder to guess" }
        let kinds = [password.contains(where: \.isLetter), password.contains(where: \.isNumber),
                     password.contains { !$0.isLetter && !$0.isNumber }].filter { $0 }.count
        if kinds < 2 && password.count < passphraseLength {
            return "must mix letters with digits or symbols (or be a passphrase of \(passphraseLength) characters or more)"
        }
        return nil
    }

    /// A straight run on the keyboard or the alphabet (`12345678`, `abcdefgh`, `qwertyui`).
    static func isRun(_ text: String) -> Bool {
        let runs = ["01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc", "qazwsxedc"]
        return runs.contains { $0.contains(text) || String($0.reversed()).contains(text) }
    }

    /// Passwords that appear at the top of every leaked-password ranking, Chinese users' favourites
    /// included (lucky numbers, pinyin phrases); a stem (letters before trailing digits) counts.
    static let common: Set<String> = [
        "password", "passw0rd", "p@ssw0rd", "p@ssword", "pass", "passwort", "motdepasse", "mima", "mimamima",
        "admin", "administrator", "root", "toor", "user", "guest", "test", "tester", "testing", "demo", "default", "changeme", "welcome",
        "letmein", "login", "master", "secret", "qwerty", "qwertyuiop", "azerty", "asdfgh", "zxcvbn", "abc", "abcd", "iloveyou", "loveyou",
        "love", "princess", "sunshine", "monkey", "dragon", "football", "baseball", "basketball", "soccer", "superman", "batman",
        "shadow", "michael", "jennifer", "charlie", "jordan", "hunter", "killer", "trustno1", "freedom", "whatever", "starwars",
        "computer", "internet", "service", "server", "company", "office", "manager", "sales", "crm", "atrium",
        "woaini", "woaini1314", "wodemima", "nihao", "aini1314", "zhang", "wang", "li", "liu", "chen", "huang", "zhao", "zhou",
        "beijing", "shanghai", "shenzhen", "china", "zhongguo", "iloveu", "fuckyou", "a", "aa", "aaa", "aaaa", "q", "qq", "qwe",
        "12345678", "123456789", "1234567890", "87654321", "11223344", "12341234", "123123123", "123321123", "1314520", "5201314",
        "520131400", "13145200", "147258369", "159357258", "741852963", "11111111", "88888888", "66666666", "00000000",
        "a1234567", "a12345678", "a123456789", "aa123456", "abc12345", "abc123456", "qwe12345", "qwe123456", "1q2w3e4r", "1qaz2wsx",
        "zaq12wsx", "q1w2e3r4", "asd12345", "woaini520", "password1", "admin123", "admin888", "root1234", "test1234",
    ]
}

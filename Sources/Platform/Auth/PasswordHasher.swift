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

/// The rule every new password meets; returns the problem, or nil.
public enum PasswordPolicy {
    public static let minimumLength = 8

    public static func problem(with password: String) -> String? {
        if password.count < minimumLength { return "must be at least \(minimumLength) characters" }
        if password.utf8.count > 1024 { return "must be at most 1024 bytes" }
        return nil
    }
}

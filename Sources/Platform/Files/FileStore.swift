import Crypto
import Foundation
import NIOCore

/// Where attachments' bytes live, behind one interface: the local filesystem
/// (``LocalFileStore``, the default) or, for hosted deployments, an S3-compatible bucket
/// implementing the same three calls (not built yet; see the README's "Files and attachments").
///
/// Content is addressed by its SHA-256 inside the tenant's space, so the same file attached
/// twice is stored once and a key can never point at other bytes. ``store(_:sha256:tenant:)``
/// returns only when the bytes are durable: the caller writes the database row that names the
/// key afterwards, in its transaction, so a committed row never names missing bytes (a failed
/// transaction can leave an unreferenced file behind, never the reverse).
/// ```swift
/// let digest = FileDigest.sha256(bytes)
/// let key = try await files.store(bytes, sha256: digest, tenant: tenantID)   // "3f/3fa9…"
/// let same = try await files.load(key, tenant: tenantID)
/// ```
public protocol FileStore: Sendable {
    /// Stores `content` (whose SHA-256, lower-case hex, is `sha256`) durably for `tenant` and
    /// returns its storage key; storing the same content again returns the same key.
    func store(_ content: ByteBuffer, sha256: String, tenant: UUID) async throws -> String
    /// The bytes stored under `key` for `tenant`.
    func load(_ key: String, tenant: UUID) async throws -> ByteBuffer
    /// Whether `key` holds bytes for `tenant`.
    func contains(_ key: String, tenant: UUID) async throws -> Bool
}

/// SHA-256 of file content, as the stores and the `attachments.sha256` column spell it.
public enum FileDigest {
    public static func sha256(_ content: ByteBuffer) -> String {
        content.withUnsafeReadableBytes { bytes in
            SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        }
    }

    public static func isValid(_ digest: String) -> Bool {
        digest.utf8.count == 64 && digest.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// A store that cannot do what was asked: a bug or the disk, never the client (HTTP 500).
public struct FileStoreError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

/// The default ``FileStore``: files under a root folder (`ATRIUM_FILES_DIR`), one folder per
/// tenant, named by their SHA-256 and fanned out by its first two digits:
///
///     <root>/<tenant id>/3f/3fa9c…e1    storage key "3f/3fa9c…e1"
///
/// A file is written to a temporary name in its final folder, fsync'd, renamed into place and
/// the folder fsync'd, so after ``store(_:sha256:tenant:)`` returns a crash loses nothing and a
/// reader never sees half a file. Blocking file calls run on NIO's thread pool, not on an
/// event loop. Back the root up with the database (see the README); a multi-node deployment
/// shares it (NFS) or uses an S3-compatible store.
public struct LocalFileStore: FileStore {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public init(path: String) {
        self.init(root: URL(fileURLWithPath: path, isDirectory: true))
    }

    /// The tenant's folder.
    public func directory(of tenant: UUID) -> URL {
        root.appendingPathComponent(tenant.uuidString.lowercased(), isDirectory: true)
    }

    /// Where `key` lives for `tenant`; keys other stores or people made up are refused.
    public func url(of key: String, tenant: UUID) throws -> URL {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, FileDigest.isValid(String(parts[1])), parts[1].hasPrefix(parts[0]), parts[0].count == 2 else {
            throw FileStoreError("not a storage key of the local store: '\(key)'")
        }
        return directory(of: tenant).appendingPathComponent(String(parts[0]), isDirectory: true).appendingPathComponent(String(parts[1]))
    }

    public static func key(for sha256: String) -> String { "\(sha256.prefix(2))/\(sha256)" }

    public func store(_ content: ByteBuffer, sha256: String, tenant: UUID) async throws -> String {
        guard FileDigest.isValid(sha256) else { throw FileStoreError("not a SHA-256: '\(sha256)'") }
        let key = Self.key(for: sha256)
        let target = try url(of: key, tenant: tenant)
        try await NIOThreadPool.singleton.runIfActive {
            try Self.write(content, to: target)
        }
        return key
    }

    public func load(_ key: String, tenant: UUID) async throws -> ByteBuffer {
        let source = try url(of: key, tenant: tenant)
        return try await NIOThreadPool.singleton.runIfActive {
            guard let data = FileManager.default.contents(atPath: source.path) else {
                throw FileStoreError("no file for storage key \(key) of tenant \(tenant.uuidString.lowercased())")
            }
            return ByteBuffer(bytes: data)
        }
    }

    public func contains(_ key: String, tenant: UUID) async throws -> Bool {
        let path = try url(of: key, tenant: tenant).path
        return try await NIOThreadPool.singleton.runIfActive { FileManager.default.fileExists(atPath: path) }
    }

    // MARK: Durable write

    /// Content-addressed: a file already at `target` holds these bytes, so it is kept.
    static func write(_ content: ByteBuffer, to target: URL) throws {
        let folder = target.deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: target.path) { return }
        var created: [URL] = []
        var missing = folder
        while !FileManager.default.fileExists(atPath: missing.path) {
            created.insert(missing, at: 0)
            missing = missing.deletingLastPathComponent()
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".upload-\(UUID().uuidString.lowercased())")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FileStoreError("cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        do {
            try content.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = posixWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileStoreError("cannot write \(temporary.path): \(String(cString: strerror(errno)))")
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw FileStoreError("cannot fsync \(temporary.path): \(String(cString: strerror(errno)))") }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary.path)
            throw error
        }
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FileStoreError("cannot rename \(temporary.path) to \(target.path): \(reason)")
        }
        // The rename, and every folder made on the way, is durable once its parent is synced.
        try syncDirectory(folder)
        for directory in created.reversed() where directory != folder { try syncDirectory(directory) }
        if let first = created.first { try syncDirectory(first.deletingLastPathComponent()) }
    }

    static func syncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileStoreError("cannot open folder \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileStoreError("cannot fsync folder \(url.path): \(String(cString: strerror(errno)))") }
    }
}

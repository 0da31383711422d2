import Foundation
import ZIPFoundation

/// The ZIP container of Office Open XML files (.xlsx), in memory, over ZIPFoundation: a writer
/// of deflated entries and a reader that trusts nothing in the file. Before an entry is
/// inflated its declared size is checked against ``ZipArchiveReader/maxEntryBytes``; while it
/// inflates, more bytes than declared stop it (a "zip bomb" stops at the limit); afterwards
/// the CRC-32 must match.
public struct ZipArchiveWriter {
    private let archive: Archive
    private let date: Date

    public init(date: Date = Date()) throws {
        do { self.archive = try Archive(data: Data(), accessMode: .create) } catch {
            throw ZipArchiveError.unsupported("an in-memory archive: \(error)")
        }
        self.date = date
    }

    /// Adds one file, deflated. `path` uses `/` and no leading slash (e.g. `xl/workbook.xml`).
    public mutating func add(_ path: String, _ content: [UInt8]) throws {
        try add(path, Data(content))
    }

    /// ``add(_:_:)-(_,[UInt8])`` of bytes already in a `Data` (a large sheet is not copied again).
    public mutating func add(_ path: String, _ data: Data) throws {
        do {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: date,
                                 compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        } catch {
            throw ZipArchiveError.unsupported("writing \(path): \(error)")
        }
    }

    /// The archive's bytes: entries, central directory, end record.
    public consuming func finish() throws -> [UInt8] {
        guard let data = archive.data else { throw ZipArchiveError.unsupported("an in-memory archive") }
        return [UInt8](data)
    }
}

/// Reads entries of a ZIP archive held in memory.
public struct ZipArchiveReader {
    /// The most one entry may inflate to (a 200 000-row sheet of ten fields is ~60 MiB of XML).
    public static let maxEntryBytes = 256 * 1024 * 1024

    private let archive: Archive
    /// Entry paths in the order of the central directory.
    public let paths: [String]

    /// Reads the central directory; throws ``ZipArchiveError/notZip`` for anything that is not
    /// a readable ZIP archive.
    public init(_ bytes: [UInt8]) throws {
        // ZIPFoundation looks for the end record from the back; a file too short to hold one is
        // not a ZIP archive, whatever its first bytes say.
        guard bytes.count >= 22, let archive = try? Archive(data: Data(bytes), accessMode: .read) else { throw ZipArchiveError.notZip }
        self.archive = archive
        self.paths = archive.map(\.path)
    }

    public func contains(_ path: String) -> Bool { archive[path] != nil }

    /// The inflated content of `path`, nil when the archive has no such entry.
    public func read(_ path: String) throws -> [UInt8]? {
        guard let entry = archive[path] else { return nil }
        guard entry.type == .file else { return nil }
        guard entry.uncompressedSize <= UInt64(Self.maxEntryBytes) else { throw ZipArchiveError.tooLarge }
        let declared = Int(entry.uncompressedSize)
        var content: [UInt8] = []
        content.reserveCapacity(declared)
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, skipCRC32: false) { chunk in
                guard content.count + chunk.count <= declared else { throw ZipArchiveError.corrupt(path) }
                content += chunk
            }
        } catch let error as ZipArchiveError {
            throw error
        } catch {
            throw ZipArchiveError.corrupt(path)
        }
        guard content.count == declared, checksum == entry.checksum else { throw ZipArchiveError.corrupt(path) }
        return content
    }
}

public enum ZipArchiveError: Error, Equatable, CustomStringConvertible {
    case notZip
    case tooLarge
    case corrupt(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .notZip: "is not a ZIP archive (an .xlsx file is one)"
        case .tooLarge: "holds a part larger than \(ZipArchiveReader.maxEntryBytes / 1024 / 1024) MiB"
        case .corrupt(let path): "is damaged (\(path) does not inflate to what the archive says)"
        case .unsupported(let what): "cannot be handled: \(what)"
        }
    }
}

import Crypto
import Foundation
import Logging
import NIOCore
import Platform
import PostgresNIO

/// One tenant as a portable archive: JSON lines — a header (format, schema version, the
/// tenant), then `{"table", "rows"}` batches of every tenant table, parents before children,
/// then `{"end", "sha256"}` with the count per table and the SHA-256 of every line before it
/// (each with its newline), so a cut or edited archive is refused. The digest guards against
/// damage and careless edits, not against someone who recomputes it: keep archives where only
/// administrators can write. Import restores it under a new or the same
/// slug on this or another instance (same schema version), keeping every id, so records,
/// custom field values, layouts and links come back identical.
///
/// Attachments' bytes travel as `{"file": {"key", "data"}}` lines (base64) after the batches,
/// one per stored file, checked against their SHA-256 and written to the target's file store
/// on import (a file line counts under `@files` in the end line).
///
/// Sessions, API tokens and sign-in attempts are never exported. Password hashes are left out
/// unless asked for (`includePasswordHashes`); without them imported users must get a new
/// password (`atrium-admin user reset-password`).
public enum TenantArchive {
    public static let format = "atrium-tenant-archive"
    /// Tables never exported: credentials, and what the import's own writes derive anew (cache
    /// stamps, search tokens), and deliveries still waiting in the outbox (a moved tenant must
    /// not mail its users twice).
    public static let skipped: Set<String> = ["sessions", "api_tokens", "login_attempts", "tenant_versions", "record_search_tokens", "outbox"]
    static let batch = 2_000
    /// Stands in for a password hash that was not exported: shaped like an Argon2id hash (the
    /// column requires it) but without salt or digest, so no password verifies against it.
    public static let noPassword = "$argon2id$v=19$password-not-exported"

    public struct Header: Codable, Sendable {
        public var format: String
        public var version: Int
        public var schema: Int
        public var slug: String
        public var name: String
        public var plan: String
        public var passwordHashes: Bool
        public var exportedAt: Date
        enum CodingKeys: String, CodingKey {
            case format, version, schema, slug, name, plan, passwordHashes = "password_hashes", exportedAt = "exported_at"
        }
    }

    /// One attachment file's bytes.
    struct FileLine: Codable {
        struct Content: Codable {
            var key: String
            var data: String
        }
        var file: Content
    }
    static let filesCount = "@files"

    /// The last line: rows per table and the digest of every line before it.
    struct End: Codable {
        var end: [String: Int]
        var sha256: String
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func schemaVersion(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT coalesce(max(version), 0)::int FROM schema_migrations", logger: logger).collect().first?.decode(Int.self) ?? 0
    }

    /// Writes the archive line by line through `write`; returns the rows per table.
    public static func export(slug: String, includePasswordHashes: Bool, files: any FileStore, on connection: PostgresConnection, logger: Logger,
                              write: @Sendable (String) throws -> Void) async throws -> [String: Int] {
        guard let tenant = try await TenantDirectory.find(slug: slug, on: connection, logger: logger) else {
            throw TenancyError.tenantNotFound(slug)
        }
        let header = Header(format: format, version: 2, schema: try await schemaVersion(on: connection, logger: logger), slug: tenant.slug,
                            name: tenant.name, plan: tenant.plan, passwordHashes: includePasswordHashes, exportedAt: Date())
        return try await connection.inTenantTransaction(tenant.id, logger: logger) { connection in
            var digest = SHA256()
            func emit(_ line: String) throws {
                digest.update(data: Data((line + "\n").utf8))
                try write(line)
            }
            try emit(String(decoding: try encoder().encode(header), as: UTF8.self))
            var counts: [String: Int] = [:]
            // Parents first: the reverse of the deletion order.
            for table in try await TenantDirectory.tenantTables(on: connection, logger: logger).reversed() where !skipped.contains(table) {
                var binds = PostgresBindings()
                binds.append(tenant.id)
                var rows: [String] = []
                func flush() throws {
                    guard !rows.isEmpty else { return }
                    try emit(#"{"table":"\#(table)","rows":[\#(rows.joined(separator: ","))]}"#)
                    rows.removeAll(keepingCapacity: true)
                }
                let hashColumn = table == "users" && !includePasswordHashes
                // The audit trail in its order (its ids are given anew on import); others in any order.
                let order = table == "audit_log" ? "t.id" : "1"
                let sql = "SELECT (to_jsonb(t) - 'tenant_id'\(hashColumn ? " - 'password_hash'" : ""))::text FROM \(table) t WHERE tenant_id = $1 ORDER BY \(order)"
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(String.self) {
                    rows.append(row)
                    counts[table, default: 0] += 1
                    if rows.count >= batch { try flush() }
                }
                try flush()
            }
            // The files the attachment rows name (deleted ones too: their rows travel).
            let keys = try await connection.query("SELECT DISTINCT storage_key FROM attachments ORDER BY 1", logger: logger).collect()
                .map { try $0.decode(String.self) }
            for key in keys {
                let content = try await files.load(key, tenant: tenant.id)
                let line = FileLine(file: .init(key: key, data: Data(content.readableBytesView).base64EncodedString()))
                try emit(String(decoding: try encoder().encode(line), as: UTF8.self))
                counts[filesCount, default: 0] += 1
            }
            let end = try encoder().encode(End(end: counts, sha256: digest.finalize().map { String(format: "%02x", $0) }.joined()))
            try write(String(decoding: end, as: UTF8.self))
            return counts
        }
    }

    /// Restores an archive as tenant `slug` (new or the archive's own), in one transaction;
    /// returns the rows per table. Refuses a different schema version, a taken slug, or an
    /// archive whose end line is missing or does not match what was read.
    public static func restore(lines: [String], slug: String, name: String?, resellerID: UUID? = nil, actor: String = "atrium-admin",
                               files: any FileStore, on connection: PostgresConnection, logger: Logger) async throws -> [String: Int] {
        guard let first = lines.first, let header = try? JSONDecoder.iso.decode(Header.self, from: Data(first.utf8)), header.format == format else {
            throw AtriumError.validation(field: "file", "is not an Atrium tenant archive")
        }
        try checkDigest(lines)
        try TenantProvisioner.checkSlug(slug)
        if let name, name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || name.count > 200 {
            throw AtriumError.validation(field: "name", "must be 1 to 200 characters")
        }
        let schema = try await schemaVersion(on: connection, logger: logger)
        guard header.schema == schema else {
            throw AtriumError.validation(field: "file", "was written by schema version \(header.schema); this database is at \(schema) — migrate the older side first")
        }
        if try await TenantDirectory.find(slug: slug, on: connection, logger: logger) != nil {
            throw TenancyError.slugTaken(slug)
        }
        return try await connection.inTransaction(logger: logger) { connection in
            let limits = PlanLimits.defaults(plan: header.plan)
            if let resellerID {
                try await ResellerDirectory.reserve(resellerID: resellerID, seats: limits.maxUsers, on: connection, logger: logger)
            }
            let tenantID = try await connection.query("""
                INSERT INTO tenants (slug, name, plan, max_users, max_records, max_storage_mb, reseller_id)
                VALUES (\(slug), \(name ?? header.name), \(header.plan), \(limits.maxUsers), \(limits.maxRecords), \(limits.maxStorageMB), \(resellerID))
                RETURNING id
                """, logger: logger).one(UUID.self)
            try await TenantScope.enter(tenantID, on: connection, logger: logger)
            let tables = Set(try await TenantDirectory.tenantTables(on: connection, logger: logger))
            var counts: [String: Int] = [:]
            var expected: [String: Int]?
            var columnsOf: [String: String] = [:]
            for line in lines.dropFirst() where !line.isEmpty {
                guard expected == nil else { throw AtriumError.validation(field: "file", "has lines after its end line") }
                guard case .object(let object) = try JSONValue.parse(line) else { throw AtriumError.validation(field: "file", "has a line that is not an object") }
                if case .object(let end)? = object["end"] {
                    expected = end.compactMapValues { $0.intValue }
                    continue
                }
                if object["file"] != nil {
                    try await restoreFile(line, tenant: tenantID, files: files)
                    counts[filesCount, default: 0] += 1
                    continue
                }
                guard let table = object["table"]?.stringValue, tables.contains(table), !skipped.contains(table), case .array(var rows)? = object["rows"] else {
                    throw AtriumError.validation(field: "file", "has a batch for an unknown table")
                }
                for index in rows.indices {
                    guard case .object(var row) = rows[index] else { continue }
                    row["tenant_id"] = .string(tenantID.uuidString.lowercased())
                    if table == "users" && row["password_hash"] == nil { row["password_hash"] = .string(noPassword) }
                    rows[index] = .object(row)
                }
                let columns: String
                if let known = columnsOf[table] {
                    columns = known
                } else {
                    columns = try await insertableColumns(table, on: connection, logger: logger).joined(separator: ", ")
                    columnsOf[table] = columns
                }
                var binds = PostgresBindings()
                binds.append(JSONValue.array(rows).jsonText)
                // One statement per batch: self-references (a department's parent) are checked at its end.
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(table) (\(columns)) SELECT \(columns) FROM json_populate_recordset(NULL::\(table), $1::json)
                    """, binds: binds), logger: logger)
                counts[table, default: 0] += rows.count
            }
            guard let expected else { throw AtriumError.validation(field: "file", "is cut short: its end line is missing") }
            guard expected == counts else { throw AtriumError.validation(field: "file", "does not add up: the end line counts \(expected), the batches hold \(counts)") }
            try await AuditLog.record(.init(action: "tenant.imported", actor: .system(actor), entity: "tenant", recordID: tenantID.uuidString,
                                            details: ["from": header.slug, "rows": "\(counts.values.reduce(0, +))"]),
                                      tenantID: tenantID, on: connection, logger: logger)
            return counts
        }
    }

    /// Columns a restore writes: all but identity columns (their values are given anew).
    /// Writes one file line's bytes to the new tenant's store, refusing bytes that do not match
    /// the key the attachment rows name.
    static func restoreFile(_ line: String, tenant: UUID, files: any FileStore) async throws {
        guard let entry = try? JSONDecoder().decode(FileLine.self, from: Data(line.utf8)).file,
              let data = Data(base64Encoded: entry.data) else {
            throw AtriumError.validation(field: "file", "has a file line that cannot be read")
        }
        let content = ByteBuffer(bytes: data)
        let sha256 = FileDigest.sha256(content)
        guard entry.key.hasSuffix(sha256) else {
            throw AtriumError.validation(field: "file", "has a file whose content does not match its name \(entry.key)")
        }
        let key = try await files.store(content, sha256: sha256, tenant: tenant)
        guard key == entry.key else {
            throw AtriumError.validation(field: "file", "has a file stored as \(entry.key), which this server would store as \(key)")
        }
    }

    /// Refuses an archive whose lines before the end line do not hash to the end line's
    /// `sha256`, before anything is written.
    static func checkDigest(_ lines: [String]) throws {
        var digest = SHA256()
        var written: String?
        for line in lines where !line.isEmpty {
            if line.hasPrefix(#"{"end":"#), let end = try? JSONDecoder().decode(End.self, from: Data(line.utf8)) {
                written = end.sha256
                break
            }
            digest.update(data: Data((line + "\n").utf8))
        }
        guard let written else { throw AtriumError.validation(field: "file", "is cut short or has no digest: its end line is missing") }
        guard written == digest.finalize().map({ String(format: "%02x", $0) }).joined() else {
            throw AtriumError.validation(field: "file", "was altered or damaged after export: its content does not match the digest in its end line")
        }
    }

    static func insertableColumns(_ table: String, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var columns: [String] = []
        for try await name in try await connection.query("""
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = \(table) AND is_identity = 'NO' AND is_generated = 'NEVER' ORDER BY ordinal_position
            """, logger: logger).decode(String.self) {
            columns.append(#""\#(name)""#)
        }
        return columns
    }
}

extension JSONDecoder {
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

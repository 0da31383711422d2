import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A file attached to a record.
public struct Attachment: Sendable, Equatable {
    public let id: UUID
    public let entity: String
    public let recordID: UUID
    public let fileName: String
    public let contentType: String
    public let byteSize: Int64
    public let sha256: String
    public let storageKey: String
    public let uploadedBy: UUID
    public let uploadedAt: Date

    /// Where it downloads from.
    public var href: String {
        "/api/v1/\(entity)/\(recordID.uuidString.lowercased())/attachments/\(id.uuidString.lowercased())"
    }

    public var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "entity": .string(entity), "record_id": .string(recordID.uuidString.lowercased()),
            "file_name": .string(fileName), "content_type": .string(contentType), "byte_size": .number(Decimal(byteSize)),
            "sha256": .string(sha256), "uploaded_by": .string(uploadedBy.uuidString.lowercased()),
            "uploaded_at": .string(uploadedAt.formatted(.iso8601)), "href": .string(href),
        ])
    }
}

/// Attachments on any record — module entities and custom objects alike — in the caller's
/// tenant transaction. Access follows the record: every call first loads the record through
/// the record engine with the caller's scope (read to list and download, update to attach and
/// remove), so whoever cannot see the record gets the record's 404 for its files too, and RLS
/// keeps other tenants' rows out of reach. Each change is audited on the record, in the same
/// transaction.
/// ```swift
/// let attachment = try await Attachments(engine: engine, files: files)
///     .attach(upload, to: "account", id: accountID, as: actor, on: connection, logger: logger)
/// ```
public struct Attachments: Sendable {
    public let engine: RecordEngine
    public let files: any FileStore

    public init(engine: RecordEngine, files: any FileStore) {
        self.engine = engine
        self.files = files
    }

    /// Bytes the current tenant's files take in the store: each content once (the store keeps
    /// one copy per SHA-256), removed attachments included (their bytes stay). What the storage
    /// limit counts and what `tenant show` reports.
    public static func storedBytes(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("""
            SELECT coalesce(sum(byte_size), 0)::bigint FROM (SELECT DISTINCT ON (sha256) byte_size FROM attachments) stored
            """, logger: logger).one(Int.self)
    }

    static let columns = "id, entity, record_id, file_name, content_type, byte_size, sha256, storage_key, uploaded_by, uploaded_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Attachment] {
        var result: [Attachment] = []
        for try await (id, entity, record, name, type, size, sha, key, by, at) in rows.decode(
            (UUID, String, UUID, String, String, Int64, String, String, UUID, Date).self
        ) {
            result.append(Attachment(id: id, entity: entity, recordID: record, fileName: name, contentType: type, byteSize: size, sha256: sha,
                                     storageKey: key, uploadedBy: by, uploadedAt: at))
        }
        return result
    }

    /// The live record's attachments, oldest first.
    public func list(of entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                     logger: Logger) async throws -> [Attachment] {
        _ = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        return try await Self.live(of: entity, id: id, on: connection, logger: logger)
    }

    /// The attachments of a record the caller has already read through the engine (the record
    /// page), oldest first.
    static func live(of entity: String, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Attachment] {
        try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM attachments
            WHERE record_id = \(id) AND entity = \(entity) AND deleted_at IS NULL ORDER BY uploaded_at, id
            """, logger: logger))
    }

    /// One attachment of a record the actor may read, with its bytes.
    public func download(_ attachmentID: UUID, of entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                         logger: Logger) async throws -> (Attachment, ByteBuffer) {
        _ = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        let attachment = try await find(attachmentID, of: entity, id: id, on: connection, logger: logger)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        return (attachment, try await files.load(attachment.storageKey, tenant: tenant))
    }

    /// Checks the file against `policy`, stores its bytes durably, then writes the row and its
    /// audit entry (committed with the request's transaction). The record must be in the
    /// actor's update scope, checked first: who may not see the record learns nothing of it,
    /// not even whether their file would have been accepted.
    public func attach(_ file: MultipartForm.File?, policy: AttachmentPolicy, to entity: String, id: UUID, as actor: RecordEngine.Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Attachment {
        let record = try await engine.writableRecord(entity, id: id, as: actor, on: connection, logger: logger)
        guard let file else { throw AttachmentError.fileRequired }
        let upload = try policy.check(file)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        let digest = FileDigest.sha256(upload.content)
        try await PlanLimits.checkStorage(adding: upload.byteSize, sha256: digest, on: connection, logger: logger)
        let key = try await files.store(upload.content, sha256: digest, tenant: tenant)
        let attachment = try await Self.decode(connection.query("""
            INSERT INTO attachments (tenant_id, entity, record_id, file_name, content_type, byte_size, sha256, storage_key, uploaded_by)
            VALUES (\(tenant), \(entity), \(record.id), \(upload.fileName), \(upload.contentType), \(Int64(upload.byteSize)), \(digest), \(key), \(actor.user.id))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)).firstRow()
        try await audit("attachment.added", attachment, changes: ["attachment": .object(["before": .null, "after": .string(attachment.fileName)])],
                        actor: actor, tenant: tenant, on: connection, logger: logger)
        return attachment
    }

    /// Removes an attachment from its record (the row stays, marked deleted, for the audit
    /// trail; the bytes stay in the store); the record must be in the actor's update scope.
    public func remove(_ attachmentID: UUID, of entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                       logger: Logger) async throws {
        _ = try await engine.writableRecord(entity, id: id, as: actor, on: connection, logger: logger)
        let attachment = try await find(attachmentID, of: entity, id: id, on: connection, logger: logger)
        try await connection.query("""
            UPDATE attachments SET deleted_at = now(), deleted_by = \(actor.user.id) WHERE id = \(attachmentID) AND deleted_at IS NULL
            """, logger: logger)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        try await audit("attachment.deleted", attachment, changes: ["attachment": .object(["before": .string(attachment.fileName), "after": .null])],
                        actor: actor, tenant: tenant, on: connection, logger: logger)
    }

    func find(_ attachmentID: UUID, of entity: String, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Attachment {
        guard let attachment = try await Self.decode(connection.query("""
            SELECT \(unescaped: Self.columns) FROM attachments
            WHERE id = \(attachmentID) AND record_id = \(id) AND entity = \(entity) AND deleted_at IS NULL
            """, logger: logger)).first else {
            throw AttachmentError.notFound(attachmentID.uuidString.lowercased())
        }
        return attachment
    }

    /// On the record's trail, so its history shows the file coming and going.
    func audit(_ action: String, _ attachment: Attachment, changes: [String: JSONValue], actor: RecordEngine.Actor, tenant: UUID,
               on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: attachment.entity,
                                        recordID: attachment.recordID.uuidString.lowercased(),
                                        details: ["attachment_id": attachment.id.uuidString.lowercased(), "file_name": attachment.fileName,
                                                  "byte_size": "\(attachment.byteSize)", "sha256": attachment.sha256],
                                        changes: changes, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenant, on: connection, logger: logger)
    }
}

extension RecordEngine {
    /// The live record, if the actor may change it (update scope): what attaching and removing
    /// files require. A record outside the scope is a 404, as for any write.
    public func writableRecord(_ entityKey: String, id: UUID, as actor: Actor, on connection: PostgresConnection,
                               logger: Logger) async throws -> Record {
        let (entity, _) = try await entity(entityKey, for: .update, actor: actor, on: connection, logger: logger)
        return try await fetch(entity.key, id: id, deleted: false, scope: (actor.access, entity, .update), on: connection, logger: logger)
    }
}

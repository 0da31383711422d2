import Foundation
import Logging
import PostgresNIO

/// One comment of a record's thread.
public struct RecordComment: Sendable, Equatable {
    public let id: UUID
    public let entity: String
    public let recordID: UUID
    public let authorID: UUID
    /// The author's name as the tenant spells it now.
    public let authorName: String
    public let body: CommentBody
    /// Everyone the body mentions, in order.
    public let mentions: [UUID]
    /// Those of them who could read the record when they were mentioned, and were notified.
    public let notified: [UUID]
    public let createdAt: Date
    public let editedAt: Date?

    /// Mentioned people who were not notified because they could not read the record (the
    /// author's mention of themselves aside).
    public var notNotified: [UUID] { mentions.filter { !notified.contains($0) && $0 != authorID } }

    public var json: JSONValue {
        func ids(_ list: [UUID]) -> JSONValue { .array(list.map { .string($0.uuidString.lowercased()) }) }
        return .object([
            "id": .string(id.uuidString.lowercased()), "entity": .string(entity), "record_id": .string(recordID.uuidString.lowercased()),
            "author_id": .string(authorID.uuidString.lowercased()), "author_name": .string(authorName), "body": .string(body.text),
            "mentions": ids(mentions), "notified": ids(notified), "not_notified": ids(notNotified),
            "created_at": .string(createdAt.formatted(.iso8601)), "edited_at": editedAt.map { .string($0.formatted(.iso8601)) } ?? .null,
        ])
    }
}

/// Comment threads on any record — module entities and custom objects alike — in the caller's
/// tenant transaction. Access follows the record: every call first reads the record through
/// the record engine as the caller, so whoever may read it may read and join its thread, and
/// whoever may not gets the record's 404. Authors edit and remove their own comments; tenant
/// administrators may remove anyone's.
///
/// A mention (``CommentBody``) notifies the mentioned user through ``Notifications`` only if
/// the engine, acting as that user, can read the record (``MentionNotifier``): a comment never
/// tells someone about a record they may not open. The others are kept on the comment as not notified, and the
/// author is told. Each change is audited on the record, in the same transaction.
/// ```swift
/// let comment = try await RecordComments(engine: engine, accessCache: cache)
///     .post("请 @[王芳](6f1c…) 确认报价", on: "account", id: accountID, as: actor, on: connection, logger: logger)
/// comment.notNotified   // [] when 王芳 can read the account
/// ```
public struct RecordComments: Sendable {
    public let engine: RecordEngine
    /// Where the mentioned users' access contexts come from (shared with the request path).
    public let accessCache: AccessCache?

    public init(engine: RecordEngine, accessCache: AccessCache? = nil) {
        self.engine = engine
        self.accessCache = accessCache
    }

    var mentions: MentionNotifier { MentionNotifier(engine: engine, accessCache: accessCache) }

    static let columns = """
        c.id, c.entity, c.record_id, c.author_id, coalesce(u.display_name, ''), c.body, c.mentions, c.notified, c.created_at, c.edited_at
        """
    static let from = "record_comments c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id"

    static func decode(_ rows: PostgresRowSequence) async throws -> [RecordComment] {
        var result: [RecordComment] = []
        for try await (id, entity, record, author, name, body, mentions, notified, created, edited) in rows.decode(
            (UUID, String, UUID, UUID, String, String, [UUID], [UUID], Date, Date?).self
        ) {
            result.append(RecordComment(id: id, entity: entity, recordID: record, authorID: author, authorName: name, body: CommentBody(body),
                                        mentions: mentions, notified: notified, createdAt: created, editedAt: edited))
        }
        return result
    }

    /// The thread of a record the actor may read, oldest first.
    public func list(on entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                     logger: Logger) async throws -> [RecordComment] {
        _ = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        return try await Self.thread(of: entity, id: id, on: connection, logger: logger)
    }

    /// The thread of a record the caller has already read through the engine (the record
    /// page), oldest first: one index range scan.
    public static func thread(of entity: String, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [RecordComment] {
        try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM \(unescaped: from)
            WHERE c.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid AND c.entity = \(entity) AND c.record_id = \(id)
              AND c.deleted_at IS NULL
            ORDER BY c.created_at, c.id
            """, logger: logger))
    }

    /// Adds a comment to a record the actor may read and notifies the mentioned users who can
    /// read it too. The body is required and at most ``CommentBody/maxLength`` characters; a
    /// mention must name a user of the tenant (422 naming `body` otherwise).
    public func post(_ text: String?, on entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                     logger: Logger) async throws -> RecordComment {
        let record = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        let body = try CommentBody.checked(text)
        let notified = try await mentions.readers(among: body.mentions, of: record, except: actor.user.id, on: connection, logger: logger)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        let inserted = try await connection.query("""
            INSERT INTO record_comments (tenant_id, entity, record_id, author_id, body, mentions, notified)
            VALUES (\(tenant), \(entity), \(id), \(actor.user.id), \(body.text), \(body.mentions)::uuid[], \(notified)::uuid[])
            RETURNING id
            """, logger: logger).one(UUID.self)
        let comment = try await find(inserted, of: entity, id: id, on: connection, logger: logger)
        try await mentions.notify(notified, of: body, on: record, actor: actor, on: connection, logger: logger)
        try await audit("comment.created", comment, changes: ["comment": .object(["before": .null, "after": .string(body.text)])],
                        actor: actor, tenant: tenant, on: connection, logger: logger)
        return comment
    }

    /// Changes the actor's own comment. People mentioned for the first time are notified (if
    /// they can read the record); those mentioned before are not notified again.
    public func edit(_ commentID: UUID, text: String?, on entity: String, id: UUID, as actor: RecordEngine.Actor,
                     on connection: PostgresConnection, logger: Logger) async throws -> RecordComment {
        let record = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        let before = try await find(commentID, of: entity, id: id, lock: true, on: connection, logger: logger)
        guard before.authorID == actor.user.id else { throw CommentError.notYours }
        let body = try CommentBody.checked(text)
        let added = body.mentions.filter { !before.mentions.contains($0) }
        let newlyNotified = try await mentions.readers(among: added, of: record, except: actor.user.id, on: connection, logger: logger)
        let notified = body.mentions.filter { before.notified.contains($0) || newlyNotified.contains($0) }
        try await connection.query("""
            UPDATE record_comments SET body = \(body.text), mentions = \(body.mentions)::uuid[], notified = \(notified)::uuid[], edited_at = now()
            WHERE id = \(commentID)
            """, logger: logger)
        let comment = try await find(commentID, of: entity, id: id, on: connection, logger: logger)
        try await mentions.notify(newlyNotified, of: body, on: record, actor: actor, on: connection, logger: logger)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        try await audit("comment.edited", comment, changes: ["comment": .object(["before": .string(before.body.text), "after": .string(body.text)])],
                        actor: actor, tenant: tenant, on: connection, logger: logger)
        return comment
    }

    /// Removes a comment from the thread: its author, or a tenant administrator. The row stays,
    /// marked deleted, for the audit trail.
    public func remove(_ commentID: UUID, on entity: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                       logger: Logger) async throws {
        _ = try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
        let comment = try await find(commentID, of: entity, id: id, lock: true, on: connection, logger: logger)
        guard comment.authorID == actor.user.id || actor.user.isAdmin else { throw CommentError.notYours }
        try await connection.query("""
            UPDATE record_comments SET deleted_at = now(), deleted_by = \(actor.user.id) WHERE id = \(commentID)
            """, logger: logger)
        let tenant = try await engine.currentTenant(on: connection, logger: logger)
        try await audit("comment.deleted", comment, changes: ["comment": .object(["before": .string(comment.body.text), "after": .null])],
                        actor: actor, tenant: tenant, on: connection, logger: logger)
    }

    func find(_ commentID: UUID, of entity: String, id: UUID, lock: Bool = false, on connection: PostgresConnection,
              logger: Logger) async throws -> RecordComment {
        guard let comment = try await Self.decode(connection.query("""
            SELECT \(unescaped: Self.columns) FROM \(unescaped: Self.from)
            WHERE c.id = \(commentID) AND c.record_id = \(id) AND c.entity = \(entity) AND c.deleted_at IS NULL
            \(unescaped: lock ? "FOR UPDATE OF c" : "")
            """, logger: logger)).first else {
            throw CommentError.notFound(commentID.uuidString.lowercased())
        }
        return comment
    }

    /// On the record's trail, so its history shows the thread's changes.
    func audit(_ action: String, _ comment: RecordComment, changes: [String: JSONValue], actor: RecordEngine.Actor, tenant: UUID,
               on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: comment.entity,
                                        recordID: comment.recordID.uuidString.lowercased(),
                                        details: ["comment_id": comment.id.uuidString.lowercased(),
                                                  "mentions": comment.mentions.map { $0.uuidString.lowercased() }.joined(separator: ",")],
                                        changes: changes, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenant, on: connection, logger: logger)
    }
}

/// What went wrong with a comment; problems with the text name the field `body`.
public enum CommentError: DomainError, Equatable {
    /// No such comment on a record the caller may read (or it was removed).
    case notFound(String)
    case bodyRequired
    case bodyTooLong(limit: Int)
    /// A mention's id is not a user of the tenant.
    case unknownMention(String)
    /// Only the author edits a comment; only the author or an administrator removes it.
    case notYours

    public var atriumError: AtriumError {
        var error: AtriumError
        switch self {
        case .notFound(let reference):
            return AtriumError(status: .notFound, code: "comment_not_found", message: "no comment \(reference)")
        case .bodyRequired:
            error = AtriumError(status: .unprocessableContent, code: "comment_body_required", message: "body is required", field: "body")
        case .bodyTooLong(let limit):
            error = AtriumError(status: .unprocessableContent, code: "comment_body_too_long", message: "body must be at most \(limit) characters", field: "body")
            error.messageArguments = ["limit": "\(limit)"]
        case .unknownMention(let id):
            error = AtriumError(status: .unprocessableContent, code: "comment_mention_unknown", message: "body mentions \(id), who is not a user here",
                                field: "body")
        case .notYours:
            return AtriumError(status: .forbidden, code: "comment_not_yours",
                               message: "only its author may change a comment; only its author or an administrator may remove it")
        }
        return error
    }

    /// One of each case, for the locale and status checks.
    public static let examples: [CommentError] = [.notFound("x"), .bodyRequired, .bodyTooLong(limit: 5_000), .unknownMention("x"), .notYours]
}

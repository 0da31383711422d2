import Foundation
import Logging
import PostgresNIO

/// Tells mentioned people about a record — only those who may read it. Each mentioned user is
/// checked by reading the record through the engine *as that user* (their roles, scope,
/// shares, pools): a mention never reveals a record to someone outside its audience. Comments
/// use it, and so may any module text with `@[Name](user-id)` mentions (e.g. a discussion
/// topic's body).
/// ```swift
/// let notifier = MentionNotifier(engine: engine, accessCache: cache)
/// let readers = try await notifier.readers(among: body.mentions, of: record, except: actor.user.id, on: connection, logger: logger)
/// try await notifier.notify(readers, of: body, on: record, actor: actor, on: connection, logger: logger)
/// ```
public struct MentionNotifier: Sendable {
    public let engine: RecordEngine
    /// Where the mentioned users' access contexts come from (nil: computed each time).
    public let accessCache: AccessCache?

    public init(engine: RecordEngine, accessCache: AccessCache? = nil) {
        self.engine = engine
        self.accessCache = accessCache
    }

    /// The mentioned users (other than the writer) who can read `record`. Every mention must
    /// name a user of the tenant (RLS hides other tenants' users, so theirs are as unknown as
    /// invented ids: 422 naming `body`); a deactivated user reads nothing.
    public func readers(among mentioned: [UUID], of record: Record, except writer: UUID, on connection: PostgresConnection,
                        logger: Logger) async throws -> [UUID] {
        guard !mentioned.isEmpty else { return [] }
        var users: [UUID: (AuthenticatedUser, active: Bool)] = [:]
        for try await (id, email, name, locale, admin, active) in try await connection.query("""
            SELECT id, email, display_name, locale, is_admin, is_active FROM users WHERE id = ANY(\(mentioned)::uuid[])
            """, logger: logger).decode((UUID, String, String, String, Bool, Bool).self) {
            users[id] = (AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: admin), active)
        }
        if let unknown = mentioned.first(where: { users[$0] == nil }) { throw CommentError.unknownMention(unknown.uuidString.lowercased()) }
        var readers: [UUID] = []
        for id in mentioned where id != writer {
            guard let (user, active) = users[id], active else { continue }
            let access = try await AccessContext.load(for: user, cache: accessCache, on: connection, logger: logger)
            let reader = RecordEngine.Actor(user: user, access: access)
            if try await absentIfNotFound({ try await engine.get(record.entity, id: record.id, as: reader, on: connection, logger: logger) }) != nil {
                readers.append(id)
            }
        }
        return readers
    }

    /// `comment.mentioned` to `users` (readers, from ``readers(among:of:except:on:logger:)``),
    /// with the record's title and the start of the text.
    public func notify(_ users: [UUID], of text: CommentBody, on record: Record, actor: RecordEngine.Actor, on connection: PostgresConnection,
                       logger: Logger) async throws {
        guard !users.isEmpty else { return }
        let (definition, _) = try await engine.entity(record.entity, on: connection, logger: logger)
        let full = try await engine.fetch(record.entity, id: record.id, deleted: false, on: connection, logger: logger)
        let excerpt = text.plain()
        let arguments = ["actor": actor.user.displayName, "record": definition.title(of: full, locale: "zh-CN") ?? "",
                         "excerpt": excerpt.count > 80 ? String(excerpt.prefix(80)) + "…" : excerpt]
        try await Notifications.notify(users, of: NotificationEvent(kind: "comment.mentioned", entity: record.entity, recordID: record.id,
                                                                     actor: actor.user.id, arguments: arguments), on: connection, logger: logger)
    }
}

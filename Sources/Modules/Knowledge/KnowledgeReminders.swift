import Foundation
import Hummingbird
import Logging
import Platform
import PostgresNIO

/// The knowledge module's reminders, remembered in `kb_reminders` (one row per record, kind and
/// key, under forced RLS) so a second run or a second app node never repeats one:
///
/// - **Review due (复审提醒)**: every hour the scheduler looks, per tenant, for published articles
///   whose `review_by` date has come (China time) and tells the article's owner once per review
///   date (`knowledge.review_due`); setting a new date arms it again.
/// - **Remind the unread (提醒未读)**: whoever may change an announcement (its author,
///   administrators) tells everyone of its audience who has not read it yet
///   (`knowledge.announcement_unread`), at most once an hour; the act is audited.
enum KnowledgeReminders {
    static let reviewJob = ScheduledJob(key: "knowledge.review_due", every: .seconds(3_600), module: "knowledge") { run in
        try await remindReviews(run)
    }

    /// An announcement's unread are reminded at most this often.
    static let unreadInterval: TimeInterval = 3_600

    /// Migration 5 of the `knowledge` group (a snapshot: never edit it, add migration 6).
    static let migration = Migration(version: 5, name: "kb_reminders", statements: [
        """
        CREATE TABLE kb_reminders (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            record_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('review_due', 'unread')),
            key text NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            recipients integer NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, record_id, kind, key),
            FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX kb_reminders_latest ON kb_reminders (tenant_id, record_id, kind, sent_at DESC)",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON kb_reminders TO {{app_role}}",
    ] + TenantTable.isolate("kb_reminders"))

    // MARK: Review due

    static func remindReviews(_ run: TenantRun) async throws {
        let today = ChinaCalendar.day(of: run.now)
        let filter = ModuleStore.and([ModuleStore.eq("status", "published"), ModuleStore.op("review_by", "lte", .string(today))])
        var offset = 0
        while true {
            let page = try await run.engine.list("kb_article", query: RecordQuery(filter: filter, sort: "review_by", limit: RecordQuery.maxLimit, offset: offset),
                                                 as: run.actor, on: run.connection, logger: run.logger)
            for article in page.records {
                guard let owner = article.ownerID, let date = article.string("review_by") else { continue }
                guard try await claim(article.id, kind: "review_due", key: date, recipients: 1, on: run.connection, logger: run.logger) else { continue }
                try await Notifications.notify([owner], of: NotificationEvent(kind: "knowledge.review_due", entity: "kb_article", recordID: article.id,
                                                                              arguments: ["record": article.string("title") ?? "", "date": date]),
                                               on: run.connection, logger: run.logger)
            }
            offset += page.records.count
            if page.records.count < RecordQuery.maxLimit { return }
        }
    }

    /// Remembers one reminder; false when it was given already (by another run or node).
    static func claim(_ record: UUID, kind: String, key: String, recipients: Int, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        return try await !connection.query("""
            INSERT INTO kb_reminders (tenant_id, record_id, kind, key, recipients) VALUES (\(tenant), \(record), \(kind), \(key), \(recipients))
            ON CONFLICT DO NOTHING RETURNING record_id
            """, logger: logger).collect().isEmpty
    }

    // MARK: Remind the unread

    /// When the announcement's unread were last reminded, if ever.
    static func lastUnreadReminder(_ announcement: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Date? {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        return try await connection.query("""
            SELECT max(sent_at) FROM kb_reminders WHERE tenant_id = \(tenant) AND record_id = \(announcement) AND kind = 'unread'
            """, logger: logger).one(Date?.self)
    }

    /// Tells the announcement's unread audience; who may not change it gets a 403, a second
    /// reminder within ``unreadInterval`` a 409 naming when the next one is possible.
    static func remindUnread(_ announcement: Record, store: ModuleStore, now: Date = Date()) async throws -> [AnnouncementReads.Reader] {
        let (_, everyone) = try await KnowledgeAPI.receipts(announcement, store: store)
        if let last = try await lastUnreadReminder(announcement.id, on: store.connection, logger: store.logger), now.timeIntervalSince(last) < unreadInterval {
            let next = last.addingTimeInterval(unreadInterval)
            throw AtriumError(status: .conflict, code: "reminded_recently",
                              message: "the unread were reminded at \(last.formatted(.iso8601)); remind them again after \(next.formatted(.iso8601))")
        }
        let unread = everyone.filter { $0.id != store.actor.user.id }  // not the one who reminds
        guard !unread.isEmpty else { return [] }
        _ = try await claim(announcement.id, kind: "unread", key: now.formatted(.iso8601), recipients: unread.count, on: store.connection, logger: store.logger)
        try await Notifications.notify(unread.map(\.id), of: NotificationEvent(kind: "knowledge.announcement_unread", entity: "announcement",
                                                                              recordID: announcement.id, actor: store.actor.user.id,
                                                                              arguments: ["record": announcement.string("title") ?? ""]),
                                       on: store.connection, logger: store.logger)
        try await AuditLog.record("announcement.reminded", by: store.actor, entity: "announcement", id: announcement.id,
                                  details: ["recipients": "\(unread.count)"], on: store.connection, logger: store.logger)
        return unread
    }
}

extension KnowledgeAPI {
    ///     POST /api/v1/knowledge/announcements/{id}/remind   {"reminded": n, "users": […]} (who may change it)
    @Sendable func remindUnread(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            let announcement = try await Self.read("announcement", id, store: store)
            let told = try await KnowledgeReminders.remindUnread(announcement, store: store)
            return RecordRoutes.json(.object(["reminded": .number(Decimal(told.count)), "users": .array(told.map(\.json))]))
        }
    }
}

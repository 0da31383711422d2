import Foundation
import Logging
import Platform
import PostgresNIO

/// Per reader and article: the "was this helpful" vote (one per user, changeable) and how
/// often they opened it, in the module's table `kb_article_feedback` under forced RLS.
///
/// Why a table and not engine records: a vote and a view are facts about one reader, not
/// records anyone edits, lists or shares; the table's key (tenant, article, user) makes "one
/// vote per user" a constraint instead of a check that two requests could both pass, and a view
/// is one upsert of one narrow row — no record version bump on the article (an open edit form
/// would hit a version conflict because someone read it) and no audit row per page view.
/// The callers read the article through the engine first, so only a reader can vote or count.
enum ArticleFeedback {
    struct Counts: Sendable, Equatable {
        var helpful = 0
        var notHelpful = 0
        var views = 0
        var readers = 0
        /// The caller's own vote: true, false or nil (none).
        var mine: Bool?

        var json: JSONValue {
            .object(["helpful": .number(Decimal(helpful)), "not_helpful": .number(Decimal(notHelpful)),
                     "views": .number(Decimal(views)), "readers": .number(Decimal(readers)), "my_vote": mine.map(JSONValue.bool) ?? .null])
        }
    }

    /// Counts one view of the article by the user.
    static func view(_ article: UUID, by user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO kb_article_feedback (tenant_id, article_id, user_id, views, last_viewed_at)
            VALUES (\(tenant), \(article), \(user), 1, now())
            ON CONFLICT (tenant_id, article_id, user_id) DO UPDATE SET views = kb_article_feedback.views + 1, last_viewed_at = now()
            """, logger: logger)
    }

    /// Records (or changes) the user's vote.
    static func vote(_ article: UUID, by user: UUID, helpful: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO kb_article_feedback (tenant_id, article_id, user_id, helpful, voted_at)
            VALUES (\(tenant), \(article), \(user), \(helpful), now())
            ON CONFLICT (tenant_id, article_id, user_id) DO UPDATE SET helpful = EXCLUDED.helpful, voted_at = now()
            """, logger: logger)
    }

    static func counts(_ article: UUID, for user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Counts {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var counts = Counts()
        for try await (helpful, notHelpful, views, readers, mine) in try await connection.query("""
            SELECT count(*) FILTER (WHERE helpful)::int, count(*) FILTER (WHERE NOT helpful)::int, coalesce(sum(views), 0)::int,
                   count(*) FILTER (WHERE views > 0)::int, bool_or(helpful) FILTER (WHERE user_id = \(user))
            FROM kb_article_feedback WHERE tenant_id = \(tenant) AND article_id = \(article)
            """, logger: logger).decode((Int, Int, Int, Int, Bool?).self) {
            counts = Counts(helpful: helpful, notHelpful: notHelpful, views: views, readers: readers, mine: mine)
        }
        return counts
    }

    /// Migration 1 of the `knowledge` group (with the announcements' receipts). A snapshot:
    /// never edit it, add migration 2.
    static let migration = Migration(version: 1, name: "kb_article_feedback_and_announcement_reads", statements: [
        """
        CREATE TABLE kb_article_feedback (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            article_id uuid NOT NULL,
            user_id uuid NOT NULL,
            helpful boolean,
            voted_at timestamptz,
            views integer NOT NULL DEFAULT 0 CHECK (views >= 0),
            last_viewed_at timestamptz,
            PRIMARY KEY (tenant_id, article_id, user_id),
            FOREIGN KEY (tenant_id, article_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON kb_article_feedback TO {{app_role}}",
        """
        CREATE TABLE announcement_reads (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            announcement_id uuid NOT NULL,
            user_id uuid NOT NULL,
            read_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, announcement_id, user_id),
            FOREIGN KEY (tenant_id, announcement_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX announcement_reads_by_user ON announcement_reads (tenant_id, user_id)",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON announcement_reads TO {{app_role}}",
    ] + TenantTable.isolate("kb_article_feedback") + TenantTable.isolate("announcement_reads"))
}

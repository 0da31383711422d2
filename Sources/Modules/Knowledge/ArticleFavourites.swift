import Foundation
import Logging
import Platform
import PostgresNIO

/// 收藏夹: the articles a user starred, in the module's table `kb_favourites` (tenant, user,
/// article) under forced RLS. Starring reads the article through the engine first; "my
/// favourites" lists them through the engine again, so an article the user can no longer read
/// (unpublished, moved to a closed category) simply drops out of the list.
enum ArticleFavourites {
    static func set(_ article: UUID, for user: UUID, starred: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        if starred {
            try await connection.query("""
                INSERT INTO kb_favourites (tenant_id, user_id, article_id) VALUES (\(tenant), \(user), \(article))
                ON CONFLICT (tenant_id, user_id, article_id) DO NOTHING
                """, logger: logger)
        } else {
            try await connection.query("""
                DELETE FROM kb_favourites WHERE tenant_id = \(tenant) AND user_id = \(user) AND article_id = \(article)
                """, logger: logger)
        }
    }

    /// The user's starred article ids, newest first.
    static func ids(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var ids: [UUID] = []
        for try await id in try await connection.query("""
            SELECT article_id FROM kb_favourites WHERE tenant_id = \(tenant) AND user_id = \(user) ORDER BY created_at DESC LIMIT 500
            """, logger: logger).decode(UUID.self) {
            ids.append(id)
        }
        return ids
    }

    /// The starred articles the user can read, newest star first.
    static func articles(of user: UUID, store: ModuleStore) async throws -> [Record] {
        let ids = try await ids(of: user, on: store.connection, logger: store.logger)
        guard !ids.isEmpty else { return [] }
        let readable = try await store.all("kb_article", filter: ModuleStore.op("id", "in", .array(ids.map { .string($0.uuidString.lowercased()) })))
        let byID = Dictionary(readable.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { byID[$0] }
    }

    /// Migration 2 of the `knowledge` group. A snapshot: never edit it, add migration 3.
    static let migration = Migration(version: 2, name: "kb_favourites", statements: [
        """
        CREATE TABLE kb_favourites (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            user_id uuid NOT NULL,
            article_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, user_id, article_id),
            FOREIGN KEY (tenant_id, article_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON kb_favourites TO {{app_role}}",
    ] + TenantTable.isolate("kb_favourites"))
}

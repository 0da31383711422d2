import Foundation
import Logging
import Platform
import PostgresNIO

/// Read receipts of announcements (已读回执): a user who opens an announcement has read it,
/// once (the first time counts), in the module's table `announcement_reads` under forced RLS.
/// Who has not read it is every active user of its audience (everyone, a department and
/// below, or chosen roles) without a receipt.
/// Callers read the announcement through the engine first; only those who may change it see
/// the receipts (``KnowledgeAPI``).
enum AnnouncementReads {
    struct Reader: Sendable {
        let id: UUID
        let name: String
        let email: String
        let readAt: Date?

        var json: JSONValue {
            .object(["id": .string(id.uuidString.lowercased()), "name": .string(name), "email": .string(email),
                     "read_at": readAt.map { .string($0.formatted(.iso8601)) } ?? .null])
        }
    }

    static func markRead(_ announcement: UUID, by user: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO announcement_reads (tenant_id, announcement_id, user_id) VALUES (\(tenant), \(announcement), \(user))
            ON CONFLICT (tenant_id, announcement_id, user_id) DO NOTHING
            """, logger: logger)
    }

    /// Which of `announcements` the user has read.
    static func read(_ announcements: [UUID], by user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Set<UUID> {
        guard !announcements.isEmpty else { return [] }
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        var read = Set<UUID>()
        for try await id in try await connection.query("""
            SELECT announcement_id FROM announcement_reads WHERE tenant_id = \(tenant) AND user_id = \(user) AND announcement_id = ANY(\(announcements))
            """, logger: logger).decode(UUID.self) {
            read.insert(id)
        }
        return read
    }

    /// The announcement's audience among the tenant's active users, with their receipt:
    /// readers first (by time), then the rest by name.
    static func receipts(_ announcement: Record, on connection: PostgresConnection, logger: Logger) async throws -> (read: [Reader], unread: [Reader]) {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        let audience = Audience(announcement, fields: Audience.announcementFields)
        let tree = audience.departmentTree(try await OrganisationAdmin().departments(on: connection, logger: logger))
        var times: [UUID: Date] = [:]
        for try await (user, at) in try await connection.query("""
            SELECT user_id, read_at FROM announcement_reads WHERE tenant_id = \(tenant) AND announcement_id = \(announcement.id)
            """, logger: logger).decode((UUID, Date).self) {
            times[user] = at
        }
        let members = try await OrganisationAdmin().members(on: connection, logger: logger).filter { $0.active && audience.reaches($0, tree: tree) }
        let people = members.map { Reader(id: $0.id, name: $0.displayName, email: $0.email, readAt: times[$0.id]) }
        return (people.filter { $0.readAt != nil }.sorted { ($0.readAt ?? .distantPast) < ($1.readAt ?? .distantPast) },
                people.filter { $0.readAt == nil }.sorted { $0.name < $1.name })
    }
}

import Foundation
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// A tenant's login IP ranges (限制登录范围): where its people may sign in from.
///
/// A range applies to everyone, or to the members of one role; with `applies_to_tokens` it
/// also limits API tokens. A user may sign in when no range applies to them, or when their
/// address is in one of those that do (so a role's range lets that role in from an extra
/// network). Refused sign-ins are audited; an administrator cannot save a change that would
/// refuse their own current address.
public struct LoginRange: Sendable, Equatable {
    public let id: UUID
    public var range: String
    public var roleKey: String?
    public var appliesToTokens: Bool
    public var description: String?
    public var createdAt: Date

    public var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "range": .string(range), "role": roleKey.map(JSONValue.string) ?? .null,
            "applies_to_tokens": .bool(appliesToTokens), "description": description.map(JSONValue.string) ?? .null,
            "created_at": .string(createdAt.formatted(.iso8601)),
        ])
    }
}

public enum LoginRanges {
    /// The address in canonical text form, or nil when `text` is not an IPv4 or IPv6 address.
    public static func address(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return text }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return text.lowercased() }
        return nil
    }

    /// `10.1.0.0/16`, `203.0.113.7` (one address), `2001:db8::/32`; nil when it is not one.
    public static func range(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let host = address(String(parts[0])) else { return nil }
        let maximum = host.contains(":") ? 128 : 32
        guard parts.count == 2 else { return "\(host)/\(maximum)" }
        guard let bits = Int(parts[1]), (0...maximum).contains(bits), !parts[1].hasPrefix("+") else { return nil }
        return "\(host)/\(bits)"
    }

    /// Whether `user` may come from `ip` — for signing in (every range counts), or with an API
    /// token (ranges that apply to tokens).
    public static func allows(user: UUID, ip: String, tokens: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let address = Self.address(ip)
        let rows = try await connection.query("""
            WITH applicable AS (
                SELECT r.range FROM tenant_login_ranges r
                WHERE (NOT \(tokens) OR r.applies_to_tokens)
                  AND (r.role_id IS NULL OR r.role_id IN (SELECT ur.role_id FROM user_roles ur WHERE ur.user_id = \(user)))
            )
            SELECT NOT EXISTS (SELECT 1 FROM applicable) OR EXISTS (SELECT 1 FROM applicable WHERE \(address)::inet <<= range)
            """, logger: logger)
        return try await rows.collect().first?.decode(Bool.self) ?? false
    }

    public static func list(on connection: PostgresConnection, logger: Logger) async throws -> [LoginRange] {
        var ranges: [LoginRange] = []
        for try await (id, range, role, tokens, description, created) in try await connection.query("""
            SELECT l.id, l.range::text, r.key, l.applies_to_tokens, l.description, l.created_at
            FROM tenant_login_ranges l LEFT JOIN roles r ON r.tenant_id = l.tenant_id AND r.id = l.role_id
            ORDER BY l.created_at, l.id
            """, logger: logger).decode((UUID, String, String?, Bool, String?, Date).self) {
            ranges.append(LoginRange(id: id, range: range, roleKey: role, appliesToTokens: tokens, description: description, createdAt: created))
        }
        return ranges
    }

    /// Adds a range; refused (422 naming `range`) when the administrator's own address would
    /// no longer be allowed.
    public static func add(range text: String, roleKey: String?, appliesToTokens: Bool, description: String?, as actor: RecordEngine.Actor,
                           on connection: PostgresConnection, logger: Logger) async throws -> LoginRange {
        guard let range = range(text) else {
            throw AtriumError.validation(field: "range", "must be an IPv4 or IPv6 address or network, e.g. 203.0.113.0/24")
        }
        if let description, description.count > 200 { throw AtriumError.validation(field: "description", "is longer than 200 characters") }
        var roleID: UUID?
        if let roleKey {
            roleID = try await connection.query("SELECT id FROM roles WHERE key = \(roleKey)", logger: logger).collect().first?.decode(UUID.self)
            guard roleID != nil else { throw AtriumError.validation(field: "role", "names no role of this tenant") }
        }
        let id = try await connection.query("""
            INSERT INTO tenant_login_ranges (tenant_id, range, role_id, applies_to_tokens, description, created_by)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, network(\(range)::inet), \(roleID), \(appliesToTokens), \(description), \(actor.user.id))
            RETURNING id
            """, logger: logger).collect().first!.decode(UUID.self)
        try await checkNotLockedOut(actor, field: "range", on: connection, logger: logger)
        try await AuditLog.record("login_range.added", by: actor, entity: "login_range", id: id,
                                  details: ["range": range, "role": roleKey ?? "*", "tokens": "\(appliesToTokens)"], on: connection, logger: logger)
        return try await list(on: connection, logger: logger).first { $0.id == id }!
    }

    public static func remove(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let removed = try await connection.query("DELETE FROM tenant_login_ranges WHERE id = \(id) RETURNING range::text", logger: logger).collect()
        guard let range = try removed.first?.decode(String.self) else {
            throw AtriumError(status: .notFound, code: "login_range_not_found", message: "no login range \(id.uuidString.lowercased())")
        }
        try await checkNotLockedOut(actor, field: "id", on: connection, logger: logger)
        try await AuditLog.record("login_range.removed", by: actor, entity: "login_range", id: id, details: ["range": range], on: connection, logger: logger)
    }

    /// After a change, in its transaction: the acting administrator must still be let in
    /// from where they are now (by sign-in and by token), else the change is refused.
    static func checkNotLockedOut(_ actor: RecordEngine.Actor, field: String, on connection: PostgresConnection, logger: Logger) async throws {
        let ip = actor.ip ?? ""
        for tokens in [false, true] where !(try await allows(user: actor.user.id, ip: ip, tokens: tokens, on: connection, logger: logger)) {
            throw AtriumError.validation(field: field, "would lock you out: your address \(ip.isEmpty ? "(unknown)" : ip) would no longer be allowed\(tokens ? " with an API token" : "")")
        }
    }
}

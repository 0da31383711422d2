import Foundation
import Logging
import Platform
import PostgresNIO

/// The admin API's audit trail (`admin_audit`): who (token id, name, kind, reseller), what
/// (action and details), which tenant, the outcome, the client address and request id.
///
/// A row is written *before* the call does anything (status NULL) and completed afterwards
/// with the HTTP status, so every change has a row even if the process dies in between.
/// Refused calls (403, 404, 422 …) are recorded too: a reseller probing other tenants shows up.
public enum AdminAudit {
    public struct Entry: Sendable, Codable {
        public let id: Int
        public let at: Date
        public let tokenID: UUID
        public let tokenName: String
        public let reseller: String?
        public let action: String
        public let tenant: String?
        public let status: Int?
        public let errorCode: String?

        enum CodingKeys: String, CodingKey {
            case id, at, action, tenant, status, reseller
            case tokenID = "token_id", tokenName = "token_name", errorCode = "error_code"
        }
    }

    public static func begin(caller: AdminTokenStore.Caller, action: String, tenantSlug: String?, details: [String: String],
                             ip: String?, requestID: String?, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let json = JSONValue.object(details.mapValues { .string($0) }).jsonText
        return try await connection.query("""
            INSERT INTO admin_audit (token_id, token_name, token_kind, reseller_slug, action, tenant_slug, details, ip, request_id)
            VALUES (\(caller.tokenID), \(caller.name), \(caller.kind.rawValue), \(caller.resellerSlug), \(action), \(tenantSlug),
                    \(json)::jsonb, \(ip), \(requestID))
            RETURNING id
            """, logger: logger).one(Int.self)
    }

    public static func finish(id: Int, status: Int, errorCode: String?, tenantID: UUID?, tenantSlug: String? = nil, details: [String: String] = [:],
                              on connection: PostgresConnection, logger: Logger) async throws {
        let json = JSONValue.object(details.mapValues { .string($0) }).jsonText
        try await connection.query("""
            UPDATE admin_audit SET status = \(status), error_code = \(errorCode), target_tenant_id = coalesce(\(tenantID), target_tenant_id), tenant_slug = coalesce(tenant_slug, \(tenantSlug)),
                   details = details || \(json)::jsonb
            WHERE id = \(id)
            """, logger: logger)
    }

    /// The most recent entries, newest first (operators only), optionally for one tenant.
    public static func recent(tenantSlug: String?, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Entry] {
        var entries: [Entry] = []
        let rows = try await connection.query("""
            SELECT id, at, token_id, token_name, reseller_slug, action, tenant_slug, status, error_code FROM admin_audit
            WHERE \(tenantSlug)::text IS NULL OR tenant_slug = \(tenantSlug) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        for try await (id, at, token, name, reseller, action, tenant, status, code) in rows.decode((Int, Date, UUID, String, String?, String, String?, Int?, String?).self) {
            entries.append(Entry(id: id, at: at, tokenID: token, tokenName: name, reseller: reseller, action: action, tenant: tenant, status: status, errorCode: code))
        }
        return entries
    }
}

import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Values computed from a tenant's rows and reused while the tenant's version stamp for them
/// stays the same (DESIGN §4b: caches keyed by version, never by time).
///
/// The stamp is read before the value is computed, so a cached value is never older than its
/// stamp; a change sets a new stamp in its own transaction (``TenantVersions``), so the next
/// request on any app node computes afresh.
/// ```swift
/// let entities = try await cache.value(for: tenantID, version: versions.metadata) { try await load() }
/// ```
public final class VersionedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        let version: Int64
        let value: Value
    }

    private let entries = NIOLockedValueBox([Key: Entry]())
    /// Entries kept at most; beyond it a quarter is dropped (arbitrary ones: a dropped entry
    /// only costs one recomputation), which keeps memory flat with thousands of tenants.
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(capacity, 4)
    }

    public func value(for key: Key, version: Int64, compute: () async throws -> Value) async throws -> Value {
        if let entry = entries.withLockedValue({ $0[key] }), entry.version == version { return entry.value }
        let value = try await compute()
        entries.withLockedValue { entries in
            if entries[key] == nil && entries.count >= capacity {
                for key in entries.keys.prefix(capacity / 4) { entries.removeValue(forKey: key) }
            }
            entries[key] = Entry(version: version, value: value)
        }
        return value
    }

    public var count: Int { entries.withLockedValue { $0.count } }
}

/// The caller's tenant and its cache versions, read in one statement of the current
/// transaction (a tenant without a `tenant_versions` row has never changed: versions 0).
public struct TenantVersions: Sendable, Equatable {
    public let tenantID: UUID
    public let metadata: Int64
    public let organisation: Int64

    public init(tenantID: UUID, metadata: Int64, organisation: Int64) {
        self.tenantID = tenantID
        self.metadata = metadata
        self.organisation = organisation
    }

    /// The stamps for the metadata cache (the identity check's, when this request has them).
    static func forMetadata(on connection: PostgresConnection, logger: Logger) async throws -> TenantVersions {
        if let offered = RequestTransaction.takeStamps(.metadata, on: connection) { return offered }
        return try await read(on: connection, logger: logger)
    }

    /// The stamps for the access cache (the identity check's, when this request has them).
    static func forOrganisation(on connection: PostgresConnection, logger: Logger) async throws -> TenantVersions {
        if let offered = RequestTransaction.takeStamps(.organisation, on: connection) { return offered }
        return try await read(on: connection, logger: logger)
    }

    public static func read(on connection: PostgresConnection, logger: Logger) async throws -> TenantVersions {
        let rows = try await connection.query("""
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, coalesce(v.metadata_version, 0), coalesce(v.org_version, 0)
            FROM (VALUES (1)) AS one LEFT JOIN tenant_versions v ON true
            """, logger: logger)
        guard let (tenant, metadata, organisation) = try await rows.collect().first?.decode((UUID?, Int64, Int64).self), let tenant else {
            throw AtriumError(status: .internalServerError, code: "no_tenant", message: "no tenant is set for this transaction")
        }
        return TenantVersions(tenantID: tenant, metadata: metadata, organisation: organisation)
    }
}

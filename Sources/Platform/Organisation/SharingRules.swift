import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// Sharing rules and the management dimension, kept by tenant administrators.
///
/// A sharing rule opens the records of one entity owned in a department (and, by default, the
/// departments below it) to a user, a department or a role, with read or write access — e.g.
/// "accounts of department East are readable by role Service". Like a share, a rule widens a
/// caller's scope; it never grants an entity the caller's roles do not reach at all.
///
/// The management dimension (管理维度) is one field key per tenant (e.g. `x_region`): users
/// with dimension values see, on every entity that has that field, only records whose value is
/// one of theirs, intersected with their scope, and may only write those values.
extension OrganisationAdmin {
    public struct SharingRule: Sendable, Codable {
        public var id: UUID?
        public var entity: String
        public var departmentID: UUID
        public var includeSub: Bool?
        public var kind: String
        public var granteeID: UUID
        public var access: String
        enum CodingKeys: String, CodingKey {
            case id, entity, departmentID = "department_id", includeSub = "include_sub", kind, granteeID = "grantee_id", access
        }
    }

    public func sharingRules(on connection: PostgresConnection, logger: Logger) async throws -> [SharingRule] {
        var result: [SharingRule] = []
        for try await (id, entity, department, sub, kind, grantee, access) in try await connection.query("""
            SELECT id, entity, department_id, include_sub, grantee_kind, grantee_id, access FROM sharing_rules ORDER BY entity, created_at, id
            """, logger: logger).decode((UUID, String, UUID, Bool, String, UUID, String).self) {
            result.append(SharingRule(id: id, entity: entity, departmentID: department, includeSub: sub, kind: kind, granteeID: grantee, access: access))
        }
        return result
    }

    public func createSharingRule(_ rule: SharingRule, engine: RecordEngine, as actor: RecordEngine.Actor,
                                  on connection: PostgresConnection, logger: Logger) async throws -> SharingRule {
        guard try await engine.entities(on: connection, logger: logger)[rule.entity] != nil else {
            throw AtriumError.validation(field: "entity", "names no entity of this tenant")
        }
        try await requireDepartment(rule.departmentID, field: "department_id", on: connection, logger: logger)
        try await Grantee.check(kind: rule.kind, id: rule.granteeID, access: rule.access, idField: "grantee_id", on: connection, logger: logger)
        let tenantID = try await Self.currentTenant(connection, logger)
        let includeSub = rule.includeSub ?? true
        let rows = try await connection.query("""
            INSERT INTO sharing_rules (tenant_id, entity, department_id, include_sub, grantee_kind, grantee_id, access, created_by)
            VALUES (\(tenantID), \(rule.entity), \(rule.departmentID), \(includeSub), \(rule.kind), \(rule.granteeID), \(rule.access), \(actor.user.id))
            ON CONFLICT (tenant_id, entity, department_id, grantee_kind, grantee_id) DO NOTHING RETURNING id
            """, logger: logger).collect()
        guard let id = try rows.first?.decode(UUID.self) else {
            throw AccessError.sharingRuleExists
        }
        var created = rule
        created.id = id
        created.includeSub = includeSub
        try await Self.audit("sharing_rule.created", entity: "sharing_rule", id: id, details: [
            "entity": rule.entity, "department_id": rule.departmentID.uuidString.lowercased(), "include_sub": "\(includeSub)",
            "grantee": "\(rule.kind):\(rule.granteeID.uuidString.lowercased())", "access": rule.access,
        ], actor: actor, on: connection, logger: logger)
        return created
    }

    public func deleteSharingRule(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let removed = try await connection.query("DELETE FROM sharing_rules WHERE id = \(id) RETURNING entity", logger: logger).collect()
        guard let entity = try removed.first?.decode(String.self) else {
            throw AccessError.sharingRuleNotFound(id.uuidString.lowercased())
        }
        try await Self.audit("sharing_rule.deleted", entity: "sharing_rule", id: id, details: ["entity": entity], actor: actor, on: connection, logger: logger)
    }

    // MARK: Management dimension

    public struct Dimension: Sendable, Codable {
        public var field: String
        public var labels: [String: String]?
    }

    public func dimension(on connection: PostgresConnection, logger: Logger) async throws -> Dimension? {
        guard let (field, labels) = try await connection.query("SELECT field_key, labels::text FROM tenant_dimension", logger: logger)
            .collect().first?.decode((String, String).self) else { return nil }
        return Dimension(field: field, labels: try JSONDecoder().decode([String: String].self, from: Data(labels.utf8)))
    }

    /// Sets (or, with nil, removes) the tenant's dimension. Users' values are kept; they take
    /// effect again when a dimension is set.
    public func setDimension(_ dimension: Dimension?, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        guard let dimension else {
            try await connection.query("DELETE FROM tenant_dimension", logger: logger)
            try await Self.audit("dimension.removed", entity: "dimension", id: nil, details: [:], actor: actor, on: connection, logger: logger)
            return
        }
        guard dimension.field.range(of: "^[a-z][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw AtriumError.validation(field: "field", "must be a field key such as x_region")
        }
        let tenantID = try await Self.currentTenant(connection, logger)
        let labels = MetadataStore.encode(dimension.labels ?? [:])
        try await connection.query("""
            INSERT INTO tenant_dimension (tenant_id, field_key, labels) VALUES (\(tenantID), \(dimension.field), \(labels)::jsonb)
            ON CONFLICT (tenant_id) DO UPDATE SET field_key = EXCLUDED.field_key, labels = EXCLUDED.labels, updated_at = now()
            """, logger: logger)
        try await Self.audit("dimension.set", entity: "dimension", id: nil, details: ["field": dimension.field], actor: actor, on: connection, logger: logger)
    }

    /// Limits a user to some dimension values (nil: not limited).
    public func setDimensionValues(_ id: UUID, _ values: [String]?, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        if let values {
            guard !values.isEmpty, values.count <= 100, values.allSatisfy({ (1...100).contains($0.count) }) else {
                throw AtriumError.validation(field: "dimension_values", "must be 1 to 100 values of 1 to 100 characters, or null for no limit")
            }
        }
        try await connection.query("UPDATE users SET dimension_values = \(values), updated_at = now() WHERE id = \(id)", logger: logger)
        try await Self.audit("user.dimension_changed", entity: "user", id: id,
                             details: ["dimension_values": values?.joined(separator: ",") ?? ""], actor: actor, on: connection, logger: logger)
    }
}

extension RecordRoutes {
    func registerSharingRules(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/sharing-rules", use: listSharingRules)
        router.post("api/v1/admin/sharing-rules", use: createSharingRule)
        router.delete("api/v1/admin/sharing-rules/:id", use: deleteSharingRule)
        router.get("api/v1/admin/dimension", use: getDimension)
        router.put("api/v1/admin/dimension", use: putDimension)
        router.delete("api/v1/admin/dimension", use: deleteDimension)
    }

    @Sendable func listSharingRules(_ request: Request, context: AtriumContext) async throws -> Response {
        let rules = try await run(request, context, adminOnly: true) { _, db in try await Self.organisation.sharingRules(on: db.connection, logger: db.logger) }
        return Self.json(.object(["rules": try Self.encoded(rules)]))
    }

    @Sendable func createSharingRule(_ request: Request, context: AtriumContext) async throws -> Response {
        let rule = try await Self.decode(OrganisationAdmin.SharingRule.self, request)
        let created = try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.createSharingRule(rule, engine: engine, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(try Self.encoded(created), status: .created)
    }

    @Sendable func deleteSharingRule(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.sharingRuleNotFound)
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.deleteSharingRule(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func getDimension(_ request: Request, context: AtriumContext) async throws -> Response {
        let dimension = try await run(request, context, adminOnly: true) { _, db in try await Self.organisation.dimension(on: db.connection, logger: db.logger) }
        return Self.json(.object(["dimension": try dimension.map { try Self.encoded($0) } ?? .null]))
    }

    @Sendable func putDimension(_ request: Request, context: AtriumContext) async throws -> Response {
        let dimension = try await Self.decode(OrganisationAdmin.Dimension.self, request)
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.setDimension(dimension, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["dimension": try Self.encoded(dimension)]))
    }

    @Sendable func deleteDimension(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.setDimension(nil, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }
}

import Foundation
import HTTPTypes
import Hummingbird

/// JSON API of the organisation and of record shares:
///
///     GET    /api/v1/admin/departments                 admin: the department tree (flat, with parent_id)
///     POST   /api/v1/admin/departments                 admin: {"name", "parent_id"?}
///     PATCH  /api/v1/admin/departments/{id}            admin: {"name"?, "parent_id"?, "head_id"?}
///     DELETE /api/v1/admin/departments/{id}            admin: only when it has no sub-departments or users
///     GET    /api/v1/admin/roles                       admin: roles with grants and field rules
///     POST   /api/v1/admin/roles                       admin: {"key", "labels", "grants", "field_rules"}
///     PATCH  /api/v1/admin/roles/{id}                  admin
///     DELETE /api/v1/admin/roles/{id}                  admin
///     GET    /api/v1/admin/users                       admin: users with department, manager, roles
///     PATCH  /api/v1/admin/users/{id}                  admin: {"department_id"?, "manager_id"?, "roles"?: [keys], "dimension_values"?: [..] | null, "active"?, "end_sessions"?} (other keys: 422)
///     POST   /api/v1/admin/users/{id}/handover         admin: {"to", "entities"?, "deactivate"? (default true)}
///     GET    /api/v1/{entity}/{id}/shares              who the record is shared with (read scope)
///     POST   /api/v1/{entity}/{id}/shares              {"kind": "user|department|role", "id", "access": "read|write"} (share scope)
///     DELETE /api/v1/{entity}/{id}/shares/{kind}/{grantee}
///     GET    /api/v1/admin/sharing-rules               admin: sharing rules
///     POST   /api/v1/admin/sharing-rules               admin: {"entity", "department_id", "include_sub"?, "kind", "grantee_id", "access"}
///     DELETE /api/v1/admin/sharing-rules/{id}          admin
///     GET|PUT|DELETE /api/v1/admin/dimension           admin: the management dimension {"field", "labels"?}
extension RecordRoutes {
    func registerOrganisation(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/departments", use: listDepartments)
        router.post("api/v1/admin/departments", use: createDepartment)
        router.patch("api/v1/admin/departments/:id", use: changeDepartment)
        router.delete("api/v1/admin/departments/:id", use: deleteDepartment)
        router.get("api/v1/admin/roles", use: listRoles)
        router.post("api/v1/admin/roles", use: createRole)
        router.patch("api/v1/admin/roles/:id", use: changeRole)
        router.delete("api/v1/admin/roles/:id", use: deleteRole)
        router.get("api/v1/admin/users", use: listMembers)
        router.patch("api/v1/admin/users/:id", use: changeMember)
        router.post("api/v1/admin/users/:id/handover", use: handover)
        router.get("api/v1/:entity/:id/shares", use: listShares)
        router.post("api/v1/:entity/:id/shares", use: addShare)
        router.delete("api/v1/:entity/:id/shares/:kind/:grantee", use: removeShare)
        registerSharingRules(on: router)
    }

    static func uuid(_ context: AtriumContext, _ name: String, what: String) throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "\(what)_not_found", message: "no \(what) '\(context.parameters.get(name) ?? "")'")
        }
        return id
    }

    /// The id in the path parameter `name`; anything else is `notFound` of what the URL named.
    static func uuid<NotFound: DomainError>(_ context: AtriumContext, _ name: String, notFound: (String) -> NotFound) throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw notFound("'\(context.parameters.get(name) ?? "")'")
        }
        return id
    }

    static var organisation: OrganisationAdmin { OrganisationAdmin() }

    struct DepartmentInput: Decodable {
        var name: String?
        var parentID: UUID??
        var headID: UUID??
        enum CodingKeys: String, CodingKey { case name, parentID = "parent_id", headID = "head_id" }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            parentID = c.contains(.parentID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .parentID)) : nil
            headID = c.contains(.headID) ? .some(try c.decodeIfPresent(UUID.self, forKey: .headID)) : nil
        }
    }

    @Sendable func listDepartments(_ request: Request, context: AtriumContext) async throws -> Response {
        let list = try await run(request, context, adminOnly: true) { _, db in try await Self.organisation.departments(on: db.connection, logger: db.logger) }
        return Self.json(.object(["departments": try Self.encoded(list)]))
    }

    @Sendable func createDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        let input = try await Self.decode(DepartmentInput.self, request)
        guard let name = input.name else { throw AtriumError.validation(field: "name", "is required") }
        let department = try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.createDepartment(name: name, parentID: input.parentID ?? nil, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(try Self.encoded(department), status: .created)
    }

    @Sendable func changeDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.departmentNotFound)
        let input = try await Self.decode(DepartmentInput.self, request)
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.changeDepartment(id, name: input.name, parentID: input.parentID, headID: input.headID, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    @Sendable func deleteDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.departmentNotFound)
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.deleteDepartment(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func listRoles(_ request: Request, context: AtriumContext) async throws -> Response {
        let roles = try await run(request, context, adminOnly: true) { _, db in try await Self.organisation.roles(on: db.connection, logger: db.logger) }
        return Self.json(.object(["roles": try Self.encoded(roles)]))
    }

    @Sendable func createRole(_ request: Request, context: AtriumContext) async throws -> Response {
        let input = try await Self.decode(OrganisationAdmin.RoleInput.self, request)
        let role = try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.createRole(input, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(try Self.encoded(role), status: .created)
    }

    @Sendable func changeRole(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.roleNotFound)
        let input = try await Self.decode(OrganisationAdmin.RoleInput.self, request)
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.changeRole(id, input, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    @Sendable func deleteRole(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.roleNotFound)
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.deleteRole(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func listMembers(_ request: Request, context: AtriumContext) async throws -> Response {
        let members = try await run(request, context, adminOnly: true) { _, db in try await Self.organisation.members(on: db.connection, logger: db.logger) }
        return Self.json(.object(["users": try Self.encoded(members)]))
    }

    @Sendable func changeMember(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.userNotFound)
        let change = try await Self.decode(OrganisationAdmin.MemberChange.self, request)
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await Self.organisation.changeMember(id, change, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    struct HandoverInput: Decodable {
        var to: UUID
        var entities: [String]?
        var deactivate: Bool?
    }

    @Sendable func handover(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: AccessError.userNotFound)
        let input = try await Self.decode(HandoverInput.self, request)
        let catalog = services.catalog
        let engine = self.engine
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            var result = try await Self.organisation.handover(from: id, to: input.to, entities: input.entities, deactivate: input.deactivate ?? true,
                                                              as: actor, on: db.connection, logger: db.logger)
            // The enabled modules' own part (a task's assignee, an event's attendees), unless
            // the handover was limited to some objects.
            if input.entities == nil {
                let handover = HandoverContext(leaver: id, heir: input.to, engine: engine, actor: actor, connection: db.connection, logger: db.logger)
                for module in try await TenantModules.enabled(on: db.connection, logger: db.logger) {
                    guard let moved = try await catalog.manifests[module]?.handover?(handover) else { continue }
                    result.moved.merge(moved) { $0 + $1 }
                }
            }
            return result
        }))
    }

    @Sendable func listShares(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        let shares = try await run(request, context) { actor, db in
            try await engine.shares(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["shares": try Self.encoded(shares)]))
    }

    @Sendable func addShare(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        let share = try await Self.decode(RecordEngine.Share.self, request)
        try await run(request, context, write: true) { actor, db in
            try await engine.share(entity, id: id, share, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(try Self.encoded(share), status: .created)
    }

    @Sendable func removeShare(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        let kind = context.parameters.get("kind") ?? ""
        let grantee = try Self.uuid(context, "grantee", notFound: AccessError.shareNotFound)
        try await run(request, context, write: true) { actor, db in
            try await engine.unshare(entity, id: id, kind: kind, grantee: grantee, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }
}

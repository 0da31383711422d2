import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The administrators' automation API (all routes admin only; the rule shape is
/// ``AutomationRule``'s):
///
///     GET    /api/v1/admin/automation/rules?entity=        the rules (of one entity)
///     POST   /api/v1/admin/automation/rules                {"name", "entity", "trigger", "condition"?, "actions", "active"?} → 201
///     GET    /api/v1/admin/automation/rules/{id}
///     PATCH  /api/v1/admin/automation/rules/{id}           any of the same keys
///     DELETE /api/v1/admin/automation/rules/{id}           with its run log
///     GET    /api/v1/admin/automation/rules/{id}/runs      its latest runs: record, trigger, done / failed / skipped, what it did or why not
///     GET    /api/v1/admin/automation/runs?limit=          the latest runs of every rule
struct AutomationRoutes: Sendable {
    let records: RecordRoutes
    let engine: RecordEngine

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/automation/rules", use: list)
        router.post("api/v1/admin/automation/rules", use: create)
        router.get("api/v1/admin/automation/rules/:id", use: show)
        router.patch("api/v1/admin/automation/rules/:id", use: change)
        router.delete("api/v1/admin/automation/rules/:id", use: delete)
        router.get("api/v1/admin/automation/rules/:id/runs", use: ruleRuns)
        router.get("api/v1/admin/automation/runs", use: runs)
    }

    static func id(_ context: AtriumContext) throws -> UUID {
        try RecordRoutes.uuid(context, "id", notFound: AutomationError.notFound)
    }

    static func audit(_ action: String, rule: AutomationRule, actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(action, by: actor, entity: "automation_rule", id: rule.id,
                                  details: ["name": rule.name, "entity": rule.entity, "trigger": rule.trigger.type, "active": "\(rule.active)",
                                            "actions": rule.actions.map(\.type).joined(separator: ",")],
                                  on: connection, logger: logger)
    }

    static func limit(_ request: Request) -> Int {
        min(max(request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 100, 1), 500)
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let entity = request.uri.queryParameters["entity"].map(String.init)
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["rules": .array(try await AutomationRules.list(entity: entity, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            try await AutomationRules.find(id, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let draft = try AutomationRules.Draft(json: try await RecordRoutes.object(request))
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            let checked = try await AutomationRules.check(draft, engine: engine, on: db.connection, logger: db.logger)
            let rule = try await AutomationRules.create(checked, by: actor.user.id, on: db.connection, logger: db.logger)
            try await Self.audit("automation_rule.created", rule: rule, actor: actor, on: db.connection, logger: db.logger)
            return rule.json
        }, status: .created)
    }

    @Sendable func change(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        let engine = self.engine
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            let existing = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            let checked = try await AutomationRules.check(try AutomationRules.Draft(json: body, base: existing), engine: engine,
                                                          on: db.connection, logger: db.logger)
            let rule = try await AutomationRules.change(id, to: checked, on: db.connection, logger: db.logger)
            try await Self.audit("automation_rule.changed", rule: rule, actor: actor, on: db.connection, logger: db.logger)
            return rule.json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        _ = try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            let rule = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            try await AutomationRules.delete(id, on: db.connection, logger: db.logger)
            try await Self.audit("automation_rule.deleted", rule: rule, actor: actor, on: db.connection, logger: db.logger)
            return JSONValue.null
        }
        return Response(status: .noContent)
    }

    @Sendable func ruleRuns(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let limit = Self.limit(request)
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            _ = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            return JSONValue.object(["runs": .array(try await AutomationRules.runs(of: id, limit: limit, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func runs(_ request: Request, context: AtriumContext) async throws -> Response {
        let limit = Self.limit(request)
        return RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["runs": .array(try await AutomationRules.runs(limit: limit, on: db.connection, logger: db.logger).map(\.json))])
        })
    }
}

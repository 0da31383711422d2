import Foundation
import Hummingbird

/// The pools' (公海) pages:
///
///     GET  /app/pools                       the pools I belong to, with what waits in each (→ the list with `pool=`)
///     POST /app/{entity}/{id}/claim         take a pool record (领取) → its page
///     POST /app/{entity}/{id}/release       give my record back (退回公海), with a reason → the pool
///     GET  /app/admin/pools                 administrators: the pools and their rules, a form for a new one
///     POST /app/admin/pools                 create
///     POST /app/admin/pools/{id}            change the rules, switch on or off
///     POST /app/admin/pools/{id}/delete     an empty pool
///     POST /app/admin/pools/reclaim         run the rules now
struct WebPools: Sendable {
    let app: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/pools", use: index)
        router.post("app/:entity/:id/claim", use: claim)
        router.post("app/:entity/:id/release", use: release)
        router.get("app/admin/pools", use: admin)
        router.post("app/admin/pools", use: create)
        router.post("app/admin/pools/reclaim", use: reclaim)
        router.post("app/admin/pools/:pool", use: update)
        router.post("app/admin/pools/:pool/delete", use: delete)
    }

    struct Values: @unchecked Sendable { let values: [String: Any] }

    /// A pool as the pages show it.
    static func row(_ pool: RecordPool, app: WebApp, page: WebApp.Page) -> [String: Any] {
        let lang = page.locale
        var rules: [String] = []
        if let days = pool.idleDays { rules.append(app.t("pools.rule_idle", lang, ["days": "\(days)"])) }
        if pool.reclaimInactiveOwners { rules.append(app.t("pools.rule_inactive", lang)) }
        if let limit = pool.claimLimit { rules.append(app.t("pools.rule_limit", lang, ["limit": "\(limit)"])) }
        return ["id": pool.id.uuidString.lowercased(), "name": pool.name, "entity": pool.entity,
                "entity_label": page.entities[pool.entity].map { app.label($0, lang) } ?? pool.entity,
                "department": pool.departmentID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? app.t("pools.whole_company", lang),
                "waiting": pool.waiting, "rules": rules.joined(separator: " · "), "active": pool.active,
                "idle_days": pool.idleDays.map(String.init) ?? "", "claim_limit": pool.claimLimit.map(String.init) ?? "",
                "inactive_owners": pool.reclaimInactiveOwners,
                "href": "/app/\(pool.entity)?pool=\(pool.id.uuidString.lowercased())"]
    }

    @Sendable func index(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let app = self.app
        return try await app.page(request, context, current: "pools") { page, db in
            let pools = try await RecordPools.list(as: page.actor, engine: app.engine, on: db.connection, logger: db.logger).filter(\.active)
            return app.render("pools", page, ["title": app.t("pools.title", page.locale), "pools": pools.map { Self.row($0, app: app, page: page) },
                                              "has_pools": !pools.isEmpty])
        }
    }

    @Sendable func claim(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id) = (WebApp.entityKey(context), try WebApp.recordID(context))
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let engine = app.engine
        try await app.page(request, context, form: form) { page, db in
            _ = try await RecordPools.claim(entity, id: id, engine: engine, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/\(entity)/\(id.uuidString.lowercased())")
    }

    @Sendable func release(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let (entity, id) = (WebApp.entityKey(context), try WebApp.recordID(context))
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let pool = form["pool_id"].flatMap { UUID(uuidString: $0) }
        let reason = form["reason"]
        let engine = app.engine
        let record = try await app.page(request, context, form: form) { page, db in
            try await RecordPools.release(entity, id: id, to: pool, reason: reason, engine: engine, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect(record.poolID.map { "/app/\(entity)?pool=\($0.uuidString.lowercased())" } ?? "/app/\(entity)")
    }

    @Sendable func admin(_ request: Request, context: AtriumContext) async throws -> Response {
        let app = self.app
        return try await app.adminPage(request, context, current: "admin:pools") { page, db in
            let lang = page.locale
            let pools = try await RecordPools.list(as: page.actor, engine: app.engine, on: db.connection, logger: db.logger)
            let departments = try await OrganisationAdmin().departments(on: db.connection, logger: db.logger)
            let entities = page.entities.values.filter { !$0.referenceData }.sorted { $0.key < $1.key }
            return app.render("admin_pools", page, [
                "title": app.t("pools.admin_title", lang), "pools": pools.map { Self.row($0, app: app, page: page) }, "has_pools": !pools.isEmpty,
                "entities": entities.map { ["key": $0.key, "label": app.label($0, lang), "selected": $0.key == "account"] },
                "departments": departments.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name] },
            ])
        }
    }

    /// A create or change body from the admin form (empty numbers mean "no rule").
    static func body(_ form: [String: String], creating: Bool) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        if creating {
            body["entity"] = .string(form["entity"] ?? "")
            body["department_id"] = (form["department_id"] ?? "").isEmpty ? .null : .string(form["department_id"]!)
        }
        if let name = form["name"] { body["name"] = .string(name) }
        for key in ["idle_days", "claim_limit"] {
            guard let text = form[key]?.trimmingCharacters(in: .whitespaces) else { continue }
            body[key] = text.isEmpty ? .null : Decimal(string: text).map(JSONValue.number) ?? .string(text)
        }
        body["reclaim_inactive_owners"] = .bool(form["reclaim_inactive_owners"] == "1")
        if !creating { body["active"] = .bool(form["active"] == "1") }
        return body
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let engine = app.engine
        try await app.adminPage(request, context, form: form, current: "admin:pools") { page, db in
            _ = try await RecordPools.create(Self.body(form, creating: true), engine: engine, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/admin/pools")
    }

    @Sendable func update(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try PoolRoutes.poolID(context)
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let engine = app.engine
        try await app.adminPage(request, context, form: form, current: "admin:pools") { page, db in
            _ = try await RecordPools.update(id, Self.body(form, creating: false), engine: engine, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/admin/pools")
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try PoolRoutes.poolID(context)
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        try await app.adminPage(request, context, form: form, current: "admin:pools") { page, db in
            try await RecordPools.delete(id, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/admin/pools")
    }

    @Sendable func reclaim(_ request: Request, context: AtriumContext) async throws -> Response {
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let engine = app.engine
        try await app.adminPage(request, context, form: form, current: "admin:pools") { _, db in
            _ = try await RecordPools.reclaim(now: Date(), engine: engine, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/admin/pools")
    }

    /// The record page's pool block: where it waits and a claim button, or a form to give it
    /// back when the caller may change it and the entity has a pool. Nil when neither applies.
    static func panel(_ record: Record, entity: EntityDefinition, app: WebApp, page: WebApp.Page, db: PostgresConnectionBox) async throws -> [String: Any]? {
        let lang = page.locale
        let canChange = page.actor.access.scope(entity, .update) > .none
        if let poolID = record.poolID {
            let pool = try await RecordPools.get(poolID, on: db.connection, logger: db.logger)
            return ["in_pool": true, "pool_name": pool.name, "pool_href": "/app/\(entity.key)?pool=\(poolID.uuidString.lowercased())",
                    "can_claim": canChange && (pool.active || page.actor.access.unrestricted),
                    "claim_action": "/app/\(entity.key)/\(record.id.uuidString.lowercased())/claim",
                    "text": app.t("pools.waiting_in", lang, ["pool": pool.name])]
        }
        guard canChange, record.ownerID != nil else { return nil }
        let pools = try await RecordPools.decode(db.connection.query("""
            SELECT \(unescaped: RecordPools.columns) FROM record_pools WHERE entity = \(entity.key) AND active ORDER BY name
            """, logger: db.logger))
        guard !pools.isEmpty else { return nil }
        return ["in_pool": false, "release_action": "/app/\(entity.key)/\(record.id.uuidString.lowercased())/release",
                "pools": pools.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name] }, "several": pools.count > 1]
    }
}

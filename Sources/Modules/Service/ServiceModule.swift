import Foundation
import Hummingbird
import Platform

/// The service module (服务): cases and complaints with SLAs in business hours, queues with
/// assignment rules and escalation, work records, the installed base and satisfaction
/// surveys — entities on the shared record engine, rules as hooks, no CRUD SQL and no
/// permission checks of its own. Service tasks are the activities module's tasks related to
/// a case (the case page's timeline shows them).
public enum ServiceModule {
    public static let manifest = ModuleManifest(
        id: "service", version: "0.2.0", names: ["en": "Service", "zh-CN": "服务"],
        entities: ServiceEntities.all, hooks: ServiceRules.hooks, routes: ServiceRoutes(), setUp: ServiceSetUp.run,
        pages: [ModulePage(path: "/app/service/queue", labelKey: "service.nav.queue", requires: "service_case"),
                ModulePage(path: "/app/service/analysis", labelKey: "service.nav.analysis", requires: "service_case")],
        actions: [ModuleAction(entity: "service_case", labelKey: "service.actions.take", path: "/app/service/cases/{id}/take", post: true,
                               onlyWhen: (field: "status", values: ["new"])),
                  ModuleAction(entity: "service_case", labelKey: "service.actions.log_work", path: "/app/service_work_record/new?service_case={id}",
                               onlyWhen: (field: "status", values: ServiceEntities.openStatuses)),
                  ModuleAction(entity: "service_case", labelKey: "service.actions.survey_link", path: "/app/service/cases/{id}/survey-link", post: true,
                               onlyWhen: (field: "status", values: ["resolved", "closed"]))],
        defaultGrants: defaultGrants,
        roles: [ModuleRole(key: "service_agent", labels: ["en": "Service Agent", "zh-CN": "客服"], customGrants: DefaultRoles.working(.own))],
        migrations: [SLASweep.migration, Surveys.migration], demoData: ServiceDemoData.seed, layouts: layouts, jobs: [SLASweep.job],
        notificationKinds: ["service.case_assigned", "service.sla_warning", "service.sla_breached"])

    /// Agents work their own cases and those a manual queue shares with them (write); the
    /// administrator everything; read-only roles read. These are the grants tenants had since
    /// the service placeholder (ModuleGrantsTests pins them); a tenant gives sales roles read
    /// access, or agents a department scope, in its roles.
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "service_agent": DefaultRoles.working(.own),
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]

    static let layouts: [ModuleLayout] = [
        ModuleLayout(entity: "service_case", sections: [
            LayoutSection(titles: ["en": "Case", "zh-CN": "工单"], fields: ["number", "subject", "case_type", "channel", "priority", "status", "queue"]),
            LayoutSection(titles: ["en": "Customer", "zh-CN": "客户"], fields: ["account", "contact", "asset", "out_of_warranty", "related_order",
                                                                      "related_opportunity"]),
            LayoutSection(titles: ["en": "Problem and resolution", "zh-CN": "问题与解决"], columns: 1, fields: ["description", "resolution", "root_cause"]),
            LayoutSection(titles: ["en": "SLA", "zh-CN": "服务时效"], fields: ["sla_status", "opened_at", "response_due_at", "first_response_at", "resolution_due_at",
                                                                          "resolved_at", "closed_at", "response_minutes", "resolution_minutes", "paused_minutes",
                                                                          "work_minutes", "reopen_count"]),
            LayoutSection(titles: ["en": "Satisfaction", "zh-CN": "满意度"], fields: ["satisfaction", "satisfaction_comment", "surveyed_at"]),
        ]),
        ModuleLayout(entity: "service_work_record", sections: [
            LayoutSection(titles: ["en": "Work", "zh-CN": "工作"], fields: ["service_case", "summary", "kind", "minutes", "performed_at"]),
            LayoutSection(titles: ["en": "Notes", "zh-CN": "备注"], columns: 1, fields: ["notes"]),
        ]),
        ModuleLayout(entity: "service_asset", sections: [
            LayoutSection(titles: ["en": "Asset", "zh-CN": "资产"], fields: ["name", "account", "product", "serial_number", "install_date", "warranty_end", "location"]),
        ]),
        ModuleLayout(entity: "service_queue", sections: [
            LayoutSection(titles: ["en": "Queue", "zh-CN": "队列"], fields: ["name", "rule", "team", "supervisor", "active", "last_assigned"]),
            LayoutSection(titles: ["en": "Description", "zh-CN": "说明"], columns: 1, fields: ["description"]),
        ]),
    ]

    /// Whether the tenant of the request has the module; its routes answer 404 otherwise.
    static func requireEnabled(_ store: ModuleStore) async throws {
        guard try await TenantModules.enabled(on: store.connection, logger: store.logger).contains(manifest.id) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "the service module is not enabled for this company")
        }
    }
}

/// What a tenant gets when it enables the module: working hours (09:00–18:00 Monday to Friday,
/// Asia/Shanghai, China's holidays, reopen within 7 days) and an SLA policy per priority (once).
enum ServiceSetUp {
    static let policies: [(String, String, Int, Int)] = [
        ("紧急 / Urgent", "urgent", 30, 240), ("高 / High", "high", 60, 540), ("普通 / Normal", "normal", 240, 1620), ("低 / Low", "low", 540, 2700),
    ]

    static let run: ModuleSetUp = { engine, actor, connection, logger in
        let store = ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
        if try await store.all("service_settings").isEmpty {
            _ = try await store.create("service_settings", [
                "name": .string("默认 / Default"), "work_start": .string("09:00"), "work_end": .string("18:00"),
                "work_days": .array(["1", "2", "3", "4", "5"].map(JSONValue.string)), "china_calendar": .bool(true),
                "time_zone": .string("Asia/Shanghai"), "reopen_days": .number(Decimal(ServiceSettings.defaultReopenDays)),
            ])
        }
        if try await store.all("service_sla_policy").isEmpty {
            for (name, priority, response, resolution) in policies {
                _ = try await store.create("service_sla_policy", ["name": .string(name), "priority": .string(priority),
                                                                  "response_minutes": .number(Decimal(response)),
                                                                  "resolution_minutes": .number(Decimal(resolution))])
            }
        }
    }
}

/// JSON API of the module (cases, queues, assets… are records: `/api/v1/service_case`, …):
///
///     GET  /api/v1/service/queue                   my open cases and the unassigned cases of my queues
///     POST /api/v1/service/cases/{id}/take         the case becomes mine (assigned)
///     POST /api/v1/service/cases/{id}/survey       a new survey link for a resolved or closed case (shown once)
///     GET  /api/v1/service/analysis                per agent: cases, complaints, complaint rate, surveys, satisfaction, SLA
///     GET  /survey/{token}, POST /survey/{token}   the customer's survey page (no sign-in)
struct ServiceRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = ServiceAPI(web: web)
        router.get("api/v1/service/queue", use: api.queue)
        router.post("api/v1/service/cases/:id/take", use: api.take)
        router.post("api/v1/service/cases/:id/survey", use: api.survey)
        router.get("api/v1/service/analysis", use: api.analysis)
        ServicePages(web: web).register(on: router)
        SurveyPages(web: web).register(on: router)
    }
}

struct ServiceAPI: ModuleHandlers {
    let web: WebApp

    static func caseJSON(_ record: Record) -> JSONValue { record.json }

    @Sendable func queue(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await ServiceModule.requireEnabled(store)
            let desk = try await ServiceDesk.load(store: store)
            return RecordRoutes.json(.object(["my_cases": .array(desk.mine.map(\.json)), "unassigned": .array(desk.unassigned.map(\.json)),
                                              "my_cases_total": .number(Decimal(desk.mineTotal)),
                                              "unassigned_total": .number(Decimal(desk.unassignedTotal)),
                                              "queues": .array(desk.queues.map(\.json))]))
        }
    }

    @Sendable func take(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            try await ServiceModule.requireEnabled(store)
            return RecordRoutes.json(try await ServiceDesk.take(id, store: store).json)
        }
    }

    @Sendable func survey(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            try await ServiceModule.requireEnabled(store)
            let (token, link) = try await ServiceDesk.surveyLink(id, store: store)
            return RecordRoutes.json(.object(["token": .string(token), "link": .string(link)]), status: .created)
        }
    }

    @Sendable func analysis(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await ServiceModule.requireEnabled(store)
            return RecordRoutes.json(try await ServiceAnalysis.load(store: store).json)
        }
    }
}

/// The agent's desk: my open cases, the unassigned (new) cases of the queues I belong to,
/// taking a case, and a survey link — all through the engine as the caller.
enum ServiceDesk {
    struct Desk: Sendable {
        let mine: [Record]
        let unassigned: [Record]
        let queues: [Record]
        /// How many there are in all (exact up to ``RecordQuery/countCap``, then "more").
        let mineTotal: Int
        let unassignedTotal: Int
    }

    /// Each list shows its first page: my open cases by resolution due time (most urgent
    /// first), my queues' waiting cases oldest first.
    static let pageSize = 100

    static func load(store: ModuleStore) async throws -> Desk {
        let me = store.actor.user.id.uuidString.lowercased()
        let memberships = try await store.all("service_queue_member", filter: ModuleStore.eq("member", me)).filter { $0.values["active"] != .bool(false) }
        let queueIDs = Array(Set(memberships.compactMap { $0.string("queue") })).sorted()
        let queues = try await store.all("service_queue").filter { queueIDs.contains($0.idText) }
        let open = JSONValue.array(ServiceEntities.openStatuses.map(JSONValue.string))
        func page(_ filter: JSONValue, sort: String) async throws -> RecordEngine.Page {
            try await store.engine.list("service_case", query: RecordQuery(filter: filter, sort: sort, limit: pageSize),
                                        as: store.actor, on: store.connection, logger: store.logger)
        }
        let mine = try await page(ModuleStore.and([ModuleStore.eq("owner_id", me), ModuleStore.op("status", "in", open)]), sort: "resolution_due_at")
        let unassigned = queueIDs.isEmpty ? nil : try await page(ModuleStore.and([
            ModuleStore.eq("status", "new"), ModuleStore.op("queue", "in", .array(queueIDs.map(JSONValue.string))),
        ]), sort: "created_at")
        return Desk(mine: mine.records, unassigned: unassigned?.records ?? [], queues: queues,
                    mineTotal: mine.total, unassignedTotal: unassigned?.total ?? 0)
    }

    /// Takes a new case: owner me, status assigned (the engine checks the caller may update it).
    static func take(_ id: UUID, store: ModuleStore) async throws -> Record {
        let record = try await store.get("service_case", id)
        guard record.string("status") == "new" else {
            throw ServiceRules.invalid("status", "is \(record.string("status") ?? "?"): only a new case can be taken", key: "take_not_new",
                                       ["status": record.string("status") ?? ""])
        }
        return try await store.update(record, ["owner_id": .string(store.actor.user.id.uuidString.lowercased()), "status": .string("assigned")])
    }

    /// A fresh survey link for a resolved or closed case the caller may update.
    static func surveyLink(_ id: UUID, store: ModuleStore) async throws -> (String, String) {
        let record = try await store.get("service_case", id)
        let (entity, _) = try await store.engine.entity("service_case", on: store.connection, logger: store.logger)
        guard store.actor.access.scope(entity, .update) > .none else {
            throw AtriumError(status: .forbidden, code: "no_permission", message: "your roles do not allow update on service_case")
        }
        guard ["resolved", "closed"].contains(record.string("status") ?? "") else {
            throw ServiceRules.invalid("status", "must be resolved or closed before the customer is surveyed", key: "survey_needs_resolution")
        }
        let token = try await Surveys.issue(for: record, on: store.connection, logger: store.logger)
        return (token, try await Surveys.link(token: token, on: store.connection, logger: store.logger))
    }
}

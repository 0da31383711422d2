import Foundation
import Hummingbird
import Platform

/// The activities module (跟进记录、任务): what salespeople do, logged on any record — module
/// entities and tenant custom objects alike — through the shared record engine, so data
/// scopes, field rules, audit, recycle bin and custom fields apply as for every entity. It
/// depends on no module: a related record is named by entity key and id, and the sales
/// entities are related like any other when the tenant has sales enabled.
public enum ActivitiesModule {
    public static let manifest = ModuleManifest(
        id: "activities", version: "0.1.0", names: ["en": "Activities", "zh-CN": "跟进与任务"],
        entities: ActivitiesEntities.all, hooks: ActivitiesRules.hooks, routes: ActivitiesRoutes(), handover: ActivitiesHandover.run,
        pages: [ModulePage(path: "/app/calendar", labelKey: "activities.nav.calendar", requires: "event"),
                ModulePage(path: "/app/activities/dormant", labelKey: "activities.nav.dormant", requires: "activity"),
                ModulePage(path: "/app/task?f0=status&op0=in&v0=open,in_progress", labelKey: "activities.nav.open_tasks", requires: "task"),
                ModulePage(path: "/app/activities/tasks/completion", labelKey: "activities.nav.completion", requires: "task"),
                ModulePage(path: "/app/visits", labelKey: "activities.nav.visits", requires: "visit"),
                ModulePage(path: "/app/work-reports/team", labelKey: "activities.nav.team_reports", requires: "work_report")],
        actions: [ModuleAction(entity: "work_report", labelKey: "activities.reports.submit", path: "/app/work-reports/{id}/submit", post: true,
                               onlyWhen: (field: "status", values: ["draft"]))],
        defaultGrants: defaultGrants, migrations: LastActivity.migrations + CalendarFeed.migrations + [TaskReminders.migration, EventReminders.migration, LastActivity.toRecords, ActivityLinks.migration],
        demoData: ActivitiesDemoData.seed, layouts: layouts, recordPanels: [TimelinePanel()], jobs: [TaskReminders.job, EventReminders.job],
        notificationKinds: ["activities.task_assigned", "activities.task_reminder", "activities.event_reminder",
                            "activities.report_submitted", "activities.report_commented"])

    /// Everyone logs their own follow-ups and works their own tasks; managers see their
    /// department tree's, the director and administrators everyone's; read-only roles read all.
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "sales_director": DefaultRoles.working(.all),
        "sales_manager": DefaultRoles.working(.departmentTree),
        "salesperson": DefaultRoles.working(.own),
        "service_agent": DefaultRoles.working(.own),
        "purchaser": DefaultRoles.working(.own),
        "finance": DefaultRoles.working(.own),
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]

    static let layouts: [ModuleLayout] = [
        ModuleLayout(entity: "activity", sections: [
            LayoutSection(titles: ["en": "Follow-up", "zh-CN": "跟进"], fields: ["subject", "kind", "occurred_at", "duration_minutes", "related_title"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["notes", "outcome", "next_step"]),
            LayoutSection(titles: ["en": "Related record", "zh-CN": "关联记录"], fields: ["related_entity", "related_id"]),
        ]),
        ModuleLayout(entity: "task", sections: [
            LayoutSection(titles: ["en": "Task", "zh-CN": "任务"], fields: ["subject", "status", "priority", "assignee", "due_at", "reminder_at", "completed_at"]),
            LayoutSection(titles: ["en": "Details", "zh-CN": "详情"], columns: 1, fields: ["description"]),
            LayoutSection(titles: ["en": "Related record", "zh-CN": "关联记录"], fields: ["related_title", "related_entity", "related_id"]),
        ]),
        ModuleLayout(entity: "event", sections: [
            LayoutSection(titles: ["en": "Event", "zh-CN": "日程"], fields: ["subject", "starts_at", "ends_at", "all_day", "location", "reminder_minutes"]),
            LayoutSection(titles: ["en": "Attendees and notes", "zh-CN": "参与人与备注"], columns: 1, fields: ["attendee_ids", "notes"]),
            LayoutSection(titles: ["en": "Repeat", "zh-CN": "重复"], fields: ["recurrence", "recurrence_interval", "recurrence_weekdays", "recurrence_until",
                                                                           "recurrence_count"]),
            LayoutSection(titles: ["en": "Occurrence of a series", "zh-CN": "系列中的一次"], fields: ["series_id", "occurrence_start", "cancelled"]),
            LayoutSection(titles: ["en": "Related record", "zh-CN": "关联记录"], fields: ["related_title", "related_entity", "related_id"]),
        ]),
        ModuleLayout(entity: "visit", sections: [
            LayoutSection(titles: ["en": "Visit", "zh-CN": "拜访"], fields: ["related_title", "planned_on", "sequence", "purpose", "status"]),
            LayoutSection(titles: ["en": "Check-in and check-out", "zh-CN": "签到与签退"], fields: ["checked_in_at", "checked_out_at", "duration_minutes", "activity_id"]),
            LayoutSection(titles: ["en": "Notes", "zh-CN": "纪要"], columns: 1, fields: ["notes", "outcome"]),
            LayoutSection(titles: ["en": "Positions", "zh-CN": "定位"], fields: ["check_in_latitude", "check_in_longitude", "check_in_accuracy",
                                                                                "check_out_latitude", "check_out_longitude", "check_out_accuracy"]),
            LayoutSection(titles: ["en": "Visited record", "zh-CN": "拜访对象"], fields: ["related_entity", "related_id"]),
        ]),
        ModuleLayout(entity: "work_report", sections: [
            LayoutSection(titles: ["en": "Report", "zh-CN": "报告"], fields: ["title", "kind", "period_start", "status", "submitted_at"]),
            LayoutSection(titles: ["en": "Content", "zh-CN": "内容"], columns: 1, fields: ["summary", "next_plans"]),
            LayoutSection(titles: ["en": "Manager", "zh-CN": "上级"], columns: 1, fields: ["manager_comment", "commented_by", "commented_at"]),
        ]),
    ]

    /// Whether the tenant of the request has the module; its routes answer 404 otherwise.
    static func requireEnabled(_ store: ModuleStore) async throws {
        guard try await TenantModules.enabled(on: store.connection, logger: store.logger).contains(manifest.id) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "the activities module is not enabled for this company")
        }
    }
}

/// JSON API of the module (the activities and tasks themselves are records:
/// `/api/v1/activity`, `/api/v1/task`):
///
///     GET /api/v1/{entity}/{id}/timeline?limit=100          activities, tasks and field changes, newest first
///     GET /api/v1/activities/dormant?entity=account&days=30&as_of=2026-11-23&owner=me&limit=50&offset=0[&orders=ignore]
struct ActivitiesRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = ActivitiesAPI(web: web)
        router.get("api/v1/activities/dormant", use: api.dormant)
        router.get("api/v1/:entity/:id/timeline", use: api.timeline)
        ActivitiesPages(web: web).register(on: router)
        CalendarAPI(web: web).register(on: router)
        CalendarPage(web: web).register(on: router)
        TaskBatchRoutes(web: web).register(on: router)
        VisitAPI(web: web).register(on: router)
        VisitPages(web: web).register(on: router)
        WorkReportAPI(web: web).register(on: router)
        WorkReportPages(web: web).register(on: router)
    }
}

struct ActivitiesAPI: ModuleHandlers {
    let web: WebApp

    /// A whole-number query parameter within `range`, or the default; anything else names the field.
    static func number(_ request: Request, _ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters[Substring(name)].map(String.init), !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    /// `owner=me` or a user id narrows a list to that owner.
    static func owner(_ request: Request, actor: RecordEngine.Actor) throws -> UUID? {
        guard let text = request.uri.queryParameters["owner"].map(String.init), !text.isEmpty else { return nil }
        if text == "me" { return actor.user.id }
        guard let id = UUID(uuidString: text) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "owner must be me or a user id", field: "owner")
        }
        return id
    }

    @Sendable func timeline(_ request: Request, context: AtriumContext) async throws -> Response {
        let entity = context.parameters.get("entity") ?? ""
        let id = try Self.id(context)
        let limit = try Self.number(request, "limit", default: 100, in: 1...Timeline.maxLimit)
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await Timeline.load(entity: entity, id: id, limit: limit, store: store).json)
        }
    }

    @Sendable func dormant(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = request.uri.queryParameters
        let (entity, days, asOf) = try DormantRecords.parameters(entity: query["entity"].map(String.init), days: query["days"].map(String.init),
                                                                 asOf: query["as_of"].map(String.init))
        let limit = try Self.number(request, "limit", default: 50, in: 1...RecordQuery.maxLimit)
        let offset = try Self.number(request, "offset", default: 0, in: 0...1_000_000)
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            let owner = try Self.owner(request, actor: store.actor)
            let touchedBy = query["orders"].map(String.init) == "ignore" ? [] : DormantRecords.orders
            let dormant = try await DormantRecords.load(entity: entity, days: days, asOf: asOf, owner: owner, touchedBy: touchedBy, store: store)
            return RecordRoutes.json(dormant.json(limit: limit, offset: offset))
        }
    }
}

import Foundation
import Hummingbird
import Platform

/// The work reports' JSON API (reports themselves are records: `/api/v1/work_report`; a new
/// one without a summary is pre-filled by ``WorkReportFlow``):
///
///     GET  /api/v1/work-reports/prefill?kind=daily|weekly&date=2026-12-07   the caller's data of the period, and the summary made of it
///     POST /api/v1/work-reports/{id}/submit                                 draft → submitted; tells the author's manager
///     POST /api/v1/work-reports/{id}/comment  {"comment": "…"}             the manager's comment; tells the author
///     GET  /api/v1/work-reports/team?kind=daily&date=2026-12-07             who in the caller's data scope submitted, who did not
struct WorkReportAPI: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/work-reports/prefill", use: prefill)
        router.get("api/v1/work-reports/team", use: team)
        router.post("api/v1/work-reports/:id/submit", use: submit)
        router.post("api/v1/work-reports/:id/comment", use: comment)
    }

    /// `kind` (daily unless given) and `date` (today unless given) of a query.
    static func period(_ request: Request) throws -> (kind: String, day: String) {
        let kind = request.uri.queryParameters["kind"].map(String.init) ?? "daily"
        guard kind == "daily" || kind == "weekly" else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "kind must be daily or weekly", field: "kind")
        }
        return (kind, try Visits.day(request.uri.queryParameters["date"].map(String.init)))
    }

    @Sendable func prefill(_ request: Request, context: AtriumContext) async throws -> Response {
        let (kind, day) = try Self.period(request)
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            let digest = try await WorkReportDigest.load(author: store.actor.user.id, kind: kind, day: day, store: store)
            return RecordRoutes.json(digest.json(locale: store.actor.user.locale))
        }
    }

    @Sendable func team(_ request: Request, context: AtriumContext) async throws -> Response {
        let (kind, day) = try Self.period(request)
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await WorkReportTeam.load(kind: kind, day: day, store: store).json)
        }
    }

    @Sendable func submit(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await WorkReports.submit(id, store: store).json)
        }
    }

    @Sendable func comment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        let text = WorkReportFlow.text(body["comment"])
        guard !text.isEmpty else { throw ActivitiesRules.invalid("comment", "is required", key: "report_comment_required") }
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await WorkReports.comment(id, text: text, store: store).json)
        }
    }
}

/// The report actions the API and the pages share, through the engine as the caller.
enum WorkReports {
    static func submit(_ id: UUID, store: ModuleStore) async throws -> Record {
        let report = try await store.get("work_report", id)
        guard report.string("status") == "draft" else {
            throw AtriumError.module("activities", .conflict, code: "invalid_status", field: "status", "status: the report was submitted already",
                                     key: "report_already_submitted")
        }
        return try await store.update(report, ["status": .string("submitted")])
    }

    static func comment(_ id: UUID, text: String, store: ModuleStore) async throws -> Record {
        let report = try await store.get("work_report", id)
        return try await store.update(report, ["manager_comment": .string(text)])
    }

    /// The caller's report of the period, or a new draft pre-filled from the period's data.
    static func open(kind: String, day: String, store: ModuleStore) async throws -> Record {
        guard let start = WorkReportDigest.period(kind: kind, day: day)?.start else {
            throw ActivitiesRules.invalid("period_start", "must be a day as YYYY-MM-DD", key: "report_period_invalid")
        }
        let key = WorkReportFlow.key(author: store.actor.user.id, kind: kind, start: start)
        if let mine = try await store.all("work_report", filter: ModuleStore.eq("period_key", key)).first { return mine }
        return try await store.create("work_report", ["kind": .string(kind), "period_start": .string(start)])
    }
}

/// Who in the caller's data scope on reports submitted the period's report and who did not:
/// the people are the tenant's active users the caller's read scope on `work_report` reaches
/// (all; their department tree; their department; themselves), the caller left out unless
/// the scope is their own; the reports are read through the engine as the caller.
struct WorkReportTeam: Sendable {
    struct Member: Sendable {
        let id: UUID
        let name: String
        let report: Record?

        var status: String { report?.string("status") ?? "missing" }
        var submitted: Bool { WorkReportFlow.submittedStates.contains(status) }
    }

    let kind: String
    let start: String
    let members: [Member]

    static func load(kind: String, day: String, store: ModuleStore) async throws -> WorkReportTeam {
        guard let start = WorkReportDigest.period(kind: kind, day: day)?.start else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "date must be a day as YYYY-MM-DD", field: "date")
        }
        let (definition, _) = try await store.engine.entity("work_report", on: store.connection, logger: store.logger)
        let access = store.actor.access
        let scope = access.scope(definition, .read)
        guard scope > .none else {
            throw AtriumError(status: .forbidden, code: "no_permission", message: "your roles do not allow read on work_report")
        }
        let me = store.actor.user.id
        let people = try await OrganisationAdmin().members(on: store.connection, logger: store.logger).filter { member in
            guard member.active else { return false }
            switch scope {
            case .all: return member.id != me
            case .departmentTree: return member.id != me && member.departmentID.map(access.departmentTree.contains) == true
            case .department: return member.id != me && member.departmentID != nil && member.departmentID == access.departmentID
            case .own: return member.id == me
            case .none: return false
            }
        }
        let reports = try await store.all("work_report", filter: ModuleStore.and([ModuleStore.eq("kind", kind), ModuleStore.eq("period_start", start)]))
        let byOwner = Dictionary(reports.compactMap { report in report.ownerID.map { ($0, report) } }, uniquingKeysWith: { first, _ in first })
        let members = people.map { Member(id: $0.id, name: $0.displayName, report: byOwner[$0.id]) }
            .sorted { ($0.submitted ? 1 : 0, $0.name) < ($1.submitted ? 1 : 0, $1.name) }
        return WorkReportTeam(kind: kind, start: start, members: members)
    }

    var json: JSONValue {
        .object([
            "kind": .string(kind), "period_start": .string(start),
            "submitted_count": .number(Decimal(members.filter(\.submitted).count)),
            "missing_count": .number(Decimal(members.filter { !$0.submitted }.count)),
            "members": .array(members.map { member in
                .object(["user_id": .string(member.id.uuidString.lowercased()), "name": .string(member.name), "status": .string(member.status),
                         "submitted": .bool(member.submitted), "report_id": member.report.map { .string($0.idText) } ?? .null,
                         "submitted_at": member.report?.values["submitted_at"] ?? .null])
            }),
        ])
    }
}

/// The team page (who submitted, who did not, for a day or week) and the form that opens the
/// caller's report of a period (a pre-filled draft the first time).
struct WorkReportPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/work-reports/team", use: teamPage)
        router.post("app/work-reports/open", use: open)
        router.post("app/work-reports/:id/submit", use: submit)
    }

    @Sendable func teamPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let kindText = request.uri.queryParameters["kind"].map(String.init) ?? "daily"
        let dayText = request.uri.queryParameters["date"].map(String.init)
        return try await web.page(request, context, current: "/app/work-reports/team") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let lang = page.locale
            let kind = kindText == "weekly" ? "weekly" : "daily"
            let day = (try? Visits.day(dayText)) ?? ChinaCalendar.today()
            let team = try await WorkReportTeam.load(kind: kind, day: day, store: store)
            let statusField = page.entities["work_report"]?.field("status")
            func row(_ member: WorkReportTeam.Member) -> [String: Any] {
                let label = member.report.flatMap { report in statusField.flatMap { field in report.values["status"].map { page.format.text($0, field: field) } } }
                return ["name": member.name, "user_id": member.id.uuidString.lowercased(), "status": member.status,
                        "status_label": label ?? web.t("activities.reports.not_written", lang),
                        "href": member.report.map { "/app/work_report/\($0.idText)" } ?? "",
                        "submitted_at": member.report?.values["submitted_at"].map { page.format.text($0, field: FieldDefinition(key: "submitted_at", labels: [:], type: .datetime)) } ?? ""]
                    .filter { !(($0.value as? String)?.isEmpty ?? false) }  // Mustache takes "" for true in a section
            }
            let submitted = team.members.filter(\.submitted), missing = team.members.filter { !$0.submitted }
            return web.render("activities_report_team", page, [
                "title": web.t("activities.reports.team_title", lang), "day": day, "period_start": team.start,
                "kinds": ActivitiesEntities.reportKinds.map { ["value": $0.value, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.value),
                                                                "selected": $0.value == kind] },
                "submitted": submitted.map(row), "missing": missing.map(row),
                "summary": web.t("activities.reports.team_summary", lang, ["submitted": "\(submitted.count)", "missing": "\(missing.count)"]),
                "kind": kind,
            ])
        }
    }

    @Sendable func open(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        let kind = form["kind"] == "weekly" ? "weekly" : "daily"
        return try await web.page(request, context, form: form, current: "work_report") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let day = try Visits.day(form["date"])
            let report = try await WorkReports.open(kind: kind, day: day, store: store)
            let draft = report.string("status") == "draft"
            return WebApp.redirect("/app/work_report/\(report.idText)\(draft ? "/edit" : "")")
        }
    }

    @Sendable func submit(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form, current: "work_report") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            _ = try await WorkReports.submit(id, store: store)
            return WebApp.redirect("/app/work_report/\(id.uuidString.lowercased())?notice=report_submitted")
        }
    }
}

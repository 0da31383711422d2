import Foundation
import Hummingbird
import Platform

/// The visits' JSON API (visits themselves are records: `/api/v1/visit`; a plan is the
/// caller's visits of a day). Positions are optional; a refused one names the visit's field
/// (`check_in_latitude`, …):
///
///     GET  /api/v1/visits/plan?date=2026-12-07                 the caller's visits of the day, in order
///     POST /api/v1/visits/{id}/check-in   {"latitude"?, "longitude"?, "accuracy"?}
///     POST /api/v1/visits/{id}/check-out  {"latitude"?, "longitude"?, "accuracy"?, "notes"?, "outcome"?}   logs the activity
///     POST /api/v1/visits/check-in        {"related_entity", "related_id", "latitude"?, …}   at a record: today's planned visit of it, or a new one
struct VisitAPI: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/visits/plan", use: plan)
        router.post("api/v1/visits/check-in", use: checkInAt)
        router.post("api/v1/visits/:id/check-in", use: checkIn)
        router.post("api/v1/visits/:id/check-out", use: checkOut)
    }

    static func position(_ body: [String: JSONValue]) -> Visits.Position {
        Visits.Position(latitude: body["latitude"], longitude: body["longitude"], accuracy: body["accuracy"])
    }

    @Sendable func plan(_ request: Request, context: AtriumContext) async throws -> Response {
        let day = try Visits.day(request.uri.queryParameters["date"].map(String.init))
        return try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            let visits = try await Visits.plan(for: store.actor.user.id, day: day, store: store)
            return RecordRoutes.json(.object(["date": .string(day), "visits": .array(visits.map(\.json))]))
        }
    }

    @Sendable func checkIn(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request, emptyAllowed: true)
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await Visits.checkIn(id, position: Self.position(body), store: store).json)
        }
    }

    @Sendable func checkOut(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request, emptyAllowed: true)
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            let visit = try await Visits.checkOut(id, position: Self.position(body), notes: body["notes"]?.stringValue,
                                                  outcome: body["outcome"]?.stringValue, store: store)
            return RecordRoutes.json(visit.json)
        }
    }

    @Sendable func checkInAt(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        let entity = body["related_entity"]?.stringValue ?? ""
        guard !entity.isEmpty else { throw ActivitiesRules.invalid("related_entity", "is required", key: "related_entity_missing") }
        guard let id = body["related_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw ActivitiesRules.invalid("related_id", "must be a record id", key: "related_id_format")
        }
        return try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            return RecordRoutes.json(try await Visits.checkIn(entity: entity, id: id, position: Self.position(body), store: store).json, status: .created)
        }
    }
}

/// "My visits" (a day's plan, usable on a phone) and the forms that check in and out from it
/// or from a record page's timeline section. The position comes from `visits.js` (the
/// browser's geolocation) in hidden fields; without it the forms work the same.
struct VisitPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/visits", use: myVisits)
        router.post("app/visits/:id/check-in", use: checkIn)
        router.post("app/visits/:id/check-out", use: checkOut)
        router.post("app/visits/at/:entity/:id", use: checkInAt)
        router.post("app/visits/plan/:entity/:id", use: planAt)
    }

    @Sendable func myVisits(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let dayText = request.uri.queryParameters["date"].map(String.init)
        return try await web.page(request, context, current: "/app/visits") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let day = (try? Visits.day(dayText)) ?? ChinaCalendar.today()
            return try await render(page, store: store, day: day, error: nil, status: .ok)
        }
    }

    /// The day's plan page; `error` (a refused check-in or out) shows above the list.
    func render(_ page: WebApp.Page, store: ModuleStore, day: String, error: AtriumError?, status: HTTPResponse.Status) async throws -> Response {
        let lang = page.locale
        let visits = try await Visits.plan(for: page.actor.user.id, day: day, store: store)
        let entity = page.entities["visit"]
        func shown(_ record: Record, _ key: String) -> String {
            guard let field = entity?.field(key), let value = record.values[key] else { return "" }
            return page.format.text(value, field: field)
        }
        let zone = Recurrence.tenantZone, calendar = Recurrence.calendar(zone)
        let date = Recurrence.day(day, zone: zone) ?? Date()
        func shift(_ days: Int) -> String { Recurrence.dayText(calendar.date(byAdding: .day, value: days, to: date) ?? date, zone: zone) }
        let items: [[String: Any]] = visits.map { visit in
            let status = visit.string("status") ?? "planned"
            let related = visit.string("related_entity").flatMap { key in visit.string("related_id").map { "/app/\(key)/\($0)" } }
            return ["id": visit.idText, "href": "/app/visit/\(visit.idText)", "title": visit.string("related_title") ?? visit.idText,
                    "related_href": related ?? "", "purpose": visit.string("purpose") ?? "", "sequence": shown(visit, "sequence"),
                    "status": status, "status_label": shown(visit, "status"), "checked_in_at": shown(visit, "checked_in_at"),
                    "checked_out_at": shown(visit, "checked_out_at"), "duration": shown(visit, "duration_minutes"),
                    "is_planned": status == "planned", "is_checked_in": status == "checked_in", "is_done": status == "done",
                    "activity_href": visit.string("activity_id").map { "/app/activity/\($0)" } ?? "",
                    "check_in_action": "/app/visits/\(visit.idText)/check-in", "check_out_action": "/app/visits/\(visit.idText)/check-out"]
                .filter { !(($0.value as? String)?.isEmpty ?? false) }  // Mustache takes "" for true in a section
        }
        var values: [String: Any] = [
            "title": web.t("activities.visits.title", lang), "day": day, "is_today": day == ChinaCalendar.today(),
            "prev": "/app/visits?date=\(shift(-1))", "next": "/app/visits?date=\(shift(1))", "items": items, "empty": items.isEmpty,
            "can_report": page.entities["work_report"].map { page.actor.access.scope($0, .create) > .none } ?? false,
        ]
        if let error {
            let field = error.field.flatMap { entity?.field($0) }
            values["error"] = web.message(error, locale: lang, label: field.map { DisplayFormat.label($0.labels, locale: lang, fallback: $0.key) })
            values["error_field"] = error.field ?? ""
        }
        return web.render("activities_visits", page, status: status, values)
    }

    /// Runs a check-in or out from a form; a refusal renders the day's plan with the message
    /// (the transaction rolls back, nothing is written).
    func act(_ request: Request, _ context: AtriumContext, form: [String: String],
             _ body: @escaping @Sendable (ModuleStore) async throws -> (Record, String)) async throws -> Response {
        do {
            return try await web.page(request, context, form: form, current: "/app/visits") { page, db in
                let store = store(page, db)
                try await ActivitiesModule.requireEnabled(store)
                do {
                    let (visit, notice) = try await body(store)
                    return WebApp.redirect("/app/visits?date=\(visit.string("planned_on") ?? ChinaCalendar.today())&notice=\(notice)")
                } catch let error as AtriumError where [.unprocessableContent, .conflict, .forbidden].contains(error.status) {
                    throw VisitRefused(error: error, response: try await render(page, store: store, day: (try? Visits.day(form["date"])) ?? ChinaCalendar.today(),
                                                                               error: error, status: error.status))
                }
            }
        } catch let refused as VisitRefused {
            return refused.response
        }
    }

    /// Carries the refusal page out of the transaction so that it rolls back.
    struct VisitRefused: Error { let error: AtriumError; let response: Response }

    @Sendable func checkIn(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { store in
            (try await Visits.checkIn(id, position: Visits.Position(form: form), store: store), "visit_checked_in")
        }
    }

    @Sendable func checkOut(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 64 * 1024)
        let (notes, outcome) = (Self.text(form["notes"]), Self.text(form["outcome"]))
        return try await act(request, context, form: form) { store in
            (try await Visits.checkOut(id, position: Visits.Position(form: form), notes: notes, outcome: outcome, store: store), "visit_checked_out")
        }
    }

    static func text(_ value: String?) -> String? {
        value.map { $0.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespaces) }
    }

    @Sendable func checkInAt(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let entity = context.parameters.get("entity") ?? ""
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { store in
            (try await Visits.checkIn(entity: entity, id: id, position: Visits.Position(form: form), store: store), "visit_checked_in")
        }
    }

    @Sendable func planAt(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let entity = context.parameters.get("entity") ?? ""
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await act(request, context, form: form) { store in
            let day = try Visits.day(form["planned_on"])
            return (try await Visits.plan(entity: entity, id: id, day: day, purpose: form["purpose"], store: store), "visit_planned")
        }
    }
}

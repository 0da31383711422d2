import Foundation
import Hummingbird
import Platform

/// The calendar page: `/app/calendar?view=day|week|month&date=YYYY-MM-DD&scope=mine|team`.
/// Server-rendered as a list of days (the same ``CalendarWindow`` as the JSON API): wide
/// screens lay a week or month out as a grid of seven columns, narrow ones (390 px) keep the
/// list and hide a month's empty days. The feed link is made and revoked here too.
struct CalendarPage: ModuleHandlers {
    let web: WebApp

    enum View: String, CaseIterable { case day, week, month }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/calendar", use: show)
        router.post("app/calendar/feed", use: createFeed)
        router.post("app/calendar/feed/revoke", use: revokeFeed)
    }

    /// The view's days: one day; Monday to Sunday; the month's weeks from the Monday on or before
    /// the 1st to the Sunday on or after its last day.
    static func days(view: View, date: Date) -> (days: [Date], month: Int) {
        let calendar = Recurrence.calendar(Recurrence.tenantZone)
        let day = calendar.startOfDay(for: date)
        let month = calendar.component(.month, from: day)
        func add(_ days: Int, _ to: Date) -> Date { calendar.date(byAdding: .day, value: days, to: to)! }
        switch view {
        case .day:
            return ([day], month)
        case .week:
            let monday = add(-Recurrence.weekday(day, zone: Recurrence.tenantZone), day)
            return ((0..<7).map { add($0, monday) }, month)
        case .month:
            let first = calendar.date(from: calendar.dateComponents([.year, .month], from: day))!
            let count = calendar.range(of: .day, in: .month, for: first)!.count
            let start = add(-Recurrence.weekday(first, zone: Recurrence.tenantZone), first)
            let last = add(count - 1, first)
            let end = add(6 - Recurrence.weekday(last, zone: Recurrence.tenantZone), last)
            let total = calendar.dateComponents([.day], from: start, to: end).day! + 1
            return ((0..<total).map { add($0, start) }, month)
        }
    }

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        try await render(request, context, form: nil, feedToken: nil)
    }

    @Sendable func createFeed(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        return try await render(request, context, form: form, feedToken: "")
    }

    @Sendable func revokeFeed(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        return try await web.page(request, context, form: form, current: "/app/calendar") { page, db in
            try await ActivitiesModule.requireEnabled(store(page, db))
            _ = try await CalendarFeed.revoke(for: page.actor.user.id, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/calendar?notice=calendar_feed_revoked")
        }
    }

    /// The page; with `feedToken` (after the form's post) a new feed link is made and shown once.
    func render(_ request: Request, _ context: AtriumContext, form: [String: String]?, feedToken: String?) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let query = request.uri.queryParameters
        let viewText = query["view"].map(String.init) ?? "week"
        guard let view = View(rawValue: viewText.isEmpty ? "week" : viewText) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "view must be day, week or month", field: "view")
        }
        let dateText = query["date"].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? ChinaCalendar.today()
        guard let date = Recurrence.day(dateText, zone: Recurrence.tenantZone) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "date must be a date like 2026-11-23", field: "date")
        }
        let scope = try CalendarWindow.scope(query["scope"].map(String.init))
        let origin = CalendarAPI.origin(request)
        return try await web.page(request, context, form: form, current: "/app/calendar") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            var link: String?
            if feedToken != nil {
                link = origin + CalendarFeed.path(try await CalendarFeed.create(for: page.actor.user.id, on: db.connection, logger: db.logger))
            }
            let (days, month) = Self.days(view: view, date: date)
            let calendar = Recurrence.calendar(Recurrence.tenantZone)
            let range = days[0]..<calendar.date(byAdding: .day, value: 1, to: days[days.count - 1])!
            let window = try await CalendarWindow.load(range, scope: scope, store: store)
            let feed = try await CalendarFeed.summary(for: page.actor.user.id, on: db.connection, logger: db.logger)
            var values = Self.values(view: view, date: date, days: days, month: month, scope: scope, window: window, page: page, web: web)
            values["feed_active"] = feed != nil
            values["feed_created"] = feed.map { DisplayFormat.dateTime($0.createdAt) } ?? ""
            values["feed_link"] = link ?? ""
            return web.render("activities_calendar", page, values)
        }
    }

    /// For an unchanged occurrence of a series: the new-event form filled in as an exception
    /// of it (times as the forms show them, UTC to the minute).
    static func editOccurrenceLink(_ item: CalendarWindow.Item) -> String? {
        guard item.kind == .event, let series = item.seriesID, item.record.values["series_id"] == nil, let at = item.occurrenceStart else { return nil }
        func minute(_ date: Date) -> String { String((EventTime.stamp(date).stringValue ?? "").prefix(16)) }
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "series_id", value: series.uuidString.lowercased()), URLQueryItem(name: "occurrence_start", value: minute(at)),
                            URLQueryItem(name: "subject", value: item.title), URLQueryItem(name: "starts_at", value: minute(item.start)),
                            URLQueryItem(name: "ends_at", value: minute(item.end))]
        return "/app/event/new?" + (query.percentEncodedQuery ?? "")
    }

    static func values(view: View, date: Date, days: [Date], month: Int, scope: CalendarWindow.Scope, window: CalendarWindow,
                       page: WebApp.Page, web: WebApp) -> [String: Any] {
        let lang = page.locale
        let zone = Recurrence.tenantZone
        let calendar = Recurrence.calendar(zone)
        let today = ChinaCalendar.today()
        let time = DateFormatter()
        time.locale = Locale(identifier: "en_US_POSIX")
        time.timeZone = zone
        time.dateFormat = "HH:mm"
        let weekdayNames = (0..<7).map { web.t("activities.calendar.weekday_\($0)", lang) }
        let dayRows: [[String: Any]] = days.map { day in
            let next = calendar.date(byAdding: .day, value: 1, to: day)!
            let text = Recurrence.dayText(day, zone: zone)
            let items: [[String: Any]] = window.items.filter { $0.start < next && ($0.end > day || $0.start >= day) }.map { item in
                let startsToday = item.start >= day
                return ["title": item.title, "href": item.href, "kind": item.kind.rawValue,
                        "time": item.allDay ? web.t("activities.calendar.all_day", lang) : (startsToday ? time.string(from: item.start) : "…"),
                        "location": item.record.string("location") ?? "", "recurring": item.seriesID != nil,
                        "owner": item.record.ownerID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                        "done": item.record.string("status") == "done", "edit_one": Self.editOccurrenceLink(item) ?? ""]
            }
            return ["date": text, "day": calendar.component(.day, from: day), "weekday": weekdayNames[Recurrence.weekday(day, zone: zone)],
                    "today": text == today, "outside": view == .month && calendar.component(.month, from: day) != month,
                    "items": items, "empty": items.isEmpty, "href": "/app/calendar?view=day&date=\(text)&scope=\(scope.rawValue)"]
        }
        let step: (Calendar.Component, Int) = view == .day ? (.day, 1) : view == .week ? (.day, 7) : (.month, 1)
        func link(_ view: View, _ date: Date, _ scope: CalendarWindow.Scope) -> String {
            "/app/calendar?view=\(view.rawValue)&date=\(Recurrence.dayText(date, zone: zone))&scope=\(scope.rawValue)"
        }
        let title: String
        switch view {
        case .day: title = Recurrence.dayText(date, zone: zone) + " " + weekdayNames[Recurrence.weekday(date, zone: zone)]
        case .week: title = Recurrence.dayText(days[0], zone: zone) + " – " + Recurrence.dayText(days[6], zone: zone)
        case .month: title = String(Recurrence.dayText(date, zone: zone).prefix(7))
        }
        return [
            "title": web.t("activities.calendar.title", lang),
            "heading": title,
            "view": view.rawValue,
            "is_grid": view != .day,
            "days": dayRows,
            "weekdays": weekdayNames,
            "count": window.items.count,
            "empty": window.items.isEmpty,
            "prev": link(view, calendar.date(byAdding: step.0, value: -step.1, to: date)!, scope),
            "next": link(view, calendar.date(byAdding: step.0, value: step.1, to: date)!, scope),
            "today_link": link(view, Recurrence.day(today, zone: zone) ?? date, scope),
            "views": View.allCases.map { ["label": web.t("activities.calendar.view_\($0.rawValue)", lang), "href": link($0, date, scope), "current": $0 == view] },
            "scopes": [CalendarWindow.Scope.mine, .team].map { ["label": web.t("activities.calendar.scope_\($0.rawValue)", lang), "href": link(view, date, $0),
                                                                 "current": $0 == scope, "key": $0.rawValue] },
            "can_create": page.entities["event"].map { page.actor.access.scope($0, .create) > .none } ?? false,
        ]
    }
}

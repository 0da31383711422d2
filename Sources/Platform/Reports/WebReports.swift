import Foundation
import Hummingbird

/// The report builder's pages (issue 21):
///
///     GET  /app/reports                      my reports and the shared ones; pick an object to start one
///     GET  /app/reports/new?entity=          the form for that object (groupings, bucket, measure, sort, top N, chart)
///     POST /app/reports                      save → the report's page
///     GET  /app/reports/{id}                 chart (SVG) and table; each group links to its records; CSV/Excel
///     POST /app/reports/{id}/delete          owner or administrator
struct WebReports: Sendable {
    let app: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/reports", use: index)
        router.get("app/reports/new", use: newForm)
        router.post("app/reports", use: create)
        router.get("app/reports/:id", use: show)
        router.post("app/reports/:id/delete", use: delete)
        router.post("app/reports/:id/pin", use: pin)
        router.get("app/reports/ready/:key", use: showReady)
        router.post("app/reports/ready/:key", use: copyReady)
    }

    /// A module's ready-made report the caller may read, by key (404 otherwise).
    static func ready(_ key: String, app: WebApp, page: WebApp.Page, db: PostgresConnectionBox) async throws -> ModuleReport {
        let offered = try await Reports.ready(catalog: app.services.catalog, as: page.actor, definitions: page.entities, on: db.connection, logger: db.logger)
        guard let report = offered.first(where: { $0.report.key == key })?.report else {
            throw AtriumError(status: .notFound, code: "report_not_found", message: "no ready-made report '\(key)'")
        }
        return report
    }

    @Sendable func showReady(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = context.parameters.get("key") ?? ""
        let app = self.app
        let engine = app.engine
        return try await app.page(request, context, current: "reports") { page, db in
            let ready = try await Self.ready(key, app: app, page: page, db: db)
            guard let definition = ready.definition else { throw AtriumError(status: .notFound, code: "report_not_found", message: "no ready-made report '\(key)'") }
            let report = SavedReport(id: UUID(), ownerID: page.actor.user.id, name: ready.name(locale: page.locale), definition: definition, shared: false, updatedAt: Date())
            let result = try await Reports.run(definition, engine: engine, locale: page.locale, as: page.actor, on: db.connection, logger: db.logger)
            return Self.reportPage(app, page, report: report, result: result, ready: key, pinned: false)
        }
    }

    @Sendable func copyReady(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = context.parameters.get("key") ?? ""
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let app = self.app
        let engine = app.engine
        let saved = try await app.page(request, context, form: form) { page, db in
            let ready = try await Self.ready(key, app: app, page: page, db: db)
            guard let definition = ready.definition else { throw AtriumError(status: .notFound, code: "report_not_found", message: "no ready-made report '\(key)'") }
            return try await Reports.create(name: ready.name(locale: page.locale), definition: definition, shared: false, engine: engine,
                                            as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/reports/\(saved.id.uuidString.lowercased())")
    }

    /// `pin=1` puts the report on the caller's home page, `pin=0` takes it off.
    @Sendable func pin(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try ReportRoutes.reportID(context)
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        try await app.page(request, context, form: form) { page, db in
            try await Reports.pin(id, form["pin"] == "1", as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect(form["pin"] == "1" ? "/" : "/app/reports/\(id.uuidString.lowercased())")
    }

    struct Values: @unchecked Sendable { let values: [String: Any] }

    @Sendable func index(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let app = self.app
        return try await app.page(request, context, current: "reports") { page, db in
            let lang = page.locale
            let reports = try await Reports.list(as: page.actor, on: db.connection, logger: db.logger)
            let ready = try await Reports.ready(catalog: app.services.catalog, as: page.actor, definitions: page.entities, on: db.connection, logger: db.logger)
            let names = page.format.names
            return app.render("reports", page, [
                "title": app.t("reports.title", lang),
                "reports": reports.map { report -> [String: Any] in
                    ["id": report.id.uuidString.lowercased(), "name": report.name, "shared": report.shared,
                     "entity": page.entities[report.definition.entity].map { app.label($0, lang) } ?? report.definition.entity,
                     "owner": names[report.ownerID.uuidString.lowercased()] ?? ""]
                },
                "has_reports": !reports.isEmpty,
                "ready": ready.map { item -> [String: Any] in
                    let entity = item.report.definition.map(\.entity) ?? ""
                    return ["key": item.report.key, "name": item.report.name(locale: lang), "entity": page.entities[entity].map { app.label($0, lang) } ?? entity]
                },
                "has_ready": !ready.isEmpty,
                "entities": Self.entityOptions(page, app: app, selected: nil),
            ])
        }
    }

    static func entityOptions(_ page: WebApp.Page, app: WebApp, selected: String?) -> [[String: Any]] {
        page.entities.values.sorted { app.label($0, page.locale) < app.label($1, page.locale) }.map {
            ["key": $0.key, "label": app.label($0, page.locale), "selected": $0.key == selected]
        }
    }

    @Sendable func newForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let entity = request.uri.queryParameters["entity"].map(String.init) ?? ""
        return try await form(request, context, entity: entity, input: [:], problem: nil)
    }

    /// The form for `entity`, filled with `input` (after a refused save), `problem` above it.
    func form(_ request: Request, _ context: AtriumContext, entity key: String, input: [String: String], problem: String?,
              status: HTTPResponse.Status = .ok) async throws -> Response {
        let app = self.app
        return try await app.page(request, context, current: "reports") { page, _ in
            let entity = try WebApp.entity(key, in: page)
            let lang = page.locale
            func option(_ value: String, _ label: String, _ name: String) -> [String: Any] {
                ["value": value, "label": label, "selected": input[name] == value]
            }
            let system = ["owner_id", "department_id", "created_at", "updated_at"]
            let groupable = entity.activeFields.filter { ![.longText, .multiPicklist].contains($0.type) }
            func groups(_ name: String) -> [[String: Any]] {
                groupable.map { option($0.key, app.label($0, lang), name) }
                    + system.map { option($0, Reports.fieldLabel($0, entity: entity, locale: lang), name) }
            }
            let numeric = entity.activeFields.filter { [.number, .money, .percent].contains($0.type) }
            return app.render("report_form", page, status: status, [
                "title": app.t("reports.new_title", lang, ["entity": app.label(entity, lang)]),
                "entity": ["key": key, "label": app.label(entity, lang)],
                "problem": problem ?? "",
                "name": input["name"] ?? "",
                "groups1": groups("group1"), "groups2": groups("group2"),
                "buckets1": RecordAggregate.Bucket.allCases.map { option($0.rawValue, app.t("reports.bucket_\($0.rawValue)", lang), "bucket1") },
                "buckets2": RecordAggregate.Bucket.allCases.map { option($0.rawValue, app.t("reports.bucket_\($0.rawValue)", lang), "bucket2") },
                "functions": ReportDefinition.Measure.Function.allCases.map { option($0.rawValue, app.t("reports.fn_\($0.rawValue)", lang), "fn") },
                "numeric": numeric.map { option($0.key, app.label($0, lang), "measure_field") },
                "charts": ReportDefinition.Chart.allCases.map { option($0.rawValue, app.t("reports.chart_\($0.rawValue)", lang), "chart") },
                "sort_value": input["sort"] == "-value", "limit": input["limit"] ?? "", "shared": input["shared"] == "1",
            ])
        }
    }

    /// The definition a submitted form describes (checked again by ``ReportDefinition/init(json:)``).
    static func definition(_ form: [String: String]) throws -> ReportDefinition {
        var groups: [JSONValue] = []
        for index in 1...2 {
            guard let field = form["group\(index)"], !field.isEmpty else { continue }
            var group: [String: JSONValue] = ["field": .string(field)]
            if let bucket = form["bucket\(index)"], !bucket.isEmpty { group["bucket"] = .string(bucket) }
            groups.append(.object(group))
        }
        var measure: [String: JSONValue] = ["fn": .string(form["fn"] ?? "count")]
        if let field = form["measure_field"], !field.isEmpty, form["fn"] != "count" { measure["field"] = .string(field) }
        var object: [String: JSONValue] = [
            "entity": .string(form["entity"] ?? ""), "group_by": .array(groups), "measures": .array([.object(measure)]),
            "sort": .string(form["sort"] == "-value" ? "-value" : "key"), "chart": .string(form["chart"] ?? "bar"),
        ]
        if let limit = form["limit"]?.trimmingCharacters(in: .whitespaces), !limit.isEmpty {
            guard let count = Int(limit) else { throw AtriumError.validation(field: "limit", "must be a whole number") }
            object["limit"] = .number(Decimal(count))
        }
        return try ReportDefinition(json: .object(object))
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        let entity = form["entity"] ?? ""
        let engine = app.engine
        do {
            let definition = try Self.definition(form)
            let report = try await app.page(request, context, form: form) { page, db in
                try await Reports.create(name: form["name"] ?? "", definition: definition, shared: form["shared"] == "1", engine: engine,
                                         as: page.actor, on: db.connection, logger: db.logger)
            }
            return WebApp.redirect("/app/reports/\(report.id.uuidString.lowercased())")
        } catch let error as AtriumError where error.status.code == 422 || error.status.code == 400 {
            let message = error.field.map { "\($0): \(error.message)" } ?? error.message
            return try await self.form(request, context, entity: entity, input: form, problem: message, status: .unprocessableContent)
        }
    }

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try ReportRoutes.reportID(context)
        let app = self.app
        let engine = app.engine
        return try await app.page(request, context, current: "reports") { page, db in
            let lang = page.locale
            let report = try await Reports.get(id, as: page.actor, on: db.connection, logger: db.logger)
            let result = try await Reports.run(report.definition, engine: engine, locale: lang, as: page.actor, on: db.connection, logger: db.logger)
            let key = report.definition.entity
            let rows: [[String: Any]] = result.rows.map { row in
                ["labels": row.labels.map { ["text": $0] }, "values": row.values.enumerated().map { ["text": Self.text(result, $1, $0)] },
                 "href": Self.listLink(key, filter: row.filter)]
            }
            let pinned = try await Reports.pinned(as: page.actor, on: db.connection, logger: db.logger).contains { $0.id == id }
            return Self.reportPage(app, page, report: report, result: result, ready: nil, pinned: pinned)
        }
    }

    /// The page of a saved report, or of a ready-made one (`ready` its key: no pin, export or
    /// delete, but "save a copy").
    static func reportPage(_ app: WebApp, _ page: WebApp.Page, report: SavedReport, result: ReportResult, ready: String?, pinned: Bool) -> Response {
        let lang = page.locale
        let key = report.definition.entity
        let id = report.id.uuidString.lowercased()
        let rows: [[String: Any]] = result.rows.map { row in
            ["labels": row.labels.map { ["text": $0] }, "values": row.values.enumerated().map { ["text": text(result, $1, $0)] },
             "href": listLink(key, filter: row.filter)]
        }
        return app.render("report", page, [
            "title": report.name,
            "report": ["id": id, "name": report.name, "shared": report.shared],
            "entity": ["key": key, "label": page.entities[key].map { app.label($0, lang) } ?? key],
            "chart": chart(report, result),
            "pinned": pinned,
            "saved": ready == nil,
            "ready_key": ready ?? "",
            "columns": (result.groupTitles + result.measureTitles).map { ["text": $0] },
            "rows": rows, "has_rows": !rows.isEmpty,
            "totals": result.totals.enumerated().map { ["text": $1 == nil ? "" : text(result, $1, $0)] },
            "total_pad": Array(repeating: ["text": ""], count: max(0, result.groupTitles.count - 1)),
            "export_csv": "/api/v1/reports/\(id)/export?format=csv&lang=\(lang)",
            "export_xlsx": "/api/v1/reports/\(id)/export?format=xlsx&lang=\(lang)",
            "may_change": ready == nil && (report.ownerID == page.actor.user.id || page.actor.user.isAdmin),
        ])
    }

    /// A figure as the page shows it: `¥1,234.50` for money, `1,234.5` for numbers, `—` for none.
    static func text(_ result: ReportResult, _ value: Decimal?, _ index: Int) -> String {
        guard let plain = result.text(value, measure: index) else { return "—" }
        return result.scales[index] == nil ? DisplayFormat.grouped(plain, scale: nil) : DisplayFormat.money(plain, currency: "CNY")
    }

    /// The report's chart of its first measure, each mark linking to its records.
    static func chart(_ report: SavedReport, _ result: ReportResult) -> String {
        let key = report.definition.entity
        let points = result.rows.map { row in
            ReportChart.Point(label: row.labels.joined(separator: " · "), value: row.values.first.flatMap { $0 } ?? 0,
                              text: text(result, row.values.first ?? nil, 0), href: listLink(key, filter: row.filter))
        }
        let title = "\(report.name): \(result.measureTitles.first ?? "") / \(result.groupTitles.joined(separator: " · "))"
        // A table-only report still gets bars on the home page, where there is no table.
        return ReportChart.svg(report.definition.chart == .table ? .bar : report.definition.chart, points: points, title: title)
    }

    /// The home page's dashboard: each report the user pinned, run as them, with its chart (or
    /// why it cannot be shown — a field removed since, say — without failing the page).
    static func dashboard(_ app: WebApp, _ request: Request, _ context: AtriumContext) async throws -> [[String: Any]] {
        let engine = app.engine
        let box = try await app.page(request, context) { page, db in
            var widgets: [[String: Any]] = []
            var shown = try await Reports.pinned(as: page.actor, on: db.connection, logger: db.logger).map { ($0, "/app/reports/\($0.id.uuidString.lowercased())") }
            if shown.isEmpty {
                // Nothing pinned yet: the ready-made reports of the user's roles (the default dashboard).
                let ready = try await Reports.ready(catalog: app.services.catalog, as: page.actor, definitions: page.entities, on: db.connection, logger: db.logger)
                shown = ready.filter(\.mine).prefix(Reports.maxPins).compactMap { item in
                    item.report.definition.map { (SavedReport(id: UUID(), ownerID: page.actor.user.id, name: item.report.name(locale: page.locale),
                                                              definition: $0, shared: false, updatedAt: Date()), "/app/reports/ready/\(item.report.key)") }
                }
            }
            for (report, href) in shown {
                var widget: [String: Any] = ["href": href, "name": report.name]
                do {
                    let result = try await Reports.run(report.definition, engine: engine, locale: page.locale, as: page.actor,
                                                       on: db.connection, logger: db.logger)
                    widget["chart"] = chart(report, result)
                    widget["empty"] = result.rows.isEmpty
                    if let total = result.totals.first ?? nil { widget["total"] = text(result, total, 0) }
                } catch let error as AtriumError where error.status.code < 500 {
                    widget["problem"] = error.message
                }
                widgets.append(widget)
            }
            return Values(values: ["widgets": widgets])
        }
        return box.values["widgets"] as? [[String: Any]] ?? []
    }

    /// `/app/{entity}?f0=…&op0=…&v0=…` of a drill-down filter (one leaf, or an `and` of leaves).
    static func listLink(_ entity: String, filter: JSONValue) -> String {
        let leaves = filter["and"]?.arrayValue ?? [filter]
        var items: [String] = []
        for (index, leaf) in leaves.prefix(5).enumerated() {
            let value: String
            switch leaf["value"] {
            case .bool(let flag)?: value = flag ? "true" : "false"
            case let other?: value = other.stringValue ?? other.jsonText
            case nil: value = ""
            }
            items.append("f\(index)=\(WebApp.escapeQuery(leaf["field"]?.stringValue ?? ""))&op\(index)=\(WebApp.escapeQuery(leaf["op"]?.stringValue ?? "eq"))&v\(index)=\(WebApp.escapeQuery(value))")
        }
        return "/app/\(entity)?" + items.joined(separator: "&")
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try ReportRoutes.reportID(context)
        let form = FormBody.single(try await FormBody.parsePairs(request, limit: WebApp.formLimit))
        try await app.page(request, context, form: form) { page, db in
            try await Reports.delete(id, as: page.actor, on: db.connection, logger: db.logger)
        }
        return WebApp.redirect("/app/reports")
    }
}

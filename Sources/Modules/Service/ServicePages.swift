import Foundation
import HTTPTypes
import Hummingbird
import Platform

/// Web pages of the service module: the agent's queue page (my cases, my queues' unassigned
/// cases with a "take" button), the take and survey-link posts behind the case page's
/// buttons, and the analysis page with its SVG bars.
struct ServicePages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/service/queue", use: queuePage)
        router.post("app/service/cases/:id/take", use: take)
        router.post("app/service/cases/:id/survey-link", use: surveyLink)
        router.get("app/service/analysis", use: analysisPage)
    }

    static func rows(_ records: [Record], page: WebApp.Page) -> [[String: Any]] {
        let entity = page.entities["service_case"]
        func shown(_ record: Record, _ key: String) -> String {
            guard let field = entity?.field(key), let value = record.values[key] else { return "" }
            return page.format.text(value, field: field)
        }
        return records.map { record in
            ["id": record.idText, "href": "/app/service_case/\(record.idText)", "number": record.string("number") ?? "",
             "subject": record.string("subject") ?? "", "priority": shown(record, "priority"), "status": shown(record, "status"),
             "sla": shown(record, "sla_status"), "sla_key": record.string("sla_status") ?? "", "due": shown(record, "resolution_due_at"),
             "owner": record.ownerID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? ""]
        }
    }

    @Sendable func queuePage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/service/queue") { page, db in
            let store = store(page, db)
            try await ServiceModule.requireEnabled(store)
            let desk = try await ServiceDesk.load(store: store)
            return web.render("service_queue", page, [
                "title": web.t("service.queue.title", page.locale),
                "mine": Self.rows(desk.mine, page: page), "mine_empty": desk.mine.isEmpty,
                "unassigned": Self.rows(desk.unassigned, page: page), "unassigned_empty": desk.unassigned.isEmpty,
                "mine_more": desk.mineTotal > desk.mine.count ? web.t("service.queue.more", page.locale, ["shown": "\(desk.mine.count)", "total": "\(desk.mineTotal)"]) : "",
                "unassigned_more": desk.unassignedTotal > desk.unassigned.count
                    ? web.t("service.queue.more", page.locale, ["shown": "\(desk.unassigned.count)", "total": "\(desk.unassignedTotal)"]) : "",
                "queues": desk.queues.map { $0.string("name") ?? "" }.joined(separator: "、"),
                "no_queues": desk.queues.isEmpty,
                "notice": request.uri.queryParameters["notice"].map { web.t("service.notices.\($0)", page.locale) } ?? "",
            ])
        }
    }

    @Sendable func take(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form, current: "/app/service/queue") { page, db in
            let store = store(page, db)
            try await ServiceModule.requireEnabled(store)
            do {
                _ = try await ServiceDesk.take(id, store: store)
            } catch let error as AtriumError where [.unprocessableContent, .conflict].contains(error.status) {
                return WebApp.redirect("/app/service/queue?notice=take_failed")
            }
            return WebApp.redirect("/app/service_case/\(id.uuidString.lowercased())?notice=case_taken")
        }
    }

    @Sendable func surveyLink(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await web.page(request, context, form: form, current: "service_case") { page, db in
            let store = store(page, db)
            try await ServiceModule.requireEnabled(store)
            let record = try await store.get("service_case", id)
            let (_, link) = try await ServiceDesk.surveyLink(id, store: store)
            return web.render("service_survey_link", page, [
                "title": web.t("service.survey.link_title", page.locale), "link": link,
                "case_href": "/app/service_case/\(record.idText)", "case_title": record.string("subject") ?? record.idText,
            ])
        }
    }

    @Sendable func analysisPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/service/analysis") { page, db in
            let store = store(page, db)
            try await ServiceModule.requireEnabled(store)
            let report = try await ServiceAnalysis.load(store: store)
            let lang = page.locale
            let agents = report.agents.filter { !$0.owner.isEmpty }
            func percent(_ value: Decimal?) -> String {
                value.map { ServiceAnalysis.text(ServiceAnalysis.round($0 * 100, 1)) + " %" } ?? "—"
            }
            let satisfaction = Charts.bars(agents.filter { $0.satisfaction != nil }.map {
                (label: $0.name, value: $0.satisfaction ?? 0, text: ServiceAnalysis.text($0.satisfaction ?? 0))
            })
            let complaints = Charts.bars(agents.map {
                (label: $0.name, value: ($0.complaintRate ?? 0) * 100, text: percent($0.complaintRate))
            })
            let priorities = page.entities["service_case"]?.field("priority")
            let open = Charts.bars(report.open.map { row in
                (label: priorities.map { page.format.text(.string(row.priority), field: $0) } ?? row.priority, value: Decimal(row.count), text: "\(row.count)")
            })
            return web.render("service_analysis", page, [
                "title": web.t("service.analysis.title", lang),
                "satisfaction_chart": satisfaction, "complaint_chart": complaints, "open_chart": open,
                "agents": agents.map { agent -> [String: Any] in
                    ["name": agent.name, "cases": agent.cases, "complaints": agent.complaints, "complaint_rate": percent(agent.complaintRate),
                     "surveys": agent.surveys, "satisfaction": agent.satisfaction.map(ServiceAnalysis.text) ?? "—",
                     "resolved": agent.resolved, "sla": percent(agent.slaCompliance)]
                },
                "empty": agents.isEmpty,
            ])
        }
    }
}

/// The customer's survey page, `/survey/{token}` on the tenant's address: no sign-in; the
/// form is protected by the token in its address and a double-submit CSRF cookie (as the
/// sign-in form); one answer per link.
struct SurveyPages: Sendable {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("survey/:token", use: show)
        router.post("survey/:token", use: answer)
    }

    func locale(_ request: Request) -> String {
        Localizer.choose(userLocale: nil, cookie: request.cookies["atrium_lang"]?.value, acceptLanguage: request.headers[.acceptLanguage])
    }

    func render(_ request: Request, tenant: TenantInfo, status: HTTPResponse.Status = .ok, _ values: [String: Any]) -> Response {
        var headers = HTTPFields()
        let csrf: String
        if let existing = request.cookies[CSRF.cookie]?.value, existing.count >= 32 {
            csrf = existing
        } else {
            csrf = SecureToken.generate()
            var cookie = "\(CSRF.cookie)=\(csrf); Path=/; HttpOnly; SameSite=Lax"
            if web.services.configuration.secureCookies { cookie += "; Secure" }
            headers.append(HTTPField(name: .setCookie, value: cookie))
        }
        var values = values
        values["csrf"] = csrf
        values["tenant"] = ["name": tenant.name]
        values["title"] = web.t("service.survey.title", locale(request))
        return web.services.renderer.html("service_survey", locale: locale(request), status: status, headers: headers, values)
    }

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let token = context.parameters.get("token") ?? ""
        let found = try await web.services.database.withTenant(tenant.id, logger: context.logger) { connection in
            try await Surveys.find(token: token, on: connection, logger: context.logger)
        }
        guard let found else { return render(request, tenant: tenant, status: .notFound, ["invalid": true]) }
        if found.answeredAt != nil { return render(request, tenant: tenant, ["answered": true]) }
        return render(request, tenant: tenant, ["open": true, "action": "/survey/\(token)", "scores": Self.scores(chosen: nil)])
    }

    static func scores(chosen: String?) -> [[String: Any]] {
        (1...5).map { ["value": "\($0)", "checked": chosen == "\($0)"] }
    }

    @Sendable func answer(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let token = context.parameters.get("token") ?? ""
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        var anonymous = context
        anonymous.identity = nil
        try CSRF.verify(request, context: anonymous, form: form)
        let engine = web.engine
        do {
            _ = try await web.services.database.withTenant(tenant.id, logger: context.logger) { connection in
                try await Surveys.answer(token: token, score: form["score"], comment: form["comment"], engine: engine, on: connection, logger: context.logger)
            }
        } catch let error as AtriumError where error.status == .notFound {
            return render(request, tenant: tenant, status: .notFound, ["invalid": true])
        } catch let error as AtriumError where error.status == .conflict {
            return render(request, tenant: tenant, status: .conflict, ["answered": true])
        } catch let error as AtriumError where error.status == .unprocessableContent {
            return render(request, tenant: tenant, status: .unprocessableContent, [
                "open": true, "action": "/survey/\(token)", "scores": Self.scores(chosen: form["score"]), "comment": form["comment"] ?? "",
                "error": web.message(error, locale: locale(request), label: nil), "error_field": error.field ?? "",
            ])
        }
        return render(request, tenant: tenant, ["thanks": true])
    }
}

import Foundation
import Hummingbird
import Platform

/// Web pages of the marketing module in the shared shell: a campaign's results with SVG
/// charts, adding members from a segment, a mailing (send, test send, each recipient's
/// status), a segment's preview, a plan against its actual costs, win/loss against
/// competitors. Each reads and writes through the engine as the signed-in user.
struct MarketingPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/marketing/campaigns/:id/results", use: results)
        router.get("app/marketing/campaigns/:id/add-members", use: addMembersForm)
        router.post("app/marketing/campaigns/:id/add-members", use: addMembers)
        router.get("app/marketing/mailings/:id", use: mailing)
        router.post("app/marketing/mailings/:id/send", use: send)
        router.post("app/marketing/mailings/:id/test", use: testSend)
        router.get("app/marketing/segments/:id/preview", use: preview)
        router.get("app/marketing/plans/:id", use: plan)
        router.get("app/marketing/competitors", use: competitors)
        router.get("app/marketing/forms/:id/open", use: openForm)
    }

    func money(_ value: Decimal) -> String { DisplayFormat.money(Money.text(value), currency: "CNY") }

    func label(_ options: [PicklistOption], _ value: String, _ locale: String) -> String {
        options.first { $0.value == value }.map { DisplayFormat.label($0.labels, locale: locale, fallback: value) } ?? value
    }

    @Sendable func results(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "campaign") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            let result = try await CampaignResults.load(id, store: store)
            let lang = page.locale
            let funnel: [(label: String, count: Int, amount: String)] = [
                (web.t("marketing.results.members", lang), result.members, ""),
                (web.t("marketing.results.responses", lang), result.responses, ""),
                (web.t("marketing.results.leads", lang), result.leads, ""),
                (web.t("marketing.results.opportunities", lang), result.opportunities, ""),
                (web.t("marketing.results.won", lang), result.wonOpportunities, money(result.wonAmount)),
            ]
            let bars: [(label: String, value: Decimal, text: String)] = [
                (web.t("marketing.results.budget", lang), result.budget, Money.text(result.budget, scale: 0)),
                (web.t("marketing.results.actual_cost", lang), result.actualCost, Money.text(result.actualCost, scale: 0)),
                (web.t("marketing.results.expected_revenue", lang), result.expectedRevenue, Money.text(result.expectedRevenue, scale: 0)),
                (web.t("marketing.results.won_amount", lang), result.wonAmount, Money.text(result.wonAmount, scale: 0)),
            ]
            return web.render("marketing_results", page, [
                "title": web.t("marketing.results.title", lang, ["name": result.campaign.string("name") ?? ""]),
                "campaign": ["id": result.campaign.idText, "name": result.campaign.string("name") ?? ""],
                "figures": [
                    ["key": "members", "label": web.t("marketing.results.members", lang), "value": "\(result.members)"],
                    ["key": "mailed", "label": web.t("marketing.results.mailed", lang), "value": "\(result.mailed)"],
                    ["key": "responses", "label": web.t("marketing.results.responses", lang), "value": "\(result.responses)"],
                    ["key": "leads", "label": web.t("marketing.results.leads", lang), "value": "\(result.leads)"],
                    ["key": "opportunities", "label": web.t("marketing.results.opportunities", lang), "value": "\(result.opportunities)"],
                    ["key": "won_amount", "label": web.t("marketing.results.won_amount", lang), "value": money(result.wonAmount)],
                    ["key": "actual_cost", "label": web.t("marketing.results.actual_cost", lang), "value": money(result.actualCost)],
                    ["key": "cost_per_lead", "label": web.t("marketing.results.cost_per_lead", lang), "value": result.costPerLead.map(money) ?? "—"],
                    ["key": "roi", "label": web.t("marketing.results.roi", lang), "value": result.roiPercent.map { Money.text($0) + " %" } ?? "—"],
                ],
                "statuses": result.membersByStatus.map { ["label": label(MarketingEntities.memberStatuses, $0.status, lang), "count": $0.count] },
                "has_statuses": !result.membersByStatus.isEmpty, "funnel": Charts.funnel(funnel), "money": Charts.bars(bars),
                "json": "/api/v1/marketing/campaigns/\(result.campaign.idText)/results",
            ])
        }
    }

    func addMembersValues(_ campaign: Record, _ segments: [Record], _ page: WebApp.Page, error: String? = nil) -> [String: Any] {
        var values: [String: Any] = [
            "title": web.t("marketing.actions.add_members", page.locale),
            "campaign": ["id": campaign.idText, "name": campaign.string("name") ?? ""],
            "segments": segments.map { ["id": $0.idText, "name": $0.string("name") ?? "", "target": label(MarketingEntities.segmentTargets, $0.string("target") ?? "", page.locale)] },
            "none": segments.isEmpty,
        ]
        if let error { values["error"] = error }
        return values
    }

    @Sendable func addMembersForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "campaign") { page, db in
            let store = store(page, db)
            let campaign = try await store.get("campaign", id)
            return web.render("marketing_add_members", page, addMembersValues(campaign, try await store.all("segment", sort: "name"), page))
        }
    }

    @Sendable func addMembers(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        return try await web.page(request, context, form: form, current: "campaign") { page, db in
            let store = store(page, db)
            do {
                _ = try await MarketingAPI.addFromSegment(campaign: id, segment: form["segment"], store: store)
            } catch let error as AtriumError where error.status == .unprocessableContent {
                let campaign = try await store.get("campaign", id)
                return web.render("marketing_add_members", page, status: error.status,
                                  addMembersValues(campaign, try await store.all("segment", sort: "name"), page, error: web.message(error, locale: page.locale, label: nil)))
            }
            return WebApp.redirect("/app/campaign/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    @Sendable func mailing(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "mass_mail") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            let mailing = try await store.get("mass_mail", id)
            let recipients = try await MassMailing.recipients(of: id, on: db.connection, logger: db.logger)
            var counts: [String: Int] = [:]
            for recipient in recipients { counts[recipient.status, default: 0] += 1 }
            let lang = page.locale
            return web.render("marketing_mailing", page, [
                "title": mailing.string("name") ?? "", "id": mailing.idText, "sent": mailing.string("status") == "sent",
                "sent_at": mailing.string("sent_at").map { DisplayFormat.dateTime($0) } ?? "",
                "counts": counts.sorted { $0.key < $1.key }.map { ["status": $0.key, "label": web.t("marketing.mailing.status.\($0.key)", lang), "count": $0.value] },
                "recipients": recipients.prefix(500).map { ["email": $0.email, "name": $0.name, "status": $0.status,
                                                           "label": web.t("marketing.mailing.status.\($0.status)", lang), "error": $0.error ?? ""] },
                "more": recipients.count > 500, "total": recipients.count,
            ])
        }
    }

    @Sendable func send(_ request: Request, context: AtriumContext) async throws -> Response {
        try await mailingAction(request, context) { id, base, store in _ = try await MassMailing.send(id, base: base, store: store) }
    }

    @Sendable func testSend(_ request: Request, context: AtriumContext) async throws -> Response {
        try await mailingAction(request, context) { id, base, store in _ = try await MassMailing.testSend(id, base: base, store: store) }
    }

    /// A CSRF-checked POST on a mailing's page that runs `action`, then shows the page again.
    func mailingAction(_ request: Request, _ context: AtriumContext,
                       _ action: @escaping @Sendable (UUID, String, ModuleStore) async throws -> Void) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        let base = MarketingAPI.base(web, context)
        return try await web.page(request, context, form: form, current: "mass_mail") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            try await action(id, base, store)
            return WebApp.redirect("/app/marketing/mailings/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    @Sendable func preview(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "segment") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            let segment = try await store.get("segment", id)
            let people = try await Segments.people(segment, store: store)
            return web.render("marketing_preview", page, [
                "title": segment.string("name") ?? "", "id": segment.idText, "count": people.count,
                "with_email": people.filter { !($0.email ?? "").isEmpty }.count,
                "people": people.prefix(50).map { ["name": $0.name, "email": $0.email ?? "", "company": $0.company ?? "",
                                                  "link": $0.contactID.map { "/app/contact/\($0)" } ?? $0.leadID.map { "/app/lead/\($0)" } ?? ""] },
            ])
        }
    }

    @Sendable func plan(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "marketing_plan") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            let (plan, rows) = try await PlanActuals.load(id, store: store)
            let lang = page.locale
            var chart: [(label: String, value: Decimal, text: String)] = []
            for row in rows {
                let name = label(MarketingEntities.campaignTypes, row.type, lang)
                chart.append(("\(name) · \(web.t("marketing.plan.budget", lang))", row.budget, Money.text(row.budget, scale: 0)))
                chart.append(("\(name) · \(web.t("marketing.plan.actual", lang))", row.actual, Money.text(row.actual, scale: 0)))
            }
            return web.render("marketing_plan", page, [
                "title": plan.string("name") ?? "", "id": plan.idText,
                "rows": rows.map { ["type": label(MarketingEntities.campaignTypes, $0.type, lang), "budget": money($0.budget), "actual": money($0.actual),
                                    "remaining": money($0.budget - $0.actual), "over": $0.actual > $0.budget, "campaigns": $0.campaigns] },
                "chart": Charts.bars(chart), "empty": rows.isEmpty,
                "budget": money(rows.reduce(0) { $0 + $1.budget }), "actual": money(rows.reduce(0) { $0 + $1.actual }),
            ])
        }
    }

    @Sendable func competitors(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/marketing/competitors") { page, db in
            let store = store(page, db)
            try await MarketingModule.requireEnabled(store)
            let rows = try await CompetitorReport.load(store: store)
            return web.render("marketing_competitors", page, [
                "title": web.t("marketing.nav.competitors", page.locale),
                "rows": rows.map { ["id": $0.competitor.idText, "name": $0.competitor.string("name") ?? "", "won": $0.won, "lost": $0.lost, "open": $0.open,
                                    "won_amount": money($0.wonAmount), "lost_amount": money($0.lostAmount),
                                    "rate": $0.winRate.map { Money.text($0, scale: 0) + " %" } ?? "—"] },
                "chart": Charts.bars(rows.filter { $0.won + $0.lost > 0 }.map { ($0.competitor.string("name") ?? "", $0.winRate ?? 0, Money.text($0.winRate ?? 0, scale: 0) + " %") }),
                "empty": rows.isEmpty,
            ])
        }
    }

    /// The public address of a web form (`/f/{tenant}/{key}`), for the administrator to copy.
    @Sendable func openForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let slug = try context.requireTenant().slug
        let key = try await run(request, context) { store in try await store.get("web_form", id).string("form_key") ?? "" }
        return WebApp.redirect("/f/\(slug)/\(key)")
    }
}

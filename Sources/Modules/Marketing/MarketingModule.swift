import Foundation
import Hummingbird
import Platform

/// The marketing module (市场): campaigns with their costs, members and responses that become
/// leads, plans with budgets per campaign type, segments, mass e-mail with unsubscribe,
/// web-to-lead forms and competitors. Entities on the shared record engine, rules as hooks;
/// its routes call the engine as the signed-in user (the public form and unsubscribe link
/// act in the tenant of the host, as the form's owner or on the token's row only).
public enum MarketingModule {
    public static let manifest = ModuleManifest(
        id: "marketing", version: "0.2.0", names: ["en": "Marketing", "zh-CN": "市场"], depends: ["sales"],
        entities: MarketingEntities.all, hooks: MarketingRules.hooks, routes: MarketingRoutes(), setUp: nil,
        pages: [ModulePage(path: "/app/marketing/competitors", labelKey: "marketing.nav.competitors", requires: "competitive_deal"),
                ModulePage(path: "/app/campaign?f0=status&op0=eq&v0=active", labelKey: "marketing.nav.active_campaigns", requires: "campaign")],
        actions: [ModuleAction(entity: "campaign", labelKey: "marketing.actions.results", path: "/app/marketing/campaigns/{id}/results", right: .read),
                  ModuleAction(entity: "campaign", labelKey: "marketing.actions.add_members", path: "/app/marketing/campaigns/{id}/add-members"),
                  ModuleAction(entity: "mass_mail", labelKey: "marketing.actions.mailing", path: "/app/marketing/mailings/{id}", right: .read),
                  ModuleAction(entity: "segment", labelKey: "marketing.actions.preview", path: "/app/marketing/segments/{id}/preview", right: .read),
                  ModuleAction(entity: "marketing_plan", labelKey: "marketing.actions.plan_actuals", path: "/app/marketing/plans/{id}", right: .read),
                  ModuleAction(entity: "web_form", labelKey: "marketing.actions.open_form", path: "/app/marketing/forms/{id}/open", right: .read)],
        defaultGrants: defaultGrants, migrations: MassMailing.migrations, demoData: MarketingDemoData.seed, layouts: MarketingLayouts.all)

    /// Marketing is run by the director's team and managers (their department tree);
    /// salespeople and read-only roles read it (they see where their leads came from).
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "sales_director": DefaultRoles.working(.all),
        "sales_manager": DefaultRoles.working(.departmentTree),
        "salesperson": DefaultRoles.rights([(.read, .all)]),
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]

    /// Whether the tenant of the request has the module; its routes answer 404 otherwise.
    static func requireEnabled(_ store: ModuleStore) async throws {
        guard try await TenantModules.enabled(on: store.connection, logger: store.logger).contains(manifest.id) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "the marketing module is not enabled for this company")
        }
    }
}

enum MarketingLayouts {
    static func section(_ en: String, _ zh: String, columns: Int = 2, _ fields: [String]) -> LayoutSection {
        LayoutSection(titles: ["en": en, "zh-CN": zh], columns: columns, fields: fields)
    }

    static let all: [ModuleLayout] = [
        ModuleLayout(entity: "campaign", sections: [
            section("Campaign", "活动", ["number", "name", "campaign_type", "status", "start_date", "end_date", "location", "parent", "plan"]),
            section("Budget and results", "预算与成本", ["budget", "planned_cost", "actual_cost", "expected_revenue"]),
            section("Audience and content", "受众与内容", columns: 1, ["audience", "content"]),
        ]),
        ModuleLayout(entity: "marketing_plan", sections: [
            section("Plan", "计划", ["name", "starts_on", "ends_on", "total_budget"]),
            section("Goals", "目标", columns: 1, ["goals"]),
        ]),
        ModuleLayout(entity: "campaign_response", sections: [
            section("Response", "响应", ["campaign", "kind", "member", "contact", "lead", "merged"]),
            section("Person", "联系人信息", ["name", "company", "title", "email", "phone"]),
            section("Notes", "备注", columns: 1, ["notes"]),
        ]),
        ModuleLayout(entity: "competitor", sections: [
            section("Competitor", "竞争对手", ["name", "price_level", "website"]),
            section("Strengths and weaknesses", "优劣势", columns: 1, ["strengths", "weaknesses"]),
        ]),
    ]
}

/// JSON API of the module (campaigns, members, responses … are records: `/api/v1/campaign`, …):
///
///     GET  /api/v1/marketing/campaigns/{id}/results               leads, opportunities, won amount, cost per lead, ROI
///     POST /api/v1/marketing/campaigns/{id}/members/from-segment  {"segment": id} → {"added", "already"}
///     GET  /api/v1/marketing/segments/{id}/preview                {"count", "with_email", "sample"}
///     POST /api/v1/marketing/mailings/{id}/send                   → {"queued", "suppressed", "without_email"}
///     POST /api/v1/marketing/mailings/{id}/test                   a copy to the caller
///     GET  /api/v1/marketing/mailings/{id}/recipients             each recipient's status
///     GET  /api/v1/marketing/plans/{id}/actuals                   budget vs actual cost per campaign type
///     GET  /api/v1/marketing/competitors/report                   win/loss per competitor
///     GET|POST /api/v1/marketing/suppressions                     the tenant's suppression list; {"email"}
struct MarketingRoutes: ModuleRoutes {
    func register(on router: RouterGroup<AtriumContext>, web: WebApp) {
        let api = MarketingAPI(web: web)
        router.get("api/v1/marketing/campaigns/:id/results", use: api.results)
        router.post("api/v1/marketing/campaigns/:id/members/from-segment", use: api.addFromSegment)
        router.get("api/v1/marketing/segments/:id/preview", use: api.preview)
        router.post("api/v1/marketing/mailings/:id/send", use: api.send)
        router.post("api/v1/marketing/mailings/:id/test", use: api.testSend)
        router.get("api/v1/marketing/mailings/:id/recipients", use: api.recipients)
        router.get("api/v1/marketing/plans/:id/actuals", use: api.planActuals)
        router.get("api/v1/marketing/competitors/report", use: api.competitors)
        router.get("api/v1/marketing/suppressions", use: api.suppressions)
        router.post("api/v1/marketing/suppressions", use: api.addSuppression)
        MarketingPages(web: web).register(on: router)
        MarketingPublicRoutes(web: web).register(on: router)
    }
}

struct MarketingAPI: ModuleHandlers {
    let web: WebApp

    /// The tenant's public address for links in mail (`ATRIUM_PUBLIC_URL`, `{tenant}` → slug).
    static func base(_ web: WebApp, _ context: AtriumContext) -> String {
        web.services.configuration.publicURL.replacingOccurrences(of: "{tenant}", with: context.tenant?.slug ?? "")
    }

    /// Adds the segment's people to the campaign (those not yet members); returns (added, already).
    static func addFromSegment(campaign id: UUID, segment segmentID: String?, store: ModuleStore) async throws -> (Int, Int) {
        let campaign = try await store.get("campaign", id)
        guard let segment = try await store.get("segment", segmentID) else {
            throw AtriumError.validation(field: "segment", "must be a segment you can read")
        }
        let people = try await Segments.people(segment, store: store)
        let members = try await Segments.scan("campaign_member", filter: Segments.anyOf("campaign", [campaign.idText]), store: store)
        var known = Set(members.compactMap { $0.string("contact") ?? $0.string("lead") })
        var added = 0
        for person in people {
            guard let (field, key) = person.contactID.map({ ("contact", $0) }) ?? person.leadID.map({ ("lead", $0) }), known.insert(key).inserted else { continue }
            _ = try await store.create("campaign_member", ["campaign": .string(campaign.idText), field: .string(key)])
            added += 1
        }
        return (added, people.count - added)
    }

    static func preview(_ id: UUID, store: ModuleStore) async throws -> JSONValue {
        let segment = try await store.get("segment", id)
        let people = try await Segments.people(segment, store: store)
        return .object(["count": .number(Decimal(people.count)),
                        "with_email": .number(Decimal(people.filter { !($0.email ?? "").isEmpty }.count)),
                        "sample": .array(people.prefix(20).map { person in
                            .object(["name": .string(person.name), "email": person.email.map(JSONValue.string) ?? .null,
                                     "company": person.company.map(JSONValue.string) ?? .null,
                                     "contact": person.contactID.map(JSONValue.string) ?? .null, "lead": person.leadID.map(JSONValue.string) ?? .null])
                        })])
    }

    @Sendable func results(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            try await MarketingModule.requireEnabled(store)
            return RecordRoutes.json(try await CampaignResults.load(id, store: store).json)
        }
    }

    @Sendable func addFromSegment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let body = try await RecordRoutes.object(request)
        return try await run(request, context, write: true) { store in
            try await MarketingModule.requireEnabled(store)
            let (added, already) = try await Self.addFromSegment(campaign: id, segment: body["segment"]?.stringValue, store: store)
            return RecordRoutes.json(.object(["added": .number(Decimal(added)), "already": .number(Decimal(already))]))
        }
    }

    @Sendable func preview(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            try await MarketingModule.requireEnabled(store)
            return RecordRoutes.json(try await Self.preview(id, store: store))
        }
    }

    @Sendable func send(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let base = Self.base(web, context)
        return try await run(request, context, write: true) { store in
            try await MarketingModule.requireEnabled(store)
            let outcome = try await MassMailing.send(id, base: base, store: store)
            return RecordRoutes.json(.object(["queued": .number(Decimal(outcome.queued)), "suppressed": .number(Decimal(outcome.suppressed)),
                                              "without_email": .number(Decimal(outcome.withoutEmail)), "mailing": outcome.mailing.json]))
        }
    }

    @Sendable func testSend(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let base = Self.base(web, context)
        return try await run(request, context, write: true) { store in
            try await MarketingModule.requireEnabled(store)
            let outbox = try await MassMailing.testSend(id, base: base, store: store)
            return RecordRoutes.json(.object(["queued": .number(1), "outbox_id": .string(outbox.uuidString.lowercased()),
                                              "to": .string(store.actor.user.email)]), status: .created)
        }
    }

    @Sendable func recipients(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            try await MarketingModule.requireEnabled(store)
            _ = try await store.get("mass_mail", id)  // the caller may read the mailing
            let recipients = try await MassMailing.recipients(of: id, on: store.connection, logger: store.logger)
            var counts: [String: Int] = [:]
            for recipient in recipients { counts[recipient.status, default: 0] += 1 }
            return RecordRoutes.json(.object(["recipients": .array(recipients.map(\.json)),
                                              "counts": .object(counts.mapValues { .number(Decimal($0)) })]))
        }
    }

    @Sendable func planActuals(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return try await run(request, context) { store in
            try await MarketingModule.requireEnabled(store)
            let (plan, rows) = try await PlanActuals.load(id, store: store)
            return RecordRoutes.json(PlanActuals.json(plan, rows))
        }
    }

    @Sendable func competitors(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await MarketingModule.requireEnabled(store)
            return RecordRoutes.json(CompetitorReport.json(try await CompetitorReport.load(store: store)))
        }
    }

    /// Who may read mailings may see and add to the suppression list (the engine decides who
    /// reads `mass_mail`; a role without it gets its 404).
    static func requireMailings(_ store: ModuleStore, write: Bool) async throws {
        try await MarketingModule.requireEnabled(store)
        _ = try await store.engine.list("mass_mail", query: RecordQuery(limit: 1), action: write ? .create : .read, as: store.actor,
                                        on: store.connection, logger: store.logger)
    }

    @Sendable func suppressions(_ request: Request, context: AtriumContext) async throws -> Response {
        try await run(request, context) { store in
            try await Self.requireMailings(store, write: false)
            var rows: [JSONValue] = []
            for try await (email, reason, created) in try await store.connection.query("""
                SELECT email, reason, created_at FROM marketing_suppressions ORDER BY created_at DESC, email LIMIT 1000
                """, logger: store.logger).decode((String, String, Date).self) {
                rows.append(.object(["email": .string(email), "reason": .string(reason), "created_at": .string(created.formatted(.iso8601))]))
            }
            return RecordRoutes.json(.object(["suppressions": .array(rows)]))
        }
    }

    @Sendable func addSuppression(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        guard let email = body["email"]?.stringValue.flatMap(UserInputRules.normalisedEmail) else {
            throw AtriumError.validation(field: "email", "must be an email address like name@example.com")
        }
        return try await run(request, context, write: true) { store in
            try await Self.requireMailings(store, write: true)
            try await MassMailing.suppress(email, reason: "manual", campaign: nil, on: store.connection, logger: store.logger)
            return RecordRoutes.json(.object(["email": .string(email), "reason": .string("manual")]), status: .created)
        }
    }
}

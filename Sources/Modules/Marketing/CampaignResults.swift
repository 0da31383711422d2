import Foundation
import Platform

/// What a campaign brought (活动效果): leads whose campaign is this one (the first campaign that
/// touched them: a response never moves a lead to a later campaign), opportunities of this
/// campaign or converted from those leads, the amount of the won ones, cost per lead and
/// ROI = (won − actual cost) / actual cost, in exact decimal arithmetic. Read as the caller:
/// a salesperson's figures are those of the leads and deals their scope reaches.
struct CampaignResults: Sendable {
    let campaign: Record
    let members: Int
    /// Members some mailing of the campaign was queued for.
    let mailed: Int
    let membersByStatus: [(status: String, count: Int)]
    let responses: Int
    let leads: Int
    let opportunities: Int
    let wonOpportunities: Int
    let wonAmount: Decimal
    let pipelineAmount: Decimal
    let actualCost: Decimal
    let budget: Decimal
    let expectedRevenue: Decimal

    /// Actual cost per lead, to the cent (nil without leads).
    var costPerLead: Decimal? { leads > 0 ? Money.round(actualCost / Decimal(leads)) : nil }
    /// (won − cost) / cost to four places (nil without cost).
    var roi: Decimal? { actualCost > 0 ? Money.round((wonAmount - actualCost) / actualCost, scale: 4) : nil }
    var roiPercent: Decimal? { actualCost > 0 ? Money.round((wonAmount - actualCost) * 100 / actualCost) : nil }

    static func load(_ id: UUID, store: ModuleStore) async throws -> CampaignResults {
        let campaign = try await store.get("campaign", id)
        let key = campaign.idText
        let members = try await store.aggregate("campaign_member", RecordAggregate(groups: [.field("status")], filter: ModuleStore.eq("campaign", key)))
        let order = MemberPerson.order
        let byStatus = members.map { (status: $0.keys[0] ?? "planned", count: $0.count) }
            .sorted { (order.firstIndex(of: $0.status) ?? 99) < (order.firstIndex(of: $1.status) ?? 99) }
        let responses = try await store.aggregate("campaign_response", RecordAggregate(groups: [.field("campaign")], filter: ModuleStore.eq("campaign", key)))
        let leads = try await Segments.scan("lead", filter: Segments.anyOf("campaign", [key]), store: store)
        var opportunities = try await Segments.scan("opportunity", filter: Segments.anyOf("campaign", [key]), store: store)
        let direct = Set(opportunities.map(\.id))
        let converted = try await Segments.byChunks(leads.map(\.idText)) { ids in
            try await store.all("opportunity", filter: ModuleStore.op("lead", "in", .array(ids.map(JSONValue.string))))
        }
        opportunities += converted.filter { !direct.contains($0.id) && ($0.string("campaign") == nil) }
        let stages = try await store.derived.all("sales_stage")
        let kinds = Dictionary(stages.map { ($0.idText, $0.string("kind") ?? "open") }, uniquingKeysWith: { a, _ in a })
        let won = opportunities.filter { kinds[$0.string("stage") ?? ""] == "won" }
        let open = opportunities.filter { kinds[$0.string("stage") ?? ""] == "open" }
        let mailed = try await MassMailing.mailedMembers(campaign: campaign.id, on: store.connection, logger: store.logger)
        return CampaignResults(campaign: campaign, members: members.reduce(0) { $0 + $1.count }, mailed: mailed, membersByStatus: byStatus,
                               responses: responses.reduce(0) { $0 + $1.count }, leads: leads.count, opportunities: opportunities.count,
                               wonOpportunities: won.count, wonAmount: won.reduce(0) { $0 + $1.money("amount") },
                               pipelineAmount: open.reduce(0) { $0 + $1.money("amount") }, actualCost: campaign.money("actual_cost"),
                               budget: campaign.money("budget"), expectedRevenue: campaign.money("expected_revenue"))
    }

    var json: JSONValue {
        func money(_ value: Decimal) -> JSONValue { .string(Money.text(value)) }
        return .object([
            "campaign": .object(["id": .string(campaign.idText), "name": campaign.values["name"] ?? .null, "status": campaign.values["status"] ?? .null]),
            "members": .number(Decimal(members)),
            "mailed": .number(Decimal(mailed)),
            "members_by_status": .object(Dictionary(membersByStatus.map { ($0.status, JSONValue.number(Decimal($0.count))) }, uniquingKeysWith: { a, _ in a })),
            "responses": .number(Decimal(responses)),
            "leads": .number(Decimal(leads)),
            "opportunities": .number(Decimal(opportunities)),
            "won_opportunities": .number(Decimal(wonOpportunities)),
            "won_amount": money(wonAmount),
            "open_pipeline": money(pipelineAmount),
            "budget": money(budget),
            "actual_cost": money(actualCost),
            "expected_revenue": money(expectedRevenue),
            "cost_per_lead": costPerLead.map(money) ?? .null,
            "roi": roi.map { .string(Money.text($0, scale: 4)) } ?? .null,
            "roi_percent": roiPercent.map(money) ?? .null,
        ])
    }
}

/// A marketing plan against what its campaigns cost (计划与实际): the budget line of each
/// campaign type beside the actual cost of the plan's campaigns of that type.
enum PlanActuals {
    struct Row: Sendable {
        let type: String
        let budget: Decimal
        let actual: Decimal
        let campaigns: Int
    }

    static func load(_ id: UUID, store: ModuleStore) async throws -> (plan: Record, rows: [Row]) {
        let plan = try await store.get("marketing_plan", id)
        let budgets = try await store.all("marketing_plan_budget", filter: ModuleStore.eq("plan", plan.idText))
        let campaigns = try await store.all("campaign", filter: ModuleStore.eq("plan", plan.idText))
        var rows: [String: Row] = [:]
        for line in budgets {
            let type = line.string("campaign_type") ?? "other"
            rows[type] = Row(type: type, budget: (rows[type]?.budget ?? 0) + line.money("budget"), actual: 0, campaigns: 0)
        }
        for campaign in campaigns where campaign.string("status") != "cancelled" || campaign.money("actual_cost") > 0 {
            let type = campaign.string("campaign_type") ?? "other"
            let row = rows[type]
            rows[type] = Row(type: type, budget: row?.budget ?? 0, actual: (row?.actual ?? 0) + campaign.money("actual_cost"), campaigns: (row?.campaigns ?? 0) + 1)
        }
        let order = MarketingEntities.campaignTypes.map(\.value)
        return (plan, rows.values.sorted { (order.firstIndex(of: $0.type) ?? 99) < (order.firstIndex(of: $1.type) ?? 99) })
    }

    static func json(_ plan: Record, _ rows: [Row]) -> JSONValue {
        let budget = rows.reduce(Decimal(0)) { $0 + $1.budget }, actual = rows.reduce(Decimal(0)) { $0 + $1.actual }
        return .object([
            "plan": .object(["id": .string(plan.idText), "name": plan.values["name"] ?? .null, "starts_on": plan.values["starts_on"] ?? .null,
                             "ends_on": plan.values["ends_on"] ?? .null]),
            "types": .array(rows.map { row in
                .object(["campaign_type": .string(row.type), "budget": .string(Money.text(row.budget)), "actual": .string(Money.text(row.actual)),
                         "remaining": .string(Money.text(row.budget - row.actual)), "campaigns": .number(Decimal(row.campaigns))])
            }),
            "budget": .string(Money.text(budget)), "actual": .string(Money.text(actual)), "remaining": .string(Money.text(budget - actual)),
        ])
    }
}

/// Win/loss against each competitor (竞争分析): the competitive deals' opportunities by their
/// stage now — won, lost or open — with amounts; read as the caller.
enum CompetitorReport {
    struct Row: Sendable {
        let competitor: Record
        var won = 0, lost = 0, open = 0
        var wonAmount: Decimal = 0, lostAmount: Decimal = 0
        var winRate: Decimal? { won + lost > 0 ? Money.round(Decimal(won) * 100 / Decimal(won + lost)) : nil }
    }

    static func load(store: ModuleStore) async throws -> [Row] {
        let competitors = try await store.all("competitor", sort: "name")
        let deals = try await store.all("competitive_deal")
        let opportunityIDs = Array(Set(deals.compactMap { $0.string("opportunity") }))
        let opportunities = try await Segments.byChunks(opportunityIDs) { ids in
            try await store.all("opportunity", filter: ModuleStore.op("id", "in", .array(ids.map(JSONValue.string))))
        }
        let byID = Dictionary(opportunities.map { ($0.idText, $0) }, uniquingKeysWith: { a, _ in a })
        let kinds = Dictionary(try await store.derived.all("sales_stage").map { ($0.idText, $0.string("kind") ?? "open") }, uniquingKeysWith: { a, _ in a })
        var rows = Dictionary(competitors.map { ($0.idText, Row(competitor: $0)) }, uniquingKeysWith: { a, _ in a })
        var counted = Set<String>()
        for deal in deals {
            guard let competitor = deal.string("competitor"), let opportunity = deal.string("opportunity").flatMap({ byID[$0] }),
                  counted.insert("\(competitor)/\(opportunity.idText)").inserted, var row = rows[competitor] else { continue }
            switch kinds[opportunity.string("stage") ?? ""] {
            case "won": row.won += 1; row.wonAmount += opportunity.money("amount")
            case "lost": row.lost += 1; row.lostAmount += opportunity.money("amount")
            default: row.open += 1
            }
            rows[competitor] = row
        }
        return competitors.compactMap { rows[$0.idText] }
    }

    static func json(_ rows: [Row]) -> JSONValue {
        .object(["competitors": .array(rows.map { row in
            .object(["id": .string(row.competitor.idText), "name": row.competitor.values["name"] ?? .null,
                     "won": .number(Decimal(row.won)), "lost": .number(Decimal(row.lost)), "open": .number(Decimal(row.open)),
                     "won_amount": .string(Money.text(row.wonAmount)), "lost_amount": .string(Money.text(row.lostAmount)),
                     "win_rate_percent": row.winRate.map { .string(Money.text($0)) } ?? .null])
        })])
    }
}

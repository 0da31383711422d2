import Foundation
import Platform

/// Service analysis per agent (the case's owner), under the caller's scope like every report:
/// cases, complaints and the complaint rate (complaints ÷ cases), answered surveys and the
/// average satisfaction (sum of scores ÷ answers), resolved cases and SLA compliance (resolved
/// without a breach ÷ resolved). Ratios are exact decimals rounded half up at the end (rate
/// and compliance to 4 places, the average score to 2), never floating point.
enum ServiceAnalysis {
    struct Agent: Sendable, Equatable {
        let owner: String
        var name: String
        var cases = 0
        var complaints = 0
        var surveys = 0
        var scoreSum: Decimal = 0
        var resolved = 0
        var resolvedOnTime = 0

        var complaintRate: Decimal? { cases > 0 ? ServiceAnalysis.round(Decimal(complaints) / Decimal(cases), 4) : nil }
        var satisfaction: Decimal? { surveys > 0 ? ServiceAnalysis.round(scoreSum / Decimal(surveys), 2) : nil }
        var slaCompliance: Decimal? { resolved > 0 ? ServiceAnalysis.round(Decimal(resolvedOnTime) / Decimal(resolved), 4) : nil }
    }

    struct Report: Sendable {
        let agents: [Agent]
        let open: [(priority: String, count: Int)]

        var json: JSONValue {
            func text(_ value: Decimal?) -> JSONValue { value.map { .string(ServiceAnalysis.text($0)) } ?? .null }
            return .object([
                "agents": .array(agents.map { agent in
                    .object(["owner_id": .string(agent.owner), "name": .string(agent.name), "cases": .number(Decimal(agent.cases)),
                             "complaints": .number(Decimal(agent.complaints)), "complaint_rate": text(agent.complaintRate),
                             "surveys": .number(Decimal(agent.surveys)), "satisfaction": text(agent.satisfaction),
                             "resolved": .number(Decimal(agent.resolved)), "sla_compliance": text(agent.slaCompliance)])
                }),
                "open_by_priority": .array(open.map { .object(["priority": .string($0.priority), "count": .number(Decimal($0.count))]) }),
            ])
        }
    }

    static func round(_ value: Decimal, _ scale: Int) -> Decimal {
        var input = value, output = Decimal()
        NSDecimalRound(&output, &input, scale, .plain)
        return output
    }

    static func text(_ value: Decimal) -> String { NSDecimalNumber(decimal: value).description(withLocale: Locale(identifier: "en_US_POSIX")) }

    static func load(store: ModuleStore) async throws -> Report {
        let names = try await store.organisationNames().people
        var agents: [String: Agent] = [:]
        func agent(_ key: String?) -> String {
            let owner = key ?? ""
            if agents[owner] == nil { agents[owner] = Agent(owner: owner, name: names[owner] ?? owner) }
            return owner
        }
        for row in try await store.aggregate("service_case", RecordAggregate(groups: [.owner, .field("case_type")])) {
            let key = agent(row.keys[0])
            agents[key]!.cases += row.count
            if row.keys[1] == "complaint" { agents[key]!.complaints += row.count }
        }
        for row in try await store.aggregate("service_case", RecordAggregate(groups: [.owner], sums: ["satisfaction"],
                                                                             filter: ModuleStore.op("satisfaction", "is_empty", .bool(false)))) {
            let key = agent(row.keys[0])
            agents[key]!.surveys += row.count
            agents[key]!.scoreSum += row.sums.first ?? 0
        }
        for row in try await store.aggregate("service_case", RecordAggregate(groups: [.owner, .field("sla_status")],
                                                                             filter: ModuleStore.op("status", "in", .array([.string("resolved"), .string("closed")])))) {
            let key = agent(row.keys[0])
            agents[key]!.resolved += row.count
            if row.keys[1] != "breached" { agents[key]!.resolvedOnTime += row.count }
        }
        let open = try await store.aggregate("service_case", RecordAggregate(groups: [.field("priority")], filter: ModuleStore.op(
            "status", "in", .array(ServiceEntities.openStatuses.map(JSONValue.string)))))
        let order = ["urgent", "high", "normal", "low"]
        return Report(agents: agents.values.sorted { ($0.name, $0.owner) < ($1.name, $1.owner) },
                      open: open.map { ($0.keys[0] ?? "", $0.count) }.sorted { (order.firstIndex(of: $0.0) ?? 9) < (order.firstIndex(of: $1.0) ?? 9) })
    }
}

import Foundation
import Platform

/// Sales analysis computed through the engine's aggregate (the caller's scope applies: a
/// salesperson's funnel is her own pipeline, a manager's is the department's).
enum SalesReports {
    struct FunnelRow: Sendable {
        let stage: SalesPipeline.Stage
        let count: Int
        let amount: Decimal
        let weighted: Decimal
    }

    static func funnel(store: ModuleStore) async throws -> [FunnelRow] {
        let stages = try await SalesPipeline.stages(store: store.derived)
        let rows = try await store.aggregate("opportunity", RecordAggregate(groups: [.field("stage")], sums: ["amount", "weighted_amount"]))
        let byStage = Dictionary(rows.map { ($0.keys[0] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        return stages.map { stage in
            let row = byStage[stage.id]
            return FunnelRow(stage: stage, count: row?.count ?? 0, amount: row?.sums[0] ?? 0, weighted: row?.sums[1] ?? 0)
        }
    }

    struct ForecastRow: Sendable {
        let month: String
        let count: Int
        let amount: Decimal
        let weighted: Decimal
    }

    /// Open pipeline by expected close month (weighted = amount × stage probability).
    static func forecast(store: ModuleStore) async throws -> [ForecastRow] {
        let open = try await SalesPipeline.stages(store: store.derived).filter { $0.kind == "open" }.map { JSONValue.string($0.id) }
        guard !open.isEmpty else { return [] }
        let rows = try await store.aggregate("opportunity", RecordAggregate(groups: [.month("close_date")], sums: ["amount", "weighted_amount"],
                                                                             filter: ModuleStore.op("stage", "in", .array(open))))
        return rows.map { ForecastRow(month: $0.keys[0] ?? "", count: $0.count, amount: $0.sums[0], weighted: $0.sums[1]) }
    }

    struct WinRow: Sendable {
        let owner: String
        let name: String
        let won: Int
        let lost: Int
        let open: Int
        var rate: Decimal? { won + lost == 0 ? nil : Money.round(Decimal(won) * 100 / Decimal(won + lost), scale: 1) }
    }

    static func winRates(store: ModuleStore, names: [String: String]) async throws -> [WinRow] {
        let kinds = Dictionary(try await SalesPipeline.stages(store: store.derived).map { ($0.id, $0.kind) }, uniquingKeysWith: { a, _ in a })
        let rows = try await store.aggregate("opportunity", RecordAggregate(groups: [.owner, .field("stage")]))
        var tally: [String: (Int, Int, Int)] = [:]
        for row in rows {
            let owner = row.keys[0] ?? ""
            var entry = tally[owner] ?? (0, 0, 0)
            switch kinds[row.keys[1] ?? ""] {
            case "won": entry.0 += row.count
            case "lost": entry.1 += row.count
            default: entry.2 += row.count
            }
            tally[owner] = entry
        }
        return tally.map { WinRow(owner: $0.key, name: names[$0.key] ?? $0.key, won: $0.value.0, lost: $0.value.1, open: $0.value.2) }
            .sorted { ($0.rate ?? -1, $0.name) > ($1.rate ?? -1, $1.name) }
    }

    struct DurationRow: Sendable {
        let stage: SalesPipeline.Stage
        let transitions: Int
        let averageDays: Decimal?
    }

    /// Average days an opportunity spent in each stage before moving on.
    static func stageDurations(store: ModuleStore) async throws -> [DurationRow] {
        let stages = try await SalesPipeline.stages(store: store.derived)
        let rows = try await store.aggregate("stage_change", RecordAggregate(groups: [.field("stage")], sums: ["days"],
                                                                              filter: ModuleStore.op("left_at", "is_empty", .bool(false))))
        let byStage = Dictionary(rows.map { ($0.keys[0] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        return stages.filter { $0.kind == "open" }.map { stage in
            let row = byStage[stage.id]
            let average = row.flatMap { $0.count > 0 ? Money.round($0.sums[0] / Decimal($0.count), scale: 1) : nil }
            return DurationRow(stage: stage, transitions: row?.count ?? 0, averageDays: average)
        }
    }

    /// First and last day of `2026-11` or `2026-Q4`.
    static func periodRange(_ period: String) -> (String, String)? {
        let parts = period.split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), (2000...2100).contains(year) else { return nil }
        let firstMonth: Int, lastMonth: Int
        if parts[1].hasPrefix("Q"), let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter) {
            firstMonth = quarter * 3 - 2
            lastMonth = quarter * 3
        } else if let month = Int(parts[1]), (1...12).contains(month), parts[1].count == 2 {
            firstMonth = month
            lastMonth = month
        } else {
            return nil
        }
        let days = [31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (String(format: "%04d-%02d-01", year, firstMonth), String(format: "%04d-%02d-%02d", year, lastMonth, days[lastMonth - 1]))
    }

    struct TargetRow: Sendable {
        let name: String
        let isDepartment: Bool
        let orderTarget: Decimal
        let ordered: Decimal
        let collectionTarget: Decimal
        let collected: Decimal
    }

    /// Targets of a period against orders (confirmed or later, minus returns, by order date)
    /// and receipts (by date received, counted for the order's salesperson).
    static func targets(period: String, store: ModuleStore, people: [OrganisationAdmin.Member], departments: [String: String]) async throws -> [TargetRow] {
        guard let (start, end) = periodRange(period) else {
            throw AtriumError.validation(field: "period", "must look like 2026-11 or 2026-Q4")
        }
        let range = JSONValue.array([.string(start), .string(end)])
        let orders = try await store.aggregate("sales_order", RecordAggregate(groups: [.owner, .field("kind")], sums: ["total"], filter: ModuleStore.and([
            ModuleStore.op("status", "in", .array(["confirmed", "delivered", "closed"].map(JSONValue.string))),
            ModuleStore.op("order_date", "between", range)])))
        var ordered: [String: Decimal] = [:]
        for row in orders {
            let sign: Decimal = row.keys[1] == "return" ? -1 : 1
            ordered[row.keys[0] ?? "", default: 0] += sign * row.sums[0]
        }
        let receipts = try await store.aggregate("receipt", RecordAggregate(groups: [.field("salesperson")], sums: ["amount"],
                                                                             filter: ModuleStore.op("received_on", "between", range)))
        let collected = Dictionary(receipts.map { ($0.keys[0] ?? "", $0.sums[0]) }, uniquingKeysWith: +)
        let names = Dictionary(people.map { ($0.id.uuidString.lowercased(), $0.displayName) }, uniquingKeysWith: { a, _ in a })
        var rows: [TargetRow] = []
        for target in try await store.all("sales_target", filter: ModuleStore.eq("period", period)) {
            let members: [String]
            let name: String
            if let user = target.string("user") {
                members = [user]
                name = names[user] ?? user
            } else {
                let department = target.string("department") ?? ""
                members = people.filter { $0.departmentID?.uuidString.lowercased() == department }.map { $0.id.uuidString.lowercased() }
                name = departments[department] ?? department
            }
            rows.append(TargetRow(name: name, isDepartment: target.string("user") == nil,
                                  orderTarget: target.money("order_target"), ordered: members.reduce(0) { $0 + (ordered[$1] ?? 0) },
                                  collectionTarget: target.money("collection_target"), collected: members.reduce(0) { $0 + (collected[$1] ?? 0) }))
        }
        return rows.sorted { ($0.isDepartment ? 0 : 1, $0.name) < ($1.isDepartment ? 0 : 1, $1.name) }
    }

    // MARK: Receivable ageing

    static let buckets = ["current", "d0_30", "d31_60", "d61_90", "d90_plus"]

    /// Bucket of an amount due on `due` as of `asOf` (both `YYYY-MM-DD`): not yet due, then by
    /// days overdue 0–30, 31–60, 61–90, over 90.
    static func bucket(due: String, asOf: String) -> String {
        guard let days = daysBetween(due, asOf) else { return "current" }
        switch days {
        case ..<0: return "current"
        case 0...30: return "d0_30"
        case 31...60: return "d31_60"
        case 61...90: return "d61_90"
        default: return "d90_plus"
        }
    }

    /// Days from `from` to `to` (negative when `to` is earlier).
    static func daysBetween(_ from: String, _ to: String) -> Int? {
        let formatter = DateFormatter()
        formatter.locale = Money.posix
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard let a = formatter.date(from: from), let b = formatter.date(from: to) else { return nil }
        return Int((b.timeIntervalSince(a) / 86_400).rounded())
    }

    struct Due: Sendable, Equatable {
        let due: String
        let amount: Decimal
    }

    /// What is still unpaid of each instalment: receipts pay the earliest instalments first;
    /// whatever the plan does not cover falls due on `fallbackDue`.
    static func unpaid(total: Decimal, received: Decimal, plan: [Due], fallbackDue: String) -> [Due] {
        var schedule = plan.sorted { $0.due < $1.due }
        let planned = schedule.reduce(Decimal(0)) { $0 + $1.amount }
        if planned < total { schedule.append(Due(due: fallbackDue, amount: total - planned)) }
        var paid = received
        var open: [Due] = []
        for item in schedule {
            let covered = min(paid, item.amount)
            paid -= covered
            if item.amount - covered > 0 { open.append(Due(due: item.due, amount: item.amount - covered)) }
        }
        return open
    }

    struct AgeingLine: Sendable {
        let order: Record
        let due: String
        let amount: Decimal
        let bucket: String
        let daysOverdue: Int
    }

    struct Ageing: Sendable {
        let asOf: String
        let totals: [String: Decimal]
        let lines: [AgeingLine]
    }

    static func ageing(asOf: String, store: ModuleStore) async throws -> Ageing {
        let orders = try await store.all("sales_order", filter: ModuleStore.op("outstanding", "gt", .string("0")), sort: "order_date")
        var plans: [String: [Due]] = [:]
        for chunk in stride(from: 0, to: orders.count, by: 100).map({ Array(orders[$0..<min($0 + 100, orders.count)]) }) {
            let ids = JSONValue.array(chunk.map { .string($0.idText) })
            for item in try await store.derived.all("payment_installment", filter: ModuleStore.op("sales_order", "in", ids)) {
                plans[item.string("sales_order") ?? "", default: []].append(Due(due: item.string("due_date") ?? "", amount: item.money("amount")))
            }
        }
        var totals = Dictionary(uniqueKeysWithValues: buckets.map { ($0, Decimal(0)) })
        var lines: [AgeingLine] = []
        for order in orders {
            let fallback = order.string("due_date") ?? order.string("order_date") ?? asOf
            for item in unpaid(total: order.money("total"), received: order.money("received"), plan: plans[order.idText] ?? [], fallbackDue: fallback) {
                let bucket = bucket(due: item.due, asOf: asOf)
                totals[bucket, default: 0] += item.amount
                lines.append(AgeingLine(order: order, due: item.due, amount: item.amount, bucket: bucket, daysOverdue: max(0, daysBetween(item.due, asOf) ?? 0)))
            }
        }
        return Ageing(asOf: asOf, totals: totals, lines: lines.sorted { ($0.due, $0.order.idText) < ($1.due, $1.order.idText) })
    }
}

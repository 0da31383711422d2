import Foundation
import Logging
import PostgresNIO

/// Date rules (“3 days before the contract ends”, “the day after the visit”): every few minutes
/// the scheduler looks, per tenant, for records whose watched date is `days_before` days from
/// today in China time, and runs the rule once per (rule, record, date) — the claim in
/// `automation_date_fired` makes a second run or a second app node skip what was done, and
/// moving the date arms the rule again. A day the server was down for is not caught up.
///
/// The rule's writes are its author's (with the rules' derived access), since no person's
/// request fired it.
public enum AutomationDates {
    public static let job = ScheduledJob(key: "platform.automation_dates", every: .seconds(300)) { run in
        try await fire(run)
    }

    public static func fire(_ run: TenantRun) async throws {
        let entities = try await run.engine.entities(on: run.connection, logger: run.logger)
        for entity in entities.values.sorted(by: { $0.key < $1.key }) {
            for rule in entity.automationRules where rule.active {
                guard case .date(let key, let daysBefore) = rule.trigger, let field = entity.field(key), field.active else { continue }
                let day = ChinaCalendar.day(of: run.now.addingTimeInterval(TimeInterval(daysBefore) * 86_400))
                let match: JSONValue = field.type == .date
                    ? .object(["field": .string(key), "op": .string("eq"), "value": .string(day)])
                    : .object(["field": .string(key), "op": .string("between"), "value": .array([.string("\(day)T00:00:00+08:00"), .string("\(day)T23:59:59+08:00")])])
                let filter: JSONValue = rule.condition.map { .object(["and": .array([match, $0])]) } ?? match
                guard let author = try await user(rule.createdBy, on: run.connection, logger: run.logger) else { continue }
                let actor = RecordEngine.Actor(user: author, access: .system)
                var after: String?
                while true {
                    let page = try await run.engine.list(entity.key, query: RecordQuery(filter: filter, sort: "created_at", limit: RecordQuery.maxLimit, after: after),
                                                         as: run.actor, on: run.connection, logger: run.logger)
                    try await claimAndRun(rule, day: day, records: page.records, entity: entity, actor: actor, run: run)
                    guard page.records.count == RecordQuery.maxLimit, let last = page.records.last else { break }
                    after = last.id.uuidString.lowercased()
                }
            }
        }
    }

    static func claimAndRun(_ rule: AutomationRule, day: String, records: [Record], entity: EntityDefinition, actor: RecordEngine.Actor,
                            run: TenantRun) async throws {
        guard !records.isEmpty else { return }
        var claimed: Set<UUID> = []
        for try await id in try await run.connection.query("""
            INSERT INTO automation_date_fired (tenant_id, rule_id, record_id, fired_for)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(rule.id), r, \(day)::date FROM unnest(\(records.map(\.id))::uuid[]) AS r
            ON CONFLICT DO NOTHING RETURNING record_id
            """, logger: run.logger).decode(UUID.self) {
            claimed.insert(id)
        }
        for record in records where claimed.contains(record.id) {
            var unconditional = rule
            unconditional.condition = nil  // the list's filter held it already
            try await Automation.run(unconditional, event: .date, record: record, entity: entity, actor: actor, engine: run.engine,
                                     on: run.connection, logger: run.logger)
        }
    }

    static func user(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> AuthenticatedUser? {
        for try await (id, email, name, locale, admin) in try await connection.query("""
            SELECT id, email, display_name, locale, is_admin FROM users WHERE id = \(id)
            """, logger: logger).decode((UUID, String, String, String, Bool).self) {
            return AuthenticatedUser(id: id, email: email, displayName: name, locale: locale, isAdmin: admin)
        }
        return nil
    }
}

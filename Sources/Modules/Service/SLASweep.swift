import Foundation
import Logging
import Platform
import PostgresNIO

/// The SLA sweep: every minute the scheduler takes, per tenant, the cases whose clock runs
/// (new, assigned, in progress), recomputes their SLA status at the run's time (the
/// scheduler's clock, which tests set) and writes it when it changed. A case that became at
/// risk warns its owner (`service.sla_warning`); a breach escalates (`service.sla_breached`) to
/// the owner's manager — the queue's supervisor when the owner has none — and tells the owner.
/// Each (case, warning or breach, due time) is sent once: `service_escalations_sent` (service
/// migration 1) claims it, so a second run or a second node never repeats it, and a due time
/// moved by a pause arms it again.
enum SLASweep {
    static let job = ScheduledJob(key: "service.sla_sweep", every: .seconds(60), module: "service") { run in
        try await ServiceClock.$override.withValue(run.now) {
            try await sweep(run)
        }
    }

    static let migration = Migration(version: 1, name: "service_escalations_sent", statements: [
        """
        CREATE TABLE service_escalations_sent (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            case_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('response_warning', 'resolution_warning', 'response_breach', 'resolution_breach')),
            due timestamptz NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, case_id, kind, due),
            FOREIGN KEY (tenant_id, case_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON service_escalations_sent TO {{app_role}}",
    ] + TenantTable.isolate("service_escalations_sent"))

    static let running = ["new", "assigned", "in_progress"]

    struct Alert: Sendable {
        let kind: String
        let record: Record
        let due: Date
    }

    /// What a case at `now` calls for: a breach of the first pending due time it missed, or a
    /// warning for the one at risk.
    static func alert(for record: Record, now: Date, hours: BusinessHours) -> Alert? {
        let status = CaseSLA.status(of: record, now: now, hours: hours)
        let responded = record.values["first_response_at"]?.stringValue != nil
        let response = responded ? nil : ServiceClock.date(record.values["response_due_at"])
        let resolution = ServiceClock.date(record.values["resolution_due_at"])
        switch status {
        case "breached":
            if let due = response, now > due { return Alert(kind: "response_breach", record: record, due: due) }
            if let due = resolution, now > due { return Alert(kind: "resolution_breach", record: record, due: due) }
            if responded, let first = ServiceClock.date(record.values["first_response_at"]),
               let due = ServiceClock.date(record.values["response_due_at"]), first > due {
                return nil  // answered late: the breach happened while someone was working on it, nothing to escalate now
            }
            return nil
        case "warning":
            if let due = response { return Alert(kind: "response_warning", record: record, due: due) }
            if let due = resolution { return Alert(kind: "resolution_warning", record: record, due: due) }
            return nil
        default:
            return nil
        }
    }

    static func sweep(_ run: TenantRun) async throws {
        let store = ModuleStore(engine: run.engine, actor: run.actor.derived, connection: run.connection, logger: run.logger)
        let hours = try await ServiceSettings.load(store).hours
        let filter = ModuleStore.op("status", "in", .array(running.map(JSONValue.string)))
        var alerts: [Alert] = []
        // Keyset pages in creation order: each page starts right after the last one's record,
        // however many cases there are (an offset would walk every earlier case again).
        var cursor: String?
        repeat {
            let page = try await run.engine.list("service_case", query: RecordQuery(filter: filter, sort: "created_at", limit: RecordQuery.maxLimit, after: cursor),
                                                 as: store.actor, on: run.connection, logger: run.logger)
            for record in page.records {
                let status = CaseSLA.status(of: record, now: run.now, hours: hours)
                if status != record.string("sla_status") {
                    do {
                        try await store.update(record, ["sla_status": .string(status)])
                    } catch let error as AtriumError where error.code == "version_conflict" {
                        // Changed since this page was read: its own write set the status; the next run looks again.
                    }
                }
                if let alert = alert(for: record, now: run.now, hours: hours) { alerts.append(alert) }
            }
            cursor = page.nextCursor
        } while cursor != nil
        guard !alerts.isEmpty else { return }
        var claimed: Set<String> = []
        for try await (kind, id) in try await run.connection.query("""
            INSERT INTO service_escalations_sent (tenant_id, case_id, kind, due)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, c, k, d
            FROM unnest(\(alerts.map(\.record.id))::uuid[], \(alerts.map(\.kind))::text[], \(alerts.map(\.due))::timestamptz[]) AS a (c, k, d)
            ON CONFLICT DO NOTHING
            RETURNING kind, case_id
            """, logger: run.logger).decode((String, UUID).self) {
            claimed.insert("\(kind)/\(id)")
        }
        let members = try await OrganisationAdmin().members(on: run.connection, logger: run.logger)
        let managers = Dictionary(members.map { ($0.id, $0.managerID) }, uniquingKeysWith: { a, _ in a })
        for alert in alerts where claimed.contains("\(alert.kind)/\(alert.record.id)") {
            guard let owner = alert.record.ownerID else { continue }
            let arguments = ["record": alert.record.string("subject") ?? "", "number": alert.record.string("number") ?? "",
                             "due": ServiceClock.stamp(alert.due).stringValue ?? ""]
            if alert.kind.hasSuffix("_warning") {
                try await Notifications.notify([owner], of: NotificationEvent(kind: "service.sla_warning", entity: "service_case", recordID: alert.record.id,
                                                                              arguments: arguments), on: run.connection, logger: run.logger)
                continue
            }
            var escalateTo: UUID? = managers[owner] ?? nil
            if escalateTo == nil, let queue = try await store.get("service_queue", alert.record.string("queue")) {
                escalateTo = queue.string("supervisor").flatMap(UUID.init(uuidString:))
            }
            let people = Array(Set([owner] + (escalateTo.map { [$0] } ?? [])))
            try await Notifications.notify(people, of: NotificationEvent(kind: "service.sla_breached", entity: "service_case", recordID: alert.record.id,
                                                                         arguments: arguments), on: run.connection, logger: run.logger)
        }
    }
}

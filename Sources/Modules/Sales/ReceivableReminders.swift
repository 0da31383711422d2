import Foundation
import Logging
import Platform
import PostgresNIO

/// Overdue receivables and contracts due for renewal reach their owners (issue 16's sales
/// events): every hour the scheduler takes, per tenant, the receivables past due (the ageing
/// report's lines as of the run's day in China time) and the contracts inside their renewal
/// notice, and notifies each record's owner once — `sales.receivable_overdue` per order and due
/// date, `sales.contract_renewal` per contract and end date (`sales_reminders_sent`, sales
/// migration 1). A later due date or a renewed contract's new end date is a new reminder.
enum ReceivableReminders {
    static let job = ScheduledJob(key: "sales.receivable_reminders", every: .seconds(3600), module: "sales") { run in
        try await remind(run)
    }

    static let migration = Migration(version: 1, name: "sales_reminders_sent", statements: [
        """
        CREATE TABLE sales_reminders_sent (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            kind text NOT NULL CHECK (kind IN ('receivable_overdue', 'contract_renewal')),
            record_id uuid NOT NULL,
            due text NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, kind, record_id, due),
            FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON sales_reminders_sent TO {{app_role}}",
    ] + TenantTable.isolate("sales_reminders_sent"))

    struct Reminder {
        let kind: String
        let record: Record
        let due: String
        let arguments: [String: String]
    }

    static func remind(_ run: TenantRun) async throws {
        let store = ModuleStore(engine: run.engine, actor: run.actor, connection: run.connection, logger: run.logger)
        let due = try await SalesReminders.load(asOf: ChinaCalendar.day(of: run.now), store: store)
        var reminders = due.overdue.map { line in
            Reminder(kind: "receivable_overdue", record: line.order, due: line.due, arguments: [
                "record": line.order.string("number") ?? "", "due": line.due,
                "amount": Money.text(line.amount), "days": "\(line.daysOverdue)",
            ])
        }
        reminders += due.contracts.map { contract in
            Reminder(kind: "contract_renewal", record: contract, due: contract.string("end_date") ?? "", arguments: [
                "record": contract.string("name") ?? contract.string("number") ?? "", "end": contract.string("end_date") ?? "",
            ])
        }
        guard !reminders.isEmpty else { return }
        var claimed: Set<String> = []
        for try await (kind, id, date) in try await run.connection.query("""
            INSERT INTO sales_reminders_sent (tenant_id, kind, record_id, due)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, k, r, d
            FROM unnest(\(reminders.map(\.kind))::text[], \(reminders.map(\.record.id))::uuid[], \(reminders.map(\.due))::text[]) AS s (k, r, d)
            ON CONFLICT DO NOTHING
            RETURNING kind, record_id, due
            """, logger: run.logger).decode((String, UUID, String).self) {
            claimed.insert("\(kind)/\(id)/\(date)")
        }
        for reminder in reminders where claimed.contains("\(reminder.kind)/\(reminder.record.id)/\(reminder.due)") {
            guard let owner = reminder.record.ownerID else { continue }
            try await Notifications.notify([owner], of: NotificationEvent(kind: "sales.\(reminder.kind)", entity: reminder.record.entity,
                                                                          recordID: reminder.record.id, arguments: reminder.arguments),
                                           on: run.connection, logger: run.logger)
        }
    }
}

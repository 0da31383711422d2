import Foundation
import Logging
import Platform
import PostgresNIO

/// Task reminders: every minute the scheduler looks, per tenant, for open tasks whose
/// `reminder_at` has come (within the last day) and tells the assignee (the owner when nobody is
/// assigned) with an in-app notification — and by e-mail when they want `activities.task_reminder`
/// mailed. Each (task, reminder time) is told once: `activity_reminders_sent` remembers it, so a
/// second node or a second run never repeats it, and moving the reminder arms it again.
/// Reminders missed by more than a day (the server was down) are dropped, not sent late.
enum TaskReminders {
    static let window: TimeInterval = 86_400

    static let job = ScheduledJob(key: "activities.task_reminders", every: .seconds(60), module: "activities") { run in
        try await remind(run)
    }

    static let migration = Migration(version: 3, name: "activity_reminders_sent", statements: [
        """
        CREATE TABLE activity_reminders_sent (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            task_id uuid NOT NULL,
            reminder_at timestamptz NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, task_id, reminder_at),
            FOREIGN KEY (tenant_id, task_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON activity_reminders_sent TO {{app_role}}",
    ] + TenantTable.isolate("activity_reminders_sent"))

    static func remind(_ run: TenantRun) async throws {
        let from = run.now.addingTimeInterval(-window)
        let filter = JSONValue.object(["and": .array([
            ModuleStore.op("reminder_at", "between", .array([.string(from.formatted(.iso8601)), .string(run.now.formatted(.iso8601))])),
            ModuleStore.op("status", "in", .array([.string("open"), .string("in_progress")])),
        ])])
        var offset = 0
        while true {
            let page = try await run.engine.list("task", query: RecordQuery(filter: filter, sort: "reminder_at", limit: RecordQuery.maxLimit, offset: offset),
                                                 as: run.actor, on: run.connection, logger: run.logger)
            try await tell(page.records, run: run)
            offset += page.records.count
            if page.records.count < RecordQuery.maxLimit { return }
        }
    }

    /// Claims each task's reminder in `activity_reminders_sent` and notifies those it claimed.
    static func tell(_ tasks: [Record], run: TenantRun) async throws {
        var due: [(Record, Date)] = []
        for task in tasks {
            if let text = task.values["reminder_at"]?.stringValue, let at = try? Date(text, strategy: .iso8601) { due.append((task, at)) }
        }
        guard !due.isEmpty else { return }
        var claimed: Set<UUID> = []
        for try await id in try await run.connection.query("""
            INSERT INTO activity_reminders_sent (tenant_id, task_id, reminder_at)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, t, r
            FROM unnest(\(due.map(\.0.id))::uuid[], \(due.map(\.1))::timestamptz[]) AS d (t, r)
            ON CONFLICT DO NOTHING
            RETURNING task_id
            """, logger: run.logger).decode(UUID.self) {
            claimed.insert(id)
        }
        for (task, _) in due where claimed.contains(task.id) {
            guard let person = task.values["assignee"]?.stringValue.flatMap(UUID.init(uuidString:)) ?? task.ownerID else { continue }
            var arguments = ["record": task.values["subject"]?.stringValue ?? ""]
            if let due = task.values["due_at"]?.stringValue { arguments["due"] = due }
            try await Notifications.notify([person], of: NotificationEvent(kind: "activities.task_reminder", entity: "task", recordID: task.id,
                                                                           arguments: arguments), on: run.connection, logger: run.logger)
        }
    }
}

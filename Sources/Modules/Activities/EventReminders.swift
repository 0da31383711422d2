import Foundation
import Logging
import Platform
import PostgresNIO

/// Event reminders: every minute the scheduler looks, per tenant, for calendar events — single
/// events and each occurrence of a series (its exceptions in place) — whose reminder time
/// (`starts_at` minus `reminder_minutes`) has come within the last day, and tells the owner and
/// the attendees (`activities.event_reminder`: in-app, and by e-mail or SMS as they chose).
/// Each (event, occurrence start) is told once: `activity_event_reminders_sent` remembers it,
/// so a second node or run never repeats it; moving the event arms it again; a cancelled
/// occurrence is not told, nor one that began more than ten minutes ago.
enum EventReminders {
    static let window: TimeInterval = 86_400
    static let grace: TimeInterval = 600
    /// The longest reminder the event form allows (28 days), so occurrences that far ahead are looked at.
    static let lookAhead: TimeInterval = 40_320 * 60

    static let job = ScheduledJob(key: "activities.event_reminders", every: .seconds(60), module: "activities") { run in
        try await remind(run)
    }

    static let migration = Migration(version: 4, name: "activity_event_reminders_sent", statements: [
        """
        CREATE TABLE activity_event_reminders_sent (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            event_id uuid NOT NULL,
            occurrence_start timestamptz NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, event_id, occurrence_start),
            FOREIGN KEY (tenant_id, event_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "GRANT SELECT, INSERT, UPDATE, DELETE ON activity_event_reminders_sent TO {{app_role}}",
    ] + TenantTable.isolate("activity_event_reminders_sent"))

    /// An occurrence whose reminder is due at `now`: reminded in (now - window, now].
    struct Due: Sendable {
        let event: Record
        let start: Date
    }

    static func remind(_ run: TenantRun) async throws {
        let store = ModuleStore(engine: run.engine, actor: run.actor, connection: run.connection, logger: run.logger)
        let calendar = try await CalendarWindow.load(run.now.addingTimeInterval(-window)..<run.now.addingTimeInterval(lookAhead + 60), scope: .team,
                                                     store: store, eventFilter: ModuleStore.op("reminder_minutes", "is_empty", .bool(false)))
        var due: [Due] = []
        for item in calendar.items where item.kind == .event {
            // Numbers are stored as exact decimal text.
            guard let minutes = item.record.values["reminder_minutes"].flatMap({ value -> Double? in
                if case .number(let number) = value { return NSDecimalNumber(decimal: number).doubleValue }
                return value.stringValue.flatMap(Double.init)
            }) else { continue }
            let at = item.start.addingTimeInterval(-minutes * 60)
            // Due, not older than a day, and the occurrence not begun more than `grace` ago
            // (a reminder after the meeting started helps nobody).
            if at <= run.now && at > run.now.addingTimeInterval(-window) && item.start > run.now.addingTimeInterval(-grace) {
                due.append(Due(event: item.record, start: item.start))
            }
        }
        guard !due.isEmpty else { return }
        var claimed: Set<String> = []
        for try await (id, start) in try await run.connection.query("""
            INSERT INTO activity_event_reminders_sent (tenant_id, event_id, occurrence_start)
            SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid, e, s
            FROM unnest(\(due.map(\.event.id))::uuid[], \(due.map(\.start))::timestamptz[]) AS d (e, s)
            ON CONFLICT DO NOTHING
            RETURNING event_id, occurrence_start
            """, logger: run.logger).decode((UUID, Date).self) {
            claimed.insert("\(id)@\(Int(start.timeIntervalSince1970))")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = Recurrence.tenantZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        for occurrence in due where claimed.contains("\(occurrence.event.id)@\(Int(occurrence.start.timeIntervalSince1970))") {
            var people = (occurrence.event.string("attendee_ids") ?? "").split(separator: ",")
                .compactMap { UUID(uuidString: $0.trimmingCharacters(in: .whitespaces)) }
            if let owner = occurrence.event.ownerID { people.append(owner) }
            var arguments = ["record": occurrence.event.string("subject") ?? "", "start": formatter.string(from: occurrence.start)]
            if let location = occurrence.event.string("location"), !location.isEmpty { arguments["location"] = location }
            try await Notifications.notify(Array(Set(people)), of: NotificationEvent(kind: "activities.event_reminder", entity: "event",
                                                                                   recordID: occurrence.event.id, arguments: arguments),
                                           on: run.connection, logger: run.logger)
        }
    }
}

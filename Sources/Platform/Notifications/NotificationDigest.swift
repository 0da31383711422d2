import Foundation
import Logging
import PostgresNIO

/// The daily e-mail digest (每日摘要): who asks for it (their preference `digest.daily` on the
/// e-mail channel) gets, once a day from ``hour`` China time, one mail listing their notifications
/// still unread from the last day — instead of, or beside, the mails of single kinds they chose.
/// The scheduler's job claims (user, day) in `notification_digests_sent` before queueing the
/// mail, so two runs or two nodes send one; a day with nothing unread sends nothing.
public enum NotificationDigest {
    /// The preference's kind (channel `email`).
    public static let kind = "digest.daily"
    /// From this hour (China time) a day's digests go out.
    public static let hour = 8

    public static let job = ScheduledJob(key: "platform.email_digest", every: .seconds(600)) { run in
        try await queue(run)
    }

    static func chinaHour(_ date: Date) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.component(.hour, from: date)
    }

    /// Claims today's digest of every user who wants one and has unread notifications of the
    /// last day, and queues one e-mail (payload kind `digest`) each.
    public static func queue(_ run: TenantRun) async throws {
        guard chinaHour(run.now) >= hour else { return }
        let day = ChinaCalendar.day(of: run.now)
        let since = run.now.addingTimeInterval(-86_400)
        try await run.connection.query("""
            WITH wanted AS (
                SELECT p.tenant_id, p.user_id,
                       (SELECT count(*) FROM notifications n WHERE n.tenant_id = p.tenant_id AND n.user_id = p.user_id
                          AND n.read_at IS NULL AND n.created_at > \(since))::int AS unread
                FROM notification_preferences p JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.user_id AND u.is_active
                WHERE p.kind = \(kind) AND p.channel = 'email' AND p.enabled
                  AND NOT EXISTS (SELECT 1 FROM tenant_mail_settings s WHERE s.tenant_id = p.tenant_id AND NOT s.email_enabled)
            ), claimed AS (
                INSERT INTO notification_digests_sent (tenant_id, user_id, day, notifications)
                SELECT tenant_id, user_id, \(day)::date, unread FROM wanted WHERE unread > 0
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, user_id
            )
            INSERT INTO outbox (tenant_id, channel, payload)
            SELECT tenant_id, 'email', jsonb_build_object('kind', 'digest', 'user_id', user_id, 'since', \(since.formatted(.iso8601))::text, 'day', \(day)::text)
            FROM claimed
            """, logger: run.logger)
    }
}

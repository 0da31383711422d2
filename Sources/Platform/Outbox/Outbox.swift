import Foundation
import Logging
import PostgresNIO

/// What must leave the system — an e-mail, a webhook call — written in the business
/// transaction and delivered later by ``OutboxWorker``: a rolled-back change sends nothing and a
/// slow or dead receiver never slows a request.
///
/// ```swift
/// try await Outbox.enqueue(channel: "email", payload: .object(["kind": .string("message"), …]), on: connection, logger: logger)
/// ```
///
/// Delivery is at least once: a worker that dies between sending and marking leaves its item
/// `sending` until its lease ends, and the next worker sends it again with the same
/// ``OutboxItem/id``, which every channel passes on as the message's idempotency key
/// (`Message-ID`, a webhook's delivery id), so receivers can drop the repeat.
public enum Outbox {
    /// Puts one item in the caller's tenant's outbox, due now (or at `due`). Returns its id.
    @discardableResult
    public static func enqueue(channel: String, payload: JSONValue, due: Date? = nil, maxAttempts: Int = 8,
                               on connection: PostgresConnection, logger: Logger) async throws -> UUID {
        try await connection.query("""
            INSERT INTO outbox (tenant_id, channel, payload, next_attempt_at, max_attempts)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(channel), \(payload.jsonText)::jsonb,
                    coalesce(\(due), now()), \(maxAttempts))
            RETURNING id
            """, logger: logger).one(UUID.self)
    }

    /// Tenants with due items, oldest due first: the one cross-tenant read of the application
    /// role (a SECURITY DEFINER function that returns tenant ids only).
    static func dueTenants(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var tenants: [UUID] = []
        for try await id in try await connection.query("SELECT atrium_outbox_due_tenants(\(limit)::integer)", logger: logger).decode(UUID.self) {
            tenants.append(id)
        }
        return tenants
    }

    /// Claims up to `limit` due items of the transaction's tenant for `lease`: each counts an
    /// attempt and becomes due again when the lease ends, should its worker die. Items other
    /// workers hold are skipped, so several nodes can run workers at once.
    static func claim(limit: Int, lease: Duration, channels: [String], on connection: PostgresConnection,
                      logger: Logger) async throws -> [OutboxItem] {
        var items: [OutboxItem] = []
        let rows = try await connection.query("""
            UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => \(lease / .seconds(1)))
            FROM (
                SELECT tenant_id, id FROM outbox
                WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
                  AND status IN ('pending', 'sending') AND next_attempt_at <= now() AND channel = ANY(\(channels))
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ) due
            WHERE o.tenant_id = due.tenant_id AND o.id = due.id
            RETURNING o.id, o.channel, o.payload::text, o.attempts, o.max_attempts, o.created_at
            """, logger: logger)
        for try await (id, channel, payload, attempts, maxAttempts, created) in rows.decode((UUID, String, String, Int, Int, Date).self) {
            items.append(OutboxItem(id: id, channel: channel, payload: try JSONValue.parse(payload),
                                    attempt: attempts, maxAttempts: maxAttempts, createdAt: created))
        }
        return items
    }

    /// Records how a delivery went: sent; failed for good (no retry, or the last attempt); or
    /// due again after the backoff for this attempt. Only an item still `sending` is changed.
    static func record(_ outcome: DeliveryOutcome, of item: OutboxItem, backoff: OutboxBackoff,
                       on connection: PostgresConnection, logger: Logger) async throws {
        switch outcome {
        case .sent:
            try await connection.query("""
                UPDATE outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = \(item.id) AND status = 'sending'
                """, logger: logger)
        case .failed(let reason, let retry):
            let final = !retry || item.attempt >= item.maxAttempts
            let delay = backoff.delay(afterAttempt: item.attempt)
            try await connection.query("""
                UPDATE outbox SET status = \(final ? "failed" : "pending"), last_error = \(String(reason.prefix(1000))),
                    next_attempt_at = now() + make_interval(secs => \(delay))
                WHERE id = \(item.id) AND status = 'sending'
                """, logger: logger)
        }
    }

    /// Deletes the tenant's delivered and failed items older than `age` (at most `limit`).
    static func prune(olderThan age: Duration, limit: Int = 1000, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            DELETE FROM outbox WHERE (tenant_id, id) IN (
                SELECT tenant_id, id FROM outbox
                WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
                  AND status IN ('sent', 'failed') AND created_at < now() - make_interval(secs => \(age / .seconds(1)))
                LIMIT \(limit))
            """, logger: logger)
    }

    /// One item as administrators and tests see it.
    public struct Entry: Sendable, Equatable {
        public let id: UUID
        public let channel: String
        public let status: String
        public let attempts: Int
        public let lastError: String?
        public let sentAt: Date?
    }

    /// The tenant's items, newest first (`channel` to narrow).
    public static func entries(channel: String? = nil, limit: Int = 100, on connection: PostgresConnection, logger: Logger) async throws -> [Entry] {
        var entries: [Entry] = []
        for try await (id, channel, status, attempts, error, sent) in try await connection.query("""
            SELECT id, channel, status, attempts, last_error, sent_at FROM outbox
            WHERE \(channel) IS NULL OR channel = \(channel) ORDER BY created_at DESC, id LIMIT \(limit)
            """, logger: logger).decode((UUID, String, String, Int, String?, Date?).self) {
            entries.append(Entry(id: id, channel: channel, status: status, attempts: attempts, lastError: error, sentAt: sent))
        }
        return entries
    }
}

/// One claimed outbox item, handed to its channel.
public struct OutboxItem: Sendable {
    /// Stable over every attempt: the idempotency key a channel passes on.
    public let id: UUID
    public let channel: String
    public let payload: JSONValue
    /// This attempt's number, from 1.
    public let attempt: Int
    public let maxAttempts: Int
    public let createdAt: Date
}

/// How one delivery attempt ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent
    /// `retry`: worth trying again later (a timeout, a 4xx reply from a mail server); false
    /// for what another attempt cannot change (no such recipient, nothing configured).
    case failed(String, retry: Bool)
}

/// Delay before attempt n+1: `base` doubled per attempt, capped, with ±20 % jitter so the
/// retries of one outage spread out.
public struct OutboxBackoff: Sendable {
    public var base: Double
    public var cap: Double

    public init(baseSeconds: Double = 30, capSeconds: Double = 3600) {
        self.base = baseSeconds
        self.cap = capSeconds
    }

    public func delay(afterAttempt attempt: Int) -> Double {
        let plain = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        return plain * Double.random(in: 0.8...1.2)
    }
}

/// A way out of the system (e-mail, webhooks). Delivers one claimed item; called outside any
/// transaction, after the claim committed. `tenant` is the item's tenant: a channel that needs
/// data reads it in that tenant's RLS context.
public protocol OutboxChannel: Sendable {
    var name: String { get }
    func deliver(_ item: OutboxItem, tenant: UUID) async -> DeliveryOutcome
}

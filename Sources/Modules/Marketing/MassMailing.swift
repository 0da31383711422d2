import Foundation
import Logging
import Platform
import PostgresNIO

/// Mass e-mail (邮件群发): a mailing sends its template to the campaign's members, or to a
/// segment evaluated at the moment of sending, as one outbox `email` item (payload kind
/// `message`) per recipient, written in the send's transaction — a send that fails sends nothing.
/// Each recipient is a row of the module's table `marketing_mail_recipients` with the outbox
/// item's id (its delivery status is the outbox's) and the SHA-256 of the recipient's own
/// unsubscribe token. Addresses on the tenant's suppression list (`marketing_suppressions`) are
/// skipped by every send, whatever the campaign.
///
/// A send writes no member record: one engine write per member cost ~10 ms each here (18 s for
/// 1 000 members, beyond what a request should take), so the members' own status stays the
/// person's response (responded, registered, attended …) and "mailed" is counted from the
/// recipients (``mailedMembers(campaign:on:logger:)``).
enum MassMailing {
    struct Outcome: Sendable {
        let queued: Int
        let suppressed: Int
        let withoutEmail: Int
        let mailing: Record
    }

    static func unsubscribePath(_ token: String) -> String { "/marketing/unsubscribe/\(token)" }

    /// Sends the mailing (once). `base` is the tenant's public address (`https://acme.example.com`).
    static func send(_ id: UUID, base: String, store: ModuleStore) async throws -> Outcome {
        try await store.lock("mass_mail", id)
        let mailing = try await store.get("mass_mail", id)
        guard mailing.string("status") != "sent" else {
            throw AtriumError.module("marketing", .conflict, code: "already_sent", field: "status", "this mailing was sent already; copy it to send again",
                                     key: "already_sent")
        }
        let (campaign, template) = try await parts(of: mailing, store: store)
        let people: [Segments.Person]
        if let segmentID = mailing.string("segment") {
            guard let segment = try await store.get("segment", segmentID) else { throw MarketingRules.invalid("segment", "is not a segment you can read", key: "mailing_parts") }
            people = try await Segments.people(segment, store: store)
        } else {
            people = try await Segments.members(of: campaign.idText, store: store)
        }
        let suppressed = try await suppressions(on: store.connection, logger: store.logger)
        let tenant = try await TenantScope.current(on: store.connection, logger: store.logger)
        let sender = store.actor.user
        var seen = Set<String>()
        var rows: [(email: String, name: String, status: String, outbox: UUID?, hash: String?, person: Segments.Person)] = []
        // Throttling: the n-th message is due n / per_minute minutes from now (the outbox
        // worker only takes what is due).
        let perMinute = mailing.decimal("per_minute").map { NSDecimalNumber(decimal: $0).doubleValue }.flatMap { $0 >= 1 ? $0 : nil }
        let startsAt = Date()
        var queuedSoFar = 0
        for person in people {
            guard let email = person.email?.lowercased(), !email.isEmpty else {
                rows.append(("", person.name, "no_email", nil, nil, person))
                continue
            }
            guard seen.insert(email).inserted else { continue }
            if suppressed.contains(email) {
                rows.append((email, person.name, "suppressed", nil, nil, person))
                continue
            }
            let token = "un_" + SecureToken.generate(bytes: 24)
            let (subject, text) = compose(template: template, campaign: campaign, person: person, sender: sender,
                                          unsubscribeURL: base + unsubscribePath(token))
            let due = perMinute.map { startsAt.addingTimeInterval(Double(queuedSoFar) * 60 / $0) }
            let outbox = try await Outbox.enqueue(channel: "email", payload: .object([
                "kind": .string("message"), "to": .array([.string(email)]), "subject": .string(subject), "text": .string(text),
            ]), due: due, on: store.connection, logger: store.logger)
            queuedSoFar += 1
            rows.append((email, person.name, "queued", outbox, SecureToken.hash(token), person))
        }
        // The recipients in blocks of 1000 rows per statement.
        var start = 0
        while start < rows.count {
            let block = rows[start..<min(rows.count, start + 1000)]
            try await store.connection.query("""
                INSERT INTO marketing_mail_recipients (tenant_id, mailing_id, campaign_id, position, email, name, status, outbox_id, token_hash, contact_id, lead_id, member_id)
                SELECT \(tenant), \(id), \(campaign.id), p, e, n, s, NULLIF(o, '')::uuid, NULLIF(h, ''), NULLIF(c, '')::uuid, NULLIF(l, '')::uuid, NULLIF(m, '')::uuid
                FROM unnest(\(block.indices.map { $0 }), \(block.map(\.email)), \(block.map(\.name)), \(block.map(\.status)),
                            \(block.map { $0.outbox?.uuidString ?? "" }), \(block.map { $0.hash ?? "" }),
                            \(block.map { $0.person.contactID ?? "" }), \(block.map { $0.person.leadID ?? "" }), \(block.map { $0.person.memberID ?? "" }))
                    AS t(p, e, n, s, o, h, c, l, m)
                """, logger: store.logger)
            start += 1000
        }
        let queued = rows.filter { $0.status == "queued" }.count
        let updated = try await store.derived.update(mailing, [
            "status": .string("sent"), "sent_at": .string(MarketingRules.now()),
            "recipients": .number(Decimal(queued)), "suppressed": .number(Decimal(rows.count - queued)),
        ])
        return Outcome(queued: queued, suppressed: rows.filter { $0.status == "suppressed" }.count,
                       withoutEmail: rows.filter { $0.status == "no_email" }.count, mailing: updated)
    }

    /// A copy of the mailing to the caller alone, filled with the caller as the person; the
    /// subject says it is a test. Nothing is recorded on the mailing.
    static func testSend(_ id: UUID, base: String, store: ModuleStore) async throws -> UUID {
        let mailing = try await store.get("mass_mail", id)
        let (campaign, template) = try await parts(of: mailing, store: store)
        let me = store.actor.user
        let person = Segments.Person(email: me.email, name: me.displayName)
        let (subject, text) = compose(template: template, campaign: campaign, person: person, sender: me, unsubscribeURL: base + unsubscribePath("test"))
        return try await Outbox.enqueue(channel: "email", payload: .object([
            "kind": .string("message"), "to": .array([.string(me.email)]), "subject": .string("[TEST] " + subject), "text": .string(text),
        ]), on: store.connection, logger: store.logger)
    }

    /// The mailing's campaign and template, as the caller reads them.
    static func parts(of mailing: Record, store: ModuleStore) async throws -> (campaign: Record, template: Record) {
        guard let campaign = try await store.get("campaign", mailing.string("campaign")),
              let template = try await store.get("email_template", mailing.string("template")) else {
            throw MarketingRules.invalid("template", "and campaign must be records you can read", key: "mailing_parts")
        }
        return (campaign, template)
    }

    static func compose(template: Record, campaign: Record, person: Segments.Person, sender: AuthenticatedUser, unsubscribeURL: String) -> (String, String) {
        var values = person.mergeValues
        values["campaign.name"] = campaign.string("name") ?? ""
        values["campaign.start_date"] = campaign.string("start_date") ?? ""
        values["campaign.end_date"] = campaign.string("end_date") ?? ""
        values["campaign.location"] = campaign.string("location") ?? ""
        values["sender.name"] = sender.displayName
        values["sender.email"] = sender.email
        values["unsubscribe_url"] = unsubscribeURL
        let subject = MailMerge.render(template.string("subject") ?? "", values).replacingOccurrences(of: "\n", with: " ")
        var text = MailMerge.render(template.string("body") ?? "", values)
        if !(template.string("body") ?? "").contains("unsubscribe_url") {
            text += "\n\n-- \n退订 / Unsubscribe: \(unsubscribeURL)\n"
        }
        return (String(subject.prefix(300)), text)
    }

    // MARK: Recipients and the suppression list

    struct Recipient: Sendable {
        let email: String
        let name: String
        let status: String
        let error: String?
        let contactID: UUID?
        let leadID: UUID?

        var json: JSONValue {
            .object(["email": .string(email), "name": .string(name), "status": .string(status), "error": error.map(JSONValue.string) ?? .null,
                     "contact": contactID.map { .string($0.uuidString.lowercased()) } ?? .null,
                     "lead": leadID.map { .string($0.uuidString.lowercased()) } ?? .null])
        }
    }

    /// The mailing's recipients with each one's delivery status: `suppressed` and `no_email`
    /// (never queued), else the outbox's — `queued` (pending or being sent), `sent`, `failed`.
    static func recipients(of mailing: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Recipient] {
        var result: [Recipient] = []
        for try await (email, name, status, outbox, error, contact, lead) in try await connection.query("""
            SELECT r.email, r.name, r.status, o.status, o.last_error, r.contact_id, r.lead_id
            FROM marketing_mail_recipients r LEFT JOIN outbox o ON o.tenant_id = r.tenant_id AND o.id = r.outbox_id
            WHERE r.mailing_id = \(mailing) ORDER BY r.position
            """, logger: logger).decode((String, String, String, String?, String?, UUID?, UUID?).self) {
            let delivery: String
            switch (status, outbox) {
            case ("queued", "sent"?): delivery = "sent"
            case ("queued", "failed"?): delivery = "failed"
            case ("queued", nil): delivery = "sent_and_pruned"
            case ("queued", _): delivery = "queued"
            default: delivery = status
            }
            result.append(Recipient(email: email, name: name, status: delivery, error: delivery == "failed" ? error : nil, contactID: contact, leadID: lead))
        }
        return result
    }

    /// How many of the campaign's members some mailing of it has queued a message for.
    static func mailedMembers(campaign: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("""
            SELECT count(DISTINCT member_id)::int FROM marketing_mail_recipients
            WHERE campaign_id = \(campaign) AND status = 'queued' AND member_id IS NOT NULL
            """, logger: logger).one(Int.self)
    }

    static func suppressions(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var emails = Set<String>()
        for try await email in try await connection.query("SELECT email FROM marketing_suppressions", logger: logger).decode(String.self) {
            emails.insert(email)
        }
        return emails
    }

    /// Adds an address to the tenant's suppression list (once).
    static func suppress(_ email: String, reason: String, campaign: UUID?, on connection: PostgresConnection, logger: Logger) async throws {
        let tenant = try await TenantScope.current(on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO marketing_suppressions (tenant_id, email, reason, campaign_id) VALUES (\(tenant), \(email.lowercased()), \(reason), \(campaign))
            ON CONFLICT (tenant_id, email) DO NOTHING
            """, logger: logger)
    }

    /// The recipient row an unsubscribe token belongs to, in the tenant of the transaction.
    static func unsubscribe(token: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        guard token.hasPrefix("un_"), token.count <= 80 else { return nil }
        let rows = try await connection.query("""
            SELECT email, campaign_id FROM marketing_mail_recipients WHERE token_hash = \(SecureToken.hash(token))
            """, logger: logger)
        for try await (email, campaign) in rows.decode((String, UUID).self) {
            try await suppress(email, reason: "unsubscribed", campaign: campaign, on: connection, logger: logger)
            return email
        }
        return nil
    }

    /// Migration 1 of the `marketing` group. A snapshot: never edit it, add migration 2.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "marketing_mail_recipients_and_suppressions", statements: [
            """
            CREATE TABLE marketing_mail_recipients (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                mailing_id uuid NOT NULL,
                campaign_id uuid NOT NULL,
                position integer NOT NULL,
                email text NOT NULL,
                name text NOT NULL DEFAULT '',
                status text NOT NULL CHECK (status IN ('queued', 'suppressed', 'no_email')),
                outbox_id uuid,
                token_hash text CHECK (token_hash ~ '^[0-9a-f]{64}$'),
                contact_id uuid,
                lead_id uuid,
                member_id uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, mailing_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX marketing_mail_recipients_by_mailing ON marketing_mail_recipients (tenant_id, mailing_id, position)",
            "CREATE UNIQUE INDEX marketing_mail_recipients_by_token ON marketing_mail_recipients (tenant_id, token_hash) WHERE token_hash IS NOT NULL",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON marketing_mail_recipients TO {{app_role}}",
            """
            CREATE TABLE marketing_suppressions (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
                reason text NOT NULL CHECK (reason IN ('unsubscribed', 'manual', 'bounced')),
                campaign_id uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, email)
            )
            """,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON marketing_suppressions TO {{app_role}}",
        ] + TenantTable.isolate("marketing_mail_recipients") + TenantTable.isolate("marketing_suppressions")),
    ]
}

import Foundation
import Logging
import Platform
import PostgresNIO

/// Satisfaction surveys (服务调查): closing a case issues a one-time survey link for its
/// contact — mailed through the outbox when the contact has an e-mail address — and an agent
/// may issue a fresh link from the case (shown once). Only the SHA-256 of a link's token is
/// stored (`service_surveys`, service migration 2); the public page `/survey/{token}` needs no
/// sign-in, takes one answer (score 1–5 and a comment) and writes it onto the case through the
/// engine, audited as the customer survey. A new link replaces an unanswered one.
enum Surveys {
    static let migration = Migration(version: 2, name: "service_surveys", statements: [
        """
        CREATE TABLE service_surveys (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            token_hash text NOT NULL,
            case_id uuid NOT NULL,
            contact_id uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            answered_at timestamptz,
            PRIMARY KEY (tenant_id, token_hash),
            FOREIGN KEY (tenant_id, case_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
        )
        """,
        "CREATE INDEX service_surveys_by_case ON service_surveys (tenant_id, case_id)",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON service_surveys TO {{app_role}}",
    ] + TenantTable.isolate("service_surveys"))

    /// Who the engine records for an answer: the customer, not a user of the tenant.
    static let respondent = RecordEngine.Actor(user: AuthenticatedUser(id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)),
                                                                       email: "survey@atrium", displayName: "Customer survey", locale: "zh-CN",
                                                                       isAdmin: false), access: .derived)

    /// A new token for the case (unanswered older ones of the case are dropped); returns it.
    static func issue(for serviceCase: Record, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let token = SecureToken.generate(bytes: 24)
        let contact = serviceCase.string("contact").flatMap(UUID.init(uuidString:))
        try await connection.query("DELETE FROM service_surveys WHERE case_id = \(serviceCase.id) AND answered_at IS NULL", logger: logger)
        try await connection.query("""
            INSERT INTO service_surveys (tenant_id, token_hash, case_id, contact_id)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(SecureToken.hash(token)), \(serviceCase.id), \(contact))
            """, logger: logger)
        return token
    }

    struct Pending: Sendable {
        let caseID: UUID
        let answeredAt: Date?
    }

    static func find(token: String, on connection: PostgresConnection, logger: Logger) async throws -> Pending? {
        guard !token.isEmpty, token.count <= 100 else { return nil }
        for try await (id, answered) in try await connection.query("""
            SELECT case_id, answered_at FROM service_surveys WHERE token_hash = \(SecureToken.hash(token))
            """, logger: logger).decode((UUID, Date?).self) {
            return Pending(caseID: id, answeredAt: answered)
        }
        return nil
    }

    /// Checks and records an answer: score 1–5 (422 naming `score`), comment up to 2000
    /// characters (`comment`), once (409).
    static func answer(token: String, score scoreText: String?, comment commentText: String?, engine: RecordEngine,
                       on connection: PostgresConnection, logger: Logger) async throws -> Record {
        guard let pending = try await find(token: token, on: connection, logger: logger) else {
            throw AtriumError(status: .notFound, code: "survey_not_found", message: "this survey link is not valid")
        }
        guard pending.answeredAt == nil else {
            throw AtriumError.module("service", .conflict, code: "survey_answered", field: nil, "this survey has already been answered", key: "survey_answered")
        }
        guard let text = scoreText?.trimmingCharacters(in: .whitespaces), let score = Int(text), (1...5).contains(score) else {
            throw ServiceRules.invalid("score", "must be a whole number from 1 to 5", key: "survey_score")
        }
        let comment = (commentText ?? "").replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard comment.count <= 2000 else { throw ServiceRules.invalid("comment", "must be at most 2000 characters", key: "survey_comment") }
        let claimed = try await connection.query("""
            UPDATE service_surveys SET answered_at = now() WHERE token_hash = \(SecureToken.hash(token)) AND answered_at IS NULL RETURNING case_id
            """, logger: logger).collect()
        guard !claimed.isEmpty else {
            throw AtriumError.module("service", .conflict, code: "survey_answered", field: nil, "this survey has already been answered", key: "survey_answered")
        }
        let serviceCase = try await engine.get("service_case", id: pending.caseID, as: respondent, on: connection, logger: logger)
        return try await engine.update("service_case", id: serviceCase.id, values: [
            "satisfaction": .number(Decimal(score)), "satisfaction_comment": comment.isEmpty ? .null : .string(comment),
            "surveyed_at": ServiceClock.stamp(ServiceClock.now),
        ], expectedVersion: serviceCase.version, as: respondent, on: connection, logger: logger)
    }

    /// The survey link for a tenant: `ATRIUM_PUBLIC_URL` (as in notification e-mails) + `/survey/{token}`.
    static func link(token: String, on connection: PostgresConnection, logger: Logger) async throws -> String {
        let slug = try await connection.query("""
            SELECT slug FROM tenants WHERE id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
            """, logger: logger).collect().first.map { try $0.decode(String.self) } ?? ""
        let base = (ProcessInfo.processInfo.environment["ATRIUM_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://localhost:8080")
            .replacingOccurrences(of: "{tenant}", with: slug)
        return base.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/survey/\(token)"
    }
}

/// Closing a case issues its survey and, when the contact has an e-mail address, mails the
/// link (through the outbox, so a rolled-back close sends nothing).
struct SurveyOnClose: RecordHooks {
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {
        guard record.string("status") == "closed", previous.string("status") != "closed" else { return }
        let token = try await Surveys.issue(for: record, on: context.connection, logger: context.logger)
        let store = ModuleStore(derived: context)
        guard let contact = try await store.get("contact", record.string("contact")), let email = contact.string("email"),
              MailAddress.isValid(email) else { return }
        let link = try await Surveys.link(token: token, on: context.connection, logger: context.logger)
        let subject = "服务满意度调查 / How did we do? \(record.string("number") ?? "")"
        let text = """
            \(contact.string("name") ?? "您好")：

            您的服务工单「\(record.string("subject") ?? "")」已关闭。请花一分钟为我们的服务打分（1–5 分）：
            Your service case "\(record.string("subject") ?? "")" is closed. Please rate our service (1–5):

            \(link)
            """
        try await Outbox.enqueue(channel: "email", payload: .object(["kind": .string("message"), "to": .array([.string(email)]),
                                                                    "subject": .string(subject), "text": .string(text)]),
                                 on: context.connection, logger: context.logger)
    }
}

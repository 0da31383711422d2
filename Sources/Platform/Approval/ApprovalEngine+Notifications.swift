import Foundation
import Logging
import PostgresNIO

/// Who hears of a submission: the approvers of the step that opens, the people copied, and
/// the submitter of the outcome. Written in the decision's transaction (DESIGN §4c).
extension ApprovalEngine {
    /// The record's title and the people's names, as the notification's text arguments.
    func notificationArguments(entity: String, recordID: UUID, people: [String: UUID], on connection: PostgresConnection,
                               logger: Logger) async throws -> [String: String] {
        let (definition, _) = try await records.entity(entity, on: connection, logger: logger)
        let record = try await records.fetch(entity, id: recordID, deleted: false, on: connection, logger: logger)
        var arguments = ["record": definition.title(of: record, locale: "zh-CN") ?? ""]
        for (role, id) in people {
            arguments[role] = try await connection.query("SELECT display_name FROM users WHERE id = \(id)", logger: logger)
                .collect().first?.decode(String.self) ?? ""
        }
        return arguments
    }

    /// `approvers` have a task waiting for them (the first step on submit, the next one on approval).
    func notifyAssigned(_ approvers: [UUID], entity: String, recordID: UUID, submitter: UUID, actor: UUID,
                        on connection: PostgresConnection, logger: Logger) async throws {
        guard !approvers.isEmpty else { return }
        let arguments = try await notificationArguments(entity: entity, recordID: recordID, people: ["submitter": submitter, "actor": actor],
                                                        on: connection, logger: logger)
        try await Notifications.notify(approvers, of: NotificationEvent(kind: "approval.task_assigned", entity: entity, recordID: recordID,
                                                                         actor: actor, arguments: arguments), on: connection, logger: logger)
    }

    func notifyCopied(_ users: [UUID], entity: String, recordID: UUID, submitter: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        guard !users.isEmpty else { return }
        let arguments = try await notificationArguments(entity: entity, recordID: recordID, people: ["actor": submitter], on: connection, logger: logger)
        try await Notifications.notify(users, of: NotificationEvent(kind: "approval.cc", entity: entity, recordID: recordID,
                                                                     actor: submitter, arguments: arguments), on: connection, logger: logger)
    }

    /// The submitter hears that the submission was approved, rejected or returned.
    func notifyOutcome(_ outcome: ApprovalState, entity: String, recordID: UUID, submitter: UUID, actor: UUID,
                       on connection: PostgresConnection, logger: Logger) async throws {
        guard [.approved, .rejected, .returned].contains(outcome) else { return }
        let arguments = try await notificationArguments(entity: entity, recordID: recordID, people: ["actor": actor], on: connection, logger: logger)
        try await Notifications.notify([submitter], of: NotificationEvent(kind: "approval.\(outcome.rawValue)", entity: entity, recordID: recordID,
                                                                          actor: actor, arguments: arguments), on: connection, logger: logger)
    }
}

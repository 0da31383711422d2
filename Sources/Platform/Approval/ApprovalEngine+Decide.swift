import Foundation
import Logging
import PostgresNIO

/// Acting on a submission: an approver's decision on a task, the submitter's withdrawal.
extension ApprovalEngine {
    /// Approve, reject or return one task. The instance row is locked first, so of two
    /// concurrent clicks the second finds the task decided (409) — applied once.
    public func decide(task taskID: UUID, _ decision: Decision, comment: String?, as actor: RecordEngine.Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Instance {
        let comment = try Self.comment(comment, required: decision != .approve)
        guard let instanceID = try await connection.query("SELECT instance_id FROM approval_tasks WHERE id = \(taskID)", logger: logger)
            .collect().first?.decode(UUID.self) else {
            throw ApprovalError.taskNotFound(taskID.uuidString.lowercased())
        }
        let instance = try await instance(instanceID, lock: true, on: connection, logger: logger)
        guard let task = instance.tasks.first(where: { $0.id == taskID }) else {
            throw ApprovalError.taskNotFound(taskID.uuidString.lowercased())
        }
        let me = actor.user.id
        var onBehalfOf: UUID?
        guard try await principals(of: me, on: connection, logger: logger).contains(task.approverID) else {
            throw ApprovalError.notYourTask
        }
        if task.approverID != me { onBehalfOf = task.approverID }
        switch task.status {
        case "pending": break
        case "waiting":
            throw ApprovalError.stepNotReached(step: task.step + 1)
        default:
            throw ApprovalError.alreadyDecided(.step(task.status))
        }
        guard instance.status == .pending else {
            throw ApprovalError.alreadyDecided(.approval(instance.status))
        }
        try await connection.query("""
            UPDATE approval_tasks SET status = \(decision.taskStatus), decided_by = \(me), comment = \(comment), decided_at = now() WHERE id = \(taskID)
            """, logger: logger)
        let step = instance.path[task.step]
        var outcome: ApprovalState = .pending
        switch decision {
        case .approve:
            if step.mode == .any {
                try await connection.query("""
                    UPDATE approval_tasks SET status = 'skipped' WHERE instance_id = \(instanceID) AND step = \(task.step) AND status = 'pending'
                    """, logger: logger)
            }
            let open = try await connection.query("""
                SELECT count(*)::int FROM approval_tasks WHERE instance_id = \(instanceID) AND step = \(task.step) AND status = 'pending'
                """, logger: logger).collect().first?.decode(Int.self) ?? 0
            if open == 0 {
                let next = try await connection.query("""
                    SELECT min(step) FROM approval_tasks WHERE instance_id = \(instanceID) AND status = 'waiting'
                    """, logger: logger).collect().first?.decode(Int?.self)
                if let next {
                    let approvers = try await ids(connection.query("""
                        UPDATE approval_tasks SET status = 'pending', activated_at = now()
                        WHERE instance_id = \(instanceID) AND step = \(next) AND status = 'waiting' RETURNING approver_id
                        """, logger: logger))
                    try await connection.query("UPDATE approval_instances SET current_step = \(next) WHERE id = \(instanceID)", logger: logger)
                    try await shareRead(instance.recordID, with: approvers, delegates: true, by: me, on: connection, logger: logger)
                    try await notifyAssigned(approvers, entity: instance.entity, recordID: instance.recordID, submitter: instance.submittedBy,
                                             actor: me, on: connection, logger: logger)
                } else {
                    outcome = .approved
                }
            }
        case .reject:
            outcome = .rejected
        case .returnForChanges:
            outcome = .returned
        }
        if outcome != .pending {
            try await connection.query("""
                UPDATE approval_tasks SET status = 'cancelled' WHERE instance_id = \(instanceID) AND status IN ('pending', 'waiting')
                """, logger: logger)
            try await connection.query("""
                UPDATE approval_instances SET status = \(outcome.rawValue), current_step = NULL, finished_at = now() WHERE id = \(instanceID)
                """, logger: logger)
        }
        var details = ["process": instance.processName, "instance": instanceID.uuidString.lowercased(), "step": "\(task.step + 1) \(step.name)"]
        if let comment { details["comment"] = comment }
        if let onBehalfOf { details["on_behalf_of"] = onBehalfOf.uuidString.lowercased() }
        if outcome == .approved { details["outcome"] = "approved" }
        try await audit("approval.\(decision.taskStatus)", entity: instance.entity, recordID: instance.recordID, details: details, actor: actor,
                        on: connection, logger: logger)
        if outcome != .pending {
            let (entity, _) = try await records.entity(instance.entity, on: connection, logger: logger)
            try await setStatus(outcome, entity: entity, recordID: instance.recordID, actor: actor, on: connection, logger: logger)
            let record = try await records.fetch(entity.key, id: instance.recordID, deleted: false, on: connection, logger: logger)
            try await Automation.fire(.approval(outcome), record: record, entity: entity, actor: actor, engine: records, on: connection, logger: logger)
            try await notifyOutcome(outcome, entity: instance.entity, recordID: instance.recordID, submitter: instance.submittedBy, actor: me,
                                    on: connection, logger: logger)
        }
        return try await self.instance(instanceID, on: connection, logger: logger)
    }

    /// The submitter takes a pending submission back; the record becomes editable again.
    public func withdraw(_ instanceID: UUID, comment: String?, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                         logger: Logger) async throws -> Instance {
        let comment = try Self.comment(comment, required: false)
        let instance = try await instance(instanceID, lock: true, on: connection, logger: logger)
        guard instance.submittedBy == actor.user.id else {
            throw ApprovalError.notSubmitter
        }
        guard instance.status == .pending else {
            throw ApprovalError.alreadyDecided(.approval(instance.status))
        }
        try await connection.query("""
            UPDATE approval_tasks SET status = 'cancelled' WHERE instance_id = \(instanceID) AND status IN ('pending', 'waiting')
            """, logger: logger)
        try await connection.query("""
            UPDATE approval_instances SET status = 'withdrawn', current_step = NULL, finished_at = now() WHERE id = \(instanceID)
            """, logger: logger)
        var details = ["process": instance.processName, "instance": instanceID.uuidString.lowercased()]
        if let comment { details["comment"] = comment }
        try await audit("approval.withdrawn", entity: instance.entity, recordID: instance.recordID, details: details, actor: actor, on: connection, logger: logger)
        let (entity, _) = try await records.entity(instance.entity, on: connection, logger: logger)
        try await setStatus(.withdrawn, entity: entity, recordID: instance.recordID, actor: actor, on: connection, logger: logger)
        return try await self.instance(instanceID, on: connection, logger: logger)
    }

    static func comment(_ text: String?, required: Bool) throws -> String? {
        let trimmed = text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty {
            if required { throw AtriumError.validation(field: "comment", "is required: say why") }
            return nil
        }
        guard trimmed.count <= 2000 else { throw AtriumError.validation(field: "comment", "must be at most 2000 characters") }
        return trimmed
    }
}

import Foundation
import Logging
import PostgresNIO

/// Submitting a record: choosing the process, resolving each step's approvers, opening the
/// first step.
extension ApprovalEngine {
    /// Submits a record the caller may update: picks the process, resolves every step's
    /// approvers now (so a missing manager is reported at once), activates the first step.
    public func submit(_ entityKey: String, id: UUID, comment: String? = nil, as actor: RecordEngine.Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Instance {
        let (entity, all) = try await records.entity(entityKey, for: .update, actor: actor, on: connection, logger: logger)
        var record = try await records.fetch(entityKey, id: id, deleted: false, lock: true, scope: (actor.access, entity, .update),
                                             on: connection, logger: logger)
        let comment = try Self.comment(comment, required: false)
        if let (_, state) = try await latest(recordID: id, on: connection, logger: logger) {
            switch state {
            case .pending: throw ApprovalError.alreadyPending
            case .approved: throw ApprovalError.alreadyFinished(approved: true)
            case .rejected: throw ApprovalError.alreadyFinished(approved: false)
            case .returned, .withdrawn: break
            }
        }
        let binding = records.approvalBinding(for: entity)
        if let rules = binding?.rules {
            let context = HookContext(entity: entity, actor: actor, engine: records, connection: connection, logger: logger)
            try await rules.beforeSubmit(record, context: context)
            record = try await records.fetch(entityKey, id: id, deleted: false, on: connection, logger: logger)
        }
        let processes = try await ApprovalProcesses(engine: records).list(entity: entityKey, on: connection, logger: logger).filter(\.active)
        var chosen: ApprovalProcess?
        for process in processes where try await records.matches(process.condition, record: record, entity: entity, entities: all, on: connection, logger: logger) {
            chosen = process
            break
        }
        guard let process = chosen, let processID = process.id else {
            throw ApprovalError.noProcess(entity: entityKey)
        }
        let submitter = actor.user.id
        var path: [PathStep] = []
        var approversByStep: [[UUID]] = []
        for (index, step) in process.steps.enumerated() {
            guard try await records.matches(step.condition, record: record, entity: entity, entities: all, on: connection, logger: logger) else {
                path.append(PathStep(name: step.name, mode: step.mode, skipped: "condition"))
                approversByStep.append([])
                continue
            }
            var users: [UUID] = []
            for approver in step.approvers {
                do {
                    users += try await resolve(approver, submitter: submitter, stepName: "\(index + 1) (\(step.name))", on: connection, logger: logger)
                } catch ApprovalError.noApprover where step.skipIfNoApprover {
                    continue
                }
            }
            if users.isEmpty && step.skipIfNoApprover {
                path.append(PathStep(name: step.name, mode: step.mode, skipped: "no_approver"))
                approversByStep.append([])
                continue
            }
            let others = Array(Set(users).subtracting([submitter])).sorted { $0.uuidString < $1.uuidString }
            path.append(PathStep(name: step.name, mode: step.mode, skipped: others.isEmpty ? "submitter" : nil))
            approversByStep.append(others)
        }
        var ccUsers: [UUID] = []
        for recipient in process.cc {
            // A CC rule that names nobody copies nobody; a database error still fails the submission.
            do {
                ccUsers += try await resolve(recipient, submitter: submitter, stepName: "cc", on: connection, logger: logger)
            } catch ApprovalError.noApprover {
                continue
            }
        }
        ccUsers = Array(Set(ccUsers).subtracting([submitter])).sorted { $0.uuidString < $1.uuidString }
        let first = approversByStep.firstIndex { !$0.isEmpty }
        let tenantID = try await records.currentTenant(on: connection, logger: logger)
        let pathJSON = String(decoding: try JSONEncoder().encode(path), as: UTF8.self)
        let state: ApprovalState = first == nil ? .approved : .pending
        let instanceID: UUID
        do {
            instanceID = try await connection.query("""
                INSERT INTO approval_instances (tenant_id, entity, record_id, process_id, process_name, status, current_step, path, cc, comment, submitted_by, finished_at)
                VALUES (\(tenantID), \(entityKey), \(id), \(processID), \(process.name), \(state.rawValue), \(first), \(pathJSON)::jsonb, \(ccUsers), \(comment), \(submitter),
                        CASE WHEN \(state.rawValue) = 'approved' THEN now() END)
                RETURNING id
                """, logger: logger).one(UUID.self)
        } catch let error where DatabaseErrors.sqlState(error) == "23505" {
            throw ApprovalError.alreadyPending
        }
        for (index, users) in approversByStep.enumerated() {
            for user in users {
                let status = index == first ? "pending" : "waiting"
                try await connection.query("""
                    INSERT INTO approval_tasks (tenant_id, instance_id, step, approver_id, status, activated_at)
                    VALUES (\(tenantID), \(instanceID), \(index), \(user), \(status), CASE WHEN \(status) = 'pending' THEN now() END)
                    """, logger: logger)
            }
        }
        if let first { try await shareRead(id, with: approversByStep[first], delegates: true, by: submitter, on: connection, logger: logger) }
        try await shareRead(id, with: ccUsers, delegates: false, by: submitter, on: connection, logger: logger)
        if let first {
            try await notifyAssigned(approversByStep[first], entity: entityKey, recordID: id, submitter: submitter, actor: submitter,
                                     on: connection, logger: logger)
        }
        try await notifyCopied(ccUsers, entity: entityKey, recordID: id, submitter: submitter, on: connection, logger: logger)
        var details = ["process": process.name, "instance": instanceID.uuidString.lowercased()]
        if let comment { details["comment"] = comment }
        if state == .approved { details["outcome"] = "approved: no step applies" }
        try await audit("approval.submitted", entity: entityKey, recordID: id, details: details, actor: actor, on: connection, logger: logger)
        try await setStatus(state, entity: entity, recordID: id, actor: actor, on: connection, logger: logger)
        return try await instance(instanceID, on: connection, logger: logger)
    }

    /// The active users an approver rule names for this submitter; none → 422 naming the step.
    func resolve(_ approver: ApprovalProcess.Approver, submitter: UUID, stepName: String, on connection: PostgresConnection,
                 logger: Logger) async throws -> [UUID] {
        let users: [UUID]
        let reason: String
        switch approver.kind {
        case .user:
            users = try await ids(connection.query("SELECT id FROM users WHERE id = \(approver.id) AND is_active", logger: logger))
            reason = "the approver is no longer an active user"
        case .role:
            users = try await ids(connection.query("""
                SELECT u.id FROM user_roles ur JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
                WHERE ur.role_id = \(approver.id) AND u.is_active ORDER BY u.id
                """, logger: logger))
            reason = "the role has no active members"
        case .manager:
            users = try await ids(connection.query("""
                SELECT m.id FROM users s JOIN users m ON m.tenant_id = s.tenant_id AND m.id = s.manager_id WHERE s.id = \(submitter) AND m.is_active
                """, logger: logger))
            reason = "the submitter has no manager"
        case .secondManager:
            users = try await ids(connection.query("""
                SELECT g.id FROM users s JOIN users m ON m.tenant_id = s.tenant_id AND m.id = s.manager_id
                JOIN users g ON g.tenant_id = m.tenant_id AND g.id = m.manager_id WHERE s.id = \(submitter) AND g.is_active
                """, logger: logger))
            reason = "the submitter's manager has no manager"
        case .departmentHead:
            users = try await ids(connection.query("""
                SELECT h.id FROM departments d JOIN users h ON h.tenant_id = d.tenant_id AND h.id = d.head_id
                WHERE d.id = COALESCE(\(approver.id), (SELECT department_id FROM users WHERE id = \(submitter))) AND h.is_active
                """, logger: logger))
            reason = approver.id == nil ? "the submitter's department has no head" : "the department has no head"
        }
        guard !users.isEmpty else {
            throw ApprovalError.noApprover(step: stepName, reason: reason)
        }
        return users
    }
}

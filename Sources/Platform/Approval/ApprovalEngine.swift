import Foundation
import Logging
import PostgresNIO

/// The states of one submission.
public enum ApprovalState: String, Sendable, Codable, CaseIterable {
    case pending, approved, rejected, returned, withdrawn
}

/// How an entity takes part in approvals: which of its fields shows the approval state (and
/// with which picklist values), which fields the inbox shows, and the module's checks before
/// a submission. Entities without a binding use a field `approval_status` when they have one.
public struct ApprovalBinding: Sendable {
    public let entity: String
    public let statusField: String?
    public let statuses: [ApprovalState: String]
    /// Fields shown next to the title in the approver's inbox (e.g. total, over-budget flag).
    public let summaryFields: [String]
    public let rules: (any ApprovalRules)?

    public init(entity: String, statusField: String?, statuses: [ApprovalState: String] = [:], summaryFields: [String] = [],
                rules: (any ApprovalRules)? = nil) {
        self.entity = entity
        self.statusField = statusField
        self.statuses = statuses
        self.summaryFields = summaryFields
        self.rules = rules
    }
}

/// A module's checks around a submission (e.g. a claim needs lines; the budget flag is
/// recomputed). Runs inside the submit transaction; throwing an ``AtriumError`` refuses it.
public protocol ApprovalRules: Sendable {
    func beforeSubmit(_ record: Record, context: HookContext) async throws
}

/// The approval workflow engine (审批流): submit → steps of approvers → approved / rejected /
/// returned for changes / withdrawn. Everything runs in the caller's tenant transaction; the
/// instance row is locked for each action, so two clicks (two tabs) decide a task once.
///
/// - Only a pending task's approver, or their out-of-office delegate on a day inside the
///   delegation, may act on it (others → 403).
/// - While a record has a pending submission, and after it was approved (or rejected), user
///   writes to it are refused by the record engine (`approval_locked`); the engine's own
///   derived writes (the status field, a module's payment action) go through.
/// - Approvers, delegates and CC recipients get a read share of the record; every action is in
///   the record's audit trail.
public struct ApprovalEngine: Sendable {
    public let records: RecordEngine

    public init(records: RecordEngine) {
        self.records = records
    }

    public enum Decision: String, Sendable, CaseIterable {
        case approve, reject
        case returnForChanges = "return"

        var taskStatus: String {
            switch self {
            case .approve: return "approved"
            case .reject: return "rejected"
            case .returnForChanges: return "returned"
            }
        }
    }

    public struct PathStep: Sendable, Codable, Equatable {
        public let name: String
        public let mode: ApprovalProcess.Mode
        /// Why a step was skipped: `condition` (its condition did not match), `submitter`
        /// (the submitter was its only approver) or `no_approver` (allowed to be empty).
        public let skipped: String?
    }

    public struct Task: Sendable {
        public let id: UUID
        public let instanceID: UUID
        public let step: Int
        public let approverID: UUID
        public let status: String
        public let decidedBy: UUID?
        public let comment: String?
        public let activatedAt: Date?
        public let decidedAt: Date?
    }

    public struct Instance: Sendable {
        public let id: UUID
        public let entity: String
        public let recordID: UUID
        public let processID: UUID
        public let processName: String
        public let status: ApprovalState
        public let currentStep: Int?
        public let path: [PathStep]
        public let cc: [UUID]
        /// The submitter's comment.
        public let comment: String?
        public let submittedBy: UUID
        public let submittedAt: Date
        public let finishedAt: Date?
        public var tasks: [Task] = []

        public var json: JSONValue {
            let iso = ISO8601DateFormatter()
            func text(_ id: UUID?) -> JSONValue { id.map { .string($0.uuidString.lowercased()) } ?? .null }
            func date(_ value: Date?) -> JSONValue { value.map { .string(iso.string(from: $0)) } ?? .null }
            return .object([
                "id": text(id), "entity": .string(entity), "record_id": text(recordID), "process_id": text(processID),
                "process": .string(processName), "status": .string(status.rawValue),
                "current_step": currentStep.map { .number(Decimal($0)) } ?? .null,
                "steps": .array(path.enumerated().map { index, step in
                    .object(["index": .number(Decimal(index)), "name": .string(step.name), "mode": .string(step.mode.rawValue),
                             "skipped": step.skipped.map(JSONValue.string) ?? .null,
                             "tasks": .array(tasks.filter { $0.step == index }.map { task in
                                 .object(["id": text(task.id), "approver_id": text(task.approverID), "status": .string(task.status),
                                          "decided_by": text(task.decidedBy), "comment": task.comment.map(JSONValue.string) ?? .null,
                                          "activated_at": date(task.activatedAt), "decided_at": date(task.decidedAt)])
                             })])
                }),
                "cc": .array(cc.map { text($0) }), "comment": comment.map(JSONValue.string) ?? .null, "submitted_by": text(submittedBy), "submitted_at": date(submittedAt),
                "finished_at": date(finishedAt),
            ])
        }
    }

    static let instanceColumns = "i.id, i.entity, i.record_id, i.process_id, i.process_name, i.status, i.current_step, i.path::text, i.cc, i.comment, i.submitted_by, i.submitted_at, i.finished_at"
    static let taskColumns = "t.id, t.instance_id, t.step, t.approver_id, t.status, t.decided_by, t.comment, t.activated_at, t.decided_at"
    /// "Today" for delegation periods (the tenants' calendar; see SalesRules.today).
    static let today = "(now() AT TIME ZONE 'Asia/Shanghai')::date"

    static func decodeInstances(_ rows: PostgresRowSequence) async throws -> [Instance] {
        var result: [Instance] = []
        for try await (id, entity, record, process, name, status, step, path, cc, comment, by, at, finished) in rows.decode(
            (UUID, String, UUID, UUID, String, String, Int?, String, [UUID], String?, UUID, Date, Date?).self
        ) {
            result.append(Instance(id: id, entity: entity, recordID: record, processID: process, processName: name,
                                   status: ApprovalState(rawValue: status) ?? .pending, currentStep: step,
                                   path: try JSONDecoder().decode([PathStep].self, from: Data(path.utf8)), cc: cc,
                                   comment: comment, submittedBy: by, submittedAt: at, finishedAt: finished))
        }
        return result
    }

    static func decodeTasks(_ rows: PostgresRowSequence) async throws -> [Task] {
        var result: [Task] = []
        for try await (id, instance, step, approver, status, decidedBy, comment, activated, decided) in rows.decode(
            (UUID, UUID, Int, UUID, String, UUID?, String?, Date?, Date?).self
        ) {
            result.append(Task(id: id, instanceID: instance, step: step, approverID: approver, status: status, decidedBy: decidedBy,
                               comment: comment, activatedAt: activated, decidedAt: decided))
        }
        return result
    }

    func instance(_ id: UUID, lock: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> Instance {
        guard var instance = try await Self.decodeInstances(connection.query(
            "SELECT \(unescaped: Self.instanceColumns) FROM approval_instances i WHERE i.id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")",
            logger: logger)).first else {
            throw AtriumError(status: .notFound, code: "approval_not_found", message: "no approval \(id.uuidString.lowercased())")
        }
        instance.tasks = try await Self.decodeTasks(connection.query(
            "SELECT \(unescaped: Self.taskColumns) FROM approval_tasks t WHERE t.instance_id = \(id) ORDER BY t.step, t.approver_id", logger: logger))
        return instance
    }

    /// The latest submission of a record, if any (any state).
    func latest(recordID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> (UUID, ApprovalState)? {
        let rows = try await connection.query("""
            SELECT id, status FROM approval_instances WHERE record_id = \(recordID) ORDER BY submitted_at DESC, id DESC LIMIT 1
            """, logger: logger).collect()
        guard let row = rows.first else { return nil }
        let (id, status) = try row.decode((UUID, String).self)
        return (id, ApprovalState(rawValue: status) ?? .pending)
    }

    // MARK: Submitting

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
            case .pending: throw AtriumError(status: .conflict, code: "approval_pending", message: "this record is already waiting for approval")
            case .approved: throw AtriumError(status: .conflict, code: "approval_finished", message: "this record was already approved")
            case .rejected: throw AtriumError(status: .conflict, code: "approval_finished", message: "this record was rejected; create a new one instead")
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
            throw AtriumError(status: .unprocessableContent, code: "no_process", message: "no active approval process applies to this \(entityKey)")
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
                } catch let error as AtriumError where error.code == "no_approver" && step.skipIfNoApprover {
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
            ccUsers += (try? await resolve(recipient, submitter: submitter, stepName: "cc", on: connection, logger: logger)) ?? []
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
            throw AtriumError(status: .conflict, code: "approval_pending", message: "this record is already waiting for approval")
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
            throw AtriumError(status: .unprocessableContent, code: "no_approver", message: "approval step \(stepName) has no approver: \(reason)")
        }
        return users
    }

    func ids(_ rows: PostgresRowSequence) async throws -> [UUID] {
        var result: [UUID] = []
        for try await id in rows.decode(UUID.self) { result.append(id) }
        return result
    }

    // MARK: Deciding

    /// Approve, reject or return one task. The instance row is locked first, so of two
    /// concurrent clicks the second finds the task decided (409) — applied once.
    public func decide(task taskID: UUID, _ decision: Decision, comment: String?, as actor: RecordEngine.Actor,
                       on connection: PostgresConnection, logger: Logger) async throws -> Instance {
        let comment = try Self.comment(comment, required: decision != .approve)
        guard let instanceID = try await connection.query("SELECT instance_id FROM approval_tasks WHERE id = \(taskID)", logger: logger)
            .collect().first?.decode(UUID.self) else {
            throw AtriumError(status: .notFound, code: "task_not_found", message: "no approval task \(taskID.uuidString.lowercased())")
        }
        let instance = try await instance(instanceID, lock: true, on: connection, logger: logger)
        guard let task = instance.tasks.first(where: { $0.id == taskID }) else {
            throw AtriumError(status: .notFound, code: "task_not_found", message: "no approval task \(taskID.uuidString.lowercased())")
        }
        let me = actor.user.id
        var onBehalfOf: UUID?
        guard try await principals(of: me, on: connection, logger: logger).contains(task.approverID) else {
            throw AtriumError(status: .forbidden, code: "not_your_task", message: "only the approver of this step (or their delegate) may decide it")
        }
        if task.approverID != me { onBehalfOf = task.approverID }
        switch task.status {
        case "pending": break
        case "waiting":
            throw AtriumError(status: .conflict, code: "not_current_step", message: "this approval has not reached step \(task.step + 1) yet")
        default:
            throw AtriumError(status: .conflict, code: "already_decided", message: "this step was already decided (\(task.status))")
        }
        guard instance.status == .pending else {
            throw AtriumError(status: .conflict, code: "already_decided", message: "this approval is already \(instance.status.rawValue)")
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
        }
        return try await self.instance(instanceID, on: connection, logger: logger)
    }

    /// The submitter takes a pending submission back; the record becomes editable again.
    public func withdraw(_ instanceID: UUID, comment: String?, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                         logger: Logger) async throws -> Instance {
        let comment = try Self.comment(comment, required: false)
        let instance = try await instance(instanceID, lock: true, on: connection, logger: logger)
        guard instance.submittedBy == actor.user.id else {
            throw AtriumError(status: .forbidden, code: "not_submitter", message: "only the submitter may withdraw this approval")
        }
        guard instance.status == .pending else {
            throw AtriumError(status: .conflict, code: "already_decided", message: "this approval is already \(instance.status.rawValue)")
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

    /// The user and everyone she stands in for today (their out-of-office delegate): whose
    /// tasks she may decide and sees in her inbox.
    public func principals(of user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        [user] + (try await ids(connection.query("""
            SELECT user_id FROM approval_delegations WHERE delegate_id = \(user) AND \(unescaped: Self.today) BETWEEN starts_on AND ends_on
            """, logger: logger)))
    }

    /// Read shares so approvers (and, with `delegates`, whoever stands in for them today) and CC
    /// recipients can open the record; an existing share is kept as it is.
    func shareRead(_ recordID: UUID, with users: [UUID], delegates: Bool, by creator: UUID, on connection: PostgresConnection,
                   logger: Logger) async throws {
        guard !users.isEmpty else { return }
        var everyone = users
        if delegates {
            everyone += try await ids(connection.query("""
                SELECT delegate_id FROM approval_delegations WHERE user_id = ANY(\(users)) AND \(unescaped: Self.today) BETWEEN starts_on AND ends_on
                """, logger: logger))
        }
        try await connection.query("""
            INSERT INTO record_shares (tenant_id, record_id, grantee_kind, grantee_id, access, created_by)
            SELECT (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid), \(recordID), 'user', u, 'read', \(creator)
            FROM unnest(\(Array(Set(everyone)))::uuid[]) AS u
            ON CONFLICT (tenant_id, record_id, grantee_kind, grantee_id) DO NOTHING
            """, logger: logger)
    }

    /// Writes the binding's status field as the engine (a derived write: allowed on a locked
    /// record, audited under the acting user).
    func setStatus(_ state: ApprovalState, entity: EntityDefinition, recordID: UUID, actor: RecordEngine.Actor,
                   on connection: PostgresConnection, logger: Logger) async throws {
        guard let binding = records.approvalBinding(for: entity), let field = binding.statusField,
              let value = binding.statuses[state] ?? (binding.statuses.isEmpty ? state.rawValue : nil) else { return }
        let record = try await records.fetch(entity.key, id: recordID, deleted: false, on: connection, logger: logger)
        guard record.values[field]?.stringValue != value else { return }
        _ = try await records.update(entity.key, id: recordID, values: [field: .string(value)], expectedVersion: record.version,
                                     as: actor.derived, on: connection, logger: logger)
    }

    func audit(_ action: String, entity: String, recordID: UUID, details: [String: String], actor: RecordEngine.Actor,
               on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(.init(action: action, actor: .user(actor.user), entity: entity, recordID: recordID.uuidString.lowercased(),
                                        details: details, ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await records.currentTenant(on: connection, logger: logger), on: connection, logger: logger)
    }

    // MARK: Reading

    /// A record's submissions, newest first (the caller must be able to read the record).
    public func history(_ entityKey: String, id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection,
                        logger: Logger) async throws -> [Instance] {
        _ = try await records.get(entityKey, id: id, as: actor, on: connection, logger: logger)
        return try await instances(of: id, on: connection, logger: logger)
    }

    /// A record's submissions with their tasks, newest first, for a caller already known to
    /// read the record (the record page has just loaded it).
    func instances(of id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> [Instance] {
        var instances = try await Self.decodeInstances(connection.query("""
            SELECT \(unescaped: Self.instanceColumns) FROM approval_instances i WHERE i.record_id = \(id) ORDER BY i.submitted_at DESC, i.id DESC
            """, logger: logger))
        let ids = instances.map(\.id)
        let tasks = try await Self.decodeTasks(connection.query("""
            SELECT \(unescaped: Self.taskColumns) FROM approval_tasks t WHERE t.instance_id = ANY(\(ids)) ORDER BY t.step, t.approver_id
            """, logger: logger))
        for index in instances.indices { instances[index].tasks = tasks.filter { $0.instanceID == instances[index].id } }
        return instances
    }

    public struct InboxItem: Sendable {
        public let task: Task?
        public let instance: Instance
        public let record: Record?
        /// The approver the caller stands in for (delegation), if not the caller.
        public let onBehalfOf: UUID?
    }

    public struct Inbox: Sendable {
        /// Tasks waiting for the caller (or for someone the caller stands in for today).
        public let waiting: [InboxItem]
        /// Submissions the caller is copied on (latest 50).
        public let copied: [InboxItem]
        /// The caller's own submissions (latest 50).
        public let submitted: [InboxItem]
    }

    public func inbox(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> Inbox {
        let me = actor.user.id
        let standingFor = try await principals(of: me, on: connection, logger: logger)
        let tasks = try await Self.decodeTasks(connection.query("""
            SELECT \(unescaped: Self.taskColumns) FROM approval_tasks t
            WHERE t.status = 'pending' AND t.approver_id = ANY(\(standingFor))
            ORDER BY t.activated_at, t.id LIMIT 200
            """, logger: logger))
        let copiedIDs = try await ids(connection.query("""
            SELECT id FROM approval_instances WHERE \(me) = ANY(cc) ORDER BY submitted_at DESC LIMIT 50
            """, logger: logger))
        let submittedIDs = try await ids(connection.query("""
            SELECT id FROM approval_instances WHERE submitted_by = \(me) ORDER BY submitted_at DESC LIMIT 50
            """, logger: logger))
        let wanted = Array(Set(tasks.map(\.instanceID) + copiedIDs + submittedIDs))
        let instances = try await Self.decodeInstances(connection.query("""
            SELECT \(unescaped: Self.instanceColumns) FROM approval_instances i WHERE i.id = ANY(\(wanted))
            """, logger: logger))
        let byID = Dictionary(uniqueKeysWithValues: instances.map { ($0.id, $0) })
        let entities = try await records.entities(on: connection, logger: logger)
        // Every record in one statement (not one per item); the summary follows the caller's
        // field rules: a hidden field stays hidden here too.
        var binds = PostgresBindings()
        binds.append(Array(Set(instances.map(\.recordID))))
        let found = try await RecordEngine.decode(connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(RecordEngine.columns) FROM records r WHERE r.id = ANY($1) AND r.deleted_at IS NULL", binds: binds), logger: logger))
        var recordCache: [UUID: Record] = [:]
        for record in found {
            guard let entity = entities[record.entity] else { continue }
            recordCache[record.id] = actor.access.redact(record, entity: entity)
        }
        var waiting: [InboxItem] = []
        for task in tasks {
            guard let instance = byID[task.instanceID] else { continue }
            waiting.append(InboxItem(task: task, instance: instance, record: recordCache[instance.recordID],
                                     onBehalfOf: task.approverID == me ? nil : task.approverID))
        }
        var copied: [InboxItem] = []
        for id in copiedIDs { if let instance = byID[id] { copied.append(InboxItem(task: nil, instance: instance, record: recordCache[instance.recordID], onBehalfOf: nil)) } }
        var submitted: [InboxItem] = []
        for id in submittedIDs { if let instance = byID[id] { submitted.append(InboxItem(task: nil, instance: instance, record: recordCache[instance.recordID], onBehalfOf: nil)) } }
        return Inbox(waiting: waiting, copied: copied, submitted: submitted)
    }

    // MARK: Delegation

    public struct Delegation: Sendable {
        public let id: UUID
        public let userID: UUID
        public let delegateID: UUID
        public let startsOn: String
        public let endsOn: String

        public var json: JSONValue {
            .object(["id": .string(id.uuidString.lowercased()), "user_id": .string(userID.uuidString.lowercased()),
                     "delegate_id": .string(delegateID.uuidString.lowercased()), "starts_on": .string(startsOn), "ends_on": .string(endsOn)])
        }
    }

    static func decodeDelegations(_ rows: PostgresRowSequence) async throws -> [Delegation] {
        var result: [Delegation] = []
        for try await (id, user, delegate, starts, ends) in rows.decode((UUID, UUID, UUID, String, String).self) {
            result.append(Delegation(id: id, userID: user, delegateID: delegate, startsOn: starts, endsOn: ends))
        }
        return result
    }

    /// The caller's delegations (given and received); administrators see all.
    public func delegations(as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> [Delegation] {
        let me = actor.user.id
        return try await Self.decodeDelegations(connection.query("""
            SELECT id, user_id, delegate_id, starts_on::text, ends_on::text FROM approval_delegations
            WHERE \(actor.user.isAdmin) OR user_id = \(me) OR delegate_id = \(me) ORDER BY starts_on DESC, id
            """, logger: logger))
    }

    /// Out of office: `delegate` acts for `user` (the caller unless an administrator names
    /// someone) on every day from `startsOn` to `endsOn` inclusive.
    public func delegate(user: UUID?, to delegate: UUID, from startsOn: String, to endsOn: String, as actor: RecordEngine.Actor,
                         on connection: PostgresConnection, logger: Logger) async throws -> Delegation {
        let user = user ?? actor.user.id
        guard user == actor.user.id || actor.user.isAdmin else {
            throw AtriumError(status: .forbidden, code: "admin_only", message: "only administrators may set a delegate for someone else")
        }
        guard user != delegate else { throw AtriumError.validation(field: "delegate_id", "must be someone else") }
        for (field, value) in [("starts_on", startsOn), ("ends_on", endsOn)] {
            guard (try? FieldValidator.normalise(.string(value), for: FieldDefinition(key: field, labels: [:], type: .date))) != nil else {
                throw AtriumError.validation(field: field, "must be a date (YYYY-MM-DD)")
            }
        }
        guard endsOn >= startsOn else { throw AtriumError.validation(field: "ends_on", "must not be before starts_on") }
        for (field, id) in [("user_id", user), ("delegate_id", delegate)] {
            let found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(id) AND is_active", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AtriumError.validation(field: field, "names no active user of this tenant") }
        }
        let tenantID = try await records.currentTenant(on: connection, logger: logger)
        let created = try await Self.decodeDelegations(connection.query("""
            INSERT INTO approval_delegations (tenant_id, user_id, delegate_id, starts_on, ends_on, created_by)
            VALUES (\(tenantID), \(user), \(delegate), \(startsOn)::date, \(endsOn)::date, \(actor.user.id))
            RETURNING id, user_id, delegate_id, starts_on::text, ends_on::text
            """, logger: logger))[0]
        // What already waits for the user becomes readable to the delegate.
        let waiting = try await ids(connection.query("""
            SELECT DISTINCT i.record_id FROM approval_tasks t JOIN approval_instances i ON i.tenant_id = t.tenant_id AND i.id = t.instance_id
            WHERE t.approver_id = \(user) AND t.status IN ('pending', 'waiting')
            """, logger: logger))
        for record in waiting { try await shareRead(record, with: [delegate], delegates: false, by: actor.user.id, on: connection, logger: logger) }
        try await AuditLog.record(.init(action: "approval.delegated", actor: .user(actor.user), entity: "approval_delegation",
                                        recordID: created.id.uuidString.lowercased(),
                                        details: ["user": user.uuidString.lowercased(), "delegate": delegate.uuidString.lowercased(),
                                                  "starts_on": startsOn, "ends_on": endsOn],
                                        ip: actor.ip, requestID: actor.requestID), tenantID: tenantID, on: connection, logger: logger)
        return created
    }

    public func removeDelegation(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let removed = try await connection.query("""
            DELETE FROM approval_delegations WHERE id = \(id) AND (\(actor.user.isAdmin) OR user_id = \(actor.user.id)) RETURNING id
            """, logger: logger).collect().count
        guard removed == 1 else { throw AtriumError(status: .notFound, code: "delegation_not_found", message: "no such delegation of yours") }
        try await AuditLog.record(.init(action: "approval.delegation_removed", actor: .user(actor.user), entity: "approval_delegation",
                                        recordID: id.uuidString.lowercased(), ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await records.currentTenant(on: connection, logger: logger), on: connection, logger: logger)
    }
}

extension RecordEngine {
    /// The entity's approval binding: the module's, or the `approval_status` convention.
    public func approvalBinding(for entity: EntityDefinition) -> ApprovalBinding? {
        if let binding = approvals[entity.key] { return binding }
        guard entity.field("approval_status") != nil else { return nil }
        return ApprovalBinding(entity: entity.key, statusField: "approval_status")
    }

    /// Whether the record satisfies a condition in the filter language (no condition: yes).
    func matches(_ condition: JSONValue?, record: Record, entity: EntityDefinition, entities: [String: EntityDefinition],
                 on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard let condition else { return true }
        var compiler = QueryCompiler(entity: entity, entities: entities)
        compiler.tenantParam = compiler.bind(try await currentTenant(on: connection, logger: logger))
        let idParam = compiler.bind(record.id)
        let clause = try compiler.condition(condition)
        let sql = "SELECT count(*)::int FROM records r WHERE r.tenant_id = \(compiler.tenantParam!) AND r.id = \(idParam) AND \(clause)"
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: compiler.binds), logger: logger).collect().first?.decode(Int.self) ?? 0 > 0
    }

    /// User writes to a record under approval are refused: while pending (update and delete),
    /// and after approval (update and delete) or rejection (update). Derived and system writes
    /// (the approval engine, a module's payment action) pass.
    func checkApprovalLock(_ record: Record, deleting: Bool, actor: Actor, on connection: PostgresConnection, logger: Logger) async throws {
        guard !actor.access.writesComputed, actor.access.userID != nil else { return }
        let rows = try await connection.query("""
            SELECT status FROM approval_instances WHERE record_id = \(record.id) ORDER BY submitted_at DESC, id DESC LIMIT 1
            """, logger: logger).collect()
        guard let status = try rows.first?.decode(String.self) else { return }
        let message: String
        switch status {
        case "pending": message = "this record is waiting for approval and cannot be changed; the submitter may withdraw it first"
        case "approved": message = "this record was approved and can no longer be changed"
        case "rejected" where !deleting: message = "this record was rejected and can no longer be changed"
        default: return
        }
        var error = AtriumError(status: .conflict, code: "approval_locked", message: message)
        error.messageKey = "approvals.locked_\(status)"
        throw error
    }
}

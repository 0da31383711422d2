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
/// recomputed). Runs inside the submit transaction; throwing a ``DomainError`` (such as an
/// ``AtriumError/validation(field:_:)``) refuses it.
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
            throw ApprovalError.approvalNotFound(id.uuidString.lowercased())
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

    func ids(_ rows: PostgresRowSequence) async throws -> [UUID] {
        var result: [UUID] = []
        for try await id in rows.decode(UUID.self) { result.append(id) }
        return result
    }
}

import Foundation
import Logging
import PostgresNIO

/// An approval process, defined by a tenant administrator as data (审批流程):
///
/// ```json
/// {"entity": "expense_claim", "name": "报销审批", "priority": 10,
///  "condition": {"field": "department_id", "op": "eq", "value": "<East's id>"},
///  "steps": [
///    {"name": "直属上级", "approvers": [{"kind": "manager"}]},
///    {"name": "财务总监", "approvers": [{"kind": "user", "id": "<uuid>"}],
///     "condition": {"field": "total", "op": "gt", "value": 5000}},
///    {"name": "财务", "approvers": [{"kind": "role", "key": "finance"}], "mode": "any"}],
///  "cc": [{"kind": "role", "key": "sales_director"}]}
/// ```
/// Conditions use the record filter language (so they can test any field, a lookup's field, the
/// owner or `department_id`); the first active process of the entity (by priority) whose
/// condition matches is used, and a step whose condition does not match is skipped.
public struct ApprovalProcess: Sendable, Codable, Equatable {
    public var id: UUID?
    public var entity: String
    public var name: String
    public var priority: Int
    public var condition: JSONValue?
    public var steps: [Step]
    public var cc: [Approver]
    public var active: Bool
    public var version: Int?

    public struct Step: Sendable, Codable, Equatable {
        public var name: String
        public var approvers: [Approver]
        /// `any`: the first approval completes the step; `all`: every approver must approve.
        public var mode: Mode
        public var condition: JSONValue?
        /// When no one fills the approver rule (the boss has no manager): skip the step instead
        /// of refusing the submission.
        public var skipIfNoApprover: Bool

        public init(name: String, approvers: [Approver], mode: Mode = .any, condition: JSONValue? = nil, skipIfNoApprover: Bool = false) {
            self.name = name
            self.approvers = approvers
            self.mode = mode
            self.condition = condition
            self.skipIfNoApprover = skipIfNoApprover
        }

        enum CodingKeys: String, CodingKey { case name, approvers, mode, condition, skipIfNoApprover = "skip_if_no_approver" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            approvers = try container.decode([Approver].self, forKey: .approvers)
            mode = try container.decodeIfPresent(Mode.self, forKey: .mode) ?? .any
            condition = try container.decodeIfPresent(JSONValue.self, forKey: .condition)
            if condition?.isNull == true { condition = nil }
            skipIfNoApprover = try container.decodeIfPresent(Bool.self, forKey: .skipIfNoApprover) ?? false
        }
    }

    public enum Mode: String, Sendable, Codable { case any, all }

    /// Who approves: a fixed user, every member of a role, the submitter's manager, the
    /// manager's manager, or the head of a department (the submitter's own when `id` is absent).
    public struct Approver: Sendable, Codable, Equatable {
        public var kind: Kind
        public var id: UUID?
        /// A role may be named by key instead of id (resolved when the process is saved).
        public var key: String?

        public init(kind: Kind, id: UUID? = nil, key: String? = nil) {
            self.kind = kind
            self.id = id
            self.key = key
        }

        public enum Kind: String, Sendable, Codable, CaseIterable {
            case user, role, manager
            case secondManager = "manager_of_manager"
            case departmentHead = "department_head"
        }
    }

    public init(id: UUID? = nil, entity: String, name: String, priority: Int = 100, condition: JSONValue? = nil, steps: [Step],
                cc: [Approver] = [], active: Bool = true) {
        self.id = id
        self.entity = entity
        self.name = name
        self.priority = priority
        self.condition = condition
        self.steps = steps
        self.cc = cc
        self.active = active
    }

    enum CodingKeys: String, CodingKey { case id, entity, name, priority, condition, steps, cc, active, version }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(UUID.self, forKey: .id)
        entity = try container.decode(String.self, forKey: .entity)
        name = try container.decode(String.self, forKey: .name)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority) ?? 100
        condition = try container.decodeIfPresent(JSONValue.self, forKey: .condition)
        if condition?.isNull == true { condition = nil }
        steps = try container.decode([Step].self, forKey: .steps)
        cc = try container.decodeIfPresent([Approver].self, forKey: .cc) ?? []
        active = try container.decodeIfPresent(Bool.self, forKey: .active) ?? true
        version = try container.decodeIfPresent(Int.self, forKey: .version)
    }

    /// Decodes a process from a request body, naming the field that is wrong.
    public static func decode(_ body: JSONValue) throws -> ApprovalProcess {
        try RecordRoutes.decode(ApprovalProcess.self, from: body)
    }
}

/// Stores and checks approval processes (tenant administrators only; the routes check that).
public struct ApprovalProcesses: Sendable {
    let engine: RecordEngine

    public init(engine: RecordEngine) {
        self.engine = engine
    }

    static let columns = "id, entity, name, priority, condition::text, steps::text, cc::text, active, version"

    static func decode(_ rows: PostgresRowSequence) async throws -> [ApprovalProcess] {
        var result: [ApprovalProcess] = []
        for try await (id, entity, name, priority, condition, steps, cc, active, version) in rows.decode(
            (UUID, String, String, Int, String?, String, String, Bool, Int).self
        ) {
            let decoder = JSONDecoder()
            var process = ApprovalProcess(id: id, entity: entity, name: name, priority: priority,
                                          condition: try condition.map(JSONValue.parse).flatMap { $0.isNull ? nil : $0 },
                                          steps: try decoder.decode([ApprovalProcess.Step].self, from: Data(steps.utf8)),
                                          cc: try decoder.decode([ApprovalProcess.Approver].self, from: Data(cc.utf8)), active: active)
            process.version = version
            result.append(process)
        }
        return result
    }

    public func list(entity: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> [ApprovalProcess] {
        try await Self.decode(connection.query("""
            SELECT \(unescaped: Self.columns) FROM approval_processes
            WHERE (\(entity)::text IS NULL OR entity = \(entity)) ORDER BY entity, priority, name, id
            """, logger: logger))
    }

    public func get(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> ApprovalProcess {
        guard let process = try await Self.decode(connection.query(
            "SELECT \(unescaped: Self.columns) FROM approval_processes WHERE id = \(id)", logger: logger)).first else {
            throw ApprovalError.processNotFound(id.uuidString.lowercased())
        }
        return process
    }

    /// Creates (no id) or replaces (id given, with the version last read) a process after
    /// checking the entity, conditions and approvers; audited.
    public func save(_ input: ApprovalProcess, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws -> ApprovalProcess {
        var process = try await checked(input, on: connection, logger: logger)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let steps = String(decoding: try encoder.encode(process.steps), as: UTF8.self)
        let cc = String(decoding: try encoder.encode(process.cc), as: UTF8.self)
        let condition = process.condition?.jsonText
        let tenantID = try await engine.currentTenant(on: connection, logger: logger)
        let saved: [ApprovalProcess]
        if let id = process.id {
            let existing = try await get(id, on: connection, logger: logger)
            guard let version = process.version else { throw AtriumError.validation(field: "version", "is required when changing a process") }
            guard existing.version == version else {
                throw ApprovalError.processVersionConflict(current: existing.version ?? 0, sent: version)
            }
            saved = try await Self.decode(connection.query("""
                UPDATE approval_processes SET entity = \(process.entity), name = \(process.name), priority = \(process.priority),
                    condition = \(condition)::jsonb, steps = \(steps)::jsonb, cc = \(cc)::jsonb, active = \(process.active),
                    version = version + 1, updated_at = now()
                WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                """, logger: logger))
        } else {
            saved = try await Self.decode(connection.query("""
                INSERT INTO approval_processes (tenant_id, entity, name, priority, condition, steps, cc, active)
                VALUES (\(tenantID), \(process.entity), \(process.name), \(process.priority), \(condition)::jsonb, \(steps)::jsonb, \(cc)::jsonb, \(process.active))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger))
        }
        // An update finds no row when the process was deleted since it was read.
        guard let first = saved.first else {
            if let id = process.id { throw ApprovalError.processNotFound(id.uuidString.lowercased()) }
            throw MissingRow(file: #fileID, line: #line)
        }
        process = first
        try await AuditLog.record(.init(action: input.id == nil ? "approval_process.created" : "approval_process.updated", actor: .user(actor.user),
                                        entity: "approval_process", recordID: process.id?.uuidString.lowercased(),
                                        details: ["name": process.name, "entity": process.entity, "steps": "\(process.steps.count)"],
                                        ip: actor.ip, requestID: actor.requestID),
                                  tenantID: tenantID, on: connection, logger: logger)
        return process
    }

    /// Deactivates a process that has been used (instances keep pointing at it), deletes one
    /// that never was.
    public func delete(_ id: UUID, as actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        let process = try await get(id, on: connection, logger: logger)
        let used = try await connection.query("SELECT count(*)::int FROM approval_instances WHERE process_id = \(id)", logger: logger)
            .collect().first?.decode(Int.self) ?? 0
        if used > 0 {
            try await connection.query("UPDATE approval_processes SET active = false, version = version + 1, updated_at = now() WHERE id = \(id)", logger: logger)
        } else {
            try await connection.query("DELETE FROM approval_processes WHERE id = \(id)", logger: logger)
        }
        try await AuditLog.record(.init(action: used > 0 ? "approval_process.deactivated" : "approval_process.deleted", actor: .user(actor.user),
                                        entity: "approval_process", recordID: id.uuidString.lowercased(), details: ["name": process.name],
                                        ip: actor.ip, requestID: actor.requestID),
                                  tenantID: try await engine.currentTenant(on: connection, logger: logger), on: connection, logger: logger)
    }

    /// The process with names trimmed, roles named by key resolved to ids, and every
    /// reference and condition checked; errors name the field (`steps.1.approvers.0.id`).
    func checked(_ input: ApprovalProcess, on connection: PostgresConnection, logger: Logger) async throws -> ApprovalProcess {
        var process = input
        process.name = process.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(process.name.count) else { throw AtriumError.validation(field: "name", "must be 1 to 100 characters") }
        guard (0...10_000).contains(process.priority) else { throw AtriumError.validation(field: "priority", "must be 0 to 10000") }
        let entities = try await engine.entities(on: connection, logger: logger)
        guard let entity = entities[process.entity] else { throw AtriumError.validation(field: "entity", "names no entity of this tenant") }
        try checkCondition(process.condition, entity: entity, entities: entities, field: "condition")
        guard (1...10).contains(process.steps.count) else { throw AtriumError.validation(field: "steps", "must list 1 to 10 steps") }
        for index in process.steps.indices {
            let base = "steps.\(index)"
            process.steps[index].name = process.steps[index].name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...100).contains(process.steps[index].name.count) else { throw AtriumError.validation(field: "\(base).name", "must be 1 to 100 characters") }
            guard (1...10).contains(process.steps[index].approvers.count) else {
                throw AtriumError.validation(field: "\(base).approvers", "must list 1 to 10 approvers")
            }
            try checkCondition(process.steps[index].condition, entity: entity, entities: entities, field: "\(base).condition")
            for approver in process.steps[index].approvers.indices {
                process.steps[index].approvers[approver] = try await checked(process.steps[index].approvers[approver], field: "\(base).approvers.\(approver)",
                                                                             on: connection, logger: logger)
            }
        }
        guard process.cc.count <= 20 else { throw AtriumError.validation(field: "cc", "may list at most 20 recipients") }
        for index in process.cc.indices {
            process.cc[index] = try await checked(process.cc[index], field: "cc.\(index)", on: connection, logger: logger)
        }
        return process
    }

    func checkCondition(_ condition: JSONValue?, entity: EntityDefinition, entities: [String: EntityDefinition], field: String) throws {
        guard let condition else { return }
        var compiler = QueryCompiler(entity: entity, entities: entities)
        do {
            _ = try compiler.condition(condition)
        } catch let error as AtriumError {
            throw AtriumError.validation(field: field, error.message)
        }
    }

    func checked(_ approver: ApprovalProcess.Approver, field: String, on connection: PostgresConnection, logger: Logger) async throws -> ApprovalProcess.Approver {
        var approver = approver
        switch approver.kind {
        case .user:
            guard let id = approver.id else { throw AtriumError.validation(field: "\(field).id", "is required for a user approver") }
            let found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(id) AND is_active", logger: logger)
                .collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AtriumError.validation(field: "\(field).id", "names no active user of this tenant") }
            approver.key = nil
        case .role:
            if approver.id == nil, let key = approver.key {
                approver.id = try await connection.query("SELECT id FROM roles WHERE key = \(key)", logger: logger).collect().first?.decode(UUID.self)
                guard approver.id != nil else { throw AtriumError.validation(field: "\(field).key", "names no role of this tenant") }
            }
            guard let id = approver.id else { throw AtriumError.validation(field: "\(field).id", "is required for a role approver (or give its key)") }
            let found = try await connection.query("SELECT count(*)::int FROM roles WHERE id = \(id)", logger: logger).collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AtriumError.validation(field: "\(field).id", "names no role of this tenant") }
            approver.key = nil
        case .departmentHead:
            if let id = approver.id {
                let found = try await connection.query("SELECT count(*)::int FROM departments WHERE id = \(id)", logger: logger)
                    .collect().first?.decode(Int.self) ?? 0
                guard found == 1 else { throw AtriumError.validation(field: "\(field).id", "names no department of this tenant") }
            }
            approver.key = nil
        case .manager, .secondManager:
            approver.id = nil
            approver.key = nil
        }
        return approver
    }
}

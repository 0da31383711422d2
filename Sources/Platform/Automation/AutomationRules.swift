import Foundation
import Logging
import PostgresNIO

/// The tenant's automation rules in `automation_rules` (under RLS), checked against the
/// tenant's metadata before they are stored, and what they did (`automation_runs`).
public enum AutomationRules {
    static let columns = "id, name, entity, trigger::text, condition::text, actions::text, active, created_by, created_at, updated_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [AutomationRule] {
        var rules: [AutomationRule] = []
        for try await (id, name, entity, trigger, condition, actions, active, createdBy, createdAt, updatedAt)
            in rows.decode((UUID, String, String, String, String?, String, Bool, UUID, Date, Date).self) {
            guard case .array(let items) = try JSONValue.parse(actions) else { continue }
            rules.append(AutomationRule(
                id: id, name: name, entity: entity, trigger: try .init(json: try JSONValue.parse(trigger)),
                condition: try condition.map(JSONValue.parse), actions: try items.enumerated().map { try .init(json: $1, at: "actions[\($0)]") },
                active: active, createdBy: createdBy, createdAt: createdAt, updatedAt: updatedAt))
        }
        return rules
    }

    public static func list(entity: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> [AutomationRule] {
        try await decode(connection.query("""
            SELECT \(unescaped: columns) FROM automation_rules WHERE \(entity)::text IS NULL OR entity = \(entity) ORDER BY entity, created_at, id
            """, logger: logger))
    }

    public static func find(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> AutomationRule {
        guard let rule = try await decode(connection.query("SELECT \(unescaped: columns) FROM automation_rules WHERE id = \(id)", logger: logger)).first else {
            throw AutomationError.notFound(id.uuidString.lowercased())
        }
        return rule
    }

    /// A rule as sent: every part present and of the right shape (not yet checked against the
    /// tenant; ``check(_:engine:on:logger:)`` does that).
    public struct Draft: Sendable {
        public var name: String
        public var entity: String
        public var trigger: AutomationRule.Trigger
        public var condition: JSONValue?
        public var actions: [AutomationRule.Action]
        public var active: Bool

        public init(name: String, entity: String, trigger: AutomationRule.Trigger, condition: JSONValue? = nil, actions: [AutomationRule.Action],
                    active: Bool = true) {
            self.name = name
            self.entity = entity
            self.trigger = trigger
            self.condition = condition
            self.actions = actions
            self.active = active
        }

        /// From a JSON body; with `base`, keys not sent keep the base's values (PATCH).
        public init(json body: [String: JSONValue], base: AutomationRule? = nil) throws {
            let known: Set<String> = ["name", "entity", "trigger", "condition", "actions", "active"]
            if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
                throw AutomationError.invalid(field: unknown, reason: "is not a rule field (name, entity, trigger, condition, actions, active)")
            }
            switch body["name"] {
            case .string(let text)?:
                let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard (1...100).contains(name.count) else { throw AutomationError.invalid(field: "name", reason: "must be 1 to 100 characters") }
                self.name = name
            case nil where base != nil: self.name = base!.name
            case nil: throw AutomationError.invalid(field: "name", reason: "is required")
            default: throw AutomationError.invalid(field: "name", reason: "must be a string")
            }
            switch body["entity"] {
            case .string(let key)?: self.entity = key
            case nil where base != nil: self.entity = base!.entity
            case nil: throw AutomationError.invalid(field: "entity", reason: "is required: the entity whose records the rule watches")
            default: throw AutomationError.invalid(field: "entity", reason: "must be an entity key")
            }
            switch body["trigger"] {
            case let json?: self.trigger = try .init(json: json)
            case nil where base != nil: self.trigger = base!.trigger
            case nil: throw AutomationError.invalid(field: "trigger", reason: "is required, e.g. {\"type\": \"created\"}")
            }
            switch body["condition"] {
            case .null?: self.condition = nil
            case let json?: self.condition = json
            case nil: self.condition = base?.condition
            }
            switch body["actions"] {
            case .array(let items)?:
                guard (1...10).contains(items.count) else { throw AutomationError.invalid(field: "actions", reason: "must list 1 to 10 actions") }
                self.actions = try items.enumerated().map { try .init(json: $1, at: "actions[\($0)]") }
            case nil where base != nil: self.actions = base!.actions
            case nil: throw AutomationError.invalid(field: "actions", reason: "is required: what the rule does")
            default: throw AutomationError.invalid(field: "actions", reason: "must be an array of actions")
            }
            switch body["active"] {
            case .bool(let flag)?: self.active = flag
            case nil: self.active = base?.active ?? true
            default: throw AutomationError.invalid(field: "active", reason: "must be true or false")
            }
        }
    }

    /// Checks a draft against the tenant: the entity and every field it names exist and fit
    /// (a date trigger on a date field, a user recipient field of type user), the condition
    /// compiles, set values are valid for their fields, roles, users and webhook endpoints
    /// exist, and `create_task` has the activities module's tasks. Returns the draft with
    /// values in stored form.
    public static func check(_ draft: Draft, engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws -> Draft {
        var draft = draft
        let entities = try await engine.entities(on: connection, logger: logger)
        guard let entity = entities[draft.entity] else { throw AutomationError.invalid(field: "entity", reason: "there is no entity '\(draft.entity.prefix(63))'") }
        func field(_ key: String, at path: String) throws -> FieldDefinition {
            guard let field = entity.field(key), field.active else { throw AutomationError.invalid(field: path, reason: "\(entity.key) has no field '\(key.prefix(63))'") }
            return field
        }
        switch draft.trigger {
        case .fieldChanged(let key, let to):
            let definition = try field(key, at: "trigger.field")
            if let to {
                do {
                    draft.trigger = .fieldChanged(field: key, to: try RecordEngine.normalised(to, field: definition))
                } catch let error as AtriumError {
                    throw AutomationError.invalid(field: "trigger.to", reason: error.message)
                }
            }
        case .date(let key, _):
            guard try field(key, at: "trigger.field").type == .date || entity.field(key)?.type == .datetime else {
                throw AutomationError.invalid(field: "trigger.field", reason: "'\(key)' is not a date or date-time field")
            }
        case .approval:
            guard engine.approvalBinding(for: entity) != nil || entity.field("approval_status") != nil else {
                throw AutomationError.invalid(field: "trigger.type", reason: "\(entity.key) records do not go through approval")
            }
        default: break
        }
        if let condition = draft.condition {
            var compiler = QueryCompiler(entity: entity, entities: entities)
            do {
                _ = try compiler.condition(condition)
            } catch let error as AtriumError {
                throw AutomationError.invalid(field: "condition", reason: error.message)
            }
        }
        for (index, action) in draft.actions.enumerated() {
            let path = "actions[\(index)]"
            switch action {
            case .notify(let to, _):
                for (position, recipient) in to.enumerated() {
                    try await checkRecipient(recipient, entity: entity, at: "\(path).to[\(position)]", on: connection, logger: logger)
                }
            case .setField(let key, let value):
                let definition = try field(key, at: "\(path).field")
                guard !definition.computed, definition.type != .autoNumber else {
                    throw AutomationError.invalid(field: "\(path).field", reason: "'\(key)' is computed; a rule cannot set it")
                }
                let resolved = try Automation.resolveValue(value, field: definition, key: "\(path).value")
                if resolved.isNull {
                    guard !definition.required else { throw AutomationError.invalid(field: "\(path).value", reason: "'\(key)' is required; it cannot be emptied") }
                    continue
                }
                do {
                    let stored = try RecordEngine.normalised(resolved, field: definition)
                    if resolved == value { draft.actions[index] = .setField(field: key, value: stored) }
                } catch let error as AtriumError {
                    throw AutomationError.invalid(field: "\(path).value", reason: error.message)
                }
            case .createTask(_, _, let assignee, let priority):
                guard let task = entities["task"] else {
                    throw AutomationError.invalid(field: "\(path).type", reason: "tasks come with the activities module, which this tenant has not enabled")
                }
                try await checkRecipient(assignee, entity: entity, at: "\(path).assignee", on: connection, logger: logger)
                if let priority, !(task.field("priority")?.options?.contains { $0.value == priority } ?? false) {
                    throw AutomationError.invalid(field: "\(path).priority", reason: "'\(priority.prefix(40))' is not a task priority")
                }
            case .webhook(let endpoint):
                do {
                    _ = try await Webhooks.find(endpoint, on: connection, logger: logger)
                } catch is WebhookError {
                    throw AutomationError.invalid(field: "\(path).endpoint_id", reason: "names no webhook endpoint of this tenant")
                }
            }
        }
        return draft
    }

    static func checkRecipient(_ recipient: AutomationRule.Recipient, entity: EntityDefinition, at path: String,
                               on connection: PostgresConnection, logger: Logger) async throws {
        switch recipient {
        case .owner, .ownerManager: return
        case .user(let id):
            let found = try await connection.query("SELECT count(*)::int FROM users WHERE id = \(id)", logger: logger).collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AutomationError.invalid(field: path, reason: "names no user of this tenant") }
        case .role(let key):
            let found = try await connection.query("SELECT count(*)::int FROM roles WHERE key = \(key)", logger: logger).collect().first?.decode(Int.self) ?? 0
            guard found == 1 else { throw AutomationError.invalid(field: path, reason: "names no role of this tenant") }
        case .field(let key):
            guard let field = entity.field(key), field.active, field.type == .user else {
                throw AutomationError.invalid(field: path, reason: "'\(key.prefix(63))' is not a user field of \(entity.key)")
            }
        }
    }

    public static func create(_ draft: Draft, by user: UUID, on connection: PostgresConnection, logger: Logger) async throws -> AutomationRule {
        try await decode(connection.query("""
            INSERT INTO automation_rules (tenant_id, name, entity, trigger, condition, actions, active, created_by)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(draft.name), \(draft.entity), \(draft.trigger.json.jsonText)::jsonb,
                    \(draft.condition?.jsonText)::jsonb, \(JSONValue.array(draft.actions.map(\.json)).jsonText)::jsonb, \(draft.active), \(user))
            RETURNING \(unescaped: columns)
            """, logger: logger))[0]
    }

    public static func change(_ id: UUID, to draft: Draft, on connection: PostgresConnection, logger: Logger) async throws -> AutomationRule {
        guard let rule = try await decode(connection.query("""
            UPDATE automation_rules SET name = \(draft.name), entity = \(draft.entity), trigger = \(draft.trigger.json.jsonText)::jsonb,
                condition = \(draft.condition?.jsonText)::jsonb, actions = \(JSONValue.array(draft.actions.map(\.json)).jsonText)::jsonb,
                active = \(draft.active), updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: columns)
            """, logger: logger)).first else {
            throw AutomationError.notFound(id.uuidString.lowercased())
        }
        return rule
    }

    public static func delete(_ id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        let deleted = try await connection.query("DELETE FROM automation_rules WHERE id = \(id) RETURNING id", logger: logger).collect().count
        guard deleted == 1 else { throw AutomationError.notFound(id.uuidString.lowercased()) }
    }

    /// One firing of a rule, as `automation_runs` keeps it.
    public struct Run: Sendable, Equatable {
        public let id: Int64
        public let ruleID: UUID
        public let entity: String
        public let recordID: UUID
        public let trigger: String
        public let status: String
        public let detail: JSONValue
        public let depth: Int
        public let at: Date

        public var json: JSONValue {
            .object(["id": .number(Decimal(id)), "rule_id": .string(ruleID.uuidString.lowercased()), "entity": .string(entity),
                     "record_id": .string(recordID.uuidString.lowercased()), "trigger": .string(trigger), "status": .string(status),
                     "detail": detail, "depth": .number(Decimal(depth)), "at": .string(at.formatted(.iso8601))])
        }
    }

    /// The latest runs, newest first (of one rule, or of all).
    public static func runs(of rule: UUID? = nil, limit: Int = 100, on connection: PostgresConnection, logger: Logger) async throws -> [Run] {
        var runs: [Run] = []
        for try await (id, ruleID, entity, recordID, trigger, status, detail, depth, at) in try await connection.query("""
            SELECT id, rule_id, entity, record_id, trigger, status, detail::text, depth, at FROM automation_runs
            WHERE \(rule)::uuid IS NULL OR rule_id = \(rule) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger).decode((Int64, UUID, String, UUID, String, String, String, Int, Date).self) {
            runs.append(Run(id: id, ruleID: ruleID, entity: entity, recordID: recordID, trigger: trigger, status: status,
                            detail: try JSONValue.parse(detail), depth: depth, at: at))
        }
        return runs
    }
}

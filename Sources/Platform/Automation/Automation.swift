import Foundation
import Logging
import PostgresNIO

/// Runs a tenant's automation rules inside the write that fired them.
///
/// The record engine calls ``fire(_:record:entity:actor:engine:on:logger:)`` after a create or an
/// update (after the module's hooks), the approval engine when an approval ends, the scheduler's
/// ``AutomationDates`` job for date rules. A rule whose trigger and condition match runs its
/// actions in the same transaction, under a savepoint:
/// - its writes are the triggering user's, with ``AccessContext/derived`` access (a rule may
///   set a field the user may not, as a module's rule may), and they are audited with the
///   request id `automation:<rule id>`, so the trail says which rule wrote;
/// - a failing action rolls back the rule's own work only (the user's write stands), is kept
///   in `automation_runs` as `failed` with the reason, and tells the rule's author;
/// - rules fired by rules go at most ``maxDepth`` deep; deeper ones are logged as `skipped`,
///   so two rules that set each other's fields cannot loop.
public enum Automation {
    public static let maxDepth = 3
    /// How deep the current write is in rule-fired writes (0: a person's or a job's own write).
    @TaskLocal static var depth = 0

    public enum Event: Sendable {
        case created
        case updated(previous: Record)
        case approval(ApprovalState)
        /// A date rule's day came (the scheduler's job).
        case date

        var name: String {
            switch self {
            case .created: "created"
            case .updated: "updated"
            case .approval(let state): "approval.\(state.rawValue)"
            case .date: "date"
            }
        }
    }

    /// Runs the entity's active rules that `event` triggers for `record`; true when any was
    /// looked at (the record may have changed since).
    @discardableResult
    public static func fire(_ event: Event, record: Record, entity: EntityDefinition, actor: RecordEngine.Actor, engine: RecordEngine,
                            on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rules = entity.automationRules.filter { $0.active && triggers($0.trigger, event, record) }
        for rule in rules {
            try await run(rule, event: event, record: record, entity: entity, actor: actor, engine: engine, on: connection, logger: logger)
        }
        return !rules.isEmpty
    }

    static func triggers(_ trigger: AutomationRule.Trigger, _ event: Event, _ record: Record) -> Bool {
        switch (trigger, event) {
        case (.created, .created), (.updated, .updated), (.createdOrUpdated, .created), (.createdOrUpdated, .updated):
            return true
        case (.fieldChanged(let field, let to), .created):
            guard let value = record.values[field], !value.isNull else { return false }
            return to == nil || to == value
        case (.fieldChanged(let field, let to), .updated(let previous)):
            let value = record.values[field] ?? .null
            guard value != (previous.values[field] ?? .null) else { return false }
            return to == nil || to == value
        case (.approval(let outcome), .approval(let state)):
            return outcome.map { $0 == state.rawValue } ?? (state == .approved || state == .rejected)
        case (.date, .date):
            return true
        default:
            return false
        }
    }

    /// One rule on one record: condition, then actions under a savepoint, then the run's row.
    static func run(_ rule: AutomationRule, event: Event, record: Record, entity: EntityDefinition, actor: RecordEngine.Actor, engine: RecordEngine,
                    on connection: PostgresConnection, logger: Logger) async throws {
        let depth = Self.depth + 1
        guard depth <= maxDepth else {
            try await log(rule, record: record, event: event, status: "skipped", depth: depth,
                          detail: ["reason": .string("rules fired by rules go at most \(maxDepth) deep; this one would be \(depth)")],
                          on: connection, logger: logger)
            return
        }
        let savepoint = "automation_\(depth)"
        try await connection.query(PostgresQuery(unsafeSQL: "SAVEPOINT \(savepoint)"), logger: logger)
        var outcomes: [JSONValue] = []
        do {
            if let condition = rule.condition, !(try await holds(condition, for: record, entity: entity, actor: actor, engine: engine, on: connection, logger: logger)) {
                try await connection.query(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(savepoint)"), logger: logger)
                return
            }
            let ruleActor = RecordEngine.Actor(user: actor.user, ip: actor.ip, requestID: "automation:\(rule.id.uuidString.lowercased())", access: .derived)
            try await $depth.withValue(depth) {
                for (index, action) in rule.actions.enumerated() {
                    do {
                        outcomes.append(try await perform(action, rule: rule, record: record, entity: entity, actor: ruleActor, engine: engine,
                                                          on: connection, logger: logger))
                    } catch {
                        throw ActionFailure(index: index, action: action.type, error: error)
                    }
                }
            }
            try await connection.query(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(savepoint)"), logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try await connection.query(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT \(savepoint)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(savepoint)"), logger: logger)
            let reason = describe(error)
            var detail: [String: JSONValue] = ["error": .string(reason)]
            if let failure = error as? ActionFailure {
                detail["action"] = .number(Decimal(failure.index))
                detail["action_type"] = .string(failure.action)
            }
            logger.notice("automation rule failed", metadata: ["rule": "\(rule.id)", "record": "\(record.id)", "error": "\(reason)"])
            try await log(rule, record: record, event: event, status: "failed", depth: depth, detail: detail, on: connection, logger: logger)
            try await Notifications.notify([rule.createdBy], of: NotificationEvent(
                kind: "automation.failed", entity: entity.key, recordID: record.id,
                arguments: ["rule": rule.name, "record": entity.title(of: record, locale: "zh-CN") ?? "", "error": reason]), on: connection, logger: logger)
            return
        }
        try await log(rule, record: record, event: event, status: "done", depth: depth, detail: ["actions": .array(outcomes)], on: connection, logger: logger)
    }

    struct ActionFailure: Error {
        let index: Int
        let action: String
        let error: any Error
    }

    static func describe(_ error: any Error) -> String {
        let inner = (error as? ActionFailure)?.error ?? error
        if let domain = inner as? any DomainError {
            let wire = domain.atriumError
            return String(wire.message.prefix(500))
        }
        if let sql = inner as? PSQLError, let message = sql.serverInfo?[.message] { return String(message.prefix(500)) }
        return String(String(describing: inner).prefix(500))
    }

    /// Whether the record matches the rule's filter (the list query's own compiler, with the
    /// whole tenant in view: a rule's condition is the administrator's, not the user's).
    static func holds(_ condition: JSONValue, for record: Record, entity: EntityDefinition, actor: RecordEngine.Actor, engine: RecordEngine,
                      on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let filter = JSONValue.object(["and": .array([condition, .object(["field": .string("id"), "op": .string("eq"),
                                                                          "value": .string(record.id.uuidString.lowercased())])])])
        let page = try await engine.list(entity.key, query: RecordQuery(filter: filter, limit: 1),
                                         as: RecordEngine.Actor(user: actor.user, access: .system), on: connection, logger: logger)
        return !page.records.isEmpty
    }

    static func log(_ rule: AutomationRule, record: Record, event: Event, status: String, depth: Int, detail: [String: JSONValue],
                    on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO automation_runs (tenant_id, rule_id, entity, record_id, trigger, status, detail, depth)
            VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(rule.id), \(record.entity), \(record.id), \(event.name), \(status),
                    \(JSONValue.object(detail).jsonText)::jsonb, \(depth))
            """, logger: logger)
    }

    // MARK: Actions

    static func perform(_ action: AutomationRule.Action, rule: AutomationRule, record: Record, entity: EntityDefinition, actor: RecordEngine.Actor,
                        engine: RecordEngine, on connection: PostgresConnection, logger: Logger) async throws -> JSONValue {
        switch action {
        case .notify(let to, let message):
            var users: Set<UUID> = []
            for recipient in to {
                users.formUnion(try await resolve(recipient, record: record, on: connection, logger: logger))
            }
            let sorted = users.sorted { $0.uuidString < $1.uuidString }
            try await Notifications.notify(sorted, of: NotificationEvent(
                kind: "automation.rule", entity: entity.key, recordID: record.id,
                arguments: ["rule": rule.name, "record": entity.title(of: record, locale: "zh-CN") ?? "", "message": render(message, record: record, entity: entity)]),
                on: connection, logger: logger)
            return .object(["type": .string(action.type), "notified": .number(Decimal(sorted.count))])
        case .setField(let field, let value):
            let current = try await engine.fetch(entity.key, id: record.id, deleted: false, on: connection, logger: logger)
            let resolved = try resolveValue(value, field: entity.field(field), key: field)
            let updated = try await engine.update(entity.key, id: record.id, values: [field: resolved], expectedVersion: current.version, as: actor,
                                                  on: connection, logger: logger)
            return .object(["type": .string(action.type), "field": .string(field), "version": .number(Decimal(updated.version))])
        case .createTask(let subject, let days, let assignee, let priority):
            guard let person = try await resolve(assignee, record: record, on: connection, logger: logger).first else {
                throw AutomationError.invalid(field: "assignee", reason: "\(assignee.text) names nobody for this record")
            }
            var values: [String: JSONValue] = [
                "subject": .string(render(subject, record: record, entity: entity)), "assignee": .string(person.uuidString.lowercased()),
                "owner_id": .string(person.uuidString.lowercased()),
                "related_entity": .string(entity.key), "related_id": .string(record.id.uuidString.lowercased()),
            ]
            if let days { values["due_at"] = .string(Date().addingTimeInterval(TimeInterval(days) * 86_400).formatted(.iso8601)) }
            if let priority { values["priority"] = .string(priority) }
            let task = try await engine.create("task", values: values, as: actor, on: connection, logger: logger)
            return .object(["type": .string(action.type), "task_id": .string(task.id.uuidString.lowercased())])
        case .webhook(let endpointID):
            let endpoint = try await Webhooks.find(endpointID, on: connection, logger: logger)
            guard endpoint.active else { throw AutomationError.invalid(field: "endpoint_id", reason: "the webhook endpoint \(endpoint.url) is turned off") }
            let body = JSONValue.object([
                "event": .string("automation.rule"), "occurred_at": .string(Date().formatted(.iso8601)),
                "rule": .object(["id": .string(rule.id.uuidString.lowercased()), "name": .string(rule.name)]), "data": record.json,
            ]).jsonText
            try await connection.query("""
                INSERT INTO outbox (tenant_id, channel, payload, max_attempts)
                VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, 'webhook',
                        jsonb_build_object('endpoint_id', \(endpointID), 'event', 'automation.rule', 'body', \(body)::text), 12)
                """, logger: logger)
            return .object(["type": .string(action.type), "endpoint_id": .string(endpointID.uuidString.lowercased())])
        }
    }

    /// The people a recipient names for this record (inactive users are left out).
    static func resolve(_ recipient: AutomationRule.Recipient, record: Record, on connection: PostgresConnection, logger: Logger) async throws -> [UUID] {
        var ids: [UUID] = []
        let rows: PostgresRowSequence
        switch recipient {
        case .owner:
            guard let owner = record.ownerID else { return [] }
            rows = try await connection.query("SELECT id FROM users WHERE id = \(owner) AND is_active", logger: logger)
        case .ownerManager:
            guard let owner = record.ownerID else { return [] }
            rows = try await connection.query("""
                SELECT m.id FROM users o JOIN users m ON m.tenant_id = o.tenant_id AND m.id = o.manager_id WHERE o.id = \(owner) AND m.is_active
                """, logger: logger)
        case .user(let id):
            rows = try await connection.query("SELECT id FROM users WHERE id = \(id) AND is_active", logger: logger)
        case .role(let key):
            rows = try await connection.query("""
                SELECT DISTINCT u.id FROM roles r JOIN user_roles ur ON ur.tenant_id = r.tenant_id AND ur.role_id = r.id
                JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
                WHERE r.key = \(key) AND u.is_active
                """, logger: logger)
        case .field(let key):
            guard let id = record.values[key]?.stringValue.flatMap(UUID.init(uuidString:)) else { return [] }
            rows = try await connection.query("SELECT id FROM users WHERE id = \(id) AND is_active", logger: logger)
        }
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }

    /// `today`, `today+N`, `today-N` for date fields and `now` for date-time fields; anything
    /// else as given (the engine validates it).
    static func resolveValue(_ value: JSONValue, field: FieldDefinition?, key: String, now: Date = Date()) throws -> JSONValue {
        guard case .string(let text) = value, let field else { return value }
        switch field.type {
        case .date:
            guard text.hasPrefix("today") else { return value }
            let rest = text.dropFirst("today".count)
            guard let offset = rest.isEmpty ? 0 : Int(rest.hasPrefix("+") ? String(rest.dropFirst()) : String(rest)), abs(offset) <= 3650 else {
                throw AutomationError.invalid(field: key, reason: "'\(text)' is not today, today+N or today-N")
            }
            return .string(ChinaCalendar.day(of: now.addingTimeInterval(TimeInterval(offset) * 86_400)))
        case .datetime:
            return text == "now" ? .string(now.formatted(.iso8601)) : value
        default:
            return value
        }
    }

    /// `{record}` → the record's title, `{field}` → the field's value as text; unknown names stay.
    public static func render(_ template: String, record: Record, entity: EntityDefinition) -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            rest = rest[open...]
            guard let close = rest.firstIndex(of: "}") else { break }
            let name = String(rest[rest.index(after: open)..<close])
            if name == "record" {
                result += entity.title(of: record, locale: "zh-CN") ?? ""
            } else if entity.field(name) != nil {
                result += text(record.values[name])
            } else {
                result += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return String(result.prefix(1000))
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case .number(let number)?: return "\(number)"
        case .bool(let flag)?: return flag ? "✓" : "✗"
        case .object(let money)?: return [money["amount"].map { text($0) }, money["currency"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        case .array(let items)?: return items.map { text($0) }.joined(separator: ", ")
        default: return ""
        }
    }
}

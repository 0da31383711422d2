import Foundation

/// An administrator's automation rule (工作流自动化) on one entity: **when** something happens to
/// a record, **if** a condition in the filter language holds, **then** do its actions.
///
/// Wire form (the admin API and the stored columns):
///
/// ```json
/// {"name": "Won deal → tell the manager", "entity": "opportunity", "active": true,
///  "trigger": {"type": "field_changed", "field": "stage", "to": "won"},
///  "condition": {"field": "amount", "op": "gte", "value": 100000},
///  "actions": [{"type": "notify", "to": ["owner_manager", "role:finance"], "message": "{record} won: {amount}"},
///              {"type": "create_task", "subject": "Kick-off call with {record}", "due_in_days": 2, "assignee": "owner"},
///              {"type": "set_field", "field": "priority", "value": "high"},
///              {"type": "webhook", "endpoint_id": "…"}]}
/// ```
public struct AutomationRule: Sendable, Equatable {
    public let id: UUID
    public var name: String
    public var entity: String
    public var trigger: Trigger
    public var condition: JSONValue?
    public var actions: [Action]
    public var active: Bool
    public let createdBy: UUID
    public var createdAt: Date
    public var updatedAt: Date

    /// When a rule looks at a record.
    public enum Trigger: Sendable, Equatable {
        case created
        case updated
        case createdOrUpdated
        /// The field got a value on create, or changed on update; with `to`, only to that value.
        case fieldChanged(field: String, to: JSONValue?)
        /// Once per record when the date (or date-time) field is `daysBefore` days away in China
        /// time (negative: days after); checked by the scheduler.
        case date(field: String, daysBefore: Int)
        /// An approval of the record ended: `approved`, `rejected`, or either (nil).
        case approval(outcome: String?)

        public var type: String {
            switch self {
            case .created: "created"
            case .updated: "updated"
            case .createdOrUpdated: "created_or_updated"
            case .fieldChanged: "field_changed"
            case .date: "date"
            case .approval: "approval"
            }
        }

        /// Whether a new record can fire it (a file import then creates records one by one).
        public var firesOnCreate: Bool {
            switch self {
            case .created, .createdOrUpdated, .fieldChanged: true
            default: false
            }
        }

        public static let types = ["created", "updated", "created_or_updated", "field_changed", "date", "approval"]

        public var json: JSONValue {
            var object: [String: JSONValue] = ["type": .string(type)]
            switch self {
            case .fieldChanged(let field, let to):
                object["field"] = .string(field)
                if let to { object["to"] = to }
            case .date(let field, let days):
                object["field"] = .string(field)
                object["days_before"] = .number(Decimal(days))
            case .approval(let outcome):
                object["outcome"] = .string(outcome ?? "any")
            default: break
            }
            return .object(object)
        }

        /// Reads the wire form (shape only; ``AutomationRules/check`` checks it against the entity).
        public init(json: JSONValue) throws {
            guard case .object(let object) = json else { throw AutomationError.invalid(field: "trigger", reason: "must be an object with a \"type\"") }
            let allowed: Set<String>
            switch object["type"]?.stringValue {
            case "created": self = .created; allowed = ["type"]
            case "updated": self = .updated; allowed = ["type"]
            case "created_or_updated": self = .createdOrUpdated; allowed = ["type"]
            case "field_changed":
                guard let field = object["field"]?.stringValue, !field.isEmpty else {
                    throw AutomationError.invalid(field: "trigger.field", reason: "is required: the field whose change fires the rule")
                }
                let to = object["to"].flatMap { $0.isNull ? nil : $0 }
                self = .fieldChanged(field: field, to: to)
                allowed = ["type", "field", "to"]
            case "date":
                guard let field = object["field"]?.stringValue, !field.isEmpty else {
                    throw AutomationError.invalid(field: "trigger.field", reason: "is required: the date field to watch")
                }
                var days = 0
                switch object["days_before"] {
                case nil, .null?: break
                case .number(let number)? where AutomationRule.whole(number).map { abs($0) <= 3650 } ?? false:
                    days = AutomationRule.whole(number)!
                default: throw AutomationError.invalid(field: "trigger.days_before", reason: "must be a whole number of days from -3650 to 3650")
                }
                self = .date(field: field, daysBefore: days)
                allowed = ["type", "field", "days_before"]
            case "approval":
                switch object["outcome"] {
                case nil, .null?, .string("any")?: self = .approval(outcome: nil)
                case .string("approved")?, .string("rejected")?: self = .approval(outcome: object["outcome"]?.stringValue)
                default: throw AutomationError.invalid(field: "trigger.outcome", reason: "must be approved, rejected or any")
                }
                allowed = ["type", "outcome"]
            default:
                throw AutomationError.invalid(field: "trigger.type", reason: "must be one of \(Self.types.joined(separator: ", "))")
            }
            if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw AutomationError.invalid(field: "trigger.\(unknown)", reason: "is not used by a \(type) trigger")
            }
        }
    }

    /// Who a `notify` action tells, or who a `create_task` action assigns.
    public enum Recipient: Sendable, Equatable {
        case owner
        /// The record owner's manager (`users.manager_id`).
        case ownerManager
        case user(UUID)
        /// Every active member of the role (by key).
        case role(String)
        /// The user in one of the record's user fields (e.g. a task's `assignee`).
        case field(String)

        public var text: String {
            switch self {
            case .owner: "owner"
            case .ownerManager: "owner_manager"
            case .user(let id): "user:\(id.uuidString.lowercased())"
            case .role(let key): "role:\(key)"
            case .field(let key): "field:\(key)"
            }
        }

        public init(text: String, field: String) throws {
            switch text {
            case "owner": self = .owner
            case "owner_manager": self = .ownerManager
            case let text where text.hasPrefix("user:"):
                guard let id = UUID(uuidString: String(text.dropFirst(5))) else { throw AutomationError.invalid(field: field, reason: "'\(text.prefix(60))' names no user id") }
                self = .user(id)
            case let text where text.hasPrefix("role:") && text.count > 5: self = .role(String(text.dropFirst(5)))
            case let text where text.hasPrefix("field:") && text.count > 6: self = .field(String(text.dropFirst(6)))
            default:
                throw AutomationError.invalid(field: field, reason: "'\(text.prefix(60))' is not owner, owner_manager, user:<id>, role:<key> or field:<user field>")
            }
        }
    }

    public enum Action: Sendable, Equatable {
        /// An in-app notification (and e-mail or robot message, by the recipients' choices) of
        /// kind `automation.rule`; `message` may name `{record}` and `{<field>}`.
        case notify(to: [Recipient], message: String)
        /// Writes one field of the record (as a derived write: audited under the rule).
        /// Date fields take `today`, `today+N` or `today-N`; date-time fields `now`.
        case setField(field: String, value: JSONValue)
        /// A task (activities module) about the record.
        case createTask(subject: String, dueInDays: Int?, assignee: Recipient, priority: String?)
        /// Posts the record to one of the tenant's webhook endpoints (event `automation.rule`).
        case webhook(endpoint: UUID)

        public var type: String {
            switch self {
            case .notify: "notify"
            case .setField: "set_field"
            case .createTask: "create_task"
            case .webhook: "webhook"
            }
        }

        public var json: JSONValue {
            switch self {
            case .notify(let to, let message):
                return .object(["type": .string(type), "to": .array(to.map { .string($0.text) }), "message": .string(message)])
            case .setField(let field, let value):
                return .object(["type": .string(type), "field": .string(field), "value": value])
            case .createTask(let subject, let days, let assignee, let priority):
                var object: [String: JSONValue] = ["type": .string(type), "subject": .string(subject), "assignee": .string(assignee.text)]
                if let days { object["due_in_days"] = .number(Decimal(days)) }
                if let priority { object["priority"] = .string(priority) }
                return .object(object)
            case .webhook(let endpoint):
                return .object(["type": .string(type), "endpoint_id": .string(endpoint.uuidString.lowercased())])
            }
        }

        public init(json: JSONValue, at path: String) throws {
            guard case .object(let object) = json else { throw AutomationError.invalid(field: path, reason: "must be an object with a \"type\"") }
            func text(_ key: String, max: Int) throws -> String {
                guard let value = object[key]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                    throw AutomationError.invalid(field: "\(path).\(key)", reason: "is required")
                }
                guard value.count <= max else { throw AutomationError.invalid(field: "\(path).\(key)", reason: "is longer than \(max) characters") }
                return value
            }
            let allowed: Set<String>
            switch object["type"]?.stringValue {
            case "notify":
                guard case .array(let items)? = object["to"], (1...20).contains(items.count) else {
                    throw AutomationError.invalid(field: "\(path).to", reason: "must list 1 to 20 recipients (owner, owner_manager, user:<id>, role:<key>, field:<user field>)")
                }
                let to = try items.enumerated().map { index, item in
                    guard let text = item.stringValue else { throw AutomationError.invalid(field: "\(path).to[\(index)]", reason: "must be a string") }
                    return try Recipient(text: text, field: "\(path).to[\(index)]")
                }
                self = .notify(to: to, message: try text("message", max: 500))
                allowed = ["type", "to", "message"]
            case "set_field":
                guard let value = object["value"] else { throw AutomationError.invalid(field: "\(path).value", reason: "is required (null empties the field)") }
                self = .setField(field: try text("field", max: 63), value: value)
                allowed = ["type", "field", "value"]
            case "create_task":
                var days: Int?
                switch object["due_in_days"] {
                case nil, .null?: break
                case .number(let number)? where AutomationRule.whole(number).map { (0...3650).contains($0) } ?? false:
                    days = AutomationRule.whole(number)!
                default: throw AutomationError.invalid(field: "\(path).due_in_days", reason: "must be a whole number of days from 0 to 3650")
                }
                let assignee = try Recipient(text: object["assignee"]?.stringValue ?? "owner", field: "\(path).assignee")
                if case .role = assignee { throw AutomationError.invalid(field: "\(path).assignee", reason: "must be one person: owner, owner_manager, user:<id> or field:<user field>") }
                let priority = object["priority"]?.stringValue
                self = .createTask(subject: try text("subject", max: 200), dueInDays: days, assignee: assignee, priority: priority)
                allowed = ["type", "subject", "due_in_days", "assignee", "priority"]
            case "webhook":
                guard let id = object["endpoint_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                    throw AutomationError.invalid(field: "\(path).endpoint_id", reason: "must be the id of one of the tenant's webhook endpoints")
                }
                self = .webhook(endpoint: id)
                allowed = ["type", "endpoint_id"]
            default:
                throw AutomationError.invalid(field: "\(path).type", reason: "must be notify, set_field, create_task or webhook")
            }
            if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw AutomationError.invalid(field: "\(path).\(unknown)", reason: "is not used by a \(type) action")
            }
        }
    }

    /// The whole number `number` is, if it is one.
    static func whole(_ number: Decimal) -> Int? {
        let integer = NSDecimalNumber(decimal: number).intValue
        return Decimal(integer) == number ? integer : nil
    }

    public var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()), "name": .string(name), "entity": .string(entity), "trigger": trigger.json,
            "condition": condition ?? .null, "actions": .array(actions.map(\.json)), "active": .bool(active),
            "created_by": .string(createdBy.uuidString.lowercased()),
            "created_at": .string(createdAt.formatted(.iso8601)), "updated_at": .string(updatedAt.formatted(.iso8601)),
        ])
    }
}

public enum AutomationError: DomainError, Equatable {
    case notFound(String)
    /// A part of a rule that cannot be used; names it (`trigger.field`, `actions[1].value`) and why.
    case invalid(field: String, reason: String)

    public var atriumError: AtriumError {
        switch self {
        case .notFound(let reference):
            AtriumError(status: .notFound, code: "automation_rule_not_found", message: "no automation rule \(reference)")
        case .invalid(let field, let reason):
            AtriumError(status: .unprocessableContent, code: "invalid_automation_rule", message: "\(field): \(reason)", field: field)
        }
    }

    public static let examples: [AutomationError] = [.notFound("x"), .invalid(field: "trigger.type", reason: "x")]
}

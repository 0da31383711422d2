import Foundation
import Logging
import PostgresNIO

/// Where a module adds business rules to an entity without touching the engine: totals,
/// stage → probability, conversions. Hooks run inside the write's transaction; throwing an
/// ``AtriumError`` aborts the write.
///
/// ```swift
/// struct StageProbability: RecordHooks {
///     func beforeValidate(_ write: inout RecordWrite) throws {
///         if let stage = write.values["stage"]?.stringValue { write.values["probability"] = .string(probability(stage)) }
///     }
/// }
/// engine.hooks.register(StageProbability(), for: "opportunity")
/// ```
public protocol RecordHooks: Sendable {
    /// Before field validation, on create and update; may change `write.values`.
    func beforeValidate(_ write: inout RecordWrite) async throws
    func afterCreate(_ record: Record, context: HookContext) async throws
    func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws
    func beforeDelete(_ record: Record, context: HookContext) async throws
    /// After a soft delete (the record is in the recycle bin) or a restore from it.
    func afterDelete(_ record: Record, context: HookContext) async throws
    func afterRestore(_ record: Record, context: HookContext) async throws
}

extension RecordHooks {
    public func beforeValidate(_ write: inout RecordWrite) async throws {}
    public func afterCreate(_ record: Record, context: HookContext) async throws {}
    public func afterUpdate(_ record: Record, previous: Record, context: HookContext) async throws {}
    public func beforeDelete(_ record: Record, context: HookContext) async throws {}
    public func afterDelete(_ record: Record, context: HookContext) async throws {}
    public func afterRestore(_ record: Record, context: HookContext) async throws {}
}

/// What a hook may look at (and write with, through the same transaction).
public struct HookContext: Sendable {
    public let entity: EntityDefinition
    /// The caller whose write runs the hook.
    public let actor: RecordEngine.Actor
    public let engine: RecordEngine
    public let connection: PostgresConnection
    public let logger: Logger

    public var user: AuthenticatedUser { actor.user }

    /// The caller as ``RecordEngine/Actor/derived``: for what the module's rules write on the
    /// caller's behalf (a parent's totals, a history row), audited under the user.
    public var derivedActor: RecordEngine.Actor { actor.derived }
}

public struct RecordWrite: Sendable {
    public let entity: EntityDefinition
    public let isCreate: Bool
    /// Field values sent by the caller (update: only the changed ones).
    public var values: [String: JSONValue]
    /// The stored record on update.
    public let existing: Record?
    public let context: HookContext

    /// The value after this write: what the caller sends, else what is stored.
    public func value(_ key: String) -> JSONValue? {
        if let sent = values[key] { return sent.isNull ? nil : sent }
        return existing?.values[key]
    }
}

/// Hooks per entity key, fixed when the host is built.
public struct HookRegistry: Sendable {
    var hooks: [String: [any RecordHooks]] = [:]

    public init() {}

    public mutating func register(_ hook: any RecordHooks, for entity: String) {
        hooks[entity, default: []].append(hook)
    }

    func callAll(for entity: String) -> [any RecordHooks] { hooks[entity] ?? [] }
}

/// A record as the API shows it: system columns and field values in one flat object.
public struct Record: Sendable, Equatable {
    public let id: UUID
    public let entity: String
    public var version: Int
    public var ownerID: UUID?
    public var createdBy: UUID?
    public var createdAt: Date
    public var updatedBy: UUID?
    public var updatedAt: Date
    public var deletedAt: Date?
    public var values: [String: JSONValue]
    /// The owner's department (for department scopes, budgets, approval conditions).
    public var departmentID: UUID? = nil
    /// When the record was last followed up (written by the activities module), if ever.
    public var lastActivityAt: Date? = nil
    /// The pool (公海) the record waits in; it then has no owner.
    public var poolID: UUID? = nil

    public var json: JSONValue {
        var object = values
        object["id"] = .string(id.uuidString.lowercased())
        object["entity"] = .string(entity)
        object["version"] = .number(Decimal(version))
        object["owner_id"] = ownerID.map { .string($0.uuidString.lowercased()) } ?? .null
        object["created_by"] = createdBy.map { .string($0.uuidString.lowercased()) } ?? .null
        object["created_at"] = .string(FieldValidator.formatDateTime(createdAt))
        object["updated_by"] = updatedBy.map { .string($0.uuidString.lowercased()) } ?? .null
        object["updated_at"] = .string(FieldValidator.formatDateTime(updatedAt))
        if let deletedAt { object["deleted_at"] = .string(FieldValidator.formatDateTime(deletedAt)) }
        if let lastActivityAt { object["last_activity_at"] = .string(FieldValidator.formatDateTime(lastActivityAt)) }
        if let poolID { object["pool_id"] = .string(poolID.uuidString.lowercased()) }
        return .object(object)
    }
}

import Foundation
import Hummingbird
import Logging
import Platform
import PostgresNIO

/// A module's way to the record engine inside one tenant transaction: every read and
/// write goes through the engine as a given actor (the caller, or ``HookContext/derivedActor``
/// for what the rules compute), so scopes, validation and the audit trail always apply.
struct ModuleStore: Sendable {
    let engine: RecordEngine
    let actor: RecordEngine.Actor
    let connection: PostgresConnection
    let logger: Logger

    init(engine: RecordEngine, actor: RecordEngine.Actor, connection: PostgresConnection, logger: Logger) {
        self.engine = engine
        self.actor = actor
        self.connection = connection
        self.logger = logger
    }

    /// The store of a hook, writing as the derived actor.
    init(derived context: HookContext) {
        self.init(engine: context.engine, actor: context.derivedActor, connection: context.connection, logger: context.logger)
    }

    /// The same store acting as someone else (e.g. derived writes during a user's action).
    func acting(as actor: RecordEngine.Actor) -> ModuleStore {
        ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
    }

    var derived: ModuleStore {
        acting(as: actor.derived)
    }

    func get(_ entity: String, _ id: UUID) async throws -> Record {
        try await engine.get(entity, id: id, as: actor, on: connection, logger: logger)
    }

    /// The record, or nil when the id is empty, not an id, or names no record the actor may
    /// read; other errors (the database's) are thrown, never taken for "absent".
    func get(_ entity: String, _ id: String?) async throws -> Record? {
        guard let id, let uuid = UUID(uuidString: id) else { return nil }
        return try await absentIfNotFound { try await get(entity, uuid) }
    }

    /// Every live record matching `filter` (in pages of 200).
    func all(_ entity: String, filter: JSONValue? = nil, sort: String? = nil) async throws -> [Record] {
        var records: [Record] = []
        var offset = 0
        while true {
            let page = try await engine.list(entity, query: RecordQuery(filter: filter, sort: sort, limit: RecordQuery.maxLimit, offset: offset),
                                             as: actor, on: connection, logger: logger)
            records += page.records
            offset += page.records.count
            if page.records.count < RecordQuery.maxLimit { return records }
        }
    }

    func create(_ entity: String, _ values: [String: JSONValue]) async throws -> Record {
        try await engine.create(entity, values: values, as: actor, on: connection, logger: logger)
    }

    @discardableResult
    func update(_ record: Record, _ values: [String: JSONValue]) async throws -> Record {
        try await engine.update(record.entity, id: record.id, values: values, expectedVersion: record.version, as: actor, on: connection, logger: logger)
    }

    func aggregate(_ entity: String, _ spec: RecordAggregate) async throws -> [RecordAggregate.Row] {
        try await engine.aggregate(entity, spec, as: actor, on: connection, logger: logger)
    }

    func lock(_ entity: String, _ id: UUID) async throws {
        try await engine.lock(entity, id: id, on: connection, logger: logger)
    }

    /// Names of the tenant's users and departments by id (lower-case), for report labels.
    func organisationNames() async throws -> (people: [String: String], departments: [String: String]) {
        let admin = OrganisationAdmin()
        let people = Dictionary(try await admin.members(on: connection, logger: logger).map { ($0.id.uuidString.lowercased(), $0.displayName) },
                                uniquingKeysWith: { a, _ in a })
        let departments = Dictionary(try await admin.departments(on: connection, logger: logger).map { ($0.id.uuidString.lowercased(), $0.name) },
                                     uniquingKeysWith: { a, _ in a })
        return (people, departments)
    }

    static func eq(_ field: String, _ value: String) -> JSONValue {
        .object(["field": .string(field), "op": .string("eq"), "value": .string(value)])
    }

    static func op(_ field: String, _ op: String, _ value: JSONValue) -> JSONValue {
        .object(["field": .string(field), "op": .string(op), "value": value])
    }

    static func and(_ parts: [JSONValue]) -> JSONValue { .object(["and": .array(parts)]) }
}

extension Record {
    func string(_ key: String) -> String? { values[key]?.stringValue }
    func money(_ key: String) -> Decimal { Money.amount(values[key]) ?? 0 }
    func decimal(_ key: String) -> Decimal? { values[key]?.stringValue.flatMap { Decimal(string: $0, locale: Money.posix) } }
    var idText: String { id.uuidString.lowercased() }
}

/// A module's pages and API handlers: the store of a page's request, and the caller's tenant
/// transaction with a store acting as the caller (CSRF-checked for writes).
protocol ModuleHandlers: Sendable {
    var web: WebApp { get }
}

extension ModuleHandlers {
    /// The record id of a route parameter; anything else is the 404 of a missing record.
    static func id(_ context: AtriumContext, _ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no such record")
        }
        return id
    }

    func store(_ page: WebApp.Page, _ db: PostgresConnectionBox) -> ModuleStore {
        ModuleStore(engine: web.engine, actor: page.actor, connection: db.connection, logger: db.logger)
    }

    func run<T: Sendable>(_ request: Request, _ context: AtriumContext, write: Bool = false,
                          _ body: @escaping @Sendable (ModuleStore) async throws -> T) async throws -> T {
        let engine = web.engine
        return try await web.records.run(request, context, write: write) { actor, db in
            try await body(ModuleStore(engine: engine, actor: actor, connection: db.connection, logger: db.logger))
        }
    }
}

extension AtriumError {
    /// A module's refusal with a localized message (`validation.<module>.<key>` in the locale files).
    static func module(_ module: String, _ status: HTTPResponse.Status, code: String, field: String?, _ message: String, key: String,
                       _ arguments: [String: String] = [:]) -> AtriumError {
        var error = AtriumError(status: status, code: code, message: message, field: field)
        error.messageKey = "\(module).\(key)"
        error.messageArguments = arguments
        return error
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The records JSON API, identical for every entity (module-declared or custom):
///
///     GET    /api/v1/entities                         entities the tenant has
///     GET    /api/v1/meta/{entity}                    fields + layouts
///     GET    /api/v1/{entity}?filter=&sort=&limit=&offset=&q=
///     POST   /api/v1/{entity}/query                   same, filter in the body
///     POST   /api/v1/{entity}                         create
///     GET    /api/v1/{entity}/recycle-bin             soft-deleted records
///     GET    /api/v1/{entity}/export?filter=&sort=&q=&lang=&format=csv|xlsx   what the caller may export
///     POST   /api/v1/{entity}/import?dry_run=         CSV or .xlsx body; all rows or none
///     GET    /api/v1/{entity}/import-template?format=csv|xlsx&lang=   the header row to fill in
///     GET    /api/v1/{entity}/{id}                    read
///     PATCH  /api/v1/{entity}/{id}                    partial update, body has "version"
///     PUT    /api/v1/{entity}/by/{field}/{value}      create or change the record whose unique field has the value (201 | 200)
///     DELETE /api/v1/{entity}/{id}                    soft delete
///     POST   /api/v1/{entity}/{id}/restore
///     DELETE /api/v1/{entity}/{id}/purge              admin: hard delete from the recycle bin
///     GET    /api/v1/{entity}/{id}/history            audit trail with before/after
///     GET    /api/v1/audit?limit=&before=             admin: the tenant's audit log
///     POST   /api/v1/admin/objects                    admin: create a custom object
///     POST   /api/v1/admin/entities/{entity}/fields   admin: add a custom field
///     PATCH  /api/v1/admin/entities/{entity}/fields/{key}
///     DELETE /api/v1/admin/entities/{entity}/fields/{key}   admin: purge a deactivated field
///     PUT    /api/v1/admin/entities/{entity}/layouts/{kind} admin: save a detail or list layout
///     GET    /api/openapi.json                        OpenAPI 3.1 for this tenant
public struct RecordRoutes: Sendable {
    public let services: PlatformServices
    public let engine: RecordEngine
    let admin: MetadataAdmin

    public init(services: PlatformServices, engine: RecordEngine) {
        self.services = services
        self.engine = engine
        self.admin = MetadataAdmin(engine: engine)
    }

    public func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/openapi.json", use: openAPI)
        router.get("api/v1/entities", use: listEntities)
        router.get("api/v1/meta/:entity", use: meta)
        router.get("api/v1/audit", use: auditLog)
        router.post("api/v1/admin/objects", use: createObject)
        router.post("api/v1/admin/entities/:entity/fields", use: addField)
        router.patch("api/v1/admin/entities/:entity/fields/:key", use: changeField)
        router.delete("api/v1/admin/entities/:entity/fields/:key", use: purgeField)
        router.put("api/v1/admin/entities/:entity/layouts/:kind", use: saveLayout)
        router.get("api/v1/:entity", use: list)
        router.post("api/v1/:entity", use: create)
        router.post("api/v1/:entity/query", use: query)
        router.post("api/v1/:entity/bulk-update", use: massUpdate)
        router.get("api/v1/:entity/recycle-bin", use: recycleBin)
        router.get("api/v1/:entity/export", use: export)
        router.post("api/v1/:entity/import", use: importRecords)
        router.get("api/v1/:entity/import-template", use: importTemplate)
        router.get("api/v1/:entity/:id", use: get)
        router.patch("api/v1/:entity/:id", use: update)
        router.put("api/v1/:entity/by/:field/:value", use: upsert)
        router.delete("api/v1/:entity/:id", use: delete)
        router.post("api/v1/:entity/:id/restore", use: restore)
        router.delete("api/v1/:entity/:id/purge", use: purge)
        router.get("api/v1/:entity/:id/history", use: history)
    }

    // MARK: Plumbing

    /// Runs `body` in the caller's tenant transaction after the access checks every route needs.
    public func run<T: Sendable>(_ request: Request, _ context: AtriumContext, write: Bool = false, adminOnly: Bool = false,
                          _ body: @escaping @Sendable (RecordEngine.Actor, PostgresConnectionBox) async throws -> T) async throws -> T {
        let tenant = try context.requireTenant()
        let user = try context.requireUser()
        if write { try CSRF.verify(request, context: context) }
        if adminOnly && !user.isAdmin {
            throw AtriumError(status: .forbidden, code: "admin_only", message: "only tenant administrators may do this")
        }
        let logger = context.logger
        return try await services.database.withTenant(tenant.id, logger: logger) { connection in
            let access = try await AccessContext.load(for: user, cache: services.accessCache, on: connection, logger: logger)
            let actor = RecordEngine.Actor(user: user, ip: context.clientIP, requestID: context.id, access: access)
            return try await body(actor, PostgresConnectionBox(connection: connection, logger: logger))
        }
    }

    public static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    /// The JSON body; with `emptyAllowed` an empty body is `{}` (actions whose fields are all optional).
    static func body(_ request: Request, emptyAllowed: Bool = false) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1024 * 1024)
        } catch {
            throw AtriumError(status: .contentTooLarge, code: "body_too_large", message: "the body is larger than 1 MiB")
        }
        if emptyAllowed && buffer.readableBytes == 0 { return .object([:]) }
        do {
            return try JSONValue.parse(String(buffer: buffer))
        } catch {
            throw AtriumError(status: .badRequest, code: "invalid_json", message: "the body is not valid JSON")
        }
    }

    public static func object(_ request: Request, emptyAllowed: Bool = false) async throws -> [String: JSONValue] {
        guard case .object(let object) = try await body(request, emptyAllowed: emptyAllowed) else {
            throw AtriumError(status: .badRequest, code: "invalid_json", message: "the body must be a JSON object")
        }
        return object
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try decode(T.self, from: try await body(request))
    }

    /// Decodes a JSON value, turning a decoding failure into a 422 naming the field by its path
    /// (`steps.0.approvers.0.kind`; `body` for the whole value).
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "body" : text
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(value.jsonText.utf8))
        } catch let DecodingError.keyNotFound(key, context) {
            throw AtriumError.validation(field: path(context.codingPath + [key]), "is required")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw AtriumError.validation(field: path(context.codingPath), "has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            throw AtriumError.validation(field: path(context.codingPath), "is not a valid value")
        }
    }

    static func id(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no record with id '\(context.parameters.get("id") ?? "")'")
        }
        return id
    }

    static func entityKey(_ context: AtriumContext) -> String { context.parameters.get("entity") ?? "" }

    static func page(_ page: RecordEngine.Page) -> JSONValue {
        .object(["records": .array(page.records.map(\.json)), "total": .number(Decimal(page.total)), "total_exact": .bool(page.totalIsExact),
                 "next_cursor": page.nextCursor.map(JSONValue.string) ?? .null,
                 "limit": .number(Decimal(page.limit)), "offset": .number(Decimal(page.offset))])
    }

    static func encoded(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return lowercasingIDs(try JSONValue.parse(String(decoding: try encoder.encode(value), as: UTF8.self)))
    }

    /// Foundation writes UUIDs upper-case; the API writes ids lower-case everywhere (as records
    /// and the audit trail do), so id-named members holding a UUID are normalised.
    static func lowercasingIDs(_ value: JSONValue, key: String? = nil) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(Dictionary(uniqueKeysWithValues: object.map { ($0.key, lowercasingIDs($0.value, key: $0.key)) }))
        case .array(let items):
            return .array(items.map { lowercasingIDs($0, key: key) })
        case .string(let text):
            guard let key, key == "id" || key.hasSuffix("ID") || key.hasSuffix("IDs") || key.hasSuffix("_id"), UUID(uuidString: text) != nil else { return value }
            return .string(text.lowercased())
        default:
            return value
        }
    }

    // MARK: Records

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        let finalQuery = try Self.listQuery(request)
        let entity = Self.entityKey(context)
        return Self.json(Self.page(try await run(request, context) { actor, db in
            try await engine.list(entity, query: finalQuery, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    /// filter, sort, q, limit and offset from the query string.
    static func listQuery(_ request: Request) throws -> RecordQuery {
        let parameters = request.uri.queryParameters
        var query = RecordQuery(sort: parameters["sort"].map(String.init), q: parameters["q"].map(String.init),
                                count: parameters["count"].map(String.init), after: parameters["after"].map(String.init))
        if let text = parameters["limit"] {
            guard let limit = Int(text) else { throw AtriumError(status: .badRequest, code: "invalid_query", message: "limit must be a number", field: "limit") }
            query.limit = limit
        }
        if let text = parameters["offset"] {
            guard let offset = Int(text) else { throw AtriumError(status: .badRequest, code: "invalid_query", message: "offset must be a number", field: "offset") }
            query.offset = offset
        }
        if let text = parameters["pool"], !text.isEmpty {
            guard let pool = UUID(uuidString: String(text)) else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "pool must be a pool's id", field: "pool")
            }
            query.pool = pool
        }
        if let text = parameters["filter"] {
            guard let filter = try? JSONValue.parse(String(text)) else {
                throw AtriumError(status: .badRequest, code: "invalid_query", message: "filter must be JSON, e.g. {\"field\":\"x_city\",\"op\":\"eq\",\"value\":\"北京\"}", field: "filter")
            }
            query.filter = filter
        }
        return query
    }

    /// `format=csv` (the default) or `format=xlsx`; anything else is a 400 naming `format`.
    static func fileFormat(_ request: Request) throws -> RecordFileFormat {
        guard let text = request.uri.queryParameters["format"].map(String.init), !text.isEmpty else { return .csv }
        guard let format = RecordFileFormat(rawValue: text.lowercased()) else {
            throw AtriumError(status: .badRequest, code: "invalid_query", message: "format must be csv or xlsx", field: "format")
        }
        return format
    }

    static func locale(_ request: Request, _ context: AtriumContext) -> String {
        Localizer.choose(userLocale: request.uri.queryParameters["lang"].map(String.init) ?? context.identity?.user.locale,
                         cookie: request.cookies["atrium_lang"]?.value, acceptLanguage: request.headers[.acceptLanguage])
    }

    static func fileResponse(_ bytes: [UInt8], format: RecordFileFormat, name: String, rows: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: format.contentType,
                                   .contentDisposition: "attachment; filename=\"\(name).\(format.rawValue)\""]
        if let rows { headers[HTTPField.Name("X-Atrium-Rows")!] = "\(rows)" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func export(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = try Self.listQuery(request)
        let format = try Self.fileFormat(request)
        let entity = Self.entityKey(context)
        let locale = Self.locale(request, context)
        let (bytes, rows) = try await run(request, context) { actor, db in
            switch format {
            case .csv:
                let (text, rows) = try await engine.exportCSV(entity, query: query, locale: locale, as: actor, on: db.connection, logger: db.logger)
                return (Array(text.utf8), rows)
            case .xlsx:
                return try await engine.exportXLSX(entity, query: query, locale: locale, as: actor, on: db.connection, logger: db.logger)
            }
        }
        return Self.fileResponse(bytes, format: format, name: "\(entity)-\(FieldValidator.formatDate(Date()))", rows: rows)
    }

    @Sendable func importTemplate(_ request: Request, context: AtriumContext) async throws -> Response {
        let format = try Self.fileFormat(request)
        let entity = Self.entityKey(context)
        let locale = Self.locale(request, context)
        let bytes = try await run(request, context) { actor, db in
            try await engine.importTemplate(entity, format: format, locale: locale, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.fileResponse(bytes, format: format, name: "\(entity)-import")
    }

    /// The body is the file itself: an .xlsx workbook (its first sheet) or CSV text (UTF-8,
    /// header row first), told apart by their first bytes; `?dry_run=true` checks every row and
    /// keeps nothing.
    @Sendable func importRecords(_ request: Request, context: AtriumContext) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: RecordCSV.maxImportBytes)
        } catch {
            throw AtriumError(status: .contentTooLarge, code: "body_too_large", message: "the file is larger than \(RecordCSV.maxImportBytes / 1024 / 1024) MiB")
        }
        let file = Array(buffer.readableBytesView)
        let dryRun = ["true", "1", "yes"].contains(request.uri.queryParameters["dry_run"].map(String.init) ?? "")
        let entity = Self.entityKey(context)
        do {
            let (created, ids) = try await run(request, context, write: true) { actor, db in
                try await engine.importFile(entity, bytes: file, dryRun: dryRun, as: actor, on: db.connection, logger: db.logger)
            }
            // Written directly: up to 200 000 ids through JSONEncoder took longer than storing them.
            var body = "{\"created\":\(created),\"ids\":["
            body.reserveCapacity(body.utf8.count + ids.count * 39 + 2)
            for (index, id) in ids.enumerated() {
                body += index == 0 ? "\"" : ",\""
                body += id.uuidString.lowercased()
                body += "\""
            }
            body += "]}"
            return Response(status: .created, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch let finished as RecordEngine.DryRunFinished {
            return Self.json(.object(["dry_run": .bool(true), "valid_rows": .number(Decimal(finished.created))]))
        }
    }

    @Sendable func query(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = try await Self.decode(RecordQuery.self, request)
        let entity = Self.entityKey(context)
        return Self.json(Self.page(try await run(request, context) { actor, db in
            try await engine.list(entity, query: query, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    @Sendable func recycleBin(_ request: Request, context: AtriumContext) async throws -> Response {
        let entity = Self.entityKey(context)
        let limit = request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 50
        return Self.json(Self.page(try await run(request, context) { actor, db in
            try await engine.list(entity, query: RecordQuery(limit: limit), recycleBin: true, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let values = try await Self.object(request)
        let entity = Self.entityKey(context)
        let record = try await run(request, context, write: true) { actor, db in
            try await engine.create(entity, values: values, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(record.json, status: .created)
    }

    @Sendable func get(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        return Self.json(try await run(request, context) { actor, db in
            try await engine.get(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }.json)
    }

    @Sendable func update(_ request: Request, context: AtriumContext) async throws -> Response {
        var values = try await Self.object(request)
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        var version: Int?
        if let sent = values.removeValue(forKey: "version") {
            guard case .number(let number) = sent, number >= 1, number == Decimal(Int(truncating: number as NSNumber)) else {
                throw AtriumError.validation(field: "version", "must be a whole number")
            }
            version = Int(truncating: number as NSNumber)
        }
        let (expected, changes) = (version, values)
        let record = try await run(request, context, write: true) { actor, db in
            try await engine.update(entity, id: id, values: changes, expectedVersion: expected, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(record.json)
    }

    /// `POST /api/v1/{entity}/bulk-update` `{"ids": [...], "values": {...}}`: the same values on
    /// every named record (``RecordEngine/massUpdate(_:ids:values:as:on:logger:)``), all or none.
    @Sendable func massUpdate(_ request: Request, context: AtriumContext) async throws -> Response {
        var body = try await Self.object(request)
        let entity = Self.entityKey(context)
        guard case .array(let items)? = body.removeValue(forKey: "ids") else { throw AtriumError.validation(field: "ids", "must be a list of record ids") }
        let ids = try items.map { item in
            guard let id = item.stringValue.flatMap(UUID.init(uuidString:)) else { throw AtriumError.validation(field: "ids", "must be a list of record ids") }
            return id
        }
        guard case .object(let values)? = body.removeValue(forKey: "values") else {
            throw AtriumError.validation(field: "values", "must be an object of field values")
        }
        let records = try await run(request, context, write: true) { actor, db in
            try await engine.massUpdate(entity, ids: ids, values: values, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["updated": .number(Decimal(records.count)), "records": .array(records.map(\.json))]))
    }

    /// `PUT /api/v1/{entity}/by/{field}/{value}`: create or change the record whose unique
    /// `field` has `value` (``RecordEngine/upsert(_:by:value:values:as:on:logger:)``); 201 when
    /// created, 200 when changed.
    @Sendable func upsert(_ request: Request, context: AtriumContext) async throws -> Response {
        let values = try await Self.object(request)
        let entity = Self.entityKey(context)
        let field = context.parameters.get("field") ?? ""
        guard let value = context.parameters.get("value")?.removingPercentEncoding, !value.isEmpty, !value.contains("\u{0}") else {
            throw AtriumError.validation(field: field, "needs a value in the address")
        }
        let (record, created) = try await run(request, context, write: true) { actor, db in
            try await engine.upsert(entity, by: field, value: value, values: values, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(record.json, status: created ? .created : .ok)
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        try await run(request, context, write: true) { actor, db in
            try await engine.delete(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        return Self.json(try await run(request, context, write: true) { actor, db in
            try await engine.restore(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }.json)
    }

    @Sendable func purge(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await engine.purge(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func history(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, id) = (Self.entityKey(context), try Self.id(context))
        let entries = try await run(request, context) { actor, db in
            try await engine.history(entity, id: id, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["entries": try Self.encoded(entries)]))
    }

    @Sendable func auditLog(_ request: Request, context: AtriumContext) async throws -> Response {
        let limit = min(max(request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 100, 1), 500)
        let before = request.uri.queryParameters["before"].flatMap { Int64($0) } ?? Int64.max
        let entries = try await run(request, context, adminOnly: true) { _, db in
            var entries: [JSONValue] = []
            for try await (id, at, actor, action, entity, recordID, details) in try await db.connection.query("""
                SELECT id, at, actor, action, entity, record_id, details::text FROM audit_log
                WHERE id < \(before) ORDER BY id DESC LIMIT \(limit)
                """, logger: db.logger).decode((Int64, Date, String, String, String?, String?, String).self) {
                entries.append(.object(["id": .number(Decimal(id)), "at": .string(ISO8601DateFormatter().string(from: at)), "actor": .string(actor),
                                        "action": .string(action), "entity": entity.map(JSONValue.string) ?? .null,
                                        "record_id": recordID.map(JSONValue.string) ?? .null, "details": try JSONValue.parse(details)]))
            }
            return entries
        }
        return Self.json(.object(["entries": .array(entries)]))
    }

    // MARK: Metadata

    @Sendable func listEntities(_ request: Request, context: AtriumContext) async throws -> Response {
        let entities = try await run(request, context) { actor, db in
            try await engine.visibleEntities(for: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["entities": .array(entities.values.sorted { $0.key < $1.key }.map { entity in
            .object(["key": .string(entity.key), "labels": .object(entity.labels.mapValues(JSONValue.string)),
                     "custom": .bool(entity.isCustom), "module": entity.module.map(JSONValue.string) ?? .null])
        })]))
    }

    @Sendable func meta(_ request: Request, context: AtriumContext) async throws -> Response {
        let key = Self.entityKey(context)
        return Self.json(try await run(request, context) { actor, db in
            guard let entity = try await engine.visibleEntities(for: actor, on: db.connection, logger: db.logger)[key] else {
                throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity '\(key)'")
            }
            guard case .object(var object) = try Self.encoded(entity) else { return JSONValue.null }
            let (full, _) = try await engine.entity(key, on: db.connection, logger: db.logger)
            object["layouts"] = .object([
                "detail": actor.access.visibleLayout(try await admin.layout("detail", of: key, on: db.connection, logger: db.logger), of: full),
                "list": actor.access.visibleLayout(try await admin.layout("list", of: key, on: db.connection, logger: db.logger), of: full),
            ])
            return .object(object)
        })
    }

    @Sendable func createObject(_ request: Request, context: AtriumContext) async throws -> Response {
        let object = try await Self.decode(MetadataAdmin.NewObject.self, request)
        let entity = try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await admin.createObject(object, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(try Self.encoded(entity), status: .created)
    }

    @Sendable func addField(_ request: Request, context: AtriumContext) async throws -> Response {
        let field = try await Self.decode(FieldDefinition.self, request)
        let entity = Self.entityKey(context)
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await admin.addField(field, to: entity, as: actor, on: db.connection, logger: db.logger)
        }), status: .created)
    }

    @Sendable func changeField(_ request: Request, context: AtriumContext) async throws -> Response {
        let change = try await Self.decode(MetadataAdmin.FieldChange.self, request)
        let (entity, key) = (Self.entityKey(context), context.parameters.get("key") ?? "")
        return Self.json(try Self.encoded(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await admin.changeField(key, of: entity, change: change, as: actor, on: db.connection, logger: db.logger)
        }))
    }

    @Sendable func purgeField(_ request: Request, context: AtriumContext) async throws -> Response {
        let (entity, key) = (Self.entityKey(context), context.parameters.get("key") ?? "")
        let cleared = try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await admin.purgeField(key, of: entity, as: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(.object(["purged": .string(key), "records_cleared": .number(Decimal(cleared))]))
    }

    @Sendable func saveLayout(_ request: Request, context: AtriumContext) async throws -> Response {
        let definition = try await Self.body(request)
        let (entity, kind) = (Self.entityKey(context), context.parameters.get("kind") ?? "")
        return Self.json(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await admin.saveLayout(kind, of: entity, definition: definition, as: actor, on: db.connection, logger: db.logger)
        })
    }

    @Sendable func openAPI(_ request: Request, context: AtriumContext) async throws -> Response {
        let tenant = try context.requireTenant()
        let entities = try await run(request, context) { actor, db in
            try await engine.visibleEntities(for: actor, on: db.connection, logger: db.logger)
        }
        return Self.json(OpenAPIDocument.build(tenant: tenant, entities: entities.values.sorted { $0.key < $1.key }))
    }
}

import PostgresNIO

/// A connection and logger handed to route bodies (one value to keep closures short).
public struct PostgresConnectionBox: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger
}

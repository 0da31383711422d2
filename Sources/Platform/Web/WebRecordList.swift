import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// List pages: filters, sorting, paging, bulk actions, saved views and the recycle bin.
extension WebApp {
    // MARK: List

    static let operators = ["eq", "ne", "contains", "starts_with", "gt", "gte", "lt", "lte", "in", "is_empty"]

    /// System columns a list URL may filter on (a report's drill-down uses the last three).
    static let systemFilterFields: [String: FieldDefinition] = [
        "owner_id": FieldDefinition(key: "owner_id", labels: [:], type: .user),
        "department_id": FieldDefinition(key: "department_id", labels: [:], type: .department),
        "created_at": FieldDefinition(key: "created_at", labels: [:], type: .datetime),
        "updated_at": FieldDefinition(key: "updated_at", labels: [:], type: .datetime),
        "last_activity_at": FieldDefinition(key: "last_activity_at", labels: [:], type: .datetime),
    ]

    /// The filter conditions of a list URL (`f0`/`op0`/`v0` … up to five), ANDed.
    func conditions(_ request: Request, entity: EntityDefinition) -> [(field: FieldDefinition, op: String, value: String)] {
        let parameters = request.uri.queryParameters
        var result: [(FieldDefinition, String, String)] = []
        for index in 0..<5 {
            guard let key = parameters["f\(index)"].map(String.init), !key.isEmpty else { continue }
            let field = entity.field(key) ?? Self.systemFilterFields[key]
            guard let field, let op = parameters["op\(index)"].map(String.init), Self.operators.contains(op) else { continue }
            result.append((field, op, parameters["v\(index)"].map(String.init) ?? ""))
        }
        return result
    }

    static func filterJSON(_ conditions: [(field: FieldDefinition, op: String, value: String)]) -> JSONValue? {
        let leaves: [JSONValue] = conditions.map { condition in
            let value: JSONValue
            switch condition.op {
            case "is_empty": value = .bool(!["false", "no", "0"].contains(condition.value.lowercased()))
            case "in": value = .array(condition.value.split(whereSeparator: { $0 == "," || $0 == "，" })
                .map { RecordCSV.value(String($0), field: condition.field) }.filter { !$0.isNull })
            case "contains", "starts_with": value = .string(condition.value)
            default:
                let converted = RecordCSV.value(condition.value, field: condition.field)
                if case .object(let money) = converted, let amount = money["amount"] { value = amount } else { value = converted }
            }
            return .object(["field": .string(condition.field.key), "op": .string(condition.op), "value": value])
        }
        if leaves.isEmpty { return nil }
        return leaves.count == 1 ? leaves[0] : .object(["and": .array(leaves)])
    }

    static func escapeQuery(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? ""
    }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let parameters = request.uri.queryParameters
        let q = parameters["q"].map(String.init) ?? ""
        let sortParameter = parameters["sort"].map(String.init)
        let pageNumber = max(1, parameters["page"].flatMap { Int($0) } ?? 1)
        // `pool=`: the records waiting in one of the caller's pools (公海), each with a claim button.
        let poolID = parameters["pool"].flatMap { UUID(uuidString: String($0)) }
        return try await page(request, context, current: key) { page, db in
            let entity = try Self.entity(key, in: page)
            let lang = page.locale
            let layout = page.actor.access.visibleLayout(try await MetadataAdmin(engine: engine).layout("list", of: key, on: db.connection, logger: db.logger),
                                                         of: try Self.entity(key, in: page.definitions))
            var columns = layout["columns"]?.arrayValue?.compactMap(\.stringValue) ?? entity.listColumns
            columns = columns.filter { entity.field($0)?.active == true || SystemField(rawValue: $0) != nil }
            if !columns.contains(entity.titleField), entity.field(entity.titleField) != nil { columns.insert(entity.titleField, at: 0) }
            let sort = sortParameter ?? layout["sort"]?.stringValue
            let conditions = conditions(request, entity: entity)
            var query = RecordQuery(filter: Self.filterJSON(conditions), sort: sort, limit: Self.pageSize, offset: (pageNumber - 1) * Self.pageSize, q: q.isEmpty ? nil : q,
                                    pool: poolID)
            var pool: RecordPool?
            if let poolID { pool = try await RecordPools.get(poolID, on: db.connection, logger: db.logger) }
            guard pool == nil || pool?.entity == key else { throw RecordPools.notFound(poolID!) }
            var result: RecordEngine.Page
            var problem: String?
            do {
                result = try await engine.list(key, query: query, as: page.actor, on: db.connection, logger: db.logger)
            } catch let error as AtriumError where error.status == .badRequest || error.status == .unprocessableContent {
                problem = message(error, locale: lang, label: error.field.flatMap { entity.field($0) }.map { label($0, lang) })
                query.filter = nil
                query.sort = nil
                result = try await engine.list(key, query: query, as: page.actor, on: db.connection, logger: db.logger)
            }
            var format = page.format
            for (id, title) in try await lookupTitles(result.records, entity: entity, page: page, db: db) { format.names[id] = title }

            // The URL of this list with one parameter changed, for sort links and paging.
            var base: [(String, String)] = []
            if let poolID { base.append(("pool", poolID.uuidString.lowercased())) }
            if !q.isEmpty { base.append(("q", q)) }
            for (index, condition) in conditions.enumerated() {
                base += [("f\(index)", condition.field.key), ("op\(index)", condition.op), ("v\(index)", condition.value)]
            }
            func link(sort: String?, page: Int?) -> String {
                var items = base
                if let sort { items.append(("sort", sort)) } else if let sortParameter { items.append(("sort", sortParameter)) }
                if let page, page > 1 { items.append(("page", "\(page)")) }
                return "/app/\(key)" + (items.isEmpty ? "" : "?" + items.map { "\($0.0)=\(Self.escapeQuery($0.1))" }.joined(separator: "&"))
            }
            let currentSort = sort ?? ""
            let headers: [[String: Any]] = columns.map { column in
                let field = entity.field(column)
                let ascending = currentSort == column, descending = currentSort == "-" + column
                let sortable = field?.type != .multiPicklist && field?.type != .longText
                return ["key": column, "label": field.map { label($0, lang) } ?? systemLabel(column, lang),
                        "href": link(sort: ascending ? "-" + column : column, page: nil), "sortable": sortable,
                        "aria_sort": ascending ? "ascending" : descending ? "descending" : "none",
                        "arrow": ascending ? "▲" : descending ? "▼" : ""]
            }
            let rows: [[String: Any]] = result.records.map { record in
                let id = record.id.uuidString.lowercased()
                let cells: [[String: Any]] = columns.map { column in
                    let text: String
                    if let field = entity.field(column) {
                        text = format.text(record.values[column], field: field)
                    } else {
                        switch column {
                        case "owner_id": text = record.ownerID.map { format.names[$0.uuidString.lowercased()] ?? "" } ?? ""
                        case "created_at": text = DisplayFormat.dateTime(record.createdAt)
                        case "updated_at": text = DisplayFormat.dateTime(record.updatedAt)
                        case "last_activity_at": text = record.lastActivityAt.map(DisplayFormat.dateTime) ?? ""
                        default: text = ""
                        }
                    }
                    return ["text": text, "is_title": column == entity.titleField, "href": "/app/\(key)/\(id)"]
                }
                return ["id": id, "cells": cells, "title": entity.title(of: record, locale: lang) ?? id,
                        "claim_action": pool != nil && record.poolID != nil ? "/app/\(key)/\(id)/claim" : ""]
            }
            let filterable = [FieldDefinition(key: "owner_id", labels: [:], type: .user)] + entity.activeFields
            var filterRows: [[String: Any]] = conditions.map { condition in
                ["field": condition.field.key, "op": condition.op, "value": condition.value]
            }
            if filterRows.count < 5 { filterRows.append(["field": "", "op": "eq", "value": ""]) }
            let filterRowsOut: [[String: Any]] = filterRows.enumerated().map { index, row in
                let chosenField = row["field"] as? String ?? ""
                let chosenOp = row["op"] as? String ?? "eq"
                return [
                    "index": index, "value": row["value"] ?? "",
                    "fields": filterable.map { field in
                        ["key": field.key, "label": field.key == "owner_id" ? systemLabel("owner_id", lang) : label(field, lang), "selected": field.key == chosenField]
                    },
                    "ops": Self.operators.map { ["op": $0, "label": t("filter.op_\($0)", lang), "selected": $0 == chosenOp] },
                ]
            }
            let total = result.total
            let first = total == 0 ? 0 : (pageNumber - 1) * Self.pageSize + 1
            let last = min(total, (pageNumber - 1) * Self.pageSize + result.records.count)
            // Beyond the count cap the page says "10000+" and paging goes on while pages are full.
            let totalText = result.totalIsExact ? "\(total)" : "\(total)+"
            let more = last < total || (!result.totalIsExact && result.records.count == Self.pageSize)
            var exportItems: [(String, String)] = []
            if let filter = query.filter { exportItems.append(("filter", filter.jsonText)) }
            if !q.isEmpty { exportItems.append(("q", q)) }
            if let sort = query.sort { exportItems.append(("sort", sort)) }
            exportItems.append(("lang", lang))
            let owners: [[String: Any]] = try await Self.activeUsers(on: db.connection, logger: db.logger).map { ["id": $0.0, "name": $0.1] }
            var viewItems = base
            if let sortParameter { viewItems.append(("sort", sortParameter)) }
            let currentQuery = viewItems.map { "\($0.0)=\(Self.escapeQuery($0.1))" }.joined(separator: "&")
            let currentView = request.uri.queryParameters["view"].map(String.init)
            var views: [[String: Any]] = []
            for try await (viewID, name, shared, owner, viewQuery) in try await db.connection.query("""
                SELECT id, name, shared, owner_id, query FROM saved_views
                WHERE entity = \(key) AND (owner_id = \(page.actor.user.id) OR shared) ORDER BY shared, name
                """, logger: db.logger).decode((UUID, String, Bool, UUID, String).self) {
                let id = viewID.uuidString.lowercased()
                views.append(["id": id, "name": name, "shared": shared, "current": id == currentView,
                              "deletable": owner == page.actor.user.id || page.actor.user.isAdmin,
                              "href": "/app/\(key)?" + (viewQuery.isEmpty ? "" : viewQuery + "&") + "view=\(id)"])
            }
            return render("list", page, [
                "title": pool.map { "\($0.name) · \(label(entity, lang))" } ?? label(entity, lang),
                "pool": pool.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name,
                                    "can_claim": page.actor.access.scope(entity, .update) > .none] as [String: Any] } ?? false,
                "entity": ["key": key, "label": label(entity, lang)],
                "headers": headers, "rows": rows, "has_rows": !rows.isEmpty,
                "total": totalText, "range": t("list.range", lang, ["first": "\(first)", "last": "\(last)", "total": totalText]),
                "prev": pageNumber > 1 ? link(sort: nil, page: pageNumber - 1) : "",
                "next": more ? link(sort: nil, page: pageNumber + 1) : "",
                "q": q, "filters": filterRowsOut, "filtered": !conditions.isEmpty || !q.isEmpty,
                "problem": problem ?? "",
                "export_href": "/api/v1/\(key)/export?" + exportItems.map { "\($0.0)=\(Self.escapeQuery($0.1))" }.joined(separator: "&"),
                "owners": owners,
                "bulk_fields": RecordEngine.massUpdatableFields(of: try Self.entity(key, in: page.definitions), access: page.actor.access).map {
                    ["key": $0.key, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.key)]
                },
                "views": views, "has_views": !views.isEmpty, "current_query": currentQuery,
                "can_create": page.actor.access.scope(entity, .create) > .none,
                "can_import": page.actor.access.scope(entity, .`import`) > .none,
                "undo": request.uri.queryParameters["undo"].map(String.init).flatMap { UUID(uuidString: $0) }.map { $0.uuidString.lowercased() } ?? "",
            ])
        }
    }

    /// The tenant's active users as (lowercased id, display name), by name: owner choices, pickers.
    public static func activeUsers(on connection: PostgresConnection, logger: Logger) async throws -> [(String, String)] {
        var users: [(String, String)] = []
        for try await (id, name) in try await connection.query("SELECT id, display_name FROM users WHERE is_active ORDER BY display_name, email", logger: logger)
            .decode((UUID, String).self) {
            users.append((id.uuidString.lowercased(), name))
        }
        return users
    }

    /// Record and role forms can be long (every field, every grant): a larger body than the default.
    static let formLimit = 256 * 1024

    @Sendable func bulk(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let pairs = try await FormBody.parsePairs(request, limit: Self.formLimit)
        let form = FormBody.single(pairs)
        let ids = pairs.filter { $0.0 == "id" }.compactMap { UUID(uuidString: $0.1) }
        let action = form["action"] ?? ""
        guard !ids.isEmpty else { return Self.redirect("/app/\(key)?notice=nothing_selected") }
        return try await page(request, context, form: form) { page, db in
            _ = try Self.entity(key, in: page)
            switch action {
            case "delete":
                for id in ids { try await engine.delete(key, id: id, as: page.actor, on: db.connection, logger: db.logger) }
                return Self.redirect("/app/\(key)?notice=bulk_deleted")
            case "owner":
                guard let owner = form["owner"].flatMap(UUID.init(uuidString:)) else { throw AtriumError.validation(field: "owner", "choose a user") }
                _ = try await engine.massUpdate(key, ids: ids, values: ["owner_id": .string(owner.uuidString.lowercased())],
                                                as: page.actor, on: db.connection, logger: db.logger)
                return Self.redirect("/app/\(key)?notice=bulk_owner")
            case "set":
                // 批量修改: one field, the value typed as in an import file (a picklist's label, 1,000.00).
                let full = try Self.entity(key, in: page.definitions)
                let field = try RecordEngine.massUpdatable(form["field"] ?? "", of: full, access: page.actor.access)
                _ = try await engine.massUpdate(key, ids: ids, values: [field.key: RecordCSV.value(form["value"] ?? "", field: field)],
                                                as: page.actor, on: db.connection, logger: db.logger)
                return Self.redirect("/app/\(key)?notice=bulk_updated")
            default:
                throw AtriumError.validation(field: "action", "must be delete, owner or set")
            }
        }
    }

    // MARK: Saved views

    /// Keeps only the list parameters a view may hold, re-encoded.
    static func viewQuery(_ raw: String) -> String {
        let allowed = Set(["q", "sort"] + (0..<5).flatMap { ["f\($0)", "op\($0)", "v\($0)"] })
        return FormBody.decode(raw).filter { allowed.contains($0.key) && !$0.value.isEmpty }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\(escapeQuery($0.value))" }.joined(separator: "&")
    }

    @Sendable func saveView(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let form = try await FormBody.parse(request)
        return try await page(request, context, form: form) { page, db in
            _ = try Self.entity(key, in: page)
            let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
            guard (1...80).contains(name.count) else { throw AtriumError.validation(field: "name", "must be 1 to 80 characters") }
            let query = Self.viewQuery(form["query"] ?? "")
            let shared = form["shared"] != nil
            let tenantID = try await OrganisationAdmin.currentTenant(db.connection, db.logger)
            let id = try await db.connection.query("""
                INSERT INTO saved_views (tenant_id, entity, owner_id, shared, name, query)
                VALUES (\(tenantID), \(key), \(page.actor.user.id), \(shared), \(name), \(query)) RETURNING id
                """, logger: db.logger).one(UUID.self)
            try await OrganisationAdmin.audit("view.saved", entity: key, id: id, details: ["name": name, "shared": "\(shared)", "query": query],
                                              actor: page.actor, on: db.connection, logger: db.logger)
            return Self.redirect("/app/\(key)?" + (query.isEmpty ? "" : query + "&") + "view=\(id.uuidString.lowercased())&notice=view_saved")
        }
    }

    @Sendable func deleteView(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let id = try Self.recordID(context)
        let form = try await FormBody.parse(request)
        return try await page(request, context, form: form) { page, db in
            let removed = try await db.connection.query("""
                DELETE FROM saved_views WHERE id = \(id) AND entity = \(key) AND (owner_id = \(page.actor.user.id) OR \(page.actor.user.isAdmin)) RETURNING 1
                """, logger: db.logger).collect().count
            guard removed == 1 else { throw AtriumError(status: .notFound, code: "view_not_found", message: "no view you may delete") }
            try await OrganisationAdmin.audit("view.deleted", entity: key, id: id, details: [:], actor: page.actor, on: db.connection, logger: db.logger)
            return Self.redirect("/app/\(key)?notice=view_deleted")
        }
    }

    @Sendable func recycleBin(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        return try await page(request, context, current: key) { page, db in
            let entity = try Self.entity(key, in: page)
            let lang = page.locale
            let result = try await engine.list(key, query: RecordQuery(limit: RecordQuery.maxLimit), recycleBin: true, as: page.actor, on: db.connection, logger: db.logger)
            return render("recycle", page, [
                "title": t("recycle.title", lang, ["entity": label(entity, lang)]),
                "entity": ["key": key, "label": label(entity, lang)],
                "rows": result.records.map { record -> [String: Any] in
                    ["id": record.id.uuidString.lowercased(), "title": entity.title(of: record, locale: lang) ?? record.id.uuidString.lowercased(),
                     "deleted": record.deletedAt.map { DisplayFormat.dateTime($0) } ?? ""]
                },
                "has_rows": !result.records.isEmpty,
            ])
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The tenant web UI: server-rendered pages for any entity, all built from metadata, all going
/// through the record engine (so scopes, field rules and audit apply exactly as in the API).
///
///     GET  /app/search?q=                        global search over searchable entities
///     GET  /app/{entity}?q=&sort=&page=&f0=&op0=&v0=…   list (list layout, filters, paging)
///     POST /app/{entity}/bulk                    selected ids: delete or change owner
///     GET  /app/{entity}/new, POST /app/{entity} create form
///     GET  /app/{entity}/{id}                    record page (detail layout, related, history)
///     GET  /app/{entity}/{id}/edit, POST /app/{entity}/{id}   edit form (optimistic lock)
///     POST /app/{entity}/{id}/delete, /restore   recycle bin with undo
///     GET  /app/{entity}/recycle-bin
/// Designer pages (administrators) are in ``WebDesigner``.
public struct WebApp: Sendable {
    public let records: RecordRoutes
    public var services: PlatformServices { records.services }
    public var engine: RecordEngine { records.engine }
    var renderer: WebRenderer { services.renderer }
    static let pageSize = 50

    public init(records: RecordRoutes) {
        self.records = records
    }

    public func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/search", use: search)
        WebDesigner(app: self).register(on: router)
        WebAdmin(app: self).register(on: router)
        WebApprovals(app: self).register(on: router)
        router.get("app/:entity", use: list)
        router.post("app/:entity", use: create)
        router.post("app/:entity/bulk", use: bulk)
        router.post("app/:entity/views", use: saveView)
        router.post("app/:entity/views/:id/delete", use: deleteView)
        router.get("app/:entity/new", use: newForm)
        router.get("app/:entity/recycle-bin", use: recycleBin)
        router.get("app/:entity/:id", use: show)
        router.get("app/:entity/:id/edit", use: editForm)
        router.post("app/:entity/:id", use: update)
        router.post("app/:entity/:id/delete", use: delete)
        router.post("app/:entity/:id/restore", use: restore)
    }

    // MARK: Plumbing

    /// What every page needs, computed inside the request's tenant transaction.
    public struct Page {
        public let actor: RecordEngine.Actor
        /// What the caller may read, hidden fields removed.
        public let entities: [String: EntityDefinition]
        /// The tenant's full definitions (for field rules and layouts), loaded once per request.
        public let definitions: [String: EntityDefinition]
        public let locale: String
        public let shell: [String: Any]
        public var format: DisplayFormat
    }

    func locale(_ request: Request, _ context: AtriumContext) -> String {
        Localizer.choose(userLocale: context.identity?.user.locale, cookie: request.cookies["atrium_lang"]?.value,
                         acceptLanguage: request.headers[.acceptLanguage])
    }

    public func t(_ key: String, _ locale: String, _ arguments: [String: String] = [:]) -> String {
        renderer.localizer.string(key, locale: locale, arguments) ?? key
    }

    public static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Signed-out browsers go to the sign-in page instead of an error.
    func signedIn(_ context: AtriumContext) -> Bool { context.identity != nil }

    /// Runs `body` in the tenant transaction with the caller's access, after the CSRF check for
    /// forms (`form` given), and hands it the page basics (navigation, names, formats).
    public func page<T: Sendable>(_ request: Request, _ context: AtriumContext, form: [String: String]? = nil, current: String? = nil,
                                  _ body: @escaping @Sendable (Page, PostgresConnectionBox) async throws -> T) async throws -> T {
        if let form { try CSRF.verify(request, context: context, form: form) }
        let lang = locale(request, context)
        // Where the language switch returns to: this page with its query, without one-time notices.
        let kept = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("notice=") && !$0.hasPrefix("undo=") }
        let path = request.uri.path + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        let query = request.uri.queryParameters["q"].map(String.init) ?? ""
        let shellMaker = self
        return try await records.run(request, context) { actor, db in
            let definitions = try await engine.entities(on: db.connection, logger: db.logger)
            let entities = RecordEngine.visible(definitions, to: actor.access)
            let enabled = try await TenantModules.enabled(on: db.connection, logger: db.logger)
            let names = try await Self.peopleNames(on: db.connection, logger: db.logger)
            var format = DisplayFormat(locale: lang, yes: shellMaker.t("common.yes", lang), no: shellMaker.t("common.no", lang))
            format.names = names
            var shell = shellMaker.shell(context: context, actor: actor, entities: entities, enabled: enabled, locale: lang,
                                         current: current, path: path, query: query)
            if let flash = shellMaker.flash(request, locale: lang) { shell["flash"] = flash }
            return try await body(Page(actor: actor, entities: entities, definitions: definitions, locale: lang, shell: shell, format: format), db)
        }
    }

    /// The shell (navigation, search box) for pages rendered outside this type, e.g. home.
    public func shellValues(_ request: Request, _ context: AtriumContext) async throws -> [String: Any] {
        struct Box: @unchecked Sendable { let values: [String: Any] }
        return try await page(request, context) { page, _ in Box(values: page.shell) }.values
    }

    /// ``page(_:_:form:current:_:)`` for tenant administrators only; others get the 403 page.
    func adminPage<T: Sendable>(_ request: Request, _ context: AtriumContext, form: [String: String]? = nil, current: String,
                                _ body: @escaping @Sendable (Page, PostgresConnectionBox) async throws -> T) async throws -> T {
        guard context.identity?.user.isAdmin == true else {
            throw AtriumError(status: .forbidden, code: "admin_only", message: "only tenant administrators may do this")
        }
        return try await page(request, context, form: form, current: current, body)
    }

    /// Names of the tenant's users and departments by id (for owner, user and department fields).
    static func peopleNames(on connection: PostgresConnection, logger: Logger) async throws -> [String: String] {
        var names: [String: String] = [:]
        for try await (id, email, name) in try await connection.query("SELECT id, email, display_name FROM users", logger: logger).decode((UUID, String, String).self) {
            names[id.uuidString.lowercased()] = name
            names[email.lowercased()] = name  // audit entries name their actor by email
        }
        for try await (id, name) in try await connection.query("SELECT id, name FROM departments", logger: logger).decode((UUID, String).self) {
            names[id.uuidString.lowercased()] = name
        }
        return names
    }

    /// Top bar and navigation: modules the caller's roles reach, each with its entities, then
    /// the tenant's custom objects, then administration for administrators.
    func shell(context: AtriumContext, actor: RecordEngine.Actor, entities: [String: EntityDefinition], enabled: [String],
               locale: String, current: String?, path: String, query: String) -> [String: Any] {
        func item(_ entity: EntityDefinition) -> [String: Any] {
            ["href": "/app/\(entity.key)", "label": DisplayFormat.label(entity.labels, locale: locale, fallback: entity.key),
             "current": entity.key == current, "key": entity.key]
        }
        var groups: [[String: Any]] = []
        for id in enabled {
            guard let manifest = services.catalog.manifests[id], actor.access.canSee(module: manifest) else { continue }
            var items = entities.values.filter { $0.module == id }.sorted { $0.key < $1.key }.map(item)
            for extra in manifest.pages where entities[extra.requires] != nil {
                items.insert(["href": extra.path, "label": t(extra.labelKey, locale), "current": current == extra.path, "key": extra.path], at: 0)
            }
            groups.append(["title": manifest.name(locale: locale), "module": id, "items": items, "empty": items.isEmpty])
        }
        let custom = entities.values.filter(\.isCustom).sorted { $0.key < $1.key }.map(item)
        if !custom.isEmpty { groups.append(["title": t("nav.custom", locale), "module": "custom", "items": custom, "empty": false]) }
        if actor.user.isAdmin {
            groups.append(["title": t("nav.admin", locale), "module": "admin", "empty": false, "items": [
                ["href": "/app/admin/objects", "label": t("designer.objects", locale), "current": current == "admin:objects", "key": "admin-objects"],
                ["href": "/app/admin/users", "label": t("admin.users", locale), "current": current == "admin:users", "key": "admin-users"],
                ["href": "/app/admin/departments", "label": t("admin.departments", locale), "current": current == "admin:departments", "key": "admin-departments"],
                ["href": "/app/admin/roles", "label": t("admin.roles", locale), "current": current == "admin:roles", "key": "admin-roles"],
                ["href": "/app/admin/approvals", "label": t("approvals.processes", locale), "current": current == "admin:approvals", "key": "admin-approvals"],
                ["href": "/app/admin/audit", "label": t("admin.audit", locale), "current": current == "admin:audit", "key": "admin-audit"],
            ]])
        }
        let tenant = context.tenant
        return [
            "tenant": ["name": tenant?.name ?? "", "slug": tenant?.slug ?? ""],
            "user": ["displayName": actor.user.displayName, "email": actor.user.email, "isAdmin": actor.user.isAdmin],
            "csrf": context.identity?.csrfToken ?? "",
            "nav": groups,
            "has_nav": true,
            "search_q": query,
            "back": path,
        ]
    }

    /// Renders a page. Mustache treats "" as true in `{{#key}}`, so top-level empty strings are
    /// dropped (a section then does not render).
    public func render(_ template: String, _ page: Page, status: HTTPResponse.Status = .ok, _ values: [String: Any]) -> Response {
        var merged = page.shell
        for (key, value) in values {
            if let text = value as? String, text.isEmpty { continue }
            merged[key] = value
        }
        return renderer.html(template, locale: page.locale, status: status, merged)
    }

    /// A localized message for an engine error: its validation key, else `errors.<code>`, else
    /// the engine's English text.
    public func message(_ error: AtriumError, locale: String, label: String?) -> String {
        var arguments = error.messageArguments
        arguments["field"] = label ?? error.field ?? ""
        if let key = error.messageKey, let text = renderer.localizer.string("validation.\(key)", locale: locale, arguments) { return text }
        if let text = renderer.localizer.string("errors.\(error.code)", locale: locale, arguments) { return text }
        return error.message
    }

    static func notice(_ request: Request) -> String? {
        request.uri.queryParameters["notice"].map(String.init).flatMap { $0.range(of: "^[a-z_]{1,40}$", options: .regularExpression) != nil ? $0 : nil }
    }

    func flash(_ request: Request, locale: String) -> [String: Any]? {
        guard let notice = Self.notice(request), let text = renderer.localizer.string("notices.\(notice)", locale: locale) else { return nil }
        return ["kind": "ok", "message": text]
    }

    static func entityKey(_ context: AtriumContext) -> String { context.parameters.get("entity") ?? "" }

    static func recordID(_ context: AtriumContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "record_not_found", message: "no record '\(context.parameters.get("id") ?? "")'")
        }
        return id
    }

    static func entity(_ key: String, in page: Page) throws -> EntityDefinition { try entity(key, in: page.entities) }

    static func entity(_ key: String, in entities: [String: EntityDefinition]) throws -> EntityDefinition {
        guard let entity = entities[key] else { throw AtriumError(status: .notFound, code: "entity_not_found", message: "no entity '\(key)'") }
        return entity
    }

    func label(_ entity: EntityDefinition, _ locale: String) -> String { DisplayFormat.label(entity.labels, locale: locale, fallback: entity.key) }
    func label(_ field: FieldDefinition, _ locale: String) -> String { DisplayFormat.label(field.labels, locale: locale, fallback: field.key) }

    func systemLabel(_ key: String, _ locale: String) -> String { t("fields.\(key)", locale) }

    /// Titles of records that lookup fields of `records` point to, read through the engine (so
    /// records outside the caller's scope stay unnamed).
    func lookupTitles(_ records: [Record], entity: EntityDefinition, page: Page, db: PostgresConnectionBox) async throws -> [String: String] {
        var titles: [String: String] = [:]
        for field in entity.activeFields where field.type == .lookup {
            guard let targetKey = field.target, let target = page.entities[targetKey] else { continue }
            let ids = Set(records.compactMap { $0.values[field.key]?.stringValue })
            guard !ids.isEmpty else { continue }
            let filter: JSONValue = .object(["field": .string("id"), "op": .string("in"), "value": .array(ids.sorted().map(JSONValue.string))])
            let found = try await engine.list(targetKey, query: RecordQuery(filter: filter, limit: RecordQuery.maxLimit), as: page.actor,
                                              on: db.connection, logger: db.logger)
            for record in found.records {
                titles[record.id.uuidString.lowercased()] = target.title(of: record, locale: page.locale) ?? record.id.uuidString.lowercased()
            }
        }
        return titles
    }

    // MARK: List

    static let operators = ["eq", "ne", "contains", "starts_with", "gt", "gte", "lt", "lte", "in", "is_empty"]

    /// The filter conditions of a list URL (`f0`/`op0`/`v0` … up to five), ANDed.
    func conditions(_ request: Request, entity: EntityDefinition) -> [(field: FieldDefinition, op: String, value: String)] {
        let parameters = request.uri.queryParameters
        var result: [(FieldDefinition, String, String)] = []
        for index in 0..<5 {
            guard let key = parameters["f\(index)"].map(String.init), !key.isEmpty else { continue }
            let field = entity.field(key) ?? (key == "owner_id" ? FieldDefinition(key: "owner_id", labels: [:], type: .user) : nil)
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
            var query = RecordQuery(filter: Self.filterJSON(conditions), sort: sort, limit: Self.pageSize, offset: (pageNumber - 1) * Self.pageSize, q: q.isEmpty ? nil : q)
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
                        default: text = ""
                        }
                    }
                    return ["text": text, "is_title": column == entity.titleField, "href": "/app/\(key)/\(id)"]
                }
                return ["id": id, "cells": cells, "title": entity.title(of: record, locale: lang) ?? id]
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
                "title": label(entity, lang),
                "entity": ["key": key, "label": label(entity, lang)],
                "headers": headers, "rows": rows, "has_rows": !rows.isEmpty,
                "total": totalText, "range": t("list.range", lang, ["first": "\(first)", "last": "\(last)", "total": totalText]),
                "prev": pageNumber > 1 ? link(sort: nil, page: pageNumber - 1) : "",
                "next": more ? link(sort: nil, page: pageNumber + 1) : "",
                "q": q, "filters": filterRowsOut, "filtered": !conditions.isEmpty || !q.isEmpty,
                "problem": problem ?? "",
                "export_href": "/api/v1/\(key)/export?" + exportItems.map { "\($0.0)=\(Self.escapeQuery($0.1))" }.joined(separator: "&"),
                "owners": owners,
                "views": views, "has_views": !views.isEmpty, "current_query": currentQuery,
                "can_create": page.actor.access.scope(entity, .create) > .none,
                "undo": request.uri.queryParameters["undo"].map(String.init).flatMap { UUID(uuidString: $0) }.map { $0.uuidString.lowercased() } ?? "",
            ])
        }
    }

    static func activeUsers(on connection: PostgresConnection, logger: Logger) async throws -> [(String, String)] {
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
                for id in ids {
                    let record = try await engine.get(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
                    _ = try await engine.update(key, id: id, values: ["owner_id": .string(owner.uuidString.lowercased())], expectedVersion: record.version,
                                                as: page.actor, on: db.connection, logger: db.logger)
                }
                return Self.redirect("/app/\(key)?notice=bulk_owner")
            default:
                throw AtriumError.validation(field: "action", "must be delete or owner")
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

    // MARK: Record page

    @Sendable func show(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let id = try Self.recordID(context)
        return try await page(request, context, current: key) { page, db in
            let entity = try Self.entity(key, in: page)
            let lang = page.locale
            let record = try await engine.get(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            var format = page.format
            for (id, title) in try await lookupTitles([record], entity: entity, page: page, db: db) { format.names[id] = title }
            let full = try Self.entity(key, in: page.definitions)
            let layout = page.actor.access.visibleLayout(try await MetadataAdmin(engine: engine).layout("detail", of: key, on: db.connection, logger: db.logger), of: full)
            let sections: [[String: Any]] = (layout["sections"]?.arrayValue ?? []).map { section in
                let fields: [[String: Any]] = (section["fields"]?.arrayValue ?? []).compactMap { item in
                    guard let fieldKey = item["field"]?.stringValue, let field = entity.field(fieldKey), field.active else { return nil }
                    var entry: [String: Any] = ["key": fieldKey, "label": label(field, lang), "text": format.text(record.values[fieldKey], field: field)]
                    if field.type == .lookup, let target = field.target, let value = record.values[fieldKey]?.stringValue, page.entities[target] != nil,
                       format.names[value] != nil {
                        entry["href"] = "/app/\(target)/\(value)"
                    }
                    if field.type == .url, let value = record.values[fieldKey]?.stringValue { entry["external"] = value }
                    return entry
                }
                let title = section["title"].flatMap { value -> String? in
                    if case .object(let labels) = value { return DisplayFormat.label(labels.compactMapValues(\.stringValue), locale: lang, fallback: "") }
                    return value.stringValue
                } ?? ""
                return ["title": title, "fields": fields]
            }
            // Related lists: records of entities with a lookup to this one.
            var related: [[String: Any]] = []
            for other in page.entities.values.sorted(by: { $0.key < $1.key }) {
                for field in other.activeFields where field.type == .lookup && field.target == key {
                    let filter: JSONValue = .object(["field": .string(field.key), "op": .string("eq"), "value": .string(id.uuidString.lowercased())])
                    guard let found = try? await engine.list(other.key, query: RecordQuery(filter: filter, limit: 10), as: page.actor, on: db.connection, logger: db.logger)
                    else { continue }
                    related.append([
                        "label": "\(label(other, lang)) · \(label(field, lang))", "total": found.total, "key": other.key,
                        "all_href": "/app/\(other.key)?f0=\(field.key)&op0=eq&v0=\(id.uuidString.lowercased())",
                        "new_href": "/app/\(other.key)/new?\(field.key)=\(id.uuidString.lowercased())",
                        "rows": found.records.map { ["title": other.title(of: $0, locale: lang) ?? $0.id.uuidString.lowercased(),
                                                     "href": "/app/\(other.key)/\($0.id.uuidString.lowercased())"] },
                    ])
                }
            }
            let history = try await engine.history(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            let historyRows: [[String: Any]] = history.reversed().map { entry in
                var changes: [[String: Any]] = []
                if case .object(let changed)? = entry.details["changes"] {
                    for (fieldKey, change) in changed.sorted(by: { $0.key < $1.key }) {
                        let field = entity.field(fieldKey) ?? FieldDefinition(key: fieldKey, labels: [:], type: fieldKey == "owner_id" ? .user : .text)
                        changes.append(["field": entity.field(fieldKey).map { label($0, lang) } ?? systemLabel(fieldKey, lang),
                                        "before": format.text(change["before"], field: field), "after": format.text(change["after"], field: field)])
                    }
                }
                return ["at": DisplayFormat.dateTime(entry.at), "actor": Self.actorName(entry.actor, names: format.names),
                        "action": t("history.\(entry.action.replacingOccurrences(of: ".", with: "_"))", lang), "changes": changes,
                        "has_changes": !changes.isEmpty]
            }
            let title = entity.title(of: record, locale: lang) ?? id.uuidString.lowercased()
            let moduleActions: [[String: Any]] = entity.module.flatMap { services.catalog.manifests[$0] }.map { manifest in
                manifest.actions.filter { $0.entity == key && page.actor.access.scope(entity, $0.right) > .none && $0.applies(to: record) }.map { action in
                    ["href": action.path.replacingOccurrences(of: "{id}", with: id.uuidString.lowercased()), "label": t(action.labelKey, lang),
                     "post": action.post, "key": action.labelKey]
                }
            } ?? []
            let approval = try await WebApprovals.panel(entity: entity, record: record, page: page, app: self, db: db)
            let locked = approval?["locked"] as? Bool ?? false
            return render("record", page, [
                "approval": approval.map { $0 as Any } ?? false,
                "module_actions": moduleActions,
                "title": title,
                "entity": ["key": key, "label": label(entity, lang)],
                "record": ["id": id.uuidString.lowercased(), "title": title, "version": record.version,
                           "owner": record.ownerID.map { format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                           "created": DisplayFormat.dateTime(record.createdAt), "updated": DisplayFormat.dateTime(record.updatedAt)],
                "sections": sections, "related": related, "history": historyRows,
                "can_edit": !locked && page.actor.access.scope(entity, .update) > .none,
                "can_delete": !locked && page.actor.access.scope(entity, .delete) > .none,
            ])
        }
    }

    /// Audit entries name a user actor by email (or a tool by name): show the user's name.
    static func actorName(_ actor: String, names: [String: String]) -> String {
        names[actor.lowercased()] ?? actor
    }

    // MARK: Forms

    struct FormState {
        var values: [String: String] = [:]
        var multi: [String: [String]] = [:]
        var errors: [String: String] = [:]
        var summary: String?
        var conflict: Int?
        var version: Int?
    }

    /// Inputs of the detail layout's fields (in layout order; fields missing from the layout
    /// follow), for a new record or an existing one.
    func formFields(entity: EntityDefinition, full: EntityDefinition, layout: JSONValue, page: Page, state: FormState,
                    db: PostgresConnectionBox) async throws -> [[String: Any]] {
        let lang = page.locale
        var order: [String] = []
        for section in layout["sections"]?.arrayValue ?? [] {
            for item in section["fields"]?.arrayValue ?? [] { if let key = item["field"]?.stringValue, !order.contains(key) { order.append(key) } }
        }
        for field in entity.activeFields where !order.contains(field.key) { order.append(field.key) }
        var result: [[String: Any]] = []
        for key in order {
            guard let field = entity.field(key), field.active else { continue }
            let readOnly = field.type == .autoNumber || page.actor.access.fieldAccess(full, key) == .readOnly
            let value = state.values[key] ?? ""
            var entry: [String: Any] = [
                "key": key, "name": "f.\(key)", "id": "field-\(key)", "label": label(field, lang), "value": value,
                "required": field.required && field.type != .autoNumber, "readonly": readOnly, "error": state.errors[key] ?? "",
                "has_error": state.errors[key] != nil,
            ]
            if readOnly {
                entry["kind_readonly"] = true
                if !value.isEmpty { entry["text"] = value }
                result.append(entry)
                continue
            }
            switch field.type {
            case .longText:
                entry["kind_textarea"] = true
            case .picklist:
                entry["kind_select"] = true
                entry["options"] = [["value": "", "label": "—", "selected": value.isEmpty]]
                    + (field.options ?? []).filter { $0.active || $0.value == value }.map { ["value": $0.value, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.value), "selected": $0.value == value] }
            case .multiPicklist:
                entry["kind_checkboxes"] = true
                let chosen = state.multi[key] ?? []
                entry["options"] = (field.options ?? []).filter { $0.active || chosen.contains($0.value) }.enumerated().map { index, option in
                    ["value": option.value, "label": DisplayFormat.label(option.labels, locale: lang, fallback: option.value), "checked": chosen.contains(option.value),
                     "id": "field-\(key)-\(index)"]
                }
            case .boolean:
                entry["kind_select"] = true
                entry["options"] = [["value": "", "label": "—", "selected": value.isEmpty],
                                    ["value": "true", "label": t("common.yes", lang), "selected": value == "true"],
                                    ["value": "false", "label": t("common.no", lang), "selected": value == "false"]]
            case .user:
                entry["kind_select"] = true
                entry["options"] = [["value": "", "label": "—", "selected": value.isEmpty]]
                    + (try await Self.activeUsers(on: db.connection, logger: db.logger)).map { ["value": $0.0, "label": $0.1, "selected": $0.0 == value] }
            case .department:
                entry["kind_select"] = true
                let departments = try await OrganisationAdmin().departments(on: db.connection, logger: db.logger)
                entry["options"] = [["value": "", "label": "—", "selected": value.isEmpty]]
                    + departments.map { ["value": $0.id.uuidString.lowercased(), "label": $0.name, "selected": $0.id.uuidString.lowercased() == value] }
            case .lookup:
                entry["kind_select"] = true
                var options: [[String: Any]] = [["value": "", "label": "—", "selected": value.isEmpty]]
                if let target = field.target, let targetEntity = page.entities[target] {
                    let found = try await engine.list(target, query: RecordQuery(sort: targetEntity.titleField, limit: RecordQuery.maxLimit), as: page.actor,
                                                      on: db.connection, logger: db.logger)
                    options += found.records.map { record in
                        let id = record.id.uuidString.lowercased()
                        return ["value": id, "label": targetEntity.title(of: record, locale: page.locale) ?? id, "selected": id == value]
                    }
                    if !value.isEmpty && !found.records.contains(where: { $0.id.uuidString.lowercased() == value }) {
                        options.append(["value": value, "label": page.format.names[value] ?? value, "selected": true])
                    }
                }
                entry["options"] = options
            default:
                entry["kind_input"] = true
                entry["input_type"] = [FieldType.email: "email", .phone: "tel", .url: "url", .date: "date", .datetime: "datetime-local"][field.type] ?? "text"
                if [.number, .money, .percent].contains(field.type) { entry["inputmode"] = "decimal" }
                if field.type == .money { entry["suffix"] = field.currency ?? "CNY" }
                if field.type == .percent { entry["suffix"] = "%" }
                if field.type == .datetime { entry["suffix"] = "UTC" }
                if let maxLength = field.maxLength ?? (field.type == .text ? FieldValidator.maxTextLength : nil) { entry["maxlength"] = maxLength }
            }
            result.append(entry)
        }
        return result
    }

    /// The text each field shows in a form for a stored record.
    static func formText(_ value: JSONValue?, field: FieldDefinition, format: DisplayFormat) -> String {
        guard let value, !value.isNull else { return "" }
        switch (field.type, value) {
        case (.money, .object(let money)): return money["amount"]?.stringValue ?? ""
        case (.boolean, .bool(let flag)): return flag ? "true" : "false"
        case (.datetime, .string(let text)): return String(text.prefix(16))
        case (.autoNumber, _): return value.stringValue ?? ""
        case (_, .string(let text)): return text
        default: return value.stringValue ?? value.jsonText
        }
    }

    /// Engine values from a submitted form: only editable fields of the layout are sent.
    static func values(from pairs: [(String, String)], entity: EntityDefinition, full: EntityDefinition, access: AccessContext,
                       isCreate: Bool) -> (values: [String: JSONValue], state: FormState) {
        var state = FormState()
        var values: [String: JSONValue] = [:]
        let form = FormBody.single(pairs)
        for field in entity.activeFields where field.type != .autoNumber && access.fieldAccess(full, field.key) == .editable {
            if field.type == .multiPicklist {
                guard form["present.\(field.key)"] != nil else { continue }
                let chosen = pairs.filter { $0.0 == "f.\(field.key)" }.map(\.1)
                state.multi[field.key] = chosen
                values[field.key] = chosen.isEmpty ? .null : .array(chosen.map(JSONValue.string))
                continue
            }
            guard let raw = form["f.\(field.key)"] else { continue }
            state.values[field.key] = raw
            if isCreate && raw.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            switch field.type {
            case .datetime where !raw.isEmpty:
                values[field.key] = .string(raw.count == 16 ? raw + ":00Z" : raw)
            case .text, .longText, .email, .phone, .url:
                values[field.key] = raw.isEmpty ? .null : .string(field.type == .longText ? raw.replacingOccurrences(of: "\r\n", with: "\n") : raw)
            default:
                values[field.key] = RecordCSV.value(raw, field: field)
            }
        }
        state.version = form["version"].flatMap { Int($0) }
        return (values, state)
    }

    func renderForm(_ page: Page, entity: EntityDefinition, full: EntityDefinition, recordID: UUID?, title: String, state: FormState,
                    status: HTTPResponse.Status, db: PostgresConnectionBox) async throws -> Response {
        let lang = page.locale
        let layout = page.actor.access.visibleLayout(try await MetadataAdmin(engine: engine).layout("detail", of: entity.key, on: db.connection, logger: db.logger), of: full)
        let fields = try await formFields(entity: entity, full: full, layout: layout, page: page, state: state, db: db)
        let id = recordID?.uuidString.lowercased()
        return render("form", page, status: status, [
            "title": title,
            "entity": ["key": entity.key, "label": label(entity, lang)],
            "action": id.map { "/app/\(entity.key)/\($0)" } ?? "/app/\(entity.key)",
            "cancel": id.map { "/app/\(entity.key)/\($0)" } ?? "/app/\(entity.key)",
            "record_id": id ?? "", "is_edit": id != nil,
            "version": state.version.map { "\($0)" } ?? "",
            "fields": fields,
            "summary": state.summary ?? "", "has_summary": state.summary != nil,
            "conflict": state.conflict.map { t("form.conflict", lang, ["version": "\($0)"]) } ?? "",
            "reload_href": id.map { "/app/\(entity.key)/\($0)/edit" } ?? "",
        ])
    }

    @Sendable func newForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let prefill = request.uri.queryParameters
        return try await page(request, context, current: key) { page, db in
            let entity = try Self.entity(key, in: page)
            let full = try Self.entity(key, in: page.definitions)
            guard page.actor.access.scope(full, .create) > .none else {
                throw AtriumError(status: .forbidden, code: "no_permission", message: "your roles do not allow create on \(key)")
            }
            var state = FormState()
            for field in entity.activeFields {
                if let given = prefill[Substring(field.key)] { state.values[field.key] = String(given) }
                else if let value = field.defaultValue { state.values[field.key] = Self.formText(value, field: field, format: page.format) }
            }
            return try await renderForm(page, entity: entity, full: full, recordID: nil, title: t("form.new_title", page.locale, ["entity": label(entity, page.locale)]),
                                        state: state, status: .ok, db: db)
        }
    }

    @Sendable func editForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let id = try Self.recordID(context)
        return try await page(request, context, current: key) { page, db in
            let entity = try Self.entity(key, in: page)
            let full = try Self.entity(key, in: page.definitions)
            let record = try await engine.get(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            var state = FormState()
            for field in entity.activeFields {
                if field.type == .multiPicklist { state.multi[field.key] = record.values[field.key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
                state.values[field.key] = Self.formText(record.values[field.key], field: field, format: page.format)
            }
            state.version = record.version
            let title = record.values[entity.titleField]?.stringValue ?? id.uuidString.lowercased()
            return try await renderForm(page, entity: entity, full: full, recordID: id, title: t("form.edit_title", page.locale, ["title": title]),
                                        state: state, status: .ok, db: db)
        }
    }

    /// A refused write renders the form again with the user's input and the engine's message
    /// next to the field (and at the top); nothing was written (the transaction rolls back).
    struct FormRefused: Error { let response: Response }

    func save(_ request: Request, context: AtriumContext, id: UUID?) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let pairs = try await FormBody.parsePairs(request, limit: Self.formLimit)
        let form = FormBody.single(pairs)
        do {
            return try await page(request, context, form: form, current: key) { page, db in
                let entity = try Self.entity(key, in: page)
                let full = try Self.entity(key, in: page.definitions)
                var (values, state) = Self.values(from: pairs, entity: entity, full: full, access: page.actor.access, isCreate: id == nil)
                do {
                    let record: Record
                    if let id {
                        record = try await engine.update(key, id: id, values: values, expectedVersion: state.version, as: page.actor, on: db.connection, logger: db.logger)
                    } else {
                        record = try await engine.create(key, values: values, as: page.actor, on: db.connection, logger: db.logger)
                    }
                    return Self.redirect("/app/\(key)/\(record.id.uuidString.lowercased())?notice=\(id == nil ? "created" : "saved")")
                } catch let error as AtriumError where error.status.code >= 400 && error.status.code < 500 && error.status != .notFound {
                    let lang = page.locale
                    let fieldLabel = error.field.flatMap { entity.field($0) }.map { label($0, lang) }
                    let text = message(error, locale: lang, label: fieldLabel)
                    if error.code == "version_conflict" {
                        let current = try? await engine.get(key, id: id!, as: page.actor, on: db.connection, logger: db.logger)
                        state.conflict = current?.version
                    } else if let field = error.field, entity.field(field) != nil {
                        state.errors[field] = text
                    }
                    state.summary = text
                    values = [:]
                    let title = id == nil ? t("form.new_title", lang, ["entity": label(entity, lang)]) : t("form.edit_title", lang, ["title": form["f.\(entity.titleField)"] ?? ""])
                    let response = try await renderForm(page, entity: entity, full: full, recordID: id, title: title, state: state,
                                                        status: error.status, db: db)
                    throw FormRefused(response: response)
                }
            }
        } catch let refused as FormRefused {
            return refused.response
        }
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        try await save(request, context: context, id: nil)
    }

    @Sendable func update(_ request: Request, context: AtriumContext) async throws -> Response {
        try await save(request, context: context, id: try Self.recordID(context))
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let id = try Self.recordID(context)
        let form = try await FormBody.parse(request)
        return try await page(request, context, form: form) { page, db in
            try await engine.delete(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return Self.redirect("/app/\(key)?notice=deleted&undo=\(id.uuidString.lowercased())")
        }
    }

    @Sendable func restore(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let key = Self.entityKey(context)
        let id = try Self.recordID(context)
        let form = try await FormBody.parse(request)
        return try await page(request, context, form: form) { page, db in
            _ = try await engine.restore(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            return Self.redirect("/app/\(key)/\(id.uuidString.lowercased())?notice=restored")
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

    // MARK: Search

    @Sendable func search(_ request: Request, context: AtriumContext) async throws -> Response {
        guard signedIn(context) else { return Self.redirect("/login") }
        let q = (request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
        return try await page(request, context) { page, db in
            let lang = page.locale
            var groups: [[String: Any]] = []
            if !q.isEmpty {
                guard q.count <= 100 else { throw AtriumError.validation(field: "q", "must be at most 100 characters") }
                for entity in page.entities.values.sorted(by: { $0.key < $1.key }) where !entity.searchableFields.isEmpty {
                    let found = try await engine.list(entity.key, query: RecordQuery(limit: 5, q: q), as: page.actor, on: db.connection, logger: db.logger)
                    guard found.total > 0 else { continue }
                    groups.append([
                        "label": label(entity, lang), "total": found.total, "key": entity.key,
                        "all_href": "/app/\(entity.key)?q=\(Self.escapeQuery(q))",
                        "rows": found.records.map { ["title": entity.title(of: $0, locale: lang) ?? $0.id.uuidString.lowercased(),
                                                     "href": "/app/\(entity.key)/\($0.id.uuidString.lowercased())"] },
                    ])
                }
            }
            return render("search", page, ["title": t("search.title", lang), "q": q, "groups": groups, "searched": !q.isEmpty, "found": !groups.isEmpty])
        }
    }
}

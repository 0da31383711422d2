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
/// Designer pages (administrators) are in ``WebDesigner``; every route group is listed in ``TenantRoutes``.
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
            let unread = try await Notifications.unreadCount(of: actor.user.id, on: db.connection, logger: db.logger)
            if unread > 0 { shell["unread_notifications"] = unread > 99 ? "99+" : "\(unread)" }
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
        var workItems: [[String: Any]] = [["href": "/app/reports", "label": t("reports.all", locale), "current": current == "reports", "key": "reports"]]
        if !actor.access.pools.isEmpty || actor.user.isAdmin {
            workItems.append(["href": "/app/pools", "label": t("pools.title", locale), "current": current == "pools", "key": "pools"])
        }
        groups.append(["title": t("reports.title", locale), "module": "reports", "empty": false, "items": workItems])
        if actor.user.isAdmin {
            groups.append(["title": t("nav.admin", locale), "module": "admin", "empty": false, "items": [
                ["href": "/app/admin/objects", "label": t("designer.objects", locale), "current": current == "admin:objects", "key": "admin-objects"],
                ["href": "/app/admin/users", "label": t("admin.users", locale), "current": current == "admin:users", "key": "admin-users"],
                ["href": "/app/admin/departments", "label": t("admin.departments", locale), "current": current == "admin:departments", "key": "admin-departments"],
                ["href": "/app/admin/roles", "label": t("admin.roles", locale), "current": current == "admin:roles", "key": "admin-roles"],
                ["href": "/app/admin/two-factor", "label": t("twofactor.admin_title", locale), "current": current == "admin:two-factor", "key": "admin-two-factor"],
                ["href": "/app/admin/approvals", "label": t("approvals.processes", locale), "current": current == "admin:approvals", "key": "admin-approvals"],
                ["href": "/app/admin/automation", "label": t("automation.title", locale), "current": current == "admin:automation", "key": "admin-automation"],
                ["href": "/app/admin/pools", "label": t("pools.admin_title", locale), "current": current == "admin:pools", "key": "admin-pools"],
                ["href": "/app/admin/webhooks", "label": t("webhooks.title", locale), "current": current == "admin:webhooks", "key": "admin-webhooks"],
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
        renderer.html(template, locale: page.locale, status: status, Self.merged(page, values))
    }

    /// The page's shell values overlaid with `values`, top-level empty strings dropped.
    static func merged(_ page: Page, _ values: [String: Any]) -> [String: Any] {
        var merged = page.shell
        for (key, value) in values {
            if let text = value as? String, text.isEmpty { continue }
            merged[key] = value
        }
        return merged
    }

    /// A module template rendered to HTML for inclusion in a page (a ``RecordPanel``): the
    /// page's shell values (CSRF token, user) and locale strings are available to it.
    public func fragment(_ template: String, _ page: Page, _ values: [String: Any]) -> String {
        renderer.fragment(template, locale: page.locale, Self.merged(page, values))
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

    /// The localized message, followed by the error's own words when they say more (which part
    /// of a rule or an endpoint is wrong, and why) — for administrators' pages.
    public func detailedMessage(_ error: AtriumError, locale: String) -> String {
        let text = message(error, locale: locale, label: nil)
        return text == error.message ? text : "\(text) (\(error.message))"
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
}

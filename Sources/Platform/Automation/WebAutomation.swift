import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The administrators' automation page: the rules with what they did lately, a form for a new
/// rule (one action of each kind, the common case), and each rule's full definition as JSON for
/// everything else (several recipients, conditions with `or`), as the API takes it.
///
///     GET  /app/admin/automation
///     POST /app/admin/automation                  new rule from the form
///     POST /app/admin/automation/{id}             the rule's JSON definition
///     POST /app/admin/automation/{id}/active      turn on / off
///     POST /app/admin/automation/{id}/delete
struct WebAutomation: Sendable {
    let app: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/admin/automation", use: page)
        router.post("app/admin/automation", use: create)
        router.post("app/admin/automation/:id", use: save)
        router.post("app/admin/automation/:id/active", use: setActive)
        router.post("app/admin/automation/:id/delete", use: delete)
    }

    func t(_ key: String, _ locale: String, _ arguments: [String: String] = [:]) -> String { app.t(key, locale, arguments) }

    static func pretty(_ value: JSONValue) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.jsonText.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return value.jsonText
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The editable part of a rule (no id, author or times).
    static func definition(_ rule: AutomationRule) -> JSONValue {
        .object(["name": .string(rule.name), "entity": .string(rule.entity), "trigger": rule.trigger.json, "condition": rule.condition ?? .null,
                 "actions": .array(rule.actions.map(\.json)), "active": .bool(rule.active)])
    }

    /// One line in the page's language for a trigger.
    func describe(_ trigger: AutomationRule.Trigger, entity: EntityDefinition?, locale: String) -> String {
        func label(_ key: String) -> String { entity?.field(key).map { app.label($0, locale) } ?? key }
        switch trigger {
        case .fieldChanged(let field, let to):
            return to.map { t("automation.when.field_changed_to", locale, ["field": label(field), "value": Automation.text($0)]) }
                ?? t("automation.when.field_changed", locale, ["field": label(field)])
        case .date(let field, let days):
            return t("automation.when.date", locale, ["field": label(field), "days": "\(days)"])
        case .approval(let outcome):
            return t("automation.when.approval_\(outcome ?? "any")", locale)
        default:
            return t("automation.when.\(trigger.type)", locale)
        }
    }

    func render(_ page: WebApp.Page, db: PostgresConnectionBox, status: HTTPResponse.Status = .ok, error: String? = nil, editing: UUID? = nil,
                text: String? = nil, form: [String: String] = [:]) async throws -> Response {
        let lang = page.locale
        let rules = try await AutomationRules.list(on: db.connection, logger: db.logger)
        let runs = try await AutomationRules.runs(limit: 200, on: db.connection, logger: db.logger)
        let endpoints = try await Webhooks.list(on: db.connection, logger: db.logger)
        let roles = try await db.connection.query("SELECT key, labels::text FROM roles ORDER BY key", logger: db.logger).collect()
            .map { row -> (String, String) in
                let (key, labels) = try row.decode((String, String).self)
                let names = (try? JSONValue.parse(labels))?.objectValue?.compactMapValues(\.stringValue) ?? [:]
                return (key, DisplayFormat.label(names, locale: lang, fallback: key))
            }
        let rows: [[String: Any]] = rules.map { rule in
            let id = rule.id.uuidString.lowercased()
            let entity = page.definitions[rule.entity]
            let recent = runs.filter { $0.ruleID == rule.id }.prefix(5).map { run -> [String: Any] in
                [
                    "status": run.status, "status_label": t("automation.status.\(run.status)", lang), "failed": run.status == "failed",
                    "at": DisplayFormat.dateTime(run.at), "link": "/app/\(run.entity)/\(run.recordID.uuidString.lowercased())",
                    "error": run.detail["error"]?.stringValue ?? run.detail["reason"]?.stringValue ?? "",
                ]
            }
            return [
                "id": id, "name": rule.name, "active": rule.active, "entity": entity.map { app.label($0, lang) } ?? rule.entity,
                "when": describe(rule.trigger, entity: entity, locale: lang),
                "condition": rule.condition.map(\.jsonText) ?? "", "has_condition": rule.condition != nil,
                "actions": rule.actions.map { t("automation.action.\($0.type)", lang) }.joined(separator: " · "),
                "json": editing == rule.id ? (text ?? Self.pretty(Self.definition(rule))) : Self.pretty(Self.definition(rule)),
                "error": editing == rule.id ? (error ?? "") : "",
                "runs": Array(recent), "has_runs": !recent.isEmpty,
            ]
        }
        let entities = page.entities.values.sorted { app.label($0, lang) < app.label($1, lang) }
        var fields: [[String: String]] = []
        for entity in entities {
            for field in entity.activeFields { fields.append(["key": field.key, "label": "\(app.label(entity, lang)) · \(app.label(field, lang))"]) }
        }
        func selected(_ key: String, _ value: String) -> Bool { form[key] == value }
        return app.render("admin_automation", page, status: status, [
            "title": t("automation.title", lang), "rows": rows, "has_rows": !rows.isEmpty,
            "entities": entities.map { ["key": $0.key, "label": app.label($0, lang), "selected": selected("entity", $0.key)] as [String: Any] },
            "fields": fields,
            "triggers": AutomationRule.Trigger.types.map { ["value": $0, "label": t("automation.when.\($0 == "field_changed" ? "field_changed_any" : $0 == "approval" ? "approval_any" : $0 == "date" ? "date_any" : $0)", lang),
                                                          "selected": selected("trigger", $0)] as [String: Any] },
            "operators": RecordQuery.operators.sorted().map { ["value": $0, "selected": selected("cond_op", $0)] as [String: Any] },
            "roles": roles.map { ["key": $0.0, "name": $0.1, "selected": selected("notify_role", $0.0)] as [String: Any] },
            "endpoints": endpoints.map { ["id": $0.id.uuidString.lowercased(), "url": $0.url, "selected": selected("webhook", $0.id.uuidString.lowercased())] as [String: Any] },
            "has_endpoints": !endpoints.isEmpty,
            "form": form, "new_error": editing == nil ? (error ?? "") : "", "has_new_error": editing == nil && error != nil,
        ])
    }

    @Sendable func page(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:automation") { page, db in try await render(page, db: db) }
    }

    /// The form's fields as a rule's JSON (empty parts left out; the checks name what is wrong).
    static func draft(from form: [String: String]) -> [String: JSONValue] {
        func value(_ key: String) -> String? {
            guard let text = form[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        func number(_ key: String) -> JSONValue? { value(key).map { Decimal(string: $0).map(JSONValue.number) ?? .string($0) } }
        var trigger: [String: JSONValue] = ["type": .string(value("trigger") ?? "")]
        switch value("trigger") {
        case "field_changed":
            trigger["field"] = .string(value("trigger_field") ?? "")
            if let to = value("trigger_to") { trigger["to"] = .string(to) }
        case "date":
            trigger["field"] = .string(value("trigger_field") ?? "")
            if let days = number("days_before") { trigger["days_before"] = days }
        case "approval":
            trigger["outcome"] = .string(value("outcome") ?? "any")
        default: break
        }
        var actions: [JSONValue] = []
        if let message = value("notify_message") {
            var to: [JSONValue] = []
            if form["notify_owner"] != nil { to.append(.string("owner")) }
            if form["notify_manager"] != nil { to.append(.string("owner_manager")) }
            if let role = value("notify_role") { to.append(.string("role:\(role)")) }
            actions.append(.object(["type": .string("notify"), "to": .array(to), "message": .string(message)]))
        }
        if let field = value("set_field") {
            actions.append(.object(["type": .string("set_field"), "field": .string(field), "value": value("set_value").map(JSONValue.string) ?? .null]))
        }
        if let subject = value("task_subject") {
            var task: [String: JSONValue] = ["type": .string("create_task"), "subject": .string(subject), "assignee": .string(value("task_assignee") ?? "owner")]
            if let days = number("task_due_days") { task["due_in_days"] = days }
            actions.append(.object(task))
        }
        if let endpoint = value("webhook") {
            actions.append(.object(["type": .string("webhook"), "endpoint_id": .string(endpoint)]))
        }
        var body: [String: JSONValue] = ["name": .string(value("name") ?? ""), "entity": .string(value("entity") ?? ""),
                                         "trigger": .object(trigger), "actions": .array(actions)]
        if let field = value("cond_field") {
            body["condition"] = .object(["field": .string(field), "op": .string(value("cond_op") ?? "eq"),
                                         "value": value("cond_value").map(JSONValue.string) ?? .null])
        }
        return body
    }

    func change(_ request: Request, _ context: AtriumContext, form: [String: String], editing: UUID? = nil, text: String? = nil,
                _ body: @escaping @Sendable (WebApp.Page, PostgresConnectionBox) async throws -> Void) async throws -> Response {
        do {
            return try await app.adminPage(request, context, form: form, current: "admin:automation") { page, db in
                do {
                    try await body(page, db)
                } catch let error as any DomainError where error.status.code < 500 && !(editing == nil && error.status == .notFound) {
                    throw WebApp.FormRefused(response: try await render(page, db: db, status: error.status,
                                                                        error: app.detailedMessage(error.atriumError, locale: page.locale),
                                                                        editing: editing, text: text, form: editing == nil ? form : [:]))
                }
                return WebApp.redirect("/app/admin/automation?notice=saved")
            }
        } catch let refused as WebApp.FormRefused {
            return refused.response
        }
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        let engine = app.engine
        return try await change(request, context, form: form) { page, db in
            let draft = try AutomationRules.Draft(json: Self.draft(from: form))
            let checked = try await AutomationRules.check(draft, engine: engine, on: db.connection, logger: db.logger)
            let rule = try await AutomationRules.create(checked, by: page.actor.user.id, on: db.connection, logger: db.logger)
            try await AutomationRoutes.audit("automation_rule.created", rule: rule, actor: page.actor, on: db.connection, logger: db.logger)
        }
    }

    static func id(_ context: AtriumContext) throws -> UUID {
        try RecordRoutes.uuid(context, "id", notFound: AutomationError.notFound)
    }

    @Sendable func save(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 64 * 1024)
        let text = form["rule"] ?? ""
        let engine = app.engine
        return try await change(request, context, form: form, editing: id, text: text) { page, db in
            guard case .object(let body)? = try? JSONValue.parse(text) else { throw AtriumError.validation(field: "rule", "is not a JSON object") }
            let existing = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            let checked = try await AutomationRules.check(try AutomationRules.Draft(json: body, base: existing), engine: engine,
                                                          on: db.connection, logger: db.logger)
            let rule = try await AutomationRules.change(id, to: checked, on: db.connection, logger: db.logger)
            try await AutomationRoutes.audit("automation_rule.changed", rule: rule, actor: page.actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func setActive(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        let engine = app.engine
        return try await change(request, context, form: form, editing: id) { page, db in
            let existing = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            let checked = try await AutomationRules.check(try AutomationRules.Draft(json: ["active": .bool(form["active"] == "true")], base: existing),
                                                          engine: engine, on: db.connection, logger: db.logger)
            let rule = try await AutomationRules.change(id, to: checked, on: db.connection, logger: db.logger)
            try await AutomationRoutes.audit("automation_rule.changed", rule: rule, actor: page.actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request)
        return try await change(request, context, form: form, editing: id) { page, db in
            let rule = try await AutomationRules.find(id, on: db.connection, logger: db.logger)
            try await AutomationRules.delete(id, on: db.connection, logger: db.logger)
            try await AutomationRoutes.audit("automation_rule.deleted", rule: rule, actor: page.actor, on: db.connection, logger: db.logger)
        }
    }
}

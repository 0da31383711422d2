import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Tenant administrators' designer pages: custom objects, the custom field designer and the
/// layout designer (detail sections and list columns, ordered with up/down buttons or
/// position numbers). Everything goes through ``MetadataAdmin``, as the JSON API does.
///
///     GET  /app/admin/objects                      entities, and a form for a new custom object
///     POST /app/admin/objects
///     GET  /app/admin/objects/{entity}/fields      fields, and the add-field form
///     POST /app/admin/objects/{entity}/fields
///     POST /app/admin/objects/{entity}/fields/{key}/active   deactivate or reactivate
///     GET  /app/admin/objects/{entity}/layout      layout designer
///     POST /app/admin/objects/{entity}/layout
struct WebDesigner: Sendable {
    let app: WebApp
    var engine: RecordEngine { app.engine }
    var admin: MetadataAdmin { MetadataAdmin(engine: app.engine) }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/admin/objects", use: objects)
        router.post("app/admin/objects", use: createObject)
        router.get("app/admin/objects/:entity/fields", use: fields)
        router.post("app/admin/objects/:entity/fields", use: addField)
        router.post("app/admin/objects/:entity/fields/:key/active", use: toggleField)
        router.get("app/admin/objects/:entity/layout", use: layout)
        router.post("app/admin/objects/:entity/layout", use: saveLayout)
    }

    func t(_ key: String, _ locale: String, _ arguments: [String: String] = [:]) -> String { app.t(key, locale, arguments) }

    static let fieldTypes: [FieldType] = [.text, .longText, .number, .money, .percent, .date, .datetime, .boolean, .email, .phone, .url,
                                          .picklist, .multiPicklist, .lookup, .user, .department]

    // MARK: Objects

    func objectsPage(_ page: WebApp.Page, db: PostgresConnectionBox, error: String? = nil, input: [String: String] = [:],
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let all = try await engine.entities(on: db.connection, logger: db.logger)
        let rows: [[String: Any]] = all.values.sorted { $0.key < $1.key }.map { entity in
            ["key": entity.key, "label": app.label(entity, lang), "custom": entity.isCustom, "fields": entity.activeFields.count,
             "module": entity.module ?? ""]
        }
        return app.render("designer_objects", page, status: status, [
            "title": t("designer.objects", lang), "rows": rows, "error": error ?? "", "has_error": error != nil,
            "input_key": input["key"] ?? "x_", "input_en": input["label_en"] ?? "", "input_zh": input["label_zh"] ?? "",
            "input_name_en": input["name_en"] ?? "Name", "input_name_zh": input["name_zh"] ?? "名称",
        ])
    }

    @Sendable func objects(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:objects") { page, db in try await objectsPage(page, db: db) }
    }

    static func labels(en: String?, zh: String?) -> [String: String] {
        var labels: [String: String] = [:]
        if let en = en?.trimmingCharacters(in: .whitespaces), !en.isEmpty { labels["en"] = en }
        if let zh = zh?.trimmingCharacters(in: .whitespaces), !zh.isEmpty { labels["zh-CN"] = zh }
        return labels
    }

    @Sendable func createObject(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        do {
            return try await app.adminPage(request, context, form: form, current: "admin:objects") { page, db in
                let key = (form["key"] ?? "").trimmingCharacters(in: .whitespaces)
                var name = FieldDefinition(key: "x_name", labels: Self.labels(en: form["name_en"], zh: form["name_zh"]), type: .text)
                name.required = true
                name.searchable = true
                let object = MetadataAdmin.NewObject(key: key, labels: Self.labels(en: form["label_en"], zh: form["label_zh"]), fields: [name],
                                                     titleField: "x_name", listColumns: ["x_name", "owner_id", "updated_at"], defaultSort: "-updated_at")
                do {
                    guard !object.labels.isEmpty else { throw AtriumError.validation(field: "labels", "give the object a name") }
                    _ = try await admin.createObject(object, as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as AtriumError where error.status.code < 500 {
                    throw WebApp.FormRefused(response: try await objectsPage(page, db: db, error: app.message(error, locale: page.locale, label: nil),
                                                                             input: form, status: error.status))
                }
                return WebApp.redirect("/app/admin/objects/\(key)/fields?notice=object_created")
            }
        } catch let refused as WebApp.FormRefused {
            return refused.response
        }
    }

    // MARK: Fields

    func fieldsPage(_ key: String, page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil, input: [String: String] = [:],
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let (entity, all) = try await engine.entity(key, on: db.connection, logger: db.logger)
        let rows: [[String: Any]] = entity.fields.map { field in
            ["key": field.key, "label": app.label(field, lang), "type": t("types.\(field.type.rawValue)", lang), "required": field.required,
             "filterable": field.filterable, "active": field.active, "custom": field.isCustom,
             "options": (field.options ?? []).isEmpty ? false as Any : (field.options ?? []).map { DisplayFormat.label($0.labels, locale: lang, fallback: $0.value) }.joined(separator: ", ")]
        }
        let chosenType = input["type"] ?? "text"
        return app.render("designer_fields", page, status: status, [
            "title": t("designer.fields_of", lang, ["entity": app.label(entity, lang)]),
            "entity": ["key": key, "label": app.label(entity, lang)],
            "rows": rows, "error": error ?? "", "has_error": error != nil,
            "types": Self.fieldTypes.map { ["value": $0.rawValue, "label": t("types.\($0.rawValue)", lang), "selected": $0.rawValue == chosenType] },
            "targets": all.values.sorted { $0.key < $1.key }.map { ["key": $0.key, "label": app.label($0, lang), "selected": $0.key == input["target"]] },
            "input_key": input["key"] ?? "x_", "input_en": input["label_en"] ?? "", "input_zh": input["label_zh"] ?? "",
            "input_options": input["options"] ?? "",
            "input_required": input["required"] != nil, "input_filterable": input["filterable"] != nil, "input_searchable": input["searchable"] != nil,
        ])
    }

    @Sendable func fields(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        return try await app.adminPage(request, context, current: "admin:objects") { page, db in try await fieldsPage(key, page: page, db: db, request: request) }
    }

    /// Picklist options, one per line: `value | English | 中文` (labels optional).
    static func options(_ text: String) -> [PicklistOption] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let value = parts.first, !value.isEmpty else { return nil }
            var labels: [String: String] = ["en": parts.count > 1 && !parts[1].isEmpty ? parts[1] : value]
            if parts.count > 2, !parts[2].isEmpty { labels["zh-CN"] = parts[2] }
            return PicklistOption(value: value, labels: labels)
        }
    }

    @Sendable func addField(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        let form = try await FormBody.parse(request)
        do {
            return try await app.adminPage(request, context, form: form, current: "admin:objects") { page, db in
                do {
                    guard let type = FieldType(rawValue: form["type"] ?? "") else { throw AtriumError.validation(field: "type", "choose a field type") }
                    var field = FieldDefinition(key: (form["key"] ?? "").trimmingCharacters(in: .whitespaces),
                                                labels: Self.labels(en: form["label_en"], zh: form["label_zh"]), type: type)
                    guard !field.labels.isEmpty else { throw AtriumError.validation(field: "labels", "give the field a name") }
                    field.required = form["required"] != nil
                    field.filterable = form["filterable"] != nil
                    field.searchable = form["searchable"] != nil
                    if type == .picklist || type == .multiPicklist { field.options = Self.options(form["options"] ?? "") }
                    if type == .lookup { field.target = form["target"] }
                    _ = try await admin.addField(field, to: key, as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as AtriumError where error.status.code < 500 && error.status != .notFound {
                    throw WebApp.FormRefused(response: try await fieldsPage(key, page: page, db: db, request: request,
                                                                            error: app.message(error, locale: page.locale, label: nil), input: form, status: error.status))
                }
                return WebApp.redirect("/app/admin/objects/\(key)/fields?notice=field_added")
            }
        } catch let refused as WebApp.FormRefused {
            return refused.response
        }
    }

    @Sendable func toggleField(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        let fieldKey = context.parameters.get("key") ?? ""
        let form = try await FormBody.parse(request)
        return try await app.adminPage(request, context, form: form, current: "admin:objects") { page, db in
            var change = try JSONDecoder().decode(MetadataAdmin.FieldChange.self, from: Data("{}".utf8))
            change.active = form["active"] == "true"
            _ = try await admin.changeField(fieldKey, of: key, change: change, as: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/objects/\(key)/fields?notice=field_changed")
        }
    }

    // MARK: Layout

    @Sendable func layout(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        return try await app.adminPage(request, context, current: "admin:objects") { page, db in
            try await layoutPage(key, page: page, db: db, request: request)
        }
    }

    func layoutPage(_ key: String, page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let (entity, _) = try await engine.entity(key, on: db.connection, logger: db.logger)
        let detail = try await admin.layout("detail", of: key, on: db.connection, logger: db.logger)
        let list = try await admin.layout("list", of: key, on: db.connection, logger: db.logger)
        // Detail: every active field with its section and position; fields not in the layout last, unchecked.
        var placed: [(key: String, section: Int)] = []
        var sectionTitles: [String] = []
        for (index, section) in (detail["sections"]?.arrayValue ?? []).enumerated() {
            let title: String
            if case .object(let labels)? = section["title"] { title = DisplayFormat.label(labels.compactMapValues(\.stringValue), locale: lang, fallback: "") }
            else { title = section["title"]?.stringValue ?? "" }
            sectionTitles.append(title.isEmpty ? t("designer.section_n", lang, ["n": "\(index + 1)"]) : title)
            for item in section["fields"]?.arrayValue ?? [] { if let fieldKey = item["field"]?.stringValue { placed.append((fieldKey, index)) } }
        }
        if sectionTitles.isEmpty { sectionTitles = [app.label(entity, lang)] }
        var rows: [[String: Any]] = []
        var position = 0
        func row(_ fieldKey: String, section: Int, shown: Bool) {
            guard let field = entity.field(fieldKey), field.active else { return }
            position += 1
            rows.append(["key": fieldKey, "label": app.label(field, lang), "position": position, "shown": shown,
                         "sections": sectionTitles.enumerated().map { ["index": $0.offset, "title": $0.element, "selected": $0.offset == section] }])
        }
        for item in placed { row(item.key, section: item.section, shown: true) }
        for field in entity.activeFields where !placed.contains(where: { $0.key == field.key }) { row(field.key, section: 0, shown: false) }
        let columns = list["columns"]?.arrayValue?.compactMap(\.stringValue) ?? entity.listColumns
        var columnRows: [[String: Any]] = []
        let candidates = columns + (entity.activeFields.map(\.key) + ["owner_id", "created_at", "updated_at"]).filter { !columns.contains($0) }
        for (index, column) in candidates.enumerated() {
            let label = entity.field(column).map { app.label($0, lang) } ?? app.systemLabel(column, lang)
            columnRows.append(["key": column, "label": label, "position": index + 1, "shown": columns.contains(column)])
        }
        return app.render("designer_layout", page, status: status, [
            "title": t("designer.layout_of", lang, ["entity": app.label(entity, lang)]),
            "entity": ["key": key, "label": app.label(entity, lang)],
            "rows": rows, "columns": columnRows,
            "section_titles": sectionTitles.enumerated().map { ["index": $0.offset, "title": $0.element, "number": $0.offset + 1] },
            "detail_version": detail["version"]?.intValue ?? 0, "list_version": list["version"]?.intValue ?? 0,
            "sort": list["sort"]?.stringValue ?? entity.defaultSort,
            "error": error ?? "", "has_error": error != nil,
        ])
    }

    @Sendable func saveLayout(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let key = WebApp.entityKey(context)
        let form = try await FormBody.parse(request)
        do {
            return try await app.adminPage(request, context, form: form, current: "admin:objects") { page, db in
                let (entity, _) = try await engine.entity(key, on: db.connection, logger: db.logger)
                // Sections: existing titles (renamed) plus an optional new one.
                var titles: [String] = []
                for index in 0..<20 {
                    guard let title = form["section.\(index)"] else { break }
                    titles.append(title.trimmingCharacters(in: .whitespaces))
                }
                if let extra = form["section.new"]?.trimmingCharacters(in: .whitespaces), !extra.isEmpty { titles.append(extra) }
                if titles.isEmpty { titles = [""] }
                var members: [[(position: Double, key: String)]] = Array(repeating: [], count: titles.count)
                for field in entity.activeFields where form["show.\(field.key)"] != nil {
                    let section = min(max(0, Int(form["sec.\(field.key)"] ?? "0") ?? 0), titles.count - 1)
                    let position = Double(form["pos.\(field.key)"] ?? "") ?? 999
                    members[section].append((position, field.key))
                }
                // A section's title keeps its other languages; only the page's language is edited.
                let previous = try await admin.layout("detail", of: key, on: db.connection, logger: db.logger)["sections"]?.arrayValue ?? []
                let sections: [JSONValue] = zip(titles, members).enumerated().compactMap { index, pair in
                    let (title, fields) = pair
                    guard !fields.isEmpty else { return nil }
                    let ordered = fields.sorted { $0.position != $1.position ? $0.position < $1.position : $0.key < $1.key }
                    var labels: [String: JSONValue] = [:]
                    if index < previous.count {
                        switch previous[index]["title"] {
                        case .object(let old)?: labels = old
                        case .string(let old)?: labels = ["en": .string(old)]
                        default: break
                        }
                    }
                    labels[page.locale] = .string(title.isEmpty ? app.label(entity, page.locale) : title)
                    return .object([
                        "title": .object(labels),
                        "columns": .number(2),
                        "fields": .array(ordered.map { .object(["field": .string($0.key)]) }),
                    ])
                }
                let candidates = entity.activeFields.map(\.key) + ["owner_id", "created_at", "updated_at"]
                var positioned: [(Double, String)] = []
                for column in candidates where form["col.\(column)"] != nil {
                    positioned.append((Double(form["colpos.\(column)"] ?? "") ?? 999, column))
                }
                positioned.sort { a, b in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
                let columns: [String] = positioned.map { $0.1 }
                do {
                    guard !sections.isEmpty else { throw AtriumError.validation(field: "sections", "show at least one field on the record page") }
                    guard !columns.isEmpty else { throw AtriumError.validation(field: "columns", "show at least one column in the list") }
                    _ = try await admin.saveLayout("detail", of: key, definition: .object(["sections": .array(sections)]), as: page.actor,
                                                   on: db.connection, logger: db.logger)
                    var list: [String: JSONValue] = ["columns": .array(columns.map(JSONValue.string))]
                    if let sort = form["sort"], !sort.isEmpty { list["sort"] = .string(sort) }
                    _ = try await admin.saveLayout("list", of: key, definition: .object(list), as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as AtriumError where error.status.code < 500 && error.status != .notFound {
                    throw WebApp.FormRefused(response: try await layoutPage(key, page: page, db: db, request: request,
                                                                            error: app.message(error, locale: page.locale, label: nil), status: error.status))
                }
                return WebApp.redirect("/app/admin/objects/\(key)/layout?notice=layout_saved")
            }
        } catch let refused as WebApp.FormRefused {
            return refused.response
        }
    }
}

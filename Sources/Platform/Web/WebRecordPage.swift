import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The record page and its forms: show, new, edit, save, delete and restore.
extension WebApp {
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
            let attachments = try await attachmentsPanel(record, entity: entity, page: page, db: db)
            let comments = try await commentsPanel(record, entity: entity, page: page, db: db)
            let pool = locked ? nil : try await WebPools.panel(record, entity: entity, app: self, page: page, db: db)
            // Sections of the tenant's enabled modules that apply to every record (e.g. the timeline).
            var panels: [[String: Any]] = []
            for moduleID in try await TenantModules.enabled(on: db.connection, logger: db.logger) {
                for panel in services.catalog.manifests[moduleID]?.recordPanels ?? [] {
                    if let html = try await panel.render(record: record, entity: entity, page: page, db: db, web: self) { panels.append(["html": html]) }
                }
            }
            return render("record", page, [
                "panels": panels,
                "pool": pool.map { $0 as Any } ?? false,
                "approval": approval.map { $0 as Any } ?? false,
                "module_actions": moduleActions,
                "title": title,
                "entity": ["key": key, "label": label(entity, lang)],
                "record": ["id": id.uuidString.lowercased(), "title": title, "version": record.version,
                           "owner": record.ownerID.map { format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                           "created": DisplayFormat.dateTime(record.createdAt), "updated": DisplayFormat.dateTime(record.updatedAt),
                           "last_activity": record.lastActivityAt.map(DisplayFormat.dateTime) ?? ""],
                "sections": sections, "related": related, "history": historyRows, "attachments": attachments, "comments": comments,
                "can_edit": !locked && page.actor.access.scope(entity, .update) > .none,
                "can_delete": !locked && page.actor.access.scope(entity, .delete) > .none,
                "can_clone": page.actor.access.scope(entity, .create) > .none,
            ])
        }
    }

    /// The record's files with their download links, and the upload form and remove buttons
    /// when the caller may change the record (the routes check again, per record).
    func attachmentsPanel(_ record: Record, entity: EntityDefinition, page: Page, db: PostgresConnectionBox) async throws -> [String: Any] {
        let id = record.id.uuidString.lowercased()
        let canChange = page.actor.access.scope(entity, .update) > .none
        let rows: [[String: Any]] = try await Attachments.live(of: entity.key, id: record.id, on: db.connection, logger: db.logger).map { file in
            let href = "/app/\(entity.key)/\(id)/attachments/\(file.id.uuidString.lowercased())"
            return ["id": file.id.uuidString.lowercased(), "name": file.fileName, "size": DisplayFormat.fileSize(file.byteSize),
                    "uploader": page.format.names[file.uploadedBy.uuidString.lowercased()] ?? "", "when": DisplayFormat.dateTime(file.uploadedAt),
                    "href": href, "delete_action": "\(href)/delete", "can_delete": canChange]
        }
        let limit = services.configuration.maxUploadBytes / (1024 * 1024)
        return ["rows": rows, "count": rows.count, "has_rows": !rows.isEmpty, "can_upload": canChange, "upload_action": "/app/\(entity.key)/\(id)/attachments",
                "hint": t("attachments.hint", page.locale, ["limit": "\(limit)"]),
                "accept": AttachmentPolicy.allowedTypes.keys.sorted().map { ".\($0)" }.joined(separator: ",")]
    }

    /// The record's comment thread (one query; names come from the page's people), with the
    /// comment form and its mention picker, for the `comment_thread` partial. Mentions show the
    /// person's current name; the author sees whom of the mentioned the comment did not reach.
    /// A module's page showing the thread sets `heading`, `post_label` and `back` (where the
    /// forms return to) and may give rows a `badge`, a `highlight` and `actions` (buttons:
    /// `action`, `label`, `testid`, hidden `fields`).
    public func commentsPanel(_ record: Record, entity: EntityDefinition, page: Page, db: PostgresConnectionBox) async throws -> [String: Any] {
        let base = "/app/\(entity.key)/\(record.id.uuidString.lowercased())/comments"
        let me = page.actor.user
        let names = page.format.names
        let rows: [[String: Any]] = try await RecordComments.thread(of: entity.key, id: record.id, on: db.connection, logger: db.logger).map { comment in
            let id = comment.id.uuidString.lowercased()
            let segments: [[String: Any]] = comment.body.segments.map { segment in
                switch segment {
                case .text(let text): return ["text": text]
                case .mention(let user, let name): return ["mention_name": names[user.uuidString.lowercased()] ?? name, "user": user.uuidString.lowercased()]
                }
            }
            let mine = comment.authorID == me.id
            let missed = mine ? comment.notNotified.map { names[$0.uuidString.lowercased()] ?? $0.uuidString.lowercased() } : []
            return ["id": id, "author": comment.authorName, "when": DisplayFormat.dateTime(comment.createdAt),
                    "edited": comment.editedAt.map { DisplayFormat.dateTime($0) as Any } ?? false, "segments": segments, "body": comment.body.text,
                    "can_edit": mine, "can_delete": mine || me.isAdmin, "edit_action": "\(base)/\(id)", "delete_action": "\(base)/\(id)/delete",
                    "not_notified": missed.isEmpty ? false as Any : missed.joined(separator: "、"),
                    "badge": false, "highlight": false, "actions": [[String: Any]]()]
        }
        // The picker's people: one more small query, of the tenant's active users.
        let people = try await Self.activeUsers(on: db.connection, logger: db.logger).filter { $0.0 != me.id.uuidString.lowercased() }
            .map { ["id": $0.0, "name": $0.1] }
        return ["rows": rows, "count": rows.count, "has_rows": !rows.isEmpty, "post_action": base, "people": people, "has_people": !people.isEmpty,
                "max_length": CommentBody.maxLength, "heading": t("comments.title", page.locale), "post_label": t("comments.post", page.locale),
                "back": "/app/\(entity.key)/\(record.id.uuidString.lowercased())"]
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
            // 复制 / Clone: `?clone=<id>` starts from a record the caller may read — the fields
            // people write (not computed ones, auto-numbers or the record's owner and history).
            var source: Record?
            if let text = prefill["clone"].map(String.init) {
                guard let id = UUID(uuidString: text) else { throw AtriumError(status: .notFound, code: "record_not_found", message: "no record '\(text)'") }
                source = try await engine.get(key, id: id, as: page.actor, on: db.connection, logger: db.logger)
            }
            for field in entity.activeFields {
                if let source, !field.computed, field.type != .autoNumber {
                    if field.type == .multiPicklist { state.multi[field.key] = source.values[field.key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
                    state.values[field.key] = Self.formText(source.values[field.key], field: field, format: page.format)
                } else if let given = prefill[Substring(field.key)] { state.values[field.key] = String(given) }
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
}

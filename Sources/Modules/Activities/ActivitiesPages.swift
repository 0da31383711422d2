import Foundation
import Hummingbird
import Platform

/// Web pages of the activities module: the timeline section on every record page with its
/// inline "log a follow-up" form, the form's post (and its error page), and the dormant list.
struct ActivitiesPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/activities/dormant", use: dormant)
        router.post("app/activities/log/:entity/:id", use: log)
    }

    // MARK: Log a follow-up

    /// The activity a follow-up form asks for (times in the form are UTC, as on every form).
    static func activityValues(_ form: [String: String], entity: String, id: UUID) -> [String: JSONValue] {
        func text(_ key: String) -> JSONValue {
            let value = (form[key] ?? "").replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? .null : .string(value)
        }
        var values: [String: JSONValue] = [
            "related_entity": .string(entity), "related_id": .string(id.uuidString.lowercased()),
            "subject": text("subject"), "kind": text("kind"), "notes": text("notes"), "outcome": text("outcome"),
            "next_step": text("next_step"), "duration_minutes": text("duration_minutes"),
        ]
        if let when = form["occurred_at"], !when.isEmpty { values["occurred_at"] = .string(when.count == 16 ? when + ":00Z" : when) }
        // The picker's ticked boxes (`colleague_<id>`, `contact_<id>`), as the fields' id lists.
        for (prefix, key) in [("colleague_", "participant_ids"), ("contact_", "contact_ids")] {
            let ids = form.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
            if !ids.isEmpty { values[key] = .string(ids.joined(separator: ",")) }
        }
        return values.filter { !$0.value.isNull || $0.key == "subject" }
    }

    @Sendable func log(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let entity = context.parameters.get("entity") ?? ""
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 64 * 1024)
        return try await web.page(request, context, form: form, current: entity) { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let record = try await store.get(entity, id)
            do {
                _ = try await store.create("activity", Self.activityValues(form, entity: entity, id: id))
            } catch let error as AtriumError where [.unprocessableContent, .forbidden, .conflict].contains(error.status) {
                let field = error.field.flatMap { page.entities["activity"]?.field($0) }
                var values = TimelinePanel.formValues(page, web: web, form: form, entity: entity, id: id)
                try await TimelinePanel.people(into: &values, page: page, form: form, record: record, store: store)
                values["title"] = web.t("activities.log.title", page.locale)
                values["record_title"] = page.entities[entity]?.title(of: record, locale: page.locale) ?? id.uuidString.lowercased()
                values["error"] = web.message(error, locale: page.locale, label: field.map { DisplayFormat.label($0.labels, locale: page.locale, fallback: $0.key) })
                values["error_field"] = error.field ?? ""
                return web.render("activities_log", page, status: error.status, values)
            }
            return WebApp.redirect("/app/\(entity)/\(id.uuidString.lowercased())?notice=activity_logged#timeline")
        }
    }

    // MARK: Dormant records

    @Sendable func dormant(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let query = request.uri.queryParameters
        let entityText = query["entity"].map(String.init), daysText = query["days"].map(String.init), asOfText = query["as_of"].map(String.init)
        let mine = query["owner"].map(String.init) == "me"
        let followUpsOnly = query["orders"].map(String.init) == "ignore"
        return try await web.page(request, context, current: "/app/activities/dormant") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let lang = page.locale
            var values: [String: Any] = ["title": web.t("activities.dormant.title", lang), "days": daysText ?? "30", "as_of": asOfText ?? "", "mine": mine,
                                         "follow_ups_only": followUpsOnly]
            let choices = page.entities.values.filter { !TimelinePanel.ownEntities.contains($0.key) && $0.key != "event" }.sorted { $0.key < $1.key }
            let chosen = (entityText ?? "").isEmpty ? (page.entities["account"] != nil ? "account" : choices.first?.key ?? "account") : entityText!
            values["entities"] = choices.map { ["key": $0.key, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.key), "selected": $0.key == chosen] }
            do {
                let (entity, days, asOf) = try DormantRecords.parameters(entity: chosen, days: daysText, asOf: asOfText)
                let result = try await DormantRecords.load(entity: entity, days: days, asOf: asOf, owner: mine ? page.actor.user.id : nil,
                                                        touchedBy: followUpsOnly ? [] : DormantRecords.orders, store: store)
                let definition = page.entities[entity]
                values["rows"] = result.rows.prefix(500).map { row -> [String: Any] in
                    ["title": definition?.title(of: row.record, locale: lang) ?? row.record.idText,
                     "href": "/app/\(entity)/\(row.record.idText)",
                     "owner": row.record.ownerID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
                     "last": row.lastActivityAt.map(DisplayFormat.dateTime) ?? web.t("activities.dormant.never", lang),
                     "created": DisplayFormat.dateTime(row.record.createdAt)]
                }
                values["count"] = result.rows.count
                values["empty"] = result.rows.isEmpty
                values["summary"] = web.t("activities.dormant.summary", lang, ["count": "\(result.rows.count)", "days": "\(days)"])
                return web.render("activities_dormant", page, values)
            } catch let error as AtriumError where error.status == .unprocessableContent || error.status == .badRequest {
                values["error"] = web.message(error, locale: lang, label: nil)
                return web.render("activities_dormant", page, status: .unprocessableContent, values)
            }
        }
    }
}

/// The timeline section of every record page (the module's ``RecordPanel``): the same
/// ``Timeline`` as the JSON API, read as the viewer, plus the inline follow-up form when the
/// viewer may log activities.
struct TimelinePanel: RecordPanel {
    static let ownEntities: Set<String> = ["activity", "task", "visit", "work_report"]

    func render(record: Record, entity: EntityDefinition, page: WebApp.Page, db: PostgresConnectionBox, web: WebApp) async throws -> String? {
        guard !Self.ownEntities.contains(entity.key) else { return nil }
        let store = ModuleStore(engine: web.engine, actor: page.actor, connection: db.connection, logger: db.logger)
        let timeline = try await Timeline.load(entity: entity.key, id: record.id, limit: 50, store: store)
        let lang = page.locale
        let format = page.format
        func label(_ field: FieldDefinition?) -> String? { field.map { DisplayFormat.label($0.labels, locale: lang, fallback: $0.key) } }
        func shown(_ record: Record, _ key: String, in definition: EntityDefinition?) -> String {
            guard let field = definition?.field(key), let value = record.values[key] else { return "" }
            return format.text(value, field: field)
        }
        let activity = page.entities["activity"], task = page.entities["task"]
        let items: [[String: Any]] = timeline.items.map { item in
            var row: [String: Any] = ["at": DisplayFormat.dateTime(item.at), "type": item.kind.rawValue]
            switch item.kind {
            case .activity:
                let record = item.record!
                row["is_activity"] = true
                row["href"] = "/app/activity/\(record.idText)"
                row["label"] = shown(record, "kind", in: activity)
                row["subject"] = record.string("subject") ?? ""
                row["by"] = record.ownerID.map { format.names[$0.uuidString.lowercased()] ?? "" } ?? ""
                if record.string("related_id") != timeline.record.idText { row["via"] = record.string("related_title") ?? "" }
                row["details"] = ["notes", "outcome", "next_step", "duration_minutes"].compactMap { key -> [String: String]? in
                    let text = shown(record, key, in: activity)
                    return text.isEmpty ? nil : ["label": label(activity?.field(key)) ?? key, "text": text]
                }
            case .task:
                let record = item.record!
                row["is_task"] = true
                row["href"] = "/app/task/\(record.idText)"
                row["label"] = shown(record, "status", in: task)
                row["subject"] = record.string("subject") ?? ""
                row["by"] = record.string("assignee").map { format.names[$0] ?? "" } ?? ""
                row["details"] = ["due_at", "priority"].compactMap { key -> [String: String]? in
                    let text = shown(record, key, in: task)
                    return text.isEmpty ? nil : ["label": label(task?.field(key)) ?? key, "text": text]
                }
            case .event:
                let record = item.record!
                let event = page.entities["event"]
                row["is_event"] = true
                row["href"] = "/app/event/\(record.idText)"
                row["label"] = event.map { DisplayFormat.label($0.labels, locale: lang, fallback: "event") } ?? "event"
                row["subject"] = record.string("subject") ?? ""
                row["by"] = record.ownerID.map { format.names[$0.uuidString.lowercased()] ?? "" } ?? ""
                row["details"] = ["starts_at", "ends_at", "location", "recurrence"].compactMap { key -> [String: String]? in
                    let text = shown(record, key, in: event)
                    return text.isEmpty || (key == "recurrence" && record.string(key) == "none") ? nil : ["label": label(event?.field(key)) ?? key, "text": text]
                }
            case .change:
                let entry = item.entry!
                row["is_change"] = true
                row["label"] = web.t("history.\(entry.action.replacingOccurrences(of: ".", with: "_"))", lang)
                row["by"] = format.names[entry.actor.lowercased()] ?? entry.actor
                var changes: [[String: String]] = []
                if case .object(let changed)? = entry.details["changes"] {
                    for (key, change) in changed.sorted(by: { $0.key < $1.key }) {
                        let field = entity.field(key) ?? FieldDefinition(key: key, labels: [:], type: key == "owner_id" ? .user : .text)
                        changes.append(["label": label(entity.field(key)) ?? web.t("fields.\(key)", lang),
                                        "before": format.text(change["before"], field: field), "after": format.text(change["after"], field: field)])
                    }
                }
                row["details"] = changes.map { ["label": $0["label"]!, "text": "\($0["before"]!) → \($0["after"]!)"] }
            }
            return row
        }
        var values = Self.formValues(page, web: web, form: [:], entity: entity.key, id: record.id)
        values["items"] = items
        values["empty"] = items.isEmpty
        values["last_activity"] = timeline.lastActivityAt.map(DisplayFormat.dateTime) ?? web.t("activities.dormant.never", lang)
        values["can_log"] = activity.map { page.actor.access.scope($0, .create) > .none } ?? false
        values["can_visit"] = page.entities["visit"].map { page.actor.access.scope($0, .create) > .none } ?? false
        values["visit_action"] = "/app/visits/at/\(entity.key)/\(record.idText)"
        values["plan_action"] = "/app/visits/plan/\(entity.key)/\(record.idText)"
        values["today"] = ChinaCalendar.today()
        if values["can_log"] as? Bool == true { try await Self.people(into: &values, page: page, form: nil, record: record, store: store) }
        return web.fragment("activities_timeline", page, values)
    }

    static let maxColleagues = 200, maxContacts = 50

    /// The "who took part" picker: the company's active colleagues (not the viewer, who logs
    /// it), and the contacts of the record the viewer may read — a customer's contacts (any
    /// contact lookup to the record's object), or the contact itself, ticked on a fresh form.
    static func people(into values: inout [String: Any], page: WebApp.Page, form: [String: String]?, record: Record, store: ModuleStore) async throws {
        func ticked(_ prefix: String, _ id: String) -> Bool { form?["\(prefix)\(id)"] != nil }
        let me = page.actor.user.id.uuidString.lowercased()
        let members = try await WebApp.activeUsers(on: store.connection, logger: store.logger).filter { $0.0 != me }.prefix(maxColleagues)
        values["colleagues"] = members.map { id, name -> [String: Any] in ["id": id, "name": name, "checked": ticked("colleague_", id)] }
        var contacts: [Record] = []
        if record.entity == "contact" {
            contacts = [record]
        } else if let contact = page.entities["contact"],
                  let link = contact.fields.first(where: { $0.active && $0.type == .lookup && $0.target == record.entity && $0.filterable }) {
            contacts = try await Timeline.visible("contact", filter: ModuleStore.eq(link.key, record.idText), sort: contact.defaultSort,
                                                  limit: maxContacts, store: store)
        }
        values["contacts"] = contacts.map { contact -> [String: Any] in
            let id = contact.idText
            let checked = form.map { _ in ticked("contact_", id) } ?? (contact.id == record.id)
            return ["id": id, "name": page.entities["contact"]?.title(of: contact, locale: page.locale) ?? id, "checked": checked]
        }
        values["has_people"] = !members.isEmpty || !contacts.isEmpty
    }

    /// The follow-up form's fields: kinds from the tenant's picklist, values kept after an error.
    static func formValues(_ page: WebApp.Page, web: WebApp, form: [String: String], entity: String, id: UUID) -> [String: Any] {
        let lang = page.locale
        let kind = form["kind"] ?? "call"
        let options = page.entities["activity"]?.field("kind")?.options?.filter(\.active) ?? ActivitiesEntities.kinds
        return [
            "action": "/app/activities/log/\(entity)/\(id.uuidString.lowercased())",
            "back": "/app/\(entity)/\(id.uuidString.lowercased())",
            "kinds": options.map { ["value": $0.value, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.value), "selected": $0.value == kind] },
            "form": ["subject": form["subject"] ?? "", "occurred_at": form["occurred_at"] ?? "", "duration_minutes": form["duration_minutes"] ?? "",
                     "notes": form["notes"] ?? "", "outcome": form["outcome"] ?? "", "next_step": form["next_step"] ?? ""],
        ]
    }
}

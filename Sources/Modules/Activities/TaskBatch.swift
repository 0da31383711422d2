import Foundation
import Hummingbird
import Platform

/// Assigning one task to several people at once (批量分派) and how far each has got (完成率):
///
///     POST /api/v1/activities/tasks/batch          {"assignees": [user ids], "subject", "due_at"?, "priority"?, "description"?,
///                                                    "reminder_at"?, "related_entity"?, "related_id"?}
///                                                   → 201 {"batch_id", "tasks": [ids]}: one task per person, all or none
///     GET  /api/v1/activities/tasks/completion?batch_id=&due_from=&due_to=
///                                                   → {"assignees": [{assignee, total, done, cancelled, open, overdue, rate}], "total": {…}}
///     GET  /app/activities/tasks/batch              the form (subject, due, priority, people to tick)
///     POST /app/activities/tasks/batch              → the batch's completion page
///     GET  /app/activities/tasks/completion         per assignee, in the caller's scope
///
/// Each task is created as the caller, so the caller's rights on tasks and the task rules apply
/// (the owner follows the assignee); the shared `batch_id` (a computed field) is stamped after.
/// The completion figures are the engine's aggregate as the caller: a manager sees their
/// department tree's people, a salesperson their own tasks. The rate is done ÷ (total −
/// cancelled); overdue counts open or in-progress tasks past their due time.
enum TaskBatch {
    static let maxAssignees = 200
    static let fields: Set<String> = ["subject", "due_at", "priority", "description", "reminder_at", "related_entity", "related_id"]

    static func create(_ body: [String: JSONValue], store: ModuleStore) async throws -> (batch: String, tasks: [String]) {
        if let unknown = body.keys.sorted().first(where: { $0 != "assignees" && !fields.contains($0) }) {
            throw AtriumError.validation(field: unknown, "is not part of a batch of tasks (assignees, \(fields.sorted().joined(separator: ", ")))")
        }
        guard let list = body["assignees"]?.arrayValue, !list.isEmpty else {
            throw AtriumError.validation(field: "assignees", "must list at least one user id")
        }
        var assignees: [String] = []
        for value in list {
            guard let text = value.stringValue?.lowercased(), UUID(uuidString: text) != nil else { throw AtriumError.validation(field: "assignees", "must be user ids") }
            if !assignees.contains(text) { assignees.append(text) }
        }
        guard assignees.count <= maxAssignees else { throw AtriumError.validation(field: "assignees", "may name at most \(maxAssignees) people") }
        let batch = UUID().uuidString.lowercased()
        let stamper = store.acting(as: store.actor.derived)
        var tasks: [String] = []
        for assignee in assignees {
            var values = body.filter { fields.contains($0.key) }
            values["assignee"] = .string(assignee)
            let task = try await store.create("task", values)
            _ = try await stamper.update(task, ["batch_id": .string(batch)])
            tasks.append(task.idText)
        }
        return (batch, tasks)
    }

    struct Figures: Sendable {
        var total = 0, done = 0, cancelled = 0, open = 0, overdue = 0
        var rate: Decimal? { total - cancelled > 0 ? (Decimal(done) / Decimal(total - cancelled) * 100).rounded(1) : nil }
        var json: JSONValue {
            .object(["total": .number(Decimal(total)), "done": .number(Decimal(done)), "cancelled": .number(Decimal(cancelled)),
                     "open": .number(Decimal(open)), "overdue": .number(Decimal(overdue)), "rate": rate.map(JSONValue.number) ?? .null])
        }
    }

    /// Per assignee (a task without one counts for its owner), in the store's actor's scope.
    static func completion(batch: String?, dueFrom: String?, dueTo: String?, now: Date, store: ModuleStore) async throws -> [(String, Figures)] {
        var parts: [JSONValue] = []
        if let batch, !batch.isEmpty { parts.append(ModuleStore.eq("batch_id", batch)) }
        if let dueFrom, !dueFrom.isEmpty { parts.append(ModuleStore.op("due_at", "gte", .string(dueFrom))) }
        if let dueTo, !dueTo.isEmpty { parts.append(ModuleStore.op("due_at", "lt", .string(dueTo))) }
        let filter = parts.isEmpty ? nil : ModuleStore.and(parts)
        var figures: [String: Figures] = [:]
        for row in try await store.aggregate("task", RecordAggregate(groups: [.field("assignee"), .field("status")], filter: filter)) {
            let person = (row.keys[0] ?? nil) ?? "", status = (row.keys[1] ?? nil) ?? ""
            var entry = figures[person] ?? Figures()
            entry.total += row.count
            switch status {
            case "done": entry.done += row.count
            case "cancelled": entry.cancelled += row.count
            default: entry.open += row.count
            }
            figures[person] = entry
        }
        let late = ModuleStore.and(parts + [ModuleStore.op("status", "in", .array([.string("open"), .string("in_progress")])),
                                            ModuleStore.op("due_at", "lt", .string(now.formatted(.iso8601)))])
        for row in try await store.aggregate("task", RecordAggregate(groups: [.field("assignee")], filter: late)) {
            figures[(row.keys[0] ?? nil) ?? "", default: Figures()].overdue += row.count
        }
        return figures.sorted { ($0.value.rate ?? -1, $0.key) > ($1.value.rate ?? -1, $1.key) }.map { ($0.key, $0.value) }
    }

    static func total(_ rows: [(String, Figures)]) -> Figures {
        rows.reduce(into: Figures()) { sum, row in
            sum.total += row.1.total; sum.done += row.1.done; sum.cancelled += row.1.cancelled; sum.open += row.1.open; sum.overdue += row.1.overdue
        }
    }
}

private extension Decimal {
    func rounded(_ scale: Int) -> Decimal {
        var value = self, result = Decimal()
        NSDecimalRound(&result, &value, scale, .plain)
        return result
    }
}

/// The batch API and pages.
struct TaskBatchRoutes: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.post("api/v1/activities/tasks/batch", use: apiCreate)
        router.get("api/v1/activities/tasks/completion", use: apiCompletion)
        router.get("app/activities/tasks/batch", use: form)
        router.post("app/activities/tasks/batch", use: submit)
        router.get("app/activities/tasks/completion", use: page)
    }

    @Sendable func apiCreate(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        return RecordRoutes.json(try await run(request, context, write: true) { store in
            try await ActivitiesModule.requireEnabled(store)
            let (batch, tasks) = try await TaskBatch.create(body, store: store)
            return JSONValue.object(["batch_id": .string(batch), "tasks": .array(tasks.map(JSONValue.string))])
        }, status: .created)
    }

    @Sendable func apiCompletion(_ request: Request, context: AtriumContext) async throws -> Response {
        let query = request.uri.queryParameters
        let (batch, from, to) = (query["batch_id"].map(String.init), query["due_from"].map(String.init), query["due_to"].map(String.init))
        return RecordRoutes.json(try await run(request, context) { store in
            try await ActivitiesModule.requireEnabled(store)
            let rows = try await TaskBatch.completion(batch: batch, dueFrom: from, dueTo: to, now: Date(), store: store)
            return JSONValue.object([
                "assignees": .array(rows.map { person, figures in
                    var object = figures.json.objectValue ?? [:]
                    object["assignee"] = person.isEmpty ? .null : .string(person)
                    return .object(object)
                }),
                "total": TaskBatch.total(rows).json,
            ])
        })
    }

    func formValues(_ page: WebApp.Page, db: PostgresConnectionBox, form: [String: String] = [:], chosen: Set<String> = []) async throws -> [String: Any] {
        let lang = page.locale
        let people = try await OrganisationAdmin().members(on: db.connection, logger: db.logger).filter(\.active)
        return ["title": web.t("activities.batch.title", lang), "subject": form["subject"] ?? "", "due_at": form["due_at"] ?? "",
                "description": form["description"] ?? "",
                "people": people.map { ["id": $0.id.uuidString.lowercased(), "name": $0.displayName, "checked": chosen.contains($0.id.uuidString.lowercased())] },
                "priorities": ["low", "normal", "high"].map { ["value": $0, "label": web.t("activities.batch.priority_\($0)", lang), "selected": (form["priority"] ?? "normal") == $0] }]
    }

    @Sendable func form(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await web.page(request, context, current: "/app/activities/tasks/batch") { page, db in
            try await ActivitiesModule.requireEnabled(store(page, db))
            return web.render("activities_batch", page, try await formValues(page, db: db))
        }
    }

    @Sendable func submit(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let pairs = try await FormBody.parsePairs(request, limit: 64 * 1024)
        let form = FormBody.single(pairs)
        let chosen = pairs.filter { $0.0 == "assignees" }.map(\.1)
        return try await web.page(request, context, form: form, current: "/app/activities/tasks/batch") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            var body: [String: JSONValue] = ["assignees": .array(chosen.map(JSONValue.string)), "subject": .string(form["subject"] ?? "")]
            if let due = form["due_at"], !due.isEmpty { body["due_at"] = .string(due.count == 16 ? due + ":00Z" : due) }
            if let priority = form["priority"], !priority.isEmpty { body["priority"] = .string(priority) }
            if let text = form["description"], !text.isEmpty { body["description"] = .string(text) }
            do {
                let (batch, _) = try await TaskBatch.create(body, store: store)
                return WebApp.redirect("/app/activities/tasks/completion?batch_id=\(batch)")
            } catch let error as AtriumError where [.unprocessableContent, .forbidden, .badRequest].contains(error.status) {
                var values = try await formValues(page, db: db, form: form, chosen: Set(chosen))
                values["error"] = web.message(error, locale: page.locale, label: nil)
                return web.render("activities_batch", page, status: error.status, values)
            }
        }
    }

    @Sendable func page(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let query = request.uri.queryParameters
        let batch = query["batch_id"].map(String.init)
        return try await web.page(request, context, current: "/app/activities/tasks/completion") { page, db in
            let store = store(page, db)
            try await ActivitiesModule.requireEnabled(store)
            let rows = try await TaskBatch.completion(batch: batch, dueFrom: nil, dueTo: nil, now: Date(), store: store)
            func shown(_ figures: TaskBatch.Figures) -> [String: Any] {
                ["total": figures.total, "done": figures.done, "open": figures.open, "overdue": figures.overdue, "cancelled": figures.cancelled,
                 "rate": figures.rate.map { "\($0) %" } ?? "—"]
            }
            return web.render("activities_completion", page, [
                "title": web.t("activities.batch.completion_title", page.locale), "batch": batch ?? "",
                "rows": rows.map { person, figures in
                    shown(figures).merging(["name": person.isEmpty ? web.t("activities.batch.nobody", page.locale) : (page.format.names[person] ?? person)]) { a, _ in a }
                },
                "total": shown(TaskBatch.total(rows)), "has_rows": !rows.isEmpty,
            ])
        }
    }
}

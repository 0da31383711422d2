import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// Web side of the approval engine: the approver's inbox (built for a phone: one card per item,
/// comment box and buttons under it), the approval panel on record pages, and the forms behind
/// submit / approve / reject / return / withdraw and out-of-office delegation.
///
///     GET  /app/approvals                        inbox: waiting for me, copied to me, my submissions, my delegations
///     POST /app/approvals/tasks/{id}             decision=approve|reject|return, comment, back
///     POST /app/approvals/submit/{entity}/{id}   comment
///     POST /app/approvals/instances/{id}/withdraw
///     POST /app/approvals/delegations            delegate_id, starts_on, ends_on
///     POST /app/approvals/delegations/{id}/delete
///     GET  /app/admin/approvals                   administrators: processes as JSON, checked on save
///     POST /app/admin/approvals[/{id}]            process (JSON text), version
///     POST /app/admin/approvals/{id}/delete       deletes an unused process, deactivates a used one
struct WebApprovals: Sendable {
    let app: WebApp
    var approvals: ApprovalEngine { ApprovalEngine(records: app.engine) }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/approvals", use: inbox)
        router.post("app/approvals/tasks/:id", use: decide)
        router.post("app/approvals/submit/:entity/:id", use: submit)
        router.post("app/approvals/instances/:id/withdraw", use: withdraw)
        router.post("app/approvals/delegations", use: addDelegation)
        router.post("app/approvals/delegations/:id/delete", use: removeDelegation)
        router.get("app/admin/approvals", use: processes)
        router.post("app/admin/approvals", use: saveProcess)
        router.post("app/admin/approvals/:id", use: saveProcess)
        router.post("app/admin/approvals/:id/delete", use: deleteProcess)
    }

    static func uuid(_ context: AtriumContext, _ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "no such approval")
        }
        return id
    }

    /// Where a form returns to: a local path only (never another site).
    static func back(_ form: [String: String], fallback: String) -> String {
        LocalPath.safe(form["back"]) ?? fallback
    }

    static func with(_ path: String, notice: String) -> String {
        path + (path.contains("?") ? "&" : "?") + "notice=\(notice)"
    }

    /// Runs an approval action from a form: success → back with a notice; a refusal the user
    /// can understand (403/409/422) → back with that notice instead of an error page.
    func action(_ request: Request, _ context: AtriumContext, fallback: String, success: String,
                _ body: @escaping @Sendable ([String: String], RecordEngine.Actor, PostgresConnectionBox) async throws -> Void) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        let back = Self.back(form, fallback: fallback)
        do {
            try await app.page(request, context, form: form) { page, db in
                try await body(form, page.actor, db)
            }
        } catch let error as any DomainError where [.forbidden, .conflict, .unprocessableContent].contains(error.status) && error.code != AccessError.csrfRejected.code {
            let known = ["not_your_task", "already_decided", "not_current_step", "approval_pending", "approval_finished", "no_process", "no_approver",
                         "not_submitter", "no_lines", "invalid_field", "version_conflict", "approval_locked"]
            return WebApp.redirect(Self.with(back, notice: "approval_" + (known.contains(error.code) ? error.code : "refused")))
        }
        return WebApp.redirect(Self.with(back, notice: success))
    }

    @Sendable func decide(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context)
        let approvals = self.approvals
        return try await action(request, context, fallback: "/app/approvals", success: "approval_decided") { form, actor, db in
            guard let decision = form["decision"].flatMap(ApprovalEngine.Decision.init(rawValue:)) else {
                throw AtriumError.validation(field: "decision", "must be approve, reject or return")
            }
            _ = try await approvals.decide(task: id, decision, comment: form["comment"], as: actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func submit(_ request: Request, context: AtriumContext) async throws -> Response {
        let key = context.parameters.get("entity") ?? ""
        let id = try Self.uuid(context)
        let approvals = self.approvals
        return try await action(request, context, fallback: "/app/\(key)/\(id.uuidString.lowercased())", success: "approval_submitted") { form, actor, db in
            _ = try await approvals.submit(key, id: id, comment: form["comment"], as: actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func withdraw(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context)
        let approvals = self.approvals
        return try await action(request, context, fallback: "/app/approvals", success: "approval_withdrawn") { form, actor, db in
            _ = try await approvals.withdraw(id, comment: form["comment"], as: actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func addDelegation(_ request: Request, context: AtriumContext) async throws -> Response {
        let approvals = self.approvals
        return try await action(request, context, fallback: "/app/approvals", success: "approval_delegated") { form, actor, db in
            guard let delegate = form["delegate_id"].flatMap(UUID.init(uuidString:)) else {
                throw AtriumError.validation(field: "delegate_id", "choose who stands in for you")
            }
            _ = try await approvals.delegate(user: nil, to: delegate, from: form["starts_on"] ?? "", to: form["ends_on"] ?? "", as: actor,
                                             on: db.connection, logger: db.logger)
        }
    }

    @Sendable func removeDelegation(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context)
        let approvals = self.approvals
        return try await action(request, context, fallback: "/app/approvals", success: "approval_delegation_removed") { _, actor, db in
            try await approvals.removeDelegation(id, as: actor, on: db.connection, logger: db.logger)
        }
    }

    // MARK: Inbox

    @Sendable func inbox(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let approvals = self.approvals
        return try await app.page(request, context, current: "/app/approvals") { page, db in
            let lang = page.locale
            let inbox = try await approvals.inbox(as: page.actor, on: db.connection, logger: db.logger)
            func item(_ item: ApprovalEngine.InboxItem) -> [String: Any] {
                let instance = item.instance
                let entity = page.definitions[instance.entity]
                var summary: [[String: Any]] = []
                var flags: [String] = []
                if let entity, let record = item.record, let binding = app.engine.approvalBinding(for: entity) {
                    for key in binding.summaryFields {
                        guard let field = entity.field(key), let value = record.values[key], !value.isNull else { continue }
                        if field.type == .boolean {
                            if value == .bool(true) { flags.append(app.label(field, lang)) }
                            continue
                        }
                        summary.append(["label": app.label(field, lang), "text": page.format.text(value, field: field), "long": field.type == .longText])
                    }
                }
                var values: [String: Any] = [
                    "title": item.record.flatMap { entity?.title(of: $0, locale: lang) } ?? instance.recordID.uuidString.lowercased(),
                    "entity": entity.map { app.label($0, lang) } ?? instance.entity,
                    "href": "/app/\(instance.entity)/\(instance.recordID.uuidString.lowercased())",
                    "process": instance.processName, "status": app.t("approvals.state.\(instance.status.rawValue)", lang),
                    "state": instance.status.rawValue,
                    "submitter": page.format.names[instance.submittedBy.uuidString.lowercased()] ?? "",
                    "submitted_at": DisplayFormat.dateTime(instance.submittedAt),
                    "summary": summary, "flags": flags, "has_flags": !flags.isEmpty, "submit_comment": instance.comment ?? "",
                ]
                if let task = item.task {
                    values["task_id"] = task.id.uuidString.lowercased()
                    values["step"] = "\(task.step + 1)/\(instance.path.count) · \(instance.path[task.step].name)"
                }
                if let other = item.onBehalfOf { values["on_behalf_of"] = page.format.names[other.uuidString.lowercased()] ?? "" }
                if instance.status == .pending && instance.submittedBy == page.actor.user.id { values["can_withdraw"] = true; values["instance_id"] = instance.id.uuidString.lowercased() }
                return values
            }
            let delegations = try await approvals.delegations(as: page.actor, on: db.connection, logger: db.logger)
            let users = try await WebApp.activeUsers(on: db.connection, logger: db.logger).filter { $0.0 != page.actor.user.id.uuidString.lowercased() }
            return app.render("approvals_inbox", page, [
                "title": app.t("approvals.inbox", lang),
                "waiting": inbox.waiting.map(item), "copied": inbox.copied.map(item), "submitted": inbox.submitted.map(item),
                "waiting_count": inbox.waiting.count,
                "delegations": delegations.map { delegation in
                    ["id": delegation.id.uuidString.lowercased(), "user": page.format.names[delegation.userID.uuidString.lowercased()] ?? "",
                     "delegate": page.format.names[delegation.delegateID.uuidString.lowercased()] ?? "", "starts_on": delegation.startsOn,
                     "ends_on": delegation.endsOn, "mine": delegation.userID == page.actor.user.id || page.actor.user.isAdmin]
                },
                "users": users.map { ["id": $0.0, "name": $0.1] }, "today": ChinaCalendar.today(),
            ])
        }
    }

    // MARK: Processes (administrators)

    /// A starting point for a new process, for the first entity a module lets take part in
    /// approvals (the platform names no module's entity itself).
    static func example(entity: String) -> String {
        """
        {"entity": "\(entity)", "name": "审批（华东）", "priority": 10,
         "steps": [
           {"name": "直属上级", "approvers": [{"kind": "manager"}], "skip_if_no_approver": true},
           {"name": "部门负责人", "approvers": [{"kind": "department_head"}], "skip_if_no_approver": true},
           {"name": "财务", "approvers": [{"kind": "role", "key": "finance"}], "mode": "any"}],
         "cc": []}
        """
    }

    static func pretty(_ process: ApprovalProcess) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var shown = process
        shown.id = nil
        shown.version = nil
        return (try? String(decoding: encoder.encode(shown), as: UTF8.self)) ?? "{}"
    }

    func processPage(_ page: WebApp.Page, db: PostgresConnectionBox, error: String? = nil, editing: UUID? = nil, text: String? = nil,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let processes = try await ApprovalProcesses(engine: app.engine).list(on: db.connection, logger: db.logger)
        let example = Self.example(entity: app.engine.approvals.keys.sorted().first ?? "x_project")
        let rows: [[String: Any]] = processes.map { process in
            let id = process.id?.uuidString.lowercased() ?? ""
            return [
                "id": id, "name": process.name, "active": process.active, "version": process.version ?? 0,
                "entity": page.definitions[process.entity].map { app.label($0, lang) } ?? process.entity,
                "steps": process.steps.enumerated().map { "\($0.offset + 1). \($0.element.name)" }.joined(separator: " → "),
                "json": editing == process.id ? (text ?? Self.pretty(process)) : Self.pretty(process),
                "error": editing == process.id ? (error ?? "") : "",
            ]
        }
        return app.render("admin_approvals", page, status: status, [
            "title": app.t("approvals.processes", lang), "rows": rows, "has_rows": !rows.isEmpty,
            "new_json": editing == nil ? (text ?? example) : example, "new_error": editing == nil ? (error ?? "") : "",
        ])
    }

    @Sendable func processes(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:approvals") { page, db in
            try await processPage(page, db: db)
        }
    }

    @Sendable func saveProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = context.parameters.get("id").flatMap(UUID.init(uuidString:))
        let form = try await FormBody.parse(request, limit: 64 * 1024)
        let text = form["process"] ?? ""
        let engine = app.engine
        return try await app.adminPage(request, context, form: form, current: "admin:approvals") { page, db in
            do {
                guard let body = try? JSONValue.parse(text), case .object = body else {
                    throw AtriumError.validation(field: "process", "is not a JSON object")
                }
                var process = try ApprovalProcess.decode(body)
                process.id = id
                process.version = form["version"].flatMap(Int.init)
                _ = try await ApprovalProcesses(engine: engine).save(process, as: page.actor, on: db.connection, logger: db.logger)
            } catch let error as any DomainError where [.unprocessableContent, .conflict, .badRequest].contains(error.status) {
                let message = (error.field.map { "\($0): " } ?? "") + error.message
                return try await processPage(page, db: db, error: message, editing: id, text: text, status: error.status)
            }
            return WebApp.redirect("/app/admin/approvals?notice=saved")
        }
    }

    @Sendable func deleteProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.uuid(context)
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        let engine = app.engine
        return try await app.adminPage(request, context, form: form, current: "admin:approvals") { page, db in
            try await ApprovalProcesses(engine: engine).delete(id, as: page.actor, on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/approvals?notice=saved")
        }
    }

    // MARK: Record panel

    /// The approval panel of a record page: state, steps with approvers and comments, and the
    /// buttons this caller may use. Nil when the entity has no process and no submission.
    static func panel(entity: EntityDefinition, record: Record, page: WebApp.Page, app: WebApp, db: PostgresConnectionBox) async throws -> [String: Any]? {
        let engine = ApprovalEngine(records: app.engine)
        let lang = page.locale
        // The page has just read the record as the caller: no second scope check here.
        let instances = try await engine.instances(of: record.id, on: db.connection, logger: db.logger)
        let processes = try await ApprovalProcesses(engine: app.engine).list(entity: entity.key, on: db.connection, logger: db.logger).filter(\.active)
        guard !instances.isEmpty || !processes.isEmpty else { return nil }
        let me = page.actor.user.id
        let principals = Set(try await engine.principals(of: me, on: db.connection, logger: db.logger))
        let latest = instances.first
        var values: [String: Any] = ["record_id": record.id.uuidString.lowercased(), "entity": entity.key]
        func name(_ id: UUID?) -> String { id.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "" }
        if let latest {
            values["state"] = latest.status.rawValue
            values["status"] = app.t("approvals.state.\(latest.status.rawValue)", lang)
            values["process"] = latest.processName
            values["submitter"] = name(latest.submittedBy)
            values["submit_comment"] = latest.comment ?? ""
            values["submitted_at"] = DisplayFormat.dateTime(latest.submittedAt)
            values["steps"] = latest.path.enumerated().map { index, step -> [String: Any] in
                let tasks = latest.tasks.filter { $0.step == index }
                return [
                    "number": index + 1, "name": step.name, "current": latest.currentStep == index,
                    "mode": app.t("approvals.mode.\(step.mode.rawValue)", lang),
                    "skipped": step.skipped.map { app.t("approvals.skipped.\($0)", lang) } ?? "",
                    "tasks": tasks.map { task -> [String: Any] in
                        var entry: [String: Any] = ["approver": name(task.approverID), "status": app.t("approvals.task.\(task.status)", lang),
                                                    "state": task.status, "comment": task.comment ?? "",
                                                    "decided_at": task.decidedAt.map(DisplayFormat.dateTime) ?? ""]
                        if let by = task.decidedBy, by != task.approverID { entry["by"] = name(by) }
                        return entry
                    },
                ]
            }
            if latest.status == .pending {
                let mine = latest.tasks.first { $0.status == "pending" && principals.contains($0.approverID) }
                if let mine { values["task_id"] = mine.id.uuidString.lowercased() }
                if latest.submittedBy == me { values["withdraw_id"] = latest.id.uuidString.lowercased() }
            }
            values["earlier"] = instances.dropFirst().map { ["status": app.t("approvals.state.\($0.status.rawValue)", lang),
                                                             "submitted_at": DisplayFormat.dateTime($0.submittedAt), "process": $0.processName] }
            values["has_earlier"] = instances.count > 1
        } else {
            values["state"] = "draft"
            values["status"] = app.t("approvals.state.draft", lang)
        }
        let canResubmit = latest == nil || latest?.status == .returned || latest?.status == .withdrawn
        values["can_submit"] = canResubmit && !processes.isEmpty && page.actor.access.scope(entity, .update) > .none
        values["locked"] = [ApprovalState.pending, .approved, .rejected].contains(latest?.status ?? .withdrawn)
        return values
    }
}

import Foundation
import HTTPTypes
import Hummingbird

/// JSON API of the approval engine:
///
///     GET    /api/v1/approvals/inbox                         what waits for me (and whom I stand in for), CC'd, my submissions
///     GET    /api/v1/approvals/records/{entity}/{id}         a record's submissions with steps and tasks (read scope)
///     POST   /api/v1/approvals/records/{entity}/{id}/submit  {"comment"?} (update scope)
///     POST   /api/v1/approvals/tasks/{id}/approve|reject|return   {"comment"} (required to reject or return)
///     POST   /api/v1/approvals/instances/{id}/withdraw       {"comment"?} (the submitter)
///     GET    /api/v1/approvals/delegations                   mine (administrators: all)
///     POST   /api/v1/approvals/delegations                   {"delegate_id", "starts_on", "ends_on", "user_id"? (administrators)}
///     DELETE /api/v1/approvals/delegations/{id}
///     GET    /api/v1/admin/approval-processes[?entity=]      administrators
///     POST   /api/v1/admin/approval-processes                a process (see ``ApprovalProcess``)
///     GET|PUT|DELETE /api/v1/admin/approval-processes/{id}   PUT needs "version"; DELETE deactivates a used process
extension RecordRoutes {
    var approvals: ApprovalEngine { ApprovalEngine(records: engine) }

    func registerApprovals(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/approvals/inbox", use: approvalInbox)
        router.get("api/v1/approvals/records/:entity/:id", use: approvalHistory)
        router.post("api/v1/approvals/records/:entity/:id/submit", use: approvalSubmit)
        router.post("api/v1/approvals/tasks/:id/:decision", use: approvalDecide)
        router.post("api/v1/approvals/instances/:id/withdraw", use: approvalWithdraw)
        router.get("api/v1/approvals/delegations", use: listDelegations)
        router.post("api/v1/approvals/delegations", use: addDelegation)
        router.delete("api/v1/approvals/delegations/:id", use: removeDelegation)
        router.get("api/v1/admin/approval-processes", use: listProcesses)
        router.post("api/v1/admin/approval-processes", use: createProcess)
        router.get("api/v1/admin/approval-processes/:id", use: getProcess)
        router.put("api/v1/admin/approval-processes/:id", use: replaceProcess)
        router.delete("api/v1/admin/approval-processes/:id", use: deleteProcess)
    }

    static func processJSON(_ process: ApprovalProcess) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try JSONValue.parse(String(decoding: try encoder.encode(process), as: UTF8.self))
    }

    static func comment(_ body: [String: JSONValue]) throws -> String? {
        guard let value = body["comment"], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw AtriumError.validation(field: "comment", "must be text") }
        return text
    }

    @Sendable func approvalInbox(_ request: Request, context: AtriumContext) async throws -> Response {
        let lang = context.identity?.user.locale ?? "en"
        let engine = self.engine
        let approvals = self.approvals
        return Self.json(try await run(request, context) { actor, db in
            let inbox = try await approvals.inbox(as: actor, on: db.connection, logger: db.logger)
            let entities = try await engine.entities(on: db.connection, logger: db.logger)
            let names = try await WebApp.peopleNames(on: db.connection, logger: db.logger)
            return .object(["waiting": .array(inbox.waiting.map { Self.inboxJSON($0, entities: entities, names: names, locale: lang, engine: engine) }),
                            "copied": .array(inbox.copied.map { Self.inboxJSON($0, entities: entities, names: names, locale: lang, engine: engine) }),
                            "submitted": .array(inbox.submitted.map { Self.inboxJSON($0, entities: entities, names: names, locale: lang, engine: engine) })])
        })
    }

    static func inboxJSON(_ item: ApprovalEngine.InboxItem, entities: [String: EntityDefinition], names: [String: String], locale: String,
                          engine: RecordEngine) -> JSONValue {
        let instance = item.instance
        let entity = entities[instance.entity]
        var summary: [String: JSONValue] = [:]
        if let entity, let record = item.record, let binding = engine.approvalBinding(for: entity) {
            for key in binding.summaryFields { summary[key] = record.values[key] ?? .null }
        }
        func text(_ id: UUID?) -> JSONValue { id.map { .string($0.uuidString.lowercased()) } ?? .null }
        return .object([
            "task_id": text(item.task?.id), "instance_id": text(instance.id), "entity": .string(instance.entity),
            "record_id": text(instance.recordID),
            "title": .string(item.record.flatMap { entity?.title(of: $0, locale: locale) } ?? instance.recordID.uuidString.lowercased()),
            "process": .string(instance.processName), "status": .string(instance.status.rawValue),
            "step": item.task.map { .number(Decimal($0.step + 1)) } ?? .null,
            "step_name": item.task.map { .string(instance.path[$0.step].name) } ?? .null,
            "submitted_by": text(instance.submittedBy), "submitted_by_name": .string(names[instance.submittedBy.uuidString.lowercased()] ?? ""),
            "submitted_at": .string(ISO8601DateFormatter().string(from: instance.submittedAt)),
            "on_behalf_of": text(item.onBehalfOf), "summary": .object(summary),
        ])
    }

    @Sendable func approvalHistory(_ request: Request, context: AtriumContext) async throws -> Response {
        let key = context.parameters.get("entity") ?? ""
        let id = try Self.uuid(context, "id", what: "record")
        let approvals = self.approvals
        return Self.json(try await run(request, context) { actor, db in
            .object(["instances": .array(try await approvals.history(key, id: id, as: actor, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func approvalSubmit(_ request: Request, context: AtriumContext) async throws -> Response {
        let key = context.parameters.get("entity") ?? ""
        let id = try Self.uuid(context, "id", what: "record")
        let comment = try Self.comment(try await RecordRoutes.object(request, emptyAllowed: true))
        let approvals = self.approvals
        return Self.json(try await run(request, context, write: true) { actor, db in
            try await approvals.submit(key, id: id, comment: comment, as: actor, on: db.connection, logger: db.logger).json
        }, status: .created)
    }

    @Sendable func approvalDecide(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.taskNotFound)
        guard let decision = context.parameters.get("decision").flatMap(ApprovalEngine.Decision.init(rawValue:)) else {
            throw ApprovalError.unknownDecision
        }
        let comment = try Self.comment(try await RecordRoutes.object(request, emptyAllowed: true))
        let approvals = self.approvals
        return Self.json(try await run(request, context, write: true) { actor, db in
            try await approvals.decide(task: id, decision, comment: comment, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func approvalWithdraw(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.approvalNotFound)
        let comment = try Self.comment(try await RecordRoutes.object(request, emptyAllowed: true))
        let approvals = self.approvals
        return Self.json(try await run(request, context, write: true) { actor, db in
            try await approvals.withdraw(id, comment: comment, as: actor, on: db.connection, logger: db.logger).json
        })
    }

    @Sendable func listDelegations(_ request: Request, context: AtriumContext) async throws -> Response {
        let approvals = self.approvals
        return Self.json(try await run(request, context) { actor, db in
            .object(["delegations": .array(try await approvals.delegations(as: actor, on: db.connection, logger: db.logger).map(\.json))])
        })
    }

    @Sendable func addDelegation(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        func id(_ field: String) throws -> UUID? {
            guard let value = body[field], !value.isNull else { return nil }
            guard let text = value.stringValue, let id = UUID(uuidString: text) else { throw AtriumError.validation(field: field, "must be a user id") }
            return id
        }
        func date(_ field: String) throws -> String {
            guard let text = body[field]?.stringValue else { throw AtriumError.validation(field: field, "is required (YYYY-MM-DD)") }
            return text
        }
        let user = try id("user_id")
        guard let delegate = try id("delegate_id") else { throw AtriumError.validation(field: "delegate_id", "is required") }
        let (starts, ends) = (try date("starts_on"), try date("ends_on"))
        let approvals = self.approvals
        return Self.json(try await run(request, context, write: true) { actor, db in
            try await approvals.delegate(user: user, to: delegate, from: starts, to: ends, as: actor, on: db.connection, logger: db.logger).json
        }, status: .created)
    }

    @Sendable func removeDelegation(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.delegationNotFound)
        let approvals = self.approvals
        try await run(request, context, write: true) { actor, db in
            try await approvals.removeDelegation(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func listProcesses(_ request: Request, context: AtriumContext) async throws -> Response {
        let entity = request.uri.queryParameters["entity"].map(String.init)
        let processes = ApprovalProcesses(engine: engine)
        return Self.json(try await run(request, context, adminOnly: true) { _, db in
            .object(["processes": .array(try await processes.list(entity: entity, on: db.connection, logger: db.logger).map(Self.processJSON))])
        })
    }

    @Sendable func getProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.processNotFound)
        let processes = ApprovalProcesses(engine: engine)
        return Self.json(try await run(request, context, adminOnly: true) { _, db in
            try Self.processJSON(try await processes.get(id, on: db.connection, logger: db.logger))
        })
    }

    @Sendable func createProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        var process = try ApprovalProcess.decode(.object(try await RecordRoutes.object(request)))
        process.id = nil
        let input = process
        let processes = ApprovalProcesses(engine: engine)
        return Self.json(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try Self.processJSON(try await processes.save(input, as: actor, on: db.connection, logger: db.logger))
        }, status: .created)
    }

    @Sendable func replaceProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.processNotFound)
        var process = try ApprovalProcess.decode(.object(try await RecordRoutes.object(request)))
        process.id = id
        let input = process
        let processes = ApprovalProcesses(engine: engine)
        return Self.json(try await run(request, context, write: true, adminOnly: true) { actor, db in
            try Self.processJSON(try await processes.save(input, as: actor, on: db.connection, logger: db.logger))
        })
    }

    @Sendable func deleteProcess(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.uuid(context, "id", notFound: ApprovalError.processNotFound)
        let processes = ApprovalProcesses(engine: engine)
        try await run(request, context, write: true, adminOnly: true) { actor, db in
            try await processes.delete(id, as: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }
}

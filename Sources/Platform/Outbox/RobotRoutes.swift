import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The administrators' group-robot API (admin only):
///
///     GET    /api/v1/admin/robots              the robots (never their secrets; "signed": true when one is set)
///     POST   /api/v1/admin/robots              {"kind": "wecom|dingtalk|feishu", "name", "url", "kinds": ["approval.*"], "secret"?, "locale"?}
///     PATCH  /api/v1/admin/robots/{id}         any of those, and "active"
///     DELETE /api/v1/admin/robots/{id}
///     POST   /api/v1/admin/robots/{id}/test    a test message to the group (202)
struct RobotRoutes: Sendable {
    let records: RecordRoutes
    let allowPrivateAddresses: Bool

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("api/v1/admin/robots", use: list)
        router.post("api/v1/admin/robots", use: create)
        router.patch("api/v1/admin/robots/:id", use: change)
        router.delete("api/v1/admin/robots/:id", use: delete)
        router.post("api/v1/admin/robots/:id/test", use: test)
    }

    static let columns = "id, kind, name, url, secret IS NOT NULL, kinds, locale, active"

    static func decode(_ rows: PostgresRowSequence) async throws -> [NotificationRobot] {
        var robots: [NotificationRobot] = []
        for try await (id, kind, name, url, signed, kinds, locale, active) in rows.decode((UUID, String, String, String, Bool, [String], String, Bool).self) {
            robots.append(NotificationRobot(id: id, kind: NotificationRobot.Kind(rawValue: kind) ?? .wecom, name: name, url: url, hasSecret: signed,
                                            kinds: kinds, locale: locale, active: active))
        }
        return robots
    }

    /// `*`, `approval.*` or a notification kind.
    static func isKindPattern(_ text: String) -> Bool {
        text == "*" || NotificationPreferences.isKind(text) || (text.hasSuffix(".*") && text.dropLast(2).range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil)
    }

    struct Input: Sendable {
        var kind: NotificationRobot.Kind?
        var name: String?
        var url: String?
        var secret: String??
        var kinds: [String]?
        var locale: String?
        var active: Bool?
    }

    func input(_ request: Request, required: Bool) async throws -> Input {
        let body = try await RecordRoutes.object(request)
        let known: Set<String> = ["kind", "name", "url", "secret", "kinds", "locale", "active"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) { throw RobotError.invalid(field: unknown, reason: "is not a robot field") }
        var input = Input()
        func text(_ key: String, max: Int) throws -> String? {
            switch body[key] {
            case nil: if required && key != "secret" && key != "locale" { throw RobotError.invalid(field: key, reason: "is required") } else { return nil }
            case .string(let value)? where !value.trimmingCharacters(in: .whitespaces).isEmpty && value.count <= max:
                return value.trimmingCharacters(in: .whitespaces)
            default: throw RobotError.invalid(field: key, reason: "must be a non-empty text of at most \(max) characters")
            }
        }
        if let kind = try text("kind", max: 20) {
            guard let parsed = NotificationRobot.Kind(rawValue: kind) else { throw RobotError.invalid(field: "kind", reason: "must be wecom, dingtalk or feishu") }
            input.kind = parsed
        }
        input.name = try text("name", max: 100)
        if let url = try text("url", max: 2000) {
            do {
                try await WebhookAddressPolicy.check(url, allowPrivate: allowPrivateAddresses)
            } catch WebhookError.invalid(_, let reason) {
                throw RobotError.invalid(field: "url", reason: reason)
            }
            input.url = url
        }
        if body["secret"] == .null { input.secret = .some(nil) } else if let secret = try text("secret", max: 200) { input.secret = .some(secret) }
        if let locale = try text("locale", max: 5) {
            guard ["zh-CN", "en"].contains(locale) else { throw RobotError.invalid(field: "locale", reason: "must be zh-CN or en") }
            input.locale = locale
        }
        switch body["kinds"] {
        case nil where required: throw RobotError.invalid(field: "kinds", reason: "is required: e.g. [\"approval.*\", \"sales.receivable_overdue\"]")
        case nil: break
        case .array(let items)?:
            let kinds = items.compactMap(\.stringValue)
            guard kinds.count == items.count, (1...100).contains(kinds.count), kinds.allSatisfy(Self.isKindPattern) else {
                throw RobotError.invalid(field: "kinds", reason: "must be 1 to 100 notification kinds such as approval.task_assigned, approval.* or *")
            }
            input.kinds = Array(Set(kinds)).sorted()
        default: throw RobotError.invalid(field: "kinds", reason: "must be an array")
        }
        switch body["active"] {
        case nil: break
        case .bool(let active)?: input.active = active
        default: throw RobotError.invalid(field: "active", reason: "must be true or false")
        }
        return input
    }

    static func audit(_ action: String, robot: UUID, actor: RecordEngine.Actor, on connection: PostgresConnection, logger: Logger) async throws {
        try await AuditLog.record(action, by: actor, entity: "notification_robot", id: robot, on: connection, logger: logger)
    }

    static func id(_ context: AtriumContext) throws -> UUID { try RecordRoutes.uuid(context, "id", notFound: RobotError.notFound) }

    @Sendable func list(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await records.run(request, context, adminOnly: true) { _, db in
            JSONValue.object(["robots": .array(try await Self.decode(db.connection.query(
                "SELECT \(unescaped: Self.columns) FROM notification_robots ORDER BY created_at, id", logger: db.logger)).map(\.json))])
        })
    }

    @Sendable func create(_ request: Request, context: AtriumContext) async throws -> Response {
        let input = try await input(request, required: true)
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            let robot = try await Self.decode(db.connection.query("""
                INSERT INTO notification_robots (tenant_id, kind, name, url, secret, kinds, locale)
                VALUES (NULLIF(current_setting('app.tenant_id', true), '')::uuid, \(input.kind?.rawValue ?? "wecom"), \(input.name ?? ""), \(input.url ?? ""),
                        \(input.secret ?? nil), \(input.kinds ?? []), \(input.locale ?? "zh-CN"))
                RETURNING \(unescaped: Self.columns)
                """, logger: db.logger)).firstRow()
            try await Self.audit("robot.created", robot: robot.id, actor: actor, on: db.connection, logger: db.logger)
            return robot.json
        }, status: .created)
    }

    @Sendable func change(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        let input = try await input(request, required: false)
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            guard let robot = try await Self.decode(db.connection.query("""
                UPDATE notification_robots SET kind = coalesce(\(input.kind?.rawValue), kind), name = coalesce(\(input.name), name),
                    url = coalesce(\(input.url), url), kinds = coalesce(\(input.kinds), kinds), locale = coalesce(\(input.locale), locale),
                    active = coalesce(\(input.active), active),
                    secret = CASE WHEN \(input.secret != nil) THEN \(input.secret ?? nil) ELSE secret END
                WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                """, logger: db.logger)).first else { throw RobotError.notFound(id.uuidString.lowercased()) }
            try await Self.audit("robot.changed", robot: id, actor: actor, on: db.connection, logger: db.logger)
            return robot.json
        })
    }

    @Sendable func delete(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            guard try await !db.connection.query("DELETE FROM notification_robots WHERE id = \(id) RETURNING id", logger: db.logger).collect().isEmpty else {
                throw RobotError.notFound(id.uuidString.lowercased())
            }
            try await Self.audit("robot.deleted", robot: id, actor: actor, on: db.connection, logger: db.logger)
        }
        return Response(status: .noContent)
    }

    @Sendable func test(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context)
        return RecordRoutes.json(try await records.run(request, context, write: true, adminOnly: true) { actor, db in
            guard let robot = try await Self.decode(db.connection.query("SELECT \(unescaped: Self.columns) FROM notification_robots WHERE id = \(id)",
                                                                        logger: db.logger)).first else {
                throw RobotError.notFound(id.uuidString.lowercased())
            }
            let delivery = try await Outbox.enqueue(channel: "robot", payload: .object([
                "robot_id": .string(robot.id.uuidString.lowercased()), "kind": .string("robot.test"),
                "arguments": .object(["actor": .string(actor.user.displayName), "name": .string(robot.name)]),
            ]), maxAttempts: 1, on: db.connection, logger: db.logger)
            return JSONValue.object(["delivery_id": .string(delivery.uuidString.lowercased())])
        }, status: .accepted)
    }
}

/// What went wrong with a group robot.
public enum RobotError: DomainError, Equatable {
    case notFound(String)
    /// A field that cannot be used; names the field and why.
    case invalid(field: String, reason: String)

    public var atriumError: AtriumError {
        switch self {
        case .notFound(let reference):
            AtriumError(status: .notFound, code: "robot_not_found", message: "no group robot \(reference)")
        case .invalid(let field, let reason):
            AtriumError(status: .unprocessableContent, code: "invalid_robot", message: "\(field): \(reason)", field: field)
        }
    }

    public static let examples: [RobotError] = [.notFound("x"), .invalid(field: "url", reason: "x")]
}

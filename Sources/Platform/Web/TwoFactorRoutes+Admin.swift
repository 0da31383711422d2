import Foundation
import HTTPTypes
import Hummingbird

/// Administrators' two-factor pages and API: the tenant's requirement and a user's reset.
extension TwoFactorRoutes {
    func adminValues(_ page: WebApp.Page, db: PostgresConnectionBox) async throws -> [String: Any] {
        let lang = page.locale
        let policy = try await TwoFactor.policy(on: db.connection, logger: db.logger)
        let roles = try await OrganisationAdmin().roles(on: db.connection, logger: db.logger)
        let users = try await TwoFactor.userStates(on: db.connection, logger: db.logger)
        return [
            "title": t("twofactor.admin_title", lang),
            "mode_none": policy.mode == "none", "mode_all": policy.mode == "all", "mode_roles": policy.mode == "roles",
            "roles": roles.map { ["key": $0.key, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.key), "checked": policy.roleKeys.contains($0.key)] },
            "users": users.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "email": $0.email, "enabled": $0.enabled] as [String: Any] },
            "enabled_count": "\(users.filter(\.enabled).count)", "user_count": "\(users.count)",
        ]
    }

    @Sendable func adminPage(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let routes = self
        return try await app.adminPage(request, context, current: "admin:two-factor") { page, db in
            app.render("admin_two_factor", page, try await routes.adminValues(page, db: db))
        }
    }

    /// The web form: `require` = none | all | roles, `role.<key>` checkboxes. A refused change
    /// (the administrator would lock themselves out, an unknown role) is rolled back with its unit
    /// and the page shown again with the reason.
    @Sendable func savePolicy(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let pairs = try await FormBody.parsePairs(request, limit: WebApp.formLimit)
        let form = FormBody.single(pairs)
        let routes = self
        let roleKeys = pairs.filter { $0.0.hasPrefix("role.") }.map { String($0.0.dropFirst(5)) }
        let lang = app.locale(request, context)
        let message: String
        var status = HTTPResponse.Status.ok
        do {
            let ended = try await app.adminPage(request, context, form: form, current: "admin:two-factor") { page, db in
                try await TwoFactor.setPolicy(try Self.policy(require: form["require"] ?? "", roles: roleKeys),
                                              by: TwoFactorActor(user: page.actor.user, ip: page.actor.ip, requestID: page.actor.requestID),
                                              on: db.connection, logger: db.logger)
            }
            message = t("twofactor.policy_saved", lang, ["count": "\(ended)"])
        } catch let error as AtriumError where error.status == .unprocessableContent {
            let lockout = error.code == "two_factor_yourself_first"
            message = lockout ? t("twofactor.enable_yourself_first", lang) : t("twofactor.invalid_policy", lang) + " (\(error.field ?? ""): \(error.message))"
            status = .unprocessableContent
        }
        let failed = status != .ok, shownStatus = status
        return try await app.adminPage(request, context, current: "admin:two-factor") { page, db in
            var values = try await routes.adminValues(page, db: db)
            if failed {
                values["error"] = message
                values["has_error"] = true
            } else {
                values["flash"] = ["kind": "ok", "message": message]
            }
            return app.render("admin_two_factor", page, status: shownStatus, values)
        }
    }

    static func policy(require: String, roles: [String]) throws -> TwoFactor.Policy {
        switch require {
        case "none": return TwoFactor.Policy(requireAll: false, roleKeys: [])
        case "all": return TwoFactor.Policy(requireAll: true, roleKeys: [])
        case "roles":
            guard !roles.isEmpty else { throw AtriumError.validation(field: "roles", "choose at least one role (or require it of nobody)") }
            return TwoFactor.Policy(requireAll: false, roleKeys: roles)
        default: throw AtriumError.validation(field: "require", "must be none, all or roles")
        }
    }

    @Sendable func resetFromAdmin(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return Self.redirect("/login") }
        let id = try WebAdmin.id(context, what: "user")
        let form = try await FormBody.parse(request)
        return try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
            _ = try await TwoFactor.reset(user: id, by: TwoFactorActor(user: page.actor.user, ip: page.actor.ip, requestID: page.actor.requestID),
                                          on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/users/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    @Sendable func apiPolicy(_ request: Request, context: AtriumContext) async throws -> Response {
        RecordRoutes.json(try await app.records.run(request, context, adminOnly: true) { _, db in
            var json = try await TwoFactor.policy(on: db.connection, logger: db.logger).json
            if case .object(var object) = json {
                object["users"] = .array(try await TwoFactor.userStates(on: db.connection, logger: db.logger).map {
                    .object(["id": .string($0.id.uuidString.lowercased()), "email": .string($0.email), "enabled": .bool($0.enabled)])
                })
                json = .object(object)
            }
            return json
        })
    }

    @Sendable func apiSetPolicy(_ request: Request, context: AtriumContext) async throws -> Response {
        let body = try await RecordRoutes.object(request)
        if let unknown = body.keys.sorted().first(where: { !["require", "roles"].contains($0) }) {
            throw AtriumError.validation(field: unknown, "is not a two-factor setting (require, roles)")
        }
        guard let require = body["require"]?.stringValue else { throw AtriumError.validation(field: "require", "is required: none, all or roles") }
        var roles: [String] = []
        switch body["roles"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let key = item.stringValue else { throw AtriumError.validation(field: "roles", "must be a list of role keys") }
                roles.append(key)
            }
        default: throw AtriumError.validation(field: "roles", "must be a list of role keys")
        }
        if require != "roles" && !roles.isEmpty { throw AtriumError.validation(field: "roles", "is only for \"require\": \"roles\"") }
        let policy = try Self.policy(require: require, roles: roles)
        return RecordRoutes.json(try await app.records.run(request, context, write: true, adminOnly: true) { actor, db in
            let ended = try await TwoFactor.setPolicy(policy, by: TwoFactorActor(user: actor.user, ip: actor.ip, requestID: actor.requestID),
                                                      on: db.connection, logger: db.logger)
            var json = try await TwoFactor.policy(on: db.connection, logger: db.logger).json
            if case .object(var object) = json {
                object["sessions_ended"] = .number(Decimal(ended))
                json = .object(object)
            }
            return json
        })
    }

    @Sendable func apiReset(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try WebAdmin.id(context, what: "user")
        return RecordRoutes.json(try await app.records.run(request, context, write: true, adminOnly: true) { actor, db in
            let (sessions, tokens) = try await TwoFactor.reset(user: id, by: TwoFactorActor(user: actor.user, ip: actor.ip, requestID: actor.requestID),
                                                               on: db.connection, logger: db.logger)
            return JSONValue.object(["sessions_ended": .number(Decimal(sessions)), "tokens_revoked": .number(Decimal(tokens))])
        })
    }
}

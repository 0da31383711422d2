import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Tenant administrators' organisation pages: users (invite, change, deactivate, reset
/// password), the department tree, roles with their data scopes and field permissions, and
/// the audit log. Writes go through ``OrganisationAdmin`` (audited there) or, for account
/// changes, through audited statements here, all in the request's tenant transaction.
///
///     GET  /app/admin/users, POST /app/admin/users (invite)
///     GET  /app/admin/users/{id}, POST /app/admin/users/{id}
///     POST /app/admin/users/{id}/active, POST /app/admin/users/{id}/password
///     GET  /app/admin/departments, POST /app/admin/departments
///     POST /app/admin/departments/{id}, POST /app/admin/departments/{id}/delete
///     GET  /app/admin/roles, POST /app/admin/roles, GET|POST /app/admin/roles/{id}
///     GET  /app/admin/audit?before=
struct WebAdmin: Sendable {
    let app: WebApp
    var organisation: OrganisationAdmin { OrganisationAdmin() }

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/admin/users", use: users)
        router.post("app/admin/users", use: invite)
        router.get("app/admin/users/:id", use: user)
        router.post("app/admin/users/:id", use: changeUser)
        router.post("app/admin/users/:id/active", use: setActive)
        router.post("app/admin/users/:id/password", use: resetPassword)
        router.post("app/admin/users/:id/sessions/end", use: endSessions)
        router.get("app/admin/departments", use: departments)
        router.post("app/admin/departments", use: createDepartment)
        router.post("app/admin/departments/:id", use: changeDepartment)
        router.post("app/admin/departments/:id/delete", use: deleteDepartment)
        router.get("app/admin/roles", use: roles)
        router.post("app/admin/roles", use: createRole)
        router.get("app/admin/roles/:id", use: role)
        router.post("app/admin/roles/:id", use: changeRole)
        router.get("app/admin/audit", use: audit)
    }

    func t(_ key: String, _ locale: String, _ arguments: [String: String] = [:]) -> String { app.t(key, locale, arguments) }

    static func id(_ context: AtriumContext, what: String) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw AtriumError(status: .notFound, code: "\(what)_not_found", message: "no \(what) '\(context.parameters.get("id") ?? "")'")
        }
        return id
    }

    /// Runs a form handler; a refused input renders the page again with the message.
    func refusing(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let refused as WebApp.FormRefused { return refused.response }
    }

    static func audit(_ action: String, entity: String, id: UUID, details: [String: String], actor: RecordEngine.Actor,
                      on connection: PostgresConnection, logger: Logger) async throws {
        try await OrganisationAdmin.audit(action, entity: entity, id: id, details: details, actor: actor, on: connection, logger: logger)
    }

    // MARK: Users

    func usersPage(_ page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil, input: [String: String] = [:],
                   shownPassword: (email: String, password: String)? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let members = try await organisation.members(on: db.connection, logger: db.logger)
        let departments = try await organisation.departments(on: db.connection, logger: db.logger)
        let roles = try await organisation.roles(on: db.connection, logger: db.logger)
        let roleNames = Dictionary(uniqueKeysWithValues: roles.map { ($0.key, DisplayFormat.label($0.labels, locale: lang, fallback: $0.key)) })
        let rows: [[String: Any]] = members.map { member in
            ["id": member.id.uuidString.lowercased(), "name": member.displayName, "email": member.email, "active": member.active, "admin": member.admin,
             "department": member.departmentID.map { page.format.names[$0.uuidString.lowercased()] ?? "" } ?? "",
             "roles": member.roles.map { roleNames[$0] ?? $0 }.joined(separator: ", ")]
        }
        var values: [String: Any] = [
            "title": t("admin.users", lang), "rows": rows,
            "departments": departments.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "selected": $0.id.uuidString.lowercased() == input["department"]] },
            "roles": roles.map { ["key": $0.key, "label": roleNames[$0.key] ?? $0.key, "checked": input["role.\($0.key)"] != nil] },
            "input_email": input["email"] ?? "", "input_name": input["name"] ?? "",
            "error": error ?? "", "has_error": error != nil,
        ]
        if let shownPassword { values["new_password"] = ["email": shownPassword.email, "password": shownPassword.password] }
        return app.render("admin_users", page, status: status, values)
    }

    @Sendable func users(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:users") { page, db in try await usersPage(page, db: db, request: request) }
    }

    /// Creates a user with a one-time password shown once to the administrator, who hands it on.
    @Sendable func invite(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let pairs = try await FormBody.parsePairs(request, limit: WebApp.formLimit)
        let form = FormBody.single(pairs)
        let hasher = app.services.configuration.passwordHashing
        let password = SecureToken.readablePassword(length: 14)
        let hash = try await hasher.hashOffLoop(password)
        return try await refusing {
            try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
                do {
                    guard let email = UserInputRules.normalisedEmail(form["email"] ?? "") else { throw AtriumError.validation(field: "email", "must be an email address") }
                    let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
                    if let problem = UserInputRules.displayNameProblem(name) { throw AtriumError.validation(field: "name", problem) }
                    let taken = try await db.connection.query("SELECT count(*)::int FROM users WHERE lower(email) = \(email.lowercased())", logger: db.logger)
                        .collect().first?.decode(Int.self) ?? 0
                    guard taken == 0 else { throw AtriumError(status: .conflict, code: "email_taken", message: "\(email) already has an account", field: "email") }
                    let tenantID = try await OrganisationAdmin.currentTenant(db.connection, db.logger)
                    let id = try await UserStore.create(.init(email: email, displayName: name, locale: page.locale, passwordHash: hash, isAdmin: false),
                                                        tenantID: tenantID, on: db.connection, logger: db.logger)
                    let department = form["department"].flatMap(UUID.init(uuidString:))
                    let roleKeys = pairs.filter { $0.0.hasPrefix("role.") }.map { String($0.0.dropFirst(5)) }
                    var change = try JSONDecoder().decode(OrganisationAdmin.MemberChange.self, from: Data("{}".utf8))
                    change.departmentID = .some(department)
                    change.roles = roleKeys
                    _ = try await organisation.changeMember(id, change, as: page.actor, on: db.connection, logger: db.logger)
                    try await Self.audit("user.invited", entity: "user", id: id, details: ["email": email], actor: page.actor, on: db.connection, logger: db.logger)
                    return try await usersPage(page, db: db, request: request, shownPassword: (email, password))
                } catch let error as any DomainError where error.status.code < 500 {
                    throw WebApp.FormRefused(response: try await usersPage(page, db: db, request: request,
                                                                           error: app.message(error.atriumError, locale: page.locale, label: nil), input: form, status: error.status))
                }
            }
        }
    }

    @Sendable func user(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "user")
        return try await app.adminPage(request, context, current: "admin:users") { page, db in
            try await userPage(id, page: page, db: db, request: request)
        }
    }

    func userPage(_ id: UUID, page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil,
                  shownPassword: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let members = try await organisation.members(on: db.connection, logger: db.logger)
        guard let member = members.first(where: { $0.id == id }) else {
            throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(id.uuidString.lowercased())")
        }
        let departments = try await organisation.departments(on: db.connection, logger: db.logger)
        let roles = try await organisation.roles(on: db.connection, logger: db.logger)
        let department = member.departmentID?.uuidString.lowercased()
        let manager = member.managerID?.uuidString.lowercased()
        var values: [String: Any] = [
            "title": member.displayName,
            "member": ["id": id.uuidString.lowercased(), "name": member.displayName, "email": member.email, "active": member.active, "admin": member.admin,
                       "dimension": member.dimensionValues?.joined(separator: ", ") ?? "", "mobile": member.mobile ?? ""],
            "departments": [["id": "", "name": "—", "selected": department == nil]]
                + departments.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "selected": $0.id.uuidString.lowercased() == department] },
            "managers": [["id": "", "name": "—", "selected": manager == nil]]
                + members.filter { $0.id != id && $0.active }.map { ["id": $0.id.uuidString.lowercased(), "name": $0.displayName, "selected": $0.id.uuidString.lowercased() == manager] },
            "roles": roles.map { ["key": $0.key, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.key), "checked": member.roles.contains($0.key)] },
            "error": error ?? "", "has_error": error != nil,
        ]
        if let dimension = try await organisation.dimension(on: db.connection, logger: db.logger) {
            values["dimension_field"] = DisplayFormat.label(dimension.labels ?? [:], locale: lang, fallback: dimension.field)
        }
        if let shownPassword { values["new_password"] = shownPassword }
        values["two_factor_enabled"] = try await TwoFactor.status(of: id, on: db.connection, logger: db.logger).enabled
        values["is_self"] = id == page.actor.user.id
        return app.render("admin_user", page, status: status, values)
    }

    @Sendable func changeUser(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "user")
        let pairs = try await FormBody.parsePairs(request, limit: WebApp.formLimit)
        let form = FormBody.single(pairs)
        return try await refusing {
            try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
                do {
                    var change = try JSONDecoder().decode(OrganisationAdmin.MemberChange.self, from: Data("{}".utf8))
                    change.departmentID = .some(form["department"].flatMap(UUID.init(uuidString:)))
                    change.managerID = .some(form["manager"].flatMap(UUID.init(uuidString:)))
                    change.roles = pairs.filter { $0.0.hasPrefix("role.") }.map { String($0.0.dropFirst(5)) }
                    if let mobile = form["mobile"] { change.mobile = .some(mobile.isEmpty ? nil : mobile) }
                    if let text = form["dimension"] {
                        let values = text.split(whereSeparator: { $0 == "," || $0 == "，" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                        change.dimensionValues = .some(values.isEmpty ? nil : values)
                    }
                    _ = try await organisation.changeMember(id, change, as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as any DomainError where error.status.code < 500 && error.status != .notFound {
                    throw WebApp.FormRefused(response: try await userPage(id, page: page, db: db, request: request,
                                                                          error: app.message(error.atriumError, locale: page.locale, label: nil), status: error.status))
                }
                return WebApp.redirect("/app/admin/users/\(id.uuidString.lowercased())?notice=saved")
            }
        }
    }

    /// Deactivating ends the user's sessions and API tokens; their records stay (hand them over
    /// with the API's handover if someone else should own them).
    @Sendable func setActive(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "user")
        let form = try await FormBody.parse(request)
        let active = form["active"] == "true"
        return try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
            guard id != page.actor.user.id else { throw AtriumError.validation(field: "active", "you cannot deactivate yourself") }
            guard try await OrganisationAdmin.setActive(active, user: id, on: db.connection, logger: db.logger) else {
                throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(id.uuidString.lowercased())")
            }
            try await Self.audit(active ? "user.activated" : "user.deactivated", entity: "user", id: id, details: [:], actor: page.actor,
                                 on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/users/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    /// Signs the user out of every browser (a lost laptop); API tokens stay.
    @Sendable func endSessions(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "user")
        let form = try await FormBody.parse(request)
        return try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
            guard try await organisation.members(on: db.connection, logger: db.logger).contains(where: { $0.id == id }) else {
                throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(id.uuidString.lowercased())")
            }
            let ended = try await SessionStore.endAll(userID: id, on: db.connection, logger: db.logger)
            try await Self.audit("user.sessions_ended", entity: "user", id: id, details: ["sessions_ended": "\(ended)"], actor: page.actor,
                                 on: db.connection, logger: db.logger)
            return WebApp.redirect("/app/admin/users/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    @Sendable func resetPassword(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "user")
        let form = try await FormBody.parse(request)
        let password = SecureToken.readablePassword(length: 14)
        let hash = try await app.services.configuration.passwordHashing.hashOffLoop(password)
        return try await app.adminPage(request, context, form: form, current: "admin:users") { page, db in
            let changed = try await db.connection.query("UPDATE users SET password_hash = \(hash), updated_at = now() WHERE id = \(id) RETURNING 1", logger: db.logger)
                .collect().count
            guard changed == 1 else { throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(id.uuidString.lowercased())") }
            try await UserStore.endSessionsAndTokens(of: id, on: db.connection, logger: db.logger)
            try await Self.audit("user.password_reset", entity: "user", id: id, details: [:], actor: page.actor, on: db.connection, logger: db.logger)
            return try await userPage(id, page: page, db: db, request: request, shownPassword: password)
        }
    }

    // MARK: Departments

    func departmentsPage(_ page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil,
                         status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let all = try await organisation.departments(on: db.connection, logger: db.logger)
        let members = try await organisation.members(on: db.connection, logger: db.logger)
        // Depth-first order, children by name, with their depth for indentation.
        var rows: [[String: Any]] = []
        func visit(_ parent: UUID?, depth: Int) {
            for department in all.filter({ $0.parentID == parent }).sorted(by: { $0.name < $1.name }) {
                let id = department.id.uuidString.lowercased()
                rows.append(["id": id, "name": department.name, "depth": depth, "indent": String(repeating: "— ", count: depth),
                             "people": members.filter { $0.departmentID == department.id }.count,
                             "parents": [["id": "", "name": "—", "selected": department.parentID == nil]]
                                + all.filter { $0.id != department.id }.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name, "selected": $0.id == department.parentID] }])
                visit(department.id, depth: depth + 1)
            }
        }
        visit(nil, depth: 0)
        return app.render("admin_departments", page, status: status, [
            "title": t("admin.departments", lang), "rows": rows, "has_rows": !rows.isEmpty,
            "parents": [["id": "", "name": "—"]] + all.sorted { $0.name < $1.name }.map { ["id": $0.id.uuidString.lowercased(), "name": $0.name] },
            "error": error ?? "", "has_error": error != nil,
        ])
    }

    @Sendable func departments(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:departments") { page, db in try await departmentsPage(page, db: db, request: request) }
    }

    func departmentForm(_ request: Request, _ context: AtriumContext,
                        _ change: @escaping @Sendable ([String: String], WebApp.Page, PostgresConnectionBox) async throws -> Void) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        return try await refusing {
            try await app.adminPage(request, context, form: form, current: "admin:departments") { page, db in
                do {
                    try await change(form, page, db)
                } catch let error as any DomainError where error.status.code < 500 && error.status != .notFound {
                    throw WebApp.FormRefused(response: try await departmentsPage(page, db: db, request: request,
                                                                                 error: app.message(error.atriumError, locale: page.locale, label: nil), status: error.status))
                }
                return WebApp.redirect("/app/admin/departments?notice=saved")
            }
        }
    }

    @Sendable func createDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        try await departmentForm(request, context) { form, page, db in
            _ = try await organisation.createDepartment(name: form["name"] ?? "", parentID: form["parent"].flatMap(UUID.init(uuidString:)),
                                                        as: page.actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func changeDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context, what: "department")
        return try await departmentForm(request, context) { form, page, db in
            _ = try await organisation.changeDepartment(id, name: form["name"], parentID: .some(form["parent"].flatMap(UUID.init(uuidString:))),
                                                        as: page.actor, on: db.connection, logger: db.logger)
        }
    }

    @Sendable func deleteDepartment(_ request: Request, context: AtriumContext) async throws -> Response {
        let id = try Self.id(context, what: "department")
        return try await departmentForm(request, context) { _, page, db in
            try await organisation.deleteDepartment(id, as: page.actor, on: db.connection, logger: db.logger)
        }
    }

    // MARK: Roles

    @Sendable func roles(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        return try await app.adminPage(request, context, current: "admin:roles") { page, db in
            try await rolesPage(page, db: db, request: request)
        }
    }

    func rolesPage(_ page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        let roles = try await organisation.roles(on: db.connection, logger: db.logger)
        return app.render("admin_roles", page, status: status, [
            "title": t("admin.roles", lang),
            "rows": roles.map { ["id": $0.id.uuidString.lowercased(), "key": $0.key, "label": DisplayFormat.label($0.labels, locale: lang, fallback: $0.key), "system": $0.isSystem] },
            "error": error ?? "", "has_error": error != nil,
        ])
    }

    @Sendable func createRole(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let form = try await FormBody.parse(request)
        return try await refusing {
            try await app.adminPage(request, context, form: form, current: "admin:roles") { page, db in
                let role: OrganisationAdmin.Role
                do {
                    let input = OrganisationAdmin.RoleInput(key: form["key"], labels: WebDesigner.labels(en: form["label_en"], zh: form["label_zh"]),
                                                            grants: [:], fieldRules: [:])
                    role = try await organisation.createRole(input, as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as any DomainError where error.status.code < 500 {
                    throw WebApp.FormRefused(response: try await rolesPage(page, db: db, request: request,
                                                                           error: app.message(error.atriumError, locale: page.locale, label: nil), status: error.status))
                }
                return WebApp.redirect("/app/admin/roles/\(role.id.uuidString.lowercased())?notice=saved")
            }
        }
    }

    /// Rows of the grant grid: custom objects together, each enabled module, then every entity
    /// on its own (an entity's own grant overrides its module's or `custom`).
    func grantTargets(_ page: WebApp.Page, db: PostgresConnectionBox) async throws -> [(key: String, label: String, entity: EntityDefinition?)] {
        let lang = page.locale
        var targets: [(String, String, EntityDefinition?)] = [("custom", t("admin.all_custom", lang), nil)]
        for id in try await TenantModules.enabled(on: db.connection, logger: db.logger) {
            if let manifest = app.services.catalog.manifests[id] { targets.append(("module:\(id)", t("admin.module", lang, ["module": manifest.name(locale: lang)]), nil)) }
        }
        for entity in try await app.engine.entities(on: db.connection, logger: db.logger).values.sorted(by: { $0.key < $1.key }) {
            targets.append((entity.key, app.label(entity, lang), entity))
        }
        return targets
    }

    @Sendable func role(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "role")
        return try await app.adminPage(request, context, current: "admin:roles") { page, db in
            try await rolePage(id, page: page, db: db, request: request)
        }
    }

    func rolePage(_ id: UUID, page: WebApp.Page, db: PostgresConnectionBox, request: Request, error: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        let lang = page.locale
        guard let role = try await organisation.roles(on: db.connection, logger: db.logger).first(where: { $0.id == id }) else {
            throw AtriumError(status: .notFound, code: "role_not_found", message: "no role \(id.uuidString.lowercased())")
        }
        let actions = RecordAction.allCases
        let targets = try await grantTargets(page, db: db)
        let grid: [[String: Any]] = targets.map { target in
            ["key": target.key, "label": target.label, "is_entity": target.entity != nil,
             "cells": actions.map { action in
                let current = role.grants[target.key]?[action.rawValue]
                return ["name": "g.\(target.key).\(action.rawValue)", "id": "g-\(target.key.replacingOccurrences(of: ":", with: "-"))-\(action.rawValue)",
                        "action_label": t("actions.\(action.rawValue)", lang),
                        "options": [["value": "", "label": target.entity == nil ? "—" : t("admin.inherit", lang), "selected": current == nil]]
                            + DataScope.allCases.map { ["value": $0.rawValue, "label": t("scopes.\($0.rawValue)", lang), "selected": current == $0] }]
             }]
        }
        let fieldRules: [[String: Any]] = targets.compactMap { target in
            guard let entity = target.entity else { return nil }
            return ["label": target.label, "fields": entity.activeFields.map { field in
                let current = role.fieldRules[entity.key]?[field.key] ?? .editable
                return ["name": "r.\(entity.key).\(field.key)", "id": "r-\(entity.key)-\(field.key)", "label": app.label(field, lang),
                        "options": [FieldAccess.editable, .readOnly, .hidden].map { ["value": $0.rawValue, "label": t("field_access.\($0.rawValue)", lang), "selected": $0 == current] }]
            }]
        }
        return app.render("admin_role", page, status: status, [
            "title": DisplayFormat.label(role.labels, locale: lang, fallback: role.key),
            "role": ["id": id.uuidString.lowercased(), "key": role.key, "label_en": role.labels["en"] ?? "", "label_zh": role.labels["zh-CN"] ?? ""],
            "actions": actions.map { ["label": t("actions.\($0.rawValue)", lang)] },
            "grid": grid, "field_rules": fieldRules,
            "error": error ?? "", "has_error": error != nil,
        ])
    }

    @Sendable func changeRole(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let id = try Self.id(context, what: "role")
        let pairs = try await FormBody.parsePairs(request, limit: 4 * WebApp.formLimit)
        let form = FormBody.single(pairs)
        return try await refusing {
            try await app.adminPage(request, context, form: form, current: "admin:roles") { page, db in
                var grants: RoleGrants = [:]
                var rules: FieldRules = [:]
                for (name, value) in pairs where !value.isEmpty {
                    let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
                    guard parts.count == 3 else { continue }
                    if parts[0] == "g" {
                        guard let scope = DataScope(rawValue: value) else { throw AtriumError.validation(field: name, "is not a data scope") }
                        grants[parts[1], default: [:]][parts[2]] = scope
                    } else if parts[0] == "r", let access = FieldAccess(rawValue: value), access != .editable {
                        rules[parts[1], default: [:]][parts[2]] = access
                    }
                }
                do {
                    let input = OrganisationAdmin.RoleInput(key: nil, labels: WebDesigner.labels(en: form["label_en"], zh: form["label_zh"]), grants: grants, fieldRules: rules)
                    _ = try await organisation.changeRole(id, input, as: page.actor, on: db.connection, logger: db.logger)
                } catch let error as any DomainError where error.status.code < 500 && error.status != .notFound {
                    throw WebApp.FormRefused(response: try await rolePage(id, page: page, db: db, request: request,
                                                                          error: app.message(error.atriumError, locale: page.locale, label: nil), status: error.status))
                }
                return WebApp.redirect("/app/admin/roles/\(id.uuidString.lowercased())?notice=saved")
            }
        }
    }

    // MARK: Audit log

    @Sendable func audit(_ request: Request, context: AtriumContext) async throws -> Response {
        guard app.signedIn(context) else { return WebApp.redirect("/login") }
        let before = request.uri.queryParameters["before"].flatMap { Int64($0) } ?? Int64.max
        return try await app.adminPage(request, context, current: "admin:audit") { page, db in
            var rows: [[String: Any]] = []
            var lastID: Int64?
            for try await (id, at, actor, action, entity, recordID, details) in try await db.connection.query("""
                SELECT id, at, actor, action, entity, record_id, details::text FROM audit_log
                WHERE id < \(before) ORDER BY id DESC LIMIT 100
                """, logger: db.logger).decode((Int64, Date, String, String, String?, String?, String).self) {
                lastID = id
                var link = ""
                if let entity, let recordID, page.entities[entity] != nil { link = "/app/\(entity)/\(recordID)" }
                rows.append(["at": DisplayFormat.dateTime(at), "actor": actor, "action": action, "entity": entity ?? "", "record": recordID ?? "",
                             "href": link.isEmpty ? false as Any : link, "details": String(details.prefix(300))])
            }
            return app.render("admin_audit", page, [
                "title": t("admin.audit", page.locale), "rows": rows, "has_rows": !rows.isEmpty,
                "older": rows.count == 100 ? lastID.map { "/app/admin/audit?before=\($0)" } ?? "" : "",
            ])
        }
    }
}

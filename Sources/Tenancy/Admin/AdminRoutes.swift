import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Platform
import PostgresNIO

/// The admin API, `/admin/v1/…`, for `atrium-admin --url` and operators' scripts.
///
/// ```
/// GET    /admin/v1/whoami                               the token's kind, name, reseller quota and usage
/// GET    /admin/v1/tenants                              a reseller sees only its own
/// POST   /admin/v1/tenants                              {slug, name, admin_email, plan?, locale?, admin_name?, admin_password?, max_users?, reseller?}
/// POST   /admin/v1/tenants/import?slug=…&name=…         body: an archive from export
/// GET    /admin/v1/tenants/{slug}                       tenant, usage, limits
/// POST   /admin/v1/tenants/{slug}/suspend | resume
/// DELETE /admin/v1/tenants/{slug}?confirm={slug}        only a suspended tenant
/// GET    /admin/v1/tenants/{slug}/export[?password_hashes=true]
/// GET    /admin/v1/tenants/{slug}/modules               POST the same path: {enable: [...], disable: [...]}
/// GET    /admin/v1/tenants/{slug}/users                 POST the same path: {email, name, locale?, admin?, password?}
/// POST   /admin/v1/tenants/{slug}/users/reset-password  {email, password?}
/// GET    /admin/v1/resellers                            operator only, like the three below
/// POST   /admin/v1/resellers                            {slug, name, max_tenants?, max_seats?}
/// GET    /admin/v1/resellers/{slug}
/// PUT    /admin/v1/resellers/{slug}/quota               {max_tenants, max_seats} (null = unlimited)
/// GET    /admin/v1/audit[?tenant=…&limit=…]             operator only
/// ```
///
/// Every call needs `Authorization: Bearer atradm_…` (``AdminTokenStore``); every
/// authenticated call is recorded in ``AdminAudit``. A reseller asking for a tenant that is
/// not its own gets the same 404 as for a tenant that does not exist (it learns nothing about
/// other resellers' tenants); operator-only endpoints answer a reseller 403.
///
/// The work runs on the schema owner's connection, through the same functions as the local
/// `atrium-admin` (``TenantProvisioner``, ``TenantDirectory``, ``TenantArchive``,
/// ``TenantModuleSwitch``, ``TenantUsers``). Without `DATABASE_OWNER_URL` the server has no
/// such connection and every admin call answers 404 `admin_api_disabled`.
public struct AdminRoutes: Sendable {
    /// The owner's pool (nil: the admin API is off).
    let owner: Database?
    let catalog: ModuleCatalog
    let hasher: PasswordHasher
    /// Where attachments' bytes live: exports read them, imports write them.
    let files: any FileStore
    /// Largest archive `POST /tenants/import` accepts (it is parsed in memory).
    public static let maxImportBytes = 512 * 1024 * 1024

    public init(owner: Database?, catalog: ModuleCatalog, hasher: PasswordHasher, files: any FileStore) {
        self.owner = owner
        self.catalog = catalog
        self.hasher = hasher
        self.files = files
    }

    public func register(on router: Router<AtriumContext>) {
        let v1 = router.group("admin/v1")
        v1.get("whoami") { request, context in
            try await call(request, context, action: "whoami") { call in
                var reseller: ResellerDirectory.Reseller?
                if let id = call.caller.resellerID { reseller = try await ResellerDirectory.find(id: id, on: call.connection, logger: call.logger) }
                return Self.json(AdminWire.WhoAmI(tokenID: call.caller.tokenID, name: call.caller.name, kind: call.caller.kind, reseller: reseller))
            }
        }
        v1.get("tenants") { request, context in
            try await call(request, context, action: "tenant.list") { call in
                let tenants = if let reseller = call.caller.resellerID {
                    try await TenantDirectory.list(resellerID: reseller, on: call.connection, logger: call.logger)
                } else {
                    try await TenantDirectory.list(on: call.connection, logger: call.logger)
                }
                return Self.json(tenants)
            }
        }
        v1.post("tenants") { request, context in
            try await call(request, context, action: "tenant.create") { call in
                let body = try await RecordRoutes.decode(AdminWire.CreateTenant.self, request)
                call.details = ["slug": body.slug, "plan": body.plan ?? "trial", "reseller": body.reseller ?? call.caller.resellerSlug ?? ""]
                call.tenantSlug = body.slug
                var resellerID = call.caller.resellerID
                if let slug = body.reseller {
                    guard call.caller.isOperator else {
                        throw TenancyError.operatorOnly(.placeWithReseller)
                    }
                    resellerID = try await ResellerDirectory.require(slug: slug, on: call.connection, logger: call.logger).id
                }
                let result = try await TenantProvisioner(catalog: catalog, hasher: hasher).provision(
                    .init(slug: body.slug, name: body.name, plan: body.plan ?? "trial", adminEmail: body.adminEmail, adminName: body.adminName,
                          adminPassword: body.adminPassword, locale: body.locale ?? "zh-CN", resellerID: resellerID, maxUsers: body.maxUsers),
                    actor: call.actor, on: call.connection, logger: call.logger)
                call.tenantID = result.tenant.id
                return Self.json(AdminWire.CreatedTenant(tenant: result.tenant, adminEmail: result.adminEmail,
                                               adminPassword: result.passwordWasGenerated ? result.adminPassword : nil, modules: result.modules),
                                 status: .created)
            }
        }
        v1.post("tenants/import") { request, context in
            let parameters = request.uri.queryParameters
            guard let slug = parameters["slug"].map(String.init), !slug.isEmpty else {
                throw AtriumError.validation(field: "slug", "is required (?slug=…)")
            }
            let name = parameters["name"].map(String.init)
            return try await call(request, context, action: "tenant.import", details: ["slug": slug]) { call in
                call.tenantSlug = slug
                try TenantProvisioner.checkSlug(slug)
                let buffer: ByteBuffer
                do {
                    buffer = try await request.body.collect(upTo: Self.maxImportBytes)
                } catch {
                    throw TenancyError.archiveTooLarge(maxMiB: Self.maxImportBytes / 1024 / 1024)
                }
                let lines = String(buffer: buffer).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                let counts = try await TenantArchive.restore(lines: lines, slug: slug, name: name, resellerID: call.caller.resellerID, actor: call.actor, files: files,
                                                             on: call.connection, logger: call.logger)
                let tenant = try await TenantDirectory.find(slug: slug, on: call.connection, logger: call.logger)
                call.tenantID = tenant?.id
                return Self.json(AdminWire.Imported(tenant: tenant, rows: counts), status: .created)
            }
        }
        v1.get("tenants/:slug") { request, context in
            try await call(request, context, action: "tenant.show", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                let usage = try await TenantUsage.read(tenantID: tenant.id, on: call.connection, logger: call.logger)
                let limits = try await TenantDirectory.limits(slug: tenant.slug, on: call.connection, logger: call.logger)
                var reseller: String?
                if let id = call.tenantResellerID { reseller = try await ResellerDirectory.find(id: id, on: call.connection, logger: call.logger)?.slug }
                return Self.json(AdminWire.TenantDetails(tenant: tenant, usage: usage, limits: limits, reseller: reseller))
            }
        }
        for (verb, status) in [("suspend", TenantStatus.suspended), ("resume", .active)] {
            v1.post("tenants/:slug/\(verb)") { request, context in
                try await call(request, context, action: "tenant.\(verb)", tenant: context.parameters.get("slug")) { call in
                    let tenant = try call.requireTenant()
                    guard let changed = try await TenantDirectory.setStatus(status, slug: tenant.slug, actor: call.actor, on: call.connection, logger: call.logger) else {
                        throw TenancyError.tenantNotFound(tenant.slug)
                    }
                    return Self.json(changed)
                }
            }
        }
        v1.delete("tenants/:slug") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await call(request, context, action: "tenant.delete", tenant: slug) { call in
                let tenant = try call.requireTenant()
                guard request.uri.queryParameters["confirm"].map(String.init) == tenant.slug else {
                    throw TenancyError.deletionUnconfirmed(slug: tenant.slug, how: "?confirm=\(tenant.slug)")
                }
                let removed = try await TenantDirectory.delete(slug: tenant.slug, on: call.connection, logger: call.logger)
                return Self.json(AdminWire.Deleted(deleted: tenant.slug, rows: removed.values.reduce(0, +), tables: removed.filter { $0.value > 0 }))
            }
        }
        v1.get("tenants/:slug/export") { request, context in
            let hashes = ["true", "1", "yes"].contains(request.uri.queryParameters["password_hashes"].map(String.init) ?? "")
            return try await call(request, context, action: "tenant.export", tenant: context.parameters.get("slug"),
                                  details: ["password_hashes": "\(hashes)"]) { call in
                let tenant = try call.requireTenant()
                return try await Self.exportResponse(slug: tenant.slug, passwordHashes: hashes, files: files, connection: call.connection, logger: call.logger)
            }
        }
        v1.get("tenants/:slug/modules") { request, context in
            try await call(request, context, action: "tenant.modules", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                let enabled = try await call.connection.inTenantTransaction(tenant.id, logger: call.logger) { connection in
                    try await TenantModules.enabled(on: connection, logger: call.logger)
                }
                return Self.json(catalog.entries.map { AdminWire.ModuleState(id: $0.id, enabled: enabled.contains($0.id)) })
            }
        }
        v1.post("tenants/:slug/modules") { request, context in
            try await call(request, context, action: "tenant.modules_change", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                let body = try await RecordRoutes.decode(AdminWire.ModuleChange.self, request)
                call.details = ["enable": (body.enable ?? []).joined(separator: ","), "disable": (body.disable ?? []).joined(separator: ",")]
                let enabled = try await TenantModuleSwitch.change(slug: tenant.slug, enable: body.enable ?? [], disable: body.disable ?? [], catalog: catalog,
                                                                  actor: call.actor, on: call.connection, logger: call.logger)
                return Self.json(catalog.entries.map { AdminWire.ModuleState(id: $0.id, enabled: enabled.contains($0.id)) })
            }
        }
        v1.get("tenants/:slug/users") { request, context in
            try await call(request, context, action: "user.list", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                return Self.json(try await TenantUsers.list(slug: tenant.slug, on: call.connection, logger: call.logger))
            }
        }
        v1.post("tenants/:slug/users") { request, context in
            try await call(request, context, action: "user.invite", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                let body = try await RecordRoutes.decode(AdminWire.Invite.self, request)
                call.details = ["email": body.email, "admin": "\(body.admin ?? false)"]
                let invited = try await TenantUsers.invite(.init(email: body.email, name: body.name, password: body.password, locale: body.locale ?? "zh-CN",
                                                                 isAdmin: body.admin ?? false),
                                                           slug: tenant.slug, hasher: hasher, actor: call.actor, on: call.connection, logger: call.logger)
                return Self.json(invited, status: .created)
            }
        }
        v1.post("tenants/:slug/users/reset-password") { request, context in
            try await call(request, context, action: "user.reset_password", tenant: context.parameters.get("slug")) { call in
                let tenant = try call.requireTenant()
                let body = try await RecordRoutes.decode(AdminWire.Reset.self, request)
                call.details = ["email": body.email]
                let reset = try await TenantUsers.resetPassword(email: body.email, password: body.password, slug: tenant.slug, hasher: hasher,
                                                                actor: call.actor, on: call.connection, logger: call.logger)
                return Self.json(reset)
            }
        }
        v1.get("resellers") { request, context in
            try await call(request, context, action: "reseller.list", operatorOnly: true) { call in
                Self.json(try await ResellerDirectory.list(on: call.connection, logger: call.logger))
            }
        }
        v1.post("resellers") { request, context in
            try await call(request, context, action: "reseller.create", operatorOnly: true) { call in
                let body = try await RecordRoutes.decode(AdminWire.Reseller.self, request)
                guard let slug = body.slug else { throw AtriumError.validation(field: "slug", "is required") }
                guard let name = body.name else { throw AtriumError.validation(field: "name", "is required") }
                call.details = ["reseller": slug, "max_tenants": body.maxTenants.map(String.init) ?? "unlimited",
                                "max_seats": body.maxSeats.map(String.init) ?? "unlimited"]
                let reseller = try await ResellerDirectory.create(slug: slug, name: name, maxTenants: body.maxTenants, maxSeats: body.maxSeats,
                                                                  on: call.connection, logger: call.logger)
                return Self.json(reseller, status: .created)
            }
        }
        v1.get("resellers/:reseller") { request, context in
            try await call(request, context, action: "reseller.show", details: ["reseller": context.parameters.get("reseller") ?? ""], operatorOnly: true) { call in
                Self.json(try await ResellerDirectory.require(slug: context.parameters.get("reseller") ?? "", on: call.connection, logger: call.logger))
            }
        }
        v1.put("resellers/:reseller/quota") { request, context in
            let slug = context.parameters.get("reseller") ?? ""
            return try await call(request, context, action: "reseller.quota", details: ["reseller": slug], operatorOnly: true) { call in
                let body = try await RecordRoutes.decode(AdminWire.Reseller.self, request)
                call.details = ["max_tenants": body.maxTenants.map(String.init) ?? "unlimited", "max_seats": body.maxSeats.map(String.init) ?? "unlimited"]
                return Self.json(try await ResellerDirectory.setQuota(slug: slug, maxTenants: body.maxTenants, maxSeats: body.maxSeats,
                                                               on: call.connection, logger: call.logger))
            }
        }
        v1.get("audit") { request, context in
            let tenant = request.uri.queryParameters["tenant"].map(String.init)
            let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 100, 1), 1000)
            return try await call(request, context, action: "audit.list", operatorOnly: true) { call in
                Self.json(try await AdminAudit.recent(tenantSlug: tenant, limit: limit, on: call.connection, logger: call.logger))
            }
        }
    }
}

// MARK: - One authenticated, audited call

extension AdminRoutes {
    /// What a handler gets: the caller, the owner connection, and the tenant when the path names one.
    final class Call: @unchecked Sendable {
        let caller: AdminTokenStore.Caller
        let connection: PostgresConnection
        let logger: Logger
        let tenant: TenantInfo?
        let tenantResellerID: UUID?
        /// The tenant the call created (recorded in the audit row).
        var tenantID: UUID?
        /// What the body asked for, added to the audit row's details.
        var details: [String: String] = [:]
        /// The tenant a creation or import names (the path names it otherwise).
        var tenantSlug: String?

        init(caller: AdminTokenStore.Caller, connection: PostgresConnection, logger: Logger, tenant: TenantInfo?, tenantResellerID: UUID?) {
            self.caller = caller
            self.connection = connection
            self.logger = logger
            self.tenant = tenant
            self.tenantResellerID = tenantResellerID
            self.tenantID = tenant?.id
        }

        /// How the tenant's own audit log names the change: `admin-api:<token name>` (+ reseller).
        var actor: String {
            "admin-api:\(caller.name)" + (caller.resellerSlug.map { " (reseller \($0))" } ?? "")
        }

        func requireTenant() throws -> TenantInfo {
            guard let tenant else { throw TenancyError.tenantNotFound(nil) }
            return tenant
        }
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// Authenticates, audits and runs one admin call on an owner connection. A reseller never
    /// reaches a tenant that is not its own: such a tenant is reported as not found.
    func call(_ request: Request, _ context: AtriumContext, action: String, tenant slug: String? = nil, details: [String: String] = [:],
              operatorOnly: Bool = false, _ body: (Call) async throws -> Response) async throws -> Response {
        guard let owner else {
            throw TenancyError.adminAPIDisabled
        }
        let logger = context.logger
        guard let secret = Self.bearer(request) else { throw TenancyError.adminUnauthenticated }
        do {
            return try await owner.client.withConnection { connection in
                guard let caller = try await AdminTokenStore.authenticate(secret: secret, on: connection, logger: logger) else {
                    logger.warning("admin API: unknown or revoked token", metadata: ["ip": "\(context.clientIP)"])
                    throw TenancyError.adminUnauthenticated
                }
                var details = details
                details["method"] = request.method.rawValue
                let auditID = try await AdminAudit.begin(caller: caller, action: action, tenantSlug: slug, details: details,
                                                         ip: context.clientIP, requestID: context.id, on: connection, logger: logger)
                var call: Call?
                do {
                    if operatorOnly && !caller.isOperator {
                        throw TenancyError.operatorOnly(.call(action, reseller: caller.resellerSlug ?? ""))
                    }
                    var tenant: TenantInfo?
                    var tenantReseller: UUID?
                    if let slug {
                        guard let found = try await TenantDirectory.findWithReseller(slug: slug, on: connection, logger: logger),
                              caller.isOperator || found.resellerID == caller.resellerID else {
                            throw TenancyError.tenantNotFound(slug)
                        }
                        (tenant, tenantReseller) = (found.tenant, found.resellerID)
                    }
                    let current = Call(caller: caller, connection: connection, logger: logger, tenant: tenant, tenantResellerID: tenantReseller)
                    call = current
                    let response = try await body(current)
                    try await AdminAudit.finish(id: auditID, status: Int(response.status.code), errorCode: nil, tenantID: current.tenantID, tenantSlug: current.tenantSlug,
                                                details: current.details, on: connection, logger: logger)
                    return response
                } catch {
                    let failure = Self.apiError(DatabaseErrors.unwrap(error))
                    // The call's own error is what the client gets; an audit row that cannot be
                    // finished is logged, not allowed to replace it.
                    do {
                        try await AdminAudit.finish(id: auditID, status: Int(failure?.status.code ?? 500), errorCode: failure?.code ?? "internal",
                                                    tenantID: call?.tenantID, tenantSlug: call?.tenantSlug, details: call?.details ?? [:], on: connection, logger: logger)
                    } catch let auditError {
                        logger.error("admin API: audit row not finished", metadata: ["audit": "\(auditID)", "error": "\(DatabaseErrors.describe(auditError))"])
                    }
                    throw failure ?? error
                }
            }
        } catch {
            throw DatabaseErrors.unwrap(error)
        }
    }

    /// Field names as the JSON bodies spell them: the shared checks name CLI options
    /// (`admin-email`), the API's keys are `admin_email`.
    static func apiError(_ error: any Error) -> AtriumError? {
        guard let error = AtriumError(error) else { return nil }
        guard let field = error.field, field.contains("-") else { return error }
        let key = field.replacingOccurrences(of: "-", with: "_")
        var message = error.message
        if message.hasPrefix(field) { message = key + message.dropFirst(field.count) }
        var mapped = AtriumError(status: error.status, code: error.code.replacingOccurrences(of: field, with: key), message: message, field: key, details: error.details)
        mapped.messageKey = error.messageKey
        return mapped
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The same archive as `atrium-admin tenant export`: written to a private temporary file
    /// first (one consistent snapshot, and a Content-Length for the client's progress), then
    /// streamed in 64 KiB chunks. The file is unlinked before streaming starts, so it
    /// disappears whatever happens to the connection.
    static func exportResponse(slug: String, passwordHashes: Bool, files: any FileStore, connection: PostgresConnection, logger: Logger) async throws -> Response {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-export-\(UUID().uuidString).jsonl").path
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: path) else {
            throw TenancyError.exportFailed(readingBack: false)
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await TenantArchive.export(slug: slug, includePasswordHashes: passwordHashes, files: files, on: connection, logger: logger) { line in
                try output.write(contentsOf: Data((line + "\n").utf8))
            }
            try output.close()
        } catch {
            try? output.close()
            throw error
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw TenancyError.exportFailed(readingBack: true)
        }
        try? FileManager.default.removeItem(atPath: path)
        let body = ResponseBody(contentLength: size) { writer in
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 64 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson",
                                               .contentDisposition: "attachment; filename=\"\(slug).jsonl\""], body: body)
    }
}

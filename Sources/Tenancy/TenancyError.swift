import Foundation
import HTTPTypes
import Platform

/// What went wrong finding, creating or administering a tenant: no tenant or the wrong one
/// for the request, a suspended or still active tenant, a taken slug, a reseller's quota, an
/// admin API call without a valid token or by a reseller where an operator is needed.
/// Mapped to HTTP by `ErrorMiddleware` (and to stderr by `atrium-admin`); every code has a
/// text under `errors.<code>` in both locale files.
/// ```swift
/// guard let tenant else { throw TenancyError.tenantNotFound("acme") }   // 404 tenant_not_found
/// ```
public enum TenancyError: DomainError, Equatable {
    /// The request names no tenant (no subdomain of `baseDomain`, no X-Tenant header).
    case tenantRequired(baseDomain: String)
    /// The X-Tenant header and the host name different tenants.
    case tenantMismatch(header: String, host: String)
    /// nil: an admin call that needs a tenant was given none.
    case tenantNotFound(String?)
    case tenantSuspended(String)
    /// Only a suspended tenant may be deleted.
    case tenantActive(slug: String, status: String)
    case slugTaken(String)
    /// Deleting needs the slug repeated; `how` is how this client repeats it (`?confirm=acme`).
    case deletionUnconfirmed(slug: String, how: String)
    /// The tenant has no active administrator to run a module's set-up as.
    case noAdministrator(String)
    /// nil: the reseller was removed while the tenant was being placed with it.
    case resellerNotFound(String?)
    case resellerTaken(String)
    case resellerTenantQuota(reseller: String, maxTenants: Int, tenants: Int)
    /// `needs` nil: the tenant has no user limit, which never fits a seat quota.
    case resellerSeatQuota(reseller: String, maxSeats: Int, used: Int, needs: Int?)
    /// An admin API call without a valid admin token.
    case adminUnauthenticated
    /// The admin API runs only with an owner connection (DATABASE_OWNER_URL).
    case adminAPIDisabled
    case adminTokenNotFound(String)
    case operatorOnly(OperatorAction)
    case archiveTooLarge(maxMiB: Int)
    /// The server could not write the export to a temporary file, or read it back.
    case exportFailed(readingBack: Bool)
    /// A password reset for an address with no user in the tenant.
    case userNotFound(email: String, tenant: String)

    /// What a reseller's admin token may not do.
    public enum OperatorAction: Sendable, Equatable {
        /// Place a new tenant with a (named) reseller.
        case placeWithReseller
        /// An operator-only call, named by its audit action, by reseller `reseller`'s token.
        case call(String, reseller: String)
    }

    public var atriumError: AtriumError {
        switch self {
        case .tenantRequired(let baseDomain):
            AtriumError(status: .notFound, code: "tenant_required", message: "no tenant: open <tenant>.\(baseDomain) or send an X-Tenant header")
        case .tenantMismatch(let header, let host):
            AtriumError(status: .badRequest, code: "tenant_mismatch", message: "X-Tenant '\(header)' does not match the host's tenant '\(host)'")
        case .tenantNotFound(let slug):
            AtriumError(status: .notFound, code: "tenant_not_found", message: slug.map { "no tenant '\($0)'" } ?? "no tenant given")
        case .tenantSuspended(let slug):
            AtriumError(status: .forbidden, code: "tenant_suspended", message: "tenant '\(slug)' is suspended")
        case .tenantActive(let slug, let status):
            AtriumError(status: .conflict, code: "tenant_active", message: "tenant '\(slug)' is \(status): suspend it first, then delete it")
        case .slugTaken(let slug):
            AtriumError(status: .conflict, code: "slug_taken", message: "tenant slug '\(slug)' is already taken", field: "slug")
        case .deletionUnconfirmed(let slug, let how):
            AtriumError(status: .badRequest, code: "confirm", message: "deleting '\(slug)' needs \(how)", field: "confirm")
        case .noAdministrator(let slug):
            AtriumError(status: .conflict, code: "no_admin", message: "tenant '\(slug)' has no active administrator to set the modules up as")
        case .resellerNotFound(let slug):
            AtriumError(status: .notFound, code: "reseller_not_found", message: slug.map { "no reseller '\($0)'" } ?? "the reseller no longer exists",
                        field: "reseller")
        case .resellerTaken(let slug):
            AtriumError(status: .conflict, code: "reseller_taken", message: "reseller slug '\(slug)' is already taken", field: "slug")
        case .resellerTenantQuota(let reseller, let maxTenants, let tenants):
            AtriumError(status: .unprocessableContent, code: "reseller_quota_tenants",
                        message: "reseller '\(reseller)' may have \(maxTenants) tenants (max_tenants) and has \(tenants); delete one or ask the operator to raise the quota",
                        field: "max_tenants")
        case .resellerSeatQuota(let reseller, let maxSeats, _, nil):
            AtriumError(status: .unprocessableContent, code: "reseller_quota_seats",
                        message: "reseller '\(reseller)' has a quota of \(maxSeats) seats (max_seats): a tenant without a user limit does not fit; give max_users",
                        field: "max_seats")
        case .resellerSeatQuota(let reseller, let maxSeats, let used, let needs?):
            AtriumError(status: .unprocessableContent, code: "reseller_quota_seats",
                        message: "reseller '\(reseller)' may allocate \(maxSeats) seats (max_seats), has \(used) and this tenant needs \(needs); lower max_users or ask the operator to raise the quota",
                        field: "max_seats")
        case .adminUnauthenticated:
            AtriumError(status: .unauthorized, code: "unauthenticated",
                        message: "send a valid admin token: Authorization: Bearer atradm_… (created with atrium-admin token create)")
        case .adminAPIDisabled:
            AtriumError(status: .notFound, code: "admin_api_disabled",
                        message: "the admin API is off on this server: it needs DATABASE_OWNER_URL (see deploy/README.md)")
        case .adminTokenNotFound(let id):
            AtriumError(status: .notFound, code: "token_not_found", message: "no active admin token \(id)")
        case .operatorOnly(.placeWithReseller):
            AtriumError(status: .forbidden, code: "operator_only", message: "only an operator token may place a tenant with a reseller", field: "reseller")
        case .operatorOnly(.call(let action, let reseller)):
            AtriumError(status: .forbidden, code: "operator_only", message: "\(action) needs an operator token; this is reseller '\(reseller)'s token")
        case .archiveTooLarge(let maxMiB):
            AtriumError(status: .contentTooLarge, code: "archive_too_large", message: "the archive is larger than \(maxMiB) MiB", field: "file")
        case .exportFailed(let readingBack):
            AtriumError(status: .serviceUnavailable, code: "export_failed",
                        message: readingBack ? "the server could not read back the export" : "the server could not write a temporary file for the export")
        case .userNotFound(let email, let tenant):
            AtriumError(status: .notFound, code: "user_not_found", message: "no user \(email) in tenant \(tenant)", field: "email")
        }
    }

    /// One value of every case (add one with each new case): the tests check each code's
    /// status, uniqueness and locale entries.
    public static let examples: [TenancyError] = [
        .tenantRequired(baseDomain: "localhost"), .tenantMismatch(header: "a", host: "b"), .tenantNotFound("acme"), .tenantNotFound(nil),
        .tenantSuspended("acme"), .tenantActive(slug: "acme", status: "active"), .slugTaken("acme"),
        .deletionUnconfirmed(slug: "acme", how: "?confirm=acme"), .noAdministrator("acme"), .resellerNotFound("north"), .resellerNotFound(nil),
        .resellerTaken("north"), .resellerTenantQuota(reseller: "north", maxTenants: 2, tenants: 2),
        .resellerSeatQuota(reseller: "north", maxSeats: 8, used: 5, needs: 5), .resellerSeatQuota(reseller: "north", maxSeats: 8, used: 5, needs: nil),
        .adminUnauthenticated, .adminAPIDisabled, .adminTokenNotFound("x"), .operatorOnly(.placeWithReseller),
        .operatorOnly(.call("tenant.delete", reseller: "north")), .archiveTooLarge(maxMiB: 256), .exportFailed(readingBack: false),
        .exportFailed(readingBack: true), .userNotFound(email: "a@example.com", tenant: "acme"),
    ]
}

import Foundation
import Platform

/// The admin API's request and response bodies, defined once for both ends: ``AdminRoutes``
/// encodes and decodes them on the server, `atrium-admin` in remote mode on the client, so the
/// two cannot drift apart. Keys are snake_case on the wire; absent optional keys mean "not given".
public enum AdminWire {
    public struct WhoAmI: Codable, Sendable {
        public let tokenID: UUID
        public let name: String
        public let kind: AdminTokenStore.Kind
        public let reseller: ResellerDirectory.Reseller?
        enum CodingKeys: String, CodingKey { case tokenID = "token_id", name, kind, reseller }
    }

    public struct CreateTenant: Codable, Sendable {
        public let slug: String
        public let name: String
        public let adminEmail: String
        public let adminName: String?
        public let adminPassword: String?
        public let plan: String?
        public let locale: String?
        public let maxUsers: Int?
        /// Operator only: the reseller the tenant belongs to.
        public let reseller: String?
        enum CodingKeys: String, CodingKey {
            case slug, name, plan, locale, reseller
            case adminEmail = "admin_email", adminName = "admin_name", adminPassword = "admin_password", maxUsers = "max_users"
        }

        public init(slug: String, name: String, adminEmail: String, adminName: String?, adminPassword: String?, plan: String?, locale: String?,
                    maxUsers: Int?, reseller: String?) {
            (self.slug, self.name, self.adminEmail, self.adminName, self.adminPassword) = (slug, name, adminEmail, adminName, adminPassword)
            (self.plan, self.locale, self.maxUsers, self.reseller) = (plan, locale, maxUsers, reseller)
        }
    }

    public struct CreatedTenant: Codable, Sendable {
        public let tenant: TenantInfo
        public let adminEmail: String
        /// Only when it was generated: shown once.
        public let adminPassword: String?
        public let modules: [String]
        enum CodingKeys: String, CodingKey { case tenant, modules, adminEmail = "admin_email", adminPassword = "admin_password" }

        public init(tenant: TenantInfo, adminEmail: String, adminPassword: String?, modules: [String]) {
            (self.tenant, self.adminEmail, self.adminPassword, self.modules) = (tenant, adminEmail, adminPassword, modules)
        }
    }

    public struct TenantDetails: Codable, Sendable {
        public let tenant: TenantInfo
        public let usage: TenantUsage
        public let limits: TenantDirectory.Limits
        public let reseller: String?

        public init(tenant: TenantInfo, usage: TenantUsage, limits: TenantDirectory.Limits, reseller: String?) {
            (self.tenant, self.usage, self.limits, self.reseller) = (tenant, usage, limits, reseller)
        }
    }

    public struct Imported: Codable, Sendable {
        public let tenant: TenantInfo?
        public let rows: [String: Int]
    }

    public struct Deleted: Codable, Sendable {
        public let deleted: String
        public let rows: Int
        public let tables: [String: Int]
    }

    public struct ModuleChange: Codable, Sendable {
        public let enable: [String]?
        public let disable: [String]?
        public init(enable: [String], disable: [String]) { (self.enable, self.disable) = (enable, disable) }
    }

    public struct ModuleState: Codable, Sendable {
        public let id: String
        public let enabled: Bool
        public init(id: String, enabled: Bool) { (self.id, self.enabled) = (id, enabled) }
    }

    public struct Invite: Codable, Sendable {
        public let email: String
        public let name: String
        public let locale: String?
        public let admin: Bool?
        public let password: String?
        public init(email: String, name: String, locale: String?, admin: Bool?, password: String?) {
            (self.email, self.name, self.locale, self.admin, self.password) = (email, name, locale, admin, password)
        }
    }

    public struct Reset: Codable, Sendable {
        public let email: String
        public let password: String?
        public init(email: String, password: String?) { (self.email, self.password) = (email, password) }
    }

    /// `POST /resellers` (with slug and name) and `PUT /resellers/{slug}/quota` (quota only).
    /// The quota keys are always sent: `null` means unlimited.
    public struct Reseller: Codable, Sendable {
        public let slug: String?
        public let name: String?
        public let maxTenants: Int?
        public let maxSeats: Int?
        enum CodingKeys: String, CodingKey { case slug, name, maxTenants = "max_tenants", maxSeats = "max_seats" }

        public init(slug: String?, name: String?, maxTenants: Int?, maxSeats: Int?) {
            (self.slug, self.name, self.maxTenants, self.maxSeats) = (slug, name, maxTenants, maxSeats)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(slug, forKey: .slug)
            try container.encodeIfPresent(name, forKey: .name)
            try container.encode(maxTenants, forKey: .maxTenants)
            try container.encode(maxSeats, forKey: .maxSeats)
        }
    }
}

import ArgumentParser
import Foundation
import Platform
import Tenancy

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, show, suspend, resume and delete tenants.",
        subcommands: [Create.self, List.self, Show.self, Suspend.self, Resume.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Provision a tenant with its administrator and default modules, in one transaction.")

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Sub-domain name: lower-case letters, digits, inner hyphens.") var slug: String
        @Option(help: "Company name shown to users.") var name: String
        @Option(help: "Administrator's email (their login).") var adminEmail: String
        @Option(help: "Administrator's password (default: generate and print one).") var adminPassword: String?
        @Option(help: "Administrator's display name.") var adminName: String?
        @Option(help: "Plan: trial, basic, pro or enterprise.") var plan: String = "trial"
        @Option(help: "Administrator's UI language: zh-CN or en.") var locale: String = "zh-CN"
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let provisioner = TenantProvisioner(catalog: try connection.catalog(), hasher: try connection.hasher())
                let request = TenantProvisioner.Request(slug: slug, name: name, plan: plan, adminEmail: adminEmail,
                                                        adminName: adminName, adminPassword: adminPassword, locale: locale)
                _ = try provisioner.validate(request)  // bad input fails before touching the database
                let result = try await connection.withConnection { conn, logger in
                    try await provisioner.provision(request, actor: "atrium-admin", on: conn, logger: logger)
                }
                if json {
                    var output: [String: String] = ["id": result.tenant.id.uuidString, "slug": result.tenant.slug, "name": result.tenant.name,
                                                    "plan": result.tenant.plan, "admin_email": result.adminEmail,
                                                    "modules": result.modules.joined(separator: ",")]
                    if result.passwordWasGenerated { output["admin_password"] = result.adminPassword }
                    print(try Output.json(output))
                } else {
                    print("created tenant \(result.tenant.slug) (\(result.tenant.name)), plan \(result.tenant.plan), modules: \(result.modules.joined(separator: ", "))")
                    print("administrator: \(result.adminEmail)")
                    if result.passwordWasGenerated { print("password: \(result.adminPassword)   (shown once; stored only as an Argon2id hash)") }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let tenants = try await connection.withConnection { conn, logger in
                    try await TenantDirectory.list(on: conn, logger: logger)
                }
                if json {
                    print(try Output.json(tenants))
                } else {
                    print(Output.table(header: ["SLUG", "NAME", "STATUS", "PLAN", "ID"],
                                       rows: tenants.map { [$0.slug, $0.name, $0.status, $0.plan, $0.id.uuidString.lowercased()] }))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one tenant with its usage.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        @Flag(help: "Print JSON.") var json = false

        struct Details: Encodable {
            let tenant: TenantInfo
            let usage: TenantUsage
        }

        func run() async throws {
            try await AdminCommand.run {
                let details = try await connection.withConnection { conn, logger in
                    guard let tenant = try await TenantDirectory.find(slug: slug, on: conn, logger: logger) else {
                        throw AtriumError(status: .notFound, code: "tenant_not_found", message: "no tenant '\(slug)'")
                    }
                    return Details(tenant: tenant, usage: try await TenantUsage.read(tenantID: tenant.id, on: conn, logger: logger))
                }
                if json {
                    print(try Output.json(details))
                } else {
                    print(Output.table(header: nil, rows: [
                        ["slug", details.tenant.slug], ["name", details.tenant.name], ["status", details.tenant.status],
                        ["plan", details.tenant.plan], ["id", details.tenant.id.uuidString.lowercased()],
                        ["users", "\(details.usage.users)"], ["active sessions", "\(details.usage.activeSessions)"],
                        ["modules", details.usage.modules.joined(separator: ", ")],
                        ["last login", details.usage.lastLoginAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"],
                        ["records", details.usage.records.isEmpty ? "0" : details.usage.records.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")],
                        ["storage", "\(details.usage.storageBytes / 1024) KiB"],
                    ]))
                }
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a tenant: its users cannot sign in; data is kept.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        func run() async throws { try await setStatus(.suspended, slug: slug, connection: connection) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended tenant.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        func run() async throws { try await setStatus(.active, slug: slug, connection: connection) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a suspended tenant and every row it has in every table (irreversible).",
            discussion: "Two steps on purpose: `tenant suspend <slug>` first, then `tenant delete <slug> --confirm <slug>`.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        @Option(help: "The slug again, to confirm.") var confirm: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                guard confirm == slug else {
                    throw AtriumError(status: .badRequest, code: "confirm", message: "deleting '\(slug)' needs --confirm \(slug)", field: "confirm")
                }
                let removed = try await connection.withConnection { conn, logger in
                    try await TenantDirectory.delete(slug: slug, on: conn, logger: logger)
                }
                if json {
                    print(try Output.json(["deleted": slug, "rows": "\(removed.values.reduce(0, +))"]))
                } else {
                    print("deleted tenant \(slug): \(removed.values.reduce(0, +)) rows (" + removed.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                        .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
                }
            }
        }
    }

    static func setStatus(_ status: TenantStatus, slug: String, connection: ConnectionOptions) async throws {
        try await AdminCommand.run {
            let tenant = try await connection.withConnection { conn, logger in
                try await TenantDirectory.setStatus(status, slug: slug, actor: "atrium-admin", on: conn, logger: logger)
            }
            guard let tenant else { throw AtriumError(status: .notFound, code: "tenant_not_found", message: "no tenant '\(slug)'") }
            print("tenant \(tenant.slug) is now \(tenant.status)")
        }
    }
}

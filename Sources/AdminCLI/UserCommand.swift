import ArgumentParser
import Foundation
import Platform
import PostgresNIO
import Tenancy

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "List a tenant's users, invite (create) users, reset passwords and two-factor sign-in.",
        subcommands: [Create.self, ResetPassword.self, ResetTwoFactor.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user to a tenant (an invitation: a password is generated and printed once unless given).",
                                                        aliases: ["invite"])
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Email (the login).") var email: String
        @Option(help: "Display name.") var name: String
        @Option(help: "Password (default: generate and print one).") var password: String?
        @Option(help: "UI language: zh-CN or en.") var locale: String = "zh-CN"
        @Flag(help: "Make the user a tenant administrator.") var admin = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let invitation = TenantUsers.Invitation(email: email, name: name, password: password, locale: locale, isAdmin: admin)
                _ = try TenantUsers.validate(invitation)  // bad input fails before anything is sent or hashed
                let created: TenantUsers.Credentials
                if let client = try connection.remote() {
                    created = try await client.send("POST", "tenants/\(tenant)/users",
                                                    body: AdminWire.Invite(email: email, name: name, locale: locale, admin: admin, password: password),
                                                    as: TenantUsers.Credentials.self)
                } else {
                    let hasher = try connection.hasher()
                    created = try await connection.withConnection { conn, logger in
                        try await TenantUsers.invite(invitation, slug: tenant, hasher: hasher, actor: "atrium-admin", on: conn, logger: logger)
                    }
                }
                UserCommand.report(created, json: json, done: "created user \(created.email) in \(tenant)")
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password and end the user's sessions.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "The user's email.") var email: String
        @Option(help: "New password (default: generate and print one).") var password: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                if let password, let problem = PasswordPolicy.problem(with: password, email: email) { throw AtriumError.validation(field: "password", problem) }
                let reset: TenantUsers.Credentials
                if let client = try connection.remote() {
                    reset = try await client.send("POST", "tenants/\(tenant)/users/reset-password", body: AdminWire.Reset(email: email, password: password),
                                                  as: TenantUsers.Credentials.self)
                } else {
                    let hasher = try connection.hasher()
                    reset = try await connection.withConnection { conn, logger in
                        try await TenantUsers.resetPassword(email: email, password: password, slug: tenant, hasher: hasher, actor: "atrium-admin", on: conn, logger: logger)
                    }
                }
                UserCommand.report(reset, json: json, done: "password of \(reset.email) in \(tenant) reset; their sessions were ended")
            }
        }
    }

    /// For a tenant whose administrator lost the phone and the recovery codes; tenant
    /// administrators reset their users' from the users page or the API instead.
    struct ResetTwoFactor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-2fa",
            abstract: "Remove a user's two-factor sign-in (secret, recovery codes, remembered browsers) and end their sessions and API tokens.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "The user's email.") var email: String

        func run() async throws {
            try await AdminCommand.run {
                guard try connection.remote() == nil else {
                    throw AtriumError(status: .badRequest, code: "local_only",
                                      message: "reset-2fa runs with the owner's database connection (DATABASE_OWNER_URL), not through the admin API; "
                                          + "a tenant administrator can reset a user from the users page")
                }
                let (sessions, tokens) = try await connection.withConnection { conn, logger in
                    try await TenantUsers.resetTwoFactor(email: email, slug: tenant, actor: "atrium-admin", on: conn, logger: logger)
                }
                print("two-factor sign-in of \(email) in \(tenant) reset; \(sessions) sessions ended, \(tokens) API tokens revoked")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's users.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let members = try await connection.either(remote: { try await $0.send("GET", "tenants/\(tenant)/users", as: [TenantUsers.Member].self) },
                                                          local: { conn, logger in try await TenantUsers.list(slug: tenant, on: conn, logger: logger) })
                if json { print(try Output.json(members)); return }
                let iso = ISO8601DateFormatter()
                print(Output.table(header: ["EMAIL", "NAME", "ADMIN", "ACTIVE", "LAST LOGIN"], rows: members.map {
                    [$0.email, $0.name, $0.admin ? "yes" : "no", $0.active ? "yes" : "no", $0.lastLoginAt.map(iso.string(from:)) ?? "never"]
                }))
            }
        }
    }

    static func report(_ credentials: TenantUsers.Credentials, json: Bool, done: String) {
        if json {
            print((try? Output.json(credentials)) ?? "{}")
            return
        }
        print(done)
        if let password = credentials.password { print("password: \(password)   (shown once)") }
    }
}

import ArgumentParser
import Foundation
import Platform
import PostgresNIO
import Tenancy

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Create users and reset passwords.",
        subcommands: [Create.self, ResetPassword.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user to a tenant.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Email (the login).") var email: String
        @Option(help: "Display name.") var name: String
        @Option(help: "Password (default: generate and print one).") var password: String?
        @Option(help: "UI language: zh-CN or en.") var locale: String = "zh-CN"
        @Flag(help: "Make the user a tenant administrator.") var admin = false

        func run() async throws {
            try await AdminCommand.run {
                guard let address = UserInputRules.normalisedEmail(email) else {
                    throw AtriumError.validation(field: "email", "'\(email)' is not an email address")
                }
                if let problem = UserInputRules.displayNameProblem(name) { throw AtriumError.validation(field: "name", problem) }
                guard Localizer.supported.contains(locale) else { throw AtriumError.validation(field: "locale", "must be zh-CN or en") }
                if let password, let problem = PasswordPolicy.problem(with: password) { throw AtriumError.validation(field: "password", problem) }
                let secret = password ?? SecureToken.readablePassword()
                let hash = try await connection.hasher().hashOffLoop(secret)
                let displayName = name.trimmingCharacters(in: .whitespacesAndNewlines)
                let (locale, admin, slug) = (self.locale, self.admin, self.tenant)
                try await connection.withConnection { conn, logger in
                    let tenant = try await UserCommand.tenant(slug, on: conn, logger: logger)
                    try await conn.inTenantTransaction(tenant.id, logger: logger) { conn in
                        let id = try await UserStore.create(.init(email: address, displayName: displayName, locale: locale, passwordHash: hash, isAdmin: admin),
                                                            tenantID: tenant.id, on: conn, logger: logger)
                        try await AuditLog.record(.init(action: "user.created", actor: .system("atrium-admin"), entity: "user", recordID: id.uuidString,
                                                        details: ["email": address, "admin": "\(admin)"]),
                                                  tenantID: tenant.id, on: conn, logger: logger)
                    }
                }
                print("created user \(address) in \(slug)")
                if password == nil { print("password: \(secret)   (shown once)") }
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password and end the user's sessions.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "The user's email.") var email: String
        @Option(help: "New password (default: generate and print one).") var password: String?

        func run() async throws {
            try await AdminCommand.run {
                guard let address = UserInputRules.normalisedEmail(email) else {
                    throw AtriumError.validation(field: "email", "'\(email)' is not an email address")
                }
                if let password, let problem = PasswordPolicy.problem(with: password) { throw AtriumError.validation(field: "password", problem) }
                let secret = password ?? SecureToken.readablePassword()
                let hash = try await connection.hasher().hashOffLoop(secret)
                let slug = self.tenant
                try await connection.withConnection { conn, logger in
                    let tenant = try await UserCommand.tenant(slug, on: conn, logger: logger)
                    try await conn.inTenantTransaction(tenant.id, logger: logger) { conn in
                        guard let id = try await UserStore.setPasswordHash(hash, email: address, on: conn, logger: logger) else {
                            throw AtriumError(status: .notFound, code: "user_not_found", message: "no user \(address) in tenant \(slug)")
                        }
                        try await AuditLog.record(.init(action: "user.password_reset", actor: .system("atrium-admin"), entity: "user", recordID: id.uuidString),
                                                  tenantID: tenant.id, on: conn, logger: logger)
                    }
                }
                print("password of \(address) in \(slug) reset; their sessions were ended")
                if password == nil { print("password: \(secret)   (shown once)") }
            }
        }
    }

    static func tenant(_ slug: String, on connection: PostgresConnection, logger: Logger) async throws -> TenantInfo {
        guard let tenant = try await TenantDirectory.find(slug: slug, on: connection, logger: logger) else {
            throw AtriumError(status: .notFound, code: "tenant_not_found", message: "no tenant '\(slug)'")
        }
        return tenant
    }
}

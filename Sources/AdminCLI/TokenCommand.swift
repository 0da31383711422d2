import ArgumentParser
import Foundation
import Platform
import Tenancy

/// Admin API tokens: created, listed and revoked only on the box, as the schema owner —
/// no token can mint another.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke admin API tokens (operator or reseller); local only.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin token; the secret is printed once and stored only as a SHA-256.",
            discussion: "atrium-admin token create --operator NAME  |  atrium-admin token create --reseller SLUG NAME")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "An operator token: every tenant, every reseller.") var `operator` = false
        @Option(help: "A reseller token, limited to this reseller's tenants and quota.") var reseller: String?
        @Argument(help: "A name to recognise the token by (who or what uses it).") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                try connection.requireLocal("token create")
                guard `operator` != (reseller != nil) else {
                    throw AtriumError.validation(field: "kind", "give exactly one of --operator or --reseller SLUG")
                }
                let (secret, token) = try await connection.withConnection { conn, logger in
                    try await AdminTokenStore.create(kind: `operator` ? .operator : .reseller, name: name, resellerSlug: reseller, on: conn, logger: logger)
                }
                if json {
                    struct Created: Encodable { let token: AdminTokenStore.Token; let secret: String }
                    print(try Output.json(Created(token: token, secret: secret)))
                } else {
                    print("created \(token.kind.rawValue) token \(token.name) (id \(token.id.uuidString.lowercased()))" + (token.reseller.map { " for reseller \($0)" } ?? ""))
                    print("token: \(secret)   (shown once; stored only as a SHA-256)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List admin tokens (never their secrets).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include revoked tokens.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                try connection.requireLocal("token list")
                let tokens = try await connection.withConnection { conn, logger in
                    try await AdminTokenStore.list(includeRevoked: all, on: conn, logger: logger)
                }
                if json { print(try Output.json(tokens)); return }
                let iso = ISO8601DateFormatter()
                print(Output.table(header: ["ID", "KIND", "RESELLER", "NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"], rows: tokens.map {
                    [$0.id.uuidString.lowercased(), $0.kind.rawValue, $0.reseller ?? "-", $0.name, $0.prefix + "…", iso.string(from: $0.createdAt),
                     $0.lastUsedAt.map(iso.string(from:)) ?? "never", $0.revokedAt.map(iso.string(from:)) ?? "-"]
                }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an admin token at once (its next call is refused).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id (from token list).") var id: String

        func run() async throws {
            try await AdminCommand.run {
                try connection.requireLocal("token revoke")
                guard let uuid = UUID(uuidString: id) else { throw AtriumError.validation(field: "id", "'\(id)' is not a token id") }
                let revoked = try await connection.withConnection { conn, logger in
                    try await AdminTokenStore.revoke(id: uuid, on: conn, logger: logger)
                }
                guard revoked else { throw TenancyError.adminTokenNotFound(id) }
                print("revoked admin token \(id.lowercased())")
            }
        }
    }
}

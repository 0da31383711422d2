import ArgumentParser
import Foundation
import Platform
import Tenancy

/// Resellers and their quotas (operator only): locally as the schema owner, or through the
/// admin API with an operator token.
struct ResellerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reseller",
        abstract: "Create and list resellers, and set their quotas of tenants and seats (operator only).",
        discussion: "Seats are the sum of max users over a reseller's tenants; creating or importing a tenant beyond either quota is refused.",
        subcommands: [Create.self, List.self, Show.self, Quota.self]
    )

    typealias Reseller = ResellerDirectory.Reseller

    static func print(_ resellers: [Reseller], json: Bool) throws {
        if json { Swift.print(try Output.json(resellers)); return }
        Swift.print(Output.table(header: ["SLUG", "NAME", "TENANTS", "MAX TENANTS", "SEATS", "MAX SEATS"], rows: resellers.map {
            [$0.slug, $0.name, "\($0.tenants)", $0.maxTenants.map(String.init) ?? "unlimited", "\($0.seats)", $0.maxSeats.map(String.init) ?? "unlimited"]
        }))
    }

    /// `--max-tenants 5`, or `none` for unlimited.
    static func quota(_ text: String?, _ name: String) throws -> Int? {
        guard let text, text != "none" else { return nil }
        guard let value = Int(text), value >= 0 else { throw AtriumError.validation(field: name, "must be a number (0 or more) or none, got '\(text)'") }
        return value
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a reseller.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Reseller slug (used in tokens and listings).") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "Most tenants, or none (default).") var maxTenants: String?
        @Option(help: "Most seats (sum of max users over its tenants), or none (default).") var maxSeats: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let (tenants, seats) = (try quota(maxTenants, "max-tenants"), try quota(maxSeats, "max-seats"))
                let reseller = try await connection.either(remote: {
                    try await $0.send("POST", "resellers", body: AdminWire.Reseller(slug: slug, name: name, maxTenants: tenants, maxSeats: seats), as: Reseller.self)
                }, local: { conn, logger in
                    try await ResellerDirectory.create(slug: slug, name: name, maxTenants: tenants, maxSeats: seats, on: conn, logger: logger)
                })
                try ResellerCommand.print([reseller], json: json)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List resellers with their usage and quotas.")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let resellers = try await connection.either(remote: { try await $0.send("GET", "resellers", as: [Reseller].self) },
                                                            local: { conn, logger in try await ResellerDirectory.list(on: conn, logger: logger) })
                try ResellerCommand.print(resellers, json: json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one reseller's usage and quota.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Reseller slug.") var slug: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let reseller = try await connection.either(remote: { try await $0.send("GET", "resellers/\(slug)", as: Reseller.self) },
                                                           local: { conn, logger in try await ResellerDirectory.require(slug: slug, on: conn, logger: logger) })
                try ResellerCommand.print([reseller], json: json)
            }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a reseller's quota (both values; none = unlimited). Nothing is taken away when lowered.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Reseller slug.") var slug: String
        @Option(help: "Most tenants, or none.") var maxTenants: String
        @Option(help: "Most seats, or none.") var maxSeats: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let (tenants, seats) = (try quota(maxTenants, "max-tenants"), try quota(maxSeats, "max-seats"))
                let reseller = try await connection.either(remote: {
                    try await $0.send("PUT", "resellers/\(slug)/quota", body: AdminWire.Reseller(slug: nil, name: nil, maxTenants: tenants, maxSeats: seats),
                                      as: Reseller.self)
                }, local: { conn, logger in
                    try await ResellerDirectory.setQuota(slug: slug, maxTenants: tenants, maxSeats: seats, on: conn, logger: logger)
                })
                try ResellerCommand.print([reseller], json: json)
            }
        }
    }
}

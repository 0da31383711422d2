import ArgumentParser
import Foundation
import Tenancy

/// The saved login of `atrium-admin login`: `$XDG_CONFIG_HOME/atrium/admin.json`
/// (default `~/.config/atrium/admin.json`), mode 0600 — it holds a bearer token.
struct AdminProfile: Codable {
    var url: String
    var token: String

    static func path(environment: [String: String]) -> URL {
        let base: URL
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg)
        } else {
            base = URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        }
        return base.appendingPathComponent("atrium").appendingPathComponent("admin.json")
    }

    static func load(environment: [String: String]) throws -> AdminProfile? {
        let file = path(environment: environment)
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        guard let profile = try? JSONDecoder().decode(AdminProfile.self, from: data) else {
            throw AdminClient.Failure(description: "\(file.path) is not a profile written by `atrium-admin login`; run it again", status: nil)
        }
        return profile
    }

    func save(environment: [String: String]) throws -> URL {
        let file = Self.path(environment: environment)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Written to a private temporary file and renamed, so the token is never readable by others.
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".admin.json.\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw AdminClient.Failure(description: "cannot write \(file.path)", status: nil)
        }
        _ = try? FileManager.default.removeItem(at: file)
        try FileManager.default.moveItem(at: temporary, to: file)
        return file
    }
}

extension ConnectionOptions {
    /// The admin API client when this run is remote, nil when it works on the database.
    ///
    /// Remote when `--url` is given, else when `$ATRIUM_ADMIN_URL` is set; local when
    /// `--database-url` or `$DATABASE_OWNER_URL` is given; otherwise the login profile, if any.
    /// The token comes from `--token`, `$ATRIUM_ADMIN_TOKEN` or the profile.
    func remote() throws -> AdminClient? {
        let env = environment
        let envURL = env["ATRIUM_ADMIN_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let envToken = env["ATRIUM_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let chosenURL: String
        if let url {
            chosenURL = url
        } else if databaseURL != nil {
            return nil
        } else if let envURL {
            chosenURL = envURL
        } else if let owner = env["DATABASE_OWNER_URL"], !owner.isEmpty {
            return nil
        } else if let profile = try AdminProfile.load(environment: env) {
            return try AdminClient(url: profile.url, token: token ?? envToken ?? profile.token)
        } else {
            return nil
        }
        let profile = try? AdminProfile.load(environment: env)
        let profileToken = profile.flatMap { $0.url == chosenURL ? $0.token : nil }
        guard let secret = token ?? envToken ?? profileToken else {
            throw AdminClient.Failure(description: "no admin token for \(chosenURL): give --token, set ATRIUM_ADMIN_TOKEN or run `atrium-admin login`", status: nil)
        }
        return try AdminClient(url: chosenURL, token: secret)
    }

    /// For commands that only work on the database (migrations, tokens, limits …).
    func requireLocal(_ command: String) throws {
        if url != nil {
            throw AdminClient.Failure(description: "`\(command)` works on the database only (as the schema owner): drop --url and give --database-url or DATABASE_OWNER_URL", status: nil)
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an admin token against a server and save both as the default profile.",
        discussion: "Writes $XDG_CONFIG_HOME/atrium/admin.json (default ~/.config/atrium/admin.json), mode 0600. Later commands use it when neither --url, ATRIUM_ADMIN_URL, --database-url nor DATABASE_OWNER_URL is given.")
    @Option(help: "Admin API base URL, e.g. https://crm.example.com.") var url: String
    @Option(help: "Admin token (default: $ATRIUM_ADMIN_TOKEN).") var token: String?

    func run() async throws {
        try await AdminCommand.run {
            let env = ProcessInfo.processInfo.environment
            guard let secret = token ?? env["ATRIUM_ADMIN_TOKEN"], !secret.isEmpty else {
                throw AdminClient.Failure(description: "give --token or set ATRIUM_ADMIN_TOKEN", status: nil)
            }
            let client = try AdminClient(url: url, token: secret)
            let me = try await client.send("GET", "whoami", as: AdminWire.WhoAmI.self)
            let file = try AdminProfile(url: client.baseURL.absoluteString, token: secret).save(environment: env)
            print("logged in to \(client.baseURL.absoluteString) as \(me.description); profile saved to \(file.path)")
        }
    }
}

extension AdminWire.WhoAmI: CustomStringConvertible {
    public var description: String {
        if let reseller {
            return "reseller \(reseller.slug) (token '\(name)'): \(reseller.tenants) of \(reseller.maxTenants.map(String.init) ?? "unlimited") tenants, "
                + "\(reseller.seats) of \(reseller.maxSeats.map(String.init) ?? "unlimited") seats"
        }
        return "operator (token '\(name)')"
    }
}

struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show which admin token the remote commands use, and its quota.")
    @OptionGroup var connection: ConnectionOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await AdminCommand.run {
            guard let client = try connection.remote() else {
                throw AdminClient.Failure(description: "no admin API configured: give --url or run `atrium-admin login`", status: nil)
            }
            let me = try await client.send("GET", "whoami", as: AdminWire.WhoAmI.self)
            print(json ? try Output.json(me) : "\(me.description) at \(client.baseURL.absoluteString)")
        }
    }
}

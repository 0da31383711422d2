import ArgumentParser
import Foundation
import Platform
import Tenancy

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, show, suspend, resume, delete, export and import tenants.",
        subcommands: [Create.self, List.self, Show.self, Suspend.self, Resume.self, Delete.self, Export.self, Import.self, Limits.self, Modules.self, ExpireTrials.self]
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
        @Option(help: "Most active users instead of the plan's default (counts against a reseller's seats).") var maxUsers: Int?
        @Option(help: "Place the tenant with this reseller (operator only; its quota applies).") var reseller: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let created: AdminWire.CreatedTenant
                if let client = try connection.remote() {
                    created = try await client.send("POST", "tenants", body: AdminWire.CreateTenant(slug: slug, name: name, adminEmail: adminEmail, adminName: adminName,
                                                                                                   adminPassword: adminPassword, plan: plan, locale: locale,
                                                                                                   maxUsers: maxUsers, reseller: reseller),
                                                    as: AdminWire.CreatedTenant.self)
                } else {
                    let provisioner = TenantProvisioner(catalog: try connection.catalog(), hasher: try connection.hasher())
                    var request = TenantProvisioner.Request(slug: slug, name: name, plan: plan, adminEmail: adminEmail,
                                                            adminName: adminName, adminPassword: adminPassword, locale: locale, maxUsers: maxUsers)
                    _ = try provisioner.validate(request)  // bad input fails before touching the database
                    let result = try await connection.withConnection { conn, logger in
                        if let reseller { request.resellerID = try await ResellerDirectory.require(slug: reseller, on: conn, logger: logger).id }
                        return try await provisioner.provision(request, actor: "atrium-admin", on: conn, logger: logger)
                    }
                    created = AdminWire.CreatedTenant(tenant: result.tenant, adminEmail: result.adminEmail,
                                      adminPassword: result.passwordWasGenerated ? result.adminPassword : nil, modules: result.modules)
                }
                if json {
                    var output: [String: String] = ["id": created.tenant.id.uuidString, "slug": created.tenant.slug, "name": created.tenant.name,
                                                    "plan": created.tenant.plan, "admin_email": created.adminEmail,
                                                    "modules": created.modules.joined(separator: ",")]
                    if let password = created.adminPassword { output["admin_password"] = password }
                    print(try Output.json(output))
                } else {
                    print("created tenant \(created.tenant.slug) (\(created.tenant.name)), plan \(created.tenant.plan), modules: \(created.modules.joined(separator: ", "))")
                    print("administrator: \(created.adminEmail)")
                    if let password = created.adminPassword { print("password: \(password)   (shown once; stored only as an Argon2id hash)") }
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
                let tenants = try await connection.either(remote: { try await $0.send("GET", "tenants", as: [TenantInfo].self) },
                                                          local: { conn, logger in try await TenantDirectory.list(on: conn, logger: logger) })
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

        func run() async throws {
            try await AdminCommand.run {
                let details = try await connection.either(remote: { try await $0.send("GET", "tenants/\(slug)", as: AdminWire.TenantDetails.self) },
                                                          local: { conn, logger in
                        guard let (tenant, resellerID) = try await TenantDirectory.findWithReseller(slug: slug, on: conn, logger: logger) else {
                            throw TenancyError.tenantNotFound(slug)
                        }
                        var reseller: String?
                        if let resellerID { reseller = try await ResellerDirectory.find(id: resellerID, on: conn, logger: logger)?.slug }
                        return AdminWire.TenantDetails(tenant: tenant, usage: try await TenantUsage.read(tenantID: tenant.id, on: conn, logger: logger),
                                                       limits: try await TenantDirectory.limits(slug: slug, on: conn, logger: logger), reseller: reseller)
                })
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
                        ["files", "\(details.usage.attachments) attached, \(details.usage.fileBytes / 1024) KiB stored"],
                        ["max users", details.limits.maxUsers.map(String.init) ?? "unlimited"],
                        ["max records", details.limits.maxRecords.map(String.init) ?? "unlimited"],
                        ["max storage", details.limits.maxStorageMB.map { "\($0) MiB" } ?? "unlimited"],
                        ["trial ends", details.limits.trialEndsAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"],
                        ["reseller", details.reseller ?? "-"],
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
                    throw TenancyError.deletionUnconfirmed(slug: slug, how: "--confirm \(slug)")
                }
                let removed = try await connection.either(remote: {
                    try await $0.send("DELETE", "tenants/\(slug)", query: ["confirm": slug], as: AdminWire.Deleted.self).tables
                }, local: { conn, logger in
                    try await TenantDirectory.delete(slug: slug, on: conn, logger: logger)
                })
                if json {
                    print(try Output.json(["deleted": slug, "rows": "\(removed.values.reduce(0, +))"]))
                } else {
                    print("deleted tenant \(slug): \(removed.values.reduce(0, +)) rows (" + removed.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                        .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a tenant to one archive file (JSON lines) that `tenant import` restores.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        @Option(name: .shortAndLong, help: "Archive file to write.") var output: String
        @Flag(help: "Include password hashes (otherwise imported users need a password reset).") var withPasswordHashes = false

        func run() async throws {
            try await AdminCommand.run {
                if let client = try connection.remote() {
                    let progress = ProgressLine("exporting \(slug):")
                    let bytes = try await client.download("tenants/\(slug)/export", query: withPasswordHashes ? ["password_hashes": "true"] : [:],
                                                          to: URL(fileURLWithPath: output)) { done, total in progress.update(done, total) }
                    progress.finish()
                    print("exported tenant \(slug) to \(output): \(bytes) bytes" + (withPasswordHashes ? " (with password hashes: keep the file secret)" : " (without password hashes)"))
                    return
                }
                guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let handle = FileHandle(forWritingAtPath: output) else {
                    throw AtriumError.validation(field: "output", "cannot be written: \(output)")
                }
                let box = ProgressWriter(handle: handle)
                let counts = try await connection.withConnection { conn, logger in
                    try await TenantArchive.export(slug: slug, includePasswordHashes: withPasswordHashes, files: AdminCommand.fileStore(), on: conn, logger: logger) { line in
                        try box.write(line)
                    }
                }
                try handle.close()
                FileHandle.standardError.write(Data("\n".utf8))
                print("exported tenant \(slug) to \(output): \(counts.values.reduce(0, +)) rows in \(counts.count) tables"
                      + (withPasswordHashes ? " (with password hashes: keep the file secret)" : " (without password hashes)"))
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a tenant archive under a new (or its own) slug, in one transaction.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Archive file written by `tenant export`.") var file: String
        @Option(help: "Slug of the restored tenant.") var slug: String
        @Option(help: "Company name (default: the archive's).") var name: String?

        func run() async throws {
            try await AdminCommand.run {
                if let client = try connection.remote() {
                    guard FileManager.default.isReadableFile(atPath: file) else { throw AtriumError.validation(field: "file", "cannot be read: \(file)") }
                    let progress = ProgressLine("importing \(slug):")
                    let imported = try await client.upload("tenants/import", query: ["slug": slug].merging(name.map { ["name": $0] } ?? [:]) { $1 },
                                                           file: URL(fileURLWithPath: file), as: AdminWire.Imported.self) { done, total in progress.update(done, total) }
                    progress.finish()
                    print("imported tenant \(slug): \(imported.rows.values.reduce(0, +)) rows in \(imported.rows.count) tables")
                    return
                }
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw AtriumError.validation(field: "file", "cannot be read as UTF-8 text: \(file)")
                }
                let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                let counts = try await connection.withConnection { conn, logger in
                    try await TenantArchive.restore(lines: lines, slug: slug, name: name, files: AdminCommand.fileStore(), on: conn, logger: logger)
                }
                print("imported tenant \(slug): \(counts.values.reduce(0, +)) rows in \(counts.count) tables")
            }
        }
    }

    /// Writes archive lines and shows progress (rows written) on standard error.
    final class ProgressWriter: @unchecked Sendable {
        let handle: FileHandle
        var lines = 0
        init(handle: FileHandle) { self.handle = handle }
        func write(_ line: String) throws {
            try handle.write(contentsOf: Data((line + "\n").utf8))
            lines += 1
            FileHandle.standardError.write(Data("\rexporting … \(lines) batches".utf8))
        }
    }

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or change a tenant's user, record and file-storage limits and trial end ('none' lifts one).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        @Option(help: "Most active users, or none.") var maxUsers: String?
        @Option(help: "Most live records, or none.") var maxRecords: String?
        @Option(help: "Trial end as YYYY-MM-DD (UTC midnight), or none.") var trialEnds: String?
        @Option(help: "Most MiB of attachments, or none.") var maxStorageMb: String?

        static func number(_ text: String?, _ name: String, current: Int?) throws -> Int? {
            guard let text else { return current }
            if text == "none" { return nil }
            guard let value = Int(text), value > 0 else { throw AtriumError.validation(field: name, "must be a positive number or none, got '\(text)'") }
            return value
        }

        func run() async throws {
            try await AdminCommand.run {
                try connection.requireLocal("tenant limits")
                let limits = try await connection.withConnection { conn, logger in
                    var limits = try await TenantDirectory.limits(slug: slug, on: conn, logger: logger)
                    if maxUsers != nil || maxRecords != nil || trialEnds != nil || maxStorageMb != nil {
                        limits.maxUsers = try Self.number(maxUsers, "max-users", current: limits.maxUsers)
                        limits.maxStorageMB = try Self.number(maxStorageMb, "max-storage-mb", current: limits.maxStorageMB)
                        limits.maxRecords = try Self.number(maxRecords, "max-records", current: limits.maxRecords)
                        if let trialEnds {
                            if trialEnds == "none" { limits.trialEndsAt = nil } else {
                                guard let date = ISO8601DateFormatter().date(from: trialEnds + "T00:00:00Z") else {
                                    throw AtriumError.validation(field: "trial-ends", "must be a date like 2026-12-31 or none")
                                }
                                limits.trialEndsAt = date
                            }
                        }
                        try await TenantDirectory.setLimits(limits, slug: slug, actor: "atrium-admin", on: conn, logger: logger)
                    }
                    return limits
                }
                print(Output.table(header: nil, rows: [
                    ["max users", limits.maxUsers.map(String.init) ?? "unlimited"],
                    ["max records", limits.maxRecords.map(String.init) ?? "unlimited"],
                    ["max storage", limits.maxStorageMB.map { "\($0) MiB" } ?? "unlimited"],
                    ["trial ends", limits.trialEndsAt.map { ISO8601DateFormatter().string(from: $0) } ?? "—"],
                ]))
            }
        }
    }

    struct Modules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant's modules, or enable / disable some (data is kept when disabled).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant slug.") var slug: String
        @Option(help: "Module to switch on (repeatable).") var enable: [String] = []
        @Option(help: "Module to switch off (repeatable).") var disable: [String] = []
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await AdminCommand.run {
                let states: [AdminWire.ModuleState]
                if let client = try connection.remote() {
                    states = enable.isEmpty && disable.isEmpty
                        ? try await client.send("GET", "tenants/\(slug)/modules", as: [AdminWire.ModuleState].self)
                        : try await client.send("POST", "tenants/\(slug)/modules", body: AdminWire.ModuleChange(enable: enable, disable: disable),
                                                as: [AdminWire.ModuleState].self)
                } else {
                    let catalog = try connection.catalog()
                    let enabled = try await connection.withConnection { conn, logger in
                        try await TenantModuleSwitch.change(slug: slug, enable: enable, disable: disable, catalog: catalog,
                                                            actor: "atrium-admin", on: conn, logger: logger)
                    }
                    states = catalog.entries.map { AdminWire.ModuleState(id: $0.id, enabled: enabled.contains($0.id)) }
                }
                if json { print(try Output.json(states)); return }
                print(Output.table(header: ["module", "enabled"], rows: states.map { [$0.id, $0.enabled ? "yes" : "no"] }))
            }
        }
    }

    struct ExpireTrials: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "expire-trials",
                                                        abstract: "Suspend every tenant whose trial has ended (run daily; data is kept).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminCommand.run {
                try connection.requireLocal("tenant expire-trials")
                let expired = try await connection.withConnection { conn, logger in
                    try await TenantDirectory.expireTrials(actor: "atrium-admin expire-trials", on: conn, logger: logger)
                }
                print(expired.isEmpty ? "no trial has ended" : "suspended \(expired.count): \(expired.joined(separator: ", "))")
            }
        }
    }

    static func setStatus(_ status: TenantStatus, slug: String, connection: ConnectionOptions) async throws {
        try await AdminCommand.run {
            let tenant: TenantInfo?
            if let client = try connection.remote() {
                tenant = try await client.send("POST", "tenants/\(slug)/\(status == .suspended ? "suspend" : "resume")", as: TenantInfo.self)
            } else {
                tenant = try await connection.withConnection { conn, logger in
                    try await TenantDirectory.setStatus(status, slug: slug, actor: "atrium-admin", on: conn, logger: logger)
                }
            }
            guard let tenant else { throw TenancyError.tenantNotFound(slug) }
            print("tenant \(tenant.slug) is now \(tenant.status)")
        }
    }
}

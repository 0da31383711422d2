import Foundation
import Logging

/// Everything the host reads from its environment, parsed once at start-up.
///
/// ```swift
/// let config = try AtriumConfiguration(environment: ProcessInfo.processInfo.environment)
/// ```
/// The README's "Configuration" table lists every variable; keep the two in step.
public struct AtriumConfiguration: Sendable {
    /// Address the HTTP server binds to.
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Connection for request work: the application role (no superuser, no BYPASSRLS, owns no table).
    public var databaseURL: DatabaseURL
    /// Connection of the schema owner, used for migrations. Optional for the server.
    public var ownerDatabaseURL: DatabaseURL?
    /// Run pending migrations at server start (needs `ownerDatabaseURL`).
    public var migrateOnStart: Bool = false
    public var databasePoolSize: Int = 20
    /// Opening one database connection gives up after this long.
    public var databaseConnectTimeout: Duration = .seconds(3)
    /// A request waits at most this long for a pooled connection, then answers 503.
    public var databaseAcquireTimeout: Duration = .seconds(5)
    /// Request-rate limits on API-token calls.
    public var apiRateLimits = RateLimitMiddleware.Policy()
    /// Host suffix under which `<slug>.<baseDomain>` names a tenant.
    public var baseDomain: String = "localhost"
    /// Tenant served on the bare base domain (development convenience; unset in production).
    public var defaultTenant: String?
    /// Reverse proxies whose `X-Forwarded-For` names the client (e.g. nginx on 127.0.0.1).
    public var trustedProxies: Set<String> = []
    /// Adds `Secure` to cookies; set when the host is served over TLS.
    public var secureCookies: Bool = false
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    public var passwordHashing: PasswordHasher = .init()
    public var loginThrottle: LoginThrottle.Policy = .init()
    /// Encrypts two-factor secrets at rest (`ATRIUM_SECRET_KEY`: 64 hex digits, 32 bytes); without
    /// it they are stored as text (see ``TwoFactorSecretBox``). Keep it out of backups.
    public var secretKey: [UInt8]?
    /// Path of the instance's module catalog.
    public var pluginsFile: String = "plugins.json"
    /// Root of the local file store (attachments), one folder per tenant below it.
    public var filesDirectory: String = Self.defaultFilesDirectory
    public static let defaultFilesDirectory = "./var/files"
    /// Largest accepted upload, in bytes (`ATRIUM_MAX_UPLOAD_MB`).
    public var maxUploadBytes: Int = 20 * 1024 * 1024
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .text
    /// The mail relay (`ATRIUM_SMTP_URL`); nil: e-mail notifications are recorded as failed
    /// with "no mail relay" instead of sent.
    public var smtpRelay: SMTPRelay?
    /// The envelope sender and default From address (`ATRIUM_MAIL_FROM`).
    public var mailFrom = "atrium@localhost"
    /// Where text messages go (`ATRIUM_SMS_PROVIDER`: `http` with `ATRIUM_SMS_URL` and
    /// `ATRIUM_SMS_TOKEN`, or `log`); nil: SMS deliveries are recorded as failed.
    public var smsProvider: SMSProviderSetting?
    /// The signature every text message starts with (`ATRIUM_SMS_SIGN`, e.g. 【某某科技】).
    public var smsSignature = ""

    public enum SMSProviderSetting: Sendable, Equatable {
        case log
        case http(url: String, token: String?)
    }

    /// How links in e-mails start (`ATRIUM_PUBLIC_URL`); `{tenant}` is replaced by the tenant's
    /// slug, e.g. `https://{tenant}.crm.example.com`.
    public var publicURL = "http://localhost:8080"
    /// Run the outbox worker in this server (`ATRIUM_OUTBOX_WORKER`); every node may.
    public var outboxWorker = true
    public var outboxPollInterval: Duration = .seconds(1)
    /// Run the scheduler (periodic jobs: reminders…) in this server (`ATRIUM_SCHEDULER`); every
    /// node may, a due job runs on one.
    public var scheduler = true
    /// Let webhooks call loopback and private addresses (`ATRIUM_WEBHOOK_ALLOW_PRIVATE`): on for a
    /// private deployment whose ERP is on the LAN, off for a hosted service.
    public var webhookAllowPrivateAddresses = false
    /// Failed webhook attempts in a row that turn an endpoint off (`ATRIUM_WEBHOOK_DISABLE_AFTER`).
    public var webhookDisableAfter = 15

    public enum LogFormat: String, Sendable { case text, json }

    public init(databaseURL: DatabaseURL) {
        self.databaseURL = databaseURL
    }

    /// Reads the documented `ATRIUM_*` and `DATABASE_*` variables; a malformed value is an error naming it.
    public init(environment env: [String: String]) throws {
        guard let url = env["DATABASE_URL"], !url.isEmpty else {
            throw ConfigurationError(variable: "DATABASE_URL", message: "is not set (postgres://user:password@host:port/database)")
        }
        self.init(databaseURL: try DatabaseURL(parsing: url, variable: "DATABASE_URL"))
        if let owner = env["DATABASE_OWNER_URL"], !owner.isEmpty {
            ownerDatabaseURL = try DatabaseURL(parsing: owner, variable: "DATABASE_OWNER_URL")
        }
        let reader = EnvironmentReader(env: env)
        host = reader.string("ATRIUM_HOST") ?? host
        port = try reader.int("ATRIUM_PORT", range: 0...65535) ?? port
        migrateOnStart = try reader.bool("ATRIUM_MIGRATE_ON_START") ?? migrateOnStart
        if migrateOnStart && ownerDatabaseURL == nil {
            throw ConfigurationError(variable: "ATRIUM_MIGRATE_ON_START", message: "needs DATABASE_OWNER_URL (migrations run as the schema owner)")
        }
        databasePoolSize = try reader.int("ATRIUM_DB_POOL_SIZE", range: 1...500) ?? databasePoolSize
        databaseConnectTimeout = try reader.int("ATRIUM_DB_CONNECT_TIMEOUT_SECONDS", range: 1...120).map { .seconds($0) } ?? databaseConnectTimeout
        databaseAcquireTimeout = try reader.int("ATRIUM_DB_ACQUIRE_TIMEOUT_SECONDS", range: 1...300).map { .seconds($0) } ?? databaseAcquireTimeout
        apiRateLimits.enabled = try reader.bool("ATRIUM_API_RATE_LIMITS") ?? apiRateLimits.enabled
        apiRateLimits.perToken = try reader.int("ATRIUM_API_RATE_PER_TOKEN", range: 1...100_000) ?? apiRateLimits.perToken
        apiRateLimits.perTenant = try reader.int("ATRIUM_API_RATE_PER_TENANT", range: 1...1_000_000) ?? apiRateLimits.perTenant
        baseDomain = reader.string("ATRIUM_BASE_DOMAIN")?.lowercased() ?? baseDomain
        defaultTenant = reader.string("ATRIUM_DEFAULT_TENANT")
        if let proxies = reader.string("ATRIUM_TRUSTED_PROXIES") {
            let list = proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let bad = list.first(where: { !ClientAddress.isAddress($0) }) {
                throw ConfigurationError(variable: "ATRIUM_TRUSTED_PROXIES", message: "'\(bad)' is not an IP address (list addresses, comma-separated, e.g. 127.0.0.1,::1)")
            }
            trustedProxies = Set(list)
        }
        secureCookies = try reader.bool("ATRIUM_SECURE_COOKIES") ?? secureCookies
        if let hours = try reader.int("ATRIUM_SESSION_HOURS", range: 1...24 * 90) {
            sessionLifetime = .seconds(hours * 3600)
        }
        passwordHashing.memoryKiB = try reader.int("ATRIUM_ARGON2_MEMORY_KIB", range: 8...4_194_304).map(UInt32.init) ?? passwordHashing.memoryKiB
        passwordHashing.iterations = try reader.int("ATRIUM_ARGON2_ITERATIONS", range: 1...100).map(UInt32.init) ?? passwordHashing.iterations
        passwordHashing.parallelism = try reader.int("ATRIUM_ARGON2_PARALLELISM", range: 1...64).map(UInt32.init) ?? passwordHashing.parallelism
        loginThrottle.maxFailures = try reader.int("ATRIUM_LOGIN_MAX_FAILURES", range: 1...1000) ?? loginThrottle.maxFailures
        loginThrottle.maxAddressFailures = try reader.int("ATRIUM_LOGIN_MAX_ADDRESS_FAILURES", range: 1...100_000) ?? loginThrottle.maxAddressFailures
        if let minutes = try reader.int("ATRIUM_LOGIN_LOCKOUT_MINUTES", range: 1...24 * 60) {
            loginThrottle.lockoutMinutes = minutes
        }
        if let key = reader.string("ATRIUM_SECRET_KEY") {
            guard let bytes = TwoFactorSecretBox.key(hex: key) else {
                throw ConfigurationError(variable: "ATRIUM_SECRET_KEY", message: "must be 64 hex digits (32 random bytes, e.g. `openssl rand -hex 32`)")
            }
            secretKey = bytes
        }
        pluginsFile = reader.string("ATRIUM_PLUGINS") ?? pluginsFile
        filesDirectory = reader.string("ATRIUM_FILES_DIR") ?? filesDirectory
        maxUploadBytes = try reader.int("ATRIUM_MAX_UPLOAD_MB", range: 1...2048).map { $0 * 1024 * 1024 } ?? maxUploadBytes
        if let relay = reader.string("ATRIUM_SMTP_URL") {
            smtpRelay = try SMTPRelay(parsing: relay)
        }
        switch reader.string("ATRIUM_SMS_PROVIDER") {
        case nil, "none": smsProvider = nil
        case "log": smsProvider = .log
        case "http":
            guard let url = reader.string("ATRIUM_SMS_URL"), url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw ConfigurationError(variable: "ATRIUM_SMS_URL", message: "is required with ATRIUM_SMS_PROVIDER=http: the provider's https:// endpoint")
            }
            smsProvider = .http(url: url, token: reader.string("ATRIUM_SMS_TOKEN"))
        default:
            throw ConfigurationError(variable: "ATRIUM_SMS_PROVIDER", message: "must be none, log or http")
        }
        if let sign = reader.string("ATRIUM_SMS_SIGN") {
            guard sign.count <= 20, !sign.contains(where: \.isNewline) else {
                throw ConfigurationError(variable: "ATRIUM_SMS_SIGN", message: "must be one line of at most 20 characters, e.g. 【某某科技】")
            }
            smsSignature = sign
        }
        if let from = reader.string("ATRIUM_MAIL_FROM") {
            guard MailAddress.isValid(from) else {
                throw ConfigurationError(variable: "ATRIUM_MAIL_FROM", message: "must be an e-mail address, e.g. crm@example.com")
            }
            mailFrom = from
        }
        if let url = reader.string("ATRIUM_PUBLIC_URL") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(variable: "ATRIUM_PUBLIC_URL", message: "must start with http:// or https://, e.g. https://{tenant}.crm.example.com")
            }
            publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        outboxWorker = try reader.bool("ATRIUM_OUTBOX_WORKER") ?? outboxWorker
        outboxPollInterval = try reader.int("ATRIUM_OUTBOX_POLL_MS", range: 10...600_000).map { .milliseconds($0) } ?? outboxPollInterval
        scheduler = try reader.bool("ATRIUM_SCHEDULER") ?? scheduler
        webhookAllowPrivateAddresses = try reader.bool("ATRIUM_WEBHOOK_ALLOW_PRIVATE") ?? webhookAllowPrivateAddresses
        webhookDisableAfter = try reader.int("ATRIUM_WEBHOOK_DISABLE_AFTER", range: 1...1000) ?? webhookDisableAfter
        if let level = reader.string("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(variable: "LOG_LEVEL", message: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = parsed
        }
        if let format = reader.string("ATRIUM_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format) else {
                throw ConfigurationError(variable: "ATRIUM_LOG_FORMAT", message: "must be text or json")
            }
            logFormat = parsed
        }
    }
}

/// A configuration value that cannot be used; the message names the variable.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let variable: String
    public let message: String
    public var description: String { "\(variable) \(message)" }

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }
}

struct EnvironmentReader {
    let env: [String: String]

    func string(_ name: String) -> String? {
        guard let value = env[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let raw = string(name) else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigurationError(variable: name, message: "must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let raw = string(name)?.lowercased() else { return nil }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(variable: name, message: "must be true or false, got '\(raw)'")
        }
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A parsed `postgres://user:password@host:port/database?sslmode=…` address.
///
/// `sslmode` accepts `disable` (default for loopback), `prefer` and `require`;
/// `?host=/path/to/socket-dir` connects over a Unix socket instead of TCP.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public enum SSLMode: String, Sendable { case disable, prefer, require }

    public init(parsing text: String, variable: String = "database URL") throws {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ConfigurationError(variable: variable, message: "must look like postgres://user:password@host:port/database")
        }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw ConfigurationError(variable: variable, message: "names no user")
        }
        username = user
        password = components.percentEncodedPassword?.removingPercentEncoding
        host = components.host ?? "127.0.0.1"
        port = components.port ?? 5432
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw ConfigurationError(variable: variable, message: "has sslmode=\(mode); use disable, prefer or require")
            }
            sslMode = parsed
        } else {
            sslMode = .disable
        }
    }

    /// Where it points, without the password (safe to log).
    public var description: String {
        if let socketDirectory { return "\(username)@\(socketDirectory)/.s.PGSQL.\(port) database \(database)" }
        return "\(username)@\(host):\(port)/\(database)"
    }

    private var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    private var tls: PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    public func clientConfiguration(poolSize: Int, connectTimeout: Duration = .seconds(5)) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketPath {
            configuration = .init(unixSocketPath: socketPath, username: username, password: password, database: database)
        } else {
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let socketPath {
            return .init(unixSocketPath: socketPath, username: username, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// Opens one unpooled connection (command-line tools); a refused connection becomes a
    /// `DatabaseUnavailable` error that says where it tried.
    public func connect(logger: Logger) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(),
                configuration: try connectionConfiguration(),
                id: 1,
                logger: logger
            ).get()
        } catch {
            throw DatabaseUnavailable(target: description, reason: DatabaseErrors.describe(error))
        }
    }
}

/// The database could not be reached; `reason` is the driver's message without secrets.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let target: String
    public let reason: String
    public var description: String { "cannot connect to the database at \(target): \(reason)" }
}

import AtriumApp
import Foundation
import Hummingbird
import Logging
import Platform

// The `atrium` server: configuration from the environment (see README, "Configuration").
let configuration: AtriumConfiguration
do {
    configuration = try AtriumConfiguration(environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("atrium: configuration error: \(error)\n".utf8))
    exit(2)
}

let format = configuration.logFormat
let level = configuration.logLevel
LoggingSystem.bootstrap { label in
    var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
    handler.logLevel = level
    return handler
}
let logger = Logger(label: "atrium")

do {
    let app = try await AtriumHost.buildApplication(configuration: configuration, logger: logger)
    try await app.runService()
} catch {
    logger.critical("atrium stopped: \(DatabaseErrors.describe(error))")
    exit(1)
}

import Foundation

/// A helper server from `Tests/support/` (the SMTP catcher, the webhook receiver) started for
/// one test: it writes what it receives to its own folder and prints `READY <port>` once it
/// listens. Killed (and its folder removed) when the value goes away.
final class LocalServerProcess: @unchecked Sendable {
    let directory: URL
    let port: Int
    let process: Process

    init(script: String, options: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("atrium-\(script.prefix(8))-\(UUID().uuidString.prefix(8))")
        // Up to three starts: a helper that printed nothing is killed and started again.
        var attempt = 0
        while true {
            attempt += 1
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", TestEnvironment.packageRoot.appendingPathComponent("Tests/support/\(script)").path, directory.path] + options
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let line = HelperOutput.first(output, of: process) ?? "(nothing within 30 s)"
            if line.hasPrefix("READY "), let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)) {
                self.port = port
                self.process = process
                break
            }
            kill(process.processIdentifier, SIGKILL)
            if attempt == 3 { throw LocalServerFailure(script: script, output: line) }
        }
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The finished files ending in `suffix`, in the order they arrived.
    func files(_ suffix: String) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    struct LocalServerFailure: Error, CustomStringConvertible {
        let script: String
        let output: String
        var description: String { "\(script) did not start (are its PyPI packages installed? scripts/ensure-deps.sh --browser): \(output)" }
    }
}

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `atrium-admin` as a client of the admin API (`/admin/v1`), over URLSession.
///
/// Every failure becomes an ``AdminClient/Failure`` whose text is one line: the server's own
/// message for an HTTP error, or why the server could not be reached.
struct AdminClient: Sendable {
    let baseURL: URL
    let token: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
        let status: Int?
    }

    init(url: String, token: String) throws {
        let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
        guard let parsed = URL(string: trimmed), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), parsed.host != nil else {
            throw Failure(description: "--url '\(url)' is not an http(s) URL such as https://crm.example.com", status: nil)
        }
        guard !token.isEmpty else { throw Failure(description: "the admin token is empty", status: nil) }
        self.baseURL = parsed
        self.token = token
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    func request(_ method: String, _ path: String, query: [String: String] = [:]) -> URLRequest {
        var components = URLComponents(url: baseURL.appendingPathComponent("admin/v1/" + path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.timeoutInterval = 300
        return request
    }

    /// Sends a JSON call and decodes the answer; a non-2xx answer throws the server's message.
    func send<T: Decodable>(_ method: String, _ path: String, query: [String: String] = [:], body: (any Encodable)? = nil, as type: T.Type) async throws -> T {
        var request = request(method, path, query: query)
        if let body {
            request.httpBody = try JSONEncoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await perform(request)
        try Self.check(response, data)
        do {
            return try Self.decoder.decode(T.self, from: data)
        } catch {
            throw Failure(description: "the server at \(baseURL.absoluteString) answered something that is not an Atrium admin API response", status: nil)
        }
    }

    func perform(_ request: URLRequest) async throws -> (Data, URLResponse) {
        do {
            return try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(description: "cannot reach \(baseURL.absoluteString): \(error.localizedDescription)", status: nil)
        }
    }

    /// Throws the server's `{"error": {"message"}}` (or the status) for a non-2xx answer.
    static func check(_ response: URLResponse?, _ data: Data) throws {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard !(200..<300).contains(status) else { return }
        struct Envelope: Decodable {
            struct Body: Decodable { let code: String; let message: String }
            let error: Body
        }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: data) {
            throw Failure(description: envelope.error.message, status: status)
        }
        throw Failure(description: "the server answered HTTP \(status) \(HTTPURLResponse.localizedString(forStatusCode: status))", status: status)
    }

    /// Streams `GET path` into `file`, reporting bytes received (and the total when known).
    func download(_ path: String, query: [String: String] = [:], to file: URL, progress: @escaping @Sendable (Int64, Int64) -> Void) async throws -> Int64 {
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: file.path) else {
            throw Failure(description: "output cannot be written: \(file.path)", status: nil)
        }
        let transfer = Transfer(output: handle, progress: progress)
        do {
            try await transfer.run(request("GET", path, query: query), baseURL: baseURL)
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        return transfer.bytes
    }

    /// Sends `file` as the body of `POST path`, reporting bytes sent; returns the decoded answer.
    func upload<T: Decodable>(_ path: String, query: [String: String] = [:], file: URL, as type: T.Type,
                              progress: @escaping @Sendable (Int64, Int64) -> Void) async throws -> T {
        var request = request("POST", path, query: query)
        request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
        let transfer = Transfer(output: nil, progress: progress)
        try await transfer.run(request, uploading: file, baseURL: baseURL)
        do {
            return try Self.decoder.decode(T.self, from: transfer.body)
        } catch {
            throw Failure(description: "the server at \(baseURL.absoluteString) answered something that is not an Atrium admin API response", status: nil)
        }
    }
}

/// One download or upload with progress, driven by URLSession's delegate callbacks (they
/// arrive one at a time on the session's own queue).
final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let output: FileHandle?
    let progress: @Sendable (Int64, Int64) -> Void
    private(set) var bytes: Int64 = 0
    private(set) var body = Data()
    private var failure: (any Error)?
    private var continuation: CheckedContinuation<Void, any Error>?

    init(output: FileHandle?, progress: @escaping @Sendable (Int64, Int64) -> Void) {
        self.output = output
        self.progress = progress
    }

    func run(_ request: URLRequest, uploading file: URL? = nil, baseURL: URL) async throws {
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                self.continuation = continuation
                let task = file.map { session.uploadTask(with: request, fromFile: $0) } ?? session.dataTask(with: request)
                task.resume()
            }
        } catch let error as AdminClient.Failure {
            throw error
        } catch {
            throw AdminClient.Failure(description: "cannot reach \(baseURL.absoluteString): \(error.localizedDescription)", status: nil)
        }
    }

    private func succeeded(_ task: URLSessionTask) -> Bool {
        ((task.response as? HTTPURLResponse).map { (200..<300).contains($0.statusCode) }) ?? false
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        if let output, succeeded(dataTask) {
            do {
                try output.write(contentsOf: data)
                bytes += Int64(data.count)
                progress(bytes, dataTask.response?.expectedContentLength ?? -1)
            } catch {
                failure = AdminClient.Failure(description: "cannot write the output file: \(error.localizedDescription)", status: nil)
                dataTask.cancel()
            }
        } else {
            body.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        progress(totalBytesSent, totalBytesExpectedToSend)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        var result: Result<Void, any Error> = .success(())
        if let failure {
            result = .failure(failure)
        } else if let error {
            result = .failure(error)
        } else {
            do { try AdminClient.check(task.response, body) } catch { result = .failure(error) }
        }
        continuation?.resume(with: result)
        continuation = nil
    }
}

/// Progress on standard error: `\r<label> 1.2 MiB of 3.4 MiB (35%)`, at most ten times a second.
final class ProgressLine: @unchecked Sendable {
    let label: String
    private var last = Date.distantPast
    private let lock = NSLock()

    init(_ label: String) { self.label = label }

    static func size(_ bytes: Int64) -> String {
        bytes < 1024 * 1024 ? String(format: "%.1f KiB", Double(bytes) / 1024) : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    func update(_ done: Int64, _ total: Int64) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.1 || (total > 0 && done >= total) else { return }
        last = now
        var text = "\r\(label) \(Self.size(done)) (\(done) bytes)"
        if total > 0 { text += " of \(Self.size(total)) (\(min(100, done * 100 / max(total, 1)))%)" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

import PostgresNIO

extension PostgresRowSequence {
    /// The single row a statement always answers with (`INSERT … RETURNING`, `count(*)`),
    /// decoded; a missing row is an internal error with a message, never a crash of the server
    /// (as `.first!` was).
    /// ```swift
    /// let id = try await connection.query("INSERT … RETURNING id", logger: logger).one(UUID.self)
    /// ```
    public func one<T: PostgresDecodable>(_ type: T.Type, file: String = #fileID, line: Int = #line) async throws -> T {
        guard let row = try await collect().first else { throw MissingRow(file: file, line: line) }
        return try row.decode(T.self)
    }

    public func one<each T: PostgresDecodable>(_ types: (repeat each T).Type, file: String = #fileID, line: Int = #line) async throws -> (repeat each T) {
        guard let row = try await collect().first else { throw MissingRow(file: file, line: line) }
        return try row.decode((repeat each T).self)
    }
}

/// A statement that always returns a row returned none (a bug or a concurrent schema change).
public struct MissingRow: Error, CustomStringConvertible {
    public let file: String
    public let line: Int
    public var description: String { "no row returned by the statement at \(file):\(line)" }
}

extension Array {
    /// The first element of what a statement that always returns a row returned (see
    /// ``PostgresRowSequence/one(_:file:line:)``).
    func firstRow(file: String = #fileID, line: Int = #line) throws -> Element {
        guard let first else { throw MissingRow(file: file, line: line) }
        return first
    }
}

import PostgresNIO

/// Looks through PostgresNIO's wrappers to the error that matters.
///
/// Errors thrown inside `withTransaction` arrive as `PostgresTransactionError`; a constraint
/// violation is a `PSQLError` inside it. Map errors only after `unwrap`.
public enum DatabaseErrors {
    public static func unwrap(_ error: any Error) -> any Error {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError { return unwrap(inner) }
            if let inner = transaction.beginError { return unwrap(inner) }
            if let inner = transaction.commitError { return unwrap(inner) }
        }
        return error
    }

    /// The SQLSTATE of a server error (e.g. `23505` unique violation), if it is one.
    public static func sqlState(_ error: any Error) -> String? {
        (unwrap(error) as? PSQLError)?.serverInfo?[.sqlState]
    }

    public static func constraint(_ error: any Error) -> String? {
        (unwrap(error) as? PSQLError)?.serverInfo?[.constraintName]
    }

    /// A one-line, secret-free description for logs and command-line output.
    public static func describe(_ error: any Error) -> String {
        let error = unwrap(error)
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] {
                return message
            }
            if let underlying = psql.underlying {
                return "\(psql.code): \(underlying)"
            }
            return "\(psql.code)"
        }
        return "\(error)"
    }
}

extension CoreMigrations {
    /// Sign-in throttling per client address over every email (password spraying): the
    /// throttle counts an address's recent failures on each attempt, so they get their index.
    static let loginAttemptsByAddress = Migration(
        version: 16,
        name: "login_attempts_by_address",
        statements: [
            "CREATE INDEX login_attempts_by_ip ON login_attempts (tenant_id, ip, at DESC)",
        ]
    )
}

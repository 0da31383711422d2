extension CoreMigrations {
    /// The scheduler's bookkeeping (issue 15/16): one row per periodic job — when it is next
    /// due and, while a node runs it, until when that node holds it. A platform table like
    /// `tenants`: it names jobs, never a tenant's data; each run then works tenant by tenant in
    /// the tenant's own RLS context. Claiming is one conditional UPDATE, so of several app
    /// nodes exactly one runs a due job.
    static let scheduler = Migration(
        version: 21,
        name: "scheduler",
        statements: [
            """
            CREATE TABLE scheduler_jobs (
                job text PRIMARY KEY CHECK (job ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
                next_run_at timestamptz NOT NULL,
                held_until timestamptz,
                held_by text,
                runs bigint NOT NULL DEFAULT 0,
                last_started_at timestamptz,
                last_finished_at timestamptz,
                last_error text
            )
            """,
            "GRANT SELECT, INSERT, UPDATE ON scheduler_jobs TO {{app_role}}",
        ]
    )
}

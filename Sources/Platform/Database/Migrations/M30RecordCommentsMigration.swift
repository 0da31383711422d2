extension CoreMigrations {
    /// Comments on any record (便签/点评, issue 19): a thread per record, module entities and
    /// custom objects alike, kept per tenant under RLS. Who may read the record may read and
    /// write its thread; the engine decides that, the table only keeps the rows.
    ///
    /// - `mentions`: the users the body names as `@[Name](user-id)`, in order;
    ///   `notified`: those of them who could read the record when it was written and were
    ///   notified (the others are shown to the author as not notified).
    /// - `edited_at` marks an edited body; `deleted_at` a removed comment, whose row stays for
    ///   the record's audit trail. A purged record takes its thread with it.
    /// - The thread reads newest-last from `record_comments_thread` in one index range scan
    ///   (uuid, text in C collation and timestamptz comparisons are leakproof, so the index
    ///   serves under forced RLS).
    static let recordComments = Migration(
        version: 30,
        name: "record_comments",
        statements: [
            """
            CREATE TABLE record_comments (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text COLLATE "C" NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                record_id uuid NOT NULL,
                author_id uuid NOT NULL,
                body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
                mentions uuid[] NOT NULL DEFAULT '{}',
                notified uuid[] NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now(),
                edited_at timestamptz,
                deleted_at timestamptz,
                deleted_by uuid,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX record_comments_thread ON record_comments (tenant_id, entity, record_id, created_at)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON record_comments TO {{app_role}}",
        ] + TenantTable.isolate("record_comments")
    )
}

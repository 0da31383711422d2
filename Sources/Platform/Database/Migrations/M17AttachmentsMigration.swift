extension CoreMigrations {
    /// Attachments on any record (issue 16, files part): one row per uploaded file, kept per
    /// tenant under RLS. The bytes are not in PostgreSQL: `storage_key` names them in the
    /// instance's ``FileStore`` (content-addressed by `sha256`, under the tenant's folder), which
    /// holds them durably before this row commits. A removed attachment keeps its row
    /// (`deleted_at`) for the audit trail; a purged record takes its attachments' rows with it.
    static let attachments = Migration(
        version: 17,
        name: "attachments",
        statements: [
            """
            CREATE TABLE attachments (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                record_id uuid NOT NULL,
                file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
                content_type text NOT NULL,
                byte_size bigint NOT NULL CHECK (byte_size > 0),
                sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                storage_key text NOT NULL,
                uploaded_by uuid NOT NULL,
                uploaded_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                deleted_by uuid,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, uploaded_by) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX attachments_of_record ON attachments (tenant_id, record_id, uploaded_at) WHERE deleted_at IS NULL",
            "CREATE INDEX attachments_by_content ON attachments (tenant_id, sha256)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON attachments TO {{app_role}}",
        ] + TenantTable.isolate("attachments")
    )
}

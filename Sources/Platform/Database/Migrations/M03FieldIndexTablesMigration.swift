extension CoreMigrations {
    /// Replaces v2's per-tenant expression indexes on `records.data` (unusable under FORCE
    /// RLS: `->>` and numeric casts are not leakproof, so the planner never used them, and
    /// their unique variants outlived a field's `unique` flag) with two plain key tables whose
    /// text comparisons are leakproof. See `FieldIndex` for the encoding.
    static let fieldIndexTables = Migration(
        version: 3,
        name: "field_index_tables",
        statements: [
            """
            DO $drop$
            DECLARE name text;
            BEGIN
                FOR name IN SELECT indexname FROM pg_indexes WHERE tablename = 'records' AND indexname LIKE 'rx\\_%' LOOP
                    EXECUTE format('DROP INDEX %I', name);
                END LOOP;
            END
            $drop$
            """,
            "DROP FUNCTION atrium_ensure_field_index(text, text, text, boolean)",
            """
            CREATE TABLE record_index (
                tenant_id uuid NOT NULL,
                record_id uuid NOT NULL,
                entity text NOT NULL,
                field text NOT NULL,
                key text COLLATE "C" NOT NULL,
                PRIMARY KEY (tenant_id, record_id, field),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_index_lookup ON record_index (tenant_id, entity, field, key, record_id)",
            """
            CREATE TABLE record_unique (
                tenant_id uuid NOT NULL,
                entity text NOT NULL,
                field text NOT NULL,
                key text COLLATE "C" NOT NULL,
                record_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, entity, field, key),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_unique_by_record ON record_unique (tenant_id, record_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON record_index, record_unique TO {{app_role}}",
        ]
            + ["record_index", "record_unique"].flatMap(TenantTable.isolate)
    )
}

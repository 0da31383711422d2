extension CoreMigrations {
    /// Saved reports (issue 21, 报表): a definition over one entity — groups, measures, filter,
    /// sort, top N, chart — owned by a user, private or shared with the whole tenant. Running
    /// one goes through the record engine's aggregate, so the runner's scope and field rules
    /// decide what it counts. `report_pins`: the reports a user keeps on their home page (仪表盘).
    static let reports = Migration(
        version: 28,
        name: "reports",
        statements: [
            """
            CREATE TABLE reports (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                owner_id uuid NOT NULL,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                entity text NOT NULL,
                definition jsonb NOT NULL CHECK (jsonb_typeof(definition) = 'object'),
                shared boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX reports_by_owner ON reports (tenant_id, owner_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON reports TO {{app_role}}",
            """
            CREATE TABLE report_pins (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                user_id uuid NOT NULL,
                report_id uuid NOT NULL,
                position int NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, user_id, report_id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, report_id) REFERENCES reports (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX report_pins_by_report ON report_pins (tenant_id, report_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON report_pins TO {{app_role}}",
        ] + TenantTable.isolate("reports") + TenantTable.isolate("report_pins")
    )
}

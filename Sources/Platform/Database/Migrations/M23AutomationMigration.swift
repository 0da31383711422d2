extension CoreMigrations {
    /// Automation rules (issue 16, 工作流自动化): per tenant and entity, *when* (created, updated,
    /// a field changed to a value, a date N days away, an approval ended) *if* (a filter) *then*
    /// (notify, set a field, create a task, call a webhook). A rule is entity metadata: changing
    /// one bumps the tenant's metadata stamp, so every app node reloads the rules with the
    /// entities. `automation_runs` keeps what each firing did (or why it failed);
    /// `automation_date_fired` makes a date rule fire once per record and date.
    static let automation = Migration(
        version: 23,
        name: "automation_rules",
        statements: [
            """
            CREATE TABLE automation_rules (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,62}$'),
                trigger jsonb NOT NULL,
                condition jsonb,
                actions jsonb NOT NULL CHECK (jsonb_typeof(actions) = 'array'),
                active boolean NOT NULL DEFAULT true,
                created_by uuid NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX automation_rules_entity ON automation_rules (tenant_id, entity)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON automation_rules TO {{app_role}}",
            "CREATE TRIGGER bump_metadata_version AFTER INSERT OR UPDATE OR DELETE ON automation_rules FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('metadata')",
            """
            CREATE TABLE automation_runs (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id bigint GENERATED ALWAYS AS IDENTITY,
                rule_id uuid NOT NULL,
                entity text NOT NULL,
                record_id uuid NOT NULL,
                trigger text NOT NULL,
                status text NOT NULL CHECK (status IN ('done', 'failed', 'skipped')),
                detail jsonb NOT NULL DEFAULT '{}',
                depth int NOT NULL DEFAULT 1,
                at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, rule_id) REFERENCES automation_rules (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX automation_runs_rule ON automation_runs (tenant_id, rule_id, id DESC)",
            "GRANT SELECT, INSERT, DELETE ON automation_runs TO {{app_role}}",
            """
            CREATE TABLE automation_date_fired (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                rule_id uuid NOT NULL,
                record_id uuid NOT NULL,
                fired_for date NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, rule_id, record_id, fired_for),
                FOREIGN KEY (tenant_id, rule_id) REFERENCES automation_rules (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "GRANT SELECT, INSERT, DELETE ON automation_date_fired TO {{app_role}}",
        ] + TenantTable.isolate("automation_rules") + TenantTable.isolate("automation_runs") + TenantTable.isolate("automation_date_fired")
    )
}

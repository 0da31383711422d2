extension CoreMigrations {
    /// Sharing rules (records owned in a department, and optionally below it, reach a user, a
    /// department or a role with read or write access) and the optional management dimension
    /// (管理维度): the tenant names one field key; users may be limited to some of its values.
    static let sharingRulesAndDimension = Migration(
        version: 5,
        name: "sharing_rules_and_dimension",
        statements: [
            """
            CREATE TABLE sharing_rules (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                department_id uuid NOT NULL,
                include_sub boolean NOT NULL DEFAULT true,
                grantee_kind text NOT NULL CHECK (grantee_kind IN ('user', 'department', 'role')),
                grantee_id uuid NOT NULL,
                access text NOT NULL CHECK (access IN ('read', 'write')),
                created_by uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, entity, department_id, grantee_kind, grantee_id),
                FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX sharing_rules_by_grantee ON sharing_rules (tenant_id, grantee_kind, grantee_id)",
            """
            CREATE TABLE tenant_dimension (
                tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
                field_key text NOT NULL CHECK (field_key ~ '^[a-z][a-z0-9_]{0,62}$'),
                labels jsonb NOT NULL DEFAULT '{}',
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "ALTER TABLE users ADD COLUMN dimension_values text[]",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON sharing_rules, tenant_dimension TO {{app_role}}",
        ]
            + ["sharing_rules", "tenant_dimension"].flatMap(TenantTable.isolate)
    )
}

extension CoreMigrations {
    /// Departments (a tree per tenant), users' department and manager, roles with data scopes
    /// and field rules, role assignments, record shares, and `records.department_id` (the
    /// owner's department, for department scopes). Existing tenants get the default roles.
    static let organisation = Migration(
        version: 4,
        name: "organisation_and_permissions",
        statements: [
            """
            CREATE TABLE departments (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                parent_id uuid,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, parent_id) REFERENCES departments (tenant_id, id),
                CHECK (parent_id IS DISTINCT FROM id)
            )
            """,
            "CREATE INDEX departments_by_parent ON departments (tenant_id, parent_id)",
            "ALTER TABLE users ADD COLUMN department_id uuid, ADD COLUMN manager_id uuid",
            "ALTER TABLE users ADD FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)",
            "ALTER TABLE users ADD FOREIGN KEY (tenant_id, manager_id) REFERENCES users (tenant_id, id)",
            "CREATE INDEX users_by_department ON users (tenant_id, department_id)",
            """
            CREATE TABLE roles (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,40}$'),
                labels jsonb NOT NULL DEFAULT '{}',
                grants jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(grants) = 'object'),
                field_rules jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(field_rules) = 'object'),
                is_system boolean NOT NULL DEFAULT false,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, key)
            )
            """,
            """
            CREATE TABLE user_roles (
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL,
                role_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, user_id, role_id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "ALTER TABLE records ADD COLUMN department_id uuid",
            "CREATE INDEX records_by_department ON records (tenant_id, department_id)",
            """
            CREATE TABLE record_shares (
                tenant_id uuid NOT NULL,
                record_id uuid NOT NULL,
                grantee_kind text NOT NULL CHECK (grantee_kind IN ('user', 'department', 'role')),
                grantee_id uuid NOT NULL,
                access text NOT NULL CHECK (access IN ('read', 'write')),
                created_by uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, record_id, grantee_kind, grantee_id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_shares_by_grantee ON record_shares (tenant_id, grantee_kind, grantee_id)",
            // Before RLS is switched on, so the owner may write every tenant's rows.
            FrozenRoleGrants.migration4,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON departments, roles, user_roles, record_shares TO {{app_role}}",
        ]
            + ["departments", "roles", "user_roles", "record_shares"].flatMap(TenantTable.isolate)
    )
}

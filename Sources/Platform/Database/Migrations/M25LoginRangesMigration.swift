extension CoreMigrations {
    /// Login IP ranges (issue 23, 限制登录范围): a tenant's administrators may allow sign-in
    /// only from some networks — for everyone or for the members of one role — and, per range,
    /// API tokens too. No range: no restriction.
    static let loginRanges = Migration(
        version: 25,
        name: "login_ranges",
        statements: [
            """
            CREATE TABLE tenant_login_ranges (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                range cidr NOT NULL,
                role_id uuid,
                applies_to_tokens boolean NOT NULL DEFAULT false,
                description text CHECK (length(description) <= 200),
                created_by uuid NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
            )
            """,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_login_ranges TO {{app_role}}",
        ] + TenantTable.isolate("tenant_login_ranges")
    )
}

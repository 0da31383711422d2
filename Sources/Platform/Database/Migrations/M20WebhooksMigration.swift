extension CoreMigrations {
    /// Outbound webhooks (issue 16): endpoints a tenant's administrators register for record
    /// events. Deliveries are outbox items (channel `webhook`) signed with the endpoint's
    /// secret; the secret is kept as is because signing needs it (it is shown once, on creation
    /// and rotation). Failed attempts in a row are counted; past the server's limit the endpoint
    /// is disabled and the administrators are told.
    static let webhooks = Migration(
        version: 20,
        name: "webhooks",
        statements: [
            """
            CREATE TABLE webhook_endpoints (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
                description text CHECK (length(description) <= 200),
                events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 100),
                secret text NOT NULL CHECK (length(secret) >= 32),
                active boolean NOT NULL DEFAULT true,
                consecutive_failures integer NOT NULL DEFAULT 0,
                disabled_at timestamptz,
                disabled_reason text,
                created_by uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX webhook_endpoints_active ON webhook_endpoints (tenant_id) WHERE active",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO {{app_role}}",
        ] + TenantTable.isolate("webhook_endpoints")
    )
}

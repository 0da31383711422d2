extension CoreMigrations {
    /// Saved list views: a name and the list's query string (search, filters, sort), kept per
    /// user or shared with the whole tenant.
    static let savedViews = Migration(
        version: 6,
        name: "saved_views",
        statements: [
            """
            CREATE TABLE saved_views (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                owner_id uuid NOT NULL,
                shared boolean NOT NULL DEFAULT false,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
                query text NOT NULL CHECK (length(query) <= 2000),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX saved_views_by_entity ON saved_views (tenant_id, entity)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON saved_views TO {{app_role}}",
        ]
            + TenantTable.isolate("saved_views")
    )
}

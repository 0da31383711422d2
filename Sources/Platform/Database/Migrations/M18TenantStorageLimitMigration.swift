extension CoreMigrations {
    /// A per-tenant limit on attachment storage (MiB; NULL: none), set from the plan at
    /// provisioning and by `atrium-admin tenant limits --max-storage-mb`. Existing tenants get
    /// their plan's default.
    static let tenantStorageLimit = Migration(
        version: 18,
        name: "tenant_storage_limit",
        statements: [
            "ALTER TABLE tenants ADD COLUMN max_storage_mb integer CHECK (max_storage_mb > 0)",
            """
            UPDATE tenants SET max_storage_mb = CASE plan WHEN 'trial' THEN 500 WHEN 'basic' THEN 5120 WHEN 'pro' THEN 51200 END
            """,
        ]
    )
}

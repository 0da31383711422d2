extension CoreMigrations {
    /// Which version of a module's set-up (e.g. the seeded sales pipeline) a tenant has had,
    /// so `atrium-admin migrate` runs each set-up once per tenant and module version.
    static let moduleSetUp = Migration(
        version: 8,
        name: "module_set_up_version",
        statements: ["ALTER TABLE tenant_modules ADD COLUMN set_up_version text"]
    )
}

extension CoreMigrations {
    /// Per-tenant version stamps that key the app nodes' caches (DESIGN §4b): the metadata
    /// version (entities, fields, enabled modules) and the organisation version (what a user's
    /// access context is computed from). Triggers set them in the transaction of the change,
    /// so every node sees a change on its next request without invalidation messages.
    ///
    /// A stamp is a fresh random number, not a counter: a transaction that changes metadata,
    /// reads it (and so caches it under its new stamp) and then rolls back must not leave a
    /// cache entry that a later, different change would bump the counter to again.
    static let tenantVersions = Migration(
        version: 11,
        name: "tenant_versions",
        statements: [
            """
            CREATE TABLE tenant_versions (
                tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
                metadata_version bigint NOT NULL DEFAULT 0,
                org_version bigint NOT NULL DEFAULT 0
            )
            """,
            "GRANT SELECT, INSERT, UPDATE ON tenant_versions TO {{app_role}}",
            // The cascade: deleting a tenant's roles and users sets its stamps again after the
            // table itself was emptied; the tenant row's deletion then takes the stamps along.
            // Runs as the writer. A row written for a tenant other than the transaction's (the
            // owner deleting a tenant without one set) bumps nothing: RLS would refuse the
            // write, and no cache of a deleted tenant is read again. A missing row reads as 0.
            """
            CREATE FUNCTION atrium_bump_tenant_version() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                changed uuid;
                stamp bigint := 1 + floor(random() * 9.2e18)::bigint;
            BEGIN
                IF TG_OP = 'DELETE' THEN changed := OLD.tenant_id; ELSE changed := NEW.tenant_id; END IF;
                IF changed IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
                    RETURN NULL;
                END IF;
                IF TG_ARGV[0] = 'metadata' THEN
                    INSERT INTO tenant_versions AS v (tenant_id, metadata_version) VALUES (changed, stamp)
                    ON CONFLICT (tenant_id) DO UPDATE SET metadata_version = stamp;
                ELSE
                    INSERT INTO tenant_versions AS v (tenant_id, org_version) VALUES (changed, stamp)
                    ON CONFLICT (tenant_id) DO UPDATE SET org_version = stamp;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER bump_metadata_version AFTER INSERT OR UPDATE OR DELETE ON entity_defs FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('metadata')",
            "CREATE TRIGGER bump_metadata_version AFTER INSERT OR UPDATE OR DELETE ON field_defs FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('metadata')",
            "CREATE TRIGGER bump_metadata_version AFTER INSERT OR UPDATE OR DELETE ON tenant_modules FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('metadata')",
            // Users: only the columns an access context reads (not last_login_at, locale, password).
            "CREATE TRIGGER bump_org_version AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            """
            CREATE TRIGGER bump_org_version_on_update AFTER UPDATE OF department_id, dimension_values, is_admin, is_active ON users
            FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')
            """,
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON departments FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON roles FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON user_roles FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON sharing_rules FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON tenant_dimension FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
        ] + TenantTable.isolate("tenant_versions")
    )
}

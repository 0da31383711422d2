import Platform

/// Platform-level tables of the admin API: resellers (and which tenants are theirs), admin
/// bearer tokens, and the admin API's own audit trail.
///
/// None of them is tenant-owned, so none is under Row-Level Security. The application role
/// gets no grant on them at all: the admin API runs on the schema owner's connection (the
/// same role `atrium-admin` uses locally), so a request on the tenant-facing side can never
/// read a token hash or a reseller's quota.
///
/// Version 10 on purpose: 9 belongs to a migration written at the same time on another
/// branch. ``Migrator`` sorts by version and applies every version it has not recorded, so
/// the gap is harmless and 9 still runs on a database that already has 10.
public enum AdminSchema {
    public static let migrations: [Migration] = [adminAPI]

    static let adminAPI = Migration(
        version: 10,
        name: "admin_api",
        statements: [
            """
            CREATE TABLE resellers (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
                max_tenants int CHECK (max_tenants >= 0),
                max_seats int CHECK (max_seats >= 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            // NULL: the operator's own tenant. A reseller with tenants cannot be removed.
            "ALTER TABLE tenants ADD COLUMN reseller_id uuid REFERENCES resellers (id)",
            "CREATE INDEX tenants_by_reseller ON tenants (reseller_id)",
            """
            CREATE TABLE admin_tokens (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                kind text NOT NULL CHECK (kind IN ('operator', 'reseller')),
                reseller_id uuid REFERENCES resellers (id),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                token_hash text NOT NULL UNIQUE,
                token_prefix text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz,
                CHECK ((kind = 'reseller') = (reseller_id IS NOT NULL))
            )
            """,
            // One row per authenticated admin call, written before the call runs (status NULL)
            // and completed with its HTTP status after it: a change never goes unrecorded, even
            // if the process dies half-way. No foreign keys: the trail outlives deleted tenants
            // and revoked tokens. The tenant's id is `target_tenant_id`, not `tenant_id`: a
            // `tenant_id` column marks a tenant-owned table, which tenant export and deletion
            // walk (`TenantDirectory.tenantTables`) — the trail must survive a deletion.
            """
            CREATE TABLE admin_audit (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                token_id uuid NOT NULL,
                token_name text NOT NULL,
                token_kind text NOT NULL,
                reseller_slug text,
                action text NOT NULL,
                tenant_slug text,
                target_tenant_id uuid,
                details jsonb NOT NULL DEFAULT '{}',
                status int,
                error_code text,
                ip text,
                request_id text
            )
            """,
            "CREATE INDEX admin_audit_by_time ON admin_audit (at DESC)",
            "CREATE INDEX admin_audit_by_tenant ON admin_audit (tenant_slug, at DESC)",
            "REVOKE ALL ON resellers, admin_tokens, admin_audit FROM {{app_role}}",
        ]
    )
}

extension CoreMigrations {
    /// Customer pools (公海) and the last activity date, both as facts of every record
    /// (issue 15).
    ///
    /// - `records.last_activity_at`: when the record was last followed up (the activities
    ///   module writes it in the activity's transaction without bumping the record's version or
    ///   audit trail). A column, not a module table, so lists filter, sort and show it like
    ///   `created_at`, and the pool's idle rule is one indexed predicate.
    /// - `record_pools`: a pool per entity, the whole tenant's (`department_id` NULL) or a
    ///   department's (its members are that department and those below). Its rules: records
    ///   idle for `idle_days`, or owned by a deactivated user, return to it; one person holds at
    ///   most `claim_limit` records claimed from it.
    /// - `records.pool_id`: a record in a pool has no owner; the engine lets the pool's members
    ///   read it (when they ask for the pool or open the record) and claim it.
    /// - `record_pool_moves`: every move in or out, for the claim limit, the idle clock (a
    ///   claimed record gets its full idle period) and the record's story.
    static let recordPools = Migration(
        version: 29,
        name: "record_pools",
        statements: [
            """
            CREATE TABLE record_pools (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 60),
                department_id uuid,
                idle_days int CHECK (idle_days BETWEEN 1 AND 3650),
                reclaim_inactive_owners boolean NOT NULL DEFAULT true,
                claim_limit int CHECK (claim_limit BETWEEN 0 AND 100000),
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, entity, name),
                FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
            )
            """,
            "CREATE UNIQUE INDEX record_pools_one_per_department ON record_pools (tenant_id, entity, coalesce(department_id, '00000000-0000-0000-0000-000000000000'::uuid))",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON record_pools TO {{app_role}}",
            // Which pools a user belongs to is part of their access context.
            "CREATE TRIGGER bump_org_version AFTER INSERT OR UPDATE OR DELETE ON record_pools FOR EACH ROW EXECUTE FUNCTION atrium_bump_tenant_version('org')",
            "ALTER TABLE records ADD COLUMN last_activity_at timestamptz, ADD COLUMN pool_id uuid",
            "ALTER TABLE records ADD CONSTRAINT records_pool FOREIGN KEY (tenant_id, pool_id) REFERENCES record_pools (tenant_id, id)",
            // A pool's list, newest first, reads the pool's rows in order (not the entity's).
            "CREATE INDEX records_in_pool ON records (tenant_id, entity, pool_id, created_at DESC, id) WHERE pool_id IS NOT NULL AND deleted_at IS NULL",
            "CREATE INDEX records_by_last_activity ON records (tenant_id, entity, last_activity_at) WHERE deleted_at IS NULL",
            """
            CREATE TABLE record_pool_moves (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id bigint GENERATED ALWAYS AS IDENTITY,
                pool_id uuid NOT NULL,
                entity text NOT NULL,
                record_id uuid NOT NULL,
                kind text NOT NULL CHECK (kind IN ('idle', 'owner_inactive', 'released', 'claimed', 'assigned')),
                from_user uuid,
                to_user uuid,
                actor_id uuid,
                reason text CHECK (length(reason) <= 500),
                at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, pool_id) REFERENCES record_pools (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_pool_moves_by_record ON record_pool_moves (tenant_id, record_id, id DESC)",
            "CREATE INDEX record_pool_moves_claims ON record_pool_moves (tenant_id, pool_id, to_user) WHERE kind = 'claimed'",
            "GRANT SELECT, INSERT ON record_pool_moves TO {{app_role}}",
        ] + TenantTable.isolate("record_pools") + TenantTable.isolate("record_pool_moves")
    )
}

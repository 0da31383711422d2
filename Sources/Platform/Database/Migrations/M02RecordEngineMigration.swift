extension CoreMigrations {
    /// Metadata (custom objects, custom fields, layouts) and the one table every entity's
    /// records live in. Typed per-field indexes are created at run time through
    /// `atrium_ensure_field_index`, a SECURITY DEFINER function of the owner, because the
    /// application role owns no table and so cannot create indexes itself.
    static let recordEngine = Migration(
        version: 2,
        name: "record_engine",
        statements: [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE EXTENSION IF NOT EXISTS btree_gin",
            """
            CREATE TABLE entity_defs (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                key text NOT NULL CHECK (key ~ '^x_[a-z][a-z0-9_]{0,40}$'),
                definition jsonb NOT NULL,
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, key)
            )
            """,
            """
            CREATE TABLE field_defs (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                key text NOT NULL CHECK (key ~ '^x_[a-z][a-z0-9_]{0,40}$'),
                definition jsonb NOT NULL,
                position integer NOT NULL DEFAULT 0,
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, entity, key)
            )
            """,
            // Versioned: every save adds a row; the highest version is in force.
            """
            CREATE TABLE layouts (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                entity text NOT NULL,
                kind text NOT NULL CHECK (kind IN ('detail', 'list')),
                version integer NOT NULL CHECK (version > 0),
                definition jsonb NOT NULL,
                updated_by uuid,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, entity, kind, version)
            )
            """,
            """
            CREATE TABLE records (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,42}$'),
                owner_id uuid,
                created_by uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_by uuid,
                updated_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                deleted_by uuid,
                version integer NOT NULL DEFAULT 1,
                data jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
                search text NOT NULL DEFAULT '',
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX records_live ON records (tenant_id, entity, created_at DESC) WHERE deleted_at IS NULL",
            "CREATE INDEX records_recycle_bin ON records (tenant_id, entity, deleted_at DESC) WHERE deleted_at IS NOT NULL",
            "CREATE INDEX records_by_owner ON records (tenant_id, owner_id)",
            "CREATE INDEX records_search ON records USING gin (tenant_id, search gin_trgm_ops)",
            """
            CREATE TABLE record_counters (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                entity text NOT NULL,
                field text NOT NULL,
                period text NOT NULL,
                value bigint NOT NULL,
                PRIMARY KEY (tenant_id, entity, field, period)
            )
            """,
            """
            CREATE FUNCTION atrium_ensure_field_index(p_entity text, p_field text, p_kind text, p_unique boolean)
            RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
            DECLARE
                tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
                index_name text;
                expression text;
            BEGIN
                IF tenant IS NULL THEN
                    RAISE EXCEPTION 'atrium_ensure_field_index: no tenant is set';
                END IF;
                IF p_entity !~ '^[a-z][a-z0-9_]{0,42}$' OR p_field !~ '^[a-z][a-z0-9_]{0,42}$' THEN
                    RAISE EXCEPTION 'atrium_ensure_field_index: bad identifier';
                END IF;
                expression := CASE p_kind
                    WHEN 'numeric' THEN format('((data->>%L)::numeric)', p_field)
                    WHEN 'money' THEN format('(((data->%L)->>''amount'')::numeric)', p_field)
                    WHEN 'text' THEN format('(data->>%L)', p_field)
                    ELSE NULL END;
                IF expression IS NULL THEN
                    RAISE EXCEPTION 'atrium_ensure_field_index: bad kind %', p_kind;
                END IF;
                index_name := 'rx_' || substr(md5(concat_ws(':', tenant, p_entity, p_field, p_kind, p_unique)), 1, 24);
                EXECUTE format('CREATE %s INDEX IF NOT EXISTS %I ON records (tenant_id, %s) WHERE tenant_id = %L AND entity = %L AND deleted_at IS NULL',
                               CASE WHEN p_unique THEN 'UNIQUE' ELSE '' END, index_name, expression, tenant, p_entity);
                RETURN index_name;
            END
            $fn$
            """,
            "REVOKE ALL ON FUNCTION atrium_ensure_field_index(text, text, text, boolean) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION atrium_ensure_field_index(text, text, text, boolean) TO {{app_role}}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON entity_defs, field_defs, layouts, records, record_counters TO {{app_role}}",
        ]
            + ["entity_defs", "field_defs", "layouts", "records", "record_counters"].flatMap(TenantTable.isolate)
    )
}

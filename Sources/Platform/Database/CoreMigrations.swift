/// The platform's schema, in order. Modules append their own migrations after these.
public enum CoreMigrations {
    public static let all: [Migration] = [tenancyAndAuth, recordEngine, fieldIndexTables, organisation, sharingRulesAndDimension, savedViews, planLimits, moduleSetUp, approvals, tenantVersions, listIndexes, searchTokens]

    static let tenancyAndAuth = Migration(
        version: 1,
        name: "tenancy_and_auth",
        statements: [
            // Platform table: not tenant-owned, read by tenant resolution before a tenant is known.
            """
            CREATE TABLE tenants (
                id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
                plan text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "GRANT SELECT ON tenants TO {{app_role}}",

            """
            CREATE TABLE tenant_modules (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                module_id text NOT NULL CHECK (module_id ~ '^[a-z][a-z0-9_]*$'),
                enabled boolean NOT NULL DEFAULT true,
                changed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, module_id)
            )
            """,

            """
            CREATE TABLE users (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                email text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
                display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
                locale text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
                password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
                is_active boolean NOT NULL DEFAULT true,
                is_admin boolean NOT NULL DEFAULT false,
                last_login_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, email)
            )
            """,

            // Server-side sessions: the cookie carries a random token, the table its SHA-256.
            """
            CREATE TABLE sessions (
                tenant_id uuid NOT NULL,
                token_hash text NOT NULL,
                user_id uuid NOT NULL,
                csrf_token text NOT NULL,
                ip text,
                user_agent text,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_seen_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, token_hash),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id)",

            """
            CREATE TABLE login_attempts (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id bigint GENERATED ALWAYS AS IDENTITY,
                email text NOT NULL,
                ip text NOT NULL,
                succeeded boolean NOT NULL,
                reason text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX login_attempts_by_email_ip ON login_attempts (tenant_id, email, ip, at DESC)",

            """
            CREATE TABLE api_tokens (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                token_hash text NOT NULL,
                token_prefix text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, token_hash),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX api_tokens_by_user ON api_tokens (tenant_id, user_id)",

            // Append-only: the application role may insert and read, never change or delete.
            """
            CREATE TABLE audit_log (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id bigint GENERATED ALWAYS AS IDENTITY,
                at timestamptz NOT NULL DEFAULT now(),
                actor_user_id uuid,
                actor text NOT NULL,
                action text NOT NULL,
                entity text,
                record_id text,
                details jsonb NOT NULL DEFAULT '{}',
                ip text,
                request_id text,
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX audit_log_by_time ON audit_log (tenant_id, at DESC)",
            "GRANT SELECT, INSERT ON audit_log TO {{app_role}}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_modules, users, sessions, login_attempts, api_tokens TO {{app_role}}",
        ]
            + ["tenant_modules", "users", "sessions", "login_attempts", "api_tokens", "audit_log"].flatMap(TenantTable.isolate)
    )

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

    /// Replaces v2's per-tenant expression indexes on `records.data` (unusable under FORCE
    /// RLS: `->>` and numeric casts are not leakproof, so the planner never used them, and
    /// their unique variants outlived a field's `unique` flag) with two plain key tables whose
    /// text comparisons are leakproof. See `FieldIndex` for the encoding.
    static let fieldIndexTables = Migration(
        version: 3,
        name: "field_index_tables",
        statements: [
            """
            DO $drop$
            DECLARE name text;
            BEGIN
                FOR name IN SELECT indexname FROM pg_indexes WHERE tablename = 'records' AND indexname LIKE 'rx\\_%' LOOP
                    EXECUTE format('DROP INDEX %I', name);
                END LOOP;
            END
            $drop$
            """,
            "DROP FUNCTION atrium_ensure_field_index(text, text, text, boolean)",
            """
            CREATE TABLE record_index (
                tenant_id uuid NOT NULL,
                record_id uuid NOT NULL,
                entity text NOT NULL,
                field text NOT NULL,
                key text COLLATE "C" NOT NULL,
                PRIMARY KEY (tenant_id, record_id, field),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_index_lookup ON record_index (tenant_id, entity, field, key, record_id)",
            """
            CREATE TABLE record_unique (
                tenant_id uuid NOT NULL,
                entity text NOT NULL,
                field text NOT NULL,
                key text COLLATE "C" NOT NULL,
                record_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, entity, field, key),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_unique_by_record ON record_unique (tenant_id, record_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON record_index, record_unique TO {{app_role}}",
        ]
            + ["record_index", "record_unique"].flatMap(TenantTable.isolate)
    )

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

    /// Sharing rules (records owned in a department, and optionally below it, reach a user, a
    /// department or a role with read or write access) and the optional management dimension
    /// (管理维度): the tenant names one field key; users may be limited to some of its values.
    static let sharingRulesAndDimension = Migration(
        version: 5,
        name: "sharing_rules_and_dimension",
        statements: [
            """
            CREATE TABLE sharing_rules (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                department_id uuid NOT NULL,
                include_sub boolean NOT NULL DEFAULT true,
                grantee_kind text NOT NULL CHECK (grantee_kind IN ('user', 'department', 'role')),
                grantee_id uuid NOT NULL,
                access text NOT NULL CHECK (access IN ('read', 'write')),
                created_by uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, entity, department_id, grantee_kind, grantee_id),
                FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX sharing_rules_by_grantee ON sharing_rules (tenant_id, grantee_kind, grantee_id)",
            """
            CREATE TABLE tenant_dimension (
                tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
                field_key text NOT NULL CHECK (field_key ~ '^[a-z][a-z0-9_]{0,62}$'),
                labels jsonb NOT NULL DEFAULT '{}',
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "ALTER TABLE users ADD COLUMN dimension_values text[]",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON sharing_rules, tenant_dimension TO {{app_role}}",
        ]
            + ["sharing_rules", "tenant_dimension"].flatMap(TenantTable.isolate)
    )

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

    /// Per-tenant limits (from the plan's defaults at creation, changeable by an operator) and
    /// the end of a trial. Existing tenants get their plan's defaults.
    static let planLimits = Migration(
        version: 7,
        name: "plan_limits",
        statements: [
            "ALTER TABLE tenants ADD COLUMN max_users int CHECK (max_users > 0), ADD COLUMN max_records int CHECK (max_records > 0), ADD COLUMN trial_ends_at timestamptz",
        ] + PlanLimits.defaults.sorted { $0.key < $1.key }.map { plan, limits in
            "UPDATE tenants SET max_users = \(limits.maxUsers.map(String.init) ?? "NULL"), max_records = \(limits.maxRecords.map(String.init) ?? "NULL")"
                + (limits.trialDays.map { ", trial_ends_at = created_at + interval '\($0) days'" } ?? "") + " WHERE plan = '\(plan)'"
        }
    )

    /// Which version of a module's set-up (e.g. the seeded sales pipeline) a tenant has had,
    /// so `atrium-admin migrate` runs each set-up once per tenant and module version.
    static let moduleSetUp = Migration(
        version: 8,
        name: "module_set_up_version",
        statements: ["ALTER TABLE tenant_modules ADD COLUMN set_up_version text"]
    )

    /// The approval workflow engine: processes as data per entity, one instance per submission
    /// with a task per approver and step, out-of-office delegations, department heads (an
    /// approver kind), and expense rights for the default working roles of existing tenants.
    static let approvals = Migration(
        version: 9,
        name: "approvals",
        statements: [
            // No foreign key: users already reference departments, and tenant deletion empties
            // tables children-first by their keys (a cycle would stop it); the API checks the id.
            "ALTER TABLE departments ADD COLUMN head_id uuid",
            """
            CREATE TABLE approval_processes (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                priority int NOT NULL DEFAULT 100,
                condition jsonb,
                steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
                cc jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(cc) = 'array'),
                active boolean NOT NULL DEFAULT true,
                version int NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_processes_by_entity ON approval_processes (tenant_id, entity, priority)",
            """
            CREATE TABLE approval_instances (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                record_id uuid NOT NULL,
                process_id uuid NOT NULL,
                process_name text NOT NULL,
                status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'returned', 'withdrawn')),
                current_step int,
                path jsonb NOT NULL DEFAULT '[]',
                cc uuid[] NOT NULL DEFAULT '{}',
                comment text CHECK (length(comment) <= 2000),
                submitted_by uuid NOT NULL,
                submitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                finished_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, process_id) REFERENCES approval_processes (tenant_id, id),
                FOREIGN KEY (tenant_id, submitted_by) REFERENCES users (tenant_id, id)
            )
            """,
            // At most one running approval per record: a second submit fails on this index.
            "CREATE UNIQUE INDEX approval_one_pending ON approval_instances (tenant_id, record_id) WHERE status = 'pending'",
            "CREATE INDEX approval_instances_by_record ON approval_instances (tenant_id, record_id, submitted_at)",
            "CREATE INDEX approval_instances_by_submitter ON approval_instances (tenant_id, submitted_by, submitted_at)",
            "CREATE INDEX approval_instances_cc ON approval_instances USING gin (cc)",
            """
            CREATE TABLE approval_tasks (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                instance_id uuid NOT NULL,
                step int NOT NULL CHECK (step >= 0),
                approver_id uuid NOT NULL,
                status text NOT NULL CHECK (status IN ('waiting', 'pending', 'approved', 'rejected', 'returned', 'skipped', 'cancelled')),
                decided_by uuid,
                comment text CHECK (length(comment) <= 2000),
                activated_at timestamptz,
                decided_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, instance_id, step, approver_id),
                FOREIGN KEY (tenant_id, instance_id) REFERENCES approval_instances (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, approver_id) REFERENCES users (tenant_id, id),
                FOREIGN KEY (tenant_id, decided_by) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_tasks_open ON approval_tasks (tenant_id, approver_id) WHERE status = 'pending'",
            """
            CREATE TABLE approval_delegations (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL,
                delegate_id uuid NOT NULL,
                starts_on date NOT NULL,
                ends_on date NOT NULL,
                created_by uuid NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                CHECK (ends_on >= starts_on),
                CHECK (user_id <> delegate_id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
                FOREIGN KEY (tenant_id, delegate_id) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_delegations_by_user ON approval_delegations (tenant_id, user_id)",
            "CREATE INDEX approval_delegations_by_delegate ON approval_delegations (tenant_id, delegate_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON approval_processes, approval_instances, approval_tasks, approval_delegations TO {{app_role}}",
        ] + FrozenRoleGrants.migration9
            + ["approval_processes", "approval_instances", "approval_tasks", "approval_delegations"].flatMap(TenantTable.isolate)
    )
}

extension CoreMigrations {
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
}

extension CoreMigrations {
    /// TOTP two-factor sign-in (issue 23): a user's authenticator secret, their one-time
    /// recovery codes (hashed), browsers they asked to be remembered (hashed tokens), pending
    /// second steps between the password and the session, and the tenant's requirement
    /// (everyone, or the members of some roles).
    ///
    /// The secret must be readable by the server to check codes, so it cannot be hashed: it is
    /// AES-GCM encrypted with `ATRIUM_SECRET_KEY` when the server has one (`aesgcm:` prefix),
    /// else kept as text (`plain:` prefix) — see ``TwoFactorSecretBox``.
    static let twoFactor = Migration(
        version: 27,
        name: "two_factor",
        statements: [
            """
            CREATE TABLE user_two_factor (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                user_id uuid NOT NULL,
                secret text NOT NULL CHECK (secret LIKE 'aesgcm:%' OR secret LIKE 'plain:%'),
                enabled_at timestamptz,
                last_used_step bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, user_id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            """
            CREATE TABLE two_factor_recovery_codes (
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL,
                code_hash text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                used_at timestamptz,
                PRIMARY KEY (tenant_id, user_id, code_hash),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            """
            CREATE TABLE two_factor_devices (
                tenant_id uuid NOT NULL,
                token_hash text NOT NULL,
                user_id uuid NOT NULL,
                ip text,
                user_agent text,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, token_hash),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX two_factor_devices_by_user ON two_factor_devices (tenant_id, user_id)",
            """
            CREATE TABLE two_factor_challenges (
                tenant_id uuid NOT NULL,
                token_hash text NOT NULL,
                user_id uuid NOT NULL,
                purpose text NOT NULL CHECK (purpose IN ('verify', 'enrol')),
                email text NOT NULL,
                failures int NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, token_hash),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX two_factor_challenges_by_user ON two_factor_challenges (tenant_id, user_id)",
            """
            CREATE TABLE tenant_two_factor_policy (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                require_all boolean NOT NULL DEFAULT false,
                updated_by uuid,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id)
            )
            """,
            """
            CREATE TABLE tenant_two_factor_roles (
                tenant_id uuid NOT NULL,
                role_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, role_id),
                FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
            )
            """,
            """
            GRANT SELECT, INSERT, UPDATE, DELETE ON user_two_factor, two_factor_recovery_codes, two_factor_devices,
                two_factor_challenges, tenant_two_factor_policy, tenant_two_factor_roles TO {{app_role}}
            """,
        ] + ["user_two_factor", "two_factor_recovery_codes", "two_factor_devices", "two_factor_challenges",
             "tenant_two_factor_policy", "tenant_two_factor_roles"].flatMap(TenantTable.isolate)
    )
}

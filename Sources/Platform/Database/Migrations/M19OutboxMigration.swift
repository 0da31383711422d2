extension CoreMigrations {
    /// The durable outbox (issue 16): what must leave the system (an e-mail, later a webhook
    /// call) is written in the business transaction and delivered afterwards by a worker with
    /// retries, so a slow or dead mail server never slows a request and a rolled-back change
    /// sends nothing.
    ///
    /// A row is `pending` until a worker claims it: the claim sets `sending`, counts the
    /// attempt and moves `next_attempt_at` to the end of the worker's lease, so a row whose
    /// worker died becomes due again by itself. Workers find due tenants through
    /// `atrium_outbox_due_tenants`, the one cross-tenant read the application role may make:
    /// it runs as the owner with a SELECT policy for the owner that holds only while the function
    /// has `atrium.outbox_dispatch` on, returns tenant ids and nothing else, and the worker then works in each
    /// tenant's own RLS context.
    ///
    /// Notification preferences say, per user and notification kind, whether a channel other
    /// than the in-app inbox is wanted (no row: the kind's default). Mail settings hold a
    /// tenant's sender name and addresses; the relay itself is the server's (`ATRIUM_SMTP_URL`).
    static let outbox = Migration(
        version: 19,
        name: "outbox",
        statements: [
            """
            CREATE TABLE outbox (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                channel text NOT NULL CHECK (channel ~ '^[a-z][a-z0-9_]*$'),
                payload jsonb NOT NULL,
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                sent_at timestamptz,
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending')",
            "CREATE INDEX outbox_tenant_due ON outbox (tenant_id, next_attempt_at) WHERE status IN ('pending', 'sending')",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {{app_role}}",
        ] + TenantTable.isolate("outbox") + [
            """
            CREATE POLICY outbox_dispatch ON outbox FOR SELECT TO CURRENT_USER
                USING (current_setting('atrium.outbox_dispatch', true) = 'on')
            """,
            """
            CREATE FUNCTION atrium_outbox_due_tenants(max_tenants integer) RETURNS SETOF uuid
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
                BEGIN
                    PERFORM set_config('atrium.outbox_dispatch', 'on', true);
                    RETURN QUERY SELECT due.tenant_id FROM (
                        SELECT o.tenant_id, min(o.next_attempt_at) AS first_due FROM outbox o
                        WHERE o.status IN ('pending', 'sending') AND o.next_attempt_at <= now()
                        GROUP BY o.tenant_id
                    ) due ORDER BY due.first_due LIMIT max_tenants;
                    PERFORM set_config('atrium.outbox_dispatch', '', true);
                END
            $fn$
            """,
            "REVOKE ALL ON FUNCTION atrium_outbox_due_tenants(integer) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION atrium_outbox_due_tenants(integer) TO {{app_role}}",
            """
            CREATE TABLE notification_preferences (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                user_id uuid NOT NULL,
                kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
                channel text NOT NULL CHECK (channel IN ('email')),
                enabled boolean NOT NULL,
                PRIMARY KEY (tenant_id, user_id, kind, channel),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON notification_preferences TO {{app_role}}",
        ] + TenantTable.isolate("notification_preferences") + [
            """
            CREATE TABLE tenant_mail_settings (
                tenant_id uuid NOT NULL REFERENCES tenants (id) PRIMARY KEY,
                sender_name text CHECK (length(sender_name) <= 100),
                sender_address text CHECK (length(sender_address) <= 254),
                reply_to text CHECK (length(reply_to) <= 254),
                email_enabled boolean NOT NULL DEFAULT true,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_mail_settings TO {{app_role}}",
        ] + TenantTable.isolate("tenant_mail_settings")
    )
}

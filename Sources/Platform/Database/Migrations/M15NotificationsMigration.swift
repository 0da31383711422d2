extension CoreMigrations {
    /// The in-app notification centre (issue 16): one row per recipient and event, kept per
    /// tenant under RLS. The text is not stored: `kind` names a locale key
    /// (`notifications.kinds.<kind>`) and `arguments` its values as of the event (who, which
    /// record), so each reader sees it in their own language. A user's notifications go with
    /// the user.
    static let notifications = Migration(
        version: 15,
        name: "notifications",
        statements: [
            """
            CREATE TABLE notifications (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL,
                kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
                entity text,
                record_id uuid,
                actor_id uuid,
                arguments jsonb NOT NULL DEFAULT '{}'::jsonb,
                created_at timestamptz NOT NULL DEFAULT now(),
                read_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX notifications_inbox ON notifications (tenant_id, user_id, created_at DESC)",
            "CREATE INDEX notifications_unread ON notifications (tenant_id, user_id) WHERE read_at IS NULL",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO {{app_role}}",
        ] + TenantTable.isolate("notifications")
    )
}

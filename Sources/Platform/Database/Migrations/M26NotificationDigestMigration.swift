extension CoreMigrations {
    /// The daily e-mail digest (issue 16): a user who asks for it gets one mail each morning
    /// listing their unread notifications of the last day; this remembers who got today's, so
    /// a second run or a second app node sends none.
    static let notificationDigest = Migration(
        version: 26,
        name: "notification_digests",
        statements: [
            """
            CREATE TABLE notification_digests_sent (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                user_id uuid NOT NULL,
                day date NOT NULL,
                notifications int NOT NULL,
                sent_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, user_id, day),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "GRANT SELECT, INSERT, DELETE ON notification_digests_sent TO {{app_role}}",
        ] + TenantTable.isolate("notification_digests_sent")
    )
}

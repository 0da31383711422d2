extension CoreMigrations {
    /// Group robots (issue 16): a tenant's WeChat Work (企业微信), DingTalk (钉钉) or Feishu (飞书)
    /// group webhooks that hear chosen notification kinds — one message to the group per event,
    /// not per recipient — delivered through the outbox (channel `robot`). DingTalk and Feishu
    /// robots may carry a signing secret (their "加签" option), kept as is because signing needs it.
    static let notificationRobots = Migration(
        version: 22,
        name: "notification_robots",
        statements: [
            """
            CREATE TABLE notification_robots (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                kind text NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'feishu')),
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
                secret text CHECK (length(secret) <= 200),
                kinds text[] NOT NULL CHECK (cardinality(kinds) BETWEEN 1 AND 100),
                locale text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX notification_robots_active ON notification_robots (tenant_id) WHERE active",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON notification_robots TO {{app_role}}",
        ] + TenantTable.isolate("notification_robots")
    )
}

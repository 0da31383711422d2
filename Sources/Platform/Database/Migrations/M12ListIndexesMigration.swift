extension CoreMigrations {
    /// Index orders for lists on large tenants (issue 14, checked with EXPLAIN as the app role
    /// on a 100 000-record tenant among 1 000 000 rows): a list sorted by update time, and the
    /// owner and department branches of a data scope walked in creation order, stop at the page
    /// instead of sorting every match. Statistics over (entity, field, key) of the key table
    /// let the planner see that one picklist value matches 40 % of an entity and not 23 rows.
    static let listIndexes = Migration(
        version: 12,
        name: "list_indexes",
        statements: [
            "CREATE INDEX records_live_updated ON records (tenant_id, entity, updated_at DESC) WHERE deleted_at IS NULL",
            "CREATE INDEX records_live_by_owner ON records (tenant_id, entity, owner_id, created_at DESC) WHERE deleted_at IS NULL",
            "CREATE INDEX records_live_by_department ON records (tenant_id, entity, department_id, created_at DESC) WHERE deleted_at IS NULL",
            "CREATE STATISTICS record_index_keys (mcv, dependencies) ON entity, field, key FROM record_index",
            "ANALYZE record_index",
        ]
    )
}

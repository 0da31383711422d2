extension CoreMigrations {
    /// Planner statistics of `record_index` right after a set-wise import (issue 14). An import
    /// writes tens of thousands of keys of one entity in one statement; until autovacuum analyzes
    /// the table (a minute or more later) the planner has no statistics for those (entity, field,
    /// key) values, and a list filtered on three fields ran for over two minutes instead of 15 ms
    /// (measured on a 20 000-row import). The application role owns no table and so cannot run
    /// ANALYZE itself; this function of the owner does it for the import, inside the import's
    /// transaction (so the sample includes its rows), skipping it when autovacuum holds the table.
    static let recordKeyStatistics = Migration(
        version: 14,
        name: "record_key_statistics",
        statements: [
            """
            CREATE FUNCTION atrium_analyze_record_keys() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = public, pg_temp AS $fn$
            BEGIN
                ANALYZE (SKIP_LOCKED) record_index;
            END
            $fn$
            """,
            "REVOKE ALL ON FUNCTION atrium_analyze_record_keys() FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION atrium_analyze_record_keys() TO {{app_role}}",
        ]
    )
}

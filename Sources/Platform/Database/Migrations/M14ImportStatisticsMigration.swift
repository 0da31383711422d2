extension CoreMigrations {
    /// Planner statistics of `records` and `record_index` right after a set-wise import
    /// (issue 14). An import writes tens of thousands of records of one entity, and their keys,
    /// in one statement each; until autovacuum analyzes the tables (up to a minute later) the
    /// planner believes the entity has next to no rows and joins the keys of a filtered list in
    /// nested loops: a list filtered on three fields right after a 20 000-row import took 5.6 s
    /// (over 20 s with the test suite running beside it) where it takes 22 ms once analyzed —
    /// stale statistics of `records` alone were enough for the bad plan, with `record_index`
    /// already analyzed. Migration 12's `record_index_keys` only declares which statistics
    /// ANALYZE gathers; it does not keep them current.
    ///
    /// The application role owns no table and so cannot run ANALYZE itself; this function of
    /// the owner does it for the import, inside the import's transaction (so the sample
    /// includes its rows), skipping a table that autovacuum holds at that moment.
    static let importStatistics = Migration(
        version: 14,
        name: "import_statistics",
        statements: [
            """
            CREATE FUNCTION atrium_analyze_after_import() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = public, pg_temp AS $fn$
            BEGIN
                ANALYZE (SKIP_LOCKED) records, record_index;
            END
            $fn$
            """,
            "REVOKE ALL ON FUNCTION atrium_analyze_after_import() FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION atrium_analyze_after_import() TO {{app_role}}",
        ]
    )
}

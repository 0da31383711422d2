extension CoreMigrations {
    /// Search that an index can answer under forced RLS (issue 14): `LIKE` is not leakproof,
    /// so the trigram index on `records.search` was never used for a tenant query and `q=` read
    /// every row of the entity (p50 ~480 ms on 100 000 leads). Each record's search text is
    /// also kept as tokens in `record_search_tokens` — every bigram of each run of Chinese
    /// characters, and each word of ASCII letters and digits — matched with `=` or a range on
    /// a C-collated key, which PostgreSQL may use inside RLS; the exact `LIKE` still decides.
    ///
    /// Statement-level triggers with transition tables keep the tokens in the record's
    /// transaction for every writer (engine, bulk import, SQL seeding), one set-wise statement
    /// per statement on `records`. `SearchTokens` in Swift splits a query the same way.
    static let searchTokens = Migration(
        version: 13,
        name: "search_tokens",
        statements: [
            """
            CREATE TABLE record_search_tokens (
                tenant_id uuid NOT NULL,
                entity text NOT NULL,
                token text COLLATE "C" NOT NULL,
                record_id uuid NOT NULL,
                PRIMARY KEY (tenant_id, entity, token, record_id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE
            )
            """,
            "CREATE INDEX record_search_tokens_by_record ON record_search_tokens (tenant_id, record_id)",
            "GRANT SELECT, INSERT, DELETE ON record_search_tokens TO {{app_role}}",
            // Words: runs of a-z and 0-9 (at most 60 characters kept); Chinese: every two
            // neighbouring characters of a run of CJK ideographs. Anything else separates.
            """
            CREATE FUNCTION atrium_search_tokens(body text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT coalesce(array_agg(DISTINCT token), '{}') FROM (
                    SELECT left(word, 60) AS token FROM regexp_split_to_table(lower(coalesce(body, '')), '[^a-z0-9]+') AS word
                    WHERE word <> ''
                    UNION ALL
                    SELECT substr(run, i, 2) FROM regexp_split_to_table(coalesce(body, ''), '[^㐀-䶿一-鿿豈-﫿]+') AS run,
                        generate_series(1, length(run) - 1) AS i
                    WHERE length(run) >= 2
                ) AS tokens
            $$
            """,
            """
            CREATE FUNCTION atrium_search_tokens_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO record_search_tokens (tenant_id, entity, token, record_id)
                SELECT n.tenant_id, n.entity, t.token, n.id FROM inserted n, unnest(atrium_search_tokens(n.search)) AS t (token)
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE FUNCTION atrium_search_tokens_updated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM record_search_tokens s USING changed_old o, changed_new n
                WHERE o.id = n.id AND o.tenant_id = n.tenant_id AND o.search IS DISTINCT FROM n.search
                  AND s.tenant_id = o.tenant_id AND s.record_id = o.id;
                INSERT INTO record_search_tokens (tenant_id, entity, token, record_id)
                SELECT n.tenant_id, n.entity, t.token, n.id FROM changed_old o JOIN changed_new n ON o.id = n.id AND o.tenant_id = n.tenant_id,
                    unnest(atrium_search_tokens(n.search)) AS t (token)
                WHERE o.search IS DISTINCT FROM n.search
                ON CONFLICT DO NOTHING;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER search_tokens_inserted AFTER INSERT ON records REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION atrium_search_tokens_inserted()
            """,
            """
            CREATE TRIGGER search_tokens_updated AFTER UPDATE ON records REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
            FOR EACH STATEMENT EXECUTE FUNCTION atrium_search_tokens_updated()
            """,
            // Existing records, tenant by tenant (RLS is forced for the owner too).
            """
            DO $$
            DECLARE
                tenant uuid;
            BEGIN
                FOR tenant IN SELECT id FROM tenants LOOP
                    PERFORM set_config('app.tenant_id', tenant::text, true);
                    INSERT INTO record_search_tokens (tenant_id, entity, token, record_id)
                    SELECT r.tenant_id, r.entity, t.token, r.id FROM records r, unnest(atrium_search_tokens(r.search)) AS t (token)
                    ON CONFLICT DO NOTHING;
                END LOOP;
                PERFORM set_config('app.tenant_id', '', true);
            END
            $$
            """,
        ] + TenantTable.isolate("record_search_tokens")
    )
}

#!/usr/bin/env bash
# NOT RUN IN CI. First-start script of the "db" service in deploy/compose.yaml, mounted into
# /docker-entrypoint-initdb.d/ of the postgres image: creates the Atrium roles and database
# exactly as deploy/install.sh does on a host (schema owner, application role without
# BYPASSRLS, read-only backup role that bypasses RLS). Passwords come from the environment
# and reach psql through stdin, never its command line.
set -euo pipefail

: "${ATRIUM_OWNER_PASSWORD:?set ATRIUM_OWNER_PASSWORD}"
: "${ATRIUM_APP_PASSWORD:?set ATRIUM_APP_PASSWORD}"
: "${ATRIUM_BACKUP_PASSWORD:?set ATRIUM_BACKUP_PASSWORD}"

quote() {
    local v=${1//\\/\\\\}
    printf "'%s'" "${v//\'/\\\'}"
}

{
    printf '\\set owner_pw %s\n' "$(quote "$ATRIUM_OWNER_PASSWORD")"
    printf '\\set app_pw %s\n' "$(quote "$ATRIUM_APP_PASSWORD")"
    printf '\\set backup_pw %s\n' "$(quote "$ATRIUM_BACKUP_PASSWORD")"
    cat <<'SQL'
SELECT format('CREATE ROLE atrium_owner LOGIN PASSWORD %L NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', :'owner_pw') \gexec
SELECT format('CREATE ROLE atrium_app LOGIN PASSWORD %L NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', :'app_pw') \gexec
SELECT format('CREATE ROLE atrium_backup LOGIN PASSWORD %L NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE', :'backup_pw') \gexec
ALTER ROLE atrium_backup SET default_transaction_read_only = on;
GRANT pg_read_all_data TO atrium_backup;
CREATE DATABASE atrium OWNER atrium_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE atrium FROM PUBLIC;
GRANT CONNECT ON DATABASE atrium TO atrium_app, atrium_backup;
\connect atrium
ALTER SCHEMA public OWNER TO atrium_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
} | psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres

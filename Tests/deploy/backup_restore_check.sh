#!/usr/bin/env bash
# End-to-end check of the documented backup and restore (deploy/README.md, section 9):
#
#   1. cluster A (scripts/pg-cluster.sh, throwaway): atrium-admin migrate + demo, and the
#      backup role atrium_backup created as in deploy/README.md section 3; the server runs on
#      A once, the demo administrator signs in and attaches a file to a customer;
#   2. deploy/backup/atrium-backup.sh --env - --dir DIR --files-dir A's files folder,
#      connection in PG* variables: the dump and the files archive;
#   3. a fresh cluster B (other port, roles as pg-cluster.sh and section 3 create them):
#      deploy/backup/atrium-restore.sh into the new database atrium_restored, the files into
#      a new folder (--files-dir);
#   4. every table's row count in B equals A's; then the server (.build/debug/atrium, as the
#      application role) runs against atrium_restored and the restored files, /readyz answers,
#      the demo administrator signs in through the real login form (tenant from the host name
#      demo.localhost), the demo data is there through the JSON API (12 accounts, 3 expense
#      claims, the customer 北京华通科技有限公司) and the attached file downloads byte for byte.
#
# Uses the binaries already in .build/debug (it never builds). Run from anywhere; as root the
# clusters run as the `postgres` OS user (as scripts/pg-cluster.sh does). `make test` runs it.
# Prints one line per check; on a failure, a one-line "backup_restore_check: FAILED: <reason>"
# (after the tail of the failing step's log, if any) and exit status 1.
# Both clusters, the server and every temporary file are removed on exit.
set -euo pipefail
umask 077

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$REPO/.build/debug
PG_CLUSTER=$REPO/scripts/pg-cluster.sh
PROG=backup_restore_check
RESTORED_DB=atrium_restored
DEMO_HOST=demo.localhost
DEMO_ADMIN=admin@demo.atrium.test
DEMO_CUSTOMER=北京华通科技有限公司
EXPECTED_ACCOUNTS=12  # sales demo 8 + its 3 customers in the company pool (公海) + the marketing demo's won customer (宁波精工机械有限公司)
EXPECTED_EXPENSE_CLAIMS=3

die() { printf '%s: FAILED: %s\n' "$PROG" "$*" >&2; exit 1; }
ok() { printf 'ok - %s\n' "$*"; }
# Shows the tail of a log (to stderr) before the one-line reason.
show_log() { if [[ -s $1 ]]; then printf -- '--- last lines of %s\n' "$1" >&2; tail -n 15 -- "$1" >&2; fi; }

started=$SECONDS
# As root the clusters run as the `postgres` OS user (pg-cluster.sh), otherwise as the caller.
if [[ $(id -u) -eq 0 ]]; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
tools=(curl python3 pg_dump pg_restore psql)
[[ $(id -u) -eq 0 ]] && tools+=(runuser)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
for exe in atrium atrium-admin; do
    [[ -x $BIN/$exe ]] || die "$BIN/$exe is missing: build first (swift build, or make test)"
done

PG_A='' PG_B='' WORK='' SERVER_PID=''
cleanup() {
    set +e
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    for dir in "$PG_A" "$PG_B"; do
        if [[ -n $dir ]]; then "$PG_CLUSTER" stop "$dir"; rm -rf -- "$(realpath "$dir")" "$dir"; fi
    done
    if [[ -n $WORK ]]; then rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WORK=$(mktemp -d /tmp/atrium-backup-check.XXXXXX)
PG_A=$(mktemp -d /tmp/atrium-backup-check-pgA.XXXXXX)
PG_B=$(mktemp -d /tmp/atrium-backup-check-pgB.XXXXXX)

# Reads NAME from a pg-cluster env file (DATABASE_URL, DATABASE_OWNER_URL).
env_value() { sed -n "s/^$2=//p" "$1/env"; }
url_port() { local u=${1##*@127.0.0.1:}; printf '%s' "${u%%/*}"; }
# psql as the cluster's superuser over its Unix socket (inside the cluster folder).
psql_super() {
    local dir=$1
    shift
    local as=()
    [[ $(id -u) -eq 0 ]] && as=(runuser -u postgres --)
    "${as[@]}" psql -X -q -At -v ON_ERROR_STOP=1 -h "$(realpath "$dir")" \
        -p "$(url_port "$(env_value "$dir" DATABASE_URL)")" -U postgres "$@"
}
# Row count of every table of the public schema (as the superuser: Row-Level Security does
# not hide rows), one "table count" line each.
table_counts() {
    psql_super "$1" -d "$2" -F ' ' -c "
        SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname), false, true, '')))[1]::text
        FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
}
# The backup role, as deploy/README.md section 3 creates it.
create_backup_role() {
    psql_super "$1" -d postgres <<SQL
CREATE ROLE atrium_backup LOGIN PASSWORD '$2' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER ROLE atrium_backup SET default_transaction_read_only = on;
GRANT pg_read_all_data TO atrium_backup;
GRANT CONNECT ON DATABASE atrium TO atrium_backup;
SQL
}
start_cluster() {
    PG_FSYNC=off "$PG_CLUSTER" start "$1" >"$WORK/pg-$2.log" 2>&1 || { show_log "$WORK/pg-$2.log"; die "cluster $2 did not start"; }
}

# ---- the server: start on a database and a files folder, stop, sign in ------------------------
# start_server DATABASE_URL FILES_DIR LOG: the server as the application role; waits for /readyz.
start_server() {
    http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    (cd "$REPO" && exec env -u DATABASE_OWNER_URL -u ATRIUM_DEFAULT_TENANT DATABASE_URL="$1" ATRIUM_PORT="$http_port" \
        ATRIUM_HOST=127.0.0.1 ATRIUM_BASE_DOMAIN=localhost ATRIUM_FILES_DIR="$2" "$BIN/atrium") >"$3" 2>&1 </dev/null &
    SERVER_PID=$!
    base=http://$DEMO_HOST:$http_port
    rm -f -- "$WORK/cookies"
    local ready=
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || { show_log "$3"; die "the server exited before /readyz answered"; }
        if curl -fsS --max-time 2 "http://127.0.0.1:$http_port/readyz" >"$WORK/readyz" 2>/dev/null; then ready=1; break; fi
        sleep 0.1
    done
    [[ -n $ready ]] || { show_log "$3"; die "the server did not answer /readyz within 30 s"; }
}
stop_server() {
    kill -TERM "$SERVER_PID"
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
curl_demo() { curl -sS --max-time 10 --resolve "$DEMO_HOST:$http_port:127.0.0.1" -b "$WORK/cookies" -c "$WORK/cookies" "$@"; }
# Signs the demo administrator in through the login form; sets $status and $csrf (the session's).
sign_in() {
    local login_page
    login_page=$(curl_demo -f "$base/login") || die "GET /login on $DEMO_HOST failed"
    csrf=$(printf '%s' "$login_page" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
    [[ -n $csrf ]] || die "the login page of $DEMO_HOST has no _csrf field"
    status=$(curl_demo -o "$WORK/login.html" -w '%{http_code} %{redirect_url}' --data-urlencode "_csrf=$csrf" \
        --data-urlencode "email=$DEMO_ADMIN" --data-urlencode "password=$password" "$base/login") || die "POST /login failed"
    [[ $status == 303\ *//$DEMO_HOST:$http_port/ || $status == 302\ *//$DEMO_HOST:$http_port/ ]] ||
        die "signing in as $DEMO_ADMIN with the printed password was refused (HTTP $status)"
    grep -q 'atrium_session' "$WORK/cookies" || die "no session cookie after signing in"
    csrf=$(curl_demo -f "$base/app/account" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
    [[ -n $csrf ]] || die "the signed-in account list has no _csrf field"
}
# GET PATH with the session into FILE; fails on a non-200.
api_get() {
    local code
    code=$(curl_demo -o "$2" -w '%{http_code}' -H 'Accept: application/json' "$base$1") || die "GET $1 failed"
    [[ $code == 200 ]] || die "GET $1 answered HTTP $code: $(head -c 200 "$2")"
}
# Evaluates a Python expression over the JSON document in FILE (as d); prints the result.
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1], encoding='utf-8')); print($2)" "$1"; }

# ---- 1. cluster A with the demo tenant ----------------------------------------------------
start_cluster "$PG_A" A
port_a=$(url_port "$(env_value "$PG_A" DATABASE_URL)")
ok "cluster A running on port $port_a"
admin_env=(env "DATABASE_URL=$(env_value "$PG_A" DATABASE_URL)" "DATABASE_OWNER_URL=$(env_value "$PG_A" DATABASE_OWNER_URL)"
    ATRIUM_ARGON2_MEMORY_KIB=1024 ATRIUM_ARGON2_ITERATIONS=1)
(cd "$REPO" && "${admin_env[@]}" "$BIN/atrium-admin" migrate) >"$WORK/migrate.log" 2>&1 ||
    { show_log "$WORK/migrate.log"; die "atrium-admin migrate on cluster A failed"; }
(cd "$REPO" && "${admin_env[@]}" "$BIN/atrium-admin" demo --credentials-file "$WORK/demo-password") >"$WORK/demo.log" 2>&1 ||
    { show_log "$WORK/demo.log"; die "atrium-admin demo on cluster A failed"; }
password=$(sed -n "s/^ *$DEMO_ADMIN *password: \([^ ]*\).*/\1/p" "$WORK/demo.log")
[[ -n $password ]] || { show_log "$WORK/demo.log"; die "atrium-admin demo did not print a password for $DEMO_ADMIN"; }
ok "cluster A: atrium-admin migrate + demo (printed the password of $DEMO_ADMIN)"
backup_password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
create_backup_role "$PG_A" "$backup_password" >"$WORK/role-A.log" 2>&1 || { show_log "$WORK/role-A.log"; die "cannot create atrium_backup on cluster A"; }
# The server on A once: the demo administrator attaches a file to the demo customer.
start_server "$(env_value "$PG_A" DATABASE_URL)" "$WORK/files-A" "$WORK/server-A.log"
sign_in
api_get "/api/v1/account?q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$DEMO_CUSTOMER")" "$WORK/customer.json"
customer=$(json "$WORK/customer.json" 'd["records"][0]["id"]') || die "the demo customer $DEMO_CUSTOMER is not in the list"
head -c 200000 /dev/urandom | base64 >"$WORK/合同扫描.txt"
code=$(curl_demo -o "$WORK/attached.json" -w '%{http_code}' -H "X-CSRF-Token: $csrf" -H 'Accept: application/json' \
    -F "file=@$WORK/合同扫描.txt;type=text/plain" "$base/api/v1/account/$customer/attachments") || die "the upload failed"
[[ $code == 201 ]] || die "attaching a file answered HTTP $code: $(head -c 200 "$WORK/attached.json")"
attachment=$(json "$WORK/attached.json" 'd["id"]')
stop_server
ok "server on A: $DEMO_ADMIN attached a $(du -h -- "$WORK/合同扫描.txt" | cut -f1) file to $DEMO_CUSTOMER"
table_counts "$PG_A" atrium >"$WORK/counts-A" || die "cannot count the rows of cluster A"

# ---- 2. the documented backup ----------------------------------------------------------------
mkdir "$WORK/backups"
PGHOST=127.0.0.1 PGPORT=$port_a PGDATABASE=atrium PGUSER=atrium_backup PGPASSWORD=$backup_password \
    "$REPO/deploy/backup/atrium-backup.sh" --env - --dir "$WORK/backups" --files-dir "$WORK/files-A" >"$WORK/backup.log" 2>&1 ||
    { show_log "$WORK/backup.log"; die "deploy/backup/atrium-backup.sh failed"; }
dumps=("$WORK"/backups/atrium-*.dump)
[[ ${#dumps[@]} -eq 1 && -f ${dumps[0]} && -f ${dumps[0]}.sha256 ]] ||
    { show_log "$WORK/backup.log"; die "atrium-backup.sh did not leave exactly one dump with its .sha256"; }
dump=${dumps[0]}
[[ -f ${dump%.dump}.files.tar && -f ${dump%.dump}.files.tar.sha256 ]] ||
    { show_log "$WORK/backup.log"; die "atrium-backup.sh did not write the files archive ${dump%.dump}.files.tar with its .sha256"; }
ok "atrium-backup.sh --env - --dir --files-dir: ${dump##*/} ($(du -h -- "$dump" | cut -f1)) and ${dump##*/}'s files archive, each with .sha256"
# The first cluster and its files folder go away: the restore must not depend on them.
"$PG_CLUSTER" stop "$PG_A"
rm -rf -- "$WORK/files-A"

# ---- 3. restore into a fresh cluster -----------------------------------------------------------
start_cluster "$PG_B" B
port_b=$(url_port "$(env_value "$PG_B" DATABASE_URL)")
[[ $port_b != "$port_a" ]] || die "cluster B got cluster A's port $port_a"
# atrium_owner and atrium_app come from pg-cluster.sh (section 3's attributes); atrium_backup
# as in section 3.
create_backup_role "$PG_B" "$backup_password" >"$WORK/role-B.log" 2>&1 || { show_log "$WORK/role-B.log"; die "cannot create atrium_backup on cluster B"; }
ok "cluster B running on port $port_b (roles atrium_owner, atrium_app, atrium_backup)"
PGHOST=$(realpath "$PG_B") PGUSER=postgres "$REPO/deploy/backup/atrium-restore.sh" --port "$port_b" --pg-os-user "$PG_OS_USER" \
    --files-dir "$WORK/files-B" "$dump" "$RESTORED_DB" >"$WORK/restore.log" 2>&1 || { show_log "$WORK/restore.log"; die "deploy/backup/atrium-restore.sh failed"; }
grep -q "restored .* into $RESTORED_DB" "$WORK/restore.log" || { show_log "$WORK/restore.log"; die "atrium-restore.sh did not report the restore"; }
ok "atrium-restore.sh: $(sed -n "s/^atrium-restore: restored .* into \(.*\)$/\1/p" "$WORK/restore.log")"
table_counts "$PG_B" "$RESTORED_DB" >"$WORK/counts-B" || die "cannot count the rows of the restored database"
if ! diff -u "$WORK/counts-A" "$WORK/counts-B" >"$WORK/counts.diff"; then
    show_log "$WORK/counts.diff"
    die "the restored database's row counts differ from the original's"
fi
ok "row counts of all $(wc -l <"$WORK/counts-B") tables equal the original's ($(awk '{n += $2} END {print n}' "$WORK/counts-B") rows)"

# ---- 4. the server on the restored database -------------------------------------------------------
app_url=$(env_value "$PG_B" DATABASE_URL)
app_url=${app_url%/atrium}/$RESTORED_DB
start_server "$app_url" "$WORK/files-B" "$WORK/server.log"
ok "server (as atrium_app on $RESTORED_DB) answers /readyz: $(cat "$WORK/readyz")"
sign_in
ok "signed in as $DEMO_ADMIN on $DEMO_HOST through POST /login (HTTP ${status%% *}, session cookie set)"


api_get /api/v1/me "$WORK/me.json"
me=$(json "$WORK/me.json" 'd["user"]["email"]') || die "GET /api/v1/me did not return a user"
[[ $me == "$DEMO_ADMIN" ]] || die "GET /api/v1/me returned $me, not $DEMO_ADMIN"
api_get /api/v1/account "$WORK/accounts.json"
total=$(json "$WORK/accounts.json" 'd["total"]') || die "GET /api/v1/account returned no total"
[[ $total == "$EXPECTED_ACCOUNTS" ]] || die "GET /api/v1/account: total $total, the demo tenant has $EXPECTED_ACCOUNTS"
found=$(json "$WORK/accounts.json" "any('$DEMO_CUSTOMER' in json.dumps(r, ensure_ascii=False) for r in d['records'])") || found=
[[ $found == True ]] || die "GET /api/v1/account does not list the demo customer $DEMO_CUSTOMER"
ok "GET /api/v1/account: total $total, includes $DEMO_CUSTOMER"
api_get /api/v1/expense_claim "$WORK/claims.json"
claims=$(json "$WORK/claims.json" 'd["total"]') || die "GET /api/v1/expense_claim returned no total"
[[ $claims == "$EXPECTED_EXPENSE_CLAIMS" ]] || die "GET /api/v1/expense_claim: total $claims, the demo tenant has $EXPECTED_EXPENSE_CLAIMS"
ok "GET /api/v1/expense_claim: total $claims"
page_code=$(curl_demo -o "$WORK/account.html" -w '%{http_code}' "$base/app/account") || die "GET /app/account failed"
if [[ $page_code != 200 ]] || ! grep -qF "$DEMO_CUSTOMER" "$WORK/account.html"; then
    die "the page /app/account (HTTP $page_code) does not show $DEMO_CUSTOMER"
fi
ok "the page /app/account shows $DEMO_CUSTOMER"

code=$(curl_demo -o "$WORK/downloaded" -w '%{http_code}' "$base/api/v1/account/$customer/attachments/$attachment") ||
    die "downloading the attachment failed"
[[ $code == 200 ]] || die "the attachment of $DEMO_CUSTOMER answered HTTP $code after the restore"
cmp -s "$WORK/downloaded" "$WORK/合同扫描.txt" || die "the restored attachment differs from the uploaded file"
ok "the file attached on A downloads byte for byte from the restored server"

printf '%s: PASS - backup on cluster A restored into cluster B, demo tenant signs in with its data and files (%d s)\n' "$PROG" "$((SECONDS - started))"

#!/usr/bin/env bash
# atrium-restore: restore an atrium-backup dump into a NEW database, next to the live one —
# and, with --files-dir, its attachment files into a NEW folder — then print the steps to
# switch over. It never touches the live database or the live files folder by itself.
#
# Installed as /opt/atrium/bin/atrium-restore. Run as root on the database host: it uses
# the local PostgreSQL superuser (OS user "postgres", peer authentication on the Unix
# socket) to create the database, and restores as the schema owner (pg_restore --role), so
# every object ends up owned by the owner role, exactly as after "atrium-admin migrate".
set -euo pipefail
umask 077

readonly PROG=atrium-restore
OWNER=atrium_owner
APP_ROLE=atrium_app
PG_OS_USER=postgres
PG_PORT=${PGPORT:-5432}
FORCE=0
LIVE_DB=
FILES_DIR=
FILES_ARCHIVE=
FILES_OWNER=atrium

usage() {
    cat <<EOF
Usage: $PROG [options] DUMP_FILE NEW_DATABASE

Creates NEW_DATABASE (owner: the schema owner), restores DUMP_FILE (made by atrium-backup,
pg_dump -Fc) into it, checks it, and prints how to switch the server over. Refuses to use a
database that already exists unless --force is given, in which case that database is
DROPPED first (connections to it are terminated). With --files-dir, also unpacks the
attachment files taken with the dump (DUMP_FILE without .dump, plus .files.tar) into DIR,
which must not exist or be empty.

  --force            drop NEW_DATABASE first if it exists
  --files-dir DIR    unpack the files archive into DIR (a new folder; the live one is not touched)
  --files-archive F  the files archive (default: DUMP_FILE's name with .files.tar for .dump)
  --files-owner USER owner given to the unpacked files when that user exists (default: $FILES_OWNER)
  --owner ROLE       schema owner role (default: $OWNER)
  --app-role ROLE    application role that must exist (default: $APP_ROLE)
  --pg-os-user USER  OS user that is a PostgreSQL superuser via peer auth (default: $PG_OS_USER)
  --port PORT        PostgreSQL port (default: \$PGPORT or 5432); PGHOST is honoured
  -h, --help         this text

Example:
  $PROG /var/backups/atrium/atrium-20261123T023012Z.dump atrium_restored
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
fail() { printf '%s: FAILED: %s\n' "$PROG" "$*" >&2; exit 1; }

ARGS=()
while (($#)); do
    case $1 in
        --force) FORCE=1; shift ;;
        --files-dir) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; FILES_DIR=$2; shift 2 ;;
        --files-archive) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; FILES_ARCHIVE=$2; shift 2 ;;
        --files-owner) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; FILES_OWNER=$2; shift 2 ;;
        --owner) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; OWNER=$2; shift 2 ;;
        --app-role) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; APP_ROLE=$2; shift 2 ;;
        --pg-os-user) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; PG_OS_USER=$2; shift 2 ;;
        --port) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; PG_PORT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; ARGS+=("$@"); break ;;
        -*) printf '%s: unknown option %s\n' "$PROG" "$1" >&2; usage >&2; exit 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
if [[ ${#ARGS[@]} -ne 2 ]]; then usage >&2; exit 2; fi
DUMP=${ARGS[0]}
NEW_DB=${ARGS[1]}

ident='^[a-z_][a-z0-9_]{0,62}$'
[[ $NEW_DB =~ $ident ]] || fail "database name '$NEW_DB' must be a lower-case identifier ([a-z_][a-z0-9_]*)"
[[ $OWNER =~ $ident ]] || fail "owner role '$OWNER' must be a lower-case identifier"
[[ $APP_ROLE =~ $ident ]] || fail "application role '$APP_ROLE' must be a lower-case identifier"
[[ $PG_PORT =~ ^[0-9]{1,5}$ ]] || fail "port '$PG_PORT' is not a number"
case $NEW_DB in postgres | template0 | template1) fail "refusing to restore into '$NEW_DB'" ;; esac
[[ -r $DUMP ]] || fail "cannot read $DUMP"
if [[ -r $DUMP.sha256 ]]; then
    (cd "$(dirname -- "$DUMP")" && sha256sum --check --quiet -- "$(basename -- "$DUMP").sha256") ||
        fail "$DUMP does not match its .sha256: the file is damaged"
    log "checksum of $DUMP verified"
fi
FILES_ARCHIVE=${FILES_ARCHIVE:-${DUMP%.dump}.files.tar}
if [[ -n $FILES_DIR ]]; then
    [[ $FILES_DIR == /* ]] || fail "--files-dir must be an absolute path, got '$FILES_DIR'"
    [[ -r $FILES_ARCHIVE ]] || fail "no files archive $FILES_ARCHIVE to unpack into $FILES_DIR (pass --files-archive)"
    if [[ -e $FILES_DIR ]] && [[ -n $(ls -A -- "$FILES_DIR" 2>/dev/null) ]]; then
        fail "$FILES_DIR is not empty; the files are unpacked into a new folder only"
    fi
    if [[ -r $FILES_ARCHIVE.sha256 ]]; then
        (cd "$(dirname -- "$FILES_ARCHIVE")" && sha256sum --check --quiet -- "$(basename -- "$FILES_ARCHIVE").sha256") ||
            fail "$FILES_ARCHIVE does not match its .sha256: the file is damaged"
        log "checksum of $FILES_ARCHIVE verified"
    fi
    tar --list --file="$FILES_ARCHIVE" >/dev/null || fail "$FILES_ARCHIVE is not a readable tar archive"
elif [[ -r $FILES_ARCHIVE ]]; then
    log "note: $FILES_ARCHIVE (the attachment files) is not unpacked: pass --files-dir DIR to restore them too"
fi

# Runs a command as the PostgreSQL superuser's OS account (directly when we are that user).
as_pg() {
    if [[ $(id -un) == "$PG_OS_USER" ]]; then
        "$@"
    else
        [[ $(id -u) -eq 0 ]] || fail "run as root (or as $PG_OS_USER)"
        runuser -u "$PG_OS_USER" -- "$@"
    fi
}
psql_super() { as_pg psql -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

for tool in psql pg_restore runuser tar; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done

# The dump must be readable by the postgres account: stream it through stdin instead of
# handing over the path (backups are root-only, mode 0600).
as_pg_restore_list() { as_pg pg_restore --list <"$DUMP"; }
as_pg_restore_list >/dev/null || fail "$DUMP is not a pg_dump custom-format archive"

# Name of the live database, for a louder warning (from the server's settings, if readable).
if [[ -r /etc/atrium/atrium.env ]]; then
    url=$(grep -E '^DATABASE_URL=' /etc/atrium/atrium.env | tail -n 1 || true)
    url=${url#*=}
    url=${url%%\?*}
    LIVE_DB=${url##*/}
fi

exists() { [[ $(psql_super -d postgres -c "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '$1'") == 1 ]]; }
role_exists() { [[ $(psql_super -d postgres -c "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = '$1'") == 1 ]]; }

role_exists "$OWNER" || fail "role $OWNER does not exist (create the roles first: deploy/install.sh or deploy/README.md)"
role_exists "$APP_ROLE" || fail "role $APP_ROLE does not exist (create the roles first: deploy/install.sh or deploy/README.md)"

if exists "$NEW_DB"; then
    if [[ $FORCE -ne 1 ]]; then
        fail "database $NEW_DB already exists; choose another name, or pass --force to DROP it and restore into a fresh one"
    fi
    if [[ $NEW_DB == "$LIVE_DB" ]]; then
        log "WARNING: $NEW_DB is the LIVE database named in /etc/atrium/atrium.env; dropping it because of --force"
    fi
    log "dropping existing database $NEW_DB (--force)"
    psql_super -d postgres -c "DROP DATABASE \"$NEW_DB\" WITH (FORCE)"
fi

log "creating database $NEW_DB owned by $OWNER"
psql_super -d postgres -c "CREATE DATABASE \"$NEW_DB\" OWNER \"$OWNER\" ENCODING 'UTF8' TEMPLATE template0"
psql_super -d "$NEW_DB" -c "ALTER SCHEMA public OWNER TO \"$OWNER\"" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" \
    -c "REVOKE ALL ON DATABASE \"$NEW_DB\" FROM PUBLIC" -c "GRANT CONNECT ON DATABASE \"$NEW_DB\" TO \"$APP_ROLE\""
if role_exists atrium_backup; then
    psql_super -d postgres -c "GRANT CONNECT ON DATABASE \"$NEW_DB\" TO atrium_backup"
fi

# One transaction, all or nothing. (A parallel restore, pg_restore --jobs, does not work here:
# it may enable Row-Level Security before the foreign keys are checked, and the owner is
# bound by FORCE ROW LEVEL SECURITY.) The dump is streamed through stdin because backups
# are root-only files.
log "restoring in one transaction (all or nothing)"
as_pg pg_restore --dbname="$NEW_DB" --port="$PG_PORT" --role="$OWNER" --no-owner --exit-on-error \
    --single-transaction <"$DUMP" || fail "pg_restore failed; nothing was restored into $NEW_DB (it is empty: drop it)"

version=$(psql_super -d "$NEW_DB" -c "SELECT coalesce(max(version), 0) FROM schema_migrations" 2>/dev/null || echo "unknown")
tenants=$(psql_super -d "$NEW_DB" -c "SELECT count(*) FROM tenants" 2>/dev/null || echo "unknown")
owned_by_app=$(psql_super -d "$NEW_DB" -c "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = '$APP_ROLE' AND c.relkind IN ('r','p')")
[[ $owned_by_app == 0 ]] || fail "after the restore $APP_ROLE owns $owned_by_app tables; the server would refuse to start"
log "restored $DUMP into $NEW_DB: schema version $version, $tenants tenant(s)"

files_step=
if [[ -n $FILES_DIR ]]; then
    mkdir -p -- "$FILES_DIR" || fail "cannot create $FILES_DIR"
    # Members are relative (atrium-backup archives the folder's contents); GNU tar refuses
    # absolute names and '..' by default.
    tar --extract --file="$FILES_ARCHIVE" --directory="$FILES_DIR" --no-same-owner --no-same-permissions ||
        fail "unpacking $FILES_ARCHIVE into $FILES_DIR failed (the database $NEW_DB is restored)"
    if id -u "$FILES_OWNER" >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        chown -R -- "$FILES_OWNER:" "$FILES_DIR" || fail "cannot give $FILES_DIR to $FILES_OWNER"
    fi
    chmod -R u+rwX,go-rwx -- "$FILES_DIR"
    files=$(find "$FILES_DIR" -type f | wc -l)
    log "unpacked $files file(s) of $FILES_ARCHIVE into $FILES_DIR"
    files_step="
  Files: point ATRIUM_FILES_DIR in /etc/atrium/atrium.env at $FILES_DIR (or move the old
  /var/lib/atrium/files aside and $FILES_DIR into its place) before starting the server."
fi

live=${LIVE_DB:-atrium}
stamp=$(date -u +%Y%m%d%H%M)
cat <<EOF

Database $NEW_DB is ready. The live database ($live) is untouched. To switch over:

  1. Stop everything that holds connections to either database:
       systemctl stop atrium atrium-backup.timer
       systemctl stop pgbouncer          # if you use it
  2. Swap the names (the old data stays available under the new name):
       sudo -u postgres psql -p $PG_PORT -c 'ALTER DATABASE "$live" RENAME TO "${live}_before_$stamp"' \\
                             -c 'ALTER DATABASE "$NEW_DB" RENAME TO "$live"'
  3. If the dump is older than the installed release, bring its schema up to date:
       atrium-admin migrate
  4. Start again and check:
       systemctl start pgbouncer atrium atrium-backup.timer   # pgbouncer only if you use it
       curl -fsS http://127.0.0.1:8080/readyz
  5. When you are satisfied, remove the old copy:
       sudo -u postgres psql -p $PG_PORT -c 'DROP DATABASE "${live}_before_$stamp"'

(Alternatively, leave the names alone and point DATABASE_URL in /etc/atrium/atrium.env,
DATABASE_OWNER_URL in /etc/atrium/admin.env, PGDATABASE in /etc/atrium/backup.env and the
[databases] entry of /etc/pgbouncer/pgbouncer.ini at $NEW_DB.)$files_step
EOF

#!/usr/bin/env bash
# Atrium installer for a Debian 12 server. Idempotent: run it again to upgrade (new binaries,
# pending migrations, restart); existing settings and passwords are never overwritten.
# See deploy/README.md. "--dry-run" prints every action and changes nothing (no root needed).
set -euo pipefail
umask 022

readonly PROG=install.sh
DEPLOY_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly DEPLOY_DIR
readonly REPO_DIR=${DEPLOY_DIR%/*}

# Layout (kept in step with atrium.service, atrium.env.example and the backup units).
readonly PREFIX=/opt/atrium
readonly BIN_DIR=$PREFIX/bin
readonly DOC_DIR=$PREFIX/share/doc
readonly CONF_DIR=/etc/atrium
readonly ENV_FILE=$CONF_DIR/atrium.env
readonly ADMIN_ENV_FILE=$CONF_DIR/admin.env
readonly BACKUP_ENV_FILE=$CONF_DIR/backup.env
readonly PLUGINS_FILE=$CONF_DIR/plugins.json
readonly BACKUP_DIR=/var/backups/atrium
readonly UNIT_DIR=/etc/systemd/system
readonly RESOURCES=atrium_Platform.resources
# Templates, locales and static files of the feature modules (ATRIUM_MODULE_RESOURCES).
readonly MODULE_RESOURCES=atrium_Modules.resources
readonly SERVICE_USER=atrium
readonly DB_NAME=atrium
readonly OWNER_ROLE=atrium_owner
readonly APP_ROLE=atrium_app
readonly BACKUP_ROLE=atrium_backup
readonly PGBOUNCER_PORT=6432

FROM=
PLUGINS_SRC=$REPO_DIR/plugins.json
DOMAIN=
PG_PORT=5432
WITH_PGBOUNCER=0
WITH_NGINX=1
SKIP_DATABASE=0
SKIP_MIGRATE=0
NO_START=0
DRY_RUN=0
SYSTEMD_RUNNING=0

usage() {
    cat <<EOF
Usage: $PROG --from BUILD_DIR [options]

Installs or upgrades Atrium on Debian 12: packages, the system user "$SERVICE_USER",
$PREFIX, $CONF_DIR (settings with generated passwords, written only when absent), the
PostgreSQL roles $OWNER_ROLE (schema owner), $APP_ROLE (application: NOSUPERUSER
NOBYPASSRLS), $BACKUP_ROLE (read-only dumps) and the database $DB_NAME, migrations, the
systemd units (atrium.service, atrium-backup.timer, atrium-expire-trials.timer) and the nginx site file.

  --from DIR        build output holding atrium, atrium-admin and $RESOURCES/
                    (e.g. .build/release after: swift build -c release --static-swift-stdlib)
  --plugins FILE    module catalog installed as $PLUGINS_FILE when that is absent
                    (default: $PLUGINS_SRC)
  --domain DOMAIN   base domain (tenants are <slug>.DOMAIN) for a new atrium.env and the
                    nginx site; default: keep the example.com placeholders
  --with-pgbouncer  also install pgbouncer (transaction pooling, port $PGBOUNCER_PORT) and point a
                    new atrium.env at it
  --no-nginx        do not install nginx or the site file
  --skip-database   do not create roles or the database (remote/managed PostgreSQL: create
                    them as in deploy/README.md and fill in the env files yourself)
  --skip-migrate    do not run "atrium-admin migrate"
  --no-start        install and enable the units but do not (re)start atrium
  --pg-port PORT    port of the local PostgreSQL cluster (default: 5432)
  --dry-run         print every action without executing anything (works as non-root)
  -h, --help        this text

Run as root. Example:
  sudo deploy/install.sh --from .build/release --domain crm.example.com
EOF
}

# ---- output and execution ------------------------------------------------------------------

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# Prints a command, then runs it unless --dry-run.
run() {
    local quoted
    printf -v quoted '%q ' "$@"
    say "+ ${quoted% }"
    if ((DRY_RUN)); then return 0; fi
    "$@"
}

# write_file PATH MODE OWNER GROUP CONTENT: atomic write; the content is not printed (it may
# hold passwords). Used only for files that are absent, or that hold no secret.
write_file() {
    local path=$1 mode=$2 owner=$3 group=$4 content=$5 tmp
    say "+ write $path (mode $mode, $owner:$group, $(printf '%s' "$content" | wc -l) lines)"
    if ((DRY_RUN)); then return 0; fi
    tmp=$(mktemp "$path.XXXXXX")
    printf '%s' "$content" >"$tmp"
    chown "$owner:$group" "$tmp"
    chmod "$mode" "$tmp"
    mv -f -- "$tmp" "$path"
}

# install_text PATH MODE OWNER GROUP TEXT: writes a generated config file when absent; when
# it exists with other content (edited by the operator), keeps it and writes PATH.dist.
install_text() {
    local path=$1 mode=$2 owner=$3 group=$4 text=$5
    if [[ ! -e $path ]]; then
        write_file "$path" "$mode" "$owner" "$group" "$text"
    elif [[ ! -r $path ]]; then
        say "  $path exists but is not readable here (dry run as non-root?): root would compare it first"
    elif [[ $(cat -- "$path") == "${text%$'\n'}" ]]; then
        say "  $path is up to date"
    else
        say "  $path differs from the shipped version: keeping it, new version as $path.dist"
        write_file "$path.dist" "$mode" "$owner" "$group" "$text"
    fi
}

# install_config SRC DEST MODE: copies a shipped file; an operator-edited DEST is kept and
# the new version is put next to it as DEST.dist.
install_config() {
    local src=$1 dest=$2 mode=$3
    if [[ ! -e $dest ]]; then
        run install -m "$mode" -o root -g root -- "$src" "$dest"
    elif cmp -s -- "$src" "$dest"; then
        say "  $dest is up to date"
    else
        say "  $dest differs from the shipped version: keeping it, new version as $dest.dist"
        run install -m "$mode" -o root -g root -- "$src" "$dest.dist"
    fi
}

# psql as the local PostgreSQL superuser. The SQL comes on stdin so that passwords never
# appear in a process list; psql variables (\set) carry them. Dry-run prints the SQL only.
psql_super() {
    local db=$1 secrets=$2 sql=$3
    say "+ psql (as postgres) -d $db <<SQL"
    printf '%s\n' "$sql" | sed 's/^/    /'
    say "  SQL"
    if ((DRY_RUN)); then return 0; fi
    printf 'SET client_min_messages = warning;\n%s\n%s\n' "$secrets" "$sql" |
        runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "$db" >/dev/null
}

gen_password() {
    if ((DRY_RUN)); then printf 'GENERATED'; return; fi
    openssl rand -hex 24
}

# Reads one NAME=value from an env file without executing it ("" when absent/unreadable).
env_value() {
    local file=$1 name=$2 line value=
    [[ -r $file ]] || { printf ''; return; }
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == "$name="* ]]; then value=${line#*=}; fi
    done <"$file"
    printf '%s' "$value"
}

# Password part of postgres://user:password@host..., percent-decoded ("" when none).
url_password() {
    local url=$1 rest
    rest=${url#*://}
    rest=${rest%%@*}
    if [[ $rest == *:* ]]; then
        rest=${rest#*:}
        printf '%b' "${rest//%/\\x}"
    fi
}

# A value as a psql single-quoted \set argument.
psql_quote() {
    local v=${1//\\/\\\\}
    printf "'%s'" "${v//\'/\\\'}"
}

package_missing() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) != "install ok installed" ]]
}

# ---- arguments ------------------------------------------------------------------------------

while (($#)); do
    case $1 in
        --from) [[ $# -ge 2 ]] || die "--from needs a folder"; FROM=$2; shift 2 ;;
        --plugins) [[ $# -ge 2 ]] || die "--plugins needs a file"; PLUGINS_SRC=$2; shift 2 ;;
        --domain) [[ $# -ge 2 ]] || die "--domain needs a name"; DOMAIN=$2; shift 2 ;;
        --pg-port) [[ $# -ge 2 ]] || die "--pg-port needs a number"; PG_PORT=$2; shift 2 ;;
        --with-pgbouncer) WITH_PGBOUNCER=1; shift ;;
        --no-nginx) WITH_NGINX=0; shift ;;
        --skip-database) SKIP_DATABASE=1; shift ;;
        --skip-migrate) SKIP_MIGRATE=1; shift ;;
        --no-start) NO_START=1; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) printf '%s: unknown argument %s\n\n' "$PROG" "$1" >&2; usage >&2; exit 2 ;;
    esac
done

[[ -n $FROM ]] || { printf '%s: --from BUILD_DIR is required\n\n' "$PROG" >&2; usage >&2; exit 2; }
[[ $PG_PORT =~ ^[0-9]{1,5}$ ]] || die "--pg-port must be a number"
if ((SKIP_DATABASE && WITH_PGBOUNCER)); then
    die "--with-pgbouncer reads the role's SCRAM verifier from the local cluster; with --skip-database set up pgbouncer by hand (deploy/pgbouncer/)"
fi
if [[ -n $DOMAIN && ! $DOMAIN =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$ ]]; then
    die "--domain '$DOMAIN' is not a lower-case DNS name such as crm.example.com"
fi

# ---- preflight ------------------------------------------------------------------------------

step "Preflight"
if ((DRY_RUN)); then
    say "  dry run: nothing below is executed"
elif [[ $(id -u) -ne 0 ]]; then
    die "run as root (sudo $0 ...), or add --dry-run to see what it would do"
fi
if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && printf '%s %s' "${ID:-?}" "${VERSION_ID:-?}")
    [[ $os_id == "debian 12" ]] || warn "written for Debian 12, this is '$os_id'"
fi
[[ -d $FROM ]] || die "--from $FROM is not a folder"
FROM=$(cd -- "$FROM" && pwd)
for f in atrium atrium-admin; do
    [[ -f $FROM/$f && -x $FROM/$f ]] || die "$FROM/$f is missing or not executable (build first: swift build -c release --static-swift-stdlib)"
done
for bundle in "$RESOURCES" "$MODULE_RESOURCES"; do
    [[ -d $FROM/$bundle/Resources ]] || die "$FROM/$bundle/Resources is missing (it is produced by swift build next to the binaries)"
done
[[ -r $PLUGINS_SRC ]] || die "module catalog $PLUGINS_SRC is not readable (use --plugins FILE)"
for f in atrium.service atrium.env.example atrium-admin.sh backup/atrium-backup.sh backup/atrium-restore.sh \
    backup/atrium-backup.service backup/atrium-backup.timer backup/backup.env.example \
    atrium-expire-trials.service atrium-expire-trials.timer \
    nginx/atrium.conf pgbouncer/pgbouncer.ini README.md; do
    [[ -r $DEPLOY_DIR/$f ]] || die "$DEPLOY_DIR/$f is missing: run install.sh from a complete checkout"
done
if [[ -d /run/systemd/system ]]; then SYSTEMD_RUNNING=1; fi
((SYSTEMD_RUNNING)) || say "  systemd is not running here: units are installed and enabled, but nothing is started"
say "  build: $FROM"
say "  domain: ${DOMAIN:-(placeholder example.com)}  pgbouncer: $WITH_PGBOUNCER  nginx: $WITH_NGINX  postgres port: $PG_PORT"

# ---- packages -------------------------------------------------------------------------------

step "Debian packages"
packages=(ca-certificates curl openssl libargon2-1 zlib1g postgresql-client)
((SKIP_DATABASE)) || packages+=(postgresql)
((WITH_NGINX)) && packages+=(nginx)
((WITH_PGBOUNCER)) && packages+=(pgbouncer)
missing=()
for p in "${packages[@]}"; do
    if package_missing "$p"; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
    run apt-get update -q
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    say "  all present: ${packages[*]}"
fi

# ---- user and directories ------------------------------------------------------------------

step "System user and folders"
if getent passwd "$SERVICE_USER" >/dev/null 2>&1; then
    say "  user $SERVICE_USER exists (no useradd needed)"
else
    run useradd --system --user-group --home-dir "$PREFIX" --no-create-home --shell /usr/sbin/nologin \
        --comment "Atrium CRM server" "$SERVICE_USER"
fi
run install -d -m 0755 -o root -g root "$PREFIX" "$BIN_DIR" "$PREFIX/share" "$DOC_DIR"
run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
run install -d -m 0700 -o root -g root "$BACKUP_DIR"

# ---- binaries and resources ----------------------------------------------------------------

step "Binaries and resources from $FROM"
for f in atrium atrium-admin; do
    # install(1) writes a new file and renames it: a running server keeps its old binary.
    run install -m 0755 -o root -g root -- "$FROM/$f" "$BIN_DIR/$f"
done
for bundle in "$RESOURCES" "$MODULE_RESOURCES"; do
    run rm -rf -- "$BIN_DIR/$bundle.new"
    run cp -R -- "$FROM/$bundle" "$BIN_DIR/$bundle.new"
    run chown -R root:root -- "$BIN_DIR/$bundle.new"
    run chmod -R u=rwX,go=rX -- "$BIN_DIR/$bundle.new"
    run rm -rf -- "$BIN_DIR/$bundle"
    run mv -- "$BIN_DIR/$bundle.new" "$BIN_DIR/$bundle"
done
run install -m 0755 -o root -g root -- "$DEPLOY_DIR/backup/atrium-backup.sh" "$BIN_DIR/atrium-backup"
run install -m 0755 -o root -g root -- "$DEPLOY_DIR/backup/atrium-restore.sh" "$BIN_DIR/atrium-restore"
run install -m 0755 -o root -g root -- "$DEPLOY_DIR/atrium-admin.sh" /usr/local/sbin/atrium-admin
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/README.md" "$DOC_DIR/README.md"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/atrium.env.example" "$DOC_DIR/atrium.env.example"
if ((!DRY_RUN)); then
    # A release build without --static-swift-stdlib needs the Swift runtime, absent on a server.
    if unresolved=$(ldd "$BIN_DIR/atrium" 2>/dev/null | grep 'not found'); then
        die "$BIN_DIR/atrium needs libraries this host lacks:
$unresolved
Build with: swift build -c release --static-swift-stdlib (libargon2-1 is installed above)."
    fi
else
    say "+ ldd $BIN_DIR/atrium   # must resolve every library (build with --static-swift-stdlib)"
fi

# ---- settings -------------------------------------------------------------------------------

step "Settings in $CONF_DIR (existing files are kept)"
app_port=$PG_PORT
((WITH_PGBOUNCER)) && app_port=$PGBOUNCER_PORT
new_app_password=0 new_owner_password=0 new_backup_password=0

if [[ -e $ENV_FILE ]]; then
    say "  $ENV_FILE exists: kept as is"
    app_password=$(url_password "$(env_value "$ENV_FILE" DATABASE_URL)")
    if ((WITH_PGBOUNCER)) && [[ $(env_value "$ENV_FILE" DATABASE_URL) != *":$PGBOUNCER_PORT/"* ]]; then
        warn "$ENV_FILE: DATABASE_URL does not use port $PGBOUNCER_PORT; edit it to go through pgbouncer"
    fi
else
    app_password=$(gen_password)
    new_app_password=1
    env_text=
    while IFS= read -r line || [[ -n $line ]]; do
        case $line in
            DATABASE_URL=*) line="DATABASE_URL=postgres://$APP_ROLE:$app_password@127.0.0.1:$app_port/$DB_NAME" ;;
            ATRIUM_BASE_DOMAIN=*) [[ -n $DOMAIN ]] && line="ATRIUM_BASE_DOMAIN=$DOMAIN" ;;
        esac
        env_text+=$line$'\n'
    done <"$DEPLOY_DIR/atrium.env.example"
    write_file "$ENV_FILE" 0640 root "$SERVICE_USER" "$env_text"
fi

if [[ -e $ADMIN_ENV_FILE ]]; then
    say "  $ADMIN_ENV_FILE exists: kept as is"
    owner_password=$(url_password "$(env_value "$ADMIN_ENV_FILE" DATABASE_OWNER_URL)")
else
    owner_password=$(gen_password)
    new_owner_password=1
    write_file "$ADMIN_ENV_FILE" 0600 root root "# $ADMIN_ENV_FILE - root only (mode 0600). Read by /usr/local/sbin/atrium-admin.
# The schema owner: migrations and tenant administration. Always straight to PostgreSQL
# (port $PG_PORT), never through pgbouncer. Kept out of atrium.env so that the server process
# never holds the owner's password.
DATABASE_OWNER_URL=postgres://$OWNER_ROLE:$owner_password@127.0.0.1:$PG_PORT/$DB_NAME
"
fi

if [[ -e $BACKUP_ENV_FILE ]]; then
    say "  $BACKUP_ENV_FILE exists: kept as is"
    backup_password=$(env_value "$BACKUP_ENV_FILE" PGPASSWORD)
else
    backup_password=$(gen_password)
    new_backup_password=1
    backup_text=
    while IFS= read -r line || [[ -n $line ]]; do
        case $line in
            PGPORT=*) line="PGPORT=$PG_PORT" ;;
            PGPASSWORD=*) line="PGPASSWORD=$backup_password" ;;
        esac
        backup_text+=$line$'\n'
    done <"$DEPLOY_DIR/backup/backup.env.example"
    write_file "$BACKUP_ENV_FILE" 0600 root root "$backup_text"
fi

if [[ -e $PLUGINS_FILE ]]; then
    install_config "$PLUGINS_SRC" "$PLUGINS_FILE" 0644
else
    run install -m 0644 -o root -g root -- "$PLUGINS_SRC" "$PLUGINS_FILE"
fi

# With --skip-database, freshly generated files name passwords no database knows yet.
DB_READY=1
if ((SKIP_DATABASE && (new_app_password || new_owner_password || new_backup_password))); then
    DB_READY=0
    warn "new settings files were written with generated passwords; create the roles with those passwords on your database server (deploy/README.md) and fix the host names, then: sudo atrium-admin migrate && sudo systemctl restart atrium"
fi

# ---- database -------------------------------------------------------------------------------

if ((SKIP_DATABASE)); then
    step "Database: skipped (--skip-database); create the roles as in deploy/README.md"
else
    step "PostgreSQL roles and database (local cluster, port $PG_PORT)"
    if ((SYSTEMD_RUNNING)); then run systemctl enable --now postgresql; fi
    if ((!DRY_RUN)); then
        for _ in $(seq 1 30); do
            if runuser -u postgres -- pg_isready -q -p "$PG_PORT"; then break; fi
            sleep 1
        done
        runuser -u postgres -- pg_isready -q -p "$PG_PORT" ||
            die "PostgreSQL does not answer on port $PG_PORT (pg_lsclusters; systemctl start postgresql)"
    else
        say "+ pg_isready -p $PG_PORT"
    fi
    for v in app_password owner_password backup_password; do
        [[ -n ${!v} ]] || die "could not read the ${v%_password} password from its settings file; fix the file or remove it to regenerate"
    done
    # Passwords travel as psql variables on stdin. A role gets a password when it is created,
    # and again only when its settings file was just written (so file and role agree).
    secrets="\\set app_pw $(psql_quote "$app_password")
\\set owner_pw $(psql_quote "$owner_password")
\\set backup_pw $(psql_quote "$backup_password")"
    role_sql="-- Schema owner: runs migrations, owns every table. Bound by FORCE ROW LEVEL SECURITY.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '$OWNER_ROLE', :'owner_pw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$OWNER_ROLE') \\gexec
ALTER ROLE $OWNER_ROLE LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
-- Application role: the server refuses to start if it is superuser, has BYPASSRLS or owns a table.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '$APP_ROLE', :'app_pw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') \\gexec
ALTER ROLE $APP_ROLE LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
-- Backup role: read-only, bypasses RLS so pg_dump sees every tenant's rows.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '$BACKUP_ROLE', :'backup_pw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$BACKUP_ROLE') \\gexec
ALTER ROLE $BACKUP_ROLE LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER ROLE $BACKUP_ROLE SET default_transaction_read_only = on;
GRANT pg_read_all_data TO $BACKUP_ROLE;"
    ((new_owner_password)) && role_sql+=$'\n'"ALTER ROLE $OWNER_ROLE PASSWORD :'owner_pw';"
    ((new_app_password)) && role_sql+=$'\n'"ALTER ROLE $APP_ROLE PASSWORD :'app_pw';"
    ((new_backup_password)) && role_sql+=$'\n'"ALTER ROLE $BACKUP_ROLE PASSWORD :'backup_pw';"
    role_sql+="
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', '$DB_NAME', '$OWNER_ROLE')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \\gexec
REVOKE ALL ON DATABASE $DB_NAME FROM PUBLIC;
GRANT CONNECT ON DATABASE $DB_NAME TO $APP_ROLE, $BACKUP_ROLE;"
    psql_super postgres "$secrets" "$role_sql"
    psql_super "$DB_NAME" "" "ALTER SCHEMA public OWNER TO $OWNER_ROLE;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
fi

if ((WITH_PGBOUNCER)); then
    step "pgbouncer (transaction pooling on 127.0.0.1:$PGBOUNCER_PORT)"
    pgb_text=
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == "atrium = host=127.0.0.1 port=5432 dbname=atrium" ]] &&
            line="$DB_NAME = host=127.0.0.1 port=$PG_PORT dbname=$DB_NAME"
        pgb_text+=$line$'\n'
    done <"$DEPLOY_DIR/pgbouncer/pgbouncer.ini"
    # Debian's stock file (not ours) is saved once as .orig and replaced; ours is kept if edited.
    pgb_ini=/etc/pgbouncer/pgbouncer.ini
    if [[ -e $pgb_ini && ! -r $pgb_ini ]]; then
        say "  $pgb_ini is not readable here (dry run as non-root): root would compare it first"
        write_file "$pgb_ini" 0640 postgres postgres "$pgb_text"
    elif [[ -e $pgb_ini ]] && ! grep -q 'pgbouncer for Atrium' "$pgb_ini"; then
        [[ -e $pgb_ini.orig ]] || run cp -p "$pgb_ini" "$pgb_ini.orig"
        write_file "$pgb_ini" 0640 postgres postgres "$pgb_text"
    else
        install_text "$pgb_ini" 0640 postgres postgres "$pgb_text"
    fi
    # The application role's SCRAM verifier, so no plain-text password is stored.
    say "+ psql (as postgres): SCRAM verifier of $APP_ROLE -> /etc/pgbouncer/userlist.txt (0640 postgres)"
    if ((!DRY_RUN)); then
        verifier=$(runuser -u postgres -- psql -X -At -p "$PG_PORT" -d postgres \
            -c "SELECT format('\"%s\" \"%s\"', rolname, rolpassword) FROM pg_authid WHERE rolname = '$APP_ROLE'")
        [[ $verifier == *SCRAM-SHA-256* ]] || die "$APP_ROLE has no SCRAM password (password_encryption must be scram-sha-256)"
        write_file /etc/pgbouncer/userlist.txt 0640 postgres postgres "$verifier"$'\n'
    fi
    if ((SYSTEMD_RUNNING)); then
        run systemctl enable pgbouncer
        run systemctl restart pgbouncer
    fi
fi

# ---- migrations -----------------------------------------------------------------------------

if ((SKIP_MIGRATE)); then
    step "Migrations: skipped (--skip-migrate)"
elif ((!DB_READY)); then
    step "Migrations: skipped (the database is not set up yet, see the warning above)"
else
    step "Migrations (as $OWNER_ROLE, straight to PostgreSQL)"
    run /usr/local/sbin/atrium-admin migrate
fi

# ---- systemd units --------------------------------------------------------------------------

step "systemd units"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/atrium.service" "$UNIT_DIR/atrium.service"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/backup/atrium-backup.service" "$UNIT_DIR/atrium-backup.service"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/backup/atrium-backup.timer" "$UNIT_DIR/atrium-backup.timer"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/atrium-expire-trials.service" "$UNIT_DIR/atrium-expire-trials.service"
run install -m 0644 -o root -g root -- "$DEPLOY_DIR/atrium-expire-trials.timer" "$UNIT_DIR/atrium-expire-trials.timer"
((SYSTEMD_RUNNING)) && run systemctl daemon-reload
run systemctl enable atrium.service atrium-backup.timer atrium-expire-trials.timer
if ((SYSTEMD_RUNNING)); then
    run systemctl start atrium-backup.timer atrium-expire-trials.timer
    if ((NO_START || !DB_READY)); then
        say "  atrium not (re)started (--no-start, or the database is not set up yet)"
    else
        run systemctl restart atrium.service
        port=$(env_value "$ENV_FILE" ATRIUM_PORT)
        port=${port:-8080}
        say "+ curl http://127.0.0.1:$port/readyz (up to 30 s)"
        if ((!DRY_RUN)); then
            ready=0
            for _ in $(seq 1 30); do
                if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
                sleep 1
            done
            ((ready)) || die "atrium is not ready; see: journalctl -u atrium -n 50 --no-pager"
            say "  atrium is ready"
        fi
    fi
fi

# ---- nginx ----------------------------------------------------------------------------------

if ((WITH_NGINX)); then
    step "nginx site (installed, not enabled: it needs your certificate first)"
    site_text=
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ -n $DOMAIN ]]; then line=${line//\*.example.com/*.$DOMAIN}; line=${line// example.com/ $DOMAIN}; fi
        site_text+=$line$'\n'
    done <"$DEPLOY_DIR/nginx/atrium.conf"
    install_text /etc/nginx/sites-available/atrium.conf 0644 root root "$site_text"
fi

# ---- done -----------------------------------------------------------------------------------

if ((DRY_RUN)); then step "Done (dry run: nothing was changed)"; else step "Done"; fi
cat <<EOF
Next steps (deploy/README.md has the details):
  1. Review $ENV_FILE (ATRIUM_BASE_DOMAIN, ATRIUM_SECURE_COOKIES=true behind TLS).
  2. First tenant:  sudo atrium-admin tenant create --slug acme --name 'Acme' --admin-email boss@acme.example
  3. TLS: put the wildcard certificate in /etc/ssl/atrium/, then
       ln -s /etc/nginx/sites-available/atrium.conf /etc/nginx/sites-enabled/ && nginx -t && systemctl reload nginx
  4. Backups run daily (systemctl list-timers atrium-backup.timer); copy $BACKUP_DIR off the host.
  5. Logs: journalctl -u atrium -f      Probes: /healthz, /readyz
EOF

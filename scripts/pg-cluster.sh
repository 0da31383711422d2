#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, from Debian's server binaries.
#
#   scripts/pg-cluster.sh start DIR   create (once) and start a cluster in DIR on a free port;
#                                      writes DIR/env with DATABASE_URL (application role) and
#                                      DATABASE_OWNER_URL (schema owner)
#   scripts/pg-cluster.sh stop DIR    stop it (fast shutdown)
#
# initdb and postgres refuse to run as root, so as root the cluster runs as the `postgres`
# OS user. If that user cannot reach DIR (e.g. a repository under /root), the cluster lives
# in /var/lib/atrium-dev/<hash> and DIR becomes a symlink to it.
set -euo pipefail

command=${1:?usage: pg-cluster.sh start|stop DIR}
dir=${2:?usage: pg-cluster.sh start|stop DIR}
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "pg-cluster: PostgreSQL server binaries not found under /usr/lib/postgresql; install Debian's 'postgresql' package" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

random_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$command" in
start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ] && [ ! -L "$dir" ]; then
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
        if ! runuser -u postgres -- test -x "$dir"; then
            real=/var/lib/atrium-dev/$(realpath "$dir" | sha1sum | cut -c1-12)
            mkdir -p "$real"
            chown postgres:postgres "$real"
            chmod 700 "$real"
            rmdir "$dir" 2>/dev/null || { echo "pg-cluster: $dir is not empty and not reachable by the postgres user" >&2; exit 1; }
            ln -s "$real" "$dir"
            echo "pg-cluster: $dir -> $real (the postgres user cannot reach the repository path)" >&2
        fi
    fi
    dir=$(realpath "$dir")  # postgres resolves -k relative to its data folder
    data="$dir/data"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$pgbin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
            || { echo "pg-cluster: initdb failed, see $dir/initdb.log" >&2; exit 1; }
    fi
    if as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        port=$(as_owner sed -n 4p "$data/postmaster.pid")
        echo "pg-cluster: already running in $dir (port $port)" >&2
    else
        port=$(free_port)
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-on}" start >/dev/null \
            || { echo "pg-cluster: start failed, see $dir/postgres.log" >&2; exit 1; }
    fi
    psql_super() { as_owner "$pgbin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
    if ! as_owner test -f "$dir/credentials"; then
        # First start (or an earlier first start that failed half-way): idempotent set-up.
        owner_pw=$(random_secret)
        app_pw=$(random_secret)
        psql_super -d postgres <<SQL
SELECT format('CREATE ROLE atrium_owner LOGIN') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atrium_owner') \\gexec
SELECT format('CREATE ROLE atrium_app LOGIN') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atrium_app') \\gexec
ALTER ROLE atrium_owner LOGIN PASSWORD '$owner_pw';
ALTER ROLE atrium_app LOGIN PASSWORD '$app_pw' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SELECT 'CREATE DATABASE atrium OWNER atrium_owner ENCODING ''UTF8'' TEMPLATE template0' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'atrium') \\gexec
SQL
        psql_super -d atrium -c "ALTER SCHEMA public OWNER TO atrium_owner; REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
        printf 'OWNER_PASSWORD=%s\nAPP_PASSWORD=%s\n' "$owner_pw" "$app_pw" | as_owner tee "$dir/credentials" >/dev/null
        as_owner chmod 600 "$dir/credentials"
    fi
    # shellcheck disable=SC1090
    . <(as_owner cat "$dir/credentials")
    cat >"$dir/env.tmp" <<ENV
DATABASE_URL=postgres://atrium_app:$APP_PASSWORD@127.0.0.1:$port/atrium
DATABASE_OWNER_URL=postgres://atrium_owner:$OWNER_PASSWORD@127.0.0.1:$port/atrium
ENV
    chmod 600 "$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    echo "pg-cluster: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') running in $dir on 127.0.0.1:$port" >&2
    ;;
stop)
    dir=$(realpath "$dir" 2>/dev/null || echo "$dir")
    if [ -f "$dir/data/PG_VERSION" ]; then
        as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    echo "usage: pg-cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# /usr/local/sbin/atrium-admin - runs /opt/atrium/bin/atrium-admin with the instance's
# settings: /etc/atrium/atrium.env (ATRIUM_PLUGINS, ATRIUM_ARGON2_*, DATABASE_URL, which names
# the application role migrations grant to) and /etc/atrium/admin.env (DATABASE_OWNER_URL,
# the schema owner - root only). Installed by deploy/install.sh.
#
#   sudo atrium-admin migrate
#   sudo atrium-admin tenant create --slug acme --name 'Acme 有限公司' --admin-email boss@acme.cn
#
# Variables already set in the environment win over the files. The files are read as
# NAME=value lines (systemd EnvironmentFile syntax), never executed.
set -euo pipefail

readonly BIN=${ATRIUM_ADMIN_BIN:-/opt/atrium/bin/atrium-admin}
readonly CONF_DIR=${ATRIUM_CONF_DIR:-/etc/atrium}

load_env_file() {
    local file=$1 line key value n=0
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
            printf 'atrium-admin: %s line %d is not NAME=value\n' "$file" "$n" >&2
            exit 1
        fi
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        if [[ -z ${!key+set} ]]; then
            printf -v "$key" '%s' "$value"
            export "${key?}"
        fi
    done <"$file"
}

if [[ -d $CONF_DIR && ! -x $CONF_DIR ]]; then
    printf 'atrium-admin: cannot read %s: run with sudo\n' "$CONF_DIR" >&2
    exit 1
fi
for file in "$CONF_DIR/admin.env" "$CONF_DIR/atrium.env"; do
    if [[ -e $file && ! -r $file ]]; then
        printf 'atrium-admin: cannot read %s: run with sudo\n' "$file" >&2
        exit 1
    fi
    if [[ -r $file ]]; then load_env_file "$file"; fi
done

if [[ ! -x $BIN ]]; then
    printf 'atrium-admin: %s is missing; install Atrium first (deploy/install.sh)\n' "$BIN" >&2
    exit 1
fi
exec "$BIN" "$@"

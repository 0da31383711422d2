#!/usr/bin/env bash
# CI check of the deployment kit (deploy/). Non-interactive; runs as root or not.
#   deploy/check.sh            from anywhere; exit 0 when every check passes
# Checks: shellcheck on every deploy/**/*.sh; install.sh --dry-run (with a stub build) exits 0
# and names its key steps; the env template documents every variable the code reads; the
# pgbouncer/nginx/env files agree with the code and with install.sh; systemd-analyze verify
# on the units and nginx -t on the site (each skipped, with a message, when the tool is absent).
# Ends with one summary line.
set -euo pipefail

DEPLOY_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=${DEPLOY_DIR%/*}
SOURCES=$REPO_DIR/Sources
TEMPLATE=$DEPLOY_DIR/atrium.env.example

WORK=$(mktemp -d "${TMPDIR:-/tmp}/atrium-deploy-check.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

PASSED=()
FAILED=()
SKIPPED=()

section() { printf '\n--- %s\n' "$*"; }
pass() { printf 'ok   %s\n' "$1"; PASSED+=("$1"); }
fail() {
    printf 'FAIL %s\n' "$1"
    shift
    if (($#)); then printf '%s\n' "$@" | sed 's/^/     /'; fi
    FAILED+=("${FAILED_NAME:-?}")
}
skip() { printf 'skip %s: %s\n' "$1" "$2"; SKIPPED+=("$1"); }

# ---- 1. shellcheck ---------------------------------------------------------------------------
section "shellcheck"
FAILED_NAME=shellcheck
if ! command -v shellcheck >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "shellcheck missing: installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1; } || true
    fi
fi
if command -v shellcheck >/dev/null 2>&1; then
    mapfile -d '' scripts < <(find "$DEPLOY_DIR" -type f -name '*.sh' -print0 | sort -z)
    if ((${#scripts[@]} == 0)); then
        fail "shellcheck: no scripts found under $DEPLOY_DIR"
    elif out=$(shellcheck --shell=bash --severity=style -- "${scripts[@]}" 2>&1); then
        pass "shellcheck: ${#scripts[@]} scripts clean (${scripts[*]#"$REPO_DIR"/})"
    else
        fail "shellcheck found problems:" "$out"
    fi
else
    fail "shellcheck is not installed: run this check as root (it installs it) or: sudo apt-get install shellcheck"
fi

# ---- 2. executable bits and --help -------------------------------------------------------------
section "scripts are executable and answer --help"
FAILED_NAME=help
help_ok=1
for s in install.sh check.sh atrium-admin.sh backup/atrium-backup.sh backup/atrium-restore.sh container/initdb.sh; do
    [[ -x $DEPLOY_DIR/$s ]] || { fail "deploy/$s is not executable (chmod +x)"; help_ok=0; }
done
for s in install.sh backup/atrium-backup.sh backup/atrium-restore.sh; do
    if ! "$DEPLOY_DIR/$s" --help >"$WORK/help.out" 2>&1 || ! grep -q '^Usage:' "$WORK/help.out"; then
        fail "deploy/$s --help did not print a usage and exit 0" "$(head -n 5 "$WORK/help.out")"
        help_ok=0
    fi
done
if "$DEPLOY_DIR/install.sh" --no-such-option >/dev/null 2>&1; then
    fail "install.sh accepted an unknown option"
    help_ok=0
fi
((help_ok)) && pass "executable bits, --help, unknown options refused"

# ---- 3. install.sh --dry-run -------------------------------------------------------------------
section "install.sh --dry-run"
FAILED_NAME=dry-run
stub=$WORK/build
mkdir -p "$stub/atrium_Platform.resources/Resources" "$stub/atrium_Modules.resources/Resources"
printf '#!/bin/sh\nexit 0\n' >"$stub/atrium"
cp "$stub/atrium" "$stub/atrium-admin"
chmod +x "$stub/atrium" "$stub/atrium-admin"
dry_ok=1
for variant in "" "--with-pgbouncer --domain crm.example.org"; do
    # shellcheck disable=SC2086  # variant is a list of words on purpose
    if ! "$DEPLOY_DIR/install.sh" --dry-run --from "$stub" $variant >"$WORK/dry.out" 2>&1; then
        fail "install.sh --dry-run --from <stub> $variant exited non-zero" "$(tail -n 15 "$WORK/dry.out")"
        dry_ok=0
        continue
    fi
    expected=("useradd" "CREATE ROLE" "NOBYPASSRLS" "CREATE DATABASE" "atrium-admin migrate"
        "systemctl enable atrium.service atrium-backup.timer atrium-expire-trials.timer" "/etc/atrium/atrium.env" "Done (dry run")
    [[ -n $variant ]] && expected+=("pgbouncer" "userlist.txt")
    for want in "${expected[@]}"; do
        if ! grep -qF -- "$want" "$WORK/dry.out"; then
            fail "install.sh --dry-run $variant does not mention '$want'"
            dry_ok=0
        fi
    done
    if grep -qE '[0-9a-f]{48}' "$WORK/dry.out"; then
        fail "install.sh --dry-run $variant printed something that looks like a generated password"
        dry_ok=0
    fi
done
if "$DEPLOY_DIR/install.sh" --dry-run --from "$WORK/does-not-exist" >/dev/null 2>&1; then
    fail "install.sh --dry-run accepted a missing build folder"
    dry_ok=0
fi
((dry_ok)) && pass "install.sh --dry-run exits 0 and names every key step (plain and --with-pgbouncer)"

# ---- 4. env template covers the code -------------------------------------------------------------
section "atrium.env.example lists every variable the code reads"
FAILED_NAME=env-template
if [[ ! -d $SOURCES ]]; then
    fail "no $SOURCES folder: run from a complete checkout"
else
    # Every ATRIUM_* token, plus names read through env[...] / environment[...] / reader.x("...").
    mapfile -t names < <(
        {
            grep -rhoE 'ATRIUM_[A-Z0-9_]*' "$SOURCES" || true
            grep -rhoE '(env|environment)\["[A-Z][A-Z0-9_]*"\]' "$SOURCES" | grep -oE '[A-Z][A-Z0-9_]*' || true
            grep -rhoE 'reader\.(string|int|bool)\("[A-Z][A-Z0-9_]*"' "$SOURCES" | grep -oE '"[A-Z][A-Z0-9_]*"' | tr -d '"' || true
        } | sort -u
    )
    missing=()
    for n in "${names[@]}"; do
        # The operating system's own variables (atrium-admin finds its login profile with them).
        [[ $n == HOME || $n == XDG_CONFIG_HOME ]] && continue
        if [[ $n == *_ ]]; then
            # A prefix from prose such as `ATRIUM_*` or `ATRIUM_ARGON2_*`: some variable must match.
            grep -qE "^#?${n}[A-Z0-9_]+=" "$TEMPLATE" || missing+=("$n* (no variable with this prefix)")
            continue
        fi
        grep -qE "^#?${n}=" "$TEMPLATE" || missing+=("$n (no '$n=' or '#$n=' line)")
        grep -qE "^#[[:space:]]+${n}([[:space:]]|$)" "$TEMPLATE" || missing+=("$n (no '# $n (default: …)' comment)")
    done
    if ((${#names[@]} < 10)); then
        fail "found only ${#names[@]} variable names in Sources/: the extraction is broken"
    elif ((${#missing[@]})); then
        fail "deploy/atrium.env.example misses:" "${missing[@]}"
    else
        pass "atrium.env.example documents all ${#names[@]} names found in Sources/"
    fi
fi

# ---- 5. consistency between the files and the code -------------------------------------------------
section "consistency (ports, paths, pgbouncer)"
FAILED_NAME=consistency
cons=()
port=$(grep -hoE 'public var port: Int = [0-9]+' "$SOURCES/Platform/Config/AtriumConfiguration.swift" 2>/dev/null | grep -oE '[0-9]+$' || true)
if [[ -z $port ]]; then
    cons+=("cannot find the default port in AtriumConfiguration.swift")
else
    grep -qE "^ATRIUM_PORT=$port$" "$TEMPLATE" || cons+=("atrium.env.example: ATRIUM_PORT is not the code's default $port")
    grep -qE "server 127\.0\.0\.1:$port " "$DEPLOY_DIR/nginx/atrium.conf" || cons+=("nginx/atrium.conf: upstream is not 127.0.0.1:$port")
fi
ini=$DEPLOY_DIR/pgbouncer/pgbouncer.ini
grep -qE '^pool_mode = transaction$' "$ini" || cons+=("pgbouncer.ini: pool_mode is not transaction")
grep -qE '^max_prepared_statements' "$ini" && cons+=("pgbouncer.ini: max_prepared_statements is active; Debian 12's pgbouncer 1.18 refuses to start with it")
grep -qxF 'atrium = host=127.0.0.1 port=5432 dbname=atrium' "$ini" ||
    cons+=("pgbouncer.ini: the [databases] line install.sh rewrites changed; update install.sh too")
grep -q 'pgbouncer for Atrium' "$ini" || cons+=("pgbouncer.ini: lost the marker line install.sh looks for")
grep -qF "set_config('app.tenant_id', \$1, true)" "$SOURCES/Platform/Database/Database.swift" ||
    cons+=("Database.swift no longer sets the tenant with set_config(..., true): re-check pgbouncer transaction mode")
grep -qF "set_config('app.tenant_id', CASE WHEN status = 'active' THEN id::text ELSE '' END, true)" "$SOURCES/Tenancy/TenantDirectory.swift" ||
    cons+=("TenantDirectory.resolve no longer sets the tenant with set_config(..., true): re-check pgbouncer transaction mode")
grep -q '^ExecStart=/opt/atrium/bin/atrium$' "$DEPLOY_DIR/atrium.service" || cons+=("atrium.service: ExecStart is not /opt/atrium/bin/atrium")
grep -q '^EnvironmentFile=/etc/atrium/atrium.env$' "$DEPLOY_DIR/atrium.service" || cons+=("atrium.service: EnvironmentFile is not /etc/atrium/atrium.env")
grep -q '^ATRIUM_RESOURCES=/opt/atrium/bin/atrium_Platform.resources/Resources$' "$TEMPLATE" ||
    cons+=("atrium.env.example: ATRIUM_RESOURCES does not point at the installed bundle")
if ((${#cons[@]})); then fail "inconsistencies:" "${cons[@]}"; else pass "ports, paths and pgbouncer settings agree with the code and install.sh"; fi

# ---- 6. systemd-analyze verify ----------------------------------------------------------------
section "systemd units"
FAILED_NAME=systemd
if ! command -v systemd-analyze >/dev/null 2>&1; then
    skip systemd-analyze "not installed here (the units are not verified)"
else
    units=$WORK/units
    mkdir -p "$units/bin"
    printf '#!/bin/sh\nexit 0\n' >"$units/bin/atrium"
    cp "$units/bin/atrium" "$units/bin/atrium-backup"
    chmod +x "$units/bin/atrium" "$units/bin/atrium-backup"
    # ExecStart must exist for verify: point it at stubs, keep everything else as shipped.
    cp "$units/bin/atrium" "$units/bin/atrium-admin"
    chmod +x "$units/bin/atrium-admin"
    for f in atrium.service backup/atrium-backup.service backup/atrium-backup.timer atrium-expire-trials.service atrium-expire-trials.timer; do
        sed -e "s|/opt/atrium/bin/|$units/bin/|g" -e "s|/usr/local/sbin/atrium-admin|$units/bin/atrium-admin|g" "$DEPLOY_DIR/$f" >"$units/${f##*/}"
    done
    rc=0
    out=$(systemd-analyze verify "$units/atrium.service" "$units/atrium-backup.service" "$units/atrium-backup.timer" \
        "$units/atrium-expire-trials.service" "$units/atrium-expire-trials.timer" 2>&1) || rc=$?
    # verify exits 0 even for unknown settings; any remark about our files is a failure.
    ours=$(printf '%s\n' "$out" | grep -E "$units|atrium(-backup|-expire-trials)?\.(service|timer)" || true)
    if ((rc != 0)) || [[ -n $ours ]]; then
        fail "systemd-analyze verify complained (exit $rc):" "${ours:-$out}"
    else
        pass "systemd-analyze verify: atrium.service, atrium-backup.service/.timer, atrium-expire-trials.service/.timer"
    fi
fi

# ---- 7. nginx -t ----------------------------------------------------------------------------------
section "nginx site"
FAILED_NAME=nginx
nginx_bin=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && printf /usr/sbin/nginx; } || true)
if [[ -z $nginx_bin ]]; then
    skip nginx "not installed here (apt-get install nginx to check the site)"
elif ! command -v openssl >/dev/null 2>&1; then
    skip nginx "openssl is not installed (needed for a throwaway certificate)"
else
    ng=$WORK/nginx
    mkdir -p "$ng/tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=example.com' \
        -addext 'subjectAltName=DNS:example.com,DNS:*.example.com' \
        -keyout "$ng/key.pem" -out "$ng/cert.pem" >/dev/null 2>&1
    # nginx -t binds the listen sockets: move 80/443 to free high ports (works without root
    # and next to a running web server); everything else stays as shipped.
    http_port=$((20000 + RANDOM % 20000))
    https_port=$((http_port + 1))
    sed -e "s|/etc/ssl/atrium/fullchain.pem|$ng/cert.pem|" -e "s|/etc/ssl/atrium/privkey.pem|$ng/key.pem|" \
        -e "s/listen \(\[::\]:\)\{0,1\}80;/listen \1$http_port;/" \
        -e "s/listen \(\[::\]:\)\{0,1\}443 /listen \1$https_port /" \
        "$DEPLOY_DIR/nginx/atrium.conf" >"$ng/site.conf"
    grep -qE "listen (\[::\]:)?(80;|443 )" "$ng/site.conf" && fail "could not move the listen ports for the test"
    mime_include=
    [[ -r /etc/nginx/mime.types ]] && mime_include="include /etc/nginx/mime.types;"
    cat >"$ng/nginx.conf" <<EOF
pid $ng/nginx.pid;
error_log $ng/error.log;
events {}
http {
    $mime_include
    access_log off;
    client_body_temp_path $ng/tmp;
    proxy_temp_path $ng/tmp;
    fastcgi_temp_path $ng/tmp;
    uwsgi_temp_path $ng/tmp;
    scgi_temp_path $ng/tmp;
    include $ng/site.conf;
}
EOF
    if out=$("$nginx_bin" -t -q -p "$ng" -e "$ng/error.log" -c "$ng/nginx.conf" 2>&1); then
        pass "nginx -t accepts nginx/atrium.conf (with a throwaway certificate)"
    else
        fail "nginx -t rejected nginx/atrium.conf:" "$out"
    fi
fi

# ---- summary ----------------------------------------------------------------------------------------
echo
if ((${#FAILED[@]})); then
    mapfile -t failed_checks < <(printf '%s\n' "${FAILED[@]}" | sort -u)
    printf 'deploy/check.sh: FAIL - %d check(s) failed (%s), %d passed, %d skipped\n' \
        "${#failed_checks[@]}" "$(IFS=,; printf '%s' "${failed_checks[*]}")" "${#PASSED[@]}" "${#SKIPPED[@]}"
    exit 1
fi
skipped_note=
((${#SKIPPED[@]})) && skipped_note=" ($(IFS=,; printf '%s' "${SKIPPED[*]}"))"
printf 'deploy/check.sh: PASS - %d checks passed, %d skipped%s\n' "${#PASSED[@]}" "${#SKIPPED[@]}" "$skipped_note"

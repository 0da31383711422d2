#!/usr/bin/env bash
# atrium-backup: one pg_dump (custom format) of the Atrium database into BACKUP_DIR, verified,
# with a .sha256 next to it, then a tar of the attachment files (ATRIUM_FILES_DIR) under the
# same name with its own .sha256; then deletes backups older than BACKUP_KEEP_DAYS.
#
# Installed as /opt/atrium/bin/atrium-backup and run daily by atrium-backup.timer.
# Settings: /etc/atrium/backup.env (see backup.env.example); variables already set in the
# environment win over the file. Exit status 0 on success, 1 on any failure, 2 on bad usage.
# The database password is passed to pg_dump through its environment and is never printed.
set -euo pipefail
umask 077

readonly PROG=atrium-backup
ENV_FILE=${ATRIUM_BACKUP_ENV:-/etc/atrium/backup.env}
PARTIAL=

usage() {
    cat <<EOF
Usage: $PROG [--env FILE] [--dir DIR] [--keep-days N] [--files-dir DIR|none] [--help]

Dumps the Atrium database with pg_dump -Fc, checks the archive with pg_restore --list,
writes <database>-<UTC time>.dump and .dump.sha256 into the backup folder; then archives the
attachment files into <database>-<UTC time>.files.tar (+ .sha256), checked with tar --list,
taken after the dump so every file the dump names is in it (files are content-addressed and
never change); then removes backups older than the retention period.

  --env FILE      settings file (default: \$ATRIUM_BACKUP_ENV or /etc/atrium/backup.env;
                  "-" reads nothing and uses the environment only)
  --dir DIR       backup folder (overrides BACKUP_DIR)
  --keep-days N   retention in days (overrides BACKUP_KEEP_DAYS)
  --files-dir DIR the server's ATRIUM_FILES_DIR (overrides ATRIUM_FILES_DIR; default
                  /var/lib/atrium/files; "none": database only)
  -h, --help      this text

Settings (file or environment): PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE
PGSSLMODE PGSSLROOTCERT PGCONNECT_TIMEOUT BACKUP_DIR BACKUP_KEEP_DAYS BACKUP_COMPRESS
ATRIUM_FILES_DIR.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
fail() { printf '%s: FAILED: %s\n' "$PROG" "$*" >&2; exit 1; }

cleanup() {
    if [[ -n $PARTIAL && -e $PARTIAL ]]; then rm -f -- "$PARTIAL"; fi
}
trap cleanup EXIT

# Reads NAME=value lines without evaluating them (same syntax as systemd's EnvironmentFile).
# Only known names are taken; a name already set in the environment keeps its value.
load_env_file() {
    local file=$1 line key value n=0
    [[ -r $file ]] || fail "cannot read settings file $file (run as root, or pass --env)"
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
            fail "$file line $n is not NAME=value"
        fi
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        case $key in
            PGHOST | PGPORT | PGDATABASE | PGUSER | PGPASSWORD | PGPASSFILE | PGSSLMODE | PGSSLROOTCERT | \
                PGCONNECT_TIMEOUT | BACKUP_DIR | BACKUP_KEEP_DAYS | BACKUP_COMPRESS | ATRIUM_FILES_DIR)
                if [[ -z ${!key+set} ]]; then
                    printf -v "$key" '%s' "$value"
                    export "${key?}"
                fi
                ;;
            *) log "warning: $file line $n: unknown setting $key ignored" >&2 ;;
        esac
    done <"$file"
}

DIR_OPT=
KEEP_OPT=
FILES_OPT=
while (($#)); do
    case $1 in
        --env) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; ENV_FILE=$2; shift 2 ;;
        --dir) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; DIR_OPT=$2; shift 2 ;;
        --keep-days) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; KEEP_OPT=$2; shift 2 ;;
        --files-dir) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; FILES_OPT=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) printf '%s: unknown argument %s\n' "$PROG" "$1" >&2; usage >&2; exit 2 ;;
    esac
done

if [[ $ENV_FILE != - ]]; then load_env_file "$ENV_FILE"; fi

BACKUP_DIR=${DIR_OPT:-${BACKUP_DIR:-/var/backups/atrium}}
BACKUP_KEEP_DAYS=${KEEP_OPT:-${BACKUP_KEEP_DAYS:-14}}
BACKUP_COMPRESS=${BACKUP_COMPRESS:-6}
ATRIUM_FILES_DIR=${FILES_OPT:-${ATRIUM_FILES_DIR:-/var/lib/atrium/files}}

[[ -n ${PGDATABASE:-} ]] || fail "PGDATABASE is not set"
[[ -n ${PGUSER:-} ]] || fail "PGUSER is not set"
[[ $PGDATABASE =~ ^[A-Za-z0-9_.-]+$ ]] || fail "PGDATABASE '$PGDATABASE' has characters not allowed in a file name"
[[ $BACKUP_DIR == /* ]] || fail "BACKUP_DIR must be an absolute path, got '$BACKUP_DIR'"
if [[ ! $BACKUP_KEEP_DAYS =~ ^[0-9]{1,4}$ ]] || ((10#$BACKUP_KEEP_DAYS < 1 || 10#$BACKUP_KEEP_DAYS > 3650)); then
    fail "BACKUP_KEEP_DAYS must be a whole number in 1..3650, got '$BACKUP_KEEP_DAYS'"
fi
BACKUP_KEEP_DAYS=$((10#$BACKUP_KEEP_DAYS))
[[ $BACKUP_COMPRESS =~ ^[0-9]$ ]] || fail "BACKUP_COMPRESS must be 0..9, got '$BACKUP_COMPRESS'"
[[ $ATRIUM_FILES_DIR == none || $ATRIUM_FILES_DIR == /* ]] || fail "ATRIUM_FILES_DIR must be an absolute path or none, got '$ATRIUM_FILES_DIR'"
for tool in pg_dump pg_restore sha256sum flock find tar; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (apt-get install postgresql-client coreutils util-linux findutils)"
done

mkdir -p -- "$BACKUP_DIR" || fail "cannot create $BACKUP_DIR"
chmod 0700 -- "$BACKUP_DIR" || fail "cannot set the mode of $BACKUP_DIR"

# One backup at a time (a manual run during the timer's run waits up to 10 minutes).
exec 9>"$BACKUP_DIR/.lock"
flock -w 600 9 || fail "another backup holds $BACKUP_DIR/.lock"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$PGDATABASE-$stamp.dump"
# Two runs within one second (manual + timer) must not overwrite each other.
if [[ -e $BACKUP_DIR/$name ]]; then name="$PGDATABASE-$stamp-$$.dump"; fi
target="$BACKUP_DIR/$name"
PARTIAL="$BACKUP_DIR/.$name.partial"

log "dumping database $PGDATABASE as $PGUSER@${PGHOST:-local socket}:${PGPORT:-5432} to $target"
started=$SECONDS
# --no-password: never prompt (fail instead); --lock-wait-timeout: do not queue forever
# behind a migration holding an exclusive lock.
if ! pg_dump --format=custom --compress="$BACKUP_COMPRESS" --no-password \
    --lock-wait-timeout=120s --file="$PARTIAL"; then
    fail "pg_dump exited with an error (see above); no backup was written"
fi
if ! pg_restore --list "$PARTIAL" >/dev/null; then
    fail "the dump cannot be read back by pg_restore; no backup was written"
fi
mv -f -- "$PARTIAL" "$target"
PARTIAL=
(cd "$BACKUP_DIR" && sha256sum -- "$name" >"$name.sha256") || fail "cannot write $target.sha256"
size=$(du -h -- "$target" | cut -f1)
log "wrote $target ($size in $((SECONDS - started)) s)"

# The attachment files, after the dump: every file a row of the dump names exists by then
# (the server stores a file before its row commits, and never changes one).
files_target=
if [[ $ATRIUM_FILES_DIR == none ]]; then
    log "ATRIUM_FILES_DIR=none: attachment files are not backed up"
elif [[ ! -d $ATRIUM_FILES_DIR ]]; then
    log "warning: the files folder $ATRIUM_FILES_DIR does not exist (no upload yet?); no files archive written" >&2
else
    files_name="${name%.dump}.files.tar"
    files_target="$BACKUP_DIR/$files_name"
    PARTIAL="$BACKUP_DIR/.$files_name.partial"
    started=$SECONDS
    tar --create --file="$PARTIAL" --directory="$ATRIUM_FILES_DIR" --sort=name --numeric-owner . ||
        fail "tar of $ATRIUM_FILES_DIR failed; the database dump $target is complete, the files archive is not"
    count=$(tar --list --file="$PARTIAL" | grep -vc '/$' || true)
    mv -f -- "$PARTIAL" "$files_target"
    PARTIAL=
    (cd "$BACKUP_DIR" && sha256sum -- "$files_name" >"$files_name.sha256") || fail "cannot write $files_target.sha256"
    log "wrote $files_target ($count file(s), $(du -h -- "$files_target" | cut -f1) in $((SECONDS - started)) s)"
fi

# Retention: only after a successful dump, only this database's dumps, never the new one.
removed=0
while IFS= read -r -d '' old; do
    [[ $old == "$target" || $old == "$target.sha256" ]] && continue
    [[ -n $files_target && ( $old == "$files_target" || $old == "$files_target.sha256" ) ]] && continue
    rm -f -- "$old"
    removed=$((removed + 1))
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f \
    \( -name "$PGDATABASE-*.dump" -o -name "$PGDATABASE-*.dump.sha256" -o -name ".$PGDATABASE-*.dump.partial" \
    -o -name "$PGDATABASE-*.files.tar" -o -name "$PGDATABASE-*.files.tar.sha256" -o -name ".$PGDATABASE-*.files.tar.partial" \) \
    -mmin +$((BACKUP_KEEP_DAYS * 1440)) -print0)
kept=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$PGDATABASE-*.dump" | wc -l)
log "retention $BACKUP_KEEP_DAYS days: removed $removed old file(s), $kept dump(s) kept"

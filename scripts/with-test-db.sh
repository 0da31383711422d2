#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster (one per run, removed afterwards) and
# its DATABASE_URL / DATABASE_OWNER_URL exported. Usage: scripts/with-test-db.sh CMD ARGS…
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/atrium-test-pg.XXXXXX)
cleanup() { "$here/pg-cluster.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
PG_FSYNC=off "$here/pg-cluster.sh" start "$dir"
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
"$@"

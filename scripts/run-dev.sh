#!/usr/bin/env bash
# `make run`: embedded PostgreSQL under ./var/pg (unless DATABASE_URL is set), migrations,
# the demo tenant, then the server on http://localhost:8080 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
if [ -z "${DATABASE_URL:-}" ]; then
    scripts/pg-cluster.sh start var/pg
    trap 'echo "stopping PostgreSQL"; scripts/pg-cluster.sh stop var/pg' EXIT
    set -a
    # shellcheck disable=SC1091
    . var/pg/env
    set +a
fi
if [ -n "${DATABASE_OWNER_URL:-}" ]; then
    "$bin/atrium-admin" migrate
    "$bin/atrium-admin" demo --credentials-file var/demo-password
else
    echo "DATABASE_OWNER_URL is not set: skipping migrations and the demo tenant" >&2
fi
export ATRIUM_DEFAULT_TENANT=${ATRIUM_DEFAULT_TENANT:-demo}
echo "serving on http://localhost:${ATRIUM_PORT:-8080} (tenant '$ATRIUM_DEFAULT_TENANT'; other tenants at http://<slug>.localhost:${ATRIUM_PORT:-8080}); Ctrl-C stops"
"$bin/atrium"

#!/usr/bin/env bash
# Sourced by the test script: makes MOAT_TEST_POSTGRES_URL point at a reachable PostgreSQL,
# starting the machine's local cluster (Debian's pg_ctlcluster) when none answers, and drops
# databases left by earlier test runs.

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }

ensure_postgres() {
  local url=${MOAT_TEST_POSTGRES_URL:-postgres://moat:moat@127.0.0.1:5432/postgres}
  if ! psql "$url" -Atc 'select 1' >/dev/null 2>&1; then
    local ver
    ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    pg_lsclusters -h 2>/dev/null | grep -q "^$ver main" || as_root_pg pg_createcluster "$ver" main
    pg_ctlcluster "$ver" main start 2>/dev/null || true
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    as_postgres "psql -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'moat') THEN CREATE ROLE moat LOGIN SUPERUSER PASSWORD 'moat'; END IF; END \\\$\\\$;\""
    url=postgres://moat:moat@127.0.0.1:5432/postgres
    psql "$url" -Atc 'select 1' >/dev/null
  fi
  psql "$url" -Atc "select datname from pg_database where datname like 'moat\_test\_%'" |
    while read -r db; do psql "$url" -qc "drop database \"$db\" with (force)"; done
  export MOAT_TEST_POSTGRES_URL=$url
  echo "==> PostgreSQL: $(psql "$url" -Atc 'show server_version')"
}

as_root_pg() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

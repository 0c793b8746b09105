#!/usr/bin/env bash
# End-to-end ingest benchmark: N distinct TLS reports (JSON, each with failure details) through
# `moat import` — raw storage, parse, attribution, dedupe, normalized rows and rollups — on
# SQLite and on PostgreSQL. Prints reports per second.
#
#   scripts/bench-ingest.sh [N]        # default 10000; MOAT_BIN overrides the binary
# PostgreSQL: the test cluster of scripts/postgres.sh (a fresh database per run).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
BIN=${MOAT_BIN:-${CARGO_TARGET_DIR:-target}/release/moat}
[ -x "$BIN" ] || { echo "build it first: cargo build --release --bin moat" >&2; exit 1; }
DIR=$(mktemp -d /tmp/moat-bench-ingest.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

python3 - "$DIR/reports" "$N" <<'PY'
import json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
for i in range(n):
    d = f"d{i % 20}.bench.test"
    r = {
        "organization-name": f"Sender {i % 7}",
        "date-range": {"start-datetime": f"2026-11-{1 + i % 27:02d}T00:00:00Z",
                       "end-datetime": f"2026-11-{1 + i % 27:02d}T23:59:59Z"},
        "contact-info": "tlsrpt@sender.test",
        "report-id": f"bench-{i}",
        "policies": [{
            "policy": {"policy-type": "sts", "policy-domain": d,
                       "policy-string": ["version: STSv1", "mode: enforce", f"mx: mx.{d}", "max_age: 604800"],
                       "mx-host": [f"mx.{d}"]},
            "summary": {"total-successful-session-count": 1000 + i, "total-failure-session-count": 3},
            "failure-details": [
                {"result-type": "certificate-expired", "sending-mta-ip": f"192.0.2.{i % 250}",
                 "receiving-mx-hostname": f"mx.{d}", "receiving-ip": "198.51.100.1", "failed-session-count": 2},
                {"result-type": "starttls-not-supported", "sending-mta-ip": f"192.0.2.{i % 250}",
                 "receiving-mx-hostname": f"mx2.{d}", "receiving-ip": "198.51.100.2", "failed-session-count": 1},
            ],
        }],
    }
    with open(f"{out}/r{i:06d}.json", "w") as f:
        json.dump(r, f)
PY

run() { # label database-url
  export MOAT_DATABASE_URL=$2 MOAT_DATA_DIR=$DIR/data
  "$BIN" migrate >/dev/null
  "$BIN" org create Bench >/dev/null
  for i in $(seq 0 19); do "$BIN" domain add "d$i.bench.test" --org Bench --reporting-only >/dev/null; done
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" import --org Bench "$DIR/reports" >/dev/null 2>"$DIR/import.err" || { cat "$DIR/import.err"; exit 1; }
  t1=$(date +%s.%N)
  local stored
  stored=$("$BIN" reports list --org Bench --limit 1000000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$stored" = "$N" ] || { echo "$1: stored $stored of $N" >&2; exit 1; }
  awk -v a="$t0" -v b="$t1" -v n="$N" -v l="$1" 'BEGIN { printf "%-10s %d reports stored in %.2f s: %.0f reports/s\n", l, n, b - a, n / (b - a) }'
}

run sqlite "sqlite://$DIR/bench.db"
# shellcheck source=postgres.sh
. scripts/postgres.sh
ensure_postgres >/dev/null
DB=moat_bench_$$
psql "$MOAT_TEST_POSTGRES_URL" -qc "CREATE DATABASE $DB" >/dev/null
trap 'psql "$MOAT_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
run postgres "${MOAT_TEST_POSTGRES_URL%/*}/$DB"

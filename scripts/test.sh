#!/usr/bin/env bash
# The whole test suite: lint, architecture rules, unit and integration tests on SQLite and
# PostgreSQL, then the browser tests in Chromium against a real `moat serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# shellcheck source=postgres.sh
. scripts/postgres.sh
ensure_postgres
export MOAT_REQUIRE_POSTGRES=1

echo "==> format and lints"
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings

echo "==> architecture rules"
if git grep -nE 'sqlx::|hickory_|lettre::' -- app/src; then echo "app/ must not touch SQL, DNS or mail directly" >&2; exit 1; fi
if git grep -nE 'axum::|leptos' -- crates/; then echo "crates/ must stay free of web frameworks" >&2; exit 1; fi

# The browser bundle; the `moat` binary the browser tests start is the one `cargo test` builds.
scripts/build-site.sh debug
if cargo tree -p frontend --target wasm32-unknown-unknown -e normal 2>/dev/null | grep -E ' (sqlx|lettre|hickory-[a-z]+|argon2) v'; then
  echo "the browser build must not pull server-side crates" >&2; exit 1
fi

echo "==> unit and integration tests (SQLite and PostgreSQL)"
cargo test

echo "==> browser tests (Chromium)"
node --test end2end/tests/

echo "==> interop: unbound + nsd + postfix-mta-sts-resolver against moat serve"
end2end/interop/mta-sts.sh

echo "==> interop: tlsrpt-reporter, msmtp and swaks deliver TLS reports to moat serve"
end2end/interop/tlsrpt.sh

echo "==> interop: Pebble issues and renews Moat's certificates over ACME (one instance, then two on PostgreSQL)"
end2end/interop/acme.sh

echo "==> fault test: PostgreSQL stopped during a burst of SMTP deliveries"
end2end/interop/pg-fault.sh

echo "==> fuzzing the report parser and the MIME extraction (short run)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh

#!/usr/bin/env bash
# Builds (when needed) and starts Moat with zero configuration: SQLite in ./data, web app on
# http://127.0.0.1:3000. Any MOAT_* variable or a moat.toml overrides the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
# The build honours CARGO_TARGET_DIR; so does finding the binary and its browser assets.
target=${CARGO_TARGET_DIR:-target}
export MOAT_SITE_ROOT=${MOAT_SITE_ROOT:-$target/site}
exec "$target/release/moat" serve "$@"

#!/usr/bin/env bash
# Builds Moat: the browser assets into target/site and the `moat` binary.
# Usage: scripts/build.sh [release|debug]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-release}
scripts/build-site.sh "$profile"
echo "==> moat binary ($profile)"
if [ "$profile" = release ]; then cargo build -p moat-server --release; else cargo build -p moat-server; fi

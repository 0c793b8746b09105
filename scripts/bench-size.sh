#!/usr/bin/env bash
# What a browser downloads for the dashboard: the release WASM, its JS glue and the ECharts
# bundle, each as Moat serves it (gzip), plus the stylesheet. Builds the release site first
# (about 4–5 minutes from cold on 2 cores). See bench/README.md.
#
#   scripts/bench-size.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
if [[ ${1:-} != --no-build ]]; then
  nice scripts/build-site.sh release >/dev/null
fi
pkg="$target/site/pkg"
total=0
printf '%-18s %12s %12s\n' file bytes gzip
for f in moat_bg.wasm moat.js echarts.min.js moat.css; do
  raw=$(stat -c %s "$pkg/$f")
  gz=$(gzip -6 -c "$pkg/$f" | wc -c)
  printf '%-18s %12d %12d\n' "$f" "$raw" "$gz"
  [[ $f == moat.css ]] || total=$((total + gz))
done
awk -v t="$total" 'BEGIN { printf "JS+WASM for the dashboard, gzip: %d bytes (%.2f MB; goal < 1 MB)\n", t, t / 1e6 }'

#!/usr/bin/env bash
# Builds the browser assets into $CARGO_TARGET_DIR/site (default target/site): the hydrate
# WASM through wasm-bindgen (and wasm-opt for release), the stylesheet and static files.
# Usage: scripts/build-site.sh [release|debug]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-release}
target=${CARGO_TARGET_DIR:-target}
site="$target/site"
case "$profile" in
  release) wasm_profile=wasm-release; wasm_dir=wasm-release ;;
  debug) wasm_profile=dev; wasm_dir=debug ;;
  *) echo "usage: $0 [release|debug]" >&2; exit 2 ;;
esac

echo "==> browser bundle ($profile)"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
rm -rf "$site/pkg" && mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name moat \
  "$target/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
if [ "$profile" = release ]; then
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$site/pkg/moat_bg.wasm" -o "$site/pkg/moat_bg.wasm"
fi
cp style/main.css "$site/pkg/moat.css"
cp -r public/. "$site/"
# ECharts from the npm package (package.json pins it), only the parts the charts use, served
# by Moat itself: never a CDN.
node_modules/.bin/esbuild frontend/echarts.js --bundle --minify --format=iife --legal-comments=eof \
  --log-level=warning --outfile="$site/pkg/echarts.min.js"
echo "browser assets: $(du -sh "$site/pkg" | cut -f1) in $site/pkg"

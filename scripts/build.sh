#!/usr/bin/env bash
# Builds Moat: the browser assets (WASM, JS glue, CSS, static files) into target/site, and
# the `moat` binary. Usage: scripts/build.sh [release|debug]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-release}
target=${CARGO_TARGET_DIR:-target}
site="$target/site"

case "$profile" in
  release) wasm_profile=wasm-release; server_flag=(--release); server_dir=release ;;
  debug) wasm_profile=dev; server_flag=(); server_dir=debug ;;
  *) echo "usage: $0 [release|debug]" >&2; exit 2 ;;
esac

echo "==> browser bundle ($profile)"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
wasm_dir=$([ "$wasm_profile" = dev ] && echo debug || echo "$wasm_profile")
rm -rf "$site/pkg" && mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name moat \
  "$target/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
if [ "$profile" = release ]; then
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$site/pkg/moat_bg.wasm" -o "$site/pkg/moat_bg.wasm"
fi
cp style/main.css "$site/pkg/moat.css"
cp -r public/. "$site/"

echo "==> moat binary ($profile)"
cargo build -p moat-server "${server_flag[@]}"
echo "built $target/$server_dir/moat and $site ($(du -sh "$site/pkg" | cut -f1) of browser assets)"

#!/usr/bin/env bash
# Installs what building Moat needs, idempotently: the wasm32 target, wasm-bindgen-cli
# matching the lockfile, and the npm tools (wasm-opt from npm's binaryen, playwright-core).
# With --test also Debian's chromium, postgresql, and the DNS servers the browser and interop
# tests run on loopback (nsd, unbound), and Pebble.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "${1:-}" = --test ]; then
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || packages+=(postgresql)
  command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
  command -v nsd >/dev/null 2>&1 || packages+=(nsd)
  command -v unbound >/dev/null 2>&1 || packages+=(unbound)
  # Real report senders for the TLS-RPT interop test (swaks needs Perl's TLS modules for STARTTLS).
  command -v msmtp >/dev/null 2>&1 || packages+=(msmtp)
  command -v swaks >/dev/null 2>&1 || packages+=(swaks)
  perl -MIO::Socket::SSL -MNet::SSLeay -e 1 2>/dev/null || packages+=(libio-socket-ssl-perl libnet-ssleay-perl)
  # The ACME test CA for the certificate interop test.
  command -v pebble >/dev/null 2>&1 || packages+=(pebble)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "==> apt-get install ${packages[*]}"
  # Keep the packages' own services (nsd, unbound on port 53) from starting: the tests run
  # their own instances on loopback ports.
  guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    guard=1
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${packages[@]}" >/dev/null
  [ -z "$guard" ] || as_root rm -f /usr/sbin/policy-rc.d
fi

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

# wasm-bindgen-cli must equal the `wasm-bindgen` crate pinned in Cargo.toml. Its published
# lockfile wants a webpki-roots release the registry here lacks, so on failure it is built
# from the (already downloaded) source with that one crate pinned back.
wb=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
  echo "==> installing wasm-bindgen-cli $wb"
  if ! cargo install wasm-bindgen-cli --version "$wb" --locked >/dev/null 2>&1; then
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/wasm-bindgen-cli-"$wb" | head -n 1)
    tmp=$(mktemp -d)
    cp -r "$src" "$tmp/wasm-bindgen-cli"
    (cd "$tmp/wasm-bindgen-cli" && cargo update -q -p webpki-roots --precise 1.0.10 && cargo install -q --path . --locked)
    rm -rf "$tmp"
  fi
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

#!/usr/bin/env bash
# Real-software interop test for Moat's automatic certificates (ACME, HTTP-01): a real ACME CA
# (Debian's Pebble) validates `mta-sts.customer.test` by following the customer's CNAME through a
# real recursive resolver (unbound; nsd serves customer.test) into Moat's authoritative DNS, and
# fetches the challenge answer from Moat's HTTP-01 listener. A real MTA-STS client
# (postfix-mta-sts-resolver's `mta-sts-query`) trusting only Pebble's root then gets the policy.
#
#   end2end/interop/acme.sh          # as root; needs the built `moat` (cargo build) and PostgreSQL
#
# Phase 1, one `moat serve` on SQLite, Pebble issuing VALIDITY-second certificates:
#   1. Pebble starts with a listener certificate from a throwaway CA (MOAT_ACME_CA_ROOTS).
#   2. `moat domain add`, then the CNAMEs are published in nsd; Moat orders and installs a
#      certificate for mta-sts.customer.test (and reports.<zone>) by itself.
#   3. mta-sts-query trusting only Pebble's /roots/0 reports VALID; trusting only Moat's local CA
#      it fails certificate verification.
#   4. Moat renews before expiry and serves the new certificate without a restart.
#   A domain added to Moat whose CNAMEs were never published is never ordered.
# Phase 2, two `moat serve` on one PostgreSQL database, a fresh Pebble (long-lived certificates):
#   5. One order per host for the pair, and both instances serve the same certificate.
#
# Loopback only: nsd 127.0.0.1:<free>, unbound 127.0.0.53:53, Moat DNS 127.0.0.1:<free>, policy
# HTTPS 127.0.0.10:443 (second instance 127.0.0.11:443), HTTP-01 on the same IPs at one <free>
# port (Pebble's httpPort), Pebble 127.0.0.1:<free> (directory) and :<free> (management).
# Third-party tools never see the machine's resolver: they run in a private mount namespace whose
# /etc/resolv.conf points at unbound.
# Environment: MOAT_BIN (default $CARGO_TARGET_DIR/debug/moat), MOAT_TOOLS_DIR (default
# /var/tmp/moat-tools, holds the Python venv), MOAT_TEST_POSTGRES_URL (an admin URL; found or
# started like scripts/test.sh does when unset), VALIDITY (Pebble's certificate lifetime in
# phase 1, default 90 s), ISSUE_SECONDS (wait for a first certificate, default 60),
# SYNC_SECONDS (wait for the second instance to serve it, default 30), KEEP_TMP=1 keeps the
# scratch folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(realpath -m "${MOAT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/moat}")
TOOLS=${MOAT_TOOLS_DIR:-/var/tmp/moat-tools}
VENV=$TOOLS/venv-mta-sts
RESOLVER_VERSION=1.5.1
UNBOUND_IP=127.0.0.53
IP_A=127.0.0.10 # policy HTTPS and HTTP-01 of the instance in the DNS path (MOAT_POLICY_IPS)
IP_B=127.0.0.11 # the second instance of phase 2
ZONE=sts.moat.test
DOMAIN=customer.test
HOST=mta-sts.$DOMAIN
REPORTS_HOST=reports.$ZONE
LATE=late.test # added to Moat, CNAMEs never published: must never be ordered
MX=mx.customer.test
VALIDITY=${VALIDITY:-90}
ISSUE_SECONDS=${ISSUE_SECONDS:-60}
SYNC_SECONDS=${SYNC_SECONDS:-30}
DB_NAME=moat_acme_interop

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'; }
log() { echo "[$(since "$T0")s] $*"; }
die() { echo "[$(since "$T0")s] FAIL: $*" >&2; exit 1; }
elapsed_over() { awk -v a="$1" -v b="$(date +%s.%N)" -v max="$2" 'BEGIN { exit !(b - a >= max) }'; }

[ "$(id -u)" = 0 ] || die "run as root (binds 127.0.0.53:53 and 127.0.0.10:443, uses unshare -m)"

# ---------------------------------------------------------------- tools (idempotent installs)
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
apt_install() {
  # Debian's postinst scripts would start the stock nsd/unbound on port 53: forbid that unless
  # the machine already has a policy-rc.d.
  local rc=/usr/sbin/policy-rc.d created=
  if [ ! -e $rc ]; then printf '#!/bin/sh\nexit 101\n' >$rc; chmod +x $rc; created=1; fi
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  local st=0
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null ||
    { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null; } ||
    st=$?
  [ -z "$created" ] || rm -f $rc
  return $st
}
pkgs=()
have python3 || pkgs+=(python3 python3-venv)
have unbound || pkgs+=(unbound)
have nsd || pkgs+=(nsd)
have unshare || pkgs+=(util-linux)
have curl || pkgs+=(curl)
have openssl || pkgs+=(openssl)
have pebble || pkgs+=(pebble)
have psql || pkgs+=(postgresql-client)
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
PATH=$PATH:/usr/sbin:/sbin

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('postfix-mta-sts-resolver') != '$RESOLVER_VERSION')" 2>/dev/null; then
  log "pip install postfix-mta-sts-resolver==$RESOLVER_VERSION into $VENV"
  mkdir -p "$TOOLS"
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "postfix-mta-sts-resolver==$RESOLVER_VERSION"
fi

"$BIN" certs list --help >/dev/null 2>&1 || die "$BIN is missing or lacks 'certs list' (build it first: cargo build)"

# An admin URL of a reachable PostgreSQL. scripts/test.sh exports one; otherwise try the default
# and only then start the machine's cluster the way the test suite does.
PG_ADMIN=${MOAT_TEST_POSTGRES_URL:-postgres://moat:moat@127.0.0.1:5432/postgres}
if ! psql "$PG_ADMIN" -Atc 'select 1' >/dev/null 2>&1; then
  log "no PostgreSQL at $PG_ADMIN: starting the local cluster (scripts/postgres.sh)"
  # shellcheck source=scripts/postgres.sh
  . "$ROOT/scripts/postgres.sh"
  ensure_postgres >/dev/null
  PG_ADMIN=$MOAT_TEST_POSTGRES_URL
fi

# A port free for TCP and UDP on every IP given (default 127.0.0.1).
free_port() {
  python3 - "$@" <<'EOF'
import socket, sys
ips = sys.argv[1:] or ["127.0.0.1"]
while True:
    first = socket.socket(); first.bind((ips[0], 0)); port = first.getsockname()[1]
    socks, ok = [first], True
    for ip in ips:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            if (ip, kind) == (ips[0], socket.SOCK_STREAM):
                continue
            s = socket.socket(socket.AF_INET, kind); socks.append(s)
            try:
                s.bind((ip, port))
            except OSError:
                ok = False; break
        if not ok:
            break
    for s in socks:
        s.close()
    if ok:
        print(port); break
EOF
}
# Fails clearly when ip:port is taken (UDP and/or TCP), e.g. by another unbound.
require_free() {
  local ip=$1 port=$2 proto=$3
  python3 - "$ip" "$port" "$proto" <<'EOF' || { echo "FAIL: $ip:$port is already in use:" >&2; ss -lntup 2>/dev/null | grep -F ":$port " >&2 || true; exit 1; }
import socket, sys
ip, port, protos = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
for p in protos:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if p == "tcp" else socket.SOCK_DGRAM)
    if p == "tcp":  # like the servers: TIME_WAIT left by an earlier run must not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((ip, port))
    except OSError as e:
        print(f"{p} {ip}:{port}: {e}", file=sys.stderr); sys.exit(1)
    finally:
        s.close()
EOF
}
wait_port() { # ip port what pid
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2)" "$1" "$2" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || die "$3 exited during start-up"
    sleep 0.1
  done
  die "$3 did not listen on $1:$2 within 10 s"
}
# Reads a key from JSON on stdin: top-level first, else the first match at any depth.
json_get() {
  python3 -c '
import json, sys
key = sys.argv[1]
def find(v):
    if isinstance(v, dict):
        if key in v: return v[key]
        for x in v.values():
            r = find(x)
            if r is not None: return r
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r is not None: return r
    return None
r = find(json.load(sys.stdin))
if r is None: sys.exit(f"no {key!r} in the JSON")
print(r if isinstance(r, str) else json.dumps(r))
' "$1"
}

require_free $UNBOUND_IP 53 udp,tcp
require_free $IP_A 443 tcp
require_free $IP_B 443 tcp
# ---------------------------------------------------------------- scratch folder and cleanup
DIR=$(mktemp -d /tmp/moat-interop-acme.XXXXXX)
PKI=$DIR/pki
mkdir -p "$PKI" "$DIR/no-cert-dir"
PIDS=()
DB_CREATED=
cleanup() {
  local st=$?
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -z "$DB_CREATED" ] || psql "$PG_ADMIN" -qc "drop database if exists $DB_NAME with (force)" >/dev/null 2>&1 || true
  if [ "$st" != 0 ]; then
    for f in moat1.log pebble1.log moat2a.log moat2b.log pebble2.log unbound.log nsd.log; do
      [ -s "$DIR/$f" ] && { echo "----- $f (last 40 lines)"; tail -n 40 "$DIR/$f"; }
    done >&2
    echo "scratch folder kept: $DIR" >&2
  elif [ -z "${KEEP_TMP:-}" ]; then
    rm -rf "$DIR"
  else
    echo "scratch folder kept: $DIR"
  fi
  exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Stops one process we started and forgets it.
stop_pid() {
  local pid=$1 keep=() p
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

NSD_PORT=$(free_port)
DNS_PORT=$(free_port)                 # Moat's DNS in unbound's path (phase 1, then instance A)
PEBBLE_PORT=$(free_port)
PEBBLE_MGMT=$(free_port)
HTTP01_PORT=$(free_port $IP_A $IP_B) # Pebble's httpPort = MOAT_ACME_HTTP_ADDR's port

# Runs a third-party tool with /etc/resolv.conf -> unbound, without proxies; CA given as $1
# ("system" keeps the system's trust). With a CA file, the default certificate directory is
# emptied too, so that file is the only trust.
in_ns() {
  local ca=$1 ex=
  shift
  # "in_ns exec CA ..." replaces the calling (sub)shell, so that `in_ns exec ... &` gives the
  # tool's own pid in $!.
  [ "$ca" != exec ] || { ex="exec"; ca=$1; shift; }
  local envs=(env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy -u SSL_CERT_FILE -u SSL_CERT_DIR)
  [ "$ca" = system ] || envs+=(SSL_CERT_FILE="$ca" SSL_CERT_DIR="$DIR/no-cert-dir")
  # shellcheck disable=SC2016 # expanded by the inner sh
  $ex "${envs[@]}" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$DIR/resolv.conf" "$@"
}

# ---------------------------------------------------------------- throwaway CA for Pebble's listener
openssl_quiet() { openssl "$@" >/dev/null 2>&1 || { openssl "$@" >&2 || true; die "openssl $1 failed"; }; }
openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 2 \
  -subj "/CN=moat acme interop listener CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl_quiet req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/localhost.key" -out "$PKI/localhost.csr" -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >"$PKI/localhost.ext"
openssl_quiet x509 -req -in "$PKI/localhost.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
  -extfile "$PKI/localhost.ext" -out "$PKI/localhost.pem"
log "throwaway CA and Pebble listener certificate (localhost, 127.0.0.1) in $PKI"

# ---------------------------------------------------------------- nsd: the customer's DNS
# customer.test starts without the CNAMEs into Moat; they are published after `moat domain add`.
write_customer_zone() { # SERIAL [with-cnames]
  {
    cat <<EOF
\$ORIGIN customer.test.
\$TTL 60
@          IN SOA ns.customer.test. hostmaster.customer.test. $1 3600 600 86400 60
@          IN NS  ns.customer.test.
ns         IN A   127.0.0.1
@          IN MX  10 $MX.
mx         IN A   127.0.0.20
EOF
    [ -z "${2:-}" ] || cat <<EOF
mta-sts    IN CNAME mta-sts.customer.test.$ZONE.
_mta-sts   IN CNAME _mta-sts.customer.test.$ZONE.
_smtp._tls IN CNAME _smtp._tls.customer.test.$ZONE.
EOF
  } >"$DIR/customer.test.zone.new"
  mv "$DIR/customer.test.zone.new" "$DIR/customer.test.zone"
}
write_customer_zone 1
cat >"$DIR/late.test.zone" <<EOF
\$ORIGIN late.test.
\$TTL 60
@  IN SOA ns.late.test. hostmaster.late.test. 1 3600 600 86400 60
@  IN NS  ns.late.test.
ns IN A   127.0.0.1
@  IN MX  10 mx.late.test.
mx IN A   127.0.0.21
EOF
cat >"$DIR/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$DIR"
  database: ""
  pidfile: "$DIR/nsd.pid"
  xfrdfile: "$DIR/xfrd.state"
  zonelistfile: "$DIR/zone.list"
  logfile: "$DIR/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: customer.test
  zonefile: customer.test.zone
zone:
  name: late.test
  zonefile: late.test.zone
EOF
nsd-checkconf "$DIR/nsd.conf" || die "nsd-checkconf rejected nsd.conf"
nsd -d -c "$DIR/nsd.conf" 2>>"$DIR/nsd.log" &
NSD_PID=$!
PIDS+=("$NSD_PID")
wait_port 127.0.0.1 "$NSD_PORT" nsd $NSD_PID
log "nsd serves customer.test (no CNAMEs yet) and $LATE on 127.0.0.1:$NSD_PORT"

# ---------------------------------------------------------------- unbound on 127.0.0.53:53
cat >"$DIR/unbound.conf" <<EOF
server:
  interface: $UNBOUND_IP
  port: 53
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$DIR"
  pidfile: "$DIR/unbound.pid"
  use-syslog: no
  verbosity: 1
  log-queries: yes
  log-replies: yes
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  local-zone: "test." nodefault
  local-zone: "." static
  local-zone: "customer.test." transparent
  local-zone: "$LATE." transparent
  local-zone: "$ZONE." transparent
  domain-insecure: "test."
  module-config: "iterator"
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
  infra-host-ttl: 5
  qname-minimisation: no
stub-zone:
  name: "customer.test."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "$LATE."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "$ZONE."
  stub-addr: 127.0.0.1@$DNS_PORT
remote-control:
  control-enable: no
EOF
unbound-checkconf "$DIR/unbound.conf" >/dev/null || die "unbound-checkconf rejected unbound.conf"
unbound -d -c "$DIR/unbound.conf" >>"$DIR/unbound.log" 2>&1 &
PIDS+=($!)
wait_port $UNBOUND_IP 53 unbound "${PIDS[-1]}"
printf 'nameserver %s\noptions timeout:2 attempts:2\n' $UNBOUND_IP >"$DIR/resolv.conf"
log "unbound on $UNBOUND_IP:53 (customer.test, $LATE -> nsd; $ZONE -> Moat 127.0.0.1:$DNS_PORT)"

# ---------------------------------------------------------------- Pebble
# Starts Pebble N with the given certificate lifetime (seconds); fetches its new root and
# intermediate into $DIR/pebbleN-{root,intermediate}.pem. Sets PEBBLE_PID.
start_pebble() {
  local n=$1 validity=$2 t
  t=$(date +%s.%N)
  cat >"$DIR/pebble$n.json" <<EOF
{ "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT",
    "certificate": "$PKI/localhost.pem",
    "privateKey": "$PKI/localhost.key",
    "httpPort": $HTTP01_PORT,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "certificateValidityPeriod": $validity } }
EOF
  # No random VA sleeps, no rejected nonces, every order validated afresh (no authz reuse).
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    in_ns exec system pebble -config "$DIR/pebble$n.json" -dnsserver $UNBOUND_IP:53 -strict=false >>"$DIR/pebble$n.log" 2>&1 &
  PEBBLE_PID=$!
  PIDS+=("$PEBBLE_PID")
  wait_port 127.0.0.1 "$PEBBLE_PORT" "pebble $n (ACME)" $PEBBLE_PID
  wait_port 127.0.0.1 "$PEBBLE_MGMT" "pebble $n (management)" $PEBBLE_PID
  local c=(curl -fsS --noproxy '*' --max-time 5 --cacert "$PKI/ca.pem")
  "${c[@]}" -o "$DIR/pebble$n-dir.json" "https://127.0.0.1:$PEBBLE_PORT/dir" || die "pebble $n: GET /dir over our listener CA"
  json_get newOrder <"$DIR/pebble$n-dir.json" >/dev/null || { cat "$DIR/pebble$n-dir.json" >&2; die "pebble $n: no newOrder in the directory"; }
  "${c[@]}" -o "$DIR/pebble$n-root.pem" "https://127.0.0.1:$PEBBLE_MGMT/roots/0" || die "pebble $n: GET /roots/0"
  "${c[@]}" -o "$DIR/pebble$n-intermediate.pem" "https://127.0.0.1:$PEBBLE_MGMT/intermediates/0" || die "pebble $n: GET /intermediates/0"
  grep -q 'Using custom DNS resolver for ACME challenges: '$UNBOUND_IP':53' "$DIR/pebble$n.log" || die "pebble $n does not use unbound for validation"
  log "PASS pebble $n: https://127.0.0.1:$PEBBLE_PORT/dir (listener verified with our CA), $(openssl x509 -in "$DIR/pebble$n-root.pem" -noout -subject | sed 's/^subject=//'), certificates valid ${validity}s, validation via unbound, HTTP-01 port $HTTP01_PORT (up in $(since "$t")s)"
}
# Serials Pebble N issued (lowercase hex, no leading zeros) whose SAN names HOST.
issued_for() { # N HOST
  local s pem san
  for s in $(grep -o 'Issued certificate serial [0-9a-f]*' "$DIR/pebble$1.log" | awk '{ print $4 }' || true); do
    pem=$(curl -fsS --noproxy '*' --max-time 5 --cacert "$PKI/ca.pem" "https://127.0.0.1:$PEBBLE_MGMT/cert-status-by-serial/$s" | json_get Certificate) ||
      die "pebble $1: no certificate for serial $s"
    san=$(openssl x509 -noout -ext subjectAltName <<<"$pem") || die "pebble $1: unreadable certificate $s"
    # Pebble logs the serial with leading zeros; served_serial strips them.
    if grep -qE "DNS:${2//./\\.}(,|$)" <<<"$san"; then sed 's/^0*//' <<<"$s"; fi
  done
}

# ---------------------------------------------------------------- moat serve
# Starts one instance: NAME LISTEN_IP DNS_PORT [VAR=value...]. Its policy HTTPS is on LISTEN_IP:443
# and its HTTP-01 listener on LISTEN_IP:HTTP01_PORT; MOAT_DATABASE_URL and the MOAT_ACME_* come
# from the environment. Sets MOAT_PID.
start_moat() {
  local name=$1 ip=$2 dns=$3 web smtp t
  shift 3
  t=$(date +%s.%N)
  web=$(free_port)
  smtp=$(free_port)
  mkdir -p "$DIR/data-$name"
  env -u RUST_LOG -u SSL_CERT_FILE -u SSL_CERT_DIR -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy \
    MOAT_DATA_DIR="$DIR/data-$name" MOAT_WEB_ADDR="127.0.0.1:$web" MOAT_PUBLIC_URL="http://127.0.0.1:$web" \
    MOAT_SMTP_ADDR="127.0.0.1:$smtp" MOAT_DNS_ADDR="127.0.0.1:$dns" MOAT_POLICY_ADDR="$ip:443" \
    MOAT_ACME_HTTP_ADDR="$ip:$HTTP01_PORT" "$@" \
    "$BIN" serve >>"$DIR/$name.log" 2>&1 &
  MOAT_PID=$!
  PIDS+=("$MOAT_PID")
  for i in $(seq 300); do
    curl -fsS --noproxy '*' -o /dev/null "http://127.0.0.1:$web/healthz" 2>/dev/null && break
    kill -0 $MOAT_PID 2>/dev/null || die "moat serve ($name) exited during start-up"
    [ "$i" -lt 300 ] || die "moat serve ($name) not healthy within 30 s"
    sleep 0.1
  done
  wait_port 127.0.0.1 "$dns" "moat serve ($name, DNS)" $MOAT_PID
  wait_port "$ip" 443 "moat serve ($name, policy HTTPS)" $MOAT_PID
  wait_port "$ip" "$HTTP01_PORT" "moat serve ($name, HTTP-01)" $MOAT_PID
  log "moat serve ($name, pid $MOAT_PID) healthy in $(since "$t")s: DNS 127.0.0.1:$dns, policy $ip:443, HTTP-01 $ip:$HTTP01_PORT"
}
export MOAT_ZONE=$ZONE
export MOAT_POLICY_IPS=$IP_A
export MOAT_RESOLVERS=$UNBOUND_IP:53
export MOAT_LOG=${MOAT_LOG:-info}
export MOAT_ACME_DIRECTORY=https://127.0.0.1:$PEBBLE_PORT/dir
export MOAT_ACME_CA_ROOTS=$PKI/ca.pem
[ -d "${CARGO_TARGET_DIR:-$ROOT/target}/site" ] && export MOAT_SITE_ROOT=${MOAT_SITE_ROOT:-${CARGO_TARGET_DIR:-$ROOT/target}/site}
unset RUST_LOG

# ---------------------------------------------------------------- helpers for the checks
moat() { "$BIN" "$@"; }
# `moat certs list --json` into $DIR/certs.json.
certs_json() { moat certs list --json >"$DIR/certs.json" 2>"$DIR/certs.err"; }
# A field of HOST's entry in $DIR/certs.json ("null" for null); status 1 when HOST is not listed.
cert_field() { # HOST FIELD
  python3 - "$1" "$2" "$DIR/certs.json" <<'EOF'
import json, sys
host, field, path = sys.argv[1:]
text = open(path).read()
try:
    data = json.loads(text)
except ValueError:  # one object a line
    data = [json.loads(line) for line in text.splitlines() if line.strip()]
if isinstance(data, dict):
    data = data.get("certificates") or data.get("certs") or [data]
for c in data:
    if c.get("host") == host:
        v = c.get(field)
        print("null" if v is None else v if isinstance(v, str) else json.dumps(v))
        sys.exit(0)
sys.exit(1)
EOF
}
show_certs() { echo "----- moat certs list --json"; cat "$DIR/certs.json" "$DIR/certs.err" 2>/dev/null; } >&2
# Polls `moat certs list` until HOST's source is acme; prints the seconds it took.
wait_acme() { # HOST MAX_SECONDS
  local start
  start=$(date +%s.%N)
  while :; do
    certs_json && [ "$(cert_field "$1" source 2>/dev/null)" = acme ] && { since "$start"; return 0; }
    elapsed_over "$start" "$2" && return 1
    sleep 0.5
  done
}
# The certificate IP:443 serves for SNI NAME: prints its serial (lowercase hex, no leading zeros,
# like Pebble's log) and keeps the handshake output in $DIR/sclient.{out,err}. With CAFILE the
# chain and the host name must verify against it alone.
served_serial() { # IP NAME [CAFILE]
  local args=(-connect "$1:443" -servername "$2" -showcerts)
  [ -z "${3:-}" ] || args+=(-CAfile "$3" -no-CApath -no-CAstore -verify_return_error -verify_hostname "$2")
  timeout 10 openssl s_client "${args[@]}" </dev/null >"$DIR/sclient.out" 2>"$DIR/sclient.err" || return 1
  openssl x509 -in "$DIR/sclient.out" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'
}
show_sclient() { echo "----- openssl s_client"; grep -E 'verify|Verif|subject=|issuer=|error' "$DIR/sclient.out" "$DIR/sclient.err" | head -n 20; } >&2
# mta-sts-query trusting only CAFILE; stdout/stderr in $DIR/query.{out,err}.
query() { in_ns "$1" "$VENV/bin/mta-sts-query" -v debug "${@:2}" >"$DIR/query.out" 2>"$DIR/query.err" || true; }
# Checks query.out: RESULT [MODE MX MAX_AGE]; prints why not on mismatch.
check_query() {
  python3 - "$DIR/query.out" "$@" <<'EOF'
import ast, re, sys
out = open(sys.argv[1]).read().strip()
want = sys.argv[2:]
m = re.fullmatch(r"\(<STSFetchResult\.(\w+): \d+>, (.*)\)", out, re.S)
if not m:
    sys.exit(f"unparsable output: {out!r}")
result, rest = m.group(1), ast.literal_eval(m.group(2))
if result != want[0]:
    sys.exit(f"result {result}, want {want[0]}")
if len(want) > 1:
    pid, pol = rest
    got = (pol.get("mode"), pol.get("mx"), pol.get("max_age"), pol.get("version"))
    exp = (want[1], [want[2]], int(want[3]), "STSv1")
    if got != exp:
        sys.exit(f"got (mode, mx, max_age, version) = {got}, want {exp}")
EOF
}
show_query() { echo "----- mta-sts-query stdout"; cat "$DIR/query.out"; echo "----- mta-sts-query stderr"; tail -n 20 "$DIR/query.err"; } >&2
fmt_time() { if [ "$1" = null ]; then echo null; else date -u -d "@$1" +%H:%M:%S; fi; }
# Moat's log lines about obtaining a certificate for HOST (Moat logs one per certificate).
OBTAINED_RE='certificate obtained'
obtained_lines() { grep -hiE "$OBTAINED_RE" "$@" 2>/dev/null | grep -E "${HOST//./\\.}([^.a-z0-9-]|$)" || true; }

# ================================================================ phase 1: one instance, SQLite
log "== phase 1: one moat serve on SQLite, Pebble issuing ${VALIDITY}s certificates"
start_pebble 1 "$VALIDITY"
export MOAT_DATABASE_URL="sqlite://$DIR/data-moat1/moat.db"
export MOAT_DATA_DIR=$DIR/data-moat1
start_moat moat1 $IP_A "$DNS_PORT" MOAT_ACME_CONTACT=hostmaster@customer.test
MOAT1_PID=$MOAT_PID
CA=$DIR/data-moat1/local-ca.pem
for _ in $(seq 50); do [ -s "$CA" ] && break; sleep 0.1; done
[ -s "$CA" ] || die "moat serve wrote no $CA"
code=$(curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 5 "http://$IP_A:$HTTP01_PORT/.well-known/acme-challenge/no-such-token" || true)
[ "$code" = 404 ] || die "HTTP-01 listener: GET of an unknown token gave HTTP '$code', want 404"

ORG=$(moat org create "ACME Interop Org" --json | json_get id)
moat domain add $DOMAIN --org "$ORG" >"$DIR/domain-add.out" 2>&1 || { cat "$DIR/domain-add.out" >&2; die "moat domain add $DOMAIN failed"; }
moat domain add $LATE --org "$ORG" >>"$DIR/domain-add.out" 2>&1 || { cat "$DIR/domain-add.out" >&2; die "moat domain add $LATE failed"; }
# No TLS reports and no MX probe exist yet here: the readiness gate is overridden on purpose.
moat policy set $DOMAIN --mode enforce --mx $MX --max-age 86400 --override-readiness >/dev/null
moat domain check $DOMAIN --json >"$DIR/check0.json" 2>"$DIR/check0.err" || true
state=$(json_get state <"$DIR/check0.json" 2>/dev/null || true)
[ "$state" != active ] || { cat "$DIR/check0.json" >&2; die "$DOMAIN is active before its CNAMEs exist"; }
certs_json || { show_certs; die "moat certs list --json failed"; }
[ "$(cert_field $HOST source 2>/dev/null || true)" != acme ] || { show_certs; die "$HOST has an ACME certificate before its CNAMEs exist"; }
log "PASS domains $DOMAIN and $LATE added (org $ORG); before the CNAMEs: $DOMAIN '$state', no ACME certificate for $HOST"

# The customer publishes the CNAMEs (nsd rereads zone files whose mtime changed on SIGHUP).
write_customer_zone 2 with-cnames
touch -d '+1 second' "$DIR/customer.test.zone"
kill -HUP $NSD_PID
T_PUB=$(date +%s.%N)
state=
for i in $(seq 20); do
  moat domain check $DOMAIN --json >"$DIR/check.json" 2>"$DIR/check.err" || true
  state=$(json_get state <"$DIR/check.json" 2>/dev/null || true)
  [ "$state" = active ] && break
  sleep 0.5
done
[ "$state" = active ] || { cat "$DIR/check.json" "$DIR/check.err" >&2; die "moat domain check $DOMAIN: state '$state' after publishing the CNAMEs, want active"; }
T_ACTIVE=$(date +%s.%N)
log "PASS CNAMEs published in nsd; $DOMAIN active after $i check(s) ($(since "$T_PUB")s)"

# ---------------------------------------------------------------- 2. Moat orders by itself
took=$(wait_acme $HOST "$ISSUE_SECONDS") || {
  show_certs
  die "no ACME certificate for $HOST within ${ISSUE_SECONDS}s of the domain becoming active (last_error: $(cert_field $HOST last_error 2>/dev/null || echo '?'))"
}
issuer=$(cert_field $HOST issuer)
NB1=$(cert_field $HOST not_before)
NA1=$(cert_field $HOST not_after)
RA1=$(cert_field $HOST renew_at)
log "PASS Moat got a certificate for $HOST from Pebble by itself, ${took}s after the domain became active: issuer '$issuer', valid $(fmt_time "$NB1")-$(fmt_time "$NA1") UTC, renew at $(fmt_time "$RA1")"
grep -q "Attempting to validate w/ HTTP: http://$HOST:$HTTP01_PORT/.well-known/acme-challenge/" "$DIR/pebble1.log" ||
  log "note: Pebble's log shows no HTTP-01 validation of $HOST (another challenge type was used)"
# Renewal when less than min(30 days, a third of the lifetime) remains.
python3 - "$NB1" "$NA1" "$RA1" <<'EOF' || die "renew_at of $HOST is not not_after - min(30 days, lifetime/3)"
import sys
nb, na, ra = (int(float(x)) for x in sys.argv[1:])
want = na - min(30 * 86400, (na - nb) // 3)
if abs(ra - want) > 5:
    sys.exit(f"renew_at {ra}, want about {want} (not_before {nb}, not_after {na})")
EOF

took=$(wait_acme "$REPORTS_HOST" "$ISSUE_SECONDS") || { show_certs; die "no ACME certificate for $REPORTS_HOST within ${ISSUE_SECONDS}s (last_error: $(cert_field "$REPORTS_HOST" last_error 2>/dev/null || echo '?'))"; }
log "PASS Moat got a certificate for $REPORTS_HOST too (${took}s after $HOST)"

# The policy listener serves them without a restart, chained to Pebble's root.
T_SRV=$(date +%s.%N)
while ! S1=$(served_serial $IP_A $HOST "$DIR/pebble1-root.pem"); do
  elapsed_over "$T_SRV" 10 && { show_sclient; die "$IP_A:443 does not serve a certificate for $HOST that verifies against Pebble's root alone"; }
  sleep 0.3
done
chain=$(grep -c 'BEGIN CERTIFICATE' "$DIR/sclient.out")
issued=$(issued_for 1 $HOST)
grep -qx "$S1" <<<"$issued" || die "served serial $S1 is not one Pebble issued for $HOST (Pebble issued: $(echo "$issued" | tr '\n' ' '))"
served_serial $IP_A "$REPORTS_HOST" "$DIR/pebble1-root.pem" >/dev/null || { show_sclient; die "$IP_A:443 does not serve a Pebble certificate for $REPORTS_HOST"; }
kill -0 $MOAT1_PID 2>/dev/null || die "moat serve died"
log "PASS $IP_A:443 serves Pebble's certificate serial $S1 for $HOST (chain of $chain, verifies against /roots/0 alone; same pid $MOAT1_PID) and one for $REPORTS_HOST"

# ---------------------------------------------------------------- 3. a real MTA-STS client
T_Q=$(date +%s.%N)
query "$DIR/pebble1-root.pem" $DOMAIN
why=$(check_query VALID enforce $MX 86400 2>&1) || { show_query; die "mta-sts-query trusting only Pebble's root: $why"; }
log "PASS mta-sts-query trusting only Pebble's /roots/0: VALID mode=enforce mx=[$MX] max_age=86400 ($(since "$T_Q")s)"
query "$CA" $DOMAIN
check_query FETCH_ERROR >/dev/null 2>&1 || { show_query; die "mta-sts-query trusting only Moat's local CA: want FETCH_ERROR (the served certificate is Pebble's)"; }
grep -qi 'certificate verify failed' "$DIR/query.err" || { show_query; die "FETCH_ERROR without 'certificate verify failed'"; }
log "PASS mta-sts-query trusting only Moat's local-ca.pem: FETCH_ERROR (certificate verify failed)"

# ---------------------------------------------------------------- 4. renewal without restart
# Moat must serve a new certificate before the first one expires.
log "waiting for the renewal (due $(fmt_time "$RA1"), first certificate expires $(fmt_time "$NA1") UTC)"
while :; do
  s=$(served_serial $IP_A $HOST || true)
  [ -n "$s" ] && [ "$s" != "$S1" ] && break
  [ "$(date +%s)" -le "$NA1" ] || { certs_json || true; show_certs; die "$IP_A:443 still serves serial $S1 for $HOST at its expiry: no renewal"; }
  kill -0 $MOAT1_PID 2>/dev/null || die "moat serve died while waiting for the renewal"
  sleep 1
done
S2=$s
T_RENEWED=$(date +%s)
served_serial $IP_A $HOST "$DIR/pebble1-root.pem" >/dev/null || { show_sclient; die "the renewed certificate for $HOST does not verify against Pebble's root"; }
grep -qx "$S2" <<<"$(issued_for 1 $HOST)" || die "renewed serial $S2 is not one Pebble issued for $HOST"
certs_json || { show_certs; die "moat certs list --json failed"; }
NB2=$(cert_field $HOST not_before)
if [ "$NB2" = null ] || [ "$NB2" -le "$NB1" ]; then show_certs; die "moat certs list still shows not_before $NB1 for $HOST after the renewal"; fi
query "$DIR/pebble1-root.pem" $DOMAIN
why=$(check_query VALID enforce $MX 86400 2>&1) || { show_query; die "mta-sts-query after the renewal: $why"; }
kill -0 $MOAT1_PID 2>/dev/null || die "moat serve died"
log "PASS renewed without restart (pid $MOAT1_PID): serial $S1 -> $S2 at $(fmt_time "$T_RENEWED") ($((T_RENEWED - RA1))s after renew_at, $((NA1 - T_RENEWED))s before expiry); certs list not_before $(fmt_time "$NB2"); mta-sts-query VALID"

# A domain in Moat whose CNAMEs never appeared is never ordered.
certs_json || { show_certs; die "moat certs list --json failed"; }
[ "$(cert_field "mta-sts.$LATE" source 2>/dev/null || true)" != acme ] || { show_certs; die "mta-sts.$LATE has an ACME certificate without CNAMEs to Moat"; }
! grep -qF "$LATE" "$DIR/pebble1.log" || { grep -F "$LATE" "$DIR/pebble1.log" | head -n 5 >&2; die "Pebble saw an order for $LATE (no CNAMEs to Moat)"; }
log "PASS $LATE (in Moat, no CNAMEs) was never ordered in $(since "$T_ACTIVE")s"

stop_pid $MOAT1_PID
stop_pid $PEBBLE_PID
unset MOAT_DATA_DIR

# ================================================================ phase 2: two instances, one PostgreSQL
log "== phase 2: two moat serve on one PostgreSQL database, a fresh Pebble"
PGOPTIONS="-c client_min_messages=warning" psql "$PG_ADMIN" -qc "drop database if exists $DB_NAME with (force)" >/dev/null
psql "$PG_ADMIN" -qc "create database $DB_NAME" >/dev/null
DB_CREATED=1
MOAT_DATABASE_URL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN" $DB_NAME)
export MOAT_DATABASE_URL
# Several instances must share the key that seals private keys at rest.
MOAT_MASTER_KEY=$(openssl rand -hex 32)
export MOAT_MASTER_KEY
start_pebble 2 157766400
# Both start before the domain exists; only A's addresses are in DNS (Pebble reaches A).
start_moat moat2a $IP_A "$DNS_PORT"
MOAT_A=$MOAT_PID
# Instance B's DNS port (not in unbound's path) is picked only now: a port picked at the start
# can be taken in the meantime by one of the many outgoing sockets of phase 1 (they come from the
# same ephemeral range), and moat2b then fails to bind it.
DNS_PORT_B=$(free_port)
start_moat moat2b $IP_B "$DNS_PORT_B"
MOAT_B=$MOAT_PID
export MOAT_DATA_DIR=$DIR/data-moat2a

ORG=$(moat org create "ACME Cluster Org" --json | json_get id)
moat domain add $DOMAIN --org "$ORG" >"$DIR/domain-add2.out" 2>&1 || { cat "$DIR/domain-add2.out" >&2; die "moat domain add $DOMAIN (PostgreSQL) failed"; }
moat policy set $DOMAIN --mode testing --mx $MX --max-age 86400 >/dev/null
T_ADD=$(date +%s.%N)
state=
for i in $(seq 10); do
  moat domain check $DOMAIN --json >"$DIR/check2.json" 2>"$DIR/check2.err" || true
  state=$(json_get state <"$DIR/check2.json" 2>/dev/null || true)
  [ "$state" = active ] && break
  sleep 0.5
done
[ "$state" = active ] || { cat "$DIR/check2.json" "$DIR/check2.err" >&2; die "moat domain check $DOMAIN (PostgreSQL): state '$state', want active"; }
took=$(wait_acme $HOST "$ISSUE_SECONDS") || { show_certs; die "no ACME certificate for $HOST on PostgreSQL within ${ISSUE_SECONDS}s (last_error: $(cert_field $HOST last_error 2>/dev/null || echo '?'))"; }
log "PASS the pair got a certificate for $HOST ${took}s after activation ($(since "$T_ADD")s after domain add)"

# Both serve it, verified against the new Pebble root, without a restart.
T_SYNC=$(date +%s.%N)
while :; do
  SA=$(served_serial $IP_A $HOST "$DIR/pebble2-root.pem" || true)
  SB=$(served_serial $IP_B $HOST "$DIR/pebble2-root.pem" || true)
  [ -n "$SA" ] && [ "$SA" = "$SB" ] && break
  elapsed_over "$T_SYNC" "$SYNC_SECONDS" && { show_sclient; die "after ${SYNC_SECONDS}s: $IP_A serves '${SA:-no verifiable certificate}', $IP_B serves '${SB:-no verifiable certificate}' for $HOST"; }
  sleep 0.5
done
took_sync=$(since "$T_SYNC")
wait_acme "$REPORTS_HOST" "$ISSUE_SECONDS" >/dev/null || { show_certs; die "no ACME certificate for $REPORTS_HOST on PostgreSQL"; }
T_SYNC=$(date +%s.%N)
while :; do
  RA=$(served_serial $IP_A "$REPORTS_HOST" "$DIR/pebble2-root.pem" || true)
  RB=$(served_serial $IP_B "$REPORTS_HOST" "$DIR/pebble2-root.pem" || true)
  [ -n "$RA" ] && [ "$RA" = "$RB" ] && break
  elapsed_over "$T_SYNC" "$SYNC_SECONDS" && die "after ${SYNC_SECONDS}s: $IP_A serves '${RA:-none}', $IP_B serves '${RB:-none}' for $REPORTS_HOST"
  sleep 0.5
done
# Give a duplicate order (if any) time to finish before counting.
sleep 3
issued=$(issued_for 2 $HOST)
n_issued=$(grep -c . <<<"$issued" || true)
[ "$n_issued" = 1 ] || die "Pebble issued $n_issued certificates for $HOST to the pair, want 1: $(echo "$issued" | tr '\n' ' ')"
[ "$issued" = "$SA" ] || die "both serve $SA, but Pebble issued $issued for $HOST"
n_rep=$(issued_for 2 "$REPORTS_HOST" | grep -c . || true)
[ "$n_rep" = 1 ] || die "Pebble issued $n_rep certificates for $REPORTS_HOST to the pair, want 1"
la=$(obtained_lines "$DIR/moat2a.log" | wc -l)
lb=$(obtained_lines "$DIR/moat2b.log" | wc -l)
[ $((la + lb)) = 1 ] || { obtained_lines "$DIR/moat2a.log" "$DIR/moat2b.log" >&2; die "Moat logged $la (A) + $lb (B) obtained certificates for $HOST, want 1 in all"; }
oa=$(grep -F 'ordering a certificate' "$DIR/moat2a.log" | grep -cE "${HOST//./\\.}([^.a-z0-9-]|$)" || true)
ob=$(grep -F 'ordering a certificate' "$DIR/moat2b.log" | grep -cE "${HOST//./\\.}([^.a-z0-9-]|$)" || true)
for pid in $MOAT_A $MOAT_B; do kill -0 "$pid" 2>/dev/null || die "moat serve (pid $pid) died"; done
log "PASS one order per host for the pair: Pebble issued 1 certificate for $HOST and 1 for $REPORTS_HOST; 'certificate obtained' for $HOST logged by A $la, B $lb times (order attempts: A $oa, B $ob)"
log "PASS both $IP_A:443 and $IP_B:443 serve serial $SA for $HOST (both within ${took_sync}s of certs list showing it, no restart) and serial $RA for $REPORTS_HOST"

query "$DIR/pebble2-root.pem" $DOMAIN
why=$(check_query VALID testing $MX 86400 2>&1) || { show_query; die "mta-sts-query (PostgreSQL pair): $why"; }
log "PASS mta-sts-query trusting only the new Pebble root: VALID mode=testing"

log "PASS end2end/interop/acme.sh in $(since "$T0")s"

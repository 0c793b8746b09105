#!/usr/bin/env bash
# Real-software interop test for Moat's hosted MTA-STS: a real recursive resolver (unbound)
# follows the customer's CNAMEs (nsd serves customer.test) into Moat's authoritative DNS, and a
# real MTA-STS client (postfix-mta-sts-resolver's `mta-sts-query`) fetches the policy over HTTPS
# from Moat's policy host, validating the certificate against Moat's local CA.
#
#   end2end/interop/mta-sts.sh          # as root; needs the built `moat` (cargo build)
#
# Everything runs on loopback: nsd 127.0.0.1:<free>, unbound 127.0.0.53:53, Moat DNS
# 127.0.0.1:<free>, Moat policy HTTPS 127.0.0.10:443. Third-party tools never see the machine's
# resolver: they run in a private mount namespace whose /etc/resolv.conf points at unbound.
# Environment: MOAT_BIN (default $CARGO_TARGET_DIR/debug/moat), MOAT_TOOLS_DIR (default
# /var/tmp/moat-tools, holds the Python venv), KEEP_TMP=1 keeps the scratch folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MOAT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/moat}
TOOLS=${MOAT_TOOLS_DIR:-/var/tmp/moat-tools}
VENV=$TOOLS/venv-mta-sts
RESOLVER_VERSION=1.5.1
UNBOUND_IP=127.0.0.53
POLICY_IP=127.0.0.10
ZONE=sts.moat.test
DOMAIN=customer.test
MX=mx.customer.test
POLL_SECONDS=${POLL_SECONDS:-15}

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'; }
log() { echo "[$(since "$T0")s] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

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
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
PATH=$PATH:/usr/sbin:/sbin

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('postfix-mta-sts-resolver') != '$RESOLVER_VERSION')" 2>/dev/null; then
  log "pip install postfix-mta-sts-resolver==$RESOLVER_VERSION into $VENV"
  mkdir -p "$TOOLS"
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "postfix-mta-sts-resolver==$RESOLVER_VERSION"
fi

"$BIN" domain --help >/dev/null 2>&1 || die "$BIN is missing or lacks 'domain' (build it first: cargo build)"

# A port free on 127.0.0.1 for both UDP and TCP.
free_port() {
  python3 - <<'EOF'
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); u.close(); continue
    t.close(); u.close(); print(port); break
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
require_free $POLICY_IP 443 tcp
# ---------------------------------------------------------------- scratch folder and cleanup
DIR=$(mktemp -d /tmp/moat-interop-mta-sts.XXXXXX)
DATA=$DIR/data
mkdir -p "$DATA"
PIDS=()
cleanup() {
  local st=$?
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$st" != 0 ]; then
    for f in moat.log unbound.log nsd.log; do
      [ -s "$DIR/$f" ] && { echo "----- $f (last 60 lines)"; tail -n 60 "$DIR/$f"; }
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

NSD_PORT=$(free_port)
DNS_PORT=$(free_port)
WEB_PORT=$(free_port)

# ---------------------------------------------------------------- 1. nsd: the customer's DNS
cat >"$DIR/customer.test.zone" <<EOF
\$ORIGIN customer.test.
\$TTL 60
@          IN SOA ns.customer.test. hostmaster.customer.test. 1 3600 600 86400 60
@          IN NS  ns.customer.test.
ns         IN A   127.0.0.1
@          IN MX  10 $MX.
mx         IN A   127.0.0.20
mta-sts    IN CNAME mta-sts.customer.test.$ZONE.
_mta-sts   IN CNAME _mta-sts.customer.test.$ZONE.
_smtp._tls IN CNAME _smtp._tls.customer.test.$ZONE.
; a domain delegated to Moat by DNS but never added to Moat
mta-sts.other    IN CNAME mta-sts.other.customer.test.$ZONE.
_mta-sts.other   IN CNAME _mta-sts.other.customer.test.$ZONE.
_smtp._tls.other IN CNAME _smtp._tls.other.customer.test.$ZONE.
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
EOF
nsd-checkconf "$DIR/nsd.conf" || die "nsd-checkconf rejected nsd.conf"
nsd -d -c "$DIR/nsd.conf" 2>>"$DIR/nsd.log" &
PIDS+=($!)
wait_port 127.0.0.1 "$NSD_PORT" nsd "${PIDS[-1]}"
log "nsd serves customer.test on 127.0.0.1:$NSD_PORT"

# ---------------------------------------------------------------- 2. unbound on 127.0.0.53:53
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
log "unbound on $UNBOUND_IP:53 (customer.test -> nsd, $ZONE -> Moat 127.0.0.1:$DNS_PORT)"

# ---------------------------------------------------------------- 3. moat serve
export MOAT_DATABASE_URL="sqlite://$DATA/moat.db"
export MOAT_DATA_DIR=$DATA
export MOAT_WEB_ADDR=127.0.0.1:$WEB_PORT
export MOAT_PUBLIC_URL=http://127.0.0.1:$WEB_PORT
export MOAT_ZONE=$ZONE
export MOAT_DNS_ADDR=127.0.0.1:$DNS_PORT
export MOAT_POLICY_ADDR=$POLICY_IP:443
export MOAT_POLICY_IPS=$POLICY_IP
export MOAT_RESOLVERS=$UNBOUND_IP:53
export MOAT_LOG=${MOAT_LOG:-info}
[ -d "${CARGO_TARGET_DIR:-$ROOT/target}/site" ] && export MOAT_SITE_ROOT=${MOAT_SITE_ROOT:-${CARGO_TARGET_DIR:-$ROOT/target}/site}
unset RUST_LOG
T_SERVE=$(date +%s.%N)
"$BIN" serve >>"$DIR/moat.log" 2>&1 &
MOAT_PID=$!
PIDS+=($MOAT_PID)
for i in $(seq 300); do
  curl -fsS --noproxy '*' -o /dev/null "http://$MOAT_WEB_ADDR/healthz" 2>/dev/null && break
  kill -0 $MOAT_PID 2>/dev/null || die "moat serve exited during start-up"
  [ "$i" -lt 300 ] || die "moat serve not healthy within 30 s"
  sleep 0.1
done
wait_port 127.0.0.1 "$DNS_PORT" "moat serve (DNS)" $MOAT_PID
wait_port $POLICY_IP 443 "moat serve (policy HTTPS)" $MOAT_PID
CA=$DATA/local-ca.pem
for _ in $(seq 50); do [ -s "$CA" ] && break; sleep 0.1; done
[ -s "$CA" ] || die "moat serve wrote no $CA"
log "moat serve healthy in $(since "$T_SERVE")s (web $MOAT_WEB_ADDR, DNS $MOAT_DNS_ADDR, policy $MOAT_POLICY_ADDR)"

# ---------------------------------------------------------------- helpers for the peers
moat() { "$BIN" "$@"; }
# Runs a third-party tool with /etc/resolv.conf -> unbound, without proxies; CA given as $1
# ("system" keeps the system bundle).
in_ns() {
  local ca=$1; shift
  local envs=(env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy -u SSL_CERT_FILE -u SSL_CERT_DIR)
  [ "$ca" = system ] || envs+=(SSL_CERT_FILE="$ca")
  "${envs[@]}" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$DIR/resolv.conf" "$@"
}
# Writes mta-sts-query's stdout/stderr to $DIR/query.{out,err}.
query() { in_ns "$1" "$VENV/bin/mta-sts-query" -v debug "${@:2}" >"$DIR/query.out" 2>"$DIR/query.err" || true; }
# Checks query.out: RESULT [ID MODE MX MAX_AGE]; prints why not on mismatch. Exit status 3:
# the expected id came with a different policy (the id was published before the body).
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
    got = (pid, pol.get("mode"), pol.get("mx"), pol.get("max_age"), pol.get("version"))
    exp = (want[1], want[2], [want[3]], int(want[4]), "STSv1")
    if got != exp:
        print(f"got (id, mode, mx, max_age, version) = {got}, want {exp}", file=sys.stderr)
        sys.exit(3 if pid == want[1] else 1)  # 3: the new id already points at another policy
EOF
}
show_query() { echo "----- mta-sts-query stdout"; cat "$DIR/query.out"; echo "----- mta-sts-query stderr"; tail -n 20 "$DIR/query.err"; } >&2
# Polls mta-sts-query (with Moat's CA) until check_query passes; prints the seconds since
# START (when `moat policy set` returned).
poll_valid() { # ID MODE START
  local start=$3 why st
  while :; do
    query "$CA" $DOMAIN
    st=0
    why=$(check_query VALID "$1" "$2" $MX 86400 2>&1) || st=$?
    [ $st = 0 ] && { since "$start"; return 0; }
    [ $st = 3 ] && { show_query; die "id $1 is in DNS but the policy host serves another policy: $why"; }
    if awk -v a="$start" -v b="$(date +%s.%N)" -v max="$POLL_SECONDS" 'BEGIN { exit !(b - a >= max) }'; then
      show_query; die "mta-sts-query never reported VALID id=$1 mode=$2 within ${POLL_SECONDS}s (last: $why)"
    fi
    sleep 0.3
  done
}

# ---------------------------------------------------------------- 4. onboarding by CLI
ORG=$(moat org create "Interop Org" --json | json_get id)
moat domain add $DOMAIN --org "$ORG" >"$DIR/domain-add.out" 2>&1 || { cat "$DIR/domain-add.out" >&2; die "moat domain add $DOMAIN failed"; }
T_CHECK=$(date +%s.%N)
state=
for i in $(seq 10); do
  moat domain check $DOMAIN --json >"$DIR/check.json" 2>"$DIR/check.err" || true
  state=$(json_get state <"$DIR/check.json" 2>/dev/null || true)
  [ "$state" = active ] && break
  sleep 1
done
[ "$state" = active ] || { cat "$DIR/check.json" "$DIR/check.err" >&2; die "moat domain check $DOMAIN: state '$state', want active"; }
log "org $ORG, domain $DOMAIN active after $i check(s) ($(since "$T_CHECK")s)"

# No TLS reports and no MX probe exist yet here: the readiness gate is overridden on purpose.
moat policy set $DOMAIN --mode enforce --mx $MX --max-age 86400 --override-readiness >/dev/null
T_SET=$(date +%s.%N)
moat policy show $DOMAIN --json >"$DIR/policy1.json"
ID1=$(json_get policy_id <"$DIR/policy1.json")
[ "$(json_get mode <"$DIR/policy1.json")" = enforce ] || { cat "$DIR/policy1.json" >&2; die "policy show: mode is not enforce"; }
[ "$(json_get mx <"$DIR/policy1.json")" = "[\"$MX\"]" ] || { cat "$DIR/policy1.json" >&2; die "policy show: mx is not [$MX]"; }
[ "$(json_get max_age <"$DIR/policy1.json")" = 86400 ] || { cat "$DIR/policy1.json" >&2; die "policy show: max_age is not 86400"; }

# ---------------------------------------------------------------- 5. mta-sts-query: enforce
took=$(poll_valid "$ID1" enforce "$T_SET")
log "PASS mta-sts-query: VALID id=$ID1 mode=enforce mx=[$MX] max_age=86400 (seen ${took}s after policy set)"
grep -q 'Parsed STS record' "$DIR/query.err" || { show_query; die "no 'Parsed STS record' in the debug log"; }

# Same id known: the client must see NOT_CHANGED from DNS alone.
query "$CA" $DOMAIN "$ID1"
check_query NOT_CHANGED || { show_query; die "known id $ID1: want NOT_CHANGED"; }
log "PASS mta-sts-query with known id: NOT_CHANGED"

# TLS-RPT record through the customer's CNAME, resolved by c-ares (pycares/aiodns) via unbound.
in_ns system "$VENV/bin/python" -W ignore -c '
import asyncio, sys, aiodns
async def main():
    r = aiodns.DNSResolver(timeout=4)
    return await r.query("_smtp._tls.customer.test", "TXT")
txts = []
for rec in asyncio.run(main()):
    t = rec.text
    txts.append(t.decode() if isinstance(t, bytes) else t)
print(txts)
ok = [t for t in txts if t.startswith("v=TLSRPTv1;") and "rua=" in t]
sys.exit(0 if len(ok) == 1 and len(txts) == 1 else f"want exactly one v=TLSRPTv1 record with rua=, got {txts}")
' >"$DIR/tlsrpt.out" 2>"$DIR/tlsrpt.err" || { cat "$DIR/tlsrpt.out" "$DIR/tlsrpt.err" >&2; die "TLS-RPT record of $DOMAIN"; }
log "PASS TLS-RPT: _smtp._tls.$DOMAIN -> $(cat "$DIR/tlsrpt.out")"

# Moat's DNS answers as an authoritative server should, seen through unbound by c-ares.
in_ns system "$VENV/bin/python" -W ignore - "$ZONE" "$POLICY_IP" >"$DIR/dns.out" 2>"$DIR/dns.err" <<'EOF' || { cat "$DIR/dns.out" "$DIR/dns.err" >&2; die "DNS answers via unbound"; }
import asyncio, sys, aiodns
zone, policy_ip = sys.argv[1], sys.argv[2]
cases = [  # name, type, expected: sorted addresses, "any" record, "NODATA" or "NXDOMAIN"
    ("mta-sts.customer.test", "A", [policy_ip]),
    ("mta-sts.customer.test", "AAAA", "NODATA"),    # IPv4-only policy host: NOERROR, no AAAA
    (zone, "SOA", "any"),
    (zone, "NS", "any"),
    ("_mta-sts.other.customer.test", "TXT", "NXDOMAIN"),  # CNAMEd to Moat, never added
    ("mta-sts.other.customer.test", "A", "NXDOMAIN"),
]
async def one(r, name, qtype):
    try:
        res = await r.query(name, qtype)
    except aiodns.error.DNSError as e:
        return {aiodns.error.ARES_ENODATA: "NODATA", aiodns.error.ARES_ENOTFOUND: "NXDOMAIN"}.get(e.args[0], f"error {e.args}")
    if qtype in ("A", "AAAA"):
        return sorted(x.host for x in res)
    return "any" if res else "NODATA"
async def main():
    r = aiodns.DNSResolver(timeout=4)
    bad = 0
    for name, qtype, want in cases:
        got = await one(r, name, qtype)
        ok = got == want
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {name} {qtype}: {got}" + ("" if ok else f" (want {want})"))
    return bad
sys.exit(1 if asyncio.run(main()) else 0)
EOF
log "PASS DNS via unbound: $(grep -c '^ok' "$DIR/dns.out") checks (A/AAAA of the policy host, SOA/NS of $ZONE, NXDOMAIN for a domain not in Moat)"
grep -q "_mta-sts.$DOMAIN. TXT IN NOERROR" "$DIR/unbound.log" || die "unbound logged no _mta-sts.$DOMAIN TXT query: the tools did not use it"

# ---------------------------------------------------------------- 6. policy change -> new id
moat policy set $DOMAIN --mode testing --mx $MX --max-age 86400 >/dev/null
T_SET=$(date +%s.%N)
moat policy show $DOMAIN --json >"$DIR/policy2.json"
ID2=$(json_get policy_id <"$DIR/policy2.json")
[ "$ID2" != "$ID1" ] || { cat "$DIR/policy2.json" >&2; die "policy set kept the policy id $ID1"; }
took=$(poll_valid "$ID2" testing "$T_SET")
log "PASS mta-sts-query: VALID id=$ID2 mode=testing after the change (seen ${took}s after policy set)"

# ---------------------------------------------------------------- 7. negatives
# Only the system CA bundle: the policy fetch must fail certificate verification.
query system $DOMAIN
check_query FETCH_ERROR || { show_query; die "with the system CA bundle only, want FETCH_ERROR"; }
grep -qi 'certificate verify failed' "$DIR/query.err" || { show_query; die "FETCH_ERROR without 'certificate verify failed'"; }
log "PASS system CA bundle only: FETCH_ERROR (certificate verify failed)"

# Delegated by CNAMEs but never added to Moat: no policy.
query "$CA" other.customer.test
check_query NONE || { show_query; die "other.customer.test (not in Moat): want NONE"; }
# ... and the policy host must not serve it even when asked directly.
code=$(curl -sS --noproxy '*' -o "$DIR/other.body" -w '%{http_code}' --max-time 5 --cacert "$CA" \
  --resolve mta-sts.other.customer.test:443:$POLICY_IP https://mta-sts.other.customer.test/.well-known/mta-sts.txt 2>"$DIR/other.err" || true)
[ "$code" != 200 ] || { cat "$DIR/other.body" >&2; die "policy host served a policy for other.customer.test"; }
log "PASS other.customer.test (not added): NONE; policy host answers HTTP '$code' $(head -c 120 "$DIR/other.err" | tr '\n' ' ')"

# No records at all.
query "$CA" nosuch.customer.test
check_query NONE || { show_query; die "nosuch.customer.test: want NONE"; }
log "PASS nosuch.customer.test: NONE"

kill -0 $MOAT_PID 2>/dev/null || die "moat serve died during the test"
log "PASS end2end/interop/mta-sts.sh in $(since "$T0")s"

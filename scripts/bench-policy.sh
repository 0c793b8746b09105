#!/usr/bin/env bash
# Side-by-side benchmark: Moat's MTA-STS policy HTTPS server against nginx serving the same
# bytes over HTTPS on this machine, plus the queries/second of Moat's authoritative DNS.
# See bench/README.md for what is measured and how to read the output.
#
#   cargo build --release -p moat-server      # once (the script builds it when missing)
#   scripts/bench-policy.sh                   # needs root: apt installs, port 443, unshare -m
#
# Knobs (environment): MOAT_BIN, BENCH_DIR (kept when set), BENCH_KEEP=1, BENCH_DURATION (10s),
# BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_ROUNDS (2: nginx, moat, nginx, moat),
# BENCH_DNS_DURATION (10), BENCH_DNS_CLIENTS (4), BENCH_SKIP_MOAT=1 (nginx and nsd only, to
# test the harness), NGINX_WORKERS (2), NGINX_KEEPALIVE_REQUESTS (1000000).
# Everything listens on loopback only; every process started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# ---------------------------------------------------------------------------------------------
# Settings. All addresses are loopback. The two HTTPS servers listen on port 443 of two loopback
# addresses, so clients send exactly what a real MTA-STS fetch sends (SNI and Host without port).
DOMAIN=bench.test
HOST="mta-sts.$DOMAIN"
URL_PATH=/.well-known/mta-sts.txt
ZONE="${BENCH_ZONE:-sts.moat.test}"
MOAT_IP=127.0.0.2
NGINX_IP=127.0.0.3
POLICY_PORT=443
MOAT_DNS="127.0.0.1:5399"
NSD_PORT=5398
WEB_ADDR="127.0.0.1:3099"

DURATION="${BENCH_DURATION:-10s}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
ROUNDS="${BENCH_ROUNDS:-2}"
DNS_DURATION="${BENCH_DNS_DURATION:-10}"
DNS_CLIENTS="${BENCH_DNS_CLIENTS:-4}"
NGINX_WORKERS="${NGINX_WORKERS:-2}"
NGINX_KEEPALIVE_REQUESTS="${NGINX_KEEPALIVE_REQUESTS:-1000000}"
SKIP_MOAT="${BENCH_SKIP_MOAT:-0}"
BIN="${MOAT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/moat}"

log() { printf '\n== %s\n' "$*" >&2; }
die() {
  printf 'bench-policy: %s\n' "$*" >&2
  for f in "${W:-/nonexistent}"/nsd/nsd.log "${W:-/nonexistent}"/moat/serve.log "${W:-/nonexistent}"/nginx/error.log; do
    [ -s "$f" ] && { echo "--- tail of $f" >&2; tail -15 "$f" >&2; }
  done
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (apt installs, port 443, unshare -m for /etc/hosts)"

# ---------------------------------------------------------------------------------------------
# Tools, installed only when missing.
need_pkgs=()
command -v nginx >/dev/null || need_pkgs+=(nginx)
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v nsd >/dev/null || need_pkgs+=(nsd)
command -v dnsperf >/dev/null || need_pkgs+=(dnsperf)
command -v dig >/dev/null || need_pkgs+=(bind9-dnsutils)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v openssl >/dev/null || need_pkgs+=(openssl)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${need_pkgs[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y "${need_pkgs[@]}" >/dev/null; }
fi

if [ "$SKIP_MOAT" != 1 ]; then
  if [ ! -x "$BIN" ] && [ -z "${MOAT_BIN:-}" ]; then
    log "building $BIN (cargo build --release -p moat-server)"
    nice -n 19 cargo build --release -p moat-server
  fi
  [ -x "$BIN" ] || die "no Moat binary at $BIN (set MOAT_BIN)"
  "$BIN" domain --help >/dev/null 2>&1 || die "$BIN has no 'domain' command yet"
fi

# ---------------------------------------------------------------------------------------------
# Work folder and clean-up: every process started here is recorded and stopped by its PID.
if [ -n "${BENCH_DIR:-}" ]; then W="$BENCH_DIR"; KEEP=1; mkdir -p "$W"; rm -rf "${W:?}"/*
else W="$(mktemp -d /tmp/moat-bench.XXXXXX)"; KEEP="${BENCH_KEEP:-0}"; fi
chmod 755 "$W" # nginx's workers (www-data) read the policy file below it
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then echo "bench-policy: files kept in $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until a TCP or UDP service answers; $1 = description, $2.. = probe command.
wait_for() {
  local what="$1"; shift
  for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up"
}
# Milliseconds from a wrk duration such as 850.00us, 1.23ms or 1.02s.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.2f", n }'
}
# CPU seconds (user+system) used so far by the given PIDs, all their threads included.
cpu_seconds() {
  local hz ticks=0 pid
  hz="$(getconf CLK_TCK)"
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    ticks=$((ticks + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }'
}

# ---------------------------------------------------------------------------------------------
# Test CA and nginx's certificate for mta-sts.bench.test (same key type as Moat's, see below).
make_leaf() { # $1 = key type: ec (P-256) or rsa
  local kt="$1" opts
  if [ "$kt" = rsa ]; then opts=(-newkey rsa:2048); else opts=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); fi
  mkdir -p "$W/pki"
  (
    cd "$W/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
      -days 30 -subj "/CN=moat-bench test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req "${opts[@]}" -nodes -keyout leaf.key -out leaf.csr -subj "/CN=$HOST" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature%s\n' \
      "$HOST" "$([ "$kt" = rsa ] && echo ,keyEncipherment)" > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile leaf.ext -out leaf.pem 2>/dev/null
  )
}

# hosts files: wrk has no --resolve, so it runs in a private mount namespace whose /etc/hosts
# maps the policy host to the server under test.
printf '127.0.0.1 localhost\n%s %s\n' "$MOAT_IP" "$HOST" > "$W/hosts.moat"
printf '127.0.0.1 localhost\n%s %s\n' "$NGINX_IP" "$HOST" > "$W/hosts.nginx"

# ---------------------------------------------------------------------------------------------
# nsd: the "customer's" DNS for bench.test with the three CNAMEs into Moat's zone. Moat's
# `domain check` asks it directly (MOAT_RESOLVERS). It also serves a TXT record of the same
# shape as Moat's, as a reference point for the DNS measurement.
log "starting nsd (bench.test) on 127.0.0.1:$NSD_PORT"
mkdir -p "$W/nsd"
cat > "$W/nsd/$DOMAIN.zone" <<EOF
\$ORIGIN $DOMAIN.
\$TTL 300
@          IN SOA ns.$DOMAIN. hostmaster.$DOMAIN. 1 3600 600 86400 300
@          IN NS  ns.$DOMAIN.
ns         IN A   127.0.0.1
@          IN MX  10 mx.$DOMAIN.
mx         IN A   127.0.0.20
mta-sts    IN CNAME mta-sts.$DOMAIN.$ZONE.
_mta-sts   IN CNAME _mta-sts.$DOMAIN.$ZONE.
_smtp._tls IN CNAME _smtp._tls.$DOMAIN.$ZONE.
_mta-sts.reference IN TXT "v=STSv1; id=20261127T000000Z;"
EOF
cat > "$W/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$W/nsd"
  database: ""
  pidfile: "$W/nsd/nsd.pid"
  xfrdfile: "$W/nsd/xfrd.state"
  zonelistfile: "$W/nsd/zone.list"
  logfile: "$W/nsd/nsd.log"
  server-count: 2
  verbosity: 0
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $DOMAIN
  zonefile: $DOMAIN.zone
EOF
nsd-checkconf "$W/nsd/nsd.conf" || die "nsd.conf rejected"
nsd -d -c "$W/nsd/nsd.conf" > "$W/nsd/stdout.log" 2>&1 &
NSD_PID=$!
PIDS+=("$NSD_PID")
wait_for nsd dig +time=1 +tries=1 +short @127.0.0.1 -p "$NSD_PORT" "_mta-sts.reference.$DOMAIN" TXT
for name in "mta-sts.$DOMAIN" "_mta-sts.$DOMAIN" "_smtp._tls.$DOMAIN"; do
  got="$(dig +short @127.0.0.1 -p "$NSD_PORT" "$name" CNAME)"
  [ "$got" = "$name.$ZONE." ] || die "nsd: $name CNAME is '$got', expected $name.$ZONE."
done

# ---------------------------------------------------------------------------------------------
# Moat: organisation, domain, policy, activation (the CNAMEs above), then `moat serve`.
MOAT_PID=""
KEY_TYPE=ec
if [ "$SKIP_MOAT" != 1 ]; then
  log "setting up Moat ($BIN)"
  mkdir -p "$W/moat"
  export MOAT_DATABASE_URL="sqlite://$W/moat/moat.db" MOAT_DATA_DIR="$W/moat" \
    MOAT_WEB_ADDR="$WEB_ADDR" MOAT_ZONE="$ZONE" MOAT_DNS_ADDR="$MOAT_DNS" \
    MOAT_POLICY_ADDR="$MOAT_IP:$POLICY_PORT" MOAT_POLICY_IPS="$MOAT_IP" \
    MOAT_RESOLVERS="127.0.0.1:$NSD_PORT" MOAT_LOG="${MOAT_LOG:-warn}"
  unset RUST_LOG
  run_moat() { # logs the command and its output; fails the script when it fails
    echo "\$ moat $*" >> "$W/moat/cli.log"
    "$BIN" "$@" >> "$W/moat/cli.log" 2>&1 || { tail -20 "$W/moat/cli.log" >&2; die "moat $* failed"; }
  }
  run_moat migrate
  run_moat org create Bench --json
  run_moat domain add "$DOMAIN" --org Bench
  run_moat policy set "$DOMAIN" --mode enforce --mx "mx.$DOMAIN" --max-age 86400 --override-readiness
  "$BIN" serve > "$W/moat/serve.log" 2>&1 &
  MOAT_PID=$!
  PIDS+=("$MOAT_PID")
  wait_for "moat serve (web $WEB_ADDR)" curl -fsS "http://$WEB_ADDR/healthz"
  # Activation: CNAMEs checked through nsd. Retried a few times in case it runs in the background.
  state=""
  for _ in $(seq 20); do
    out="$("$BIN" domain check "$DOMAIN" --json 2>&1 || true)"
    echo "\$ moat domain check $DOMAIN --json"$'\n'"$out" >> "$W/moat/cli.log"
    state="$(printf '%s' "$out" | grep -o '"state" *: *"[a-z_]*"' | head -1 | sed 's/.*"\([a-z_]*\)"$/\1/')"
    [ "$state" = active ] && break
    sleep 0.5
  done
  [ "$state" = active ] || { cat "$W/moat/cli.log" >&2; die "domain $DOMAIN is '$state', not active"; }
  run_moat policy show "$DOMAIN" --json
  [ -s "$W/moat/local-ca.pem" ] || die "Moat wrote no $W/moat/local-ca.pem"
  # Wait until the policy host serves the activated domain (it may pick it up asynchronously).
  wait_for "Moat policy host on $MOAT_IP:$POLICY_PORT" curl -fsS --cacert "$W/moat/local-ca.pem" \
    --resolve "$HOST:$POLICY_PORT:$MOAT_IP" "https://$HOST$URL_PATH"
  # Same key type for nginx's certificate as Moat's, so the handshakes cost the same.
  openssl s_client -connect "$MOAT_IP:$POLICY_PORT" -servername "$HOST" </dev/null 2>/dev/null \
    | openssl x509 > "$W/moat/leaf.pem" 2>/dev/null || true
  if openssl x509 -in "$W/moat/leaf.pem" -noout -text 2>/dev/null | grep -q 'rsaEncryption'; then KEY_TYPE=rsa; fi
fi

# ---------------------------------------------------------------------------------------------
# The policy body: Moat's exact bytes, or a sample when Moat is skipped.
mkdir -p "$W/www/.well-known"
BODY="$W/www/.well-known/mta-sts.txt"
if [ -n "$MOAT_PID" ]; then
  curl -fsS --cacert "$W/moat/local-ca.pem" --resolve "$HOST:$POLICY_PORT:$MOAT_IP" \
    -D "$W/moat.headers" -o "$BODY" "https://$HOST$URL_PATH"
  CONTENT_TYPE="$(grep -i '^content-type:' "$W/moat.headers" | head -1 | sed 's/^[^:]*: *//; s/\r$//')"
else
  printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.%s\r\nmax_age: 86400\r\n' "$DOMAIN" > "$BODY"
  CONTENT_TYPE="text/plain"
fi
[ -n "$CONTENT_TYPE" ] || CONTENT_TYPE=text/plain
chmod -R a+rX "$W/www"

# ---------------------------------------------------------------------------------------------
# nginx: 2 workers, TLS 1.2+1.3, keep-alive, no access log, the same body and Content-Type.
log "starting nginx ($NGINX_WORKERS workers) on $NGINX_IP:$POLICY_PORT"
make_leaf "$KEY_TYPE"
mkdir -p "$W/nginx/tmp"
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests $NGINX_KEEPALIVE_REQUESTS;
  open_file_cache max=16 inactive=60s;
  open_file_cache_valid 60s;
  client_body_temp_path $W/nginx/tmp/body;
  proxy_temp_path $W/nginx/tmp/proxy;
  fastcgi_temp_path $W/nginx/tmp/fastcgi;
  uwsgi_temp_path $W/nginx/tmp/uwsgi;
  scgi_temp_path $W/nginx/tmp/scgi;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  server {
    listen $NGINX_IP:$POLICY_PORT ssl;
    server_name $HOST;
    ssl_certificate $W/pki/leaf.pem;
    ssl_certificate_key $W/pki/leaf.key;
    root $W/www;
    location = $URL_PATH {
      types { }
      default_type "$CONTENT_TYPE";
    }
    location / { return 404; }
  }
}
EOF
nginx -t -q -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf" || die "nginx.conf rejected"
nginx -e "$W/nginx/error.log" -p "$W/nginx" -c "$W/nginx/nginx.conf" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_for nginx curl -fsS --cacert "$W/pki/ca.pem" --resolve "$HOST:$POLICY_PORT:$NGINX_IP" "https://$HOST$URL_PATH"

# ---------------------------------------------------------------------------------------------
# Both must answer 200 with the exact same body before any load.
check_target() { # $1 = name, $2 = ip, $3 = CA file
  local name="$1" ip="$2" ca="$3" code len
  code="$(curl -sS --cacert "$ca" --resolve "$HOST:$POLICY_PORT:$ip" -D "$W/$name.headers" \
    -o "$W/$name.body" -w '%{http_code}' "https://$HOST$URL_PATH")"
  [ "$code" = 200 ] || die "$name answered $code"
  cmp -s "$W/$name.body" "$BODY" || die "$name body differs from the policy body"
  len="$(grep -i '^content-length:' "$W/$name.headers" | sed 's/^[^:]*: *//; s/\r$//')"
  [ "$len" = "$(wc -c < "$BODY")" ] || die "$name Content-Length '$len' != $(wc -c < "$BODY")"
  # The same request through the wrk path (hosts file in a mount namespace), HTTP/1.1 like wrk.
  code="$(unshare -m sh -c "mount --bind '$W/hosts.$name' /etc/hosts && exec curl -sS --http1.1 \
    --cacert '$ca' -o /dev/null -w '%{http_code}' 'https://$HOST$URL_PATH'")"
  [ "$code" = 200 ] || die "$name answered $code through the hosts-file path"
  printf '%-6s 200, %s bytes, %s, headers %s bytes\n' "$name" "$len" \
    "$(grep -i '^content-type:' "$W/$name.headers" | sed 's/\r$//')" "$(wc -c < "$W/$name.headers")"
}
log "checking both servers answer 200 with the identical body"
check_target nginx "$NGINX_IP" "$W/pki/ca.pem"
[ -z "$MOAT_PID" ] || check_target moat "$MOAT_IP" "$W/moat/local-ca.pem"
echo "policy body ($(wc -c < "$BODY") bytes):"; sed 's/\r$//; s/^/  | /' "$BODY"
[ -z "$MOAT_PID" ] || { echo "moat response headers:"; sed 's/\r$//; s/^/  | /' "$W/moat.headers"; }
echo "nginx response headers:"; sed 's/\r$//; s/^/  | /' "$W/nginx.headers"
echo "certificates: nginx $(openssl x509 -in "$W/pki/leaf.pem" -noout -text | grep -m1 'Public Key Algorithm' | sed 's/.*: //')$(
  [ -z "$MOAT_PID" ] || echo ", moat $(openssl x509 -in "$W/moat/leaf.pem" -noout -text 2>/dev/null | grep -m1 'Public Key Algorithm' | sed 's/.*: //')")"
for name in nginx moat; do
  [ "$name" = moat ] && [ -z "$MOAT_PID" ] && continue
  ip="$NGINX_IP"; [ "$name" = moat ] && ip="$MOAT_IP"
  echo "$name TLS: $(openssl s_client -connect "$ip:$POLICY_PORT" -servername "$HOST" </dev/null 2>/dev/null \
    | grep -E '^(New|Server Temp Key)' | tr '\n' ' ')"
done

# ---------------------------------------------------------------------------------------------
# A build running next to the benchmark steals a core: such runs are flagged "busy".
busy() { pgrep -x 'cargo|rustc|cc|cc1|ld|ld.lld|mold' >/dev/null 2>&1 && echo busy || echo quiet; }
# Busy (non-idle) CPU seconds of the whole machine so far, from /proc/stat.
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
if [ "$(busy)" = busy ]; then
  echo "WARNING: compilers are running (numbers will be low and noisy):" >&2
  pgrep -a -x 'cargo|rustc|cc|cc1|ld|ld.lld|mold' 2>/dev/null | cut -c1-120 >&2 || true
fi

# ---------------------------------------------------------------------------------------------
# Load: wrk against each, alternating nginx, moat, nginx, moat.
server_pids() { # the PIDs whose CPU time is counted: nginx master + workers, or moat
  if [ "$1" = nginx ]; then echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true); else echo "$MOAT_PID"; fi
}
RESULTS="$W/results.tsv"
: > "$RESULTS"
run_wrk() { # $1 = name, $2 = round
  local name="$1" round="$2" out rps p50 p75 p90 p99 errs non2xx cpu0 cpu1 reqs state m0 m1 wrk_cpu others
  out="$W/wrk.$name.$round.txt"
  state="$(busy)"
  cpu0="$(cpu_seconds $(server_pids "$name"))"
  m0="$(machine_cpu)"
  # bash's `time` gives wrk's own CPU seconds (user + sys of the child).
  { TIMEFORMAT='%U %S'; time unshare -m sh -c "mount --bind '$W/hosts.$name' /etc/hosts && exec wrk -t$THREADS \
    -c$CONNECTIONS -d$DURATION --latency 'https://$HOST$URL_PATH'" > "$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed"; }; } 2> "$W/wrk.$name.$round.time"
  m1="$(machine_cpu)"
  cpu1="$(cpu_seconds $(server_pids "$name"))"
  wrk_cpu="$(awk '{ printf "%.2f", $1 + $2 }' "$W/wrk.$name.$round.time")"
  # CPU used during the run by anything but the server and wrk (other work on the machine).
  others="$(awk -v m="$m1" -v n="$m0" -v s="$cpu1" -v t="$cpu0" -v w="$wrk_cpu" 'BEGIN { printf "%.2f", (m - n) - (s - t) - w }')"
  [ "$(busy)" = quiet ] || state=busy
  awk -v o="$others" 'BEGIN { exit !(o > 1.0) }' && state=busy
  state="$state (others ${others}s, wrk ${wrk_cpu}s)"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  reqs="$(awk '/requests in/ { print $1 }' "$out")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
  p75="$(to_ms "$(awk '$1 == "75%" { print $2 }' "$out")")"
  p90="$(to_ms "$(awk '$1 == "90%" { print $2 }' "$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
  errs="$(awk '/Socket errors/ { gsub(/,/, ""); print "connect " $4 " read " $6 " write " $8 " timeout " $10 }' "$out")"
  non2xx="$(awk '/Non-2xx/ { print $NF }' "$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$rps" "$p50" "$p75" "$p90" "$p99" \
    "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" "$reqs" "${non2xx:-0}" "${errs:-none}" \
    "$state" >> "$RESULTS"
  printf '%-6s round %s: %10s req/s  p50 %6s ms  p99 %6s ms  server CPU %5s s  non-2xx %s  socket errors %s  %s\n' \
    "$name" "$round" "$rps" "$p50" "$p99" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" \
    "${non2xx:-0}" "${errs:-none}" "$state"
}
log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency https://$HOST$URL_PATH, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
  run_wrk nginx "$round"
  [ -z "$MOAT_PID" ] || run_wrk moat "$round"
done

# ---------------------------------------------------------------------------------------------
# DNS: dnsperf, TXT _mta-sts.bench.test.<zone> against Moat; nsd's TXT as a reference.
dnsperf_run() { # $1 = name, $2 = server port, $3 = qname
  local name="$1" port="$2" qname="$3" out
  out="$W/dnsperf.$name.txt"
  printf '%s TXT\n' "$qname" > "$W/queries.$name.txt"
  dnsperf -s 127.0.0.1 -p "$port" -d "$W/queries.$name.txt" -l "$DNS_DURATION" -c "$DNS_CLIENTS" \
    -q 200 > "$out" 2>&1 || { cat "$out" >&2; die "dnsperf failed"; }
  printf 'dns\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(awk '/Queries per second:/ { print $4 }' "$out")" \
    "$(awk '/Average Latency/ { printf "%.3f", $4 * 1000 }' "$out")" \
    "$(awk '/Latency StdDev/ { printf "%.3f", $4 * 1000 }' "$out")" \
    "$(awk '/Queries completed:/ { print $3 }' "$out")/$(awk '/Queries sent:/ { print $3 }' "$out")" \
    "$(awk '/Response codes:/ { $1 = $2 = ""; sub(/^ +/, ""); print }' "$out")" >> "$RESULTS"
  printf '%-6s %10s queries/s  avg %s ms  stddev %s ms  completed %s  codes %s\n' "$name" \
    "$(awk '/Queries per second:/ { print $4 }' "$out")" \
    "$(awk '/Average Latency/ { printf "%.3f", $4 * 1000 }' "$out")" \
    "$(awk '/Latency StdDev/ { printf "%.3f", $4 * 1000 }' "$out")" \
    "$(awk '/Queries completed:/ { print $3, $4 }' "$out")" \
    "$(awk '/Response codes:/ { $1 = $2 = ""; sub(/^ +/, ""); print }' "$out")"
}
log "dnsperf -l $DNS_DURATION -c $DNS_CLIENTS, one TXT name, UDP"
if [ -n "$MOAT_PID" ]; then
  qname="_mta-sts.$DOMAIN.$ZONE"
  answer="$(dig +short @"${MOAT_DNS%:*}" -p "${MOAT_DNS##*:}" "$qname" TXT)"
  echo "moat   $qname TXT -> $answer"
  case "$answer" in *v=STSv1*) ;; *) die "Moat's DNS gave no STSv1 TXT for $qname";; esac
  dnsperf_run moat "${MOAT_DNS##*:}" "$qname"
fi
echo "nsd    _mta-sts.reference.$DOMAIN TXT -> $(dig +short @127.0.0.1 -p "$NSD_PORT" "_mta-sts.reference.$DOMAIN" TXT)"
dnsperf_run nsd "$NSD_PORT" "_mta-sts.reference.$DOMAIN"

# ---------------------------------------------------------------------------------------------
log "summary"
echo "machine: $(nproc) cores, $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*\///'), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'), dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
echo
printf '%-7s %5s %12s %9s %9s %9s %9s %9s %10s  %s\n' server round 'req/s' 'p50 ms' 'p75 ms' 'p90 ms' 'p99 ms' 'CPU s' \
  'CPU us/req' machine
awk -F'\t' '$1 != "dns" { printf "%-7s %5s %12s %9s %9s %9s %9s %9s %10.1f  %s\n", $1, $2, $3, $4, $5, $6, $7, $8,
  ($9 > 0 ? $8 * 1e6 / $9 : 0), $12 }' "$RESULTS"
echo
awk -F'\t' '$1 != "dns" { n[$1]++; r[$1] += $3; if ($7 > p[$1]) p[$1] = $7; if (!($1 in lo) || $3 < lo[$1]) lo[$1] = $3 }
  END { for (s in n) printf "%-6s mean %10.0f req/s (lowest run %.0f), worst p99 %s ms over %d run(s)\n", s, r[s] / n[s], lo[s], p[s], n[s] }' "$RESULTS" | sort
if [ -n "$MOAT_PID" ]; then
  awk -F'\t' '$1 != "dns" { n[$1]++; r[$1] += $3; if ($7 > p[$1]) p[$1] = $7 }
    END { rm = r["moat"] / n["moat"]; rn = r["nginx"] / n["nginx"];
      printf "moat/nginx throughput %.2fx; p99 moat %s ms vs nginx %s ms -> %s\n", rm / rn, p["moat"], p["nginx"],
        (rm >= rn && p["moat"] <= p["nginx"]) ? "GOAL MET (at least as fast, p99 no worse)" : "goal NOT met" }' "$RESULTS"
fi
echo
awk -F'\t' '$1 == "dns" { printf "DNS %-5s %10s queries/s  avg %s ms  stddev %s ms  completed %s  %s\n", $2, $3, $4, $5, $6, $7 }' "$RESULTS"

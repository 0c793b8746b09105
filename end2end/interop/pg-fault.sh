#!/usr/bin/env bash
# Fault test for Moat's TLS-RPT intake: PostgreSQL is stopped during a burst of SMTP deliveries.
# Senders must get 451 (or lose the connection) while it is down, never 250; nothing that got
# 250 may be lost; and once PostgreSQL is back, everything arrives (each report exactly once).
#
#   end2end/interop/pg-fault.sh          # as root (or as a user that can run initdb); needs
#                                        # the built `moat` (cargo build) and PostgreSQL's binaries
#
# A PRIVATE PostgreSQL cluster (initdb into the scratch folder, as the postgres user when run as
# root, trust auth, 127.0.0.1:<free> only, no Unix socket) backs a real `moat serve` (SMTP, web,
# DNS and policy HTTPS on free 127.0.0.1 ports). pg-fault-sender.py (Python stdlib: smtplib)
# delivers COUNT distinct RFC 8460 mails (multipart/report, application/tlsrpt+gzip) to
# tlsrpt+fault.test@reports.ourzone.test over THREADS connections; once a third got 250 it runs
# `pg_ctl stop -m STOP_MODE`, keeps sending for DOWN_SECONDS, then `pg_ctl start`, and retries
# every message that did not get 250 (backoff 0.5 s doubling to 4 s, at most 25 attempts).
# Then `moat reports list` must show every report-id exactly once. Messages whose parsing was
# deferred (stored raw, then the database went away: 250 "... (kept)") are finished by Moat's
# background sweep (every 30 s, those older than 60 s), so the listing is polled for up to
# WAIT_SECONDS.
# Environment: MOAT_BIN (default $CARGO_TARGET_DIR/debug/moat), COUNT (300), THREADS (8),
# DOWN_SECONDS (12: more than twice Moat's 5 s pool timeout, so attempts begun during the
# outage get their 451 too), STOP_MODE (fast; or immediate: a crash, with WAL recovery on start),
# WAIT_SECONDS (150), KEEP_TMP=1 keeps the scratch folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(realpath -m "${MOAT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/moat}")
SENDER=$ROOT/end2end/interop/pg-fault-sender.py
ZONE=ourzone.test
REPORTS_HOST=reports.ourzone.test
DOMAIN=fault.test
ORG_NAME="Fault Org"
RCPT=tlsrpt+$DOMAIN@$REPORTS_HOST
COUNT=${COUNT:-300}
THREADS=${THREADS:-8}
DOWN_SECONDS=${DOWN_SECONDS:-12}
STOP_MODE=${STOP_MODE:-fast}
WAIT_SECONDS=${WAIT_SECONDS:-150}
DB_NAME=moat_fault

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'; }
log() { echo "[$(since "$T0")s] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }
elapsed_over() { awk -v a="$1" -v b="$(date +%s.%N)" -v max="$2" 'BEGIN { exit !(b - a >= max) }'; }

# ---------------------------------------------------------------- tools
have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  # Debian's postinst would create and start the stock cluster: forbid starting services unless
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
pg_bindir() { local v; v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1); [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"; }
pkgs=()
have python3 || pkgs+=(python3)
have curl || pkgs+=(curl)
{ PGBIN=$(pg_bindir) && [ -x "$PGBIN/initdb" ]; } || pkgs+=(postgresql)
if [ ${#pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${pkgs[*]}: install them or run as root"
  apt_install "${pkgs[@]}"
fi
PGBIN=$(pg_bindir) && [ -x "$PGBIN/initdb" ] || die "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"

"$BIN" reports --help >/dev/null 2>&1 || die "$BIN is missing or lacks 'reports' (build it first: cargo build)"
[ -r "$SENDER" ] || die "missing $SENDER"

# PostgreSQL refuses to run as root: as root, its binaries run as the postgres user.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' user (install Debian's postgresql package)"
  PG_USER=postgres
  AS_PG=(runuser -u postgres --)
else
  PG_USER=$(id -un)
  AS_PG=()
fi
as_pg() { "${AS_PG[@]}" "$@"; }

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

# ---------------------------------------------------------------- scratch folder and cleanup
DIR=$(mktemp -d /tmp/moat-interop-pg-fault.XXXXXX)
chmod 755 "$DIR" # the postgres user reaches its folder through it
DATA=$DIR/data
PG=$DIR/pg # owned by the cluster's user: data directory and server log
PGDATA=$PG/data
PGLOG=$PG/postgres.log
mkdir -p "$DATA" "$PG"
[ "$(id -u)" != 0 ] || chown postgres: "$PG"
cd "$DIR" # the postgres user may not be allowed into the caller's folder
PIDS=()
PG_STARTED=
cleanup() {
  local st=$?
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # The private cluster (pg_ctl daemonizes it): stopped whatever state the test left it in. On
  # an interruption the sender's `pg_ctl start` may still be bringing it up: look twice.
  if [ -n "$PG_STARTED" ]; then
    for try in 1 2; do
      if [ -f "$PGDATA/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
      fi
      [ "$st" != 0 ] && [ $try = 1 ] && sleep 1 || break
    done
  fi
  if [ "$st" != 0 ]; then
    for f in moat.log pg/postgres.log sender.log; do
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

PG_PORT=$(free_port)
SMTP_PORT=$(free_port)
WEB_PORT=$(free_port)
DNS_PORT=$(free_port)
POLICY_PORT=$(free_port)
RUN=$(date -u +%Y%m%dT%H%M%SZ).$$ # makes this run's report-ids unique

# ---------------------------------------------------------------- 1. private PostgreSQL
as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
  >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb $PGDATA"; }
cat >>"$PGDATA/postgresql.conf" <<EOF

# pg-fault.sh: loopback TCP only, no Unix socket
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 50
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
pg_start() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start >/dev/null; }
PG_STARTED=1
pg_start || die "pg_ctl start"
PG_URL_ADMIN="postgresql://$PG_USER@127.0.0.1:$PG_PORT/postgres"
"$PGBIN/psql" "$PG_URL_ADMIN" -qAtc "CREATE DATABASE $DB_NAME" || die "CREATE DATABASE $DB_NAME"
PG_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT/$DB_NAME"
log "private PostgreSQL $("$PGBIN/psql" "$PG_URL" -Atc 'show server_version') on 127.0.0.1:$PG_PORT ($PGDATA, user $PG_USER)"

# ---------------------------------------------------------------- 2. tenant by CLI, moat serve
export MOAT_DATABASE_URL=$PG_URL
export MOAT_DATA_DIR=$DATA
export MOAT_WEB_ADDR=127.0.0.1:$WEB_PORT
export MOAT_PUBLIC_URL=http://127.0.0.1:$WEB_PORT
export MOAT_ZONE=$ZONE
export MOAT_REPORTS_MAIL_DOMAIN=$REPORTS_HOST
export MOAT_SMTP_ADDR=127.0.0.1:$SMTP_PORT
export MOAT_DNS_ADDR=127.0.0.1:$DNS_PORT
export MOAT_POLICY_ADDR=127.0.0.1:$POLICY_PORT
export MOAT_RESOLVERS=127.0.0.1:1 # never used: nothing answers there
export MOAT_LOG=${MOAT_LOG:-info}
[ -d "${CARGO_TARGET_DIR:-$ROOT/target}/site" ] && export MOAT_SITE_ROOT=${MOAT_SITE_ROOT:-${CARGO_TARGET_DIR:-$ROOT/target}/site}
unset RUST_LOG MOAT_SMTP_RELAY MOAT_REPORTS_URL MOAT_POLICY_IPS
moat() { "$BIN" "$@"; }
# Runs a moat CLI command, output to $DIR/NAME.out (stdout) and .err; dies with both on failure.
moat_to() {
  local name=$1; shift
  moat "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" || { cat "$DIR/$name.out" "$DIR/$name.err" >&2; die "moat $*"; }
}
moat_to migrate migrate
moat_to org org create "$ORG_NAME" --json
ORG=$(json_get id <"$DIR/org.out")
moat_to domain domain add $DOMAIN --org "$ORG_NAME" --reporting-only --json
log "org '$ORG_NAME' ($ORG) with $DOMAIN, reporting only"

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
wait_port 127.0.0.1 "$SMTP_PORT" "moat serve (SMTP)" $MOAT_PID
log "moat serve healthy in $(since "$T_SERVE")s (web $MOAT_WEB_ADDR, SMTP $MOAT_SMTP_ADDR)"

# ---------------------------------------------------------------- 3. the burst, with the outage
log "sending $COUNT reports over $THREADS connections; PostgreSQL stops (-m $STOP_MODE) after $((COUNT / 3)) got 250, for ${DOWN_SECONDS}s"
T_SEND=$(date +%s.%N)
env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy \
  python3 "$SENDER" --port "$SMTP_PORT" --rcpt "$RCPT" --domain $DOMAIN --run "$RUN" \
  --day "$(date -u -d yesterday +%F)" --count "$COUNT" --threads "$THREADS" \
  --down-seconds "$DOWN_SECONDS" --stop-mode "$STOP_MODE" \
  --pg-ctl "${AS_PG[*]} $PGBIN/pg_ctl" --pgdata "$PGDATA" --pg-log "$PGLOG" \
  --healthz "http://$MOAT_WEB_ADDR/healthz" --out "$DIR/sender.json" >"$DIR/sender.log" 2>&1 &
SENDER_PID=$!
PIDS+=($SENDER_PID)
st=0
wait $SENDER_PID || st=$?
sed 's/^/    /' "$DIR/sender.log"
[ $st = 0 ] || die "pg-fault-sender.py: exit $st"
log "burst finished in $(since "$T_SEND")s"
kill -0 $MOAT_PID 2>/dev/null || die "moat serve died during the outage"
[ -f "$PGDATA/postmaster.pid" ] || die "PostgreSQL is not running after the burst"

# ---------------------------------------------------------------- 4. what the senders saw
# Every attempt is classified; the outage window is [PostgreSQL gone, pg_ctl start invoked].
python3 - "$DIR/sender.json" >"$DIR/senders.txt" 2>&1 <<'EOF' || { cat "$DIR/senders.txt" >&2; die "sender replies"; }
import json, sys
r = json.load(open(sys.argv[1]))
o, msgs = r["outage"], r["messages"]
bad = list(r["errors"])
for k in ("stop_cmd", "down", "start_cmd", "up"):
    if k not in o:
        bad.append(f"the outage did not happen as planned (no {k!r}): {o}")
down, start = o.get("down", float("inf")), o.get("start_cmd", float("-inf"))
first_250 = sum(1 for m in msgs if m["attempts"] and m["attempts"][0]["code"] == 250)
n451 = n_other4 = n_conn = n5 = 0
in_outage_451 = in_outage_conn = whole_451 = 0
deferred = 0
for m in msgs:
    a = m["attempts"]
    for x in a:
        c = x["code"]
        during = down <= x["end"] <= start  # the reply came while PostgreSQL was down
        inside = during and x["start"] >= down  # ... and the attempt began after it went
        if c is None:
            n_conn += 1; in_outage_conn += during
        elif c == 451:
            n451 += 1; in_outage_451 += during; whole_451 += inside
        elif 400 <= c < 500:
            n_other4 += 1
        elif c >= 500:
            n5 += 1
            bad.append(f"{m['report_id']}: permanent failure at {x['stage']}: {c} {x['reply']}")
        if c == 250 and x["stage"] == "data":
            if "(kept)" in x["reply"]:
                deferred += 1
            # The final dot left after PostgreSQL was gone and 250 came back before it was
            # started again: nothing can have been committed.
            if x["data_sent"] is not None and x["data_sent"] >= down and x["end"] <= start:
                bad.append(f"{m['report_id']}: 250 while PostgreSQL was down (dot at {x['data_sent']:.2f}s, "
                           f"down {down:.2f}s..{start:.2f}s): {x['reply']}")
    if not a or a[-1]["code"] != 250:
        last = a[-1] if a else {}
        bad.append(f"{m['report_id']}: no 250 after {len(a)} attempts (last: {last.get('stage')} {last.get('code')} {last.get('reply')})")
if in_outage_451 == 0:
    bad.append("no sender got 451 while PostgreSQL was down: the fault did not bite")
attempts = sum(len(m["attempts"]) for m in msgs)
max_att = max(len(m["attempts"]) for m in msgs)
hz = o.get("healthz_down")
if hz != 503:
    bad.append(f"/healthz while PostgreSQL was down: {hz}, want 503")
print(f"N={r['count']} threads={r['threads']} stop_mode={r['stop_mode']}")
print(f"250 at the first attempt: {first_250}")
print(f"451 replies: {n451} ({in_outage_451} while PostgreSQL was down, {whole_451} of them to attempts begun after it went); "
      f"other 4xx: {n_other4}; 5xx: {n5}")
print(f"connection errors: {n_conn} ({in_outage_conn} while PostgreSQL was down)")
print(f"attempts: {attempts} (most for one message: {max_att}); 250 with parsing deferred ('kept'): {deferred}")
print(f"PostgreSQL stopped after {o.get('ok_before_stop')} got 250; pg_ctl stop took {o.get('down', 0) - o.get('stop_cmd', 0):.1f}s; "
      f"down (gone -> start invoked) {o.get('start_cmd', 0) - o.get('down', 0):.1f}s; stop invoked -> up {o.get('up', 0) - o.get('stop_cmd', 0):.1f}s; "
      f"{o.get('remaining_at_start')} messages without 250 at restart; /healthz while down: {hz}")
print(f"sender total: {r['total_seconds']:.1f}s")
print(f"DEFERRED={deferred}")
for b in bad[:40]:
    print("BAD", b)
sys.exit(1 if bad else 0)
EOF
DEFERRED=$(sed -n 's/^DEFERRED=//p' "$DIR/senders.txt")
grep -v '^DEFERRED=' "$DIR/senders.txt" | sed 's/^/    /'
log "PASS senders: 451 while PostgreSQL was down, no 250 that could not have been committed, all $COUNT got 250 in the end"

# ---------------------------------------------------------------- 5. nothing lost, nothing twice
python3 - "$DIR/sender.json" >"$DIR/want.txt" <<'EOF'
import json, sys
for m in json.load(open(sys.argv[1]))["messages"]:
    print(m["report_id"], m["ok"])
EOF
check_listing() {
  python3 - "$DIR/reports.json" "$DIR/want.txt" $DOMAIN <<'EOF'
import json, sys
path, want_path, domain = sys.argv[1:]
want = dict(l.split() for l in open(want_path))
rows = json.load(open(path))
if not isinstance(rows, list):
    sys.exit(f"not a JSON array: {rows!r}"[:300])
by_id = {}
for r in rows:
    by_id.setdefault(r.get("report_id"), []).append(r)
missing = [rid for rid in want if rid not in by_id]
twice = {rid: len(rs) for rid, rs in by_id.items() if len(rs) > 1}
extra = [rid for rid in by_id if rid not in want]
wrong = []
dups = 0
for rid, rs in by_id.items():
    if rid not in want:
        continue
    r = rs[0]
    dups += r.get("duplicates") or 0
    got = (r.get("policy_domain"), r.get("channel"), r.get("total_successful_session_count"))
    if got != (domain, "smtp", int(want[rid])):
        wrong.append(f"{rid}: (policy_domain, channel, ok) = {got}, want {(domain, 'smtp', int(want[rid]))}")
print(f"listed={len(rows)} distinct={len(by_id)} want={len(want)} missing={len(missing)} twice={len(twice)} "
      f"unexpected={len(extra)} wrong={len(wrong)} duplicates_counted={dups}")
for x in missing[:10]: print("  missing", x)
for x, n in list(twice.items())[:10]: print(f"  listed {n} times", x)
for x in extra[:10]: print("  unexpected", x)
for x in wrong[:10]: print("  wrong", x)
sys.exit(1 if missing or twice or extra or wrong else 0)
EOF
}
[ "${DEFERRED:-0}" = 0 ] || log "$DEFERRED message(s) were stored with parsing deferred: Moat's sweep (every 10 s, older than 15 s) files them; waiting up to ${WAIT_SECONDS}s"
T_LIST=$(date +%s.%N)
while :; do
  moat_to reports reports list --org "$ORG_NAME" --limit 100000 --json
  cp "$DIR/reports.out" "$DIR/reports.json"
  st=0
  check_listing >"$DIR/listing.txt" 2>&1 || st=$?
  [ -n "${FIRST_LISTING:-}" ] || FIRST_LISTING=$(head -n 1 "$DIR/listing.txt")
  [ $st = 0 ] && break
  kill -0 $MOAT_PID 2>/dev/null || die "moat serve died"
  if elapsed_over "$T_LIST" "$WAIT_SECONDS"; then
    cat "$DIR/listing.txt" >&2
    die "moat reports list: not every report-id exactly once within ${WAIT_SECONDS}s"
  fi
  sleep 2
done
log "PASS moat reports list: all $COUNT report-ids exactly once, with the right domain, channel and counts ($(head -n 1 "$DIR/listing.txt"); waited $(since "$T_LIST")s; first listing: $FIRST_LISTING)"

# The database itself: one raw message per report (a retry of the same bytes is counted, not
# stored again), all parsed, and the daily rollups count every report's sessions exactly once
# (a deferred parse finished by the sweep must not add them twice).
WANT_SESSIONS=$(awk '{ s += $2 } END { print s }' "$DIR/want.txt")
sql() { "$PGBIN/psql" "$PG_URL" -qAt -F ' ' -c "$1"; }
read -r RAW RAW_PARSED DELIVERIES RETRIED <<<"$(sql "SELECT count(*), count(*) FILTER (WHERE status = 'parsed'),
  coalesce(sum(deliveries), 0), count(*) FILTER (WHERE deliveries > 1) FROM raw_reports")"
read -r SESSIONS ROLLUP_REPORTS <<<"$(sql "SELECT coalesce(sum(sessions), 0), coalesce(sum(reports), 0)
  FROM daily_rollups WHERE result_type = 'success'")"
[ "$RAW" = "$COUNT" ] && [ "$RAW_PARSED" = "$COUNT" ] ||
  die "raw_reports: $RAW rows, $RAW_PARSED parsed; want $COUNT and $COUNT ($(sql "SELECT status, count(*) FROM raw_reports GROUP BY 1" | tr '\n' ' '))"
[ "$SESSIONS" = "$WANT_SESSIONS" ] && [ "$ROLLUP_REPORTS" = "$COUNT" ] ||
  die "daily_rollups (success): $SESSIONS sessions from $ROLLUP_REPORTS reports, want $WANT_SESSIONS from $COUNT"
log "PASS database: $RAW raw messages, all parsed ($DELIVERIES deliveries: $RETRIED message(s) stored by an attempt that got no 250); rollups $SESSIONS successful sessions from $ROLLUP_REPORTS reports"

! grep -q 'panicked' "$DIR/moat.log" || { grep -m 5 -B 2 -A 5 'panicked' "$DIR/moat.log" >&2; die "moat serve panicked"; }
curl -fsS --noproxy '*' -o /dev/null "http://$MOAT_WEB_ADDR/healthz" || die "/healthz not 200 after PostgreSQL came back"
kill -0 $MOAT_PID 2>/dev/null || die "moat serve died"
log "PASS end2end/interop/pg-fault.sh in $(since "$T0")s"

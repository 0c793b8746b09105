#!/usr/bin/env bash
# Real-software interop test for Moat's TLS-RPT intake (RFC 8460): real senders deliver reports
# to a real `moat serve` by SMTP (its receive-only listener) and by HTTPS (`POST /v1/tlsrpt` on
# the policy host, SNI reports.ourzone.test), and the operator CLI shows what arrived.
#
#   end2end/interop/tlsrpt.sh          # as root; needs the built `moat` (cargo build)
#
# Senders: sys4's tlsrpt-reporter (PyPI: tlsrpt-collectd fed with libtlsrpt's datagrams, then
# tlsrpt-reportd delivering through msmtp and curl), swaks (plain and STARTTLS) and msmtp
# (STARTTLS). Everything runs on loopback: Moat SMTP/web/DNS on 127.0.0.1:<free>, Moat HTTPS on
# 127.0.0.11:443. Third-party tools never see the machine's resolver: they run in a private
# mount namespace whose /etc/resolv.conf names a loopback address nothing answers on (they need
# no DNS: curl gets --resolve, msmtp and swaks get IP addresses).
# Environment: MOAT_BIN (default $CARGO_TARGET_DIR/debug/moat), MOAT_TOOLS_DIR (default
# /var/tmp/moat-tools, holds the Python venv), WAIT_SECONDS (default 60: how long reportd may
# take to deliver, and Moat to list the reports), KEEP_TMP=1 keeps the scratch folder.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MOAT_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/moat}
TOOLS=${MOAT_TOOLS_DIR:-/var/tmp/moat-tools}
VENV=$TOOLS/venv-tlsrpt
REPORTER_VERSION=0.6.0
POLICY_IP=127.0.0.11
NO_DNS_IP=127.0.0.12 # the tools' only nameserver: nothing may listen there
ZONE=ourzone.test
REPORTS_HOST=reports.ourzone.test
DOMAIN=customer.test
OTHER_DOMAIN=other.test
RCPT=tlsrpt+$DOMAIN@$REPORTS_HOST
HTTPS_URL=https://$REPORTS_HOST/v1/tlsrpt
SUBMITTER=sender.test
WAIT_SECONDS=${WAIT_SECONDS:-60}

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'; }
log() { echo "[$(since "$T0")s] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }
elapsed_over() { awk -v a="$1" -v b="$(date +%s.%N)" -v max="$2" 'BEGIN { exit !(b - a >= max) }'; }

[ "$(id -u)" = 0 ] || die "run as root (binds 127.0.0.11:443, uses unshare -m)"

# ---------------------------------------------------------------- tools (idempotent installs)
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
apt_install() {
  # Debian's postinst scripts may start services: forbid that unless the machine already has a
  # policy-rc.d.
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
have unshare || pkgs+=(util-linux)
have curl || pkgs+=(curl)
have msmtp || pkgs+=(msmtp)
have swaks || pkgs+=(swaks)
# swaks needs these for STARTTLS (Debian installs them as Recommends, not Depends).
perl -MNet::SSLeay -MIO::Socket::SSL -e 1 2>/dev/null || pkgs+=(libnet-ssleay-perl libio-socket-ssl-perl)
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
PATH=$PATH:/usr/sbin:/sbin

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('tlsrpt-reporter') != '$REPORTER_VERSION')" 2>/dev/null; then
  log "pip install tlsrpt-reporter==$REPORTER_VERSION into $VENV"
  mkdir -p "$TOOLS"
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "tlsrpt-reporter==$REPORTER_VERSION"
fi

"$BIN" reports --help >/dev/null 2>&1 || die "$BIN is missing or lacks 'reports' (build it first: cargo build)"

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
# Fails clearly when ip:port is taken (UDP and/or TCP).
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

require_free $POLICY_IP 443 tcp
require_free $NO_DNS_IP 53 udp,tcp
# ---------------------------------------------------------------- scratch folder and cleanup
DIR=$(mktemp -d /tmp/moat-interop-tlsrpt.XXXXXX)
DATA=$DIR/data
RPT=$DIR/tlsrpt
mkdir -p "$DATA" "$RPT/files" "$DIR/mail"
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
    for f in moat.log tlsrpt/collectd.log tlsrpt/collectd.out tlsrpt/reportd.log tlsrpt/reportd.out; do
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

SMTP_PORT=$(free_port)
WEB_PORT=$(free_port)
DNS_PORT=$(free_port)
UNUSED_PORT=$(free_port) # MOAT_RESOLVERS: nothing answers there
# A tag that makes this run's report-ids unique.
RUN=$(date -u +%Y%m%dT%H%M%SZ).$$

# ---------------------------------------------------------------- 1. tenants by CLI
export MOAT_DATABASE_URL="sqlite://$DATA/moat.db"
export MOAT_DATA_DIR=$DATA
export MOAT_WEB_ADDR=127.0.0.1:$WEB_PORT
export MOAT_PUBLIC_URL=http://127.0.0.1:$WEB_PORT
export MOAT_ZONE=$ZONE
export MOAT_REPORTS_MAIL_DOMAIN=$REPORTS_HOST
export MOAT_REPORTS_URL=$HTTPS_URL
export MOAT_SMTP_ADDR=127.0.0.1:$SMTP_PORT
export MOAT_DNS_ADDR=127.0.0.1:$DNS_PORT
export MOAT_POLICY_ADDR=$POLICY_IP:443
export MOAT_RESOLVERS=127.0.0.1:$UNUSED_PORT
export MOAT_LOG=${MOAT_LOG:-info}
[ -d "${CARGO_TARGET_DIR:-$ROOT/target}/site" ] && export MOAT_SITE_ROOT=${MOAT_SITE_ROOT:-${CARGO_TARGET_DIR:-$ROOT/target}/site}
unset RUST_LOG MOAT_SMTP_RELAY
moat() { "$BIN" "$@"; }
# Runs a moat CLI command, output to $DIR/NAME.out (stdout) and .err; dies with both on failure.
moat_to() {
  local name=$1; shift
  moat "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" || { cat "$DIR/$name.out" "$DIR/$name.err" >&2; die "moat $*"; }
}

moat_to migrate migrate
moat_to org-customer org create "Customer Org" --json
ORG=$(json_get id <"$DIR/org-customer.out")
moat_to org-other org create "Other Org" --json
OTHER_ORG=$(json_get id <"$DIR/org-other.out")
moat_to domain-customer domain add $DOMAIN --org "Customer Org" --reporting-only --json
moat_to domain-other domain add $OTHER_DOMAIN --org "Other Org" --reporting-only --json
log "orgs 'Customer Org' ($ORG) with $DOMAIN and 'Other Org' ($OTHER_ORG) with $OTHER_DOMAIN, both reporting only"

# ---------------------------------------------------------------- 2. moat serve
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
wait_port $POLICY_IP 443 "moat serve (policy HTTPS)" $MOAT_PID
CA=$DATA/local-ca.pem
for _ in $(seq 50); do [ -s "$CA" ] && break; sleep 0.1; done
[ -s "$CA" ] || die "moat serve wrote no $CA"
log "moat serve healthy in $(since "$T_SERVE")s (web $MOAT_WEB_ADDR, SMTP $MOAT_SMTP_ADDR, HTTPS $MOAT_POLICY_ADDR)"

# ---------------------------------------------------------------- helpers for the peers
printf 'nameserver %s\noptions timeout:1 attempts:1\n' $NO_DNS_IP >"$DIR/resolv.conf"
# Prefix that runs a third-party tool with /etc/resolv.conf -> $NO_DNS_IP (no resolver at all)
# and no proxies. An array, not a function: `"${IN_NS[@]}" tool &` leaves $! = the tool's pid.
IN_NS=(env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy
  unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$DIR/resolv.conf")
CURL=(curl --silent --show-error --noproxy '*' --max-time 10 --cacert "$CA" --resolve "$REPORTS_HOST:443:$POLICY_IP")
YESTERDAY=$(date -u -d yesterday +%F)
# Writes a gzip RFC 8460 report for $DOMAIN: FILE REPORT_ID ORG_NAME OK FAILURES...
# (one failure-details entry per FAILURES argument, each its failed-session-count).
make_report() {
  python3 - "$@" "$YESTERDAY" "$DOMAIN" <<'EOF'
import gzip, json, sys
path, rid, org, ok, *fails, day, domain = sys.argv[1:]
types = ["certificate-expired", "starttls-not-supported", "certificate-not-trusted"]
details = [{"result-type": types[i % len(types)], "sending-mta-ip": "192.0.2.10",
            "receiving-mx-hostname": f"mx.{domain}", "receiving-ip": "198.51.100.25",
            "failed-session-count": int(n)} for i, n in enumerate(fails)]
report = {
    "organization-name": org,
    "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
    "contact-info": "mailto:tlsrpt-noreply@sender.test",
    "report-id": rid,
    "policies": [{
        "policy": {"policy-type": "sts", "policy-domain": domain,
                   "policy-string": ["version: STSv1", "mode: enforce", f"mx: mx.{domain}", "max_age: 86400"],
                   "mx-host": [f"mx.{domain}"]},
        "summary": {"total-successful-session-count": int(ok),
                    "total-failure-session-count": sum(int(n) for n in fails)},
        "failure-details": details,
    }],
}
open(path, "wb").write(gzip.compress(json.dumps(report, indent=1).encode()))
EOF
}
START_TS=$(date -u -d "$YESTERDAY 00:00:00" +%s)
END_TS=$((START_TS + 86399))
subject() { echo "Report Domain: $DOMAIN Submitter: $SUBMITTER Report-ID: <$1>"; }

# ---------------------------------------------------------------- 3. tlsrpt-reporter: SMTP and HTTPS
# Fed with libtlsrpt's datagrams (one per delivery attempt of a sending MTA), rolled over to
# "yesterday" by SIGUSR2, then reported by tlsrpt-reportd to both destinations of the record.
SOCK=$RPT/collectd.sock
CFG=$RPT/tlsrpt.cfg
cat >"$CFG" <<EOF
[tlsrpt_collectd]
storage = sqlite://$RPT/collectd.sqlite
socketname = $SOCK
sockettimeout = 1
log_level = debug
logfilename = $RPT/collectd.log

[tlsrpt_fetcher]
storage = sqlite://$RPT/collectd.sqlite
log_level = warning
logfilename = $RPT/fetcher.log

[tlsrpt_reportd]
dbname = $RPT/reportd.sqlite
fetchers = $VENV/bin/tlsrpt-fetcher --config_file $CFG
organization_name = Sender Org
contact_info = tlsrpt-noreply@$SUBMITTER
sender_address = tlsrpt-noreply@$SUBMITTER
sendmail_script = msmtp --host=127.0.0.1 --port=$SMTP_PORT --domain=$SUBMITTER --auth=off --tls=off --from=tlsrpt-noreply@$SUBMITTER -t
http_script = $(printf '%q ' "${CURL[@]}")--fail --header 'Content-Type: application/tlsrpt+gzip' --data-binary @-
debug_send_file_dest = $RPT/files
interval_main_loop = 2
spread_out_delivery = 1
min_wait_domainlist = 0
max_wait_domainlist = 1
min_wait_domaindetails = 0
max_wait_domaindetails = 1
min_wait_delivery = 1
max_wait_delivery = 2
log_level = debug
logfilename = $RPT/reportd.log
EOF
# Command-line and TLSRPT_* variables would override the file.
for v in $(env | sed -n 's/^\(TLSRPT_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

"${IN_NS[@]}" "$VENV/bin/tlsrpt-collectd" --config_file "$CFG" >"$RPT/collectd.out" 2>&1 &
COLLECTD_PID=$!
PIDS+=($COLLECTD_PID)
for i in $(seq 100); do
  [ -S "$SOCK" ] && break
  kill -0 $COLLECTD_PID 2>/dev/null || die "tlsrpt-collectd exited during start-up"
  [ "$i" -lt 100 ] || die "tlsrpt-collectd made no socket $SOCK within 10 s"
  sleep 0.1
done

# 5 successful and 2 failed deliveries to customer.test (two different failures), as libtlsrpt
# sends them: one AF_UNIX datagram per delivery request.
"$VENV/bin/python" - "$SOCK" "$DOMAIN" "$RCPT" "$HTTPS_URL" <<'EOF'
import json, socket, sys
sock, domain, rcpt, url = sys.argv[1:]
policy = {"policy-type": 2, "policy-domain": domain,
          "policy-string": ["version: STSv1", "mode: enforce", f"mx: mx.{domain}", "max_age: 86400"],
          "mx-host": [f"mx.{domain}"]}
def dg(failures):
    p = dict(policy, **{"failure-details": failures, "t": len(failures), "f": 1 if failures else 0})
    return {"dpv": "1", "d": domain, "pr": f"v=TLSRPTv1; rua=mailto:{rcpt},{url}", "policies": [p]}
expired = {"c": 204, "s": "127.0.0.30", "n": f"mx.{domain}", "h": f"mx.{domain}", "r": "127.0.0.20",
           "a": "certificate expired", "f": "X509_V_ERR_CERT_HAS_EXPIRED"}
no_starttls = {"c": 201, "s": "127.0.0.30", "n": f"mx.{domain}", "h": f"mx.{domain}", "r": "127.0.0.21"}
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for failures in [[]] * 5 + [[expired], [no_starttls]]:
    s.sendto(json.dumps(dg(failures)).encode(), sock)
EOF
# collectd commits within sockettimeout; the rollover must see all 7.
count_sessions() { # DB -> "total failed"
  "$VENV/bin/python" -c '
import sqlite3, sys
try:
    c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    print(*c.execute("SELECT COALESCE(SUM(cntrtotal),0), COALESCE(SUM(cntrfailure),0) FROM finalresults").fetchone())
except sqlite3.Error:
    print("0 0")
' "$1"
}
for i in $(seq 100); do
  [ "$(count_sessions "$RPT/collectd.sqlite")" = "7 2" ] && break
  [ "$i" -lt 100 ] || die "tlsrpt-collectd stored '$(count_sessions "$RPT/collectd.sqlite")' sessions, want '7 2'"
  sleep 0.1
done
kill -USR2 $COLLECTD_PID
for i in $(seq 100); do
  [ "$(count_sessions "$RPT/collectd.sqlite.yesterday")" = "7 2" ] && break
  [ "$i" -lt 100 ] || die "tlsrpt-collectd did not roll 7 sessions over to yesterday on SIGUSR2"
  sleep 0.1
done
log "tlsrpt-collectd: 7 sessions (2 failed) for $DOMAIN rolled over to $YESTERDAY"

T_REPORTD=$(date +%s.%N)
"${IN_NS[@]}" "$VENV/bin/tlsrpt-reportd" --config_file "$CFG" >"$RPT/reportd.out" 2>&1 &
REPORTD_PID=$!
PIDS+=($REPORTD_PID)
# tlsrpt-reportd 0.6.0 logs "Report delivery … succeeded" *before* it tries, so its database
# tells: every destination 'sent'. A delivery script that fails logs "… command exit code N".
destinations() {
  "$VENV/bin/python" -c '
import sqlite3, sys
try:
    c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    for d, s in c.execute("SELECT destination, status FROM destinations ORDER BY destination"):
        print(d, s)
except sqlite3.Error:
    pass
' "$RPT/reportd.sqlite"
}
want_dest="https://$REPORTS_HOST/v1/tlsrpt sent
mailto:$RCPT sent"
while :; do
  [ "$(destinations)" = "$want_dest" ] && break
  if grep -q 'command exit code' "$RPT/reportd.log" 2>/dev/null; then
    grep 'command exit code' "$RPT/reportd.log" >&2
    cat "$RPT/reportd.out" >&2
    die "tlsrpt-reportd: a delivery to Moat failed (msmtp/curl output above)"
  fi
  kill -0 $REPORTD_PID 2>/dev/null || die "tlsrpt-reportd exited"
  elapsed_over "$T_REPORTD" "$WAIT_SECONDS" && { destinations >&2; die "tlsrpt-reportd did not deliver to both destinations within ${WAIT_SECONDS}s"; }
  sleep 0.3
done
REPORTER_ID=$("$VENV/bin/python" -c '
import json, sqlite3, sys
rows = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("SELECT report FROM reports").fetchall()
if len(rows) != 1: sys.exit(f"reportd made {len(rows)} reports, want 1")
print(json.loads(rows[0][0])["report-id"])
' "$RPT/reportd.sqlite")
log "PASS tlsrpt-reportd delivered report '$REPORTER_ID' by SMTP (msmtp) and HTTPS (curl --fail) in $(since "$T_REPORTD")s"
kill $REPORTD_PID $COLLECTD_PID 2>/dev/null || true

# ---------------------------------------------------------------- 4. swaks and msmtp
ID_PLAIN=$RUN.swaks-plain@$SUBMITTER
ID_TLS=$RUN.swaks-starttls@$SUBMITTER
ID_MSMTP=$RUN.msmtp-starttls@$SUBMITTER
make_report "$DIR/mail/plain.json.gz" "$ID_PLAIN" "Swaks Plain" 11 1
make_report "$DIR/mail/tls.json.gz" "$ID_TLS" "Swaks TLS" 22 1 1
make_report "$DIR/mail/msmtp.json.gz" "$ID_MSMTP" "Msmtp TLS" 33 3

SWAKS=(swaks --server "127.0.0.1:$SMTP_PORT" --helo "$SUBMITTER" --from "tlsrpt@$SUBMITTER" --timeout 10)
swaks_report() { # REPORT_ID FILE [swaks options...]: an RFC 8460 mail as multipart/mixed
  local id=$1 file=$2; shift 2
  "${IN_NS[@]}" "${SWAKS[@]}" --to "$RCPT" "$@" \
    --header "Subject: $(subject "$id")" \
    --add-header "TLS-Report-Domain: $DOMAIN" --add-header "TLS-Report-Submitter: $SUBMITTER" \
    --add-header "TLS-Required: No" \
    --body "This is an aggregate TLS report from $SUBMITTER" \
    --attach-type application/tlsrpt+gzip \
    --attach-name "$SUBMITTER!$DOMAIN!$START_TS!$END_TS!${id%%@*}.json.gz" \
    --attach "@$file"
}
st=0
swaks_report "$ID_PLAIN" "$DIR/mail/plain.json.gz" >"$DIR/swaks-plain.txt" 2>&1 || st=$?
[ $st = 0 ] || { cat "$DIR/swaks-plain.txt" >&2; die "swaks (plain) to $RCPT: exit $st"; }
grep -q '^<-  250' "$DIR/swaks-plain.txt" || { cat "$DIR/swaks-plain.txt" >&2; die "swaks (plain): no 250"; }
log "PASS swaks plain: report '$ID_PLAIN' accepted"

st=0
swaks_report "$ID_TLS" "$DIR/mail/tls.json.gz" --tls --tls-verify --tls-ca-path "$CA" --tls-sni $REPORTS_HOST \
  >"$DIR/swaks-tls.txt" 2>&1 || st=$?
[ $st = 0 ] || { cat "$DIR/swaks-tls.txt" >&2; die "swaks --tls (STARTTLS, verified with Moat's CA) to $RCPT: exit $st"; }
grep -q '=== TLS started' "$DIR/swaks-tls.txt" || { cat "$DIR/swaks-tls.txt" >&2; die "swaks --tls: no 'TLS started'"; }
log "PASS swaks STARTTLS: report '$ID_TLS' accepted ($(grep -o 'TLS started with cipher [^ ]*' "$DIR/swaks-tls.txt"); $(grep -o 'TLS peer DN="[^"]*"' "$DIR/swaks-tls.txt" || true))"

# msmtp with STARTTLS and an exact RFC 8460 §5.3 message: multipart/report; report-type=tlsrpt.
python3 - "$DIR/mail/msmtp.json.gz" "$ID_MSMTP" "$RCPT" "$SUBMITTER" "$DOMAIN" "$(subject "$ID_MSMTP")" \
  "$SUBMITTER!$DOMAIN!$START_TS!$END_TS!msmtp.json.gz" >"$DIR/mail/msmtp.eml" <<'EOF'
import email.policy, email.utils, sys
from email.message import EmailMessage
path, rid, rcpt, submitter, domain, subject, filename = sys.argv[1:]
m = EmailMessage()
m["From"] = f"tlsrpt@{submitter}"
m["To"] = rcpt
m["Subject"] = subject
m["Date"] = email.utils.formatdate()
m["Message-ID"] = email.utils.make_msgid(domain=submitter)
m["TLS-Report-Domain"] = domain
m["TLS-Report-Submitter"] = submitter
m["TLS-Required"] = "No"
m.set_content(f"This is an aggregate TLS report from {submitter}")
m.add_attachment(open(path, "rb").read(), maintype="application", subtype="tlsrpt+gzip", filename=filename)
m.replace_header("Content-Type", m["Content-Type"].replace("multipart/mixed", 'multipart/report; report-type="tlsrpt"'))
sys.stdout.write(m.as_string(policy=email.policy.SMTP))
EOF
grep -q '^Content-Type: multipart/report; report-type="tlsrpt"' "$DIR/mail/msmtp.eml" || die "built message is not multipart/report"
st=0
"${IN_NS[@]}" msmtp --host=127.0.0.1 --port="$SMTP_PORT" --domain=$SUBMITTER --auth=off --tls=on --tls-starttls=on \
  --tls-trust-file="$CA" --tls-host-override=$REPORTS_HOST --from="tlsrpt@$SUBMITTER" \
  --timeout=10 --debug -t <"$DIR/mail/msmtp.eml" >"$DIR/msmtp.txt" 2>&1 || st=$?
[ $st = 0 ] || { cat "$DIR/msmtp.txt" >&2; die "msmtp STARTTLS (trusting only Moat's CA, host $REPORTS_HOST) to $RCPT: exit $st"; }
grep -q 'STARTTLS' "$DIR/msmtp.txt" || { cat "$DIR/msmtp.txt" >&2; die "msmtp: no STARTTLS in its transcript"; }
log "PASS msmtp STARTTLS: multipart/report '$ID_MSMTP' accepted"

# Negative: a recipient that is not a Moat report address is refused at RCPT.
st=0
"${IN_NS[@]}" "${SWAKS[@]}" --to someone@example.org --body "not a report" >"$DIR/swaks-foreign.txt" 2>&1 || st=$?
[ $st = 24 ] || { cat "$DIR/swaks-foreign.txt" >&2; die "swaks to someone@example.org: exit $st, want 24 (no RCPT accepted)"; }
grep -q '^<\*\* *550' "$DIR/swaks-foreign.txt" || { cat "$DIR/swaks-foreign.txt" >&2; die "RCPT someone@example.org: no 550"; }
log "PASS RCPT someone@example.org: $(grep -m1 '^<\*\* *550' "$DIR/swaks-foreign.txt" | sed 's/^<\*\* *//')"

# Negative: a POST whose body is not a report is a client error.
code=$("${IN_NS[@]}" "${CURL[@]}" -o "$DIR/garbage.body" -w '%{http_code}' --header 'Content-Type: application/tlsrpt+gzip' \
  --data-binary 'this is not a TLS report' "$HTTPS_URL" 2>"$DIR/garbage.err" || true)
case "$code" in 4??) ;; *) cat "$DIR/garbage.err" "$DIR/garbage.body" >&2; die "POST garbage to $HTTPS_URL: HTTP '$code', want 4xx" ;; esac
log "PASS POST garbage: HTTP $code $(head -c 160 "$DIR/garbage.body" | tr '\n' ' ')"

# ---------------------------------------------------------------- 5. what Moat recorded
# Polled: intake may store a report shortly after it answered the sender.
check_reports() {
  python3 - "$DIR/reports-customer.json" "$REPORTER_ID" "$ID_PLAIN" "$ID_TLS" "$ID_MSMTP" "$DOMAIN" <<'EOF'
import json, sys
path, reporter, plain, tls, msmtp, domain = sys.argv[1:]
rows = json.load(open(path))
if not isinstance(rows, list):
    sys.exit(f"not a JSON array: {rows!r}"[:300])
want = {  # report-id: (sender organization, channels, ok, failed, failure-details entries, duplicates)
    reporter: ("Sender Org", {"smtp", "https"}, 5, 2, 2, ">=1"),
    plain: ("Swaks Plain", {"smtp"}, 11, 1, 1, 0),
    tls: ("Swaks TLS", {"smtp"}, 22, 2, 2, 0),
    msmtp: ("Msmtp TLS", {"smtp"}, 33, 3, 1, 0),
}
bad = []
by_id = {}
for r in rows:
    by_id.setdefault(r.get("report_id"), []).append(r)
for rid, rs in by_id.items():
    if rid not in want:
        bad.append(f"unexpected report {rid!r}: {rs}")
    elif len(rs) != 1:
        bad.append(f"{len(rs)} rows for report {rid!r}, want 1 (duplicates are counted, not listed)")
for rid, (org, channels, ok, failed, details, dups) in want.items():
    if rid not in by_id:
        bad.append(f"report {rid!r} missing")
        continue
    r = by_id[rid][0]
    got = {k: r.get(k) for k in ("organization_name", "policy_domain", "total_successful_session_count",
                                 "total_failure_session_count", "failure_details")}
    exp = {"organization_name": org, "policy_domain": domain, "total_successful_session_count": ok,
           "total_failure_session_count": failed, "failure_details": details}
    if got != exp:
        bad.append(f"{rid}: got {got}, want {exp}")
    if r.get("channel") not in channels:
        bad.append(f"{rid}: channel {r.get('channel')!r}, want one of {sorted(channels)}")
    if not isinstance(r.get("warnings"), list):
        bad.append(f"{rid}: warnings {r.get('warnings')!r} is not an array")
    d = r.get("duplicates")
    if not isinstance(d, int) or (d < 1 if dups == ">=1" else d != dups):
        bad.append(f"{rid}: duplicates {d!r}, want {dups}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
T_LIST=$(date +%s.%N)
while :; do
  moat reports list --org "Customer Org" --json >"$DIR/reports-customer.json" 2>"$DIR/reports-customer.err" ||
    { cat "$DIR/reports-customer.err" >&2; die "moat reports list --org 'Customer Org' --json failed"; }
  why=$(check_reports 2>&1) && break
  elapsed_over "$T_LIST" "$WAIT_SECONDS" && { cat "$DIR/reports-customer.json" >&2; die "moat reports list --org 'Customer Org': $why"; }
  sleep 0.5
done
python3 - "$DIR/reports-customer.json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1])):
    print(f"  {r['report_id']}: {r['channel']}, {r['total_successful_session_count']} ok / "
          f"{r['total_failure_session_count']} failed, {r['failure_details']} failure details, "
          f"duplicates {r['duplicates']}, warnings {r['warnings']}")
EOF
log "PASS moat reports list --org 'Customer Org': the 4 reports with their counts; tlsrpt-reporter's by SMTP and HTTPS is one report plus a duplicate"

moat reports list --org "Other Org" --json >"$DIR/reports-other.json" 2>"$DIR/reports-other.err" ||
  { cat "$DIR/reports-other.err" >&2; die "moat reports list --org 'Other Org' --json failed"; }
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != [])' "$DIR/reports-other.json" ||
  { cat "$DIR/reports-other.json" >&2; die "moat reports list --org 'Other Org' is not []"; }
log "PASS moat reports list --org 'Other Org': []"

kill -0 $MOAT_PID 2>/dev/null || die "moat serve died during the test"
log "PASS end2end/interop/tlsrpt.sh in $(since "$T0")s"

#!/usr/bin/env python3
"""Burst sender for end2end/interop/pg-fault.sh: delivers N distinct RFC 8460 report mails to
Moat's SMTP listener over several concurrent connections, stops PostgreSQL midway, keeps
sending while it is down, starts it again, and retries (like an MTA) every message that did not
get 250 until all have, or until their attempts run out.

Standard library only. Writes a JSON result (per message: report-id, every attempt with its
stage, reply and timestamps; the outage's timestamps) to --out; the shell script checks it.
Exit status: 0 when the run completed (whatever the replies), 1 on a setup error.
"""

import argparse
import email.policy
import email.utils
import gzip
import heapq
import json
import re
import shlex
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from email.message import EmailMessage


def log(t0, msg):
    print(f"[sender {time.monotonic() - t0:6.1f}s] {msg}", flush=True)


def make_message(i, run, domain, rcpt, submitter, day):
    rid = f"{run}.{i:05d}@{submitter}"
    ok = 1000 + i  # distinct per message: checked against what Moat lists
    report = {
        "organization-name": "Fault Sender",
        "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
        "contact-info": f"mailto:tlsrpt-noreply@{submitter}",
        "report-id": rid,
        "policies": [{
            "policy": {"policy-type": "sts", "policy-domain": domain,
                       "policy-string": ["version: STSv1", "mode: enforce", f"mx: mx.{domain}", "max_age: 86400"],
                       "mx-host": [f"mx.{domain}"]},
            "summary": {"total-successful-session-count": ok, "total-failure-session-count": 0},
        }],
    }
    gz = gzip.compress(json.dumps(report).encode(), mtime=0)
    m = EmailMessage()
    m["From"] = f"tlsrpt@{submitter}"
    m["To"] = rcpt
    m["Subject"] = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <{rid}>"
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = f"<{run}.{i:05d}.msg@{submitter}>"
    m["TLS-Report-Domain"] = domain
    m["TLS-Report-Submitter"] = submitter
    m["TLS-Required"] = "No"
    m.set_content(f"This is an aggregate TLS report from {submitter}")
    m.add_attachment(gz, maintype="application", subtype="tlsrpt+gzip",
                     filename=f"{submitter}!{domain}!{day}!{i:05d}.json.gz")
    m.replace_header("Content-Type",
                     m["Content-Type"].replace("multipart/mixed", 'multipart/report; report-type="tlsrpt"'))
    body = m.as_bytes(policy=email.policy.SMTP)
    return rid, ok, body


def dot_stuff(body):
    """The DATA payload: CRLF line ends, leading dots doubled, terminated by CRLF.CRLF."""
    body = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", body)
    body = re.sub(rb"(?m)^\.", b"..", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


class Sender:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.lock = threading.Condition()
        self.queue = []  # (not_before, seq, index)
        self.seq = 0
        self.msgs = []
        self.remaining = a.count
        self.first_try_250 = 0
        self.ok_count = 0
        self.outage = {}
        self.stop_triggered = False
        self.errors = []

    def now(self):
        return time.monotonic() - self.t0

    def push(self, idx, not_before):
        heapq.heappush(self.queue, (not_before, self.seq, idx))
        self.seq += 1
        self.lock.notify_all()

    def next_job(self):
        with self.lock:
            while True:
                if self.remaining == 0:
                    return None
                if self.queue and self.queue[0][0] <= self.now():
                    return heapq.heappop(self.queue)[2]
                wait = self.queue[0][0] - self.now() if self.queue else 1.0
                self.lock.wait(max(0.01, min(wait, 1.0)))

    def attempt(self, conn, idx):
        """One delivery attempt on `conn` (an smtplib.SMTP or None). Returns (conn, record)."""
        a, m = self.a, self.msgs[idx]
        rec = {"start": self.now(), "stage": None, "code": None, "reply": None, "data_sent": None, "end": None}
        try:
            if conn is None:
                rec["stage"] = "connect"
                conn = smtplib.SMTP(a.host, a.port, local_hostname=a.submitter, timeout=a.timeout)
            rec["stage"] = "ehlo"
            code, resp = conn.ehlo_or_helo_if_needed() or (250, b"")
            rec["stage"] = "mail"
            code, resp = conn.mail(f"tlsrpt@{a.submitter}")
            if code == 250:
                rec["stage"] = "rcpt"
                code, resp = conn.rcpt(a.rcpt)
            if code == 250:
                rec["stage"] = "data"
                code, resp = conn.docmd("DATA")
                if code == 354:
                    conn.send(m["payload"])
                    rec["data_sent"] = self.now()
                    code, resp = conn.getreply()
            rec["code"], rec["reply"] = code, resp.decode(errors="replace")
            if code != 250 or rec["stage"] != "data":
                conn.rset()  # a failed transaction: start the next one clean
        except (smtplib.SMTPException, OSError) as e:
            rec["code"], rec["reply"] = None, f"{type(e).__name__}: {e}"
            try:
                conn and conn.close()
            except Exception:
                pass
            conn = None
        rec["end"] = self.now()
        return conn, rec

    def worker(self):
        conn = None
        while True:
            idx = self.next_job()
            if idx is None:
                break
            conn, rec = self.attempt(conn, idx)
            m = self.msgs[idx]
            with self.lock:
                m["attempts"].append(rec)
                if rec["code"] == 250 and rec["stage"] == "data":
                    m["done"] = True
                    self.remaining -= 1
                    self.ok_count += 1
                    self.first_try_250 += len(m["attempts"]) == 1
                    self.lock.notify_all()
                elif rec["code"] is not None and rec["code"] >= 500:
                    m["done"] = True  # permanent: the shell script fails on it
                    self.remaining -= 1
                    self.lock.notify_all()
                elif len(m["attempts"]) >= self.a.max_attempts:
                    m["done"] = True  # gave up: the shell script fails on it
                    self.remaining -= 1
                    self.lock.notify_all()
                else:
                    n = len(m["attempts"])
                    self.push(idx, self.now() + min(self.a.backoff * 2 ** (n - 1), self.a.max_backoff))
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                conn.close()

    def pg_ctl(self, *args):
        cmd = shlex.split(self.a.pg_ctl) + ["-D", self.a.pgdata, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stdout} {r.stderr}")

    def healthz(self):
        try:
            with urllib.request.urlopen(self.a.healthz, timeout=15) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except Exception as e:
            return f"{type(e).__name__}: {e}"

    def orchestrate(self):
        """Stops PostgreSQL once a third of the messages got 250, keeps it down, restarts it."""
        a = self.a
        try:
            with self.lock:
                while self.ok_count < a.stop_after and self.remaining > 0:
                    self.lock.wait(0.05)
                if self.remaining == 0:
                    raise RuntimeError(f"all messages were delivered before {a.stop_after} got 250: raise --count")
                ok_before = self.ok_count
            o = self.outage
            o["ok_before_stop"] = ok_before
            o["stop_cmd"] = self.now()
            log(self.t0, f"{ok_before} messages got 250: pg_ctl stop -m {a.stop_mode}")
            self.pg_ctl("-m", a.stop_mode, "-w", "stop")
            o["down"] = self.now()
            log(self.t0, f"PostgreSQL is down ({o['down'] - o['stop_cmd']:.1f}s to stop); senders keep sending")
            o["healthz_down"] = self.healthz()
            log(self.t0, f"/healthz while PostgreSQL is down: {o['healthz_down']}")
            while self.now() < o["down"] + a.down_seconds:
                time.sleep(0.05)
            o["start_cmd"] = self.now()
            with self.lock:
                o["remaining_at_start"] = self.remaining
            log(self.t0, f"pg_ctl start ({o['remaining_at_start']} messages still without 250)")
            self.pg_ctl("-l", a.pg_log, "-w", "-t", "60", "start")
            o["up"] = self.now()
            log(self.t0, f"PostgreSQL is up ({o['up'] - o['start_cmd']:.1f}s to start)")
        except Exception as e:
            self.errors.append(f"orchestrator: {e}")
            log(self.t0, f"ERROR orchestrator: {e}")

    def run(self):
        a = self.a
        for i in range(a.count):
            rid, ok, body = make_message(i, a.run, a.domain, a.rcpt, a.submitter, a.day)
            self.msgs.append({"report_id": rid, "ok": ok, "payload": dot_stuff(body), "attempts": [], "done": False})
        with self.lock:
            for i in range(a.count):
                self.push(i, 0.0)
        log(self.t0, f"{a.count} messages ready; {a.threads} connections to {a.host}:{a.port}")
        orch = threading.Thread(target=self.orchestrate, daemon=True)
        orch.start()
        workers = [threading.Thread(target=self.worker, daemon=True) for _ in range(a.threads)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + a.deadline
        last = 0.0
        while any(w.is_alive() for w in workers):
            if time.monotonic() > deadline:
                self.errors.append(f"senders still busy after {a.deadline}s")
                log(self.t0, f"ERROR senders still busy after {a.deadline}s")
                break
            if self.now() - last >= 2:
                last = self.now()
                with self.lock:
                    log(self.t0, f"{self.ok_count} of {a.count} got 250, {self.remaining} pending")
            time.sleep(0.1)
        orch.join(timeout=150)
        if orch.is_alive():
            self.errors.append("orchestrator did not finish")
        out = {
            "count": a.count,
            "threads": a.threads,
            "stop_mode": a.stop_mode,
            "total_seconds": self.now(),
            "outage": self.outage,
            "errors": self.errors,
            "messages": [{"report_id": m["report_id"], "ok": m["ok"], "attempts": m["attempts"]} for m in self.msgs],
        }
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
        log(self.t0, f"done: {self.ok_count} of {a.count} got 250 in {self.now():.1f}s")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--submitter", default="sender.test")
    p.add_argument("--run", required=True, help="tag making the report-ids unique")
    p.add_argument("--day", required=True, help="YYYY-MM-DD of the report period")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--stop-after", type=int, help="stop PostgreSQL once this many got 250 (default count/3)")
    p.add_argument("--down-seconds", type=float, default=6.0)
    p.add_argument("--stop-mode", default="fast", choices=["smart", "fast", "immediate"])
    p.add_argument("--pg-ctl", required=True, help="pg_ctl command line (with runuser prefix)")
    p.add_argument("--pgdata", required=True)
    p.add_argument("--pg-log", required=True)
    p.add_argument("--healthz", required=True)
    p.add_argument("--timeout", type=float, default=30.0, help="SMTP socket timeout")
    p.add_argument("--max-attempts", type=int, default=25)
    p.add_argument("--backoff", type=float, default=0.5, help="first retry delay, doubled each time")
    p.add_argument("--max-backoff", type=float, default=4.0)
    p.add_argument("--deadline", type=float, default=300.0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.stop_after is None:
        a.stop_after = max(1, a.count // 3)
    socket.setdefaulttimeout(a.timeout)
    Sender(a).run()


if __name__ == "__main__":
    sys.exit(main())

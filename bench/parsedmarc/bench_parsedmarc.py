#!/usr/bin/env python3
"""Time parsedmarc's SMTP TLS report parser over the corpus JSON reports.

Loads every ``*.json`` under CORPUS into memory, keeps the ones
``parsedmarc.parse_smtp_tls_report_json`` accepts (the others are counted as
rejects), then runs ROUNDS rounds of ITERATIONS passes over them and prints
microseconds per report. The input is ``bytes``, as read from the file, which
parsedmarc decodes itself; the Rust side (crates/tlsrpt/examples/bench_parse.rs)
gets the same bytes.

The accepted file names are written to --accepted-out so that the Rust
benchmark can time exactly the same set. The last line of output is
machine-readable:  RESULT parsedmarc us_per_report=<median> ...
"""

import argparse
import gc
import os
import statistics
import sys
import time

import parsedmarc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/shared/corpus/tlsrpt-json", help="folder of report JSON files")
    ap.add_argument("--iterations", type=int, default=2000, help="passes over all reports per round")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (median and best are printed)")
    ap.add_argument("--accepted-out", help="write the accepted file paths here, one a line")
    args = ap.parse_args()

    parse = parsedmarc.parse_smtp_tls_report_json
    paths = sorted(
        os.path.join(args.corpus, name) for name in os.listdir(args.corpus) if name.endswith(".json")
    )
    accepted, reports = [], []
    rejected = 0
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        try:
            parse(data)
        except parsedmarc.InvalidSMTPTLSReport as e:
            rejected += 1
            print(f"  rejected {os.path.basename(path)}: {str(e)[:80]}", file=sys.stderr)
            continue
        accepted.append(path)
        reports.append(data)
    if not reports:
        print("no report was accepted", file=sys.stderr)
        return 1
    if args.accepted_out:
        with open(args.accepted_out, "w") as f:
            f.writelines(p + "\n" for p in accepted)

    total_bytes = sum(len(r) for r in reports)
    print(
        f"parsedmarc {parsedmarc.__version__} (Python {sys.version.split()[0]}): "
        f"{len(paths)} JSON files, {len(reports)} accepted ({total_bytes} bytes), {rejected} rejected"
    )

    # Warm-up, then timed rounds with the garbage collector off (as timeit does).
    for data in reports:
        parse(data)
    per_report = []
    gc.disable()
    try:
        for _ in range(args.rounds):
            start = time.perf_counter_ns()
            for _ in range(args.iterations):
                for data in reports:
                    parse(data)
            elapsed = time.perf_counter_ns() - start
            per_report.append(elapsed / 1000 / (args.iterations * len(reports)))
    finally:
        gc.enable()

    median = statistics.median(per_report)
    best = min(per_report)
    print(
        f"parse_smtp_tls_report_json: {args.rounds} rounds x {args.iterations} x {len(reports)} reports: "
        f"median {median:.2f} µs/report (best {best:.2f}), {1e6 / median:,.0f} reports/s"
    )
    print(
        f"RESULT parsedmarc us_per_report={median:.4f} best={best:.4f} accepted={len(reports)} "
        f"rejected={rejected} iterations={args.iterations} rounds={args.rounds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

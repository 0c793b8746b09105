#!/usr/bin/env bash
# Fuzz moat-tlsrpt for a bounded time on the stable toolchain (no sanitizer), every target
# in crates/tlsrpt/fuzz, seeded from the shared report corpus and the crate's fixtures.
#
#   scripts/fuzz.sh                 # every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=300 scripts/fuzz.sh mime
#
# Environment:
#   FUZZ_SECONDS      run time per target in seconds (default 20)
#   FUZZ_WORK         scratch folder for corpora and crash artifacts (default /var/tmp/moat-fuzz);
#                     <FUZZ_WORK>/<target>/corpus grows across runs, /artifacts holds crashes
#   FUZZ_SEEDS        the shared corpus (default ../shared/corpus next to the repo, else
#                     /work/shared/corpus); missing is fine, the fixtures still seed
#   CARGO_TARGET_DIR  honoured: the build goes to $CARGO_TARGET_DIR/fuzz (default target/fuzz)
#
# Exits non-zero when a target crashes, panics, times out or runs out of memory, printing the
# path of the input that did it (reproduce: cargo fuzz run --sanitizer none TARGET PATH).
# The repository is left untouched: corpora and artifacts live under FUZZ_WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
fuzz_dir=$repo/crates/tlsrpt/fuzz
seconds=${FUZZ_SECONDS:-20}
work=${FUZZ_WORK:-/var/tmp/moat-fuzz}
target_dir=${CARGO_TARGET_DIR:-$repo/target}/fuzz
if [[ -n ${FUZZ_SEEDS:-} ]]; then
  seeds=$FUZZ_SEEDS
elif [[ -d $repo/../shared/corpus ]]; then
  seeds=$repo/../shared/corpus
else
  seeds=/work/shared/corpus
fi
want=cargo-fuzz\ 0.13.2

# cargo-fuzz, only when the right version is not there already.
if [[ $(cargo fuzz --version 2>/dev/null || true) != "$want" ]]; then
  echo "==> installing cargo-fuzz 0.13.2"
  nice cargo install --locked --quiet cargo-fuzz --version 0.13.2
fi
# libfuzzer-sys compiles libFuzzer (C++) in its build script.
if ! command -v c++ >/dev/null; then
  echo "==> installing a C++ compiler for libfuzzer-sys"
  apt-get install -y -qq g++ >/dev/null
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi

# The seeds each target starts from (copied, so the shared corpus is never written to).
seed_files() {
  local fixtures=$repo/crates/tlsrpt/tests/fixtures
  case $1 in
    mime) ls "$seeds"/tlsrpt-eml/* "$fixtures"/*.eml 2>/dev/null || true ;;
    *) ls "$seeds"/tlsrpt-json/* "$seeds"/tlsrpt-eml/* "$fixtures"/* 2>/dev/null || true ;;
  esac
}

echo "==> building ${targets[*]} (cargo fuzz, --sanitizer none, into $target_dir)"
mkdir -p "$work"
for target in "${targets[@]}"; do
  if ! nice cargo fuzz build --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" --sanitizer none "$target" \
    >"$work/build-$target.log" 2>&1; then
    cat "$work/build-$target.log" >&2
    exit 1
  fi
done

failed=0
for target in "${targets[@]}"; do
  corpus=$work/$target/corpus
  artifacts=$work/$target/artifacts
  log=$work/$target/fuzz.log
  # The corpus grows across runs; past FUZZ_MAX_CORPUS inputs start again from the seeds, so
  # loading it never dominates a short run.
  if [[ -d $corpus ]] && (($(find "$corpus" -type f | wc -l) > ${FUZZ_MAX_CORPUS:-20000})); then
    rm -rf "$corpus"
  fi
  mkdir -p "$corpus" "$artifacts"
  n=0
  while IFS= read -r file; do
    [[ -f $file ]] || continue
    cp -f "$file" "$corpus/seed-$(basename "$file")"
    n=$((n + 1))
  done < <(seed_files "$target")
  before=$(find "$artifacts" -type f | wc -l)
  echo "==> fuzzing $target for ${seconds}s ($n seeds, corpus $corpus)"
  rc=0
  nice cargo fuzz run --fuzz-dir "$fuzz_dir" --target-dir "$target_dir" --sanitizer none "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  cov=$({ grep -oE 'cov: [0-9]+' "$log" || true; } | tail -n 1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  printf '    %s execs, %s exec/s, coverage %s, corpus now %s inputs\n' \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "$units"
  after=$(find "$artifacts" -type f | wc -l)
  if ((rc != 0 || after > before)); then
    failed=1
    echo "!!! $target failed (exit $rc); full output in $log" >&2
    { grep -E -A2 "panicked at|ERROR: libFuzzer|^SUMMARY|^Error:" "$log" || tail -n 15 "$log"; } | head -n 20 >&2
    { grep -oE 'Test unit written to .*' "$log" || true; } | sed 's/^/!!! /' >&2
    echo "!!! reproduce: cargo fuzz run --fuzz-dir crates/tlsrpt/fuzz --sanitizer none $target <artifact>" >&2
  fi
done
# cargo fuzz creates fuzz/artifacts/<target> even when -artifact_prefix points elsewhere.
find "$fuzz_dir/artifacts" -depth -type d -empty -delete 2>/dev/null || true
exit "$failed"

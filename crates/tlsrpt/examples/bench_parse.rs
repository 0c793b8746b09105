//! Parse-speed benchmark over the shared report corpus (see bench/README.md).
//!
//! ```sh
//! cargo run --release -p moat-tlsrpt --example bench_parse -- \
//!     [--iterations 2000] [--rounds 5] [--corpus DIR] [--json-list FILE] [--only json|any] \
//!     [--baseline]
//! ```
//!
//! 1. [`moat_tlsrpt::parse_json`] over the JSON reports: the files named in
//!    `--json-list` (one path a line; `scripts/bench-parse.sh` passes the ones
//!    parsedmarc accepts), else every `DIR/tlsrpt-json/*.json`.
//! 2. [`moat_tlsrpt::parse_any`] over the packed reports:
//!    `DIR/tlsrpt-json/*.json.gz` and `DIR/tlsrpt-eml/*` (gunzip, MIME
//!    walk, base64, JSON), timed per file; files it rejects are counted and
//!    left out of the timing.
//!
//! With `--baseline`, also serde_json building a plain `Value` tree of the JSON reports (what
//! `json.loads` does inside parsedmarc), for scale.
//!
//! Each is `--rounds` rounds of `--iterations` passes over all its inputs;
//! the median round and the best are printed, then a machine-readable
//! `RESULT` line per measurement.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use moat_tlsrpt::{Limits, ParseHint, parse_any, parse_json};

struct Args {
    iterations: u32,
    rounds: u32,
    corpus: PathBuf,
    json_list: Option<PathBuf>,
    /// Run only one of the two measurements (`json` or `any`).
    only: Option<String>,
    /// Also time serde_json building a plain JSON tree of the same reports, for scale.
    baseline: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        iterations: 2000,
        rounds: 5,
        corpus: default_corpus(),
        json_list: None,
        only: None,
        baseline: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--iterations" => args.iterations = value()?.parse().map_err(|e| format!("--iterations: {e}"))?,
            "--rounds" => args.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--corpus" => args.corpus = PathBuf::from(value()?),
            "--json-list" => args.json_list = Some(PathBuf::from(value()?)),
            "--baseline" => args.baseline = true,
            "--only" => match value()?.as_str() {
                only @ ("json" | "any") => args.only = Some(only.to_owned()),
                other => return Err(format!("--only takes json or any, not {other:?}")),
            },
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.iterations == 0 || args.rounds == 0 {
        return Err("--iterations and --rounds must be at least 1".into());
    }
    Ok(args)
}

/// `shared/corpus` next to the repository, else the machine's copy.
fn default_corpus() -> PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if beside.is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared/corpus")
    }
}

fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    Ok(files)
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    paths
        .iter()
        .map(|path| {
            std::fs::read(path)
                .map(|bytes| (path.clone(), bytes))
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Median and best microseconds per input over the rounds.
fn time_rounds(args: &Args, inputs: usize, mut pass: impl FnMut()) -> (f64, f64) {
    pass(); // warm-up
    let per_pass = f64::from(args.iterations) * inputs as f64;
    let mut rounds: Vec<f64> = (0..args.rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..args.iterations {
                pass();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_pass
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    let median = rounds.get(rounds.len() / 2).copied().unwrap_or(f64::NAN);
    let best = rounds.first().copied().unwrap_or(f64::NAN);
    (median, best)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let json_dir = args.corpus.join("tlsrpt-json");
    let eml_dir = args.corpus.join("tlsrpt-eml");

    if args.only.as_deref() != Some("any") {
        bench_json(&args, &json_dir)?;
    }
    if args.only.as_deref() != Some("json") {
        bench_any(&args, &json_dir, &eml_dir)?;
    }
    Ok(())
}

/// 1. `parse_json` over plain JSON reports.
fn bench_json(args: &Args, json_dir: &Path) -> Result<(), String> {
    let json_paths = match &args.json_list {
        Some(list) => std::fs::read_to_string(list)
            .map_err(|e| format!("{}: {e}", list.display()))?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => files_in(json_dir, |n| n.ends_with(".json"))?,
    };
    let json = read_all(&json_paths)?;
    let (ok_json, bad_json): (Vec<_>, Vec<_>) =
        json.into_iter().partition(|(_, bytes)| parse_json(bytes).is_ok());
    for (path, bytes) in &bad_json {
        let err = parse_json(bytes).err().map(|e| e.to_string()).unwrap_or_default();
        eprintln!("  parse_json rejected {}: {err}", name(path));
    }
    if ok_json.is_empty() {
        return Err("no JSON report parsed".into());
    }
    let bytes: usize = ok_json.iter().map(|(_, b)| b.len()).sum();
    println!(
        "moat-tlsrpt parse_json: {} JSON files, {} parsed ({bytes} bytes), {} rejected",
        ok_json.len() + bad_json.len(),
        ok_json.len(),
        bad_json.len()
    );
    let (median, best) = time_rounds(args, ok_json.len(), || {
        for (_, bytes) in &ok_json {
            // By reference: handing the result itself to black_box would time a copy of it.
            black_box(&parse_json(black_box(bytes)));
        }
    });
    println!(
        "parse_json: {} rounds x {} x {} reports: median {median:.2} µs/report (best {best:.2}), {:.0} reports/s",
        args.rounds,
        args.iterations,
        ok_json.len(),
        1e6 / median
    );
    println!(
        "RESULT moat-parse_json us_per_report={median:.4} best={best:.4} accepted={} rejected={}",
        ok_json.len(),
        bad_json.len()
    );
    println!(
        "parse_json throughput: {:.0} MB/s of report JSON",
        bytes as f64 / ok_json.len() as f64 / median
    );

    if !args.baseline {
        return Ok(());
    }
    // For scale: serde_json building only a generic JSON tree of the same bytes (what Python's
    // json.loads does inside parsedmarc), with no report model, checks or warnings.
    let (tree_median, tree_best) = time_rounds(args, ok_json.len(), || {
        for (_, bytes) in &ok_json {
            black_box(&serde_json::from_slice::<serde_json::Value>(black_box(bytes)));
        }
    });
    println!(
        "serde_json::Value (tree only, for scale): median {tree_median:.2} µs/report (best {tree_best:.2}), {:.0} MB/s",
        bytes as f64 / ok_json.len() as f64 / tree_median
    );
    println!("RESULT serde_json-value us_per_report={tree_median:.4} best={tree_best:.4}");

    Ok(())
}

/// 2. `parse_any` over gzip and e-mail.
fn bench_any(args: &Args, json_dir: &Path, eml_dir: &Path) -> Result<(), String> {
    let mut packed_paths = files_in(json_dir, |n| n.ends_with(".gz"))?;
    packed_paths.extend(files_in(eml_dir, |_| true)?);
    let packed = read_all(&packed_paths)?;
    let limits = Limits::default();
    let hint = ParseHint::default();
    let mut ok_packed = Vec::new();
    let mut reports = 0;
    for (path, bytes) in packed.iter() {
        match parse_any(bytes, &limits, &hint) {
            Ok(found) => {
                reports += found.len();
                ok_packed.push(bytes.as_slice());
            }
            Err(err) => eprintln!("  parse_any rejected {}: {err}", name(path)),
        }
    }
    if ok_packed.is_empty() {
        return Err("no .json.gz or .eml file parsed".into());
    }
    let rejected = packed.len() - ok_packed.len();
    let bytes: usize = ok_packed.iter().map(|b| b.len()).sum();
    println!(
        "moat-tlsrpt parse_any: {} .json.gz/.eml files, {} parsed ({bytes} bytes, {reports} reports), {rejected} rejected",
        packed.len(),
        ok_packed.len(),
    );
    let (median, best) = time_rounds(args, ok_packed.len(), || {
        for bytes in &ok_packed {
            black_box(&parse_any(black_box(bytes), &limits, &hint));
        }
    });
    println!(
        "parse_any: {} rounds x {} x {} files: median {median:.2} µs/file (best {best:.2}), {:.0} files/s",
        args.rounds,
        args.iterations,
        ok_packed.len(),
        1e6 / median
    );
    println!(
        "RESULT moat-parse_any us_per_file={median:.4} best={best:.4} accepted={} rejected={rejected} reports={reports}",
        ok_packed.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_parse: {err}");
            ExitCode::FAILURE
        }
    }
}

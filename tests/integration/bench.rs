//! Benchmarks, run by hand (they time things; tests never assert timings):
//!
//! ```sh
//! cargo test --release --test integration bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Each runs the real binary against a lab world and prints its figures on one line, to
//! paste into the README. CPU time and peak memory come from /usr/bin/time when it is
//! installed (Debian's `time` package), "n/a" otherwise.
//!
//! - `bench_one_domain`, `bench_150_domains`: good deployments over loopback (2 MX hosts,
//!   3 SMTP sessions with TLS, one policy fetch and about 10 DNS lookups per domain): the
//!   tool's own cost.
//! - `bench_one_domain_at_50ms`: one domain at 50 ms one-way latency, against the bound
//!   the protocol's dependent round trips set.
//! - `bench_hosted_10k`, `bench_hosted_100k`: a hosted provider's domains on 4 shared SMTP
//!   servers and one HTTPS server, all in one run.
//! - `bench_startup`: `mtasts --version` and the size of the binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::lab::{MxAddr, Run, Smtp, World};

/// What one run of the binary cost.
struct Measured {
    status: ExitStatus,
    wall: Duration,
    /// User plus system time of the child.
    cpu: Option<Duration>,
    /// Peak resident set size of the child, in KB.
    rss_kb: Option<u64>,
    /// Lines written to standard output.
    lines: usize,
    /// Standard output itself, when asked to keep it.
    stdout: Vec<u8>,
    stderr: String,
}

impl Measured {
    fn cpu(&self) -> String {
        self.cpu
            .map_or("n/a".into(), |c| format!("{:.2} s", c.as_secs_f64()))
    }

    fn rss(&self) -> String {
        self.rss_kb.map_or("n/a".into(), |kb| format!("{kb} KB"))
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mtasts")
}

/// Runs the binary with `args` under /usr/bin/time when there is one, counting the lines
/// of its standard output as they come (a 100,000-domain report is not kept in memory
/// unless `keep`).
async fn measure(args: Vec<String>, keep: bool) -> Measured {
    tokio::task::spawn_blocking(move || {
        let timer = Path::new("/usr/bin/time");
        let times = tempfile::NamedTempFile::new().expect("a file for /usr/bin/time");
        let mut cmd = if timer.exists() {
            let mut cmd = Command::new(timer);
            cmd.args(["-f", "%U %S %M", "-o"])
                .arg(times.path())
                .arg(binary());
            cmd
        } else {
            Command::new(binary())
        };
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("the binary runs");
        let mut stderr = child.stderr.take().expect("stderr");
        // Read beside stdout, so that neither pipe fills and stalls the child.
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let (mut lines, mut kept, mut buf) = (0, Vec::new(), vec![0; 64 * 1024]);
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        let status = child.wait().expect("wait for the binary");
        let wall = started.elapsed();
        // /usr/bin/time writes "Command exited with non-zero status N" first, if so.
        let times = std::fs::read_to_string(times.path()).unwrap_or_default();
        let fields: Vec<f64> = times
            .lines()
            .last()
            .unwrap_or_default()
            .split(' ')
            .filter_map(|f| f.parse().ok())
            .collect();
        let (cpu, rss_kb) = match fields[..] {
            [user, sys, rss] => (Some(Duration::from_secs_f64(user + sys)), Some(rss as u64)),
            _ => (None, None),
        };
        Measured {
            status,
            wall,
            cpu,
            rss_kb,
            lines,
            stdout: kept,
            stderr: errors.join().unwrap_or_default(),
        }
    })
    .await
    .expect("the measuring task")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `check`, `extra`, then the options that point the binary at `run`.
fn check_args(run: &Run, extra: &[String]) -> Vec<String> {
    let mut args = strings(&["check"]);
    args.extend_from_slice(extra);
    args.extend(run.args());
    args
}

/// CPU time this process (the lab's servers, all threads) has used, from /proc/self/stat;
/// None where there is no /proc. Its clock ticks are USER_HZ, 100 on every Linux
/// architecture the project builds for.
fn lab_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields; the state, the 3rd, comes first here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
async fn bench(domains: usize, jobs: &str) {
    let mut w = World::new();
    let names: Vec<String> = (0..domains).map(|i| format!("d{i}.example.test")).collect();
    let deployments = names.iter().map(|n| w.good_deployment(n)).collect();
    let run = w.start_all(deployments).await;
    let mut extra = strings(&["-q", "--jobs", jobs]);
    extra.extend(names);
    let m = measure(check_args(&run, &extra), false).await;
    println!(
        "{domains:>4} domains, --jobs {jobs:>2}: {:>7.2} s, CPU {}, peak RSS {}, exit {:?}",
        m.wall.as_secs_f64(),
        m.cpu(),
        m.rss(),
        m.status.code()
    );
    assert_eq!(m.status.code(), Some(0), "every lab domain passes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_one_domain() {
    bench(1, "8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_150_domains() {
    for jobs in ["1", "8", "64"] {
        bench(150, jobs).await;
    }
}

/// One-way delay of the latency benchmark: 100 ms round trips, as between continents.
const ONE_WAY: Duration = Duration::from_millis(50);

/// Round trips on the longest dependent path of one domain's audit, counted as the lab's
/// latency emulates them (lab/latency.rs), for an MX address:
///
/// | step | RTT | why |
/// |---|---|---|
/// | MX lookup | 1 | |
/// | A and AAAA of the MX host | 1 | both at once |
/// | TCP connect + banner | 2 | SYN, SYN-ACK (1); the server writes once the ACK reaches it, at 1.5 RTT, so the banner arrives at 2 |
/// | EHLO | 1 | |
/// | STARTTLS | 1 | |
/// | TLS 1.3 handshake | 1 | ClientHello, then ServerHello to Finished; the client's Finished leaves with the EHLO |
/// | EHLO inside TLS | 1 | |
///
/// 8 in all: QUIT is written but its reply not awaited. Every MX host and address is probed at once, so 4 addresses cost what one
/// does. The other paths are shorter: the policy (addresses 1, TCP 1, TLS 1, GET 1: 4),
/// the TXT records (1), TLSA (1, beside the probes).
const CHAIN_ROUND_TRIPS: u32 = 8;

/// Runs of the binary timed in the latency benchmark; the median is reported.
const RUNS: usize = 5;

#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_one_domain_at_50ms() {
    let mut w = World::new().with_latency(ONE_WAY);
    let mut d = w.good_deployment("example.test");
    // 2 MX hosts with 2 addresses each.
    d.mx[1].addrs.push(MxAddr {
        ip: "2001:db8::20".parse().expect("ip"),
        smtp: Smtp::good(),
    });
    let run = w.start(d).await;
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let m = measure(check_args(&run, &strings(&["example.test"])), false).await;
        assert_eq!(m.status.code(), Some(0), "{}", m.stderr);
        walls.push(m.wall);
    }
    let mut reported = Vec::new();
    for _ in 0..RUNS {
        let args = strings(&["example.test", "--format", "json"]);
        let m = measure(check_args(&run, &args), true).await;
        let doc: serde_json::Value = serde_json::from_slice(&m.stdout).expect("a JSON document");
        let total = doc["domains"][0]["timings"]["total_ms"]
            .as_u64()
            .expect("timings.total_ms");
        reported.push(Duration::from_millis(total));
    }
    let wall = median(walls);
    let bound = 2 * ONE_WAY * CHAIN_ROUND_TRIPS;
    println!(
        "1 domain, 2 MX x 2 addresses, {} one-way: wall {} (median of {RUNS}), bound {CHAIN_ROUND_TRIPS} RTT = {}, ratio {:.2}; timings.total_ms {}",
        ms(ONE_WAY),
        ms(wall),
        ms(bound),
        wall.as_secs_f64() / bound.as_secs_f64(),
        ms(median(reported)),
    );
}

/// Whether the binary audits a domains file with one JSON object per line; until it does,
/// the hosted benchmarks pass fewer domains as arguments.
async fn streams() -> bool {
    let m = measure(strings(&["check", "--help"]), true).await;
    let help = String::from_utf8_lossy(&m.stdout);
    help.contains("--domains-file") && help.contains("jsonl")
}

/// Domains audited when the binary cannot stream: as arguments, a tenth of the world.
const FALLBACK_SHARE: usize = 10;

#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
async fn bench_hosted(n: usize) {
    let started = Instant::now();
    let (run, domains) = World::new().hosted(n).await;
    let built = started.elapsed();
    let dir = tempfile::tempdir().expect("a directory");
    let streaming = streams().await;
    let (audited, extra, how) = if streaming {
        let file = dir.path().join("domains.txt");
        std::fs::write(&file, domains.join("\n") + "\n").expect("write the domains file");
        let path = file.display().to_string();
        let extra = strings(&["--domains-file", &path, "--format", "jsonl"]);
        (n, extra, "--domains-file, jsonl")
    } else {
        let k = n / FALLBACK_SHARE;
        let mut extra = strings(&["--format", "json"]);
        extra.extend_from_slice(&domains[..k]);
        (k, extra, "no --domains-file yet: arguments, json")
    };
    let lab_before = lab_cpu();
    let m = measure(check_args(&run, &extra), !streaming).await;
    let lab = match (lab_before, lab_cpu()) {
        (Some(before), Some(after)) => format!("{:.2} s", (after - before).as_secs_f64()),
        _ => "n/a".into(),
    };
    let reports = if streaming {
        m.lines
    } else {
        let doc: serde_json::Value = serde_json::from_slice(&m.stdout).expect("a JSON document");
        doc["domains"].as_array().map_or(0, Vec::len)
    };
    let connections: usize = run.smtp.iter().map(|(_, s)| s.connections()).sum();
    let per_domain = m.cpu.map_or("n/a".into(), |c| ms(c / audited as u32));
    println!(
        "hosted {n} (world built in {:.1} s), {audited} audited ({how}): {:.2} s, {:.0} domains/s, CPU {per_domain}/domain ({} in all; the lab process {lab}), peak RSS {}, {connections} SMTP connections to 4 servers, {} output lines, {reports} reports, exit {:?}",
        built.as_secs_f64(),
        m.wall.as_secs_f64(),
        audited as f64 / m.wall.as_secs_f64(),
        m.cpu(),
        m.rss(),
        m.lines,
        m.status.code(),
    );
    assert_eq!(reports, audited, "one report per domain: {}", m.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_hosted_10k() {
    bench_hosted(10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_hosted_100k() {
    bench_hosted(100_000).await;
}

/// `--format prometheus` keeps each domain's few series until the end (the format groups
/// series by family): the peak memory of 10,000 hosted domains, beside jsonl's above.
#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_hosted_10k_prometheus() {
    let n = 10_000;
    let (run, domains) = World::new().hosted(n).await;
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("domains.txt");
    std::fs::write(&file, domains.join("\n") + "\n").expect("write the domains file");
    let path = file.display().to_string();
    let extra = strings(&["--domains-file", &path, "--format", "prometheus"]);
    let m = measure(check_args(&run, &extra), false).await;
    println!(
        "hosted {n}, --format prometheus: {:.2} s, CPU {}, peak RSS {}, {} output lines, exit {:?}",
        m.wall.as_secs_f64(),
        m.cpu(),
        m.rss(),
        m.lines,
        m.status.code(),
    );
    assert_eq!(m.status.code(), Some(0), "{}", m.stderr);
}

/// Runs of `mtasts --version` timed; the median is reported.
const STARTS: usize = 50;

#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
#[test]
#[ignore]
fn bench_startup() {
    let mut walls = Vec::new();
    for _ in 0..STARTS {
        // Run directly: /usr/bin/time would add its own start to a millisecond.
        let started = Instant::now();
        let out = Command::new(binary())
            .arg("--version")
            .output()
            .expect("the binary runs");
        walls.push(started.elapsed());
        assert!(out.status.success());
    }
    let fastest = *walls.iter().min().expect("runs");
    let bin = binary();
    let size = std::fs::metadata(&bin).expect("the binary").len();
    println!(
        "start-up: mtasts --version {} median of {STARTS} (fastest {}), binary {:.1} MB ({})",
        ms(median(walls)),
        ms(fastest),
        size as f64 / 1e6,
        bin.display(),
    );
}

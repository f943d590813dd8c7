//! Benchmarks, run by hand (they time things; tests never assert timings):
//!
//! ```sh
//! cargo test --release --test integration bench -- --ignored --nocapture
//! ```
//!
//! Each audits N good lab deployments (2 MX hosts, 3 SMTP sessions with TLS, one policy
//! fetch and about 10 DNS lookups per domain) with the real binary, and prints the wall
//! time and the peak memory (from /usr/bin/time when it is installed).

use std::process::Command;
use std::time::Instant;

use crate::lab::World;

#[allow(clippy::print_stdout)] // printing the figures is a benchmark's whole point
async fn bench(domains: usize, jobs: &str) {
    let mut w = World::new();
    let names: Vec<String> = (0..domains).map(|i| format!("d{i}.example.test")).collect();
    let deployments = names.iter().map(|n| w.good_deployment(n)).collect();
    let run = w.start_all(deployments).await;
    let bin = assert_cmd::cargo::cargo_bin("mtasts");
    let timer = std::path::Path::new("/usr/bin/time").exists();
    let args: Vec<String> = ["check", "-q", "--jobs", jobs]
        .iter()
        .map(|s| s.to_string())
        .chain(names)
        .chain(run.args())
        .collect();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = if timer {
            Command::new("/usr/bin/time")
        } else {
            Command::new(&bin)
        };
        if timer {
            cmd.args(["-f", "%M"]).arg(&bin);
        }
        cmd.args(&args).output().expect("the binary runs")
    })
    .await
    .expect("join");
    let elapsed = started.elapsed();
    let rss = String::from_utf8_lossy(&out.stderr)
        .trim()
        .lines()
        .last()
        .unwrap_or("?")
        .to_string();
    println!(
        "{domains:>4} domains, --jobs {jobs:>2}: {:>7.2} s, peak RSS {rss} KB, exit {:?}",
        elapsed.as_secs_f64(),
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(0), "every lab domain passes");
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

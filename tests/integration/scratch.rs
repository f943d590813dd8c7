use crate::lab::{Cert, Response, Smtp, Tlsa, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch_show() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    d.set_policy(Response::policy("version: STSv1\nmode: testing\nmx: mx1.example.test\nmx: mx3.example.test\nmax_age: 86400\n"));
    d.mx[0].addrs[1].smtp = Smtp::good().cert(Cert::expired());
    d.mx[1].addrs[0].smtp = Smtp::good().no_starttls();
    let run = w.start(d).await;
    let out = run.mtasts(&["check", "example.test"]).await;
    std::fs::write("/work/notes/sample-human.txt", &out.stdout).unwrap();
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.mx[0].tlsa = vec![Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: None,
    }];
    d.mx[1].addrs[0].smtp = Smtp::good().cert(Cert::expiring_in(9));
    let run = w.start(d).await;
    let out = run
        .mtasts(&["check", "example.test", "--format", "json"])
        .await;
    std::fs::write("/work/notes/sample.json", &out.stdout).unwrap();
    let out = run.mtasts(&["check", "example.test"]).await;
    std::fs::write("/work/notes/sample-good.txt", &out.stdout).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn scratch_bench_world() {
    let n: usize = std::env::var("BENCH_DOMAINS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut w = World::new();
    let ds: Vec<_> = (0..n)
        .map(|i| w.good_deployment(&format!("d{i}.example.test")))
        .collect();
    let run = w.start_all(ds).await;
    let mut args = run.args();
    args.retain(|a| a != "--timeout" && a != "2");
    std::fs::write("/work/notes/bench-args.txt", args.join("\n")).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
}

//! The DNS records: `_mta-sts` and `_smtp._tls` TXT, end to end through the lab's DNS.

use crate::lab::{Txt, World};
use crate::support::{audit, clean, fires, silent};

#[tokio::test]
async fn good_deployment_has_no_findings() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
    assert_eq!(report.enforce_ready, Some(true));
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
}

#[tokio::test]
async fn sts_txt_absent_fires() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-absent");
    assert!(f.message.contains("_mta-sts.example.test"), "{}", f.message);
    // Without the record senders never fetch the policy: its host is not judged.
    assert!(
        report.findings.iter().all(
            |f| !f.check.id().starts_with("sts-fetch") && !f.check.id().starts_with("sts-host")
        )
    );
    assert_eq!(report.enforce_ready, Some(false));
}

#[tokio::test]
async fn sts_txt_version_fires_and_replaces_absent() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec!["v=STSv2; id=1".into()];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-txt-version");
    silent(&report, "sts-txt-absent");
}

#[tokio::test]
async fn sts_txt_id_syntax_fires() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec!["v=STSv1; id=2024-01-01".into()];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "sts-txt-id-syntax");
    assert!(report.sts_record.is_none());
    assert_eq!(report.enforce_ready, Some(false));
}

#[tokio::test]
async fn sts_txt_split_strings_and_unrelated_records_stay_valid() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec![
        Txt::strings(&["v=STSv1; ", "id=20240101T000000"]),
        "google-site-verification=abc".into(),
    ];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    for id in [
        "sts-txt-absent",
        "sts-txt-version",
        "sts-txt-multiple",
        "sts-txt-field-syntax",
    ] {
        silent(&report, id);
    }
    assert_eq!(report.enforce_ready, Some(true));
}

#[tokio::test]
async fn tlsrpt_absent_fires() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt.clear();
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    fires(&report, "tlsrpt-absent");
    // TLS-RPT is advice, not a condition of delivery.
    assert_eq!(report.enforce_ready, Some(true));
}

#[tokio::test]
async fn tlsrpt_invalid_records_fire() {
    for (record, id) in [
        ("v=TLSRPTv1;", "tlsrpt-rua-missing"),
        ("v=TLSRPTv1", "tlsrpt-version"), // nothing after the version: discarded by the prefix filter
        (
            "v=TLSRPTv1; rua=http://reports.example.test/tlsrpt",
            "tlsrpt-rua-scheme",
        ),
        (
            "v=TSLRPTv1; rua=mailto:tlsrpt@example.test",
            "tlsrpt-version",
        ),
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.tlsrpt_txt = vec![record.into()];
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        fires(&report, id);
        silent(&report, "tlsrpt-absent");
        assert!(report.tlsrpt_record.is_none(), "{record}");
    }
}

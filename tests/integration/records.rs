//! The DNS records: `_mta-sts` and `_smtp._tls` TXT, end to end through the lab's DNS.

use mtasts::checks::Severity;
use mtasts::finding::Subject;

use crate::lab::{Txt, World};
use crate::support::{audit, clean, fires, silent, summary};

#[tokio::test]
async fn good_deployment_has_no_findings() {
    let mut w = World::new();
    let d = w.good_deployment("example.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
    assert_eq!(report.readiness.ready, Some(true));
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
    assert_eq!(report.readiness.ready, Some(false));
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
    assert_eq!(report.readiness.ready, Some(false));
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
    assert_eq!(report.readiness.ready, Some(true));
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
    assert_eq!(report.readiness.ready, Some(true));
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

#[tokio::test]
async fn sts_txt_multiple_fires_and_replaces_absent() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec![
        "v=STSv1; id=20240101T000000".into(),
        "v=STSv1; id=20250101T000000".into(),
    ];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-multiple");
    for id in ["id=20240101T000000", "id=20250101T000000"] {
        assert!(f.message.contains(id), "{}", f.message);
    }
    silent(&report, "sts-txt-absent");
    // Senders act as if there were no record at all.
    assert!(report.sts_record.is_none());
    assert_eq!(report.readiness.ready, Some(false));
}

#[tokio::test]
async fn sts_txt_multistring_fires_and_the_record_stays_valid() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec![Txt::strings(&["v=STSv1; id=2024", "0101T000000"])];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-multistring");
    assert_eq!(f.check.info().severity, Severity::Info);
    // The split falls inside the id, which is worth pointing at.
    assert!(f.message.contains("id=20240101T000000"), "{}", f.message);
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn sts_txt_other_records_fires_and_the_record_stays_valid() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.push("google-site-verification=abc".into());
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-other-records");
    assert!(
        f.message.contains("google-site-verification=abc"),
        "{}",
        f.message
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    assert!(report.sts_record.is_some());
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn sts_txt_cname_fires_and_the_record_is_read_through_it() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    d.zone
        .cname("_mta-sts.example.test", "_mta-sts.provider.test")
        .txt("_mta-sts.provider.test", &["v=STSv1; id=20240101T000000"]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-cname");
    assert_eq!(f.subject, Subject::StsRecord);
    assert!(
        f.message
            .contains("_mta-sts.example.test → _mta-sts.provider.test"),
        "{}",
        f.message
    );
    assert_eq!(
        report.sts_record.as_ref().map(|r| r.id.as_str()),
        Some("20240101T000000")
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    assert_eq!(report.readiness.ready, Some(true));
    // The policy still comes from mta-sts.DOMAIN, never from the CNAME's target.
    assert!(
        run.dns_queries()
            .iter()
            .all(|q| !q.name.ends_with("provider.test") || q.name == "_mta-sts.provider.test"),
        "{:?}",
        run.dns_queries()
    );
    assert_eq!(run.https_requests("192.0.2.80").len(), 1);
}

#[tokio::test]
async fn sts_txt_absent_fires_for_a_dangling_cname_and_names_it() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    d.zone.cname("_mta-sts.example.test", "_mta-sts.gone.test");
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-absent");
    assert!(f.message.contains("_mta-sts.gone.test"), "{}", f.message);
    assert!(f.message.contains("does not exist"), "{}", f.message);
    silent(&report, "dns-error");
    assert!(report.sts_record.is_none());
}

#[tokio::test]
async fn sts_txt_extension_fires_as_info_and_the_record_stays_valid() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt = vec!["v=STSv1; id=20240101T000000; report=yes".into()];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "sts-txt-extension");
    assert_eq!(f.check.info().severity, Severity::Info);
    assert!(f.message.contains("report"), "{}", f.message);
    assert_eq!(report.findings.len(), 1, "{:#?}", summary(&report));
    let record = report.sts_record.as_ref().expect("a usable record");
    assert_eq!(record.id, "20240101T000000");
    assert_eq!(
        record.extensions,
        vec![("report".to_string(), "yes".to_string())]
    );
    assert_eq!(report.readiness.ready, Some(true));
}

#[tokio::test]
async fn tlsrpt_multiple_fires_and_replaces_absent() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt = vec![
        "v=TLSRPTv1; rua=mailto:tlsrpt@example.test".into(),
        "v=TLSRPTv1; rua=https://reports.example.test/tlsrpt".into(),
    ];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    let f = fires(&report, "tlsrpt-multiple");
    assert_eq!(f.subject, Subject::TlsRptRecord);
    silent(&report, "tlsrpt-absent");
    silent(&report, "tlsrpt-wrong-name");
    assert!(report.tlsrpt_record.is_none());
}

#[tokio::test]
async fn tlsrpt_multiple_silent_for_several_uris_in_one_record() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.tlsrpt_txt =
        vec!["v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://reports.example.test/v1".into()];
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
    assert_eq!(
        report.tlsrpt_record.as_ref().map(|r| r.rua.clone()),
        Some(vec![
            "mailto:tlsrpt@example.test".to_string(),
            "https://reports.example.test/v1".to_string()
        ])
    );
}

#[tokio::test]
async fn tlsrpt_wrong_name_fires_for_each_usual_misplacement() {
    for name in [
        "_smtp_tls.example.test",
        "smtp._tls.example.test",
        "_smtp-tlsrpt.example.test",
        "_smtp._tls.example.test.example.test",
        "_smtp_tlsrpt.example.test",
        "_tlsrpt.example.test",
        "_smtp._tcp.example.test",
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.tlsrpt_txt.clear();
        d.zone
            .txt(name, &["v=TLSRPTv1; rua=mailto:tlsrpt@example.test"]);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "tlsrpt-wrong-name");
        assert_eq!(f.subject, Subject::TlsRptRecord, "{name}");
        assert!(f.message.contains(name), "{name}: {}", f.message);
        assert_eq!(
            f.hint(),
            format!(
                "Publish the record at _smtp._tls.example.test (and remove the one at {name}): senders look nowhere else."
            ),
            "{name}"
        );
        silent(&report, "tlsrpt-absent");
        assert!(report.tlsrpt_record.is_none(), "{name}");
    }
}

#[tokio::test]
async fn sts_txt_misplaced_fires_for_each_usual_misplacement() {
    for name in [
        "_mta-sts.example.test.example.test",
        "mta-sts.example.test",
        "_mta_sts.example.test",
    ] {
        let mut w = World::new();
        let mut d = w.good_deployment("example.test");
        d.sts_txt.clear();
        d.zone.txt(name, &["v=STSv1; id=20240101T000000"]);
        let run = w.start(d).await;
        let report = audit(&run, "example.test").await;
        let f = fires(&report, "sts-txt-misplaced");
        assert_eq!(f.subject, Subject::StsRecord, "{name}");
        assert!(f.message.contains(name), "{name}: {}", f.message);
        assert_eq!(
            f.hint(),
            format!(
                "Publish the record at _mta-sts.example.test (and remove the one at {name}): senders look nowhere else."
            ),
            "{name}"
        );
        silent(&report, "sts-txt-absent");
        assert!(report.sts_record.is_none(), "{name}");
    }
}

#[tokio::test]
async fn tlsrpt_wrong_name_silent_beside_a_correct_record() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.zone
        .txt(
            "_smtp_tls.example.test",
            &["v=TLSRPTv1; rua=mailto:old@example.test"],
        )
        .txt("smtp._tls.example.test", &["junk"])
        .txt("_mta-sts.example.test.example.test", &["v=STSv1; id=old"])
        .txt("mta-sts.example.test", &["v=spf1 -all"]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    clean(&report);
}

#[tokio::test]
async fn tlsrpt_wrong_name_silent_for_junk_at_a_wrong_name() {
    let mut w = World::new();
    let mut d = w.good_deployment("example.test");
    d.sts_txt.clear();
    d.tlsrpt_txt.clear();
    d.zone
        .txt("_smtp_tls.example.test", &["v=spf1 -all"])
        .txt("mta-sts.example.test", &["v=STSv1; id=not-an-id"]);
    let run = w.start(d).await;
    let report = audit(&run, "example.test").await;
    // The names were looked at, but nothing there would be a valid record.
    let asked = run.dns_queries();
    for name in ["_smtp_tls.example.test", "mta-sts.example.test"] {
        assert!(
            asked
                .iter()
                .any(|q| q.name == name && q.rtype == hickory_proto::rr::RecordType::TXT),
            "{name} was not looked up"
        );
    }
    fires(&report, "tlsrpt-absent");
    fires(&report, "sts-txt-absent");
    silent(&report, "tlsrpt-wrong-name");
    silent(&report, "sts-txt-misplaced");
}

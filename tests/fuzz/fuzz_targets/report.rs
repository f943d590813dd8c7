//! A TLS-RPT report input from a hostile sender (JSON, gzip, a mail message or an mbox,
//! sniffed from the bytes; the first byte picks the file name it is checked against):
//! reading never panics and stays within the decompression and parse caps (run with
//! `-rss_limit_mb=2048`), and summing the reports up and rendering the summary in every
//! format never panics and writes no control character but LF to the output (no format
//! uses TAB).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtasts::report::Style;
use mtasts::report::tlsrpt::{ReportFormat, render};
use mtasts::tlsrpt::{self, Summary};

const NAMES: [Option<&str>; 3] = [
    None,
    Some("report.json"),
    Some("mail.receiver.example!example.com!1700000000!1700086399!001.json.gz"),
];

const FORMATS: [ReportFormat; 5] = [
    ReportFormat::Human,
    ReportFormat::Json,
    ReportFormat::Jsonl,
    ReportFormat::Github,
    ReportFormat::Prometheus,
];

fuzz_target!(|data: &[u8]| {
    let Some((pick, input)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(*pick) % NAMES.len()];
    let mut builder = Summary::builder();
    builder.begin("fuzz/input");
    tlsrpt::read(input, name).for_each(|item| builder.add(item));
    let summary = builder.finish();
    let style = Style {
        color: false,
        verbose: true,
        width: Some(60),
    };
    for format in FORMATS {
        let mut out = Vec::new();
        render(&summary, format, style, &mut out).expect("writing to a Vec does not fail");
        let text = String::from_utf8_lossy(&out);
        if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
            panic!("{format:?} wrote the control character {c:?}:\n{text}");
        }
    }
});

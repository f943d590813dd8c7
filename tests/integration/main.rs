//! The one integration test binary: the lab, and the end-to-end tests of mtasts that run
//! inside it, one module per stage.

mod lab;
mod lab_selftest;
mod layers;
mod support;

mod action;
mod bench;
mod cli;
mod dns_stages;
mod formats;
mod hostile;
mod init;
mod lint;
mod many;
mod mx;
mod plan;
mod policy;
mod readme;
mod records;
mod report;
mod snapshots;
mod tls;
mod vantage;
mod verdicts;

//! The running tally of a run: what the exit code and the closing summary need, added up
//! as each domain is written. Nothing per domain is kept, so a list of millions costs no
//! more than a list of ten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::checks::{Check, Severity};
use crate::finding::Verdict;
use crate::judge::DomainReport;

/// Slowest MX addresses kept for the summary.
const SLOWEST_SHOWN: usize = 5;

/// What a run has found so far.
#[derive(Debug, Default)]
pub struct Tally {
    pub domains: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    /// Domains this network could not see at all (no DNS answers, port 25 blocked):
    /// neither passed nor failed.
    pub not_audited: usize,
    /// The worst severity of any finding.
    pub worst: Option<Severity>,
    /// Domains not enforce-ready (no, or unknown).
    pub not_ready: usize,
    /// Domains in which each check fired.
    checks: HashMap<Check, usize>,
    slowest: Vec<Slow>,
}

/// One MX address and how long its session took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slow {
    pub host: String,
    pub addr: IpAddr,
    pub took: Duration,
}

/// The findings that mean this network could not see what it needed.
pub const BLIND: [Check; 2] = [Check::VantageDnsUnreachable, Check::VantagePort25Blocked];

/// Whether this network could not see what the audit of the domain needed: neither a
/// pass nor a fail.
pub fn blind(report: &DomainReport) -> bool {
    report.findings.iter().any(|f| BLIND.contains(&f.check))
}

impl Tally {
    pub fn add(&mut self, report: &DomainReport) {
        self.domains += 1;
        match (blind(report), report.verdict) {
            (true, _) => self.not_audited += 1,
            (false, Verdict::Pass) => self.pass += 1,
            (false, Verdict::Warn) => self.warn += 1,
            (false, Verdict::Fail) => self.fail += 1,
        }
        let mut fired: Vec<Check> = report.findings.iter().map(|f| f.check).collect();
        fired.sort_by_key(|c| c.id());
        fired.dedup();
        for check in fired {
            *self.checks.entry(check).or_default() += 1;
            self.worst = self.worst.max(Some(check.info().severity));
        }
        if report.readiness.ready != Some(true) {
            self.not_ready += 1;
        }
        for host in &report.observations.mx_hosts {
            for probe in &host.probes {
                if let Some(addr) = probe.addr {
                    self.timed(&host.name, addr, probe.elapsed);
                }
            }
        }
    }

    /// Keeps the slowest distinct addresses (a shared MX host counts once).
    fn timed(&mut self, host: &str, addr: IpAddr, took: Duration) {
        if self
            .slowest
            .iter()
            .any(|s| s.host == host && s.addr == addr)
        {
            return;
        }
        self.slowest.push(Slow {
            host: host.to_string(),
            addr,
            took,
        });
        self.slowest.sort_by_key(|s| std::cmp::Reverse(s.took));
        self.slowest.truncate(SLOWEST_SHOWN);
    }

    /// Whether some domain could not be audited from this network.
    pub fn blind(&self) -> bool {
        self.not_audited > 0
    }

    /// The `n` checks that fired in the most domains, most first (ties by id).
    pub fn most_common(&self, n: usize) -> Vec<(Check, usize)> {
        let mut counts: Vec<(Check, usize)> = self.checks.iter().map(|(c, n)| (*c, *n)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id().cmp(b.0.id())));
        counts.truncate(n);
        counts
    }

    pub fn slowest(&self) -> &[Slow] {
        &self.slowest
    }
}

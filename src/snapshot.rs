//! A domain's MTA-STS state as senders see it, kept small: the `id`, the policy they would
//! cache, the MX set and the certificates presented. Two snapshots (live and planned, or
//! last run and this one) are compared here, once, for the transition and drift judges.
//! Pure.

use std::net::IpAddr;

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::judge::DomainReport;
use crate::names;
use crate::observe::{DnsAnswer, PolicySource};
use crate::policy::Mode;

/// What senders see of one domain at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The `id` of the usable `_mta-sts` record; None when senders find none.
    pub id: Option<String>,
    /// The policy body senders would read; None when there is none they would apply.
    pub policy: Option<PolicyState>,
    /// The MX hosts (normalized, sorted, the null MX left out).
    pub mx: Vec<String>,
    /// The leaf certificate each policy host and MX address presented.
    pub certs: Vec<CertState>,
    /// When it was seen, in unix seconds (RFC 3339 in the state file).
    #[serde(default, with = "crate::dates::as_rfc3339::option")]
    pub seen: Option<i64>,
}

/// A policy as senders apply it, with the body it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    /// Lower-case hex SHA-256 of the body as served.
    pub sha256: String,
    /// The body as served (invalid UTF-8 replaced), for people comparing by eye.
    pub text: String,
    pub mode: Mode,
    pub max_age: u64,
    /// The `mx` patterns as written, in order.
    pub mx: Vec<String>,
}

/// The leaf certificate one address of a host presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertState {
    pub host: String,
    pub addr: IpAddr,
    /// Lower-case hex SHA-256 of the DER.
    pub sha256: String,
    /// Unix seconds (RFC 3339 in the state file).
    #[serde(with = "crate::dates::as_rfc3339")]
    pub not_after: i64,
}

impl PolicyState {
    /// What senders apply of it.
    pub fn applied(&self) -> crate::policy::Applied<'_> {
        crate::policy::Applied {
            mode: self.mode,
            max_age: self.max_age,
            mx: &self.mx,
        }
    }

    /// Whether `host` is covered by one of the patterns (RFC 8461 §4.1).
    pub fn covers(&self, host: &str) -> bool {
        self.mx.iter().any(|p| names::matches(p, host))
    }

    /// Whether senders would act differently under `other`: mode, max_age or the set of
    /// patterns. Line endings, extension fields and the order of lines
    /// change nothing for them.
    pub fn applies_like(&self, other: &PolicyState) -> bool {
        crate::policy::differences(self.applied(), other.applied()).is_empty()
    }
}

impl Snapshot {
    /// The snapshot of a judged domain.
    pub fn of(report: &DomainReport) -> Snapshot {
        let obs = &report.observations;
        let body = match &obs.policy {
            PolicySource::Draft { body, .. } => Some(body.as_slice()),
            PolicySource::Fetched(f) => report
                .served
                .and_then(|i| f.fetches.get(i))
                .and_then(|f| f.result.as_ref().ok())
                .map(|r| r.body.as_slice()),
        };
        let policy = report
            .policy
            .as_ref()
            .filter(|p| p.valid)
            .and_then(|p| p.policy.as_ref())
            .zip(body)
            .map(|(p, body)| PolicyState {
                sha256: crate::cert::hex(digest::digest(&digest::SHA256, body).as_ref()),
                text: String::from_utf8_lossy(body).into_owned(),
                mode: p.mode,
                max_age: p.max_age,
                mx: p.mx.clone(),
            });
        let mx = obs.exchanges();
        let mut certs = Vec::new();
        if let PolicySource::Fetched(f) = &obs.policy {
            let host = format!("mta-sts.{}", obs.domain);
            for (fetch, judged) in f.fetches.iter().zip(&report.fetches) {
                if let Some(leaf) = judged.certificates.first() {
                    certs.push(cert(&host, fetch.addr, leaf));
                }
            }
        }
        for (host, judged) in obs.mx_hosts.iter().zip(&report.mx) {
            for address in &judged.addresses {
                if let Some(leaf) = address.certificates.first() {
                    certs.push(cert(&names::normalize(&host.name), address.addr, leaf));
                }
            }
        }
        Snapshot {
            id: report.sts_record.as_ref().map(|r| r.id.clone()),
            policy,
            mx: mx.into_iter().collect(),
            certs,
            seen: Some(report.judged_at),
        }
    }

    /// The snapshot of a judged domain whose record and MX lookups both completed: when
    /// DNS failed, the snapshot would say "no record, no MX", which is not what changed.
    pub fn observed(report: &DomainReport) -> Option<Snapshot> {
        let obs = &report.observations;
        let done = !matches!(obs.sts.answer, DnsAnswer::Failed(_))
            && !matches!(obs.mx.answer, DnsAnswer::Failed(_));
        done.then(|| Snapshot::of(report))
    }

    /// This snapshot, with what it could not see taken from `before`: the policy when the
    /// record is there but the fetch failed, and the certificates of the addresses that
    /// were not reached this time; so that one bad run does not hide a change from the next.
    pub fn carry(mut self, before: &Snapshot) -> Snapshot {
        if self.id.is_some() && self.policy.is_none() {
            self.policy = before.policy.clone();
        }
        let missing: Vec<CertState> = before
            .certs
            .iter()
            .filter(|old| {
                !self
                    .certs
                    .iter()
                    .any(|c| c.host == old.host && c.addr == old.addr)
            })
            .filter(|old| old.host.starts_with("mta-sts.") || self.mx.contains(&old.host))
            .cloned()
            .collect();
        self.certs.extend(missing);
        self
    }

    /// The policy senders may hold: a usable record and a policy they would apply.
    pub fn cached_policy(&self) -> Option<&PolicyState> {
        self.id.as_ref().and(self.policy.as_ref())
    }
}

fn cert(host: &str, addr: IpAddr, leaf: &crate::judge::Certificate) -> CertState {
    CertState {
        host: host.to_string(),
        addr,
        sha256: leaf.summary.sha256.clone(),
        not_after: leaf.summary.not_after,
    }
}

/// What differs from one snapshot (`before`) to the next (`after`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes<'a> {
    /// Both have an id, and it differs.
    pub id_changed: bool,
    /// Both have a policy, and senders would apply them differently.
    pub policy_changed: bool,
    /// Both have a policy, and the bodies are byte for byte the same.
    pub body_same: bool,
    /// The mode, when both have a policy and it differs.
    pub mode: Option<(Mode, Mode)>,
    /// The max_age, when both have a policy and it differs.
    pub max_age: Option<(u64, u64)>,
    /// MX hosts in `after` and not in `before`, and the other way round.
    pub mx_added: Vec<&'a str>,
    pub mx_removed: Vec<&'a str>,
    /// Certificates at the same host and address with another fingerprint: (before, after).
    pub certs_replaced: Vec<(&'a CertState, &'a CertState)>,
}

impl Changes<'_> {
    /// Whether the MX set changed.
    pub fn mx_changed(&self) -> bool {
        !self.mx_added.is_empty() || !self.mx_removed.is_empty()
    }
}

/// Compares two snapshots of one domain.
pub fn compare<'a>(before: &'a Snapshot, after: &'a Snapshot) -> Changes<'a> {
    let mut changes = Changes {
        id_changed: matches!((&before.id, &after.id), (Some(a), Some(b)) if a != b),
        mx_added: missing(&after.mx, &before.mx),
        mx_removed: missing(&before.mx, &after.mx),
        ..Changes::default()
    };
    if let (Some(a), Some(b)) = (&before.policy, &after.policy) {
        changes.policy_changed = !a.applies_like(b);
        changes.body_same = a.sha256 == b.sha256;
        changes.mode = (a.mode != b.mode).then_some((a.mode, b.mode));
        changes.max_age = (a.max_age != b.max_age).then_some((a.max_age, b.max_age));
    }
    for new in &after.certs {
        let old = before
            .certs
            .iter()
            .find(|old| old.host == new.host && old.addr == new.addr);
        if let Some(old) = old.filter(|old| old.sha256 != new.sha256) {
            changes.certs_replaced.push((old, new));
        }
    }
    changes
}

/// The names of `these` that are not in `those`.
fn missing<'a>(these: &'a [String], those: &[String]) -> Vec<&'a str> {
    these
        .iter()
        .filter(|h| !those.contains(h))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A snapshot of an enforce deployment with these MX hosts, all listed in the policy.
    pub fn snapshot(id: &str, mx: &[&str]) -> Snapshot {
        let text: String = mx.iter().map(|m| format!("mx: {m}\n")).collect();
        Snapshot {
            id: Some(id.to_string()),
            policy: Some(PolicyState {
                sha256: crate::cert::hex(digest::digest(&digest::SHA256, text.as_bytes()).as_ref()),
                text,
                mode: Mode::Enforce,
                max_age: 604_800,
                mx: mx.iter().map(|m| m.to_string()).collect(),
            }),
            mx: mx.iter().map(|m| m.to_string()).collect(),
            certs: vec![CertState {
                host: "mx1.example.com".into(),
                addr: "192.0.2.1".parse().expect("an address"),
                sha256: "aa".into(),
                not_after: 2_000_000_000,
            }],
            seen: None,
        }
    }

    #[test]
    fn the_same_snapshot_has_no_changes() {
        let a = snapshot("1", &["mx1.example.com"]);
        let changes = compare(&a, &a);
        assert_eq!(
            changes,
            Changes {
                body_same: true,
                ..Changes::default()
            }
        );
        assert!(!changes.mx_changed());
    }

    #[test]
    fn ids_policies_modes_and_max_ages_are_compared() {
        let before = snapshot("1", &["mx1.example.com"]);
        let mut after = snapshot("2", &["mx1.example.com", "mx2.example.com"]);
        let policy = after.policy.as_mut().expect("a policy");
        policy.mode = Mode::Testing;
        policy.max_age = 86_400;
        let changes = compare(&before, &after);
        assert!(changes.id_changed && changes.policy_changed && !changes.body_same);
        assert_eq!(changes.mode, Some((Mode::Enforce, Mode::Testing)));
        assert_eq!(changes.max_age, Some((604_800, 86_400)));
        assert_eq!(changes.mx_added, ["mx2.example.com"]);
        assert!(changes.mx_removed.is_empty() && changes.mx_changed());
    }

    #[test]
    fn a_body_rewritten_without_changing_what_senders_apply_is_not_a_policy_change() {
        let before = snapshot("1", &["mx1.example.com", "mx2.example.com"]);
        let mut after = before.clone();
        let policy = after.policy.as_mut().expect("a policy");
        policy.mx = vec!["MX2.example.com".into(), "mx1.example.com".into()];
        policy.sha256 = "other".into();
        let changes = compare(&before, &after);
        assert!(!changes.policy_changed && !changes.body_same);
    }

    #[test]
    fn a_missing_id_or_policy_is_no_change_of_either() {
        let before = snapshot("1", &["mx1.example.com"]);
        let after = Snapshot {
            id: None,
            policy: None,
            ..before.clone()
        };
        let changes = compare(&before, &after);
        assert!(!changes.id_changed && !changes.policy_changed && changes.mode.is_none());
        assert_eq!(after.cached_policy(), None);
    }

    #[test]
    fn a_certificate_replaced_at_the_same_address_is_seen() {
        let before = snapshot("1", &["mx1.example.com"]);
        let mut after = before.clone();
        after.certs[0].sha256 = "bb".into();
        after.certs.push(CertState {
            host: "mx2.example.com".into(),
            ..after.certs[0].clone()
        });
        let changes = compare(&before, &after);
        assert_eq!(
            changes.certs_replaced,
            [(&before.certs[0], &after.certs[0])]
        );
    }

    #[test]
    fn what_a_run_could_not_see_is_carried_from_the_last() {
        let before = snapshot("1", &["mx1.example.com"]);
        let unreached = Snapshot {
            policy: None,
            certs: vec![],
            ..before.clone()
        };
        assert_eq!(unreached.carry(&before), before);
        // A record removed takes the policy with it; a host gone takes its certificate.
        let gone = Snapshot {
            id: None,
            policy: None,
            mx: vec!["mx2.example.com".into()],
            certs: vec![],
            seen: None,
        };
        assert_eq!(gone.clone().carry(&before), gone);
    }

    #[test]
    fn coverage_follows_the_wildcard_rule() {
        let s = snapshot("1", &["*.example.com"]);
        let policy = s.policy.as_ref().expect("a policy");
        assert!(policy.covers("mx3.example.com"));
        assert!(!policy.covers("a.b.example.com"));
        assert!(!policy.covers("mx.example.net"));
    }
}

//! Plan mode: the planned state (the zones and the draft policy) judged against what is
//! live now, because senders that cached the live policy keep applying it for up to its
//! max_age (RFC 8461 §5.1). Pure.

use crate::checks::Check;
use crate::dates;
use crate::finding::{Finding, Subject};
use crate::judge::Readiness;
use crate::policy::Mode;
use crate::snapshot::{self, PolicyState, Snapshot};

/// The findings of the change from `live` to `planned`, at `now`; `readiness` is the
/// planned state's.
pub fn judge(live: &Snapshot, planned: &Snapshot, readiness: &Readiness, now: i64) -> Vec<Finding> {
    let mut findings = Vec::new();
    let cached = live.cached_policy();
    if let Some(cached) = cached {
        uncovered(live, planned, cached, now, &mut findings);
    }
    if let Some(new) = &planned.policy {
        removed(live, planned, new, &mut findings);
        enforce_switch(cached, new, readiness, &mut findings);
    }
    if let (Some(cached), Some(new)) = (cached, &planned.policy) {
        ids(live, planned, cached, new, now, &mut findings);
        if new.max_age < cached.max_age {
            findings.push(Finding::new(
                Check::PlanMaxAgeShrunk,
                Subject::Policy { addr: None },
                format!(
                    "max_age shrinks from {} to {}: senders that cached the live policy hold it until {}",
                    cached.max_age,
                    new.max_age,
                    until(now, cached.max_age)
                ),
            ));
        }
    }
    findings
}

/// Planned MX hosts that the live policy senders cached does not cover.
fn uncovered(
    live: &Snapshot,
    planned: &Snapshot,
    cached: &PolicyState,
    now: i64,
    findings: &mut Vec<Finding>,
) {
    let check = match cached.mode {
        Mode::Enforce => Check::PlanMxUncovered,
        Mode::Testing => Check::PlanMxUncoveredTesting,
        Mode::None => return,
    };
    let date = until(now, cached.max_age);
    for host in planned.mx.iter().filter(|h| !cached.covers(h)) {
        let which = if live.mx.contains(host) {
            "MX"
        } else {
            "new MX"
        };
        let what = match cached.mode {
            Mode::Enforce => "refuse mail to it",
            _ => "report every session with it as a failure",
        };
        findings.push(
            Finding::new(
                check,
                Subject::Mx {
                    host: host.clone(),
                    addr: None,
                },
                format!(
                    "{which} {host} is not in the live policy; senders that cached it (max_age {}) {what} until {date}",
                    cached.max_age
                ),
            )
            .with_fix("Publish the policy first, change the id, wait max_age, then change MX."),
        );
    }
}

/// MX hosts that DNS still gives, that the live policy covers and the planned enforce
/// policy no longer does.
fn removed(live: &Snapshot, planned: &Snapshot, new: &PolicyState, findings: &mut Vec<Finding>) {
    if new.mode != Mode::Enforce {
        return;
    }
    let Some(old) = &live.policy else {
        return;
    };
    for host in planned
        .mx
        .iter()
        .filter(|h| old.covers(h) && !new.covers(h))
    {
        findings.push(Finding::new(
            Check::PlanMxRemovedFromPolicy,
            Subject::Mx {
                host: host.clone(),
                addr: None,
            },
            format!("{host} is dropped from the policy while DNS still gives it as an MX: senders that fetch the new policy refuse mail to it"),
        ));
    }
}

/// A switch to enforce while the planned state has MX hosts senders would refuse.
fn enforce_switch(
    cached: Option<&PolicyState>,
    new: &PolicyState,
    readiness: &Readiness,
    findings: &mut Vec<Finding>,
) {
    let switching = new.mode == Mode::Enforce && cached.is_none_or(|c| c.mode != Mode::Enforce);
    if switching && readiness.ready == Some(false) {
        findings.push(Finding::new(
            Check::PlanEnforceMxFailing,
            Subject::Policy { addr: None },
            format!(
                "the plan switches to enforce while senders would refuse: {}",
                readiness.because(3)
            ),
        ));
    }
}

/// The id against the policy: changed without a new id, or a new id for the same policy.
fn ids(
    live: &Snapshot,
    planned: &Snapshot,
    cached: &PolicyState,
    new: &PolicyState,
    now: i64,
    findings: &mut Vec<Finding>,
) {
    let changes = snapshot::compare(live, planned);
    let same_id = live.id.is_some() && live.id == planned.id;
    if same_id && changes.policy_changed {
        findings.push(Finding::new(
            Check::PlanPolicyIdUnchanged,
            Subject::StsRecord,
            format!(
                "the policy changes ({}) but the id stays {}: senders that cached the live policy keep it until {}",
                differences(cached, new),
                live.id.as_deref().unwrap_or_default(),
                until(now, cached.max_age)
            ),
        ));
    }
    if changes.id_changed && !changes.policy_changed {
        findings.push(Finding::new(
            Check::PlanIdChangedPolicySame,
            Subject::StsRecord,
            format!(
                "the id changes from {} to {} while the policy applies as before",
                live.id.as_deref().unwrap_or_default(),
                planned.id.as_deref().unwrap_or_default()
            ),
        ));
    }
}

/// What senders would apply differently, in a few words: "mode enforce → testing; mx
/// added: mx3.example.com".
pub fn differences(old: &PolicyState, new: &PolicyState) -> String {
    crate::policy::differences(old.applied(), new.applied()).join("; ")
}

/// The date a copy cached now expires: `now` plus `max_age`.
pub fn until(now: i64, max_age: u64) -> String {
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    dates::rfc3339(now.saturating_add(max_age))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tests::snapshot;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn ready() -> Readiness {
        Readiness {
            ready: Some(true),
            reasons: vec![],
        }
    }

    fn ids_of(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.check.id()).collect()
    }

    #[test]
    fn an_unchanged_plan_is_silent() {
        let live = snapshot("1", &["mx1.example.com", "mx2.example.com"]);
        assert!(judge(&live, &live, &ready(), NOW).is_empty());
    }

    #[test]
    fn a_new_mx_the_live_enforce_policy_lacks_is_refused_until_max_age() {
        let live = snapshot("1", &["mx1.example.com"]);
        let mut planned = snapshot("2", &["mx1.example.com", "mx3.example.com"]);
        planned.mx = vec!["mx1.example.com".into(), "mx3.example.com".into()];
        let findings = judge(&live, &planned, &ready(), NOW);
        assert_eq!(ids_of(&findings), ["plan-mx-uncovered"]);
        assert_eq!(
            findings[0].message,
            "new MX mx3.example.com is not in the live policy; senders that cached it (max_age 604800) refuse mail to it until 2026-01-08T00:00:00Z"
        );
        assert_eq!(
            findings[0].hint(),
            "Publish the policy first, change the id, wait max_age, then change MX."
        );
    }

    #[test]
    fn under_a_testing_policy_the_new_mx_is_a_warning_and_under_none_nothing() {
        let mut live = snapshot("1", &["mx1.example.com"]);
        let mut planned = live.clone();
        planned.mx.push("mx3.example.com".into());
        live.policy.as_mut().expect("a policy").mode = Mode::Testing;
        planned.policy = live.policy.clone();
        assert_eq!(
            ids_of(&judge(&live, &planned, &ready(), NOW)),
            ["plan-mx-uncovered-testing"]
        );
        live.policy.as_mut().expect("a policy").mode = Mode::None;
        planned.policy = live.policy.clone();
        assert!(judge(&live, &planned, &ready(), NOW).is_empty());
    }

    #[test]
    fn without_a_live_record_senders_cached_nothing() {
        let mut live = snapshot("1", &["mx1.example.com"]);
        live.id = None;
        let planned = snapshot("1", &["mx1.example.com", "mx3.example.com"]);
        assert!(judge(&live, &planned, &ready(), NOW).is_empty());
    }

    #[test]
    fn a_policy_change_without_a_new_id_is_an_error() {
        let live = snapshot("1", &["mx1.example.com"]);
        let mut planned = live.clone();
        let policy = planned.policy.as_mut().expect("a policy");
        policy.mode = Mode::Testing;
        policy.mx.push("mx9.example.com".into());
        let findings = judge(&live, &planned, &ready(), NOW);
        assert_eq!(ids_of(&findings), ["plan-policy-id-unchanged"]);
        assert_eq!(
            findings[0].message,
            "the policy changes (mode enforce → testing; mx added: mx9.example.com) but the id stays 1: senders that cached the live policy keep it until 2026-01-08T00:00:00Z"
        );
        planned.id = Some("2".into());
        assert!(judge(&live, &planned, &ready(), NOW).is_empty());
    }

    #[test]
    fn a_new_id_for_the_same_policy_is_info() {
        let live = snapshot("1", &["mx1.example.com"]);
        let mut planned = live.clone();
        planned.id = Some("2".into());
        let findings = judge(&live, &planned, &ready(), NOW);
        assert_eq!(ids_of(&findings), ["plan-id-changed-policy-same"]);
        assert_eq!(findings[0].severity(), crate::checks::Severity::Info);
    }

    #[test]
    fn an_mx_dropped_from_the_enforce_policy_while_in_dns_is_an_error() {
        let live = snapshot("1", &["mx1.example.com", "mx2.example.com"]);
        let mut planned = snapshot("2", &["mx1.example.com"]);
        planned.mx = live.mx.clone();
        let ids = ids_of(&judge(&live, &planned, &ready(), NOW));
        assert_eq!(ids, ["plan-mx-removed-from-policy"]);
        // Once DNS no longer gives it, dropping it is right.
        planned.mx = vec!["mx1.example.com".into()];
        assert!(judge(&live, &planned, &ready(), NOW).is_empty());
    }

    #[test]
    fn switching_to_enforce_while_an_mx_fails_is_an_error() {
        let mut live = snapshot("1", &["mx1.example.com"]);
        live.policy.as_mut().expect("a policy").mode = Mode::Testing;
        let planned = snapshot("2", &["mx1.example.com"]);
        let failing = Readiness {
            ready: Some(false),
            reasons: vec![],
        };
        let ids = ids_of(&judge(&live, &planned, &failing, NOW));
        assert_eq!(ids, ["plan-enforce-mx-failing"]);
        assert!(judge(&live, &planned, &ready(), NOW).is_empty());
        // Already in enforce: the audit's own enforce findings say it.
        assert!(judge(&planned, &planned, &failing, NOW).is_empty());
    }

    #[test]
    fn a_shrinking_max_age_says_until_when_the_old_one_binds() {
        let live = snapshot("1", &["mx1.example.com"]);
        let mut planned = snapshot("2", &["mx1.example.com"]);
        planned.policy.as_mut().expect("a policy").max_age = 86_400;
        let findings = judge(&live, &planned, &ready(), NOW);
        assert_eq!(ids_of(&findings), ["plan-max-age-shrunk"]);
        assert!(
            findings[0]
                .message
                .ends_with("hold it until 2026-01-08T00:00:00Z"),
            "{}",
            findings[0].message
        );
    }
}

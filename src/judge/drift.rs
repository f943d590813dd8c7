//! Drift between runs (`--state`): what changed since the last run that senders would
//! notice, or that an admin would want to hear of. Pure.

use crate::checks::Check;
use crate::dates;
use crate::finding::{Finding, Subject};
use crate::policy::Mode;
use crate::snapshot::{self, CertState, Snapshot};

use super::transition::{differences, until};

/// The findings of the change from the last run (`before`) to this one (`now_seen`), at
/// `now`; certificates within `expiry_warning_days` count as nearing expiry.
pub fn judge(
    before: &Snapshot,
    now_seen: &Snapshot,
    now: i64,
    expiry_warning_days: u32,
) -> Vec<Finding> {
    let changes = snapshot::compare(before, now_seen);
    let mut findings = Vec::new();
    let same_id = before.id.is_some() && before.id == now_seen.id;
    if let (Some(old), Some(new)) = (&before.policy, &now_seen.policy) {
        if same_id && changes.policy_changed {
            findings.push(Finding::new(
                Check::DriftPolicyIdUnchanged,
                Subject::StsRecord,
                format!(
                    "the policy changed since the last run ({}) but the id is still {}: senders that cached the earlier policy keep it until as late as {}",
                    differences(old, new),
                    now_seen.id.as_deref().unwrap_or_default(),
                    until(now, old.max_age)
                ),
            ));
        }
        if let Some((from, to)) = changes.mode {
            findings.push(Finding::new(
                mode_change(from, to),
                Subject::Policy { addr: None },
                format!(
                    "the mode changed from {} to {} since the last run",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
    }
    if changes.id_changed && !changes.policy_changed && before.policy.is_some() {
        findings.push(Finding::new(
            Check::DriftIdChangedPolicySame,
            Subject::StsRecord,
            format!(
                "the id changed from {} to {} since the last run while the policy applies as before",
                before.id.as_deref().unwrap_or_default(),
                now_seen.id.as_deref().unwrap_or_default()
            ),
        ));
    }
    if changes.mx_changed() {
        findings.push(mx_changed(&changes, now_seen));
    }
    for (old, new) in &changes.certs_replaced {
        findings.push(Finding::new(
            Check::DriftCertReplaced,
            cert_subject(new),
            format!(
                "the certificate of {} at {} was replaced since the last run (SHA-256 {} → {}, now valid until {})",
                new.host,
                new.addr,
                short(&old.sha256),
                short(&new.sha256),
                dates::date(new.not_after)
            ),
        ));
    }
    let window = i64::from(expiry_warning_days);
    for new in &now_seen.certs {
        let last = before
            .certs
            .iter()
            .find(|old| old.host == new.host && old.addr == new.addr && old.sha256 == new.sha256);
        let Some(last) = last else { continue };
        let (then_left, now_left) = (
            dates::days_left(last.not_after, last_seen(before, now)),
            dates::days_left(new.not_after, now),
        );
        if then_left >= window && (0..window).contains(&now_left) {
            findings.push(Finding::new(
                Check::DriftCertExpiring,
                cert_subject(new),
                format!(
                    "the certificate of {} at {} expires {} ({}); it had {} left at the last run",
                    new.host,
                    new.addr,
                    dates::relative(new.not_after, now),
                    dates::date(new.not_after),
                    dates::days(then_left)
                ),
            ));
        }
    }
    findings
}

/// A mode that protects less than before (enforce, then testing, then none) is lost
/// protection; a mode that protects more is news.
fn mode_change(from: Mode, to: Mode) -> Check {
    let strength = |m: Mode| match m {
        Mode::Enforce => 2,
        Mode::Testing => 1,
        Mode::None => 0,
    };
    if strength(to) < strength(from) {
        Check::DriftModeDowngraded
    } else {
        Check::DriftModeChanged
    }
}

/// When the last run was: the state keeps it per domain; without it, a day ago.
fn last_seen(before: &Snapshot, now: i64) -> i64 {
    before.seen.unwrap_or(now - dates::DAY)
}

fn mx_changed(changes: &snapshot::Changes<'_>, now_seen: &Snapshot) -> Finding {
    let mut parts = Vec::new();
    if !changes.mx_added.is_empty() {
        parts.push(format!("added {}", changes.mx_added.join(", ")));
    }
    if !changes.mx_removed.is_empty() {
        parts.push(format!("removed {}", changes.mx_removed.join(", ")));
    }
    let coverage = match &now_seen.policy {
        Some(p) => {
            let uncovered: Vec<&str> = now_seen
                .mx
                .iter()
                .filter(|h| !p.covers(h))
                .map(String::as_str)
                .collect();
            if uncovered.is_empty() {
                "the policy still covers every MX host".to_string()
            } else {
                format!("the policy does not cover {}", uncovered.join(", "))
            }
        }
        None => "there is no policy to cover them".to_string(),
    };
    Finding::new(
        Check::DriftMxChanged,
        Subject::MxRecords,
        format!(
            "the MX set changed since the last run ({}): {coverage}",
            parts.join("; ")
        ),
    )
}

fn cert_subject(cert: &CertState) -> Subject {
    if cert.host.starts_with("mta-sts.") {
        Subject::Policy {
            addr: Some(cert.addr),
        }
    } else {
        Subject::Mx {
            host: cert.host.clone(),
            addr: Some(cert.addr),
        }
    }
}

/// The first 16 hex digits of a fingerprint: enough to tell two apart by eye.
fn short(sha256: &str) -> &str {
    sha256.get(..16).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::tests::snapshot;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn ids_of(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.check.id()).collect()
    }

    #[test]
    fn an_unchanged_domain_is_silent() {
        let s = snapshot("1", &["mx1.example.com"]);
        assert!(judge(&s, &s, NOW, 14).is_empty());
    }

    #[test]
    fn a_policy_changed_without_a_new_id_is_an_error_and_the_mode_change_is_said() {
        let before = snapshot("1", &["mx1.example.com"]);
        let mut after = before.clone();
        after.policy.as_mut().expect("a policy").mode = Mode::Testing;
        let findings = judge(&before, &after, NOW, 14);
        assert_eq!(
            ids_of(&findings),
            ["drift-policy-id-unchanged", "drift-mode-downgraded"]
        );
        assert_eq!(
            findings[0].message,
            "the policy changed since the last run (mode enforce → testing) but the id is still 1: senders that cached the earlier policy keep it until as late as 2026-01-08T00:00:00Z"
        );
        after.id = Some("2".into());
        assert_eq!(
            ids_of(&judge(&before, &after, NOW, 14)),
            ["drift-mode-downgraded"]
        );
        // Back up to enforce: protection restored, which is news, not risk.
        assert_eq!(
            ids_of(&judge(&after, &before, NOW, 14)),
            ["drift-mode-changed"]
        );
    }

    #[test]
    fn a_new_id_for_the_same_policy_is_info() {
        let before = snapshot("1", &["mx1.example.com"]);
        let mut after = before.clone();
        after.id = Some("2".into());
        assert_eq!(
            ids_of(&judge(&before, &after, NOW, 14)),
            ["drift-id-changed-policy-same"]
        );
    }

    #[test]
    fn an_mx_change_says_whether_the_policy_still_covers_the_set() {
        let before = snapshot("1", &["mx1.example.com"]);
        let mut after = before.clone();
        after.mx = vec!["mx2.example.com".into()];
        let findings = judge(&before, &after, NOW, 14);
        assert_eq!(ids_of(&findings), ["drift-mx-changed"]);
        assert_eq!(
            findings[0].message,
            "the MX set changed since the last run (added mx2.example.com; removed mx1.example.com): the policy does not cover mx2.example.com"
        );
    }

    #[test]
    fn a_replaced_certificate_and_one_nearing_expiry_are_reported() {
        let mut before = snapshot("1", &["mx1.example.com"]);
        before.seen = Some(NOW - 7 * dates::DAY);
        let mut after = before.clone();
        after.certs[0].sha256 = "bb".repeat(32);
        let findings = judge(&before, &after, NOW, 14);
        assert_eq!(ids_of(&findings), ["drift-cert-replaced"]);
        // The same certificate, 20 days left a week ago and 13 now.
        before.certs[0].not_after = NOW + 13 * dates::DAY + 5;
        let findings = judge(&before, &before, NOW, 14);
        assert_eq!(ids_of(&findings), ["drift-cert-expiring"]);
        assert!(
            findings[0]
                .message
                .ends_with("it had 20 days left at the last run"),
            "{}",
            findings[0].message
        );
        // Already in the window last time: nothing new.
        before.seen = Some(NOW - dates::DAY);
        before.certs[0].not_after = NOW + 10 * dates::DAY;
        assert!(judge(&before, &before, NOW, 14).is_empty());
    }
}

//! The run over many domains: domains in as a stream, judged reports out as each domain
//! finishes, `jobs` at once, so that a slow domain holds up no other. Every domain shares
//! the one [`Net`] the command built.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::cert::Memo;
use crate::judge::{self, Context, DomainReport};
use crate::net::Net;
use crate::observe::Observations;
use crate::snapshot::Snapshot;

/// What the network says about one domain, with what the run knows of its vantage point.
pub struct Observed {
    pub obs: Observations,
    /// See [`Context::dns_silent`].
    pub dns_silent: Option<String>,
    /// See [`Context::port25_reached`].
    pub port25_reached: bool,
}

impl Observed {
    /// What judging these observations needs, at `now`.
    pub fn context<'a>(
        &self,
        net: &Net,
        certs: &'a Memo,
        now: i64,
        expiry_warning_days: u32,
    ) -> Context<'a> {
        Context {
            now,
            certs,
            expiry_warning_days,
            timeout: net.config().timeout,
            dns_silent: self.dns_silent.clone(),
            port25_reached: self.port25_reached,
        }
    }
}

/// Gathers what the network says about `domain`, and what the run knows of its vantage
/// point.
pub async fn observe(net: &Net, domain: &str) -> Observed {
    // The resolver is asked once for the run whether it answers at all, beside the first
    // domain's own lookups, so that it costs no time when DNS works.
    let (obs, dns_silent) = futures_util::join!(net.gather(domain), net.dns_silent());
    let port25_reached = judge::reached_port25(&obs) || !obs.mx_checked || net.port25_open().await;
    Observed {
        obs,
        dns_silent,
        port25_reached,
    }
}

/// Gathers what the network says about `domain` and judges it.
async fn audit_one(
    net: &Net,
    certs: &Memo,
    domain: &str,
    expiry_warning_days: u32,
) -> DomainReport {
    // In plan mode, what is live now is gathered beside the planned state: the change is
    // judged against it.
    let (observed, live) = futures_util::join!(observe(net, domain), net.gather_live(domain));
    let ctx = observed.context(net, certs, crate::unix_now(), expiry_warning_days);
    let mut report = judge::judge(observed.obs, &ctx);
    if let Some(live) = live {
        let live = judge::judge(live, &ctx);
        judge::transition(&mut report, &Snapshot::of(&live));
    }
    report
}

/// Audits `domains` (each with its place in the input), `jobs` at once, and yields each
/// report as soon as it is judged, with that place, in the order domains finish. At most
/// `window` domains are under way or waiting to be taken from the stream: a caller that
/// puts reports back in input order holds at most that many. Each domain is a task of
/// its own, so that judging runs on every core.
pub fn audit_stream<'a>(
    net: &'a Net,
    domains: impl Stream<Item = (usize, String)> + 'a,
    expiry_warning_days: u32,
    jobs: usize,
    window: usize,
) -> impl Stream<Item = Judged> + 'a {
    let window = Arc::new(Semaphore::new(window.max(jobs).max(1)));
    let certs = Arc::new(Memo::new(net.config().roots.clone()));
    domains
        .then(move |(place, domain)| {
            let window = window.clone();
            async move {
                let slot = window.acquire_owned().await.ok();
                (place, domain, slot)
            }
        })
        .map(move |(place, domain, slot)| {
            let (net, certs) = (net.clone(), certs.clone());
            let audit =
                tokio::spawn(
                    async move { audit_one(&net, &certs, &domain, expiry_warning_days).await },
                );
            async move {
                let report = match audit.await {
                    Ok(report) => report,
                    // A panic is a bug: it ends the run as it would have without the task.
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                Judged {
                    place,
                    report,
                    _slot: slot,
                }
            }
        })
        .buffer_unordered(jobs.max(1))
}

/// A judged domain and its place in the input. It holds its place in the window until
/// dropped, once written.
pub struct Judged {
    pub place: usize,
    pub report: DomainReport,
    _slot: Option<OwnedSemaphorePermit>,
}

/// Puts what comes in any order back in input order (places 0, 1, 2, ...), holding what
/// came early until its turn.
pub struct InOrder<T> {
    next: usize,
    early: BTreeMap<usize, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            early: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Takes the item at `place`; returns those whose turn has come, in order.
    pub fn push(&mut self, place: usize, item: T) -> Vec<T> {
        self.early.insert(place, item);
        let mut ready = Vec::new();
        while let Some(item) = self.early.remove(&self.next) {
            ready.push(item);
            self.next += 1;
        }
        ready
    }
}

/// Audits `domains` and returns their reports in input order: the whole run at once, for
/// tests and small callers.
pub async fn audit(net: &Net, domains: &[String], expiry_warning_days: u32) -> Vec<DomainReport> {
    let jobs = net.config().jobs;
    let input = futures_util::stream::iter(domains.iter().cloned().enumerate());
    let mut judged = audit_stream(net, input, expiry_warning_days, jobs, usize::MAX >> 4)
        .collect::<Vec<_>>()
        .await;
    judged.sort_by_key(|j| j.place);
    judged.into_iter().map(|j| j.report).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_holds_early_finishers_until_their_turn() {
        let mut order = InOrder::default();
        assert!(order.push(2, "c").is_empty());
        assert!(order.push(1, "b").is_empty());
        assert_eq!(order.push(0, "a"), ["a", "b", "c"]);
        assert_eq!(order.push(3, "d"), ["d"]);
    }
}

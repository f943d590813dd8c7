//! What the run learns about the network it runs from, once, for every domain: whether
//! the resolver answers at all, and whether outbound port 25 is open. Neither depends on
//! which domain happens to finish first.

use std::sync::{Mutex, PoisonError};

use tokio::sync::{Notify, OnceCell};

use crate::limits::PORT25_EVIDENCE;

/// The run's vantage point.
#[derive(Default)]
pub struct Vantage {
    /// Why the resolver gave no answer at all, or `None` when it answers: asked once.
    pub dns: OnceCell<Option<String>>,
    port25: Mutex<Port25>,
    changed: Notify,
}

/// What is known about port 25, and who could still tell.
#[derive(Debug, Default)]
struct Port25 {
    /// `Some(true)` once any connection on port 25 succeeded; `Some(false)` once the audit
    /// concluded it is blocked here.
    reached: Option<bool>,
    /// Domains whose MX hosts are being probed: each may yet bring the evidence.
    probing: usize,
    /// Domains waiting for the answer, every connection of theirs having failed.
    waiting: usize,
}

impl Vantage {
    fn port25(&self) -> std::sync::MutexGuard<'_, Port25> {
        self.port25.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection on port 25 succeeded: port 25 is open from here.
    pub fn reached_port25(&self) {
        self.port25().reached = Some(true);
        self.changed.notify_waiters();
    }

    /// A domain starts probing its MX hosts; the guard says when it is done.
    pub fn probing(&self) -> Probing<'_> {
        self.port25().probing += 1;
        Probing(self)
    }

    /// Whether port 25 is open from here, for a domain every connection of which failed:
    /// yes as soon as any domain of the run reached port 25; blocked once no domain that
    /// could tell is still probing, or [`PORT25_EVIDENCE`] domains all failed alike.
    pub async fn port25_open(&self) -> bool {
        let mut waited = false;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.port25();
                if waited {
                    state.waiting -= 1;
                }
                if let Some(reached) = state.reached {
                    return reached;
                }
                if state.probing == 0 || state.waiting + 1 >= PORT25_EVIDENCE {
                    state.reached = Some(false);
                    self.changed.notify_waiters();
                    return false;
                }
                state.waiting += 1;
                waited = true;
            }
            notified.await;
        }
    }
}

/// A domain probing its MX hosts, until dropped.
pub struct Probing<'a>(&'a Vantage);

impl Drop for Probing<'_> {
    fn drop(&mut self) {
        self.0.port25().probing -= 1;
        self.0.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn port_25_is_open_once_anyone_reached_it() {
        let v = Vantage::default();
        v.reached_port25();
        assert!(v.port25_open().await);
    }

    #[tokio::test]
    async fn port_25_is_blocked_when_nobody_else_can_tell() {
        let v = Vantage::default();
        drop(v.probing());
        assert!(!v.port25_open().await);
    }

    #[tokio::test]
    async fn a_domain_waits_for_one_still_probing() {
        let v = std::sync::Arc::new(Vantage::default());
        let other = v.probing();
        let waiting = {
            let v = v.clone();
            tokio::spawn(async move { v.port25_open().await })
        };
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "it waits while another domain probes"
        );
        v.reached_port25();
        drop(other);
        assert!(waiting.await.expect("joined"));
    }

    #[tokio::test]
    async fn enough_failing_domains_are_evidence_enough() {
        let v = std::sync::Arc::new(Vantage::default());
        let _still_probing = v.probing();
        let waiters: Vec<_> = (0..PORT25_EVIDENCE)
            .map(|_| {
                let v = v.clone();
                tokio::spawn(async move { v.port25_open().await })
            })
            .collect();
        for w in waiters {
            assert!(
                !w.await.expect("joined"),
                "blocked, concluded without waiting"
            );
        }
    }
}

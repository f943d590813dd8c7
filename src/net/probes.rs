//! MX probes shared by the whole run. A hosted mail provider serves thousands of domains
//! from the same few MX hosts: each (MX host, dial address) is probed once, single-flight,
//! and every domain that uses it gets the same observations (and judges them as its own).
//! Connections to one remote address are few at a time, however many names point at it.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::{MAX_PER_ADDRESS, PROBE_CACHE_ENTRIES};
use crate::observe::{ProbeFailure, SmtpProbe};

/// A probe under way or done, as every domain that asked for it sees it.
pub type SharedProbe = Shared<BoxFuture<'static, Arc<SmtpProbe>>>;

/// (MX host, lower case; the address dialled, after `--connect-to`).
type Key = (String, SocketAddr);

/// The probes of the run, the oldest finished ones forgotten past
/// [`PROBE_CACHE_ENTRIES`].
#[derive(Default)]
pub struct Probes {
    inner: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    probes: HashMap<Key, SharedProbe>,
    /// Keys in the order they were first asked for.
    order: VecDeque<Key>,
}

impl Probes {
    /// The probe of `host` at `dial`: the one already under way or done, or `start`ed now
    /// in a task of its own, so that it outlives the domain that asked first.
    pub fn get(
        &self,
        host: &str,
        dial: SocketAddr,
        start: impl FnOnce() -> BoxFuture<'static, SmtpProbe>,
    ) -> SharedProbe {
        let key = (crate::names::normalize(host), dial);
        let mut cache = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(probe) = cache.probes.get(&key) {
            return probe.clone();
        }
        let task = tokio::spawn(start());
        let probe = async move {
            Arc::new(task.await.unwrap_or_else(|e| SmtpProbe {
                failure: Some((
                    crate::observe::Step::Connect,
                    ProbeFailure::Io(format!("the probe stopped: {e}")),
                )),
                ..SmtpProbe::default()
            }))
        }
        .boxed()
        .shared();
        cache.probes.insert(key.clone(), probe.clone());
        cache.order.push_back(key);
        cache.forget_old();
        probe
    }

    /// Probes started so far and still kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .probes
            .len()
    }
}

impl Cache {
    /// Forgets the oldest finished probes beyond the cap; one still under way is kept
    /// (its domains wait on it), so the cap may be passed while that many are in flight.
    fn forget_old(&mut self) {
        let mut looked = 0;
        while self.probes.len() > PROBE_CACHE_ENTRIES && looked < self.order.len() {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            let done = self.probes.get(&key).is_some_and(|p| p.peek().is_some());
            if done {
                self.probes.remove(&key);
            } else {
                self.order.push_back(key);
                looked += 1;
            }
        }
    }
}

/// At most [`MAX_PER_ADDRESS`] connections at once to each remote address.
#[derive(Default)]
pub struct PerAddress {
    slots: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

impl PerAddress {
    fn slots(&self) -> MutexGuard<'_, HashMap<IpAddr, Arc<Semaphore>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot at `addr`; the slot is free again when the permit is dropped.
    pub fn acquire(&self, addr: IpAddr) -> impl Future<Output = Option<OwnedSemaphorePermit>> {
        let semaphore = {
            let mut slots = self.slots();
            if slots.len() >= PROBE_CACHE_ENTRIES {
                // Addresses nobody is connected to need no slot kept.
                slots.retain(|_, s| Arc::strong_count(s) > 1);
            }
            slots
                .entry(addr)
                .or_insert_with(|| Arc::new(Semaphore::new(MAX_PER_ADDRESS)))
                .clone()
        };
        async move { semaphore.acquire_owned().await.ok() }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[tokio::test]
    async fn each_host_and_address_is_probed_once_however_many_ask() {
        let probes = Probes::default();
        let started = Arc::new(AtomicUsize::new(0));
        let start = || {
            let started = started.clone();
            move || {
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    SmtpProbe::default()
                }
                .boxed()
            }
        };
        let asked: Vec<SharedProbe> = (0..10)
            .map(|_| probes.get("MX1.example.test", addr(25), start()))
            .collect();
        probes.get("mx1.example.test", addr(26), start()).await;
        probes.get("mx2.example.test", addr(25), start()).await;
        for a in asked {
            a.await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 3);
        assert_eq!(probes.len(), 3);
    }

    #[tokio::test]
    async fn the_oldest_finished_probes_are_forgotten_past_the_cap() {
        let probes = Probes::default();
        for port in 0..(PROBE_CACHE_ENTRIES as u16 + 10) {
            probes
                .get("mx.example.test", addr(port), || {
                    async { SmtpProbe::default() }.boxed()
                })
                .await;
        }
        assert!(probes.len() <= PROBE_CACHE_ENTRIES + 1, "{}", probes.len());
    }

    #[tokio::test]
    async fn a_few_connections_at_a_time_to_one_address() {
        let limit = PerAddress::default();
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let mut held = Vec::new();
        for _ in 0..MAX_PER_ADDRESS {
            held.push(limit.acquire(ip).await.expect("a slot"));
        }
        let next = limit.acquire(ip);
        tokio::pin!(next);
        assert!(futures_util::poll!(next.as_mut()).is_pending());
        let other = limit.acquire("192.0.2.2".parse().expect("ip")).await;
        assert!(other.is_some(), "another address has its own slots");
        held.pop();
        assert!(next.await.is_some());
    }
}

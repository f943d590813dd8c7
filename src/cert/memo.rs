//! What a run has already worked out about certificates. A hosted provider's MX chain
//! is presented, through the shared probe, to each of its thousands of domains: it is
//! read and judged once a second, not once per domain. A memo, not a cache: every answer
//! is the one [`judge_chain`] and [`summarize`] give for the same inputs.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustls::RootCertStore;

use super::{CertProblem, CertSummary, judge_chain, summarize};

/// Entries of each kind remembered at once; past it, the memo starts afresh.
const REMEMBERED: usize = 4096;

/// The trust roots of the run, and what has been judged against them.
pub struct Memo {
    roots: Arc<RootCertStore>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// The second the chains were judged at: judging depends on the time.
    now: i64,
    /// By a hash of (host, chain), with the inputs, so that a hash that collides is never
    /// taken for an answer.
    chains: HashMap<u64, (Judged, Vec<CertProblem>)>,
    /// By a hash of the DER, with it.
    summaries: HashMap<u64, (Vec<u8>, Option<CertSummary>)>,
}

/// What a chain was judged for: the host and the chain itself.
type Judged = (String, Vec<Vec<u8>>);

fn hash(value: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

impl Memo {
    pub fn new(roots: Arc<RootCertStore>) -> Memo {
        Memo {
            roots,
            seen: Mutex::default(),
        }
    }

    /// [`judge_chain`] against the run's roots.
    pub fn judge_chain(&self, chain: &[Vec<u8>], host: &str, now: i64) -> Vec<CertProblem> {
        let key = hash((host, chain));
        {
            let seen = self.lock();
            if let Some((_, problems)) = seen
                .chains
                .get(&key)
                .filter(|((h, c), _)| seen.now == now && h == host && c == chain)
            {
                return problems.clone();
            }
        }
        let problems = judge_chain(chain, host, now, &self.roots);
        let mut seen = self.lock();
        if seen.now != now || seen.chains.len() >= REMEMBERED {
            seen.now = now;
            seen.chains.clear();
        }
        let entry = ((host.to_string(), chain.to_vec()), problems.clone());
        seen.chains.insert(key, entry);
        problems
    }

    /// [`summarize`], `None` for a certificate that does not parse.
    pub fn summarize(&self, der: &[u8]) -> Option<CertSummary> {
        let key = hash(der);
        if let Some((_, summary)) = self.lock().summaries.get(&key).filter(|(d, _)| d == der) {
            return summary.clone();
        }
        let summary = summarize(der).ok();
        let mut seen = self.lock();
        if seen.summaries.len() >= REMEMBERED {
            seen.summaries.clear();
        }
        seen.summaries.insert(key, (der.to_vec(), summary.clone()));
        summary
    }

    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::tests::{FIXTURE_ROOT, FIXTURE_TIME, SHA1_LEAF, WEAK_RSA_LEAF};
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .expect("PEM")
            .to_vec()
    }

    #[test]
    fn the_memo_answers_as_the_judge_for_every_host_chain_and_time() {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(der(FIXTURE_ROOT)))
            .expect("root");
        let memo = Memo::new(Arc::new(roots.clone()));
        let (weak, sha1) = (der(WEAK_RSA_LEAF), der(SHA1_LEAF));
        let later = FIXTURE_TIME + 200 * 365 * 86_400;
        let cases = [
            (&weak, "weak.example.test", FIXTURE_TIME),
            (&weak, "weak.example.test", FIXTURE_TIME),
            (&weak, "other.example.test", FIXTURE_TIME),
            (&sha1, "weak.example.test", FIXTURE_TIME),
            (&weak, "weak.example.test", later),
            (&weak, "weak.example.test", FIXTURE_TIME),
        ];
        for (leaf, host, now) in cases {
            let chain = std::slice::from_ref(leaf);
            assert_eq!(
                memo.judge_chain(chain, host, now),
                judge_chain(chain, host, now, &roots),
                "{host} at {now}"
            );
        }
        for d in [&weak, &sha1, &weak, &b"junk".to_vec()] {
            assert_eq!(memo.summarize(d), summarize(d).ok());
        }
    }
}

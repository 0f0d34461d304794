//! What an instance remembers of one upstream between calls: the balancer's
//! turn and in-flight counts, each target's breaker, the retry budget. One
//! lock per upstream, held for a few field updates.

use super::balance::Picker;
use super::breaker::{Admission, Breaker};
use super::compile::{Target, Upstream};
use super::retry::Budget;
use crate::time::Timestamp;
use std::sync::{Arc, Mutex, MutexGuard};

/// How a try ended, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Success,
    Failure,
    /// Says nothing about the target (the gateway's own answer-memory cap).
    Neutral,
}

/// A target chosen for one try.
#[derive(Debug, Clone)]
pub(super) struct Pick {
    pub index: usize,
    pub probe: bool,
    /// The target list it indexes (the config's, or one set at run time).
    pub targets: Arc<[Target]>,
    generation: u64,
}

#[derive(Debug, Default)]
struct Inner {
    picker: Picker,
    breakers: Vec<Breaker>,
    budget: Budget,
    /// Targets set at run time (`PUT …/targets`), replacing the config's.
    live: Option<Arc<[Target]>>,
    /// The version of the run-time record last read (0: none yet).
    version: u64,
    /// When the record was last read from the key-value store.
    checked: Option<Timestamp>,
    /// Bumped whenever the target list changes: a try picked before that
    /// records nothing on the new list.
    generation: u64,
    /// How many targets the config lists.
    config_len: usize,
}

fn same_targets(a: &[Target], b: &[Target]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.scheme == y.scheme && x.authority == y.authority && x.base_path == y.base_path && x.weight == y.weight
        })
}

/// The run-time state of one upstream in this instance.
#[derive(Debug, Default)]
pub(crate) struct UpstreamState {
    inner: Mutex<Inner>,
}

impl UpstreamState {
    /// Fresh state for an upstream of `targets` targets.
    pub(crate) fn new(targets: usize) -> Self {
        UpstreamState {
            inner: Mutex::new(Inner {
                picker: Picker::new(targets),
                breakers: vec![Breaker::default(); targets],
                config_len: targets,
                ..Inner::default()
            }),
        }
    }

    /// The targets in use (the config's unless some were set at run time)
    /// and the run-time record's version.
    pub(crate) fn targets(&self, upstream: &Upstream) -> (Arc<[Target]>, u64) {
        let inner = self.lock();
        (inner.live.clone().unwrap_or_else(|| upstream.targets.clone().into()), inner.version)
    }

    /// Whether the targets in use were set at run time.
    pub(crate) fn is_run_time(&self) -> bool {
        self.lock().live.is_some()
    }

    /// Whether this call should read the run-time record (never read, or
    /// read `every` ago). The first call that finds it due claims the read:
    /// concurrent calls do not all go to the store at once.
    pub(super) fn claim_refresh(&self, now: Timestamp, every: std::time::Duration) -> bool {
        let mut inner = self.lock();
        let due = inner.checked.is_none_or(|t| now.since(t) >= every || now < t);
        if due {
            inner.checked = Some(now);
        }
        due
    }

    /// Takes a record read at `now`: `targets` `None` means the config's.
    /// A different list starts with fresh balancing and breakers.
    pub(super) fn apply(&self, version: u64, targets: Option<Vec<Target>>, now: Timestamp) {
        let mut inner = self.lock();
        inner.checked = Some(now);
        if version == inner.version && version != 0 {
            return;
        }
        if version < inner.version {
            return;
        }
        inner.version = version;
        let changed = match (&inner.live, &targets) {
            (None, None) => false,
            (Some(old), Some(new)) => !same_targets(old, new),
            _ => true,
        };
        if changed {
            let n = targets.as_ref().map_or(inner.config_len, Vec::len);
            inner.live = targets.map(Into::into);
            inner.picker = Picker::new(n);
            inner.breakers = vec![Breaker::default(); n];
            inner.generation = inner.generation.wrapping_add(1);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section assigns whole fields: poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Chooses a target, preferring one not in `tried`; `Err` with the
    /// earliest re-admission (if known) when no target is eligible.
    pub(super) fn pick(
        &self,
        upstream: &Upstream,
        now: Timestamp,
        tried: &[usize],
        random: u64,
    ) -> Result<Pick, Option<Timestamp>> {
        let mut inner = self.lock();
        let targets: Arc<[Target]> = inner.live.clone().unwrap_or_else(|| upstream.targets.clone().into());
        let mut eligible = Vec::with_capacity(targets.len());
        let mut readmit: Option<Timestamp> = None;
        for (i, t) in targets.iter().enumerate() {
            if t.weight == 0 {
                continue;
            }
            match inner.breakers.get(i).map_or(Admission::Closed, |b| b.admission(now)) {
                Admission::Closed | Admission::Probe => eligible.push(i),
                Admission::Open(until) => {
                    let until = until.unwrap_or(now.plus(std::time::Duration::from_secs(1)));
                    readmit = Some(readmit.map_or(until, |r| r.min(until)));
                }
            }
        }
        let fresh: Vec<usize> = if tried.is_empty() {
            Vec::new()
        } else {
            eligible.iter().copied().filter(|i| !tried.contains(i)).collect()
        };
        let from = if fresh.is_empty() { &eligible } else { &fresh };
        let index = inner.picker.choose(upstream.balance, &targets, from, random, tried.is_empty()).ok_or(readmit)?;
        let probe = inner.breakers.get(index).is_some_and(|b| b.admission(now) == Admission::Probe);
        if probe && let Some(b) = inner.breakers.get_mut(index) {
            b.start_probe();
        }
        if let Some(n) = inner.picker.inflight.get_mut(index) {
            *n = n.saturating_add(1);
        }
        Ok(Pick { index, probe, targets, generation: inner.generation })
    }

    /// Ends a try on `pick`: the in-flight count, and the breaker when the
    /// upstream has one (`None`: the try was dropped before it ended). A try
    /// picked from a list since replaced records nothing.
    pub(super) fn finish(&self, upstream: &Upstream, pick: &Pick, verdict: Option<Verdict>, now: Timestamp) {
        let mut inner = self.lock();
        if inner.generation != pick.generation {
            return;
        }
        if let Some(n) = inner.picker.inflight.get_mut(pick.index) {
            *n = n.saturating_sub(1);
        }
        let Some(policy) = &upstream.breaker else { return };
        let ejected = inner.breakers.iter().filter(|b| b.is_ejected()).count();
        let total = inner.breakers.len();
        let share = total * usize::from(policy.max_ejected_percent) / 100;
        let may_eject = ejected < share.min(total.saturating_sub(1));
        let Some(breaker) = inner.breakers.get_mut(pick.index) else { return };
        match verdict {
            Some(Verdict::Success) => breaker.record(true, policy, now, may_eject),
            Some(Verdict::Failure) => breaker.record(false, policy, now, may_eject),
            Some(Verdict::Neutral) | None if pick.probe => breaker.abandon_probe(),
            Some(Verdict::Neutral) | None => {}
        }
    }

    /// Counts a client request for the retry budget.
    pub(super) fn note_request(&self, now: Timestamp) {
        self.lock().budget.note_request(now);
    }

    /// Takes a retry from the budget, if there is room.
    pub(super) fn take_retry(&self, now: Timestamp) -> bool {
        self.lock().budget.take_retry(now)
    }

    /// `healthy`, `ejected`, `probing` or `drained` for target `index`
    /// (the admin API's routes listing).
    pub(crate) fn health(&self, upstream: &Upstream, index: usize, now: Timestamp) -> &'static str {
        let inner = self.lock();
        let weight = match &inner.live {
            Some(live) => live.get(index).map(|t| t.weight),
            None => upstream.targets.get(index).map(|t| t.weight),
        };
        if weight == Some(0) {
            return "drained";
        }
        match inner.breakers.get(index).map_or(Admission::Closed, |b| b.admission(now)) {
            Admission::Closed => "healthy",
            Admission::Probe | Admission::Open(None) => "probing",
            Admission::Open(Some(_)) => "ejected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_call_per_interval_reads_the_record() {
        let state = UpstreamState::new(1);
        let t0 = Timestamp::from_millis(1_000_000);
        let every = Duration::from_secs(15);
        assert!(state.claim_refresh(t0, every), "never read: due");
        assert!(!state.claim_refresh(t0, every), "claimed by the first call");
        assert!(!state.claim_refresh(t0.plus(Duration::from_secs(14)), every));
        assert!(state.claim_refresh(t0.plus(every), every));
        assert!(!state.claim_refresh(t0.plus(every), every));
    }
}

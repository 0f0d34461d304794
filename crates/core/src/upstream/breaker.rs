//! The circuit breaker of one target, per instance (outlier ejection): after
//! `failures` consecutive failures the target is ejected for `open_for` × n
//! (n: ejections in a row, at most 10); once that has passed, one probe
//! request goes to it — success re-admits it, failure ejects it again.

use super::compile::BreakerPolicy;
use crate::time::Timestamp;

/// Longest ejection, in multiples of `open_for`.
const MAX_EJECTIONS: u32 = 10;

/// What the breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Every request.
    Closed,
    /// One request, as a probe (none is in flight).
    Probe,
    /// Nothing until the time given (a probe in flight: until it ends).
    Open(Option<Timestamp>),
}

/// One target's breaker.
#[derive(Debug, Clone, Default)]
pub(super) struct Breaker {
    consecutive: u32,
    ejections: u32,
    open_until: Option<Timestamp>,
    probing: bool,
}

impl Breaker {
    pub(super) fn admission(&self, now: Timestamp) -> Admission {
        match self.open_until {
            None => Admission::Closed,
            Some(until) if now < until => Admission::Open(Some(until)),
            Some(_) if self.probing => Admission::Open(None),
            Some(_) => Admission::Probe,
        }
    }

    /// Ejected, or half-open (counts against the upstream's ejection share).
    pub(super) fn is_ejected(&self) -> bool {
        self.open_until.is_some()
    }

    pub(super) fn start_probe(&mut self) {
        self.probing = true;
    }

    /// A probe ended without an outcome (its request was dropped).
    pub(super) fn abandon_probe(&mut self) {
        self.probing = false;
    }

    /// Records one try: `ok` false for a failure. `may_eject`: ejecting this
    /// target keeps the upstream within its ejection share.
    pub(super) fn record(&mut self, ok: bool, policy: &BreakerPolicy, now: Timestamp, may_eject: bool) {
        let was_probe = std::mem::take(&mut self.probing);
        if ok {
            self.consecutive = 0;
            if was_probe || self.open_until.is_some_and(|until| now >= until) {
                self.open_until = None;
                self.ejections = 0;
            }
            return;
        }
        self.consecutive = self.consecutive.saturating_add(1);
        // A failed probe ejects again; otherwise the threshold does, within the share.
        let threshold = self.open_until.is_none() && self.consecutive >= policy.failures && may_eject;
        if was_probe || threshold {
            self.eject(policy, now);
        }
    }

    fn eject(&mut self, policy: &BreakerPolicy, now: Timestamp) {
        self.ejections = (self.ejections + 1).min(MAX_EJECTIONS);
        self.open_until = Some(now.plus(policy.open_for * self.ejections));
        self.consecutive = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const POLICY: BreakerPolicy =
        BreakerPolicy { failures: 3, open_for: Duration::from_secs(2), max_ejected_percent: 50 };
    const T0: Timestamp = Timestamp(1_000_000_000);

    #[test]
    fn opens_after_consecutive_failures_then_probes_once() {
        let mut b = Breaker::default();
        b.record(false, &POLICY, T0, true);
        b.record(false, &POLICY, T0, true);
        b.record(true, &POLICY, T0, true);
        b.record(false, &POLICY, T0, true);
        b.record(false, &POLICY, T0, true);
        assert_eq!(b.admission(T0), Admission::Closed, "a success in between resets the count");
        b.record(false, &POLICY, T0, true);
        let until = T0.plus(Duration::from_secs(2));
        assert_eq!(b.admission(T0), Admission::Open(Some(until)));
        assert_eq!(b.admission(until), Admission::Probe);
        b.start_probe();
        assert_eq!(b.admission(until), Admission::Open(None), "one probe at a time");
        b.record(true, &POLICY, until, true);
        assert_eq!(b.admission(until), Admission::Closed);
    }

    #[test]
    fn a_failed_probe_ejects_for_longer_up_to_ten_times() {
        let mut b = Breaker::default();
        let mut now = T0;
        for _ in 0..3 {
            b.record(false, &POLICY, now, true);
        }
        for n in 2..=12u32 {
            let Admission::Open(Some(until)) = b.admission(now) else { panic!("open") };
            now = until;
            assert_eq!(b.admission(now), Admission::Probe);
            b.start_probe();
            b.record(false, &POLICY, now, true);
            let Admission::Open(Some(next)) = b.admission(now) else { panic!("open again") };
            assert_eq!(next.since(now), POLICY.open_for * n.min(MAX_EJECTIONS), "ejection {n}");
        }
    }

    #[test]
    fn no_ejection_past_the_share_and_an_abandoned_probe_frees_the_slot() {
        let mut b = Breaker::default();
        for _ in 0..10 {
            b.record(false, &POLICY, T0, false);
        }
        assert_eq!(b.admission(T0), Admission::Closed, "the share is used up: not ejected");
        b.record(false, &POLICY, T0, true);
        let until = T0.plus(Duration::from_secs(2));
        b.start_probe();
        b.abandon_probe();
        assert_eq!(b.admission(until), Admission::Probe);
    }
}

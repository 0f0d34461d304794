//! Choosing one target among the eligible ones (`balance`), per instance:
//! `round_robin` in turn, `weighted_round_robin` in turn by weight and
//! interleaved (nginx's smooth algorithm: weights 5:1:1 give a a b a c a a,
//! not a a a a a b c), `random` in proportion to the weights, and
//! `least_inflight` to the target with the fewest calls this instance has
//! in flight (ties in turn).

use super::compile::Target;
use crate::config::Balance;

/// The balancing memory of one upstream.
#[derive(Debug, Default)]
pub(super) struct Picker {
    next: usize,
    /// Smooth weighted round robin: each target's current weight.
    current: Vec<i64>,
    /// Calls in flight per target, from this instance.
    pub(super) inflight: Vec<u32>,
}

impl Picker {
    pub(super) fn new(targets: usize) -> Self {
        Picker { next: 0, current: vec![0; targets], inflight: vec![0; targets] }
    }

    /// One of `eligible` (indexes into `targets`, each with a weight above
    /// 0), or `None` when there is none. `random` is a fresh random number.
    /// A retry (`advance` false) takes its turn without moving the rotation,
    /// so that a failing target does not get every first try.
    pub(super) fn choose(
        &mut self,
        balance: Balance,
        targets: &[Target],
        eligible: &[usize],
        random: u64,
        advance: bool,
    ) -> Option<usize> {
        if eligible.is_empty() {
            return None;
        }
        let weight = |i: usize| i64::from(targets.get(i).map_or(0, |t| t.weight));
        match balance {
            Balance::RoundRobin => {
                let pick = eligible[self.next % eligible.len()];
                if advance {
                    self.next = self.next.wrapping_add(1);
                }
                Some(pick)
            }
            Balance::WeightedRoundRobin if !advance => {
                let current = |i: usize| self.current.get(i).copied().unwrap_or(i64::MIN).saturating_add(weight(i));
                eligible.iter().copied().fold(None, |best: Option<usize>, i| match best {
                    Some(b) if current(b) >= current(i) => Some(b),
                    _ => Some(i),
                })
            }
            Balance::WeightedRoundRobin => {
                let mut total = 0;
                for &i in eligible {
                    let w = weight(i);
                    total += w;
                    if let Some(c) = self.current.get_mut(i) {
                        *c += w;
                    }
                }
                let current = |i: usize| self.current.get(i).copied().unwrap_or(i64::MIN);
                let best = eligible.iter().copied().fold(None, |best: Option<usize>, i| match best {
                    Some(b) if current(b) >= current(i) => Some(b),
                    _ => Some(i),
                });
                let best = best?;
                if let Some(c) = self.current.get_mut(best) {
                    *c -= total;
                }
                Some(best)
            }
            Balance::Random => {
                let total: i64 = eligible.iter().map(|&i| weight(i)).sum();
                let mut point = (random % u64::try_from(total.max(1)).unwrap_or(1)) as i64;
                for &i in eligible {
                    point -= weight(i);
                    if point < 0 {
                        return Some(i);
                    }
                }
                eligible.last().copied()
            }
            Balance::LeastInflight => {
                let fewest = eligible.iter().map(|&i| self.inflight.get(i).copied().unwrap_or(0)).min()?;
                let tied: Vec<usize> = eligible
                    .iter()
                    .copied()
                    .filter(|&i| self.inflight.get(i).copied().unwrap_or(0) == fewest)
                    .collect();
                let pick = tied[self.next % tied.len()];
                if advance {
                    self.next = self.next.wrapping_add(1);
                }
                Some(pick)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(weights: &[u32]) -> Vec<Target> {
        weights
            .iter()
            .map(|&weight| Target {
                scheme: http::uri::Scheme::HTTP,
                authority: http::uri::Authority::from_static("t"),
                base_path: String::new(),
                weight,
            })
            .collect()
    }

    fn run(balance: Balance, weights: &[u32], n: usize) -> Vec<usize> {
        let t = targets(weights);
        let eligible: Vec<usize> = (0..t.len()).collect();
        let mut p = Picker::new(t.len());
        (0..n)
            .map(|k| {
                p.choose(balance, &t, &eligible, (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15), true)
                    .expect("a target")
            })
            .collect()
    }

    #[test]
    fn weighted_round_robin_is_smooth_and_exact() {
        assert_eq!(run(Balance::WeightedRoundRobin, &[5, 1, 1], 7), vec![0, 0, 1, 0, 2, 0, 0]);
        let picks = run(Balance::WeightedRoundRobin, &[300, 100], 400);
        assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 300);
    }

    #[test]
    fn round_robin_ignores_weights_and_random_follows_them() {
        assert_eq!(run(Balance::RoundRobin, &[900, 100], 4), vec![0, 1, 0, 1]);
        let picks = run(Balance::Random, &[300, 100], 4000);
        let first = picks.iter().filter(|&&i| i == 0).count();
        assert!((2700..=3300).contains(&first), "{first}");
    }

    #[test]
    fn least_inflight_prefers_the_idle_target() {
        let t = targets(&[100, 100, 100]);
        let mut p = Picker::new(3);
        p.inflight = vec![2, 0, 1];
        assert_eq!(p.choose(Balance::LeastInflight, &t, &[0, 1, 2], 0, true), Some(1));
        assert_eq!(p.choose(Balance::LeastInflight, &t, &[0, 2], 0, true), Some(2));
        assert_eq!(p.choose(Balance::LeastInflight, &t, &[], 0, true), None);
    }

    #[test]
    fn a_retry_does_not_move_the_rotation() {
        let t = targets(&[100, 100]);
        let mut p = Picker::new(2);
        assert_eq!(p.choose(Balance::RoundRobin, &t, &[0, 1], 0, true), Some(0));
        assert_eq!(p.choose(Balance::RoundRobin, &t, &[1], 0, false), Some(1), "the retry");
        assert_eq!(p.choose(Balance::RoundRobin, &t, &[0, 1], 0, true), Some(1), "the next first try");
        let mut w = Picker::new(2);
        assert_eq!(w.choose(Balance::WeightedRoundRobin, &t, &[0, 1], 0, true), Some(0));
        assert_eq!(w.choose(Balance::WeightedRoundRobin, &t, &[1], 0, false), Some(1));
        assert_eq!(w.choose(Balance::WeightedRoundRobin, &t, &[0, 1], 0, true), Some(1));
    }
}

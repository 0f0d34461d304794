//! Fixed calendar windows in UTC for quotas (`quota: { requests: N, per:
//! day|month }`).
//!
//! A store keys its counter by the window's start ([`window_of`]) and may drop
//! it at the window's end; a new window starts from zero. Civil dates are
//! computed here from days since the epoch (the proleptic Gregorian
//! days-from-civil / civil-from-days conversion described by Howard Hinnant),
//! so no date crate is needed.

use crate::time::Timestamp;

const MICROS_PER_DAY: u64 = 86_400 * 1_000_000;

/// The calendar unit of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Per {
    /// One UTC calendar day.
    Day,
    /// One UTC calendar month.
    Month,
}

/// Days since 1970-01-01 of the civil date `year-month-day` (month 1..=12).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year to start in March so the leap day is the last day.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12); // March = 0 … February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, month as u32, day as u32)
}

fn timestamp_of_day(days: i64) -> Timestamp {
    let micros = u64::try_from(days).unwrap_or(0).saturating_mul(MICROS_PER_DAY);
    Timestamp(micros)
}

/// The UTC calendar window `[start, end)` containing `now`.
pub fn window_of(now: Timestamp, per: Per) -> (Timestamp, Timestamp) {
    // u64 µs / µs-per-day is below 2^28, so it fits an i64 exactly.
    let today = i64::try_from(now.0 / MICROS_PER_DAY).unwrap_or(i64::MAX);
    match per {
        Per::Day => (timestamp_of_day(today), timestamp_of_day(today + 1)),
        Per::Month => {
            let (year, month, _) = civil_from_days(today);
            let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
            (
                timestamp_of_day(days_from_civil(year, month, 1)),
                timestamp_of_day(days_from_civil(next_year, next_month, 1)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// µs timestamp of a UTC date and time, via an independent route: count
    /// days year by year and month by month.
    fn at(year: i64, month: u32, day: u32, hms: (u64, u64, u64)) -> Timestamp {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut days: u64 = 0;
        for y in 1970..year {
            days += if leap(y) { 366 } else { 365 };
        }
        let lengths = [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        days += lengths[..(month as usize - 1)].iter().sum::<u64>();
        days += u64::from(day) - 1;
        Timestamp(((days * 86_400) + hms.0 * 3600 + hms.1 * 60 + hms.2) * 1_000_000)
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(days_from_civil(2028, 2, 29)), (2028, 2, 29));
        assert_eq!(civil_from_days(days_from_civil(2100, 2, 28) + 1), (2100, 3, 1));
    }

    #[test]
    fn windows_table() {
        type Case = (Timestamp, Per, Timestamp, Timestamp, u64);
        let cases: Vec<Case> = vec![
            (Timestamp(0), Per::Day, Timestamp(0), at(1970, 1, 2, (0, 0, 0)), 86_400),
            (Timestamp(0), Per::Month, Timestamp(0), at(1970, 2, 1, (0, 0, 0)), 31 * 86_400),
            (at(2028, 2, 29, (23, 59, 59)), Per::Day, at(2028, 2, 29, (0, 0, 0)), at(2028, 3, 1, (0, 0, 0)), 86_400),
            (
                at(2028, 2, 29, (12, 0, 0)),
                Per::Month,
                at(2028, 2, 1, (0, 0, 0)),
                at(2028, 3, 1, (0, 0, 0)),
                29 * 86_400,
            ),
            (at(2027, 2, 14, (1, 2, 3)), Per::Month, at(2027, 2, 1, (0, 0, 0)), at(2027, 3, 1, (0, 0, 0)), 28 * 86_400),
            (
                at(2026, 12, 31, (23, 59, 59)),
                Per::Month,
                at(2026, 12, 1, (0, 0, 0)),
                at(2027, 1, 1, (0, 0, 0)),
                31 * 86_400,
            ),
            (at(2026, 12, 31, (23, 59, 59)), Per::Day, at(2026, 12, 31, (0, 0, 0)), at(2027, 1, 1, (0, 0, 0)), 86_400),
            (at(2027, 1, 1, (0, 0, 0)), Per::Month, at(2027, 1, 1, (0, 0, 0)), at(2027, 2, 1, (0, 0, 0)), 31 * 86_400),
            (at(2026, 4, 30, (8, 0, 0)), Per::Month, at(2026, 4, 1, (0, 0, 0)), at(2026, 5, 1, (0, 0, 0)), 30 * 86_400),
            (at(2000, 2, 10, (0, 0, 0)), Per::Month, at(2000, 2, 1, (0, 0, 0)), at(2000, 3, 1, (0, 0, 0)), 29 * 86_400),
        ];
        for (i, (now, per, start, end, secs)) in cases.into_iter().enumerate() {
            assert_eq!(window_of(now, per), (start, end), "case {i}");
            assert_eq!(end.since(start).as_secs(), secs, "case {i}");
        }
        // the last microsecond of a window belongs to it; the next starts anew.
        let end = at(2027, 1, 1, (0, 0, 0));
        assert_eq!(window_of(Timestamp(end.0 - 1), Per::Month).1, end);
        assert_eq!(window_of(end, Per::Month).0, end);
    }

    #[test]
    fn extremes_do_not_panic() {
        for per in [Per::Day, Per::Month] {
            let (start, end) = window_of(Timestamp(u64::MAX), per);
            assert!(start <= Timestamp(u64::MAX) && start <= end);
        }
    }
}

//! Wall-clock time for the log: RFC 3339 time stamps for the JSON records and the metrics
//! document, and epoch milliseconds for the metrics' `Timestamp`.
//!
//! Lambda's log-level filtering reads a JSON record's `level` only with a valid RFC 3339
//! `timestamp` beside it: "If you don't supply a valid timestamp, Lambda will assign the log the
//! level INFO and add a timestamp for you" (Lambda Developer Guide, "Log-level filtering"). A
//! record without one would be filtered as `INFO` whatever its level, so a `WARN` record would be
//! dropped at `LogLevel=WARN`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z; 0 for a clock set before it.
pub fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> u64 {
    epoch_millis(SystemTime::now())
}

/// An instant as RFC 3339 in UTC, to the millisecond: `2026-12-06T22:44:45.123Z`.
pub fn rfc3339(millis: u64) -> String {
    let (seconds, millis) = (millis / 1000, millis % 1000);
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The Gregorian date of the day `days` after 1970-01-01: Howard Hinnant's `civil_from_days`
/// ("chrono-Compatible Low-Level Date Algorithms"), which counts in 400-year eras of 146,097 days
/// from 0000-03-01, so that the leap day ends a year.
fn civil(days: u64) -> (u64, u64, u64) {
    // 719,468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 0 is March, 11 February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn instants_are_written_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
        // 2100 is not a leap year: the day after 28 February is 1 March.
        assert_eq!(rfc3339(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    }

    /// The date of a day, counted one year and one month at a time.
    fn counted(mut days: u64) -> (u64, u64, u64) {
        let leap =
            |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let mut year = 1970;
        while days >= if leap(year) { 366 } else { 365 } {
            days -= if leap(year) { 366 } else { 365 };
            year += 1;
        }
        let lengths = [
            31,
            if leap(year) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let mut month = 1;
        for length in lengths {
            if days < length {
                break;
            }
            days -= length;
            month += 1;
        }
        (year, month, days + 1)
    }

    proptest! {
        #[test]
        fn every_day_to_the_year_2400_is_the_calendars(days in 0u64..157_000) {
            prop_assert_eq!(civil(days), counted(days));
        }
    }

    #[test]
    fn a_clock_before_the_epoch_reads_zero() {
        let before = UNIX_EPOCH - std::time::Duration::from_secs(1);
        assert_eq!(epoch_millis(before), 0);
        assert_eq!(
            epoch_millis(UNIX_EPOCH + std::time::Duration::from_millis(1234)),
            1234
        );
    }
}

//! Bounds on time: the SDK's retries and timeouts, and the Lambda deadline.
//!
//! Retries use the SDK's *standard* mode: exponential back-off with jitter, a retry quota per
//! client, and retries of throttling (429), 5xx answers, timeouts and dropped connections. We
//! do not use *adaptive* mode: its client-side rate limiter slows every later call of a client
//! after a throttle, which suits steady high-volume traffic, not a burst of a few dozen calls.
//! Eight attempts with a 200 ms to 5 s back-off survive a 30 % throttle rate (the chance that
//! all eight attempts of a call are throttled is 0.3⁸ ≈ 7 in 100,000) and bound a call's
//! retrying to about 16 s of back-off.
//!
//! Every attempt and every operation has a timeout, so a hung endpoint cannot eat the
//! invocation; and the function stops starting new calls once the Lambda deadline is nearer
//! than [`Limits::reserve`], keeping that time to send the report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Retry and timeout settings for every AWS call, and the time kept back for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// One attempt's limit: a hung connection is abandoned after this and retried.
    pub attempt_timeout: Duration,
    /// One call's limit, its retries included.
    pub operation_timeout: Duration,
    /// No call starts once the deadline is nearer than this: an operation timeout plus the
    /// time to send the report. A function with a short timeout keeps half of it instead.
    pub reserve: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(45),
            reserve: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// The SDK configuration with these retries and timeouts.
    pub fn apply(&self, sdk: &SdkConfig) -> SdkConfig {
        sdk.to_builder()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(self.initial_backoff)
                    .with_max_backoff(self.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
            .build()
    }
}

/// When to stop starting new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    stop_at: Option<SystemTime>,
}

/// Why an account was not attempted.
pub const DEADLINE_REACHED: &str = "not attempted: the invocation was about to reach its Lambda timeout; invoke the function again for this account";

impl Deadline {
    /// From Lambda's deadline (milliseconds since the epoch; 0 when there is none, as in tests).
    /// The reserve is at most half the time left, so a function configured with a timeout
    /// shorter than the reserve still does half its work rather than none. A deadline already
    /// past when the invocation starts is no real one (cargo-lambda's emulator sends the timeout
    /// itself, 600000): it is ignored rather than stopping all work.
    pub fn from_lambda(deadline_ms: u64, reserve: Duration) -> Deadline {
        let at = UNIX_EPOCH + Duration::from_millis(deadline_ms);
        let Ok(left) = at.duration_since(SystemTime::now()) else {
            return Deadline::none();
        };
        let reserve = reserve.min(left / 2);
        Deadline {
            stop_at: Some(at.checked_sub(reserve).unwrap_or(UNIX_EPOCH)),
        }
    }

    /// The time left before no call may start; `None` without a deadline.
    pub fn time_left(&self) -> Option<Duration> {
        self.stop_at.map(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// No deadline.
    pub fn none() -> Deadline {
        Deadline { stop_at: None }
    }

    /// Whether it is too late to start a call.
    pub fn passed(&self) -> bool {
        self.stop_at.is_some_and(|at| SystemTime::now() >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_from_now(offset: i64) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        (now + offset) as u64
    }

    #[test]
    fn the_deadline_keeps_the_reserve_back() {
        let reserve = Duration::from_secs(60);
        let roomy = Deadline::from_lambda(ms_from_now(120_000), reserve);
        assert!(!roomy.passed());
        let left = roomy.time_left().unwrap();
        assert!(
            left > Duration::from_secs(55) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        // Less time than the reserve: half of it is kept back, half is for work.
        let short = Deadline::from_lambda(ms_from_now(30_000), reserve);
        assert!(!short.passed());
        let left = short.time_left().unwrap();
        assert!(
            left > Duration::from_secs(13) && left <= Duration::from_secs(15),
            "{left:?}"
        );
        assert!(
            Deadline::from_lambda(ms_from_now(1_000), reserve).time_left()
                < Some(Duration::from_millis(501))
        );
        assert_eq!(
            Deadline::from_lambda(0, reserve),
            Deadline::none(),
            "0 means no deadline"
        );
        assert_eq!(
            Deadline::from_lambda(600_000, reserve),
            Deadline::none(),
            "the emulator's timeout, not a time"
        );
        assert_eq!(
            Deadline::from_lambda(ms_from_now(-1_000), reserve),
            Deadline::none()
        );
        assert!(!Deadline::none().passed());
    }

    #[test]
    fn the_default_limits_fit_the_templates_timeout() {
        let l = Limits::default();
        assert!(
            l.operation_timeout < l.reserve,
            "a call started just before the reserve ends before the deadline"
        );
        assert!(l.attempt_timeout < l.operation_timeout);
        let template = include_str!("../template.yaml");
        let timeout: u64 = template
            .lines()
            .find_map(|line| line.trim().strip_prefix("Timeout: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the template sets the function's Timeout");
        assert!(
            Duration::from_secs(timeout) >= l.reserve * 3,
            "the reserve leaves most of the {timeout} s for work"
        );
    }
}

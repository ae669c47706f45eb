//! Bounds on time: the SDK's retries and timeouts, and the Lambda deadline.
//!
//! Retries use the SDK's *standard* mode: exponential back-off with jitter, a retry quota per
//! client, and retries of throttling (429), 5xx answers, timeouts and dropped connections. The
//! GuardDuty and Security Hub clients of the administrator are the exception for throttling: a
//! throttled call goes back through its operation's pace ([`crate::pace`]), which learns the
//! rate, rather than through the SDK's back-off, which knows nothing of it. We do not use the
//! SDK's *adaptive* mode: measured on the same simulated limits, it takes up to 3.5 times as long
//! as the pace (the measurement is in [`crate::pace`]'s opening comment).
//! Eight attempts with a 200 ms to 5 s back-off survive a 30 % throttle rate (the chance that
//! all eight attempts of a call are throttled is 0.3⁸ ≈ 7 in 100,000) and bound a call's
//! retrying to about 16 s of back-off.
//!
//! The Lambda deadline splits the invocation's time in three: work, then the report, then a
//! short margin to hand the response to the runtime. Every AWS call of the work runs under
//! [`Deadline::call`], whose timeout is the time left before the report must start, so no call
//! (its retries included) can outlive that moment, whatever the Lambda timeout. The report's
//! send has its own share ([`Deadline::report_time_left`]).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws_error::{CallError, IntoAwsError};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Retry and timeout settings for every AWS call, and the time kept for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts per call in all, the first included: the bound on every AWS call. On the paced
    /// clients (the administrator's GuardDuty and Security Hub) it counts the SDK's retries and
    /// the pace's resends together ([`crate::pace::ThrottlesArePaced`]); on the others it is the
    /// SDK's standard retry's `max_attempts`.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// One attempt's limit: a hung connection is abandoned after this and retried.
    pub attempt_timeout: Duration,
    /// One call's limit, its retries included. The deadline can cut a call shorter.
    pub operation_timeout: Duration,
    /// The time kept for sending the report at the end of the invocation. A short Lambda
    /// timeout keeps a quarter of its time instead, when that is less.
    pub report_time: Duration,
    /// Batches of 50 accounts that go through their steps at once, in each service-region.
    pub batch_concurrency: usize,
    /// Member accounts that accept their invitations at once.
    pub member_concurrency: usize,
}

/// The default of [`Limits::batch_concurrency`] (`BATCH_CONCURRENCY`). Measured with 1,000 new
/// accounts in 4 regions against the stand-in at 20 ms a call (debug build): 1 batch at a time
/// took 1.54 s, 2 took 0.85 s, 4 took 0.57 s, 8 took 0.48 s, and 16 or 32 no less. Against a
/// limit of 10 calls a second per operation that the function has not learnt yet, the batches
/// sent at once are the calls in flight when the first throttle comes back: 8 had 6 of them
/// throttled per operation and region, 4 had 1 (`pace` tests). 4 is the default.
pub const BATCH_CONCURRENCY: usize = 4;

/// The default of [`Limits::member_concurrency`] (`MEMBER_CONCURRENCY`). Each member account's
/// chain is `AssumeRole`, then in each of its service-regions at once the two reads together, at
/// most one call that switches the service on, and the acceptance: 3 to 4 calls one after
/// another. See docs/performance.md for the measurement behind it.
pub const MEMBER_CONCURRENCY: usize = 32;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(45),
            report_time: Duration::from_secs(20),
            batch_concurrency: BATCH_CONCURRENCY,
            member_concurrency: MEMBER_CONCURRENCY,
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

/// The time kept after the report's send to hand the response to the runtime: at most this,
/// and at most a twentieth of the invocation.
const FINISH_MARGIN: Duration = Duration::from_secs(1);

/// When work must stop and when the report must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// No work call runs past this: the report starts here at the latest.
    work_until: Option<SystemTime>,
    /// The report's send is abandoned at this point.
    report_until: Option<SystemTime>,
}

impl Deadline {
    /// From Lambda's deadline (milliseconds since the epoch; 0 when there is none, as in tests).
    /// Of the time left, a margin of at most [`FINISH_MARGIN`] (a twentieth) is kept for
    /// returning the response, `report_time` (at most a quarter) for sending the report, and
    /// the rest is for work. A deadline already past when the invocation starts is no real one
    /// (cargo-lambda's emulator sends the timeout itself, 600000): it is ignored rather than
    /// stopping all work.
    pub fn from_lambda(deadline_ms: u64, report_time: Duration) -> Deadline {
        let at = UNIX_EPOCH + Duration::from_millis(deadline_ms);
        let Ok(left) = at.duration_since(SystemTime::now()) else {
            return Deadline::none();
        };
        let report_until = at - FINISH_MARGIN.min(left / 20);
        let work_until = report_until - report_time.min(left / 4);
        Deadline {
            work_until: Some(work_until),
            report_until: Some(report_until),
        }
    }

    /// No deadline.
    pub fn none() -> Deadline {
        Deadline {
            work_until: None,
            report_until: None,
        }
    }

    /// The time left for work; `None` without a deadline.
    pub fn time_left(&self) -> Option<Duration> {
        self.work_until.map(until)
    }

    /// The time left to send the report; `None` without a deadline.
    pub fn report_time_left(&self) -> Option<Duration> {
        self.report_until.map(until)
    }

    /// Runs one AWS call of the work within the time left for work: it does not start when no
    /// time is left, and it is abandoned when the time runs out.
    pub async fn call<O, E>(&self, call: impl Future<Output = Result<O, E>>) -> Result<O, CallError>
    where
        E: IntoAwsError,
    {
        // Each branch awaits the call directly: no extra future around it, which would deepen
        // every caller's future type (the release build's layout has a depth limit).
        let result = match self.time_left() {
            None => call.await,
            Some(Duration::ZERO) => return Err(CallError::NotStarted),
            Some(left) => tokio::time::timeout(left, call)
                .await
                .map_err(|_| CallError::CutOff)?,
        };
        result.map_err(|e| CallError::Failed(e.into_aws_error()))
    }

    /// Runs the report's send within the time kept for it; `None` when that time ran out.
    pub async fn report<T>(&self, send: impl Future<Output = T>) -> Option<T> {
        match self.report_time_left() {
            None => Some(send.await),
            Some(left) => tokio::time::timeout(left, send).await.ok(),
        }
    }
}

fn until(at: SystemTime) -> Duration {
    at.duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::ErrorMetadata;

    fn ms_from_now(offset: i64) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        (now + offset) as u64
    }

    fn secs(d: Option<Duration>) -> f64 {
        d.expect("a deadline").as_secs_f64()
    }

    #[test]
    fn the_time_left_is_split_into_work_report_and_margin() {
        let report = Duration::from_secs(20);
        // The template's 300 s: 1 s margin, 20 s for the report, the rest for work.
        let roomy = Deadline::from_lambda(ms_from_now(300_000), report);
        assert!(
            (278.0..=279.0).contains(&secs(roomy.time_left())),
            "{roomy:?}"
        );
        assert!((298.0..=299.0).contains(&secs(roomy.report_time_left())));
        // 20 s: a quarter for the report, a twentieth as margin: 14 s of work.
        let short = Deadline::from_lambda(ms_from_now(20_000), report);
        assert!(
            (13.5..=14.0).contains(&secs(short.time_left())),
            "{short:?}"
        );
        assert!((18.5..=19.0).contains(&secs(short.report_time_left())));
        // 2 s: still some work, and the report still has its share.
        let tiny = Deadline::from_lambda(ms_from_now(2_000), report);
        assert!((1.2..=1.4).contains(&secs(tiny.time_left())), "{tiny:?}");
        assert!(tiny.time_left() > Some(Duration::ZERO), "not passed");
    }

    #[test]
    fn no_deadline_or_one_already_past_means_none() {
        let report = Duration::from_secs(20);
        assert_eq!(Deadline::from_lambda(0, report), Deadline::none());
        assert_eq!(
            Deadline::from_lambda(600_000, report),
            Deadline::none(),
            "the emulator's timeout, not a time"
        );
        assert_eq!(
            Deadline::from_lambda(ms_from_now(-1_000), report),
            Deadline::none()
        );
        assert!(Deadline::none().time_left().is_none(), "never passed");
        assert_eq!(Deadline::none().time_left(), None);
    }

    fn denied() -> ErrorMetadata {
        ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("no")
            .build()
    }

    #[tokio::test]
    async fn a_call_never_outlives_the_time_for_work() {
        let deadline = Deadline::from_lambda(ms_from_now(2_000), Duration::from_secs(20));
        let started = std::time::Instant::now();
        let hung = deadline
            .call(std::future::pending::<Result<(), ErrorMetadata>>())
            .await;
        assert_eq!(hung, Err(CallError::CutOff));
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            deadline.call(async { Ok::<_, ErrorMetadata>(()) }).await,
            Err(CallError::NotStarted),
            "no call starts once the time for work is over"
        );
        let failed = Deadline::none()
            .call(async { Err::<(), _>(denied()) })
            .await;
        let failed = failed.unwrap_err();
        assert!(failed.is("AccessDeniedException"));
        assert_eq!(failed.to_string(), "AccessDeniedException: no");
    }

    #[test]
    fn the_default_limits_fit_the_templates_timeout() {
        let l = Limits::default();
        assert!(l.attempt_timeout < l.operation_timeout);
        let template = include_str!("../template.yaml");
        let timeout: u64 = template
            .lines()
            .find_map(|line| line.trim().strip_prefix("Timeout: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the template sets the function's Timeout");
        assert!(
            Duration::from_secs(timeout) >= l.report_time * 10,
            "the report's share leaves most of the {timeout} s for work"
        );
    }
}

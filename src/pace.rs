//! Pacing: every member call waits for its (region, operation)'s [`Pace`] instead of leaning
//! on retries. A pace is a token bucket that starts at the service's documented rate (Security
//! Hub: 10 requests a second, burst 30) or unpaced (GuardDuty documents none), and adapts to the
//! throttling the service answers with:
//!
//! - on a throttled call, the rate becomes 80 % of what the service let through: the calls that
//!   passed since the previous cut over that time, or in the last second for the first one. The
//!   bucket is emptied, as the service's is. Throttles of calls already in flight at a cut (within
//!   [`GRACE`] of it) do not cut again;
//! - the operation's siblings on the same client that were still unpaced start at that rate
//!   too: a service that throttles one member operation at some rate tends to throttle its
//!   neighbours alike, and each learns its own rate on its own first throttle;
//! - without throttling, a learnt rate creeps up by 2.5 % a second (at least 0.5 request a
//!   second each second), so a limit that was misread, or that the service raised, is found
//!   again.
//!
//! A throttled call is sent again through its pace ([`Paces::send`]), never by the SDK's
//! retry, whose back-off knows nothing of the rate: [`ThrottlesArePaced`] keeps the SDK from
//! retrying throttles on the paced clients (the code in the header or only in the body), while
//! it still retries 5xx answers and dropped connections; and it counts every attempt of a call,
//! so that a call makes at most `Limits::max_attempts` (8) attempts in all, the SDK's retries and
//! the pace's resends together.
//!
//! Measured against the SDK's adaptive retry mode (`RetryConfig::adaptive()`, the same 8 attempts
//! and back-off) through real GuardDuty clients over a stand-in with a token bucket per operation,
//! on tokio's paused clock with the SDK's time source and sleep on it: at an unknown 10 calls a
//! second per operation, 1,000 accounts (20 batches, 4 at once) took 1.47 s with the pace and 5.2 s
//! with adaptive retry (median of 9 runs started at different points of its half-second measuring
//! slots; at some it is as fast as the pace), and 80 batches 7.5 s against 10.5 s, each with 1 to 4
//! throttled attempts; a documented 10/s on a service at 5/s, 7.5 s against 10.3 s (8 throttled
//! attempts against 5, of about 125); without a limit, 0.30 s both. Adaptive retry cuts the whole
//! client to about 1.2 requests a second at the first throttle and a throttled call's retry waits
//! its longest back-off; a limiter per operation did not change that. The standard retry alone is
//! as fast, but a fifth to over a third of its attempts are throttled, calls reach 8 attempts, and
//! a call can fail after them. So the pace stays: it is measurably better wherever a limit is met,
//! and the same where none is.
//!
//! A call whose turn would come only after the time for work has run out is not waited for: it
//! is reported as not attempted, like any call the deadline stops.
//!
//! Paces live as long as the process, so back-to-back invocations of a warm function start at
//! what was learnt.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;
use tracing::info;

use crate::aws_error::{CallError, IntoAwsError, is_throttling_code};
use crate::limits::Deadline;

/// A pace after throttling keeps this share of the observed rate.
const BACK_OFF: f64 = 0.8;
/// Growth of the rate per second without throttling: this share of it, and at least
/// [`CREEP_MIN`] requests a second more each second.
const CREEP_PER_SECOND: f64 = 0.025;
const CREEP_MIN: f64 = 0.5;
/// Never slower than this, whatever was observed.
const FLOOR_PER_SECOND: f64 = 1.0;
/// The window over which passed calls are counted for the first throttle.
const WINDOW: Duration = Duration::from_secs(1);
/// Throttles this soon after a cut are of calls sent before it: they do not cut again.
pub const GRACE: Duration = Duration::from_millis(500);

/// One operation's pace in one region.
#[derive(Debug)]
pub struct Pace {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests a second, and the bucket's size; `None` sends at once.
    rate: Option<(f64, f64)>,
    /// When the rate was last set (it creeps up from there).
    set_at: Instant,
    tokens: f64,
    at: Instant,
    /// When the calls that passed in the last [`WINDOW`] were answered.
    recent: VecDeque<Instant>,
    /// The last throttle, and the calls that passed since.
    last_throttle: Option<(Instant, u32)>,
    throttled: u32,
}

impl Pace {
    /// A pace for a service that documents its rate.
    pub fn documented(per_second: u32, burst: u32) -> Pace {
        let burst = f64::from(burst.max(1));
        Pace::with(Some((f64::from(per_second.max(1)), burst)), burst)
    }

    /// A pace for a service that documents none: unpaced until it throttles.
    pub fn unknown() -> Pace {
        Pace::with(None, 0.0)
    }

    fn with(rate: Option<(f64, f64)>, tokens: f64) -> Pace {
        let now = Instant::now();
        Pace {
            state: Mutex::new(State {
                rate,
                set_at: now,
                tokens,
                at: now,
                recent: VecDeque::new(),
                last_throttle: None,
                throttled: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a call may be sent, and takes its token.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.state();
            let now = Instant::now();
            match s.current_rate(now) {
                None => Duration::ZERO,
                Some((per_second, burst)) => {
                    let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
                    s.tokens = (s.tokens + elapsed * per_second).min(burst);
                    s.at = now;
                    // The token is taken now, even if it is only earned later: waiters queue up
                    // fairly.
                    s.tokens -= 1.0;
                    if s.tokens >= 0.0 {
                        Duration::ZERO
                    } else {
                        Duration::from_secs_f64(-s.tokens / per_second)
                    }
                }
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// An attempt the service answered without throttling.
    pub fn passed(&self) {
        let mut s = self.state();
        let now = Instant::now();
        s.recent.push_back(now);
        while s
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            s.recent.pop_front();
        }
        if let Some((_, passed)) = s.last_throttle.as_mut() {
            *passed += 1;
        }
    }

    /// A call the service throttled. Returns the new rate, in requests a second, if it was cut.
    pub fn throttled(&self) -> Option<f64> {
        let mut s = self.state();
        let now = Instant::now();
        s.throttled += 1;
        if s.last_throttle
            .is_some_and(|(at, _)| now.saturating_duration_since(at) < GRACE)
        {
            return None;
        }
        let observed = match s.last_throttle {
            // At least GRACE ago: a span long enough to read a rate from.
            Some((since, passed)) => {
                f64::from(passed) / now.saturating_duration_since(since).as_secs_f64()
            }
            None => s
                .recent
                .iter()
                .filter(|t| now.saturating_duration_since(**t) <= WINDOW)
                .count() as f64,
        };
        let mut per_second = observed * BACK_OFF;
        if let Some((current, _)) = s.current_rate(now) {
            per_second = per_second.min(current * BACK_OFF);
        }
        let per_second = per_second.max(FLOOR_PER_SECOND);
        s.learn(per_second, now);
        Some(per_second)
    }

    /// Starts an unpaced pace at a rate a sibling learnt; a paced one keeps its own.
    fn adopt(&self, per_second: f64) {
        let mut s = self.state();
        if s.rate.is_none() {
            s.learn(per_second, Instant::now());
        }
    }

    /// How many attempts were throttled, over the life of the process.
    pub fn throttles(&self) -> u32 {
        self.state().throttled
    }

    /// The rate now, in requests a second; `None` when unpaced.
    pub fn rate(&self) -> Option<f64> {
        self.state().current_rate(Instant::now()).map(|(r, _)| r)
    }
}

impl State {
    /// Paces at a learnt rate from `now`, with an empty bucket (the service's is empty too)
    /// and no burst.
    fn learn(&mut self, per_second: f64, now: Instant) {
        self.rate = Some((per_second, 1.0));
        self.set_at = now;
        self.tokens = 0.0;
        self.at = now;
        self.last_throttle = Some((now, 0));
    }

    /// The rate with its creep since it was set, and the bucket's size.
    fn current_rate(&self, now: Instant) -> Option<(f64, f64)> {
        let (per_second, burst) = self.rate?;
        if self.last_throttle.is_none() {
            // A documented rate is the service's word: it does not creep.
            return Some((per_second, burst));
        }
        let quiet = now.saturating_duration_since(self.set_at).as_secs_f64();
        Some((
            per_second + (per_second * CREEP_PER_SECOND).max(CREEP_MIN) * quiet,
            burst,
        ))
    }
}

tokio::task_local! {
    /// The attempts of the call [`Paces::send`] is sending: the SDK's retries and the pace's
    /// resends count alike.
    static ATTEMPTS: Attempts;
}

/// One call's attempts so far, and how many it may make in all.
#[derive(Debug)]
struct Attempts {
    made: Cell<u32>,
    limit: u32,
}

impl Attempts {
    fn spent(&self) -> bool {
        self.made.get() >= self.limit
    }
}

/// On a paced client, as retry classifier and as interceptor:
/// - the SDK does not retry a throttled answer, whether its code is in the `x-amzn-ErrorType`
///   header or only in the body: [`Paces::send`] sends it again through the pace;
/// - while [`Paces::send`] sends a call, the interceptor counts the call's attempts, and the SDK
///   retries nothing (a 5xx, a dropped connection) once the call's attempts are spent.
///
/// So a call makes at most the [`Paces`]' `attempts` in all, the SDK's retries included
/// (`Limits::max_attempts`, 8). Without that count, a throttle coded only in the body was retried
/// by the SDK 8 times within each of the pace's 8 sends: 64 attempts for one call, measured
/// before this bound; `pace/adaptive_tests.rs` now holds every form of throttle to 8. A call sent outside [`Paces::send`] has no count, and the SDK's
/// standard retry applies, throttles excepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThrottlesArePaced;

/// An error answer's code as the SDK's JSON protocols read it: the `x-amzn-ErrorType` header,
/// else the body's `code`, else its `__type`, without a `:…` suffix or a `namespace#` prefix.
fn error_code(response: &HttpResponse) -> Option<String> {
    let code = match response.headers().get("x-amzn-errortype") {
        Some(code) => code.to_owned(),
        None => {
            let body: serde_json::Value = serde_json::from_slice(response.body().bytes()?).ok()?;
            let code = body.get("code").or_else(|| body.get("__type"))?;
            code.as_str()?.to_owned()
        }
    };
    let code = code.split(':').next().unwrap_or_default();
    Some(code.split_once('#').map_or(code, |(_, c)| c).to_owned())
}

impl ClassifyRetry for ThrottlesArePaced {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if ATTEMPTS.try_with(Attempts::spent).unwrap_or(false) {
            return RetryAction::RetryForbidden;
        }
        // Every answer the SDK would retry as a throttle is left to [`Paces::send`], which sends
        // again what is a throttle and reports what is a quota reached
        // ([`crate::aws_error::is_throttle`]).
        let throttled = ctx.response().is_some_and(|response| {
            !response.status().is_success()
                && error_code(response).is_some_and(|code| is_throttling_code(&code))
        });
        if throttled {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "ThrottlesArePaced"
    }
}

impl Intercept for ThrottlesArePaced {
    fn name(&self) -> &'static str {
        "ThrottlesArePaced"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Outside `Paces::send` there is no count.
        let _ = ATTEMPTS.try_with(|a| a.made.set(a.made.get() + 1));
        Ok(())
    }
}

/// The paces of one service's client in one region, by operation name as the SDK names it.
#[derive(Debug)]
pub struct Paces {
    region: String,
    service: &'static str,
    by_operation: HashMap<&'static str, Pace>,
    /// How many attempts a call makes at most, the first included: the SDK's retries and the
    /// pace's resends together.
    attempts: u32,
}

impl Paces {
    /// A pace for each of `operations`, made by `start`; a call makes at most `attempts`
    /// attempts, the SDK's retries and the pace's resends together.
    pub fn new(
        service: &'static str,
        region: &str,
        operations: &[&'static str],
        start: impl Fn() -> Pace,
        attempts: u32,
    ) -> Paces {
        Paces {
            region: region.to_owned(),
            service,
            by_operation: operations.iter().map(|op| (*op, start())).collect(),
            attempts: attempts.max(1),
        }
    }

    /// Sends `operation` through its pace within the deadline, and again through the pace
    /// while the service throttles it: at most `attempts` attempts in all, the SDK's retries of
    /// the same call included (counted by [`ThrottlesArePaced`]).
    pub async fn send<O, E, F>(
        &self,
        operation: &str,
        deadline: Deadline,
        mut call: impl FnMut() -> F,
    ) -> Result<O, CallError>
    where
        F: Future<Output = Result<O, E>>,
        E: IntoAwsError,
    {
        debug_assert!(
            self.by_operation.contains_key(operation),
            "{operation} has no pace: add it to the adapter's OPERATIONS"
        );
        let attempts = Attempts {
            made: Cell::new(0),
            limit: self.attempts,
        };
        ATTEMPTS
            .scope(attempts, async {
                loop {
                    // A turn that comes only after the time for work has run out is not
                    // waited for.
                    match deadline.time_left() {
                        None => self.acquire(operation).await,
                        Some(left) => tokio::time::timeout(left, self.acquire(operation))
                            .await
                            .map_err(|_| CallError::NotStarted)?,
                    }
                    let before = ATTEMPTS.with(|a| a.made.get());
                    // Boxed: the loop would otherwise deepen every caller's future type.
                    let result = Box::pin(deadline.call(call())).await;
                    // A send counts once at least, where no SDK client counted its attempts.
                    ATTEMPTS.with(|a| {
                        if a.made.get() == before {
                            a.made.set(before + 1);
                        }
                    });
                    let throttled = result.as_ref().is_err_and(CallError::is_throttling);
                    // A call the deadline stopped says nothing of the service's rate.
                    if !matches!(result, Err(CallError::NotStarted | CallError::CutOff)) {
                        self.record(operation, throttled);
                    }
                    if !throttled || ATTEMPTS.with(Attempts::spent) {
                        return result;
                    }
                }
            })
            .await
    }

    /// Every page of a paged `operation`, each sent through [`Paces::send`] and handed to `each`:
    /// `page` sends the page of a token, `next` reads the following token from a page. Paging
    /// stops on no token, an empty one, or the token just used, as the SDK's own paginators do
    /// (their `into_paginator()` cannot go through a pace, which holds each page's call).
    pub async fn send_pages<O, E, F>(
        &self,
        operation: &str,
        deadline: Deadline,
        mut page: impl FnMut(Option<String>) -> F,
        next: impl Fn(&O) -> Option<&str>,
        mut each: impl FnMut(O),
    ) -> Result<(), CallError>
    where
        F: Future<Output = Result<O, E>>,
        E: IntoAwsError,
    {
        let mut token: Option<String> = None;
        loop {
            let output = self
                .send(operation, deadline, || page(token.clone()))
                .await?;
            let following = next(&output)
                .filter(|n| !n.is_empty() && token.as_deref() != Some(*n))
                .map(str::to_owned);
            each(output);
            match following {
                Some(n) => token = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Waits for `operation`'s pace; an operation without one goes at once.
    async fn acquire(&self, operation: &str) {
        if let Some(pace) = self.by_operation.get(operation) {
            pace.acquire().await;
        }
    }

    /// Records an attempt's answer: throttled or not.
    fn record(&self, operation: &str, throttled: bool) {
        let Some(pace) = self.by_operation.get(operation) else {
            return;
        };
        if throttled {
            let Some(per_second) = pace.throttled() else {
                return;
            };
            for (other, sibling) in &self.by_operation {
                if *other != operation {
                    sibling.adopt(per_second);
                }
            }
            info!(
                service = self.service,
                region = %self.region,
                operation,
                per_second = format!("{per_second:.1}"),
                "throttled: pacing at the rate the service let through"
            );
        } else {
            pace.passed();
        }
    }

    /// `operation`'s pace, if it has one.
    pub fn get(&self, operation: &str) -> Option<&Pace> {
        self.by_operation.get(operation)
    }
}

#[cfg(test)]
mod adaptive_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::ErrorMetadata;
    use futures::StreamExt;
    use std::sync::Arc;

    const OPS: [&str; 3] = ["GetMembers", "CreateMembers", "InviteMembers"];

    /// A service's token buckets, one per operation: `per_second` refill, a burst the same.
    struct Service {
        per_second: Option<f64>,
        buckets: Mutex<HashMap<&'static str, (f64, Instant)>>,
        calls: Mutex<(u32, u32)>,
    }

    impl Service {
        fn new(per_second: Option<f64>) -> Arc<Service> {
            Arc::new(Service {
                per_second,
                buckets: Mutex::new(HashMap::new()),
                calls: Mutex::new((0, 0)),
            })
        }

        /// One call taking 20 ms: throttled when the operation's bucket is empty.
        async fn call(&self, op: &'static str) -> Result<(), ErrorMetadata> {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let admitted = self.per_second.is_none_or(|rate| {
                let mut buckets = self.buckets.lock().unwrap();
                let now = Instant::now();
                let (tokens, at) = buckets.entry(op).or_insert((rate, now));
                *tokens =
                    (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(rate);
                *at = now;
                let ok = *tokens >= 1.0;
                if ok {
                    *tokens -= 1.0;
                }
                ok
            });
            let mut calls = self.calls.lock().unwrap();
            calls.0 += 1;
            if admitted {
                Ok(())
            } else {
                calls.1 += 1;
                Err(ErrorMetadata::builder()
                    .code("TooManyRequestsException")
                    .message("Rate exceeded")
                    .build())
            }
        }
    }

    /// `batches` batches, `concurrency` at once, each sending the three operations in turn
    /// through `paces`: returns (seconds taken, calls, throttled calls).
    async fn pipeline(
        paces: &Paces,
        service: &Service,
        batches: usize,
        concurrency: usize,
    ) -> (f64, u32, u32) {
        let start = Instant::now();
        futures::stream::iter(0..batches)
            .map(|_| async {
                for op in OPS {
                    paces
                        .send(op, Deadline::none(), || service.call(op))
                        .await
                        .expect("sent within the attempts");
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await;
        let (calls, throttled) = *service.calls.lock().unwrap();
        (start.elapsed().as_secs_f64(), calls, throttled)
    }

    fn unknown_paces() -> Paces {
        Paces::new("GuardDuty", "us-east-1", &OPS, Pace::unknown, 8)
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_limit_is_learnt_with_few_throttles_near_the_rate_floor() {
        let service = Service::new(Some(10.0));
        let (took, calls, throttled) = pipeline(&unknown_paces(), &service, 20, 4).await;
        // 20 calls of each operation at 10 a second: the rate floor is 2 s.
        assert!(took <= 1.5 * 2.0, "took {took} s");
        assert!(
            f64::from(throttled) <= 0.05 * f64::from(calls),
            "{throttled} of {calls} calls throttled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_throttling_nothing_is_paced() {
        let service = Service::new(None);
        let paces = unknown_paces();
        let (took, calls, _) = pipeline(&paces, &service, 20, 4).await;
        assert_eq!(calls, 60);
        // Five rounds of three 20 ms calls.
        assert!((took - 0.3).abs() < 0.001, "took {took} s");
        assert!(
            OPS.iter()
                .all(|op| paces.get(op).and_then(Pace::rate).is_none())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_documented_rate_too_high_for_the_service_adapts_too() {
        let service = Service::new(Some(5.0));
        let paces = Paces::new(
            "SecurityHub",
            "us-east-1",
            &OPS,
            || Pace::documented(10, 30),
            8,
        );
        let (took, calls, throttled) = pipeline(&paces, &service, 40, 4).await;
        assert!(
            took <= 1.5 * 8.0,
            "40 calls an operation at 5/s: took {took} s"
        );
        assert!(
            f64::from(throttled) <= 0.1 * f64::from(calls),
            "{throttled} of {calls} calls throttled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_throttled_at_every_attempt_gives_up_with_the_services_words() {
        let service = Service::new(Some(1.0));
        // Use the one token, then every attempt is throttled while the rate is far below 1/s.
        service.call("GetMembers").await.expect("the burst");
        let paces = Paces::new("GuardDuty", "us-east-1", &OPS, Pace::unknown, 1);
        let error = paces
            .send("GetMembers", Deadline::none(), || {
                service.call("GetMembers")
            })
            .await
            .expect_err("throttled");
        assert!(error.is_throttling());
        assert_eq!(error.to_string(), "TooManyRequestsException: Rate exceeded");
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_after_the_time_for_work_is_not_waited_for() {
        let service = Service::new(None);
        let paces = Paces::new(
            "SecurityHub",
            "us-east-1",
            &OPS,
            || Pace::documented(1, 1),
            8,
        );
        // 4.7 s of work (the rest of 6 s is kept for the report and the response): at 1 a
        // second, 10 calls queued at once cannot all have their turn.
        let lambda_deadline = std::time::SystemTime::now() + Duration::from_secs(6);
        let deadline = Deadline::from_lambda(
            lambda_deadline
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after the epoch")
                .as_millis() as u64,
            Duration::from_secs(1),
        );
        let work = deadline.time_left().expect("a deadline");
        let start = Instant::now();
        let results = futures::future::join_all(
            (0..10).map(|_| paces.send("GetMembers", deadline, || service.call("GetMembers"))),
        )
        .await;
        // The timer's millisecond is the only slack.
        assert!(
            start.elapsed() <= work + Duration::from_millis(2),
            "waited {:?} of {work:?}",
            start.elapsed()
        );
        let sent = results.iter().filter(|r| r.is_ok()).count();
        assert!(
            (4..=5).contains(&sent),
            "{sent} sent in 4.7 s at 1 a second"
        );
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| *e == CallError::NotStarted),
            "the others are reported as not attempted: {results:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_documented_burst_goes_at_once_and_the_rest_at_the_rate() {
        let pace = Pace::documented(10, 30);
        let start = Instant::now();
        for _ in 0..30 {
            pace.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst waits for nothing"
        );
        for _ in 0..20 {
            pace.acquire().await;
        }
        let waited = start.elapsed().as_secs_f64();
        assert!((1.99..=2.01).contains(&waited), "20 more at 10/s: {waited}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_creeps_back_up_without_throttling_and_in_flight_throttles_cut_once() {
        let pace = Pace::unknown();
        for _ in 0..10 {
            pace.passed();
        }
        let after = pace.throttled().expect("cut");
        assert!((after - 8.0).abs() < 1e-9, "80 % of 10 passed: {after}");
        assert_eq!(pace.throttled(), None, "in flight at the cut");
        tokio::time::advance(Duration::from_secs(10)).await;
        let later = pace.rate().expect("paced");
        assert!(
            (later - 13.0).abs() < 1e-6,
            "+0.5/s a second for 10 quiet s: {later}"
        );
        assert_eq!(pace.throttles(), 2);
    }

    #[test]
    fn siblings_start_at_a_learnt_rate_and_unknown_operations_are_ignored() {
        let paces = Paces::new("GuardDuty", "us-east-1", &OPS, Pace::unknown, 8);
        paces.record("ListDetectors", true);
        assert!(paces.get("ListDetectors").is_none());
        paces.record("GetMembers", true);
        assert_eq!(paces.get("GetMembers").map(Pace::throttles), Some(1));
        assert_eq!(paces.get("CreateMembers").map(Pace::throttles), Some(0));
        let rate = paces
            .get("CreateMembers")
            .and_then(Pace::rate)
            .expect("paced");
        assert!(
            (rate - FLOOR_PER_SECOND).abs() < 0.01,
            "nothing had passed: the floor, {rate}"
        );
    }
}

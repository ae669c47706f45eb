//! The pace measured against the SDK's own retry modes, through real GuardDuty clients
//! (serialisation, signing, retry classifiers, interceptors and retry strategy all real) over a
//! stand-in HTTP client on tokio's paused clock. The designs:
//!
//! - (a) ours: [`Paces::send`] over a client with [`ThrottlesArePaced`] as retry classifier and
//!   interceptor, as `service::guardduty::Clients::new` builds it;
//! - (b) the SDK's *adaptive* retry mode alone (`RetryConfig::adaptive()`, the same 8 attempts
//!   and back-off), also with a client (so a rate limiter) per operation, and with the SDK's
//!   Retry Behavior 2.1;
//! - (c) the SDK's *standard* retry mode alone.
//!
//! The SDK's time follows the paused clock: its time source and its sleep are tokio's, so the
//! adaptive rate limiter measures the simulated seconds. Its time source starts at a fixed
//! instant plus a chosen phase: the limiter measures the send rate in half-second buckets of the
//! wall clock, and where a run starts in such a bucket changes what it measures.
//!
//! The stand-in: a token bucket per operation (`per_second`, burst the same), 20 ms an attempt,
//! throttles as a 429 with the code in the `x-amzn-ErrorType` header, or with the code only in
//! the JSON body (as a 429 or a 400). The pipeline sends `batches` batches, 4 at once, each
//! `GetMembers`, `CreateMembers`, `InviteMembers` in turn.
//!
//! The results are the table in `src/pace.rs`'s opening comment. To print them:
//! `cargo test --lib pace::adaptive_tests::measure -- --ignored --nocapture` (the pace's rows
//! are deterministic; the others are the median [min–max] of runs at phases spread over the
//! half second, with the SDK's back-off jitter drawn at random).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_guardduty::config::{
    AsyncSleep, BehaviorVersion, Credentials, Region, SharedCredentialsProvider, Sleep,
};
use aws_sdk_guardduty::types::AccountDetail;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetrySpec;
use aws_types::sdk_config::TimeSource;
use futures::StreamExt;
use tokio::time::Instant;

use super::{Pace, Paces, ThrottlesArePaced, error_code};
use crate::aws_error::{CallError, IntoAwsError};
use crate::limits::{Deadline, Limits};

const OPS: [&str; 3] = ["GetMembers", "CreateMembers", "InviteMembers"];
const CALL_TIME: Duration = Duration::from_millis(20);
const CONCURRENCY: usize = 4;
const ACCOUNT: &str = "111122223333";

// ---------------------------------------------------------------------------------------------
// The SDK's time on tokio's paused clock.

/// The SDK's clock and sleep, both tokio's: a fixed wall time (a whole second, so the start of
/// one of the adaptive limiter's half-second buckets) plus `phase`, plus the paused clock's
/// elapsed time.
#[derive(Debug, Clone)]
struct PausedClock {
    wall: SystemTime,
    start: Instant,
}

impl PausedClock {
    fn at(phase: Duration) -> PausedClock {
        PausedClock {
            // 2026-01-01T00:00:00Z.
            wall: UNIX_EPOCH + Duration::from_secs(1_767_225_600) + phase,
            start: Instant::now(),
        }
    }
}

impl TimeSource for PausedClock {
    fn now(&self) -> SystemTime {
        self.wall + self.start.elapsed()
    }
}

impl AsyncSleep for PausedClock {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(duration))
    }
}

// ---------------------------------------------------------------------------------------------
// The service: GuardDuty's member operations over HTTP, with a token bucket per operation.

/// Where a throttle's code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Throttle {
    /// A 429 with `x-amzn-ErrorType: TooManyRequestsException`.
    Header,
    /// A 429 whose code is only the body's `__type`.
    Body429,
    /// A 400 whose code is only the body's `__type`.
    Body400,
}

const FORMS: [Throttle; 3] = [Throttle::Header, Throttle::Body429, Throttle::Body400];

#[derive(Debug, Clone, Copy)]
enum Answers {
    /// A token bucket per operation at this rate a second, its burst the same; `None`: no limit.
    Buckets(Option<f64>, Throttle),
    /// Every `n`th attempt of a call is throttled (the code in the header), every other one is a
    /// 500.
    FailingThenThrottled(u32),
}

#[derive(Debug, Default)]
struct Tally {
    attempts: u32,
    throttled: u32,
    /// Attempts by request path: one path is one call (its detector id names the call).
    by_call: HashMap<String, u32>,
    buckets: HashMap<&'static str, (f64, Instant)>,
}

#[derive(Debug)]
struct Service {
    answers: Answers,
    tally: Mutex<Tally>,
}

impl Service {
    fn new(answers: Answers) -> Arc<Service> {
        Arc::new(Service {
            answers,
            tally: Mutex::new(Tally::default()),
        })
    }

    /// The answer to one attempt, at its end (after [`CALL_TIME`]).
    fn answer(&self, uri: &str) -> HttpResponse {
        let Some((op, path)) = operation(uri) else {
            return response(404, Some("UnknownOperationException"), "{}");
        };
        let mut tally = self.tally();
        tally.attempts += 1;
        let nth = {
            let n = tally.by_call.entry(path.to_owned()).or_default();
            *n += 1;
            *n
        };
        let throttle = match self.answers {
            Answers::Buckets(None, _) => None,
            Answers::Buckets(Some(rate), form) => {
                let now = Instant::now();
                let (tokens, at) = tally.buckets.entry(op).or_insert((rate, now));
                *tokens =
                    (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(rate);
                *at = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    None
                } else {
                    Some(form)
                }
            }
            Answers::FailingThenThrottled(n) if nth % n == 0 => Some(Throttle::Header),
            Answers::FailingThenThrottled(_) => {
                return response(
                    500,
                    Some("InternalServerErrorException"),
                    r#"{"message":"Internal failure"}"#,
                );
            }
        };
        let Some(form) = throttle else {
            return match op {
                "GetMembers" => response(200, None, r#"{"members":[],"unprocessedAccounts":[]}"#),
                _ => response(200, None, r#"{"unprocessedAccounts":[]}"#),
            };
        };
        tally.throttled += 1;
        const IN_BODY: &str = r#"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#;
        match form {
            Throttle::Header => response(
                429,
                Some("TooManyRequestsException"),
                r#"{"message":"Rate exceeded"}"#,
            ),
            Throttle::Body429 => response(429, None, IN_BODY),
            Throttle::Body400 => response(400, None, IN_BODY),
        }
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap()
    }
}

/// The operation of a request, by GuardDuty's REST paths (the SDK's serialisers):
/// `POST /detector/{detectorId}/member/get`, `…/member`, `…/member/invite`; and the path, which
/// names the call.
fn operation(uri: &str) -> Option<(&'static str, &str)> {
    let path = &uri[uri.find("/detector/")?..];
    let path = path.split('?').next()?;
    let (_, tail) = path.strip_prefix("/detector/")?.split_once('/')?;
    let op = match tail {
        "member/get" => "GetMembers",
        "member" => "CreateMembers",
        "member/invite" => "InviteMembers",
        _ => return None,
    };
    Some((op, path))
}

fn response(status: u16, error_type: Option<&'static str>, body: &'static str) -> HttpResponse {
    let status = StatusCode::try_from(status).expect("a valid status");
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/json");
    if let Some(code) = error_type {
        response.headers_mut().insert("x-amzn-errortype", code);
    }
    response
}

/// The HTTP client: every attempt takes [`CALL_TIME`] on tokio's clock.
#[derive(Debug, Clone)]
struct StandIn(Arc<Service>);

impl HttpClient for StandIn {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for StandIn {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let service = self.0.clone();
        let uri = request.uri().to_owned();
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(CALL_TIME).await;
            Ok(service.answer(&uri))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The designs compared.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Design {
    /// (a) Ours: [`Paces::send`], standard retry with [`ThrottlesArePaced`] as classifier and
    /// interceptor.
    Paced,
    /// (b) The SDK's adaptive retry mode alone, no pace.
    Adaptive,
    /// (b) with a client (a rate limiter) per operation, as the pace has one per operation.
    AdaptivePerOperation,
    /// (b) with the SDK's Retry Behavior 2.1.
    AdaptiveV2_1,
    /// (c) The SDK's standard retry mode alone, no pace.
    Standard,
}

/// Distinct for every client: the SDK keeps a retry partition's adaptive rate limiter and retry
/// quota in a process-wide map, and the tests run in one process.
static PARTITIONS: AtomicUsize = AtomicUsize::new(0);

/// A GuardDuty client with the SDK configuration of the function ([`Limits::apply`]: standard
/// retry, 8 attempts, 200 ms to 5 s back-off), for `design`; its time is `clock`.
fn client(service: &Arc<Service>, design: Design, clock: &PausedClock) -> Client {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDSTANDIN",
            "stand-in",
            None,
            None,
            "stand-in",
        )))
        .http_client(StandIn(service.clone()))
        .time_source(clock.clone())
        .sleep_impl(clock.clone())
        .build();
    let limits = Limits::default();
    let sdk = limits.apply(&sdk);
    let partition = format!(
        "pace-adaptive-{}",
        PARTITIONS.fetch_add(1, Ordering::Relaxed)
    );
    let config = aws_sdk_guardduty::config::Builder::from(&sdk)
        .retry_partition(RetryPartition::new(partition));
    let config = match design {
        // As `service::guardduty::Clients::new` builds it.
        Design::Paced => config
            .retry_classifier(ThrottlesArePaced)
            .interceptor(ThrottlesArePaced),
        Design::Adaptive | Design::AdaptivePerOperation => config.retry_config(adaptive(&limits)),
        Design::AdaptiveV2_1 => {
            config.retry_config(adaptive(&limits).with_retry_spec(RetrySpec::v2_1()))
        }
        Design::Standard => config,
    };
    Client::from_conf(config.build())
}

/// The adaptive mode with the same attempts and back-off as the standard mode's.
fn adaptive(limits: &Limits) -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(limits.max_attempts)
        .with_initial_backoff(limits.initial_backoff)
        .with_max_backoff(limits.max_backoff)
}

/// How a call is sent: through the pace, or straight to the client.
#[derive(Clone, Copy)]
enum How<'a> {
    Direct,
    Paced(&'a Paces),
}

async fn send<O, E, F>(how: How<'_>, op: &str, mut call: impl FnMut() -> F) -> Result<(), CallError>
where
    F: Future<Output = Result<O, E>>,
    E: IntoAwsError,
{
    let deadline = Deadline::none();
    match how {
        How::Direct => deadline.call(call()).await.map(drop),
        How::Paced(paces) => paces.send(op, deadline, call).await.map(drop),
    }
}

/// One call of `op`; `detector` names the call in the request's path.
async fn call(client: &Client, how: How<'_>, op: &str, detector: &str) -> Result<(), CallError> {
    match op {
        "GetMembers" => {
            send(how, op, || {
                client
                    .get_members()
                    .detector_id(detector)
                    .account_ids(ACCOUNT)
                    .send()
            })
            .await
        }
        "CreateMembers" => {
            send(how, op, || {
                client
                    .create_members()
                    .detector_id(detector)
                    .account_details(
                        AccountDetail::builder()
                            .account_id(ACCOUNT)
                            .email("member@example.com")
                            .build(),
                    )
                    .send()
            })
            .await
        }
        _ => {
            send(how, op, || {
                client
                    .invite_members()
                    .detector_id(detector)
                    .account_ids(ACCOUNT)
                    .send()
            })
            .await
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    /// Seconds taken, on the paused clock.
    took: f64,
    /// Attempts the service answered, and how many of them it throttled.
    attempts: u32,
    throttled: u32,
    /// Calls that ended in an error.
    failed: u32,
    /// The most attempts any one call made, the SDK's retries and the pace's resends together.
    most: u32,
}

fn paces(documented: Option<(u32, u32)>) -> Paces {
    Paces::new(
        "GuardDuty",
        "us-east-1",
        &OPS,
        || match documented {
            Some((per_second, burst)) => Pace::documented(per_second, burst),
            None => Pace::unknown(),
        },
        Limits::default().max_attempts,
    )
}

fn how(design: Design, paces: &Paces) -> How<'_> {
    match design {
        Design::Paced => How::Paced(paces),
        _ => How::Direct,
    }
}

/// `batches` batches, [`CONCURRENCY`] at once, each sending the three operations in turn.
async fn pipeline(
    service: &Arc<Service>,
    design: Design,
    phase: Duration,
    documented: Option<(u32, u32)>,
    batches: usize,
) -> Run {
    let clock = PausedClock::at(phase);
    let one = client(service, design, &clock);
    let clients: Vec<Client> = OPS
        .iter()
        .map(|_| match design {
            Design::AdaptivePerOperation => client(service, design, &clock),
            _ => one.clone(),
        })
        .collect();
    let paces = paces(documented);
    let how = how(design, &paces);
    let start = Instant::now();
    let clients = &clients;
    let failed = futures::stream::iter(0..batches)
        .map(|batch| async move {
            let detector = format!("batch-{batch}");
            let mut failed = 0;
            for (op, client) in OPS.iter().zip(clients) {
                if call(client, how, op, &detector).await.is_err() {
                    failed += 1;
                }
            }
            failed
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |all, failed| async move { all + failed })
        .await;
    let took = start.elapsed().as_secs_f64();
    let tally = service.tally();
    Run {
        took,
        attempts: tally.attempts,
        throttled: tally.throttled,
        failed,
        most: tally.by_call.values().copied().max().unwrap_or(0),
    }
}

/// A scenario of `pace.rs`'s `tests` module, and its targets.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    per_second: Option<f64>,
    batches: usize,
    /// The pace's documented rate and burst; `None`: unknown.
    documented: Option<(u32, u32)>,
    /// The least time the work can take: the calls of an operation over the rate, or the
    /// rounds of three 20 ms calls without a limit.
    floor: f64,
    /// The share of attempts that may be throttled.
    throttled_share: f64,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "unknown limit, 10/s, 20 batches",
        per_second: Some(10.0),
        batches: 20,
        documented: None,
        floor: 2.0,
        throttled_share: 0.05,
    },
    Scenario {
        name: "no limit, 20 batches",
        per_second: None,
        batches: 20,
        documented: None,
        floor: 0.3,
        throttled_share: 0.0,
    },
    Scenario {
        name: "documented 10/s, service 5/s, 40 batches",
        per_second: Some(5.0),
        batches: 40,
        documented: Some((10, 30)),
        floor: 8.0,
        throttled_share: 0.10,
    },
    Scenario {
        name: "unknown limit, 10/s, 80 batches",
        per_second: Some(10.0),
        batches: 80,
        documented: None,
        floor: 8.0,
        throttled_share: 0.05,
    },
];

async fn run(scenario: &Scenario, design: Design, form: Throttle, phase: Duration) -> Run {
    let service = Service::new(Answers::Buckets(scenario.per_second, form));
    pipeline(
        &service,
        design,
        phase,
        scenario.documented,
        scenario.batches,
    )
    .await
}

/// Whether a run meets the `tests` module's targets: within 1.5 × the floor, few throttles,
/// every call answered, no call beyond the attempts allowed.
fn meets_targets(scenario: &Scenario, run: &Run) -> bool {
    run.took <= 1.5 * scenario.floor
        && f64::from(run.throttled) <= scenario.throttled_share * f64::from(run.attempts)
        && run.failed == 0
        && run.most <= Limits::default().max_attempts
}

/// One call of `GetMembers` to `service`, sent as `design` sends it (`how` overrides that):
/// the attempts it made, and its result.
async fn one_call(
    service: &Arc<Service>,
    design: Design,
    how: Option<How<'_>>,
) -> (u32, Result<(), CallError>) {
    let client = client(service, design, &PausedClock::at(Duration::ZERO));
    let paces = paces(None);
    let how = how.unwrap_or(self::how(design, &paces));
    let result = call(&client, how, "GetMembers", "one").await;
    (service.tally().attempts, result)
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(start_paused = true)]
async fn the_pace_meets_its_targets_through_the_sdk_client() {
    for scenario in &SCENARIOS {
        let paced = run(scenario, Design::Paced, Throttle::Header, Duration::ZERO).await;
        assert!(
            meets_targets(scenario, &paced),
            "{}: {paced:?}",
            scenario.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttle_coded_only_in_the_body_is_paced_as_one_coded_in_the_header() {
    // Two scenarios with a limit (the 80 batches of the third take longest to simulate), the
    // 429 only in the quickest: the tests stay quick.
    for (scenario, forms) in [
        (&SCENARIOS[0], &[Throttle::Body429, Throttle::Body400][..]),
        (&SCENARIOS[2], &[Throttle::Body400][..]),
    ] {
        let header = run(scenario, Design::Paced, Throttle::Header, Duration::ZERO).await;
        assert!(header.throttled > 0, "{}: {header:?}", scenario.name);
        // The same attempts at the same times.
        for &form in forms {
            let body = run(scenario, Design::Paced, form, Duration::ZERO).await;
            assert_eq!(body, header, "{} ({form:?})", scenario.name);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn adaptive_retry_takes_longer_than_the_pace_at_an_unknown_limit() {
    // Each run is deterministic: the pace's is the same at any phase; adaptive's depends on the
    // phase of its half-second buckets (its delays come from its rate limiter, not from the
    // back-off's random jitter). Over phases spread across the half second, it takes 5.2 s at
    // most of them, and once less than the pace (1.41 s at 400 ms).
    let scenario = &SCENARIOS[0];
    let paced = run(scenario, Design::Paced, Throttle::Header, Duration::ZERO).await;
    let mut adaptive = Vec::new();
    for phase in phases(5) {
        adaptive.push(
            run(scenario, Design::Adaptive, Throttle::Header, phase)
                .await
                .took,
        );
    }
    adaptive.sort_by(f64::total_cmp);
    let median = adaptive[adaptive.len() / 2];
    assert!(
        median > 3.0 * paced.took,
        "adaptive {adaptive:?} s, the pace {} s",
        paced.took
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_throttled_at_every_attempt_makes_the_attempts_in_all_with_the_services_words() {
    let limit = Limits::default().max_attempts;
    for form in FORMS {
        let service = Service::new(Answers::Buckets(Some(0.0), form));
        let (attempts, result) = one_call(&service, Design::Paced, None).await;
        assert_eq!(
            attempts, limit,
            "{form:?}: the SDK's retries and the pace's resends"
        );
        let error = result.expect_err("throttled at every attempt");
        assert!(error.is_throttling(), "{form:?}: {error:?}");
        let aws = error.aws().expect("the service's answer");
        assert_eq!(aws.code(), Some("TooManyRequestsException"), "{form:?}");
        assert_eq!(aws.message(), Some("Rate exceeded"), "{form:?}");
        assert_eq!(
            error.to_string(),
            "TooManyRequestsException: Rate exceeded",
            "{form:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_then_a_throttle_over_and_over_stay_within_the_attempts() {
    let limit = Limits::default().max_attempts;
    // 500s that the SDK retries, then a throttle that the pace sends again, and so on: every
    // 2nd, 3rd... 8th attempt a throttle. The SDK's retries and the pace's resends count alike.
    for n in 2..=limit {
        let service = Service::new(Answers::FailingThenThrottled(n));
        let (attempts, result) = one_call(&service, Design::Paced, None).await;
        assert_eq!(attempts, limit, "a throttle every {n} attempts");
        let error = result.expect_err("no attempt answered");
        // The last attempt's answer: the 8th is a throttle where `n` divides 8.
        assert_eq!(
            error.is_throttling(),
            limit % n == 0,
            "a throttle every {n} attempts: {error}"
        );
    }
    // Sent straight to the same client, not through the pace: no count, and the SDK's own
    // standard retry, which retries the 500s and leaves the throttle to the pace.
    let service = Service::new(Answers::FailingThenThrottled(3));
    let direct = one_call(&service, Design::Paced, Some(How::Direct)).await;
    assert_eq!(direct.0, 3, "two 500s retried, the throttle not");
    assert!(direct.1.expect_err("throttled").is_throttling());
    let service = Service::new(Answers::Buckets(Some(0.0), Throttle::Body400));
    let (attempts, _) = one_call(&service, Design::Paced, Some(How::Direct)).await;
    assert_eq!(
        attempts, 1,
        "a throttle coded only in the body is not retried by the SDK"
    );
}

#[test]
fn an_error_code_is_read_as_the_sdk_reads_it() {
    let with = |status, header: Option<&'static str>, body: &'static str| {
        error_code(&response(status, header, body))
    };
    assert_eq!(
        with(429, Some("TooManyRequestsException:http://internal/"), "{}").as_deref(),
        Some("TooManyRequestsException")
    );
    assert_eq!(
        with(400, None, r#"{"__type":"com.amazon#ThrottlingException"}"#).as_deref(),
        Some("ThrottlingException")
    );
    assert_eq!(
        with(
            400,
            Some("BadRequestException"),
            r#"{"__type":"ThrottlingException"}"#
        )
        .as_deref(),
        Some("BadRequestException"),
        "the header comes first"
    );
    assert_eq!(
        with(
            400,
            None,
            r#"{"code":"LimitExceededException","__type":"X"}"#
        )
        .as_deref(),
        Some("LimitExceededException")
    );
    assert_eq!(with(400, None, "not json").as_deref(), None);
}

/// Phases of the SDK's clock spread over the adaptive limiter's half-second bucket.
fn phases(n: usize) -> impl Iterator<Item = Duration> {
    (0..n).map(move |i| Duration::from_millis(500) * i as u32 / n as u32)
}

/// The measurements: `cargo test --lib pace::adaptive_tests::measure -- --ignored --nocapture`.
/// The SDK's designs run `REPEATS` times, at phases spread over the half second and with the
/// back-off jitter drawn at random, shown as median [min–max].
#[tokio::test(start_paused = true)]
#[ignore = "prints the measurements"]
async fn measure() {
    const REPEATS: usize = 9;
    println!(
        "| scenario | design | s taken | attempts | throttled | failed calls | most attempts of a call |"
    );
    println!("|---|---|---|---|---|---|---|");
    for scenario in &SCENARIOS {
        let mut rows = vec![(Design::Paced, Throttle::Header, 1)];
        if scenario.per_second.is_some() {
            rows.push((Design::Paced, Throttle::Body429, 1));
            rows.push((Design::Paced, Throttle::Body400, 1));
        }
        rows.extend([
            (Design::Adaptive, Throttle::Header, REPEATS),
            (Design::AdaptivePerOperation, Throttle::Header, REPEATS),
            (Design::AdaptiveV2_1, Throttle::Header, REPEATS),
            (Design::Standard, Throttle::Header, REPEATS),
        ]);
        for (design, form, repeats) in rows {
            let mut runs = Vec::new();
            for phase in phases(repeats) {
                runs.push(run(scenario, design, form, phase).await);
            }
            print_row(scenario.name, &format!("{design:?}, {form:?}"), &runs);
        }
    }
    for answers in [
        Answers::Buckets(Some(0.0), Throttle::Header),
        Answers::Buckets(Some(0.0), Throttle::Body429),
        Answers::Buckets(Some(0.0), Throttle::Body400),
        Answers::FailingThenThrottled(8),
        Answers::FailingThenThrottled(3),
    ] {
        for design in [
            Design::Paced,
            Design::Adaptive,
            Design::AdaptiveV2_1,
            Design::Standard,
        ] {
            let service = Service::new(answers);
            let start = Instant::now();
            let (attempts, result) = one_call(&service, design, None).await;
            println!(
                "one call, {answers:?}, {design:?}: {attempts} attempts in {:.1} s, {}",
                start.elapsed().as_secs_f64(),
                match result {
                    Ok(()) => "answered".to_owned(),
                    Err(e) => e.to_string(),
                }
            );
        }
    }
}

fn print_row(scenario: &str, design: &str, runs: &[Run]) {
    fn spread<T: PartialOrd + Copy + std::fmt::Display>(mut v: Vec<T>, digits: usize) -> String {
        v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
        let (lo, mid, hi) = (v[0], v[v.len() / 2], v[v.len() - 1]);
        if v.len() == 1 {
            format!("{mid:.digits$}")
        } else {
            format!("{mid:.digits$} [{lo:.digits$}–{hi:.digits$}]")
        }
    }
    println!(
        "| {scenario} | {design} | {} | {} | {} | {} | {} |",
        spread(runs.iter().map(|r| r.took).collect(), 2),
        spread(runs.iter().map(|r| r.attempts).collect(), 0),
        spread(runs.iter().map(|r| r.throttled).collect(), 0),
        spread(runs.iter().map(|r| r.failed).collect(), 0),
        spread(runs.iter().map(|r| r.most).collect(), 0),
    );
}

//! What the end-to-end tests share: moto's server for SES v2, Organizations and STS, the
//! GuardDuty stand-in, SDK configuration pointed at both, and the handler built the way `main`
//! builds it.
//!
//! One moto server per test binary, started by the first test that asks for it and shared by
//! the binary's tests, which run at the same time on their own threads. Each test still has moto
//! to itself: it works in an AWS account of its own ([`Moto::fresh_account`]), and moto keeps
//! its state per account (Organizations, SES identities). Each test has its own stand-in, on a
//! free 127.0.0.1 port, stopped when the test ends.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::c_int;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use onboarder::limits::Limits;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_guardduty::config::{Credentials, Region};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use lambda_runtime::{Context, LambdaEvent};
use onboarder::outcome::{AccountOutcome, Counts, RegionOutcome};
use onboarder::response::Delivery;
use onboarder::{Answer, Config, HandlerError, Onboarder, Response, Run};
use serde_json::Value;
use standin::{Settings, Standin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The GuardDuty administrator account the function runs in.
pub const ADMIN_ACCOUNT: &str = "999999999999";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:999999999999:function:onboarder";
pub const SENDER: &str = "guardduty-onboarding@example.com";
pub const INVITATION: &str = "Welcome to the security organisation.";
pub const US: &str = "us-east-1";
pub const EU: &str = "eu-west-1";
pub const US_DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
pub const EU_DETECTOR: &str = "98fed76c543b2ae109dc8b76a54321e0";

/// The first of the moto accounts tests work in, one each: a range no test uses for members.
const FIRST_TEST_ACCOUNT: u64 = 710_000_000_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return path.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
}

/// Runs moto (`$0`, on port `$1`) until this shell's standard input closes, then stops it by
/// its process id and waits for it to be gone. The test binary holds the only writing end of
/// that pipe, and the kernel closes it when the binary ends, however it ends: a process that
/// watches from outside, since Rust does not drop statics at exit. moto keeps nothing worth a
/// clean shutdown, and SIGKILL ends it at once.
const WATCHDOG: &str = r#""$0" -H 127.0.0.1 -p "$1" </dev/null >/dev/null 2>&1 &
moto=$!
cat >/dev/null
kill -KILL "$moto"
wait "$moto""#;

/// The watchdog shell and the writing end of its standard input, until the binary exits.
static WATCHDOG_SHELL: Mutex<Option<(Child, ChildStdin)>> = Mutex::new(None);

unsafe extern "C" {
    /// C's `atexit`: the callback runs when the process calls `exit`, as libtest does at the end,
    /// whether the tests passed or failed.
    fn atexit(callback: extern "C" fn()) -> c_int;
}

/// At exit: closes the watchdog's pipe and waits until moto is gone, so that nothing of this
/// binary is left when `cargo test` moves on or ends. (A binary killed by a signal does not come
/// here; its watchdog stops moto all the same, a moment later.)
extern "C" fn stop_moto() {
    let shell = WATCHDOG_SHELL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some((mut shell, lifeline)) = shell {
        drop(lifeline);
        let _ = shell.wait();
    }
}

/// The binary's moto server (its endpoint), started on first use; tests that ask meanwhile
/// wait until it answers.
fn server() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let binary = moto_binary();
        assert!(
            binary.exists(),
            "{} is missing: run scripts/test, which installs moto into .venv",
            binary.display()
        );
        let port = free_port();
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(&binary)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts moto_server");
        let lifeline = shell.stdin.take().expect("the watchdog's stdin is a pipe");
        *WATCHDOG_SHELL.lock().unwrap_or_else(|e| e.into_inner()) = Some((shell, lifeline));
        // SAFETY: registers a plain function without arguments, as `atexit` expects.
        let registered = unsafe { atexit(stop_moto) };
        assert_eq!(registered, 0, "atexit registers the moto shutdown");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while blocking_get(&endpoint, "/moto-api/").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer on {endpoint} within 60 s (try {} -p {port} by hand)",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        endpoint
    })
}

/// A plain HTTP/1.1 GET without a runtime, for the wait before moto answers; `None` when the
/// server does not answer 200.
fn blocking_get(endpoint: &str, path: &str) -> Option<String> {
    let authority = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// moto as one test sees it: the binary's server, and an AWS account there that is the test's
/// alone.
pub struct Moto {
    pub endpoint: String,
    /// The account the test's calls to moto run in. Not [`ADMIN_ACCOUNT`]: the stand-in is told
    /// that these credentials are the administrator's.
    pub account: String,
    /// Keys from STS `AssumeRole` of a role in `account`.
    pub credentials: Credentials,
    /// Where the test's reports go: moto lists every account's sent mail together, without
    /// saying whose, so each test has an address of its own.
    pub recipient: String,
}

impl Moto {
    /// A new account on the binary's moto server (started if it is not yet).
    ///
    /// moto takes the account of a request from its access key: a key from STS `AssumeRole` of
    /// `arn:aws:iam::ACCOUNT:role/…` is ACCOUNT's, any key it did not issue is its default
    /// account's (moto 5.2's `iam/models.py`, `get_account_id_from`). So an `AssumeRole` with
    /// any key gives the test keys to an empty account: its own Organization, its own SES
    /// identities.
    pub async fn fresh_account() -> Moto {
        static NEXT: AtomicU64 = AtomicU64::new(FIRST_TEST_ACCOUNT);
        let endpoint = server().to_owned();
        let account = format!("{:012}", NEXT.fetch_add(1, Ordering::Relaxed));
        let anyone = aws_config::defaults(BehaviorVersion::latest())
            .http_client(onboarder::sdk::https_client())
            .region(Region::new(US))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new(
                "AKIDTEST",
                "test-secret",
                None,
                None,
                "tests",
            ))
            .load()
            .await;
        let assumed = aws_sdk_sts::Client::new(&anyone)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/onboarder-tests"))
            .role_session_name("tests")
            .send()
            .await
            .expect("moto's STS assumes a role in a new account");
        let keys = assumed.credentials().expect("AssumeRole returns keys");
        let credentials = Credentials::new(
            keys.access_key_id(),
            keys.secret_access_key(),
            Some(keys.session_token().to_owned()),
            None,
            "tests",
        );
        Moto {
            endpoint,
            recipient: format!("secops+{account}@example.com"),
            account,
            credentials,
        }
    }

    /// The messages SES "sent" to this test's recipient, in order, as moto records them:
    /// source, destinations, subject, body (the HTML part).
    pub async fn sent_messages(&self) -> Vec<Value> {
        let body = http_get(&self.endpoint, "/moto-api/data.json")
            .await
            .expect("moto answers /moto-api/data.json");
        let mut data: Value = serde_json::from_str(&body).expect("moto's data is JSON");
        let mut messages = match data["ses"]["Message"].take() {
            Value::Array(messages) => messages,
            _ => Vec::new(),
        };
        messages.retain(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to| to.iter().any(|a| a == self.recipient.as_str()))
        });
        messages
    }
}

/// A plain HTTP/1.1 GET; `None` when the server does not answer 200.
async fn http_get(endpoint: &str, path: &str) -> Option<String> {
    let authority = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Service-specific endpoints, looked up the way the SDK reads `AWS_ENDPOINT_URL_<SERVICE>`, but
/// without touching the process environment that tests share.
#[derive(Debug)]
struct Endpoints(HashMap<String, String>);

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let variable = format!(
            "{}_{}",
            key.env(),
            key.service_id().to_uppercase().replace(' ', "_")
        );
        self.0.get(&variable).cloned()
    }
}

/// SDK configuration for us-east-1 with the test's moto credentials, the SDK pointed at moto
/// and the stand-in, except where `overrides` names another endpoint for a service variable.
pub async fn sdk_config(moto: &Moto, standin: &Standin, overrides: &[(&str, String)]) -> SdkConfig {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .http_client(onboarder::sdk::https_client())
        .region(Region::new(US))
        .credentials_provider(moto.credentials.clone())
        .load()
        .await;
    let mut endpoints = HashMap::from([
        ("AWS_ENDPOINT_URL_GUARDDUTY".to_owned(), standin.endpoint()),
        (
            "AWS_ENDPOINT_URL_SECURITYHUB".to_owned(),
            standin.endpoint(),
        ),
        ("AWS_ENDPOINT_URL_ACCOUNT".to_owned(), standin.endpoint()),
        ("AWS_ENDPOINT_URL_STS".to_owned(), moto.endpoint.clone()),
        ("AWS_ENDPOINT_URL_SESV2".to_owned(), moto.endpoint.clone()),
        (
            "AWS_ENDPOINT_URL_ORGANIZATIONS".to_owned(),
            moto.endpoint.clone(),
        ),
    ]);
    for (variable, url) in overrides {
        endpoints.insert(variable.to_string(), url.clone());
    }
    base.to_builder()
        .service_config(Endpoints(endpoints))
        .build()
}

/// Retries and timeouts for tests: the production shape, with short waits.
pub const TEST_LIMITS: Limits = Limits {
    max_attempts: 8,
    initial_backoff: Duration::from_millis(5),
    max_backoff: Duration::from_millis(50),
    connect_timeout: Duration::from_secs(2),
    attempt_timeout: Duration::from_secs(5),
    operation_timeout: Duration::from_secs(20),
    report_time: Duration::from_secs(20),
    batch_concurrency: onboarder::limits::BATCH_CONCURRENCY,
    member_concurrency: onboarder::limits::MEMBER_CONCURRENCY,
};

/// Everything one test needs: moto, the stand-in, the SDK configuration.
pub struct World {
    pub moto: Moto,
    pub standin: Standin,
    pub sdk: SdkConfig,
}

impl World {
    /// moto and a stand-in with a detector in us-east-1 and eu-west-1.
    pub async fn start() -> World {
        World::with_detectors(&[(US, US_DETECTOR), (EU, EU_DETECTOR)]).await
    }

    pub async fn with_detectors(detectors: &[(&str, &str)]) -> World {
        let moto = Moto::fresh_account().await;
        let standin = Standin::start(Settings {
            admin_account: ADMIN_ACCOUNT.to_owned(),
            detectors: detectors
                .iter()
                .map(|(r, d)| (r.to_string(), d.to_string()))
                .collect(),
        })
        .await
        .expect("the stand-in starts");
        // Member-account calls carry credentials from moto's AssumeRole: moto says whose.
        standin.set_sts_endpoint(&moto.endpoint);
        // So do the test's own, which moto would say are the test's moto account's: they are
        // the administrator's.
        standin.set_identity(moto.credentials.access_key_id(), ADMIN_ACCOUNT);
        let sdk = sdk_config(&moto, &standin, &[]).await;
        World { moto, standin, sdk }
    }

    /// Makes `REPORT_SENDER` a verified SES identity.
    pub async fn verify_sender(&self) {
        aws_sdk_sesv2::Client::new(&self.sdk)
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .expect("moto creates the identity");
    }

    /// Creates the organisation (once) and one account in it; returns the account's id.
    pub async fn create_account(&self, email: &str) -> String {
        self.create_named_account(email, email.split('@').next().unwrap_or("account"))
            .await
    }

    /// As [`World::create_account`], with the account's name.
    pub async fn create_named_account(&self, email: &str, name: &str) -> String {
        let org = aws_sdk_organizations::Client::new(&self.sdk);
        // The second call fails with AlreadyInOrganizationException, which is fine.
        let _ = org
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await;
        let created = org
            .create_account()
            .email(email)
            .account_name(name)
            .send()
            .await
            .expect("moto creates the account");
        created
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("moto returns the new account id")
            .to_owned()
    }

    /// The handler, configured from these variables on top of a working base (us-east-1 and
    /// eu-west-1, the us-east-1 detector given, eu-west-1's discovered, the report under the
    /// default REPORT_WHEN=changes).
    pub fn onboarder(&self, overrides: &[(&str, &str)]) -> Onboarder {
        self.onboarder_with(&self.sdk, overrides, TEST_LIMITS)
    }

    /// The handler with another SDK configuration and other limits.
    pub fn onboarder_with(
        &self,
        sdk: &SdkConfig,
        overrides: &[(&str, &str)],
        limits: Limits,
    ) -> Onboarder {
        let mut vars: BTreeMap<String, String> = [
            ("AWS_REGION", US),
            ("REGIONS", "us-east-1,eu-west-1"),
            (
                "GUARDDUTY_DETECTOR_ID",
                "us-east-1=12abc34d567e8fa901bc2d34e56789f0",
            ),
            ("INVITATION_MESSAGE", INVITATION),
            ("REPORT_SENDER", SENDER),
            ("REPORT_RECIPIENTS", &self.moto.recipient),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        let config =
            Config::from_lookup(|n| vars.get(n).cloned()).expect("a valid test configuration");
        Onboarder::with_limits(config, sdk, limits)
    }
}

/// A server that answers every request with one fixed HTTP response: an AWS error, for the
/// failures moto cannot make. Stopped when dropped.
pub struct FixedAnswer {
    pub endpoint: String,
    server: tokio::task::JoinHandle<()>,
}

impl FixedAnswer {
    /// Answers `status` with `x-amzn-ErrorType: error_type` and a JSON body naming it too.
    pub async fn start(status: u16, error_type: &str, message: &str) -> FixedAnswer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let body =
            serde_json::json!({"__type": error_type, "message": message, "Message": message})
                .to_string();
        let response = format!(
            "HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nx-amzn-ErrorType: {error_type}\r\nx-amzn-RequestId: fixed\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let response = response.clone();
                tokio::spawn(async move {
                    let _ = read_request(&mut stream).await;
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FixedAnswer { endpoint, server }
    }
}

impl Drop for FixedAnswer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Reads one HTTP/1.1 request: the head, then as many body bytes as `Content-Length` says.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Ok(());
            }
        }
    }
}

/// An address where nothing listens.
pub fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// Asserts the one email moto recorded for this test (from SENDER to the test's recipient);
/// returns its subject and HTML body.
pub async fn the_email(world: &World) -> (String, String) {
    let messages = world.moto.sent_messages().await;
    assert_eq!(messages.len(), 1, "exactly one report: {messages:?}");
    let m = &messages[0];
    assert_eq!(m["source"], SENDER);
    assert_eq!(
        m["destinations"]["ToAddresses"],
        serde_json::json!([world.moto.recipient])
    );
    (
        m["subject"].as_str().unwrap_or_default().to_owned(),
        m["body"].as_str().unwrap_or_default().to_owned(),
    )
}

/// What an invocation did: every account's outcome (as the library keeps it) and the JSON
/// response Lambda would return.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub trigger: String,
    pub ignored: Option<String>,
    pub counts: Counts,
    pub not_attempted: Vec<AccountOutcome>,
    pub regions: Vec<RegionOutcome>,
    pub report: Delivery,
    /// The handler's answer, as `Onboarder::handle` builds it from the same run.
    pub response: Response,
}

impl From<Run> for Invoked {
    fn from(run: Run) -> Invoked {
        Invoked {
            trigger: run.summary.trigger.clone(),
            ignored: run.ignored.clone(),
            counts: run.summary.counts(),
            not_attempted: run.summary.not_attempted.clone(),
            regions: run.summary.regions.clone(),
            report: run.report.clone(),
            response: Response::from(run),
        }
    }
}

/// Invokes the handler as Lambda would, from the function's ARN.
/// The function's answer to `event`, as Lambda gets it (`Onboarder::handle`).
pub async fn answer(onboarder: &Onboarder, event: Value) -> Result<Answer, HandlerError> {
    onboarder.handle(LambdaEvent::new(event, context(0))).await
}

pub async fn invoke(onboarder: &Onboarder, event: Value) -> Result<Invoked, HandlerError> {
    invoke_context(onboarder, event, context(0)).await
}

async fn invoke_context(
    onboarder: &Onboarder,
    event: Value,
    context: Context,
) -> Result<Invoked, HandlerError> {
    onboarder
        .run(LambdaEvent::new(event, context))
        .await
        .map(Invoked::from)
}

/// As [`invoke`], with a Lambda deadline `timeout` from now.
pub async fn invoke_with_timeout(
    onboarder: &Onboarder,
    event: Value,
    timeout: Duration,
) -> Result<Invoked, HandlerError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    let deadline_ms = (now + timeout).as_millis() as u64;
    invoke_context(onboarder, event, context(deadline_ms)).await
}

fn context(deadline_ms: u64) -> Context {
    let mut context = Context::default();
    context.invoked_function_arn = FUNCTION_ARN.to_owned();
    context.request_id = "test-request".to_owned();
    context.deadline = deadline_ms;
    context
}

/// A log writer that keeps everything written to it, for tests that read the logs.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// A subscriber that writes JSON records (`{"level", "fields": {...}}`, the shape
    /// src/logging.rs writes) at `INFO` and above into this capture.
    pub fn json_at_info(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .json()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::INFO)
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// A sample from `events/`, parsed.
pub fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("samples are JSON")
}

/// The sample with every string equal to `from` replaced by `to`: moto gives new accounts ids of
/// its own choosing, so a sample's account is swapped for one moto knows.
pub fn replace_account(value: Value, from: &str, to: &str) -> Value {
    match value {
        Value::String(s) if s == from => Value::String(to.to_owned()),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| replace_account(v, from, to))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, replace_account(v, from, to)))
                .collect(),
        ),
        other => other,
    }
}

/// A front for moto that records every request and refuses those a rule picks, for what moto
/// cannot do (a role that cannot be assumed) or cannot show (which Organizations calls were
/// made). Stopped when dropped.
pub struct Front {
    pub endpoint: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

/// A request as the front saw it: its `X-Amz-Target` header (JSON protocols) or its body
/// (query protocols such as STS), on one line.
fn describe_request(head: &str, body: &str) -> String {
    let target = head.lines().find_map(|l| {
        let lower = l.to_ascii_lowercase();
        lower
            .starts_with("x-amz-target:")
            .then(|| l["x-amz-target:".len()..].trim().to_owned())
    });
    match target {
        Some(target) => format!("{target} {body}"),
        None => body.to_owned(),
    }
}

impl Front {
    /// Forwards to `upstream`, except requests whose description contains `refuse.0`: those
    /// get HTTP 403 with the query-protocol error `refuse.1` (code) and `refuse.2` (message).
    pub async fn start(upstream: &str, refuse: Option<(String, &str, &str)>) -> Front {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let refusal = refuse.map(|(needle, code, message)| {
            let body = format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>front</RequestId></ErrorResponse>"
            );
            (
                needle,
                format!(
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            )
        });
        let log = seen.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let refusal = refusal.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(raw) = read_whole_request(&mut stream).await else {
                        return;
                    };
                    let text = String::from_utf8_lossy(&raw).into_owned();
                    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                    let seen = describe_request(head, body);
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(seen.clone());
                    if let Some((needle, response)) = &refusal
                        && seen.contains(needle.as_str())
                    {
                        let _ = stream.write_all(response.as_bytes()).await;
                        let _ = stream.shutdown().await;
                        return;
                    }
                    // One request per connection upstream; the answer is passed back whole.
                    let raw = force_close(&raw);
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    if up.write_all(&raw).await.is_err() {
                        return;
                    }
                    let mut answer = Vec::new();
                    let _ = up.read_to_end(&mut answer).await;
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Front {
            endpoint,
            seen,
            server,
        }
    }

    /// Every request seen, described by [`describe_request`], in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Reads one HTTP/1.1 request whole: the head, then `Content-Length` body bytes.
async fn read_whole_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(data);
        }
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Ok(data);
            }
        }
    }
}

/// The request with `Connection: close`, so the upstream ends the answer by closing.
fn force_close(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return raw.to_vec();
    };
    let mut lines: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes()
}

/// Every table row of a report's HTML, read with an HTML parser: its cells' texts joined by
/// `" | "`. Attention rows read `account | name | service | region(s) | step or status | result`;
/// glance rows `account | name | cell | cell …`.
pub fn rows_of(html: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let tr = scraper::Selector::parse("tr").expect("a valid selector");
    let td = scraper::Selector::parse("td").expect("a valid selector");
    document
        .select(&tr)
        .map(|row| {
            row.select(&td)
                .map(|cell| cell.text().collect::<String>())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// The text a reader sees in a report's HTML, read with an HTML parser.
pub fn text_of(html: &str) -> String {
    scraper::Html::parse_document(html)
        .root_element()
        .text()
        .collect()
}

/// The row of `rows_of` that starts with this account id, if any.
pub fn row_of(html: &str, account: &str) -> Vec<String> {
    rows_of(html)
        .into_iter()
        .filter(|r| r.starts_with(&format!("{account} | ")))
        .collect()
}

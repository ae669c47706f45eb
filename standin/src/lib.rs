//! A local stand-in for the AWS member APIs that moto lacks, served over HTTP on 127.0.0.1.
//!
//! It follows the official GuardDuty API model (restJson1): the routes, the camelCase members,
//! the 1–50 item limits, 12-character account ids, `unprocessedAccounts` with the texts the
//! service really returns, and errors typed by the `x-amzn-ErrorType` header. State is kept per
//! region, read from the SigV4 credential scope of each request, so one stand-in serves every
//! region a test configures. Tests drive it in-process through [`Standin`]; the `standin` binary
//! serves the same thing for local runs.

mod guardduty;
mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use guardduty::results;

/// The member API operations the stand-in serves, as named in the API model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Operation {
    ListDetectors,
    DescribeOrganizationConfiguration,
    CreateMembers,
    InviteMembers,
    GetMembers,
    ListMembers,
}

/// One request the stand-in answered, in arrival order.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// Position in the order of arrival, from 0.
    pub seq: usize,
    /// The region from the request's SigV4 credential scope.
    pub region: String,
    pub operation: Operation,
    /// The account ids the request carried (empty for ListDetectors).
    pub account_ids: Vec<String>,
    /// InviteMembers only: the invitation message.
    pub message: Option<String>,
    /// InviteMembers only: the `disableEmailNotification` flag.
    pub disable_email_notification: Option<bool>,
    /// The HTTP status the stand-in answered with.
    pub status: u16,
}

/// One invitation the stand-in "sent": an account moved from `Created` to `Invited`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub region: String,
    pub account_id: String,
    pub message: Option<String>,
    pub disable_email_notification: bool,
}

/// A member as the stand-in stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub account_id: String,
    pub email: String,
    pub relationship_status: String,
}

/// What a fault answers instead of the real response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 429 `ThrottlingException`, as the API front door sends it.
    Throttle,
    /// HTTP 500 `InternalServerErrorException`.
    ServerError,
    /// No answer at all: the connection stays open until the client gives up.
    Hang,
}

/// Random faults on every member-API call, from a seeded generator so a test replays exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// Share of calls answered with 429 `ThrottlingException`, from 0 to 1.
    pub throttle_rate: f64,
    /// Share of calls answered with 500 `InternalServerErrorException`, from 0 to 1.
    pub error_rate: f64,
}

/// A fault to inject: which requests it hits, what it answers, and how many times.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Only this operation; `None` for every operation.
    pub operation: Option<Operation>,
    /// Only this region; `None` for every region.
    pub region: Option<String>,
    pub kind: FaultKind,
    /// How many matching requests it hits; `None` for every one (a persistent fault).
    pub times: Option<usize>,
}

impl Fault {
    /// A fault on every call of one operation in one region.
    pub fn always(operation: Operation, region: &str, kind: FaultKind) -> Fault {
        Fault {
            operation: Some(operation),
            region: Some(region.to_owned()),
            kind,
            times: None,
        }
    }

    /// A fault on the next `times` calls of one operation in one region.
    pub fn times(operation: Operation, region: &str, kind: FaultKind, times: usize) -> Fault {
        Fault {
            times: Some(times),
            ..Fault::always(operation, region, kind)
        }
    }
}

/// How to start a stand-in.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The account that owns the detectors: the GuardDuty administrator.
    pub admin_account: String,
    /// The detector of each region; a region not listed has no detector.
    pub detectors: BTreeMap<String, String>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) admin_account: String,
    pub(crate) detectors: BTreeMap<String, String>,
    /// Regions where the administrator is the organisation's delegated administrator.
    pub(crate) delegated_regions: BTreeSet<String>,
    /// The organisation's accounts: `CreateMembers` by a delegated administrator associates
    /// them directly.
    pub(crate) organization_accounts: BTreeSet<String>,
    /// region → account id → member.
    pub(crate) members: BTreeMap<String, BTreeMap<String, Member>>,
    pub(crate) calls: Vec<Call>,
    pub(crate) invitations: Vec<Invitation>,
    pub(crate) faults: Vec<Fault>,
    /// Added to every member-API answer, to stand for the service's own latency.
    pub(crate) latency: std::time::Duration,
    pub(crate) chaos: Option<Chaos>,
    /// The state of the seeded generator (splitmix64).
    pub(crate) rng: u64,
}

impl State {
    /// The next number of the seeded generator, uniform in [0, 1).
    fn next_random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fault this request meets: a targeted fault first (used up by one), else a random one.
    pub(crate) fn take_fault(&mut self, operation: Operation, region: &str) -> Option<FaultKind> {
        if let Some(kind) = self.take_targeted(operation, region) {
            return Some(kind);
        }
        let chaos = self.chaos?;
        let roll = self.next_random();
        if roll < chaos.throttle_rate {
            Some(FaultKind::Throttle)
        } else if roll < chaos.throttle_rate + chaos.error_rate {
            Some(FaultKind::ServerError)
        } else {
            None
        }
    }

    fn take_targeted(&mut self, operation: Operation, region: &str) -> Option<FaultKind> {
        let fault = self.faults.iter_mut().find(|f| {
            f.operation.is_none_or(|o| o == operation)
                && f.region.as_deref().is_none_or(|r| r == region)
                && f.times.is_none_or(|n| n > 0)
        })?;
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
        }
        Some(fault.kind)
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct Standin {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl Standin {
    /// Starts a stand-in on a free port of 127.0.0.1.
    pub async fn start(settings: Settings) -> std::io::Result<Standin> {
        Self::start_on(settings, 0).await
    }

    /// Starts a stand-in on the given port of 127.0.0.1 (0 picks a free one).
    pub async fn start_on(settings: Settings, port: u16) -> std::io::Result<Standin> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            admin_account: settings.admin_account,
            detectors: settings.detectors,
            ..State::default()
        }));
        let server = tokio::spawn(http::serve(listener, state.clone()));
        Ok(Standin {
            addr,
            state,
            server,
        })
    }

    /// The URL to give the SDK, for example in `AWS_ENDPOINT_URL_GUARDDUTY`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a handler panicked mid-request; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Every invitation sent so far, in order.
    pub fn invitations(&self) -> Vec<Invitation> {
        self.state().invitations.clone()
    }

    /// The members of a region, by account id.
    pub fn members(&self, region: &str) -> BTreeMap<String, Member> {
        self.state()
            .members
            .get(region)
            .cloned()
            .unwrap_or_default()
    }

    /// Puts a member in place, as an earlier run or another tool would have left it.
    pub fn put_member(&self, region: &str, account_id: &str, email: &str, status: &str) {
        self.state()
            .members
            .entry(region.to_owned())
            .or_default()
            .insert(
                account_id.to_owned(),
                Member {
                    account_id: account_id.to_owned(),
                    email: email.to_owned(),
                    relationship_status: status.to_owned(),
                },
            );
    }

    /// Makes the administrator the organisation's delegated administrator in `regions`, for an
    /// organisation of `accounts`. There, `CreateMembers` associates an organisation account
    /// directly (its status becomes `Enabled`, no invitation), and
    /// `DescribeOrganizationConfiguration` answers; elsewhere it is refused.
    pub fn delegate(&self, regions: &[&str], accounts: &[&str]) {
        let mut state = self.state();
        state
            .delegated_regions
            .extend(regions.iter().map(|r| (*r).to_owned()));
        state
            .organization_accounts
            .extend(accounts.iter().map(|a| (*a).to_owned()));
    }

    /// Delays every member-API answer by `latency`, as the real service would take its time.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state().latency = latency;
    }

    /// Answers member-API calls with random faults from now on; `None` stops them.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        let mut state = self.state();
        state.rng = chaos.map_or(0, |c| c.seed);
        state.chaos = chaos;
    }

    /// Adds a fault; faults are tried in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// A JSON snapshot of members, calls and invitations, for people and scripts.
    pub fn snapshot(&self) -> serde_json::Value {
        http::snapshot(&self.state())
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

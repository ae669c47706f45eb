//! A local stand-in for the AWS member APIs that moto lacks, served over HTTP on 127.0.0.1 or
//! in-process as the SDK's HTTP client.
//!
//! It follows the official API models of five services: GuardDuty's member API (restJson1,
//! camelCase), Security Hub CSPM's member API (restJson1, PascalCase) and Account's `ListRegions`
//! (restJson1), with the routes, the member names, the list limits, the per-account results with
//! the texts the services really return, and errors typed by the `x-amzn-ErrorType` header; and,
//! when asked, Organizations' `ListAccounts` and `DescribeAccount` (awsJson1_1, errors typed by
//! `__type`) over a generated organisation ([`Standin::serve_organization`]) and STS `AssumeRole`
//! (awsQuery, XML answers) ([`Standin::serve_sts`]). State is kept per region, read from the SigV4
//! credential scope of each request, and per caller: the access key id in the same scope names
//! the account that calls (the administrator, or a member account whose credentials came from STS
//! `AssumeRole`, of the stand-in or asked of moto). Every call is recorded with the time it was
//! answered ([`Call::at_ms`]). Tests drive it through [`Standin`]; the `standin` binary serves the
//! same thing for local runs.
//!
//! [`Standin::start`] listens on a port of 127.0.0.1, for end-to-end tests and local runs;
//! [`Standin::in_process`] has no listener and is reached only through
//! [`Standin::http_client`], for fast tests within one process. Both answer with the same code.
//! The latency and the rate limit go by tokio's clock, and a hang never answers (the SDK's
//! timeouts, on the same clock, end it), so a test with a paused clock (`start_paused`) waits
//! for none of them.

mod account;
mod assume_role;
mod guardduty;
mod http;
mod in_process;
mod organizations;
mod securityhub;
mod sts;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use guardduty::results;
pub use organizations::{FIRST_ACCOUNT, ORGANIZATION_ID, account_id as organization_account_id};
pub use securityhub::results as securityhub_results;

/// The services the stand-in serves, named by their SigV4 signing names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Service {
    /// `guardduty`
    GuardDuty,
    /// `securityhub` (Security Hub CSPM)
    SecurityHub,
    /// `account`
    Account,
    /// `organizations`: served only for an organisation ([`Standin::serve_organization`]).
    Organizations,
    /// `sts`: served only when asked ([`Standin::serve_sts`]).
    Sts,
}

impl Service {
    /// The service of a SigV4 signing name.
    fn from_signing_name(name: &str) -> Option<Service> {
        match name {
            "guardduty" => Some(Service::GuardDuty),
            "securityhub" => Some(Service::SecurityHub),
            "account" => Some(Service::Account),
            "organizations" => Some(Service::Organizations),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }

    /// The IAM prefix of the service's actions.
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty",
            Service::SecurityHub => "securityhub",
            Service::Account => "account",
            Service::Organizations => "organizations",
            Service::Sts => "sts",
        }
    }
}

/// The operations the stand-in serves, as named in the API models. GuardDuty and Security Hub
/// share names such as `CreateMembers`; [`Call::service`] tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operation {
    ListDetectors,
    DescribeOrganizationConfiguration,
    CreateMembers,
    InviteMembers,
    GetMembers,
    ListMembers,
    DisassociateMembers,
    DeleteMembers,
    /// GuardDuty, member side.
    CreateDetector,
    /// GuardDuty and Security Hub, member side.
    ListInvitations,
    /// GuardDuty and Security Hub, member side.
    AcceptAdministratorInvitation,
    /// Security Hub, member side (and the administrator's own hub).
    EnableSecurityHub,
    /// Security Hub: whether the caller's hub is enabled.
    DescribeHub,
    /// Account.
    ListRegions,
    /// Organizations.
    ListAccounts,
    /// Organizations.
    DescribeAccount,
    /// STS.
    AssumeRole,
}

impl Operation {
    /// Whether the operation changes the members' state (as opposed to reading it). STS
    /// `AssumeRole`, which only issues keys, is not a write.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::CreateMembers
                | Operation::InviteMembers
                | Operation::DisassociateMembers
                | Operation::DeleteMembers
                | Operation::CreateDetector
                | Operation::AcceptAdministratorInvitation
                | Operation::EnableSecurityHub
        )
    }
}

/// One request the stand-in answered, in arrival order.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    /// Position in the order of arrival, from 0.
    pub seq: usize,
    pub service: Service,
    /// The region from the request's SigV4 credential scope.
    pub region: String,
    /// The account that called: the one its access key id belongs to.
    pub caller: String,
    pub operation: Operation,
    /// The account ids the request carried (empty for calls that carry none).
    pub account_ids: Vec<String>,
    /// GuardDuty InviteMembers only: the invitation message.
    pub message: Option<String>,
    /// GuardDuty InviteMembers only: the `disableEmailNotification` flag.
    pub disable_email_notification: Option<bool>,
    /// The HTTP status the stand-in answered with (0 for a call that never answered).
    pub status: u16,
    /// When the stand-in answered the call (after its latency), or found it hung, in
    /// milliseconds since the stand-in started, on tokio's clock: a benchmark computes rates per
    /// second from it.
    pub at_ms: u64,
}

/// One invitation the stand-in "sent": an account moved from `Created` to `Invited`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub region: String,
    pub account_id: String,
    /// The id the member sees in `ListInvitations` and accepts with.
    pub invitation_id: String,
    /// GuardDuty only: the invitation message.
    pub message: Option<String>,
    /// GuardDuty only: the `disableEmailNotification` flag.
    pub disable_email_notification: bool,
}

/// A member as the stand-in stores it, in either service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub account_id: String,
    /// Empty when the administrator gave none (Security Hub's email is optional).
    pub email: String,
    /// GuardDuty's `relationshipStatus`, or Security Hub's `MemberStatus`.
    pub relationship_status: String,
}

/// What a fault answers instead of the real response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 429 `ThrottlingException`, as the API front door sends it (Organizations: 400
    /// `TooManyRequestsException`; STS: 400 `Throttling`).
    Throttle,
    /// HTTP 500: the service's internal error (`InternalServerErrorException` for GuardDuty,
    /// `InternalException` for Security Hub, `InternalServerException` for Account,
    /// `ServiceException` for Organizations, `InternalFailure` for STS).
    ServerError,
    /// No answer at all: the connection stays open until the client gives up.
    Hang,
}

/// Random faults on every GuardDuty and Security Hub call (not Account, Organizations or STS),
/// from a seeded generator so a test replays exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// Share of calls answered with 429 `ThrottlingException`, from 0 to 1.
    pub throttle_rate: f64,
    /// Share of calls answered with a 500 internal error, from 0 to 1.
    pub error_rate: f64,
}

/// A fault to inject: which requests it hits, what it answers, and how many times.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Only this service; `None` for every service.
    pub service: Option<Service>,
    /// Only this operation; `None` for every operation.
    pub operation: Option<Operation>,
    /// Only this region; `None` for every region.
    pub region: Option<String>,
    pub kind: FaultKind,
    /// How many matching requests it hits; `None` for every one (a persistent fault).
    pub times: Option<usize>,
}

impl Fault {
    /// A fault on every call of one operation in one region, in any service.
    pub fn always(operation: Operation, region: &str, kind: FaultKind) -> Fault {
        Fault {
            service: None,
            operation: Some(operation),
            region: Some(region.to_owned()),
            kind,
            times: None,
        }
    }

    /// A fault on the next `times` calls of one operation in one region, in any service.
    pub fn times(operation: Operation, region: &str, kind: FaultKind, times: usize) -> Fault {
        Fault {
            times: Some(times),
            ..Fault::always(operation, region, kind)
        }
    }

    /// The same fault, limited to one service.
    pub fn in_service(self, service: Service) -> Fault {
        Fault {
            service: Some(service),
            ..self
        }
    }
}

/// Another run's work landing between two calls of the run under test, to make races happen
/// where a test wants them: just before the stand-in answers the next `operation` call of
/// `service` in `region`, `accounts` become the administrator's members at `status`, as if
/// another run had created them (`Created`), created and invited them (`Invited`: its
/// invitation counts among those sent), or the organisation had associated them (`Enabled`).
/// A call refused or faulted before the service sees it does not set it off.
#[derive(Clone, Debug)]
pub struct Race {
    /// GuardDuty or Security Hub.
    pub service: Service,
    pub operation: Operation,
    pub region: String,
    pub accounts: Vec<String>,
    pub status: String,
}

impl Race {
    /// A GuardDuty race before the next `operation` in `region`.
    pub fn before(operation: Operation, region: &str, accounts: &[&str], status: &str) -> Race {
        Race {
            service: Service::GuardDuty,
            operation,
            region: region.to_owned(),
            accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
            status: status.to_owned(),
        }
    }

    /// The same race, in another service.
    pub fn in_service(self, service: Service) -> Race {
        Race { service, ..self }
    }
}

/// The email of the members another run made ([`Race`]).
const RIVAL_EMAIL: &str = "another-run@example.com";

/// How to start a stand-in.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The account that owns the detectors: the GuardDuty (and Security Hub) administrator.
    pub admin_account: String,
    /// The administrator's detector of each region; a region not listed has no detector.
    pub detectors: BTreeMap<String, String>,
}

/// A member as stored, with the times the services report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Record {
    pub(crate) member: Member,
    pub(crate) invited_at: Option<String>,
    pub(crate) updated_at: String,
}

/// An invitation waiting for the member to accept it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Pending {
    pub(crate) invitation_id: String,
    pub(crate) invited_at: String,
}

/// Who a caller is, once known.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Caller {
    pub(crate) account: String,
    /// The principal, for the texts of access denials.
    pub(crate) arn: String,
}

/// When the stand-in started, on tokio's clock: the origin of [`Call::at_ms`].
pub(crate) struct Started(pub(crate) Instant);

impl Default for Started {
    fn default() -> Started {
        Started(Instant::now())
    }
}

/// A token bucket of the rate limit, on tokio's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    pub(crate) tokens: f64,
    pub(crate) last: Instant,
}

/// One service's members, invitations and delegation.
#[derive(Default, Serialize)]
pub(crate) struct Members {
    /// Regions where the administrator is the organisation's delegated administrator.
    pub(crate) delegated_regions: BTreeSet<String>,
    /// The organisation's accounts: `CreateMembers` by a delegated administrator associates
    /// them directly.
    pub(crate) organization_accounts: BTreeSet<String>,
    /// The most members the administrator may have in a region (the service's quota, made
    /// small for tests): `DescribeOrganizationConfiguration` answers `MemberAccountLimitReached`
    /// from it, and `CreateMembers` refuses past it.
    pub(crate) limit: Option<usize>,
    /// region → the organisation's auto-enable setting there, as the service's
    /// `DescribeOrganizationConfiguration` spells it (GuardDuty `AutoEnableOrganizationMembers`:
    /// `NEW`, `ALL`, `NONE`; Security Hub: `ON`, `OFF`, or `CENTRAL` for central configuration).
    /// Unset: `NONE`, auto-enable off under local configuration, as a new organisation has it.
    pub(crate) auto_enable: BTreeMap<String, String>,
    /// region → account id → member, as the administrator sees them.
    pub(crate) members: BTreeMap<String, BTreeMap<String, Record>>,
    /// Every invitation sent, in order.
    pub(crate) sent: Vec<Invitation>,
    /// (region, member account) → the invitation it has not accepted yet. One administrator,
    /// so at most one per member and region.
    pub(crate) pending: BTreeMap<(String, String), Pending>,
}

impl Members {
    /// Whether the administrator's members of `region` have reached the quota.
    pub(crate) fn limit_reached(&self, region: &str) -> bool {
        let count = self.members.get(region).map_or(0, BTreeMap::len);
        self.limit.is_some_and(|limit| count >= limit)
    }

    /// Puts a member in place; an `Invited` member gets a pending invitation, any other status
    /// loses it.
    fn put(&mut self, region: &str, account_id: &str, email: &str, status: &str, id: String) {
        let now = wire::now();
        let invited = status == "Invited";
        self.members.entry(region.to_owned()).or_default().insert(
            account_id.to_owned(),
            Record {
                member: Member {
                    account_id: account_id.to_owned(),
                    email: email.to_owned(),
                    relationship_status: status.to_owned(),
                },
                invited_at: invited.then(|| now.clone()),
                updated_at: now.clone(),
            },
        );
        let key = (region.to_owned(), account_id.to_owned());
        if invited {
            self.pending.insert(
                key,
                Pending {
                    invitation_id: id,
                    invited_at: now,
                },
            );
        } else {
            self.pending.remove(&key);
        }
    }

    /// Puts a member in place as another run would have ([`Race`]); an `Invited` one's
    /// invitation is sent.
    fn put_by_rival(&mut self, region: &str, account_id: &str, status: &str, id: String) {
        self.put(region, account_id, RIVAL_EMAIL, status, id.clone());
        if status == "Invited" {
            self.sent.push(Invitation {
                region: region.to_owned(),
                account_id: account_id.to_owned(),
                invitation_id: id,
                message: None,
                disable_email_notification: false,
            });
        }
    }

    fn of_region(&self, region: &str) -> BTreeMap<String, Member> {
        self.members
            .get(region)
            .map(|m| {
                m.iter()
                    .map(|(id, r)| (id.clone(), r.member.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) admin_account: String,
    /// The administrator's GuardDuty detector of each region.
    pub(crate) detectors: BTreeMap<String, String>,
    /// Other accounts' detectors: account → region → detector id.
    pub(crate) member_detectors: BTreeMap<String, BTreeMap<String, String>>,
    pub(crate) guardduty: Members,
    pub(crate) securityhub: Members,
    /// (account, region) where the account's Security Hub is enabled → since when.
    pub(crate) hubs: BTreeMap<(String, String), String>,
    /// (account, region) → whether `EnableSecurityHub` turned on the default standards.
    pub(crate) default_standards: BTreeMap<(String, String), bool>,
    /// (account, region) → each GuardDuty feature of a detector `CreateDetector` made, and
    /// whether it is enabled.
    pub(crate) detector_features: BTreeMap<(String, String), BTreeMap<String, bool>>,
    /// Region → opt-in status, as `ListRegions` answers it.
    pub(crate) regions: BTreeMap<String, String>,
    /// Regions where a service control policy denies every call.
    pub(crate) denied_regions: BTreeSet<String>,
    /// Calls per second per (service, operation, region); `None` for no limit.
    pub(crate) rate_limit: Option<u32>,
    pub(crate) buckets: HashMap<(Service, Operation, String), Bucket>,
    /// Where to ask who an access key id belongs to (moto's STS).
    pub(crate) sts_endpoint: Option<String>,
    /// Access key id → its caller, fixed by a test, issued by the stand-in's own `AssumeRole` or
    /// learned from moto's STS; `None` for a key moto does not know (the administrator's).
    pub(crate) identities: HashMap<String, Option<Caller>>,
    /// The generated organisation Organizations answers about; `None`: no organisation.
    pub(crate) organization: Option<organizations::Organization>,
    /// Whether STS `AssumeRole` is served here (else STS calls are refused: moto serves them).
    pub(crate) serve_sts: bool,
    /// How many access keys the stand-in's `AssumeRole` issued.
    pub(crate) keys_issued: u64,
    pub(crate) started: Started,
    pub(crate) calls: Vec<Call>,
    pub(crate) faults: Vec<Fault>,
    /// Other runs' work, waiting for the call it comes before.
    pub(crate) races: Vec<Race>,
    /// Added to every answer, to stand for the service's own latency.
    pub(crate) latency: std::time::Duration,
    pub(crate) chaos: Option<Chaos>,
    /// The state of the seeded generator (splitmix64).
    pub(crate) rng: u64,
    /// Counts the ids the stand-in makes up (detectors, invitations, access keys), apart from
    /// `rng` so that chaos replays the same whatever ids were made.
    pub(crate) ids: u64,
}

/// One step of splitmix64.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl State {
    /// The next number of the seeded generator, uniform in [0, 1).
    fn next_random(&mut self) -> f64 {
        (splitmix(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A fresh id of 32 lowercase hex digits, the form of GuardDuty's detector and invitation
    /// ids and of Security Hub's invitation ids.
    pub(crate) fn fresh_id(&mut self) -> String {
        let a = splitmix(&mut self.ids);
        let b = splitmix(&mut self.ids);
        format!("{a:016x}{b:016x}")
    }

    /// The detector an account has in a region.
    pub(crate) fn detector_of(&self, account: &str, region: &str) -> Option<&String> {
        if account == self.admin_account {
            self.detectors.get(region)
        } else {
            self.member_detectors.get(account)?.get(region)
        }
    }

    /// Milliseconds since the stand-in started, on tokio's clock.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The fault this request meets: a targeted fault first (used up by one), else a random
    /// one (GuardDuty and Security Hub only).
    pub(crate) fn take_fault(
        &mut self,
        service: Service,
        operation: Operation,
        region: &str,
    ) -> Option<FaultKind> {
        if let Some(kind) = self.take_targeted(service, operation, region) {
            return Some(kind);
        }
        if !matches!(service, Service::GuardDuty | Service::SecurityHub) {
            return None;
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

    fn take_targeted(
        &mut self,
        service: Service,
        operation: Operation,
        region: &str,
    ) -> Option<FaultKind> {
        let fault = self.faults.iter_mut().find(|f| {
            f.service.is_none_or(|s| s == service)
                && f.operation.is_none_or(|o| o == operation)
                && f.region.as_deref().is_none_or(|r| r == region)
                && f.times.is_none_or(|n| n > 0)
        })?;
        if let Some(n) = fault.times.as_mut() {
            *n -= 1;
        }
        Some(fault.kind)
    }

    /// Lands the races waiting for this call: each at most once.
    pub(crate) fn land_races(&mut self, service: Service, operation: Operation, region: &str) {
        let (landing, waiting) = std::mem::take(&mut self.races)
            .into_iter()
            .partition(|r| r.service == service && r.operation == operation && r.region == region);
        self.races = waiting;
        for race in landing {
            for account in &race.accounts {
                let id = self.fresh_id();
                let members = match service {
                    Service::GuardDuty => &mut self.guardduty,
                    Service::SecurityHub => &mut self.securityhub,
                    Service::Account | Service::Organizations | Service::Sts => continue,
                };
                members.put_by_rival(region, account, &race.status, id);
            }
        }
    }

    /// Whether the rate limit lets one more call through (a token bucket per service,
    /// operation and region, holding at most one second of calls).
    pub(crate) fn admit(&mut self, service: Service, operation: Operation, region: &str) -> bool {
        let Some(rate) = self.rate_limit else {
            return true;
        };
        let rate = f64::from(rate.max(1));
        let now = Instant::now();
        let bucket = self
            .buckets
            .entry((service, operation, region.to_owned()))
            .or_insert(Bucket {
                tokens: rate,
                last: now,
            });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A running stand-in. Dropping it stops its server, if it has one.
pub struct Standin {
    /// Where it listens; `None` in-process.
    addr: Option<SocketAddr>,
    state: Arc<Mutex<State>>,
    server: Option<JoinHandle<()>>,
}

/// The endpoint of a stand-in served in-process: a name that resolves nowhere (`.invalid`,
/// RFC 2606), so that a request that misses [`Standin::http_client`] fails instead of leaving
/// the machine.
pub const IN_PROCESS_ENDPOINT: &str = "http://standin.invalid";

impl Standin {
    /// Starts a stand-in on a free port of 127.0.0.1.
    pub async fn start(settings: Settings) -> std::io::Result<Standin> {
        Self::start_on(settings, 0).await
    }

    /// Starts a stand-in on the given port of 127.0.0.1 (0 picks a free one).
    pub async fn start_on(settings: Settings, port: u16) -> std::io::Result<Standin> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Self::initial(settings);
        let server = tokio::spawn(http::serve(listener, state.clone()));
        Ok(Standin {
            addr: Some(addr),
            state,
            server: Some(server),
        })
    }

    /// A stand-in without a listener, reached only through [`Standin::http_client`]: give the
    /// SDK that client and [`Standin::endpoint`] (`IN_PROCESS_ENDPOINT`). Callers are told
    /// apart by their access key ids as over HTTP; fix member accounts' keys with
    /// [`Standin::set_identity`].
    pub fn in_process(settings: Settings) -> Standin {
        Standin {
            addr: None,
            state: Self::initial(settings),
            server: None,
        }
    }

    fn initial(settings: Settings) -> Arc<Mutex<State>> {
        Arc::new(Mutex::new(State {
            admin_account: settings.admin_account,
            detectors: settings.detectors,
            ..State::default()
        }))
    }

    /// The URL to give the SDK, for example in `AWS_ENDPOINT_URL_GUARDDUTY`,
    /// `AWS_ENDPOINT_URL_SECURITYHUB` and `AWS_ENDPOINT_URL_ACCOUNT` (and
    /// `AWS_ENDPOINT_URL_ORGANIZATIONS`, `AWS_ENDPOINT_URL_STS` where it serves them);
    /// [`IN_PROCESS_ENDPOINT`] for a stand-in served in-process.
    pub fn endpoint(&self) -> String {
        match self.addr {
            Some(addr) => format!("http://{addr}"),
            None => IN_PROCESS_ENDPOINT.to_owned(),
        }
    }

    /// An HTTP client for the SDK (`http_client` of an `SdkConfig` or a service's config) that
    /// hands each request to this stand-in in-process, without a socket. It answers only
    /// requests to [`Standin::endpoint`]: any other URL fails the request, so a client that
    /// ignored the endpoint override is caught. A hung call never answers; the SDK's timeouts
    /// end it.
    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(in_process::InProcess::new(
            self.state.clone(),
            self.endpoint(),
        ))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a handler panicked mid-request; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    // ----- who calls -----

    /// Asks moto's STS at `url` (for example `http://127.0.0.1:5000`) who an access key id the
    /// stand-in has not seen belongs to, with `GetCallerIdentity`, and remembers the answer. A
    /// key moto does not know, or any key while no STS endpoint is set, is the administrator's.
    pub fn set_sts_endpoint(&self, url: &str) {
        let mut state = self.state();
        state.sts_endpoint = Some(url.trim_end_matches('/').to_owned());
        // Keys taken for the administrator's only for want of an endpoint are asked again.
        state.identities.retain(|_, caller| caller.is_some());
    }

    /// Fixes the account an access key id belongs to.
    pub fn set_identity(&self, access_key_id: &str, account: &str) {
        self.state().identities.insert(
            access_key_id.to_owned(),
            Some(Caller {
                account: account.to_owned(),
                arn: sts::placeholder_arn(account),
            }),
        );
    }

    // ----- Organizations and STS -----

    /// Serves Organizations' `ListAccounts` and `DescribeAccount` for an organisation of
    /// `accounts` generated accounts, whose management account is the administrator: account `i`
    /// (from 0) has the id [`organization_account_id`]`(i)` (`FIRST_ACCOUNT + i`), the email
    /// `account-<id>@example.com` and the name `Account <i>`, and is `ACTIVE`, `CREATED`, in the
    /// organisation [`ORGANIZATION_ID`]. The accounts are made from their index when asked, so a
    /// large organisation costs no memory. Without an organisation, Organizations calls answer
    /// `AWSOrganizationsNotInUseException`.
    pub fn serve_organization(&self, accounts: u32) {
        self.state().organization = Some(organizations::Organization::new(accounts));
    }

    /// Serves STS `AssumeRole`: each call issues a fresh `ASIA…` access key id that calls as the
    /// role's account from then on. Without it, STS calls are refused (`InvalidAction`): moto
    /// serves STS ([`Standin::set_sts_endpoint`]).
    pub fn serve_sts(&self) {
        self.state().serve_sts = true;
    }

    // ----- GuardDuty -----

    /// Every GuardDuty invitation sent so far, in order.
    pub fn invitations(&self) -> Vec<Invitation> {
        self.state().guardduty.sent.clone()
    }

    /// The administrator's GuardDuty members of a region, by account id.
    pub fn members(&self, region: &str) -> BTreeMap<String, Member> {
        self.state().guardduty.of_region(region)
    }

    /// Puts a GuardDuty member in place, as an earlier run or another tool would have left it.
    /// An `Invited` member also gets a pending invitation it can accept.
    pub fn put_member(&self, region: &str, account_id: &str, email: &str, status: &str) {
        let mut state = self.state();
        let id = state.fresh_id();
        state.guardduty.put(region, account_id, email, status, id);
    }

    /// Makes the administrator the organisation's GuardDuty delegated administrator in
    /// `regions`, for an organisation of `accounts`. There, `CreateMembers` associates an
    /// organisation account directly (its status becomes `Enabled`, no invitation), and
    /// `DescribeOrganizationConfiguration` answers; elsewhere it is refused.
    pub fn delegate(&self, regions: &[&str], accounts: &[&str]) {
        let mut state = self.state();
        let members = &mut state.guardduty;
        members
            .delegated_regions
            .extend(regions.iter().map(|r| (*r).to_owned()));
        members
            .organization_accounts
            .extend(accounts.iter().map(|a| (*a).to_owned()));
    }

    /// Sets the organisation's GuardDuty auto-enable in a region, as
    /// `AutoEnableOrganizationMembers` spells it (`NEW`, `ALL` or `NONE`, the default).
    pub fn set_auto_enable(&self, region: &str, setting: &str) {
        self.state()
            .guardduty
            .auto_enable
            .insert(region.to_owned(), setting.to_owned());
    }

    /// Sets the organisation's Security Hub auto-enable in a region: `ON` (`AutoEnable` true),
    /// `OFF` (false, the default) under local configuration, or `CENTRAL` for central
    /// configuration, where `AutoEnable` is always false.
    pub fn set_security_hub_auto_enable(&self, region: &str, setting: &str) {
        self.state()
            .securityhub
            .auto_enable
            .insert(region.to_owned(), setting.to_owned());
    }

    /// Sets the administrator's GuardDuty member quota per region: past it, `CreateMembers`
    /// refuses each new account, and `DescribeOrganizationConfiguration` answers
    /// `memberAccountLimitReached: true` once it is reached.
    pub fn limit_members(&self, limit: usize) {
        self.state().guardduty.limit = Some(limit);
    }

    /// Gives a (member) account a GuardDuty detector in a region, as if it had created one.
    pub fn put_member_detector(&self, account: &str, region: &str, detector_id: &str) {
        let mut state = self.state();
        if account == state.admin_account {
            state
                .detectors
                .insert(region.to_owned(), detector_id.to_owned());
        } else {
            state
                .member_detectors
                .entry(account.to_owned())
                .or_default()
                .insert(region.to_owned(), detector_id.to_owned());
        }
    }

    /// An account's GuardDuty detectors, by region.
    pub fn member_detectors(&self, account: &str) -> BTreeMap<String, String> {
        let state = self.state();
        if account == state.admin_account {
            state.detectors.clone()
        } else {
            state
                .member_detectors
                .get(account)
                .cloned()
                .unwrap_or_default()
        }
    }

    /// The features of a detector `CreateDetector` made for an account in a region, each with
    /// whether it runs (an unnamed one runs, as in GuardDuty).
    pub fn detector_features(&self, account: &str, region: &str) -> Option<BTreeMap<String, bool>> {
        self.state()
            .detector_features
            .get(&(account.to_owned(), region.to_owned()))
            .cloned()
    }

    // ----- Security Hub -----

    /// Whether `EnableSecurityHub` turned on the default standards for an account in a region
    /// (`None`: it was not called there).
    pub fn default_standards(&self, account: &str, region: &str) -> Option<bool> {
        self.state()
            .default_standards
            .get(&(account.to_owned(), region.to_owned()))
            .copied()
    }

    /// Enables the administrator's Security Hub in `regions`. Elsewhere every administrator
    /// call answers 401 `InvalidAccessException`, as for an account not subscribed.
    pub fn enable_security_hub(&self, regions: &[&str]) {
        let mut state = self.state();
        let admin = state.admin_account.clone();
        for region in regions {
            state
                .hubs
                .entry((admin.clone(), (*region).to_owned()))
                .or_insert_with(wire::now);
        }
    }

    /// Makes the administrator the organisation's Security Hub delegated administrator in
    /// `regions`, for an organisation of `accounts`: there `CreateMembers` makes an
    /// organisation account `Enabled` directly ("Organization accounts don't receive
    /// invitations").
    pub fn delegate_security_hub(&self, regions: &[&str], accounts: &[&str]) {
        let mut state = self.state();
        let members = &mut state.securityhub;
        members
            .delegated_regions
            .extend(regions.iter().map(|r| (*r).to_owned()));
        members
            .organization_accounts
            .extend(accounts.iter().map(|a| (*a).to_owned()));
    }

    /// Sets the administrator's Security Hub member quota per region: past it, `CreateMembers`
    /// answers 429 `LimitExceededException`, and `DescribeOrganizationConfiguration` answers
    /// `MemberAccountLimitReached: true` once it is reached.
    pub fn limit_security_hub_members(&self, limit: usize) {
        self.state().securityhub.limit = Some(limit);
    }

    /// Enables a (member) account's Security Hub in a region, as if it had called
    /// `EnableSecurityHub`.
    pub fn put_member_hub(&self, account: &str, region: &str) {
        self.state()
            .hubs
            .entry((account.to_owned(), region.to_owned()))
            .or_insert_with(wire::now);
    }

    /// Whether an account's Security Hub is enabled in a region.
    pub fn security_hub_enabled(&self, account: &str, region: &str) -> bool {
        self.state()
            .hubs
            .contains_key(&(account.to_owned(), region.to_owned()))
    }

    /// The administrator's Security Hub members of a region, by account id
    /// (`relationship_status` holds the `MemberStatus`).
    pub fn security_hub_members(&self, region: &str) -> BTreeMap<String, Member> {
        self.state().securityhub.of_region(region)
    }

    /// Puts a Security Hub member in place, as an earlier run or another tool would have left
    /// it. An `Invited` member also gets a pending invitation it can accept.
    pub fn put_security_hub_member(
        &self,
        region: &str,
        account_id: &str,
        email: &str,
        status: &str,
    ) {
        let mut state = self.state();
        let id = state.fresh_id();
        state.securityhub.put(region, account_id, email, status, id);
    }

    /// Every Security Hub invitation sent so far, in order.
    pub fn security_hub_invitations(&self) -> Vec<Invitation> {
        self.state().securityhub.sent.clone()
    }

    // ----- regions -----

    /// Sets every region's opt-in status, as `ListRegions` answers it: `ENABLED`,
    /// `ENABLED_BY_DEFAULT`, `DISABLED`, `ENABLING` or `DISABLING`. In a `DISABLED` region every
    /// GuardDuty and Security Hub call answers 403 `UnrecognizedClientException`.
    pub fn set_regions(&self, regions: &[(&str, &str)]) {
        self.state().regions = regions
            .iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
            .collect();
    }

    /// Denies every GuardDuty and Security Hub call in a region, as a service control policy
    /// does: 403 `AccessDeniedException`.
    pub fn deny_region(&self, region: &str) {
        self.state().denied_regions.insert(region.to_owned());
    }

    // ----- the service's manners -----

    /// Delays every answer by `latency`, as the real service would take its time (on tokio's
    /// clock: a paused clock does not wait).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state().latency = latency;
    }

    /// Answers GuardDuty and Security Hub calls with random faults from now on; `None` stops
    /// them.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        let mut state = self.state();
        state.rng = chaos.map_or(0, |c| c.seed);
        state.chaos = chaos;
    }

    /// Lets at most `per_second` calls a second through for each service, operation and region
    /// (a token bucket holding one second of calls, refilled on tokio's clock); the others
    /// answer 429 `TooManyRequestsException` (Organizations: 400 `TooManyRequestsException`;
    /// STS: 400 `Throttling`). `None` lifts the limit.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut state = self.state();
        state.rate_limit = per_second;
        state.buckets.clear();
    }

    /// Adds a fault; faults are tried in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Makes another run's work land between two calls ([`Race`]).
    pub fn race(&self, race: Race) {
        self.state().races.push(race);
    }

    /// A JSON snapshot of members, calls and invitations, for people and scripts.
    pub fn snapshot(&self) -> serde_json::Value {
        http::snapshot(&self.state())
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

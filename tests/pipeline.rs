//! The onboarding pipeline's branches, in-process and in virtual time: the library's
//! [`pipeline::run`] over the real SDK clients (signing, serialisation, retries, timeouts), whose
//! HTTP client is the stand-in served in-process ([`Standin::http_client`]) instead of a socket.
//! Tokio's clock is paused, so the stand-in's latency, the paces' waits and the SDK's timeouts
//! take no real time. Each test checks the outcomes per account and what the stand-in recorded.
//! The end-to-end tests (`onboarding.rs`, `services.rs`, `faults.rs`) keep the stand-in over
//! HTTP and the handler.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_guardduty::config::{Credentials, Region as SdkRegion, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use onboarder::account::{AccountId, Email};
use onboarder::aws_error::{CallError, DEADLINE_REACHED, Kind};
use onboarder::config::{Region, RoleName};
use onboarder::limits::{BATCH_CONCURRENCY, Deadline, Limits};
use onboarder::member_role::MemberRole;
use onboarder::org::MemberAccount;
use onboarder::outcome::{
    AccountOutcome, Administration, AutoEnable, MemberStatus, Outcome, Plan, Reason, RegionOutcome,
    Service, Standing, Step, Summary,
};
use onboarder::pipeline::{self, Acceptance};
use onboarder::service::guardduty::Invitation;
use onboarder::service::{self, Administrations, MemberService, RegionClients};
use standin::{Call, Fault, FaultKind, Operation, Race, Settings, Standin};
use tokio::time::Instant;

const ADMIN: &str = "999999999999";
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
const US_DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const EU_DETECTOR: &str = "98fed76c543b2ae109dc8b76a54321e0";
const MESSAGE: &str = "Welcome to the security organisation.";

/// Retries and timeouts for tests: the production shape, with short waits.
const LIMITS: Limits = support::TEST_LIMITS;

/// The SDK configuration of a run against `standin`: its in-process client, its endpoint for
/// every service, us-east-1, static test credentials, the test limits. Nothing is read from the
/// environment.
fn sdk_config(standin: &Standin) -> SdkConfig {
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(standin.http_client())
        .endpoint_url(standin.endpoint())
        .region(SdkRegion::new(US))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "tests",
        )))
        .build();
    LIMITS.apply(&base)
}

/// The stand-in, and the function's clients of each region built once from it, as at cold start.
static MEMBER_SETTINGS: onboarder::config::MemberSettings = onboarder::config::MemberSettings {
    guardduty_features: Vec::new(),
    security_hub_default_standards: false,
};

struct World {
    standin: Standin,
    sdk: SdkConfig,
    regions: Vec<RegionClients>,
    /// The detectors given in the configuration.
    detectors: BTreeMap<Region, String>,
    administrations: Administrations,
}

impl World {
    /// A stand-in with a detector in us-east-1 and eu-west-1, the administrator's Security Hub
    /// on in both; the function onboards in `regions`, with Security Hub when `security_hub`,
    /// knowing the detectors of `configured` (it discovers the others).
    fn new(regions: &[&str], security_hub: bool, configured: &[&str]) -> World {
        let standin = Standin::in_process(Settings {
            admin_account: ADMIN.to_owned(),
            detectors: BTreeMap::from([
                (US.to_owned(), US_DETECTOR.to_owned()),
                (EU.to_owned(), EU_DETECTOR.to_owned()),
            ]),
        });
        standin.enable_security_hub(&[US, EU]);
        let sdk = sdk_config(&standin);
        let region = |r: &str| Region::parse(r).expect("a region");
        let regions = regions
            .iter()
            .map(|r| RegionClients::new(&sdk, &region(r), security_hub, LIMITS.max_attempts))
            .collect();
        let detectors = configured
            .iter()
            .map(|r| {
                let id = if *r == US { US_DETECTOR } else { EU_DETECTOR };
                (region(r), id.to_owned())
            })
            .collect();
        World {
            standin,
            sdk,
            regions,
            detectors,
            administrations: Administrations::default(),
        }
    }

    /// A member role whose STS client counts its requests and answers none.
    fn counted_member_role(&self) -> (Counting, MemberRole) {
        let sts = Counting::default();
        let role = MemberRole::new(
            &self.sdk.to_builder().http_client(sts.clone()).build(),
            RoleName::parse("OnboarderAccept").expect("a role name"),
            US,
            LIMITS.max_attempts,
        );
        (sts, role)
    }

    /// One run of the pipeline over every service-region, as the handler makes it.
    /// (The default member settings: nothing switched on unchosen.)
    async fn run_with(
        &self,
        accounts: &[MemberAccount],
        settings: pipeline::Settings<'_>,
        acceptance: Option<Acceptance<'_>>,
    ) -> Run {
        let shared = service::Settings {
            sdk: &self.sdk,
            detectors: &self.detectors,
            invitation: Invitation {
                message: MESSAGE,
                disable_email_notification: false,
            },
            administrations: &self.administrations,
            member: &MEMBER_SETTINGS,
        };
        let services = self
            .regions
            .iter()
            .flat_map(|clients| MemberService::of_region(clients, shared))
            .collect();
        Run(pipeline::run(services, settings, acceptance, accounts).await)
    }

    async fn run(&self, accounts: &[MemberAccount]) -> Run {
        self.run_with(accounts, settings(), None).await
    }
}

/// A run as the handler makes it: no deadline, no sweep, the default batches at once.
fn settings() -> pipeline::Settings<'static> {
    pipeline::Settings {
        deadline: Deadline::none(),
        sweep: false,
        dry_run: false,
        concurrency: BATCH_CONCURRENCY,
        backing: None,
    }
}

/// What a run returned: one outcome per service-region.
struct Run(Vec<RegionOutcome>);

impl Run {
    fn region(&self, service: Service, region: &str) -> &RegionOutcome {
        self.0
            .iter()
            .find(|r| r.service == service && r.region == region)
            .unwrap_or_else(|| panic!("no {} {region} in the run", service.name()))
    }

    fn rows(&self, service: Service, region: &str) -> &[AccountOutcome] {
        &self.region(service, region).accounts
    }

    fn outcome(&self, service: Service, region: &str, account: &str) -> &Outcome {
        let rows = self.rows(service, region);
        let mut found = rows.iter().filter(|r| r.account_id == account);
        let row = found
            .next()
            .unwrap_or_else(|| panic!("no row for {account} in {} {region}", service.name()));
        assert!(found.next().is_none(), "{account} has one row");
        &row.outcome
    }

    /// Every row of every service-region.
    fn all_rows(&self) -> impl Iterator<Item = &AccountOutcome> {
        self.0.iter().flat_map(|r| &r.accounts)
    }
}

fn account(id: &str) -> MemberAccount {
    MemberAccount {
        id: AccountId::parse(id).expect("12 digits"),
        email: Email::parse(&format!("owner+{id}@example.com")).expect("an address"),
        name: None,
    }
}

/// `n` accounts from `first` on.
fn accounts(first: u64, n: u64) -> Vec<MemberAccount> {
    (first..first + n)
        .map(|i| account(&format!("{i:012}")))
        .collect()
}

fn ids(accounts: &[MemberAccount]) -> BTreeSet<String> {
    accounts.iter().map(|a| a.id.to_string()).collect()
}

/// The stand-in's calls of one service in one region.
fn calls_in(standin: &Standin, service: standin::Service, region: &str) -> Vec<Call> {
    standin
        .calls()
        .into_iter()
        .filter(|c| c.service == service && c.region == region)
        .collect()
}

fn operations(calls: &[Call]) -> Vec<Operation> {
    calls.iter().map(|c| c.operation).collect()
}

/// The accounts the answered (200) calls of `operation` carried, each as often as carried.
fn carried(calls: &[Call], operation: Operation) -> Vec<String> {
    let mut carried: Vec<String> = calls
        .iter()
        .filter(|c| c.operation == operation && c.status == 200)
        .flat_map(|c| c.account_ids.clone())
        .collect();
    carried.sort();
    carried
}

/// How many invitations each (region, account) got, in either service.
fn invitations(standin: &Standin, service: standin::Service) -> BTreeMap<(String, String), usize> {
    let sent = match service {
        standin::Service::SecurityHub => standin.security_hub_invitations(),
        _ => standin.invitations(),
    };
    let mut counts = BTreeMap::new();
    for i in sent {
        *counts.entry((i.region, i.account_id)).or_insert(0) += 1;
    }
    counts
}

fn already(status: &str) -> Outcome {
    Outcome::AlreadyMember {
        status: MemberStatus::parse(status),
    }
}

fn not_attempted(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Unprocessed { result, .. } if result.call_error() == Some(&CallError::NotStarted)
    ) && outcome_text(outcome) == DEADLINE_REACHED
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unprocessed { result, .. } => result.to_string(),
        other => format!("{other:?}"),
    }
}

/// A Lambda deadline with `work` (under 2.8 s) of time for work from now: of a Lambda time of
/// `work / 0.7`, `Deadline::from_lambda` keeps a twentieth as margin and a quarter for the
/// report.
fn deadline_with_work(work: Duration) -> Deadline {
    let at = SystemTime::now() + work.div_f64(0.7);
    let ms = at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    Deadline::from_lambda(ms, Duration::from_secs(20))
}

/// An HTTP client that answers nothing and counts what it was asked: for clients that must
/// make no call (here, STS in a dry run or for the management account).
#[derive(Clone, Debug, Default)]
struct Counting(Arc<AtomicUsize>);

impl HttpConnector for Counting {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        self.0.fetch_add(1, Ordering::SeqCst);
        HttpConnectorFuture::ready(Err(ConnectorError::user("no call expected here".into())))
    }
}

impl HttpClient for Counting {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl Counting {
    fn requests(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Another run creates one account and invites two others between this run's `GetMembers` and
/// its `CreateMembers` / `InviteMembers`: those calls answer "already a member" / "already
/// invited", and each such account's status is read again and reported as it is. The account
/// the other run only created is still invited by this run; those it invited are not invited
/// again. Nothing is reported as a problem.
#[tokio::test(start_paused = true)]
async fn a_race_after_the_check_is_resolved_by_reading_the_status_again() {
    let world = World::new(&[US], false, &[US]);
    let [created, invited, invited_later, untouched] = [
        "200000000001",
        "200000000002",
        "200000000003",
        "200000000004",
    ];
    let s = &world.standin;
    s.race(Race::before(
        Operation::CreateMembers,
        US,
        &[created],
        "Created",
    ));
    s.race(Race::before(
        Operation::CreateMembers,
        US,
        &[invited],
        "Invited",
    ));
    s.race(Race::before(
        Operation::InviteMembers,
        US,
        &[invited_later],
        "Invited",
    ));
    let all = [created, invited, invited_later, untouched].map(account);

    let run = world.run(&all).await;

    let gd = |id| run.outcome(Service::GuardDuty, US, id);
    assert_eq!(
        gd(created),
        &Outcome::Invited,
        "created elsewhere, invited here"
    );
    assert_eq!(gd(invited), &already("Invited"), "invited elsewhere first");
    assert_eq!(
        gd(invited_later),
        &already("Invited"),
        "invited elsewhere in between"
    );
    assert_eq!(gd(untouched), &Outcome::Invited);
    let calls = calls_in(s, standin::Service::GuardDuty, US);
    assert_eq!(
        operations(&calls),
        [
            Operation::DescribeOrganizationConfiguration,
            Operation::GetMembers,
            Operation::CreateMembers,
            // The two accounts CreateMembers found already members, read again.
            Operation::GetMembers,
            Operation::InviteMembers,
            // The account InviteMembers found already invited, read again.
            Operation::GetMembers,
        ]
    );
    assert_eq!(calls[3].account_ids, [created, invited]);
    assert_eq!(
        carried(&calls, Operation::InviteMembers),
        [created, invited_later, untouched]
    );
    assert_eq!(calls[5].account_ids, [invited_later]);
    let counts = invitations(s, standin::Service::GuardDuty);
    assert_eq!(counts.len(), 4);
    assert!(
        counts.values().all(|&n| n == 1),
        "each invited once, by one run: {counts:?}"
    );
    let ours: Vec<String> = s
        .invitations()
        .into_iter()
        .filter(|i| i.message.as_deref() == Some(MESSAGE))
        .map(|i| i.account_id)
        .collect();
    assert_eq!(ours, [created, untouched]);
}

/// Two runs of the same accounts at once, in both services and regions, each call taking 20 ms:
/// they race between every check and write. Every account is invited once per service-region,
/// by one of the runs; the other reports it as already invited; neither reports a problem.
#[tokio::test(start_paused = true)]
async fn two_runs_at_once_invite_each_account_once_and_report_no_problem() {
    let world = World::new(&[US, EU], true, &[US]);
    world.standin.set_latency(Duration::from_millis(20));
    let all = accounts(210_000_000_000, 120);

    let (a, b) = tokio::join!(world.run(&all), world.run(&all));

    for service in [Service::GuardDuty, Service::SecurityHub] {
        for region in [US, EU] {
            for id in ids(&all) {
                let both = [
                    a.outcome(service, region, &id),
                    b.outcome(service, region, &id),
                ];
                assert!(
                    both.contains(&&Outcome::Invited) && both.contains(&&already("Invited")),
                    "{id} in {} {region}: {both:?}",
                    service.name()
                );
            }
        }
    }
    for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
        let counts = invitations(&world.standin, service);
        assert_eq!(counts.len(), 240, "{service:?}");
        assert!(counts.values().all(|&n| n == 1), "{service:?}: {counts:?}");
    }
    // The race happened: both runs sent the same accounts to CreateMembers.
    let created = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::CreateMembers)
        .map(|c| c.account_ids.len())
        .sum::<usize>();
    assert!(
        created > 480,
        "{created} accounts sent to CreateMembers for 480"
    );
}

/// A dry run reads and writes nothing: per account, service and region it says what would be
/// done (create, invite, accept a pending invitation), and members that need nothing or need a
/// person are reported as they are. No member role is assumed.
#[tokio::test(start_paused = true)]
async fn a_dry_run_only_reads_and_says_what_would_be_done() {
    let world = World::new(&[US, EU], true, &[US]);
    let [new, created, pending, enabled, resigned] = [
        "220000000001",
        "220000000002",
        "220000000003",
        "220000000004",
        "220000000005",
    ];
    for region in [US, EU] {
        for (id, status) in [
            (created, "Created"),
            (pending, "Invited"),
            (enabled, "Enabled"),
            (resigned, "Resigned"),
        ] {
            world
                .standin
                .put_member(region, id, "owner@example.com", status);
        }
    }
    let (sts, role) = world.counted_member_role();
    let acceptance = Acceptance {
        concurrency: onboarder::limits::MEMBER_CONCURRENCY,
        role: &role,
        administrator: Some(ADMIN),
        management: None,
    };
    let all = [new, created, pending, enabled, resigned].map(account);
    let before = world.standin.members(US);

    let run = world
        .run_with(
            &all,
            pipeline::Settings {
                dry_run: true,
                ..settings()
            },
            Some(acceptance),
        )
        .await;

    let would = |plan, status: Option<&str>| Outcome::WouldDo {
        plan,
        status: status.map(MemberStatus::parse),
        accept: true,
    };
    for region in [US, EU] {
        let gd = |id| run.outcome(Service::GuardDuty, region, id);
        assert_eq!(gd(new), &would(Plan::Create, None));
        assert_eq!(gd(created), &would(Plan::Invite, Some("Created")));
        assert_eq!(gd(pending), &would(Plan::Accept, Some("Invited")));
        assert_eq!(gd(enabled), &already("Enabled"));
        assert_eq!(
            gd(resigned),
            &Outcome::NeedsAction {
                status: MemberStatus::Resigned
            }
        );
        // Security Hub has none of them yet.
        for id in ids(&all) {
            assert_eq!(
                run.outcome(Service::SecurityHub, region, &id),
                &would(Plan::Create, None)
            );
        }
    }
    let calls = world.standin.calls();
    assert!(
        calls.iter().all(|c| !c.operation.is_write()),
        "only reads: {calls:?}"
    );
    for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
        for region in [US, EU] {
            assert!(
                operations(&calls_in(&world.standin, service, region))
                    .contains(&Operation::GetMembers),
                "{service:?} {region} checked"
            );
        }
    }
    assert_eq!(world.standin.members(US), before, "nothing created");
    assert!(world.standin.security_hub_members(US).is_empty());
    assert!(world.standin.invitations().is_empty());
    assert_eq!(sts.requests(), 0, "no member role assumed");
}

/// The member role is never assumed in the organisation's management account: its invitations
/// are reported at the accept step with that reason (and the action to accept them there).
#[tokio::test(start_paused = true)]
async fn the_management_account_is_never_entered() {
    let world = World::new(&[US], false, &[US]);
    let management = "260000000001";
    let (sts, role) = world.counted_member_role();
    let acceptance = Acceptance {
        concurrency: onboarder::limits::MEMBER_CONCURRENCY,
        role: &role,
        administrator: Some(ADMIN),
        management: Some(management),
    };

    let run = world
        .run_with(&[account(management)], settings(), Some(acceptance))
        .await;

    let Outcome::Unprocessed { step, result } = run.outcome(Service::GuardDuty, US, management)
    else {
        panic!("the invitation is left to the management account")
    };
    assert_eq!(*step, Step::Accept);
    assert_eq!(
        **result,
        Reason::NotAccepted(Box::new(Reason::ManagementNotEntered))
    );
    let action = service::result_action(Service::GuardDuty, *step, result);
    assert!(
        action.is_some_and(|a| a.contains("yourself in the management account")),
        "{action:?}"
    );
    assert_eq!(
        sts.requests(),
        0,
        "no AssumeRole into the management account"
    );
}

/// As the organisation's delegated administrator in us-east-1 (and by invitation in eu-west-1):
/// there `CreateMembers` associates the organisation's accounts, which are read again and
/// reported as enabled by the organisation, never invited; an account outside the organisation
/// is still invited. A second run in the same process asks no more and invites no one.
#[tokio::test(start_paused = true)]
async fn a_delegated_administrator_invites_only_accounts_outside_the_organisation() {
    let world = World::new(&[US, EU], false, &[US, EU]);
    let (org_a, org_b, outside) = ("230000000001", "230000000002", "230000000003");
    world.standin.delegate(&[US], &[org_a, org_b]);
    let all = [org_a, org_b, outside].map(account);

    let run = world.run(&all).await;

    let us = |id| run.outcome(Service::GuardDuty, US, id);
    assert_eq!(us(org_a), &Outcome::EnabledByOrganization);
    assert_eq!(us(org_b), &Outcome::EnabledByOrganization);
    assert_eq!(us(outside), &Outcome::Invited);
    for id in [org_a, org_b, outside] {
        assert_eq!(run.outcome(Service::GuardDuty, EU, id), &Outcome::Invited);
    }
    assert_eq!(
        run.region(Service::GuardDuty, US).administration,
        Some(Administration::DelegatedAdministrator)
    );
    assert_eq!(
        run.region(Service::GuardDuty, EU).administration,
        Some(Administration::Invitation)
    );
    let us_calls = calls_in(&world.standin, standin::Service::GuardDuty, US);
    assert_eq!(
        operations(&us_calls),
        [
            Operation::DescribeOrganizationConfiguration,
            Operation::GetMembers,
            Operation::CreateMembers,
            Operation::GetMembers,
            Operation::InviteMembers,
        ]
    );
    assert_eq!(
        us_calls[3].account_ids,
        [org_a, org_b, outside],
        "read again"
    );
    assert_eq!(carried(&us_calls, Operation::InviteMembers), [outside]);
    assert_eq!(
        world.standin.members(US)[org_a].relationship_status,
        "Enabled"
    );
    assert_eq!(
        operations(&calls_in(&world.standin, standin::Service::GuardDuty, EU)),
        [
            Operation::DescribeOrganizationConfiguration,
            Operation::GetMembers,
            Operation::CreateMembers,
            Operation::InviteMembers,
        ],
        "by invitation: no re-read"
    );

    let before = world.standin.calls().len();
    let again = world.run(&all).await;
    let later = &world.standin.calls()[before..];
    let read_again = |c: &&Call| {
        c.operation == Operation::GetMembers
            || (c.operation == Operation::DescribeOrganizationConfiguration && c.region == US)
    };
    assert!(
        later.iter().all(|c| read_again(&c)),
        "the administration is learnt once per process (the delegated administrator reads the organisation's auto-enable once a run), and nothing is written: {later:?}"
    );
    assert_eq!(
        again.outcome(Service::GuardDuty, US, org_a),
        &already("Enabled")
    );
    assert_eq!(
        again.outcome(Service::GuardDuty, US, outside),
        &already("Invited")
    );
}

/// Security Hub's mode is asked once per region and process too: as its delegated administrator
/// (us-east-1), `CreateMembers` enables the organisation's accounts, never invited; an account
/// outside the organisation is invited. By invitation (eu-west-1, where Security Hub answers
/// `InvalidAccessException`), every account is invited without reading statuses again.
#[tokio::test(start_paused = true)]
async fn security_hub_s_organisation_mode_is_asked_and_its_accounts_are_never_invited() {
    let world = World::new(&[US, EU], true, &[US, EU]);
    let (org_a, org_b, outside) = ("240000000001", "240000000002", "240000000003");
    world.standin.delegate_security_hub(&[US], &[org_a, org_b]);
    let all = [org_a, org_b, outside].map(account);

    let run = world.run(&all).await;

    let us = |id| run.outcome(Service::SecurityHub, US, id);
    assert_eq!(us(org_a), &Outcome::EnabledByOrganization);
    assert_eq!(us(org_b), &Outcome::EnabledByOrganization);
    assert_eq!(us(outside), &Outcome::Invited);
    for id in [org_a, org_b, outside] {
        assert_eq!(run.outcome(Service::SecurityHub, EU, id), &Outcome::Invited);
    }
    assert_eq!(
        run.region(Service::SecurityHub, US).administration,
        Some(Administration::DelegatedAdministrator)
    );
    assert_eq!(
        run.region(Service::SecurityHub, EU).administration,
        Some(Administration::Invitation)
    );
    let us_calls = calls_in(&world.standin, standin::Service::SecurityHub, US);
    assert_eq!(carried(&us_calls, Operation::InviteMembers), [outside]);
    assert_eq!(
        operations(&calls_in(&world.standin, standin::Service::SecurityHub, EU)),
        [
            Operation::DescribeOrganizationConfiguration,
            Operation::GetMembers,
            Operation::CreateMembers,
            Operation::InviteMembers,
        ],
        "by invitation: no re-read"
    );
    let before = world.standin.calls().len();
    world.run(&all).await;
    assert!(
        world.standin.calls()[before..].iter().all(|c| {
            c.operation == Operation::GetMembers
                || (c.operation == Operation::DescribeOrganizationConfiguration && c.region == US)
        }),
        "learnt once per process; the delegated administrator's auto-enable is read once a run"
    );
}

/// When a service refuses to create members and its `DescribeOrganizationConfiguration` says
/// the member quota is reached, the refused accounts are reported as over the quota, grouped
/// with one action per service-region; Security Hub's `LimitExceededException` for a quota is
/// not sent again as a throttle.
#[tokio::test(start_paused = true)]
async fn a_member_quota_reached_is_read_from_the_service_and_never_paced() {
    let world = World::new(&[US], true, &[US]);
    let org: Vec<String> = (1..=4).map(|i| format!("25000000000{i}")).collect();
    let org_ids: Vec<&str> = org.iter().map(String::as_str).collect();
    world.standin.delegate(&[US], &org_ids);
    world.standin.delegate_security_hub(&[US], &org_ids);
    world.standin.limit_members(2);
    world.standin.limit_security_hub_members(2);
    for id in &org_ids[..2] {
        world.standin.put_member(US, id, "m@example.com", "Enabled");
        world
            .standin
            .put_security_hub_member(US, id, "m@example.com", "Enabled");
    }
    let all: Vec<MemberAccount> = org_ids.iter().map(|id| account(id)).collect();

    let run = world.run(&all).await;

    for service in [Service::GuardDuty, Service::SecurityHub] {
        for id in &org_ids[2..] {
            let Outcome::Unprocessed { step, result } = run.outcome(service, US, id) else {
                panic!("{service:?} {id}: over the quota")
            };
            assert_eq!(*step, Step::Create);
            assert!(matches!(**result, Reason::MemberQuota(_)), "{result:?}");
            let action = service::result_action(service, *step, result).expect("an action");
            assert!(action.contains("member quota here is reached"), "{action}");
        }
        assert_eq!(run.outcome(service, US, org_ids[0]), &already("Enabled"));
    }
    let hub_calls = calls_in(&world.standin, standin::Service::SecurityHub, US);
    let creates: Vec<&Call> = hub_calls
        .iter()
        .filter(|c| c.operation == Operation::CreateMembers)
        .collect();
    assert_eq!(creates.len(), 1, "a quota is not a throttle: sent once");
    assert_eq!(creates[0].status, 429);
    assert_eq!(
        operations(&hub_calls)
            .iter()
            .filter(|o| **o == Operation::DescribeOrganizationConfiguration)
            .count(),
        1,
        "the quota is read with the mode, once"
    );
}

/// A region that refuses the first call outright, because it is not enabled for the account
/// (`UnrecognizedClientException`) or a service control policy denies it
/// (`AccessDeniedException`), is one problem per service with every account counted, and no
/// row per account; no further call is made there, and the other region is onboarded.
#[tokio::test(start_paused = true)]
async fn a_region_refused_outright_is_one_problem_without_rows() {
    let all = accounts(240_000_000_000, 120);
    type Refuse = fn(&Standin);
    let refusals: [(&str, Refuse); 2] = [
        ("UnrecognizedClientException", |s| {
            s.set_regions(&[(US, "ENABLED_BY_DEFAULT"), (EU, "DISABLED")])
        }),
        ("AccessDeniedException", |s| s.deny_region(EU)),
    ];
    for (code, refuse) in refusals {
        // eu-west-1's detector is discovered: GuardDuty's first call there is ListDetectors;
        // Security Hub's is GetMembers.
        let world = World::new(&[US, EU], true, &[US]);
        refuse(&world.standin);

        let run = world.run(&all).await;

        for (service, step, first) in [
            (Service::GuardDuty, Step::Detector, "ListDetectors"),
            (Service::SecurityHub, Step::Check, "GetMembers"),
        ] {
            let eu = run.region(service, EU);
            let problem = eu.problem.as_ref().expect("the region is reported");
            assert_eq!(problem.step, step, "{code}, {}", service.name());
            assert_eq!(problem.accounts, 120);
            assert!(
                problem
                    .reason
                    .to_string()
                    .starts_with(&format!("{first} failed: {code}")),
                "{code}: {}",
                problem.reason
            );
            assert!(eu.accounts.is_empty(), "no row per account: {code}");
            assert!(
                run.rows(service, US)
                    .iter()
                    .all(|r| r.outcome == Outcome::Invited),
                "{code}: the other region goes on"
            );
        }
        let gd = calls_in(&world.standin, standin::Service::GuardDuty, EU);
        assert_eq!(operations(&gd), [Operation::ListDetectors], "{code}");
        // Security Hub's mode is asked first, and its refusal is not taken for the region's (AWS
        // documents no answer for an account that is not the delegated administrator); then
        // three batches: those started before the first was refused are refused too.
        let sh = calls_in(&world.standin, standin::Service::SecurityHub, EU);
        assert_eq!(
            sh[0].operation,
            Operation::DescribeOrganizationConfiguration
        );
        assert!(
            (1..=3).contains(&sh[1..].len())
                && sh[1..]
                    .iter()
                    .all(|c| c.operation == Operation::GetMembers && c.status == 403),
            "{code}: {sh:?}"
        );
    }
}

/// With no time left for work, no call is started: every account has a row in every
/// service-region saying it was not attempted, and nothing reaches the services.
#[tokio::test(start_paused = true)]
async fn with_no_time_left_every_account_is_not_attempted() {
    let world = World::new(&[US, EU], true, &[US, EU]);
    let deadline = deadline_with_work(Duration::from_millis(70));
    // The deadline is on the wall clock, which the paused tokio clock does not move.
    while deadline.time_left().expect("a deadline") > Duration::ZERO {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all = accounts(250_000_000_000, 60);

    let run = world
        .run_with(
            &all,
            pipeline::Settings {
                deadline,
                ..settings()
            },
            None,
        )
        .await;

    for region in &run.0 {
        assert!(region.problem.is_none(), "{region:?}");
        assert_eq!(
            ids(&all),
            region
                .accounts
                .iter()
                .map(|r| r.account_id.to_string())
                .collect()
        );
        for row in &region.accounts {
            assert!(not_attempted(&row.outcome), "{row:?}");
            assert!(
                matches!(
                    row.outcome,
                    Outcome::Unprocessed {
                        step: Step::Check,
                        ..
                    }
                ),
                "{row:?}"
            );
        }
    }
    assert_eq!(run.all_rows().count(), 4 * 60);
    assert!(
        world.standin.calls().is_empty(),
        "{:?}",
        world.standin.calls()
    );
}

/// A throttled call's turn at its pace comes after the time for work: it is not waited for,
/// and its accounts are reported as not attempted. The service lets 1 call a second through
/// per operation; ten batches check at once, nine are throttled and queue at 1 a second (the
/// pace's floor), with half a second of work left.
#[tokio::test(start_paused = true)]
async fn a_paced_turn_after_the_time_for_work_is_not_waited_for() {
    let world = World::new(&[US], false, &[US]);
    world.standin.set_rate_limit(Some(1));
    // The batches' calls are in flight together, as against the real service.
    let latency = Duration::from_millis(10);
    world.standin.set_latency(latency);
    let deadline = deadline_with_work(Duration::from_millis(500));
    let work = deadline.time_left().expect("a deadline");
    assert!(work > Duration::from_millis(400), "{work:?}");
    let all = accounts(260_000_000_000, 500);
    let started = Instant::now();

    let run = world
        .run_with(
            &all,
            pipeline::Settings {
                deadline,
                concurrency: 10,
                ..settings()
            },
            None,
        )
        .await;

    // The deadline is on the wall clock, which stands (nearly) still while the paused tokio
    // clock advances: the time left is read after two calls of 10 ms (the administration's
    // question, the check), and is still about 0.5 s.
    let waited = started.elapsed();
    assert!(
        waited <= work + 2 * latency + Duration::from_millis(1),
        "the run waited {waited:?} with {work:?} of work: the first turn at 1 a second is 1 s away"
    );
    let rows = run.rows(Service::GuardDuty, US);
    assert_eq!(rows.len(), 500);
    let stopped = rows.iter().filter(|r| not_attempted(&r.outcome)).count();
    assert!(
        stopped >= 450,
        "at least the nine throttled batches: {stopped}"
    );
    assert!(
        rows.iter()
            .all(|r| not_attempted(&r.outcome) || r.outcome == Outcome::Invited),
        "{rows:?}"
    );
    let calls = calls_in(&world.standin, standin::Service::GuardDuty, US);
    let checks: Vec<u16> = calls
        .iter()
        .filter(|c| c.operation == Operation::GetMembers)
        .map(|c| c.status)
        .collect();
    assert_eq!(
        checks.iter().filter(|&&s| s == 200).count(),
        1,
        "{checks:?}"
    );
    assert_eq!(
        checks.len(),
        10,
        "one check a batch, no throttled one sent again: {checks:?}"
    );
    assert!(
        invitations(&world.standin, standin::Service::GuardDuty)
            .values()
            .all(|&n| n == 1)
    );
}

/// Both services in both regions answer 429 `TooManyRequestsException` beyond 5 calls a second
/// per operation: throttled calls are sent again at the pace learnt from them (never at once:
/// in virtual time an immediate resend would be throttled at every attempt), and every account
/// is onboarded, each created and invited exactly once per service-region.
#[tokio::test(start_paused = true)]
async fn throttled_calls_are_sent_again_at_a_pace_and_every_account_is_onboarded_once() {
    let world = World::new(&[US, EU], true, &[US]);
    world.standin.set_rate_limit(Some(5));
    let all = accounts(270_000_000_000, 400);

    let run = world.run(&all).await;

    for service in [Service::GuardDuty, Service::SecurityHub] {
        for region in [US, EU] {
            let rows = run.rows(service, region);
            assert_eq!(rows.len(), 400);
            let wrong: Vec<_> = rows
                .iter()
                .filter(|r| r.outcome != Outcome::Invited)
                .collect();
            assert!(wrong.is_empty(), "{} {region}: {wrong:?}", service.name());
        }
    }
    let every: Vec<String> = ids(&all).into_iter().collect();
    for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
        for region in [US, EU] {
            let calls = calls_in(&world.standin, service, region);
            assert_eq!(
                carried(&calls, Operation::CreateMembers),
                every,
                "{service:?} {region}"
            );
            assert_eq!(
                carried(&calls, Operation::InviteMembers),
                every,
                "{service:?} {region}"
            );
        }
        let counts = invitations(&world.standin, service);
        assert_eq!(counts.len(), 800);
        assert!(counts.values().all(|&n| n == 1));
    }
    let calls = world.standin.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    assert!(throttled > 0, "the limit was met");
    assert!(
        throttled * 5 <= calls.len(),
        "paced, not hammering: {throttled} of {} calls throttled",
        calls.len()
    );
}

/// A call that never answers is abandoned at the SDK's timeouts (on tokio's clock), and its
/// accounts are reported with the timeout; the other region is onboarded.
#[tokio::test(start_paused = true)]
async fn a_hung_call_is_abandoned_at_the_timeouts_and_reported_per_account() {
    let world = World::new(&[US, EU], false, &[US, EU]);
    world
        .standin
        .inject(Fault::always(Operation::GetMembers, US, FaultKind::Hang));
    let all = accounts(280_000_000_000, 3);
    let started = Instant::now();

    let run = world.run(&all).await;

    assert!(started.elapsed() <= LIMITS.operation_timeout + Duration::from_secs(1));
    for row in run.rows(Service::GuardDuty, US) {
        let Outcome::Unprocessed {
            step: Step::Check,
            result,
        } = &row.outcome
        else {
            panic!("{row:?}");
        };
        let Reason::Call { operation, error } = result.as_ref() else {
            panic!("{row:?}");
        };
        assert_eq!(*operation, "GetMembers");
        assert_eq!(
            error.aws().map(|e| e.kind()),
            Some(Kind::Timeout),
            "{error}"
        );
    }
    assert!(
        run.rows(Service::GuardDuty, EU)
            .iter()
            .all(|r| r.outcome == Outcome::Invited)
    );
    let hung = calls_in(&world.standin, standin::Service::GuardDuty, US);
    assert!(
        hung.iter()
            .all(|c| c.status == 0 || c.operation != Operation::GetMembers)
    );
    assert!(!operations(&hung).contains(&Operation::CreateMembers));
}

/// As the delegated administrator, the organisation's auto-enable setting is read in every
/// service-region, on every run, and the report names each service-region where it is off once,
/// with what to do; Security Hub under central configuration is named as such; where it is on,
/// nothing is said; and the setting is never changed.
#[tokio::test(start_paused = true)]
async fn the_organisations_auto_enable_is_read_and_reported_and_never_changed() {
    let world = World::new(&[US, EU], true, &[US, EU]);
    let org = ["260000000001", "260000000002"];
    world.standin.delegate(&[US, EU], &org);
    world.standin.delegate_security_hub(&[US, EU], &org);
    world.standin.set_auto_enable(US, "NEW");
    world.standin.set_auto_enable(EU, "NONE");
    world.standin.set_security_hub_auto_enable(US, "CENTRAL");
    world.standin.set_security_hub_auto_enable(EU, "OFF");
    let all: Vec<MemberAccount> = org.iter().map(|id| account(id)).collect();

    for pass in 0..2 {
        let run = world.run(&all).await;
        let setting = |service, region| run.region(service, region).auto_enable;
        assert_eq!(
            setting(Service::GuardDuty, US),
            Some(AutoEnable::On),
            "{pass}"
        );
        assert_eq!(setting(Service::GuardDuty, EU), Some(AutoEnable::Off));
        assert_eq!(
            setting(Service::SecurityHub, US),
            Some(AutoEnable::CentralConfiguration)
        );
        assert_eq!(setting(Service::SecurityHub, EU), Some(AutoEnable::Off));

        let summary = Summary {
            trigger: "manual invoke".into(),
            event_id: None,
            dry_run: false,
            accounts: all.len(),
            not_attempted: Vec::new(),
            regions: run.0.clone(),
            inactive: Vec::new(),
            regions_not_enabled: Vec::new(),
            member_settings: None,
        };
        let report = onboarder::report::render(&summary);
        let lines = |needle: &str| -> Vec<String> {
            report
                .text
                .lines()
                .filter(|l| l.contains(needle))
                .map(str::to_owned)
                .collect()
        };
        let guardduty = lines("GuardDuty's organisation auto-enable is off");
        assert_eq!(guardduty.len(), 1, "{}", report.text);
        assert!(
            guardduty[0].starts_with("In eu-west-1: "),
            "{}",
            guardduty[0]
        );
        assert!(guardduty[0].contains("AutoEnableOrganizationMembers NEW"));
        let hub = lines("Security Hub's organisation auto-enable is off");
        assert_eq!(hub.len(), 1);
        assert!(hub[0].starts_with("In eu-west-1: "), "{}", hub[0]);
        let central = lines("Security Hub uses central configuration");
        assert_eq!(central.len(), 1);
        assert!(central[0].starts_with("In us-east-1: "), "{}", central[0]);
        assert!(
            report
                .html
                .contains("GuardDuty&#39;s organisation auto-enable is off")
                || report
                    .html
                    .contains("GuardDuty's organisation auto-enable is off"),
            "the HTML part says it too"
        );
    }
    // Read on each run (the mode is learnt once per process, the setting is not), and never
    // changed: no UpdateOrganizationConfiguration.
    let calls = world.standin.calls();
    for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
        for region in [US, EU] {
            let reads = calls_in(&world.standin, service, region)
                .iter()
                .filter(|c| c.operation == Operation::DescribeOrganizationConfiguration)
                .count();
            assert_eq!(reads, 2, "{service:?} {region}: once a run");
        }
    }
    assert!(
        calls
            .iter()
            .all(|c| !format!("{:?}", c.operation).starts_with("Update")),
        "nothing is changed"
    );
}

/// A sweep reports each member whose account the organisation no longer backs (absent from it,
/// or not `ACTIVE`) in its own row, with its status and its state there, and changes nothing;
/// a dry run with removal on says what it would remove; with removal on, each is disassociated,
/// then deleted, in both services, and a refusal is that member's row, in the service's words.
#[tokio::test(start_paused = true)]
async fn a_sweep_reports_or_removes_the_members_the_organisation_no_longer_backs() {
    let (active, absent, suspended) = ("270000000001", "270000000009", "270000000008");
    let world = World::new(&[US], true, &[US]);
    for (id, status) in [
        (active, "Enabled"),
        (absent, "Enabled"),
        (suspended, "Invited"),
    ] {
        world.standin.put_member(US, id, "m@example.com", status);
        world
            .standin
            .put_security_hub_member(US, id, "m@example.com", status);
    }
    let all = [account(active)];
    let backing = |remove| pipeline::Backing {
        active: [onboarder::account::AccountNumber::of(active).expect("12 digits")].into(),
        inactive: [(
            onboarder::account::AccountNumber::of(suspended).expect("12 digits"),
            Standing::Suspended,
        )]
        .into(),
        remove,
    };
    let sweep = |backing, dry_run| pipeline::Settings {
        sweep: true,
        dry_run,
        backing: Some(backing),
        ..settings()
    };
    let writes = || {
        world
            .standin
            .calls()
            .iter()
            .filter(|c| c.operation.is_write())
            .count()
    };

    // Reported, nothing changed.
    let reported = backing(false);
    let run = world.run_with(&all, sweep(&reported, false), None).await;
    for service in [Service::GuardDuty, Service::SecurityHub] {
        assert_eq!(run.outcome(service, US, active), &already("Enabled"));
        assert_eq!(
            run.outcome(service, US, absent),
            &Outcome::Departed {
                status: MemberStatus::Enabled,
                standing: Standing::Absent
            }
        );
        assert_eq!(
            run.outcome(service, US, suspended),
            &Outcome::Departed {
                status: MemberStatus::Invited,
                standing: Standing::Suspended
            }
        );
        let action = onboarder::service::departed_action(service);
        assert!(action.contains("REMOVE_DEPARTED_MEMBERS"), "{action}");
    }
    assert_eq!(writes(), 0, "nothing is changed by default");

    // A dry run with removal on: what it would remove, nothing changed.
    let removing = backing(true);
    let run = world.run_with(&all, sweep(&removing, true), None).await;
    for id in [absent, suspended] {
        assert!(
            matches!(
                run.outcome(Service::GuardDuty, US, id),
                Outcome::WouldDo {
                    plan: Plan::Remove,
                    ..
                }
            ),
            "{id}"
        );
    }
    assert_eq!(writes(), 0, "a dry run changes nothing");

    // Removed: disassociated, then deleted, in both services.
    let run = world.run_with(&all, sweep(&removing, false), None).await;
    for service in [Service::GuardDuty, Service::SecurityHub] {
        assert_eq!(
            run.outcome(service, US, absent),
            &Outcome::Removed {
                standing: Standing::Absent
            }
        );
        assert_eq!(
            run.outcome(service, US, suspended),
            &Outcome::Removed {
                standing: Standing::Suspended
            }
        );
    }
    for members in [
        world.standin.members(US),
        world.standin.security_hub_members(US),
    ] {
        assert!(!members.contains_key(absent) && !members.contains_key(suspended));
        assert!(
            members.contains_key(active),
            "the organisation's account stays"
        );
    }
    let ops = |service| -> Vec<Operation> {
        world
            .standin
            .calls()
            .iter()
            .filter(|c| c.service == service && c.operation.is_write())
            .map(|c| c.operation)
            .collect()
    };
    for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
        assert_eq!(
            ops(service),
            [Operation::DisassociateMembers, Operation::DeleteMembers],
            "{service:?}: one call each for both members, disassociated first"
        );
    }

    // A delete the service refuses: the member's row, at the delete step; it stays
    // disassociated.
    world
        .standin
        .put_member(US, absent, "m@example.com", "Enabled");
    world.standin.inject(Fault::always(
        Operation::DeleteMembers,
        US,
        FaultKind::ServerError,
    ));
    let run = world.run_with(&all, sweep(&removing, false), None).await;
    assert!(
        matches!(
            run.outcome(Service::GuardDuty, US, absent),
            Outcome::Unprocessed {
                step: Step::Delete,
                ..
            }
        ),
        "{:?}",
        run.outcome(Service::GuardDuty, US, absent)
    );
    assert_eq!(
        world.standin.members(US)[absent].relationship_status,
        "Removed"
    );
}

//! The stand-in served in-process answers as it does over HTTP: the same calls through the SDK's
//! clients give the same answers and the same record, member keys name member accounts, a hang
//! never answers, latency delays the answer, a race lands before its call, and a request to any
//! other endpoint is refused rather than sent elsewhere.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::{Credentials, Region};
use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::types::AccountDetail;
use standin::{
    Fault, FaultKind, IN_PROCESS_ENDPOINT, Operation, Race, Service, Settings, Standin, results,
};

const ADMIN: &str = "999999999999";
const MEMBER: &str = "222222222222";
const MEMBER_KEY: &str = "ASIAMEMBER";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const US: &str = "us-east-1";

fn settings() -> Settings {
    Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(US.into(), DETECTOR.into())]),
    }
}

/// A GuardDuty client that reaches `s` in-process, at `endpoint`, signing with `key`.
fn client_at(s: &Standin, endpoint: &str, key: &str) -> Client {
    Client::from_conf(
        aws_sdk_guardduty::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(s.http_client())
            .region(Region::new(US))
            .credentials_provider(Credentials::new(key, "secret", None, None, "test"))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_guardduty::config::retry::RetryConfig::disabled())
            .build(),
    )
}

fn client(s: &Standin) -> Client {
    client_at(s, &s.endpoint(), "AKID")
}

fn detail(id: &str) -> AccountDetail {
    AccountDetail::builder()
        .account_id(id)
        .email(format!("{id}@example.com"))
        .build()
}

/// Creates, invites and reads one member, and sends a request the service refuses; returns what
/// each call answered, as the SDK parsed it.
async fn lifecycle(gd: &Client) -> Vec<String> {
    let mut seen = Vec::new();
    let created = gd
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail(MEMBER))
        .account_details(detail(ADMIN))
        .send()
        .await
        .expect("created");
    seen.extend(
        created
            .unprocessed_accounts()
            .iter()
            .map(|u| format!("create {:?} {:?}", u.account_id(), u.result())),
    );
    let invited = gd
        .invite_members()
        .detector_id(DETECTOR)
        .account_ids(MEMBER)
        .message("welcome")
        .send()
        .await
        .expect("invited");
    seen.push(format!("invite {:?}", invited.unprocessed_accounts()));
    let got = gd
        .get_members()
        .detector_id(DETECTOR)
        .account_ids(MEMBER)
        .send()
        .await
        .expect("read");
    seen.extend(
        got.members()
            .iter()
            .map(|m| format!("get {:?} {:?}", m.account_id(), m.relationship_status())),
    );
    let refused = gd
        .get_members()
        .detector_id("0123456789abcdef0123456789abcdef")
        .account_ids(MEMBER)
        .send()
        .await
        .expect_err("not our detector");
    seen.push(format!(
        "error {:?} {:?}",
        refused.code(),
        refused.message()
    ));
    seen
}

/// What the stand-in recorded, without the parts that differ from run to run.
fn record(s: &Standin) -> Vec<(Operation, String, Vec<String>, u16)> {
    s.calls()
        .into_iter()
        .map(|c| (c.operation, c.caller, c.account_ids, c.status))
        .collect()
}

#[tokio::test]
async fn in_process_and_over_http_answer_and_record_alike() {
    let over_http = Standin::start(settings()).await.expect("starts");
    let plain = aws_smithy_http_client::Builder::new().build_http();
    let http_client = Client::from_conf(
        aws_sdk_guardduty::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(plain)
            .region(Region::new(US))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .endpoint_url(over_http.endpoint())
            .retry_config(aws_sdk_guardduty::config::retry::RetryConfig::disabled())
            .build(),
    );
    let in_process = Standin::in_process(settings());
    assert_eq!(in_process.endpoint(), IN_PROCESS_ENDPOINT);

    let by_http = lifecycle(&http_client).await;
    let by_call = lifecycle(&client(&in_process)).await;

    assert_eq!(by_call, by_http);
    assert!(
        by_call
            .iter()
            .any(|line| line.contains(results::MEMBER_OF_ITSELF)),
        "{by_call:?}"
    );
    assert!(by_call.iter().any(|line| line.contains("\"Invited\"")));
    assert!(
        by_call
            .iter()
            .any(|line| line.contains("BadRequestException")),
        "{by_call:?}"
    );
    assert_eq!(record(&in_process), record(&over_http));
    assert_eq!(in_process.invitations().len(), 1);
    assert_eq!(
        in_process.invitations()[0].message.as_deref(),
        Some("welcome")
    );
}

#[tokio::test]
async fn a_member_key_calls_as_the_member_account() {
    let s = Standin::in_process(settings());
    s.set_identity(MEMBER_KEY, MEMBER);
    let member = client_at(&s, &s.endpoint(), MEMBER_KEY);
    let created = member
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("the member creates its detector");
    let id = created.detector_id().expect("an id").to_owned();
    assert_eq!(s.member_detectors(MEMBER).get(US), Some(&id));
    assert_eq!(s.calls()[0].caller, MEMBER);
    // The administrator's key is still the administrator's.
    let listed = client(&s).list_detectors().send().await.expect("listed");
    assert_eq!(listed.detector_ids(), [DETECTOR]);
    assert_eq!(s.calls()[1].caller, ADMIN);
}

#[tokio::test]
async fn a_request_to_another_endpoint_is_refused_and_not_answered() {
    let s = Standin::in_process(settings());
    let elsewhere = client_at(&s, "https://guardduty.us-east-1.amazonaws.com", "AKID");
    let error = elsewhere
        .list_detectors()
        .send()
        .await
        .expect_err("refused");
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&error)
    );
    assert!(
        text.contains("answers http://standin.invalid only"),
        "{text}"
    );
    assert!(s.calls().is_empty());
}

#[tokio::test]
async fn a_hang_never_answers_and_latency_delays_the_answer() {
    let s = Standin::in_process(settings());
    s.inject(Fault::times(
        Operation::ListDetectors,
        US,
        FaultKind::Hang,
        1,
    ));
    let gd = client(&s);
    let hung = tokio::time::timeout(Duration::from_millis(200), gd.list_detectors().send()).await;
    assert!(hung.is_err(), "no answer: {hung:?}");
    assert_eq!(s.calls()[0].status, 0, "recorded as never answered");

    s.set_latency(Duration::from_millis(100));
    let started = Instant::now();
    gd.list_detectors().send().await.expect("answered");
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_race_lands_just_before_its_call() {
    let s = Standin::in_process(settings());
    let other = "333333333333";
    s.race(Race::before(
        Operation::CreateMembers,
        US,
        &[MEMBER, other],
        "Invited",
    ));
    s.race(
        Race::before(Operation::CreateMembers, US, &[other], "Created")
            .in_service(Service::SecurityHub),
    );
    let gd = client(&s);
    gd.get_members()
        .detector_id(DETECTOR)
        .account_ids(MEMBER)
        .send()
        .await
        .expect("read");
    assert!(
        s.members(US).is_empty(),
        "not yet: the race waits for CreateMembers"
    );

    let created = gd
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail(MEMBER))
        .send()
        .await
        .expect("answered");
    let results: Vec<_> = created
        .unprocessed_accounts()
        .iter()
        .map(|u| (u.account_id(), u.result()))
        .collect();
    assert_eq!(results, [(Some(MEMBER), Some(results::ALREADY_MEMBER))]);
    assert_eq!(s.members(US)[MEMBER].relationship_status, "Invited");
    assert_eq!(s.members(US)[other].relationship_status, "Invited");
    let invited: Vec<_> = s.invitations().into_iter().map(|i| i.account_id).collect();
    assert_eq!(
        invited,
        [MEMBER, other],
        "the other run's invitations were sent"
    );
    assert!(
        s.security_hub_members(US).is_empty(),
        "a Security Hub race waits for Security Hub's call"
    );

    // Landed once.
    gd.create_members()
        .detector_id(DETECTOR)
        .account_details(detail("444444444444"))
        .send()
        .await
        .expect("answered");
    assert_eq!(s.invitations().len(), 2);
    assert_eq!(s.members(US)["444444444444"].relationship_status, "Created");
}

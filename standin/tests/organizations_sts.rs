//! Organizations and STS as the real SDK clients see them: `ListAccounts` pages through a
//! 50,000-account organisation with the SDK's paginator and `DescribeAccount` answers one account
//! or the typed `AccountNotFoundException`; `AssumeRole` issues keys that call the member APIs as
//! the role's account, refuses bad input with the codes the SDK types, and is answered after the
//! latency, counted against the rate limit and recorded with its time like every other call.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_guardduty::config::Credentials;
use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use standin::{FIRST_ACCOUNT, ORGANIZATION_ID, Service, Settings, Standin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "999999999999";
const MEMBER: &str = "222222222222";
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
const ROLE: &str = "arn:aws:iam::222222222222:role/OnboarderMember";

fn settings() -> Settings {
    Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(US.into(), "12abc34d567e8fa901bc2d34e56789f0".into())]),
    }
}

fn key(access_key_id: &str) -> Credentials {
    Credentials::new(access_key_id, "secret", None, None, "test")
}

/// A client of one SDK crate for `region`, through `http_client`, pointed at `endpoint`, without
/// retries so every answer is seen.
macro_rules! sdk_client {
    ($sdk:ident, $http:expr, $endpoint:expr, $region:expr, $credentials:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client($http)
                .region($sdk::config::Region::new($region.to_owned()))
                .credentials_provider($credentials)
                .endpoint_url($endpoint)
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .build(),
        )
    };
}

/// Over HTTP on 127.0.0.1.
fn plain_http() -> aws_sdk_guardduty::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

fn organizations(s: &Standin) -> aws_sdk_organizations::Client {
    sdk_client!(
        aws_sdk_organizations,
        s.http_client(),
        s.endpoint(),
        US,
        key("AKIDADMIN")
    )
}

fn sts(s: &Standin, region: &str) -> aws_sdk_sts::Client {
    sdk_client!(
        aws_sdk_sts,
        plain_http(),
        s.endpoint(),
        region,
        key("AKIDADMIN")
    )
}

#[tokio::test]
async fn list_accounts_pages_through_a_50000_account_organisation() {
    // In-process: 2,500 pages of 20 without sockets.
    let s = Standin::in_process(settings());
    s.serve_organization(50_000);
    let pages: Vec<_> = organizations(&s)
        .list_accounts()
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("every page");
    let accounts: Vec<_> = pages.iter().flat_map(|p| p.accounts()).collect();
    assert_eq!(accounts.len(), 50_000);
    for (i, a) in accounts.iter().enumerate() {
        assert_eq!(
            a.id(),
            Some(format!("{:012}", FIRST_ACCOUNT + i as u64).as_str()),
            "each account once, in order"
        );
    }
    let last = &accounts[49_999];
    assert_eq!(last.email(), Some("account-100000049999@example.com"));
    assert_eq!(last.name(), Some("Account 49999"));
    assert_eq!(
        last.arn(),
        Some(
            format!("arn:aws:organizations::{ADMIN}:account/{ORGANIZATION_ID}/100000049999")
                .as_str()
        )
    );
    assert_eq!(last.state().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(last.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(last.joined_method().map(|m| m.as_str()), Some("CREATED"));
    assert_eq!(
        last.joined_timestamp().map(|t| t.secs()),
        Some(1_704_067_200 + 49_999),
        "the SDK reads the epoch-seconds timestamp"
    );
    let calls = s.calls();
    assert_eq!(calls.len(), 2_500, "pages of the default 20");
    assert!(
        calls
            .iter()
            .all(|c| c.service == Service::Organizations && c.status == 200 && c.caller == ADMIN)
    );

    let e = organizations(&s)
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .unwrap_err();
    let Some(ListAccountsError::InvalidInputException(invalid)) = e.as_service_error() else {
        panic!("a typed InvalidInputException: {e:?}");
    };
    assert_eq!(
        invalid.reason().map(|r| r.as_str()),
        Some("MAX_VALUE_EXCEEDED")
    );
    let e = organizations(&s)
        .list_accounts()
        .next_token("not one of ours")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInputException"));
}

#[tokio::test]
async fn describe_account_answers_one_account_or_account_not_found() {
    let s = Standin::in_process(settings());
    s.serve_organization(3);
    let orgs = organizations(&s);
    let found = orgs
        .describe_account()
        .account_id("100000000002")
        .send()
        .await
        .expect("in the organisation");
    let account = found.account().expect("an account");
    assert_eq!(account.name(), Some("Account 2"));
    assert_eq!(account.email(), Some("account-100000000002@example.com"));

    for (id, what) in [
        ("100000000003", "past the last account"),
        (MEMBER, "never in the organisation"),
    ] {
        let e = orgs
            .describe_account()
            .account_id(id)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(
                e.as_service_error(),
                Some(DescribeAccountError::AccountNotFoundException(_))
            ),
            "{what}: {e:?}"
        );
        assert!(e.message().is_some_and(|m| m.contains(id)), "{e:?}");
    }
    let e = orgs
        .describe_account()
        .account_id("12345")
        .send()
        .await
        .unwrap_err();
    let Some(DescribeAccountError::InvalidInputException(invalid)) = e.as_service_error() else {
        panic!("a typed InvalidInputException: {e:?}");
    };
    assert_eq!(
        invalid.reason().map(|r| r.as_str()),
        Some("INVALID_PATTERN")
    );
    let ids: Vec<Vec<String>> = s.calls().into_iter().map(|c| c.account_ids).collect();
    assert_eq!(
        ids,
        [
            vec!["100000000002".to_owned()],
            vec!["100000000003".to_owned()],
            vec![MEMBER.to_owned()],
            vec!["12345".to_owned()]
        ],
        "each call records the account it asked about"
    );
}

#[tokio::test]
async fn without_an_organisation_organizations_says_it_serves_none() {
    let s = Standin::in_process(settings());
    let orgs = organizations(&s);
    let e = orgs.list_accounts().send().await.unwrap_err();
    assert!(
        matches!(
            e.as_service_error(),
            Some(ListAccountsError::AwsOrganizationsNotInUseException(_))
        ),
        "{e:?}"
    );
    assert!(
        e.message()
            .is_some_and(|m| m.contains("serves no organisation")),
        "{e:?}"
    );
    let e = orgs
        .describe_account()
        .account_id("100000000000")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.as_service_error(),
            Some(DescribeAccountError::AwsOrganizationsNotInUseException(_))
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_key_from_the_standins_assume_role_calls_as_the_role_account() {
    let s = Standin::start(settings()).await.expect("starts");
    s.serve_sts();
    let assumed = sts(&s, US)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("onboarder")
        .duration_seconds(900)
        .send()
        .await
        .expect("assumed");
    let c = assumed.credentials().expect("credentials");
    assert!(
        c.access_key_id().starts_with("ASIA") && c.access_key_id().len() == 20,
        "{}",
        c.access_key_id()
    );
    let in_15_minutes = std::time::SystemTime::now() + Duration::from_secs(900);
    let expires = std::time::SystemTime::try_from(*c.expiration()).expect("a time");
    let off = expires
        .duration_since(in_15_minutes)
        .unwrap_or_else(|e| e.duration());
    assert!(
        off < Duration::from_secs(5),
        "expires after DurationSeconds: {expires:?}"
    );
    let user = assumed.assumed_role_user().expect("the assumed role");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::222222222222:assumed-role/OnboarderMember/onboarder"
    );
    assert!(
        user.assumed_role_id().starts_with("AROA")
            && user.assumed_role_id().ends_with(":onboarder")
    );
    // Deprecated by the model since 2026-06 (SessionTokenUtilization replaces it), still sent.
    #[allow(deprecated)]
    let packed = assumed.packed_policy_size();
    assert_eq!(packed, Some(0), "no session policy");

    let member_key = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );
    let member = sdk_client!(
        aws_sdk_guardduty,
        plain_http(),
        s.endpoint(),
        US,
        member_key.clone()
    );
    let detector = member.create_detector().enable(true).send().await.unwrap();
    assert_eq!(
        s.member_detectors(MEMBER).get(US).map(String::as_str),
        detector.detector_id()
    );
    s.deny_region(EU);
    let e = sdk_client!(
        aws_sdk_guardduty,
        plain_http(),
        s.endpoint(),
        EU,
        member_key
    )
    .list_detectors()
    .send()
    .await
    .unwrap_err();
    assert!(
        e.message().is_some_and(|m| m.starts_with(
            "User: arn:aws:sts::222222222222:assumed-role/OnboarderMember/onboarder is not authorized"
        )),
        "the denial names the assumed role: {e:?}"
    );
    let calls = s.calls();
    let seen: Vec<(Service, &str, &str)> = calls
        .iter()
        .map(|c| (c.service, c.caller.as_str(), c.region.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Service::Sts, ADMIN, US),
            (Service::GuardDuty, MEMBER, US),
            (Service::GuardDuty, MEMBER, EU)
        ]
    );
    assert_eq!(calls[0].account_ids, [MEMBER], "the role's account");

    let again = sts(&s, US)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("onboarder")
        .send()
        .await
        .expect("assumed again");
    let second = again.credentials().expect("credentials");
    assert_ne!(
        second.access_key_id(),
        c.access_key_id(),
        "a fresh key each time"
    );
    assert_eq!(
        again.assumed_role_user().map(|u| u.assumed_role_id()),
        Some(user.assumed_role_id()),
        "a role keeps its id"
    );
}

#[tokio::test]
async fn assume_role_refuses_bad_input_with_the_codes_the_sdk_reads() {
    let s = Standin::start(settings()).await.expect("starts");
    s.serve_sts();
    let client = sts(&s, US);
    let assume = || client.assume_role().role_arn(ROLE).role_session_name("ok");

    let e = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("dependabot[bot]")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(
        e.message(),
        Some(
            r"1 validation error detected: Value 'dependabot[bot]' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        )
    );
    let e = assume().duration_seconds(43_201).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    let e = client
        .assume_role()
        .role_arn("arn:aws:iam::1:r")
        .role_session_name("s")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.message().map(|m| m.split(':').next().unwrap_or(m)),
        Some("2 validation errors detected"),
        "every violation is listed: {e:?}"
    );
    let e = assume()
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"{}"}}]}}"#,
            "a".repeat(2048)
        ))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.message()
            .is_some_and(|m| m.ends_with("Member must have length less than or equal to 2048")),
        "{e:?}"
    );
    let e = assume().policy("not json").send().await.unwrap_err();
    assert!(
        matches!(
            e.as_service_error(),
            Some(AssumeRoleError::MalformedPolicyDocumentException(_))
        ),
        "{e:?}"
    );
    let e = assume()
        .role_arn("arn:aws:iam::222222222222:user/NotARole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));

    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"guardduty:*","Resource":"*"}]}"#;
    let ok = assume()
        .policy(policy)
        .send()
        .await
        .expect("a valid policy");
    #[allow(deprecated)]
    let packed = ok.packed_policy_size();
    assert!(packed.is_some_and(|p| p > 0), "{packed:?}");

    s.set_regions(&[(EU, "DISABLED")]);
    let e = sts(&s, EU)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("ok")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.as_service_error(),
            Some(AssumeRoleError::RegionDisabledException(_))
        ),
        "{e:?}"
    );
    assert_eq!(
        e.message(),
        Some(
            "STS is not activated in this region for account:999999999999. Your account administrator can activate STS in this region using the IAM Console."
        )
    );
    let statuses: Vec<u16> = s.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 400, 400, 200, 403]);
}

#[tokio::test]
async fn sts_is_refused_unless_served() {
    let s = Standin::start(settings()).await.expect("starts");
    let e = sts(&s, US)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("onboarder")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAction"));
    assert!(
        e.message().is_some_and(|m| m.contains("--serve-sts")),
        "{e:?}"
    );
    let e = sts(&s, US).get_caller_identity().send().await.unwrap_err();
    assert_eq!(
        e.code(),
        Some("InvalidAction"),
        "only AssumeRole is served: {e:?}"
    );
}

/// `GET /_standin/state` over raw HTTP.
async fn state(s: &Standin) -> serde_json::Value {
    let authority = s.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    let request =
        format!("GET /_standin/state HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("reads");
    let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    serde_json::from_str(body).expect("JSON")
}

#[tokio::test]
async fn assume_role_waits_for_the_latency_counts_against_the_rate_limit_and_is_timed() {
    let s = Standin::start(settings()).await.expect("starts");
    s.serve_sts();
    s.serve_organization(10);
    s.set_latency(Duration::from_millis(40));
    s.set_rate_limit(Some(1));
    let client = sts(&s, US);
    let assume = |session: &'static str| {
        client
            .assume_role()
            .role_arn(ROLE)
            .role_session_name(session)
            .send()
    };
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(assume("first"), assume("second"));
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "answered after the latency"
    );
    let (passed, throttled) = match (first, second) {
        (Ok(ok), Err(e)) | (Err(e), Ok(ok)) => (ok, e),
        other => panic!("one call a second passes: {other:?}"),
    };
    assert!(passed.credentials().is_some());
    assert_eq!(throttled.code(), Some("Throttling"));
    // Another service's bucket, and another region's, are their own.
    organizations_over_http(&s)
        .list_accounts()
        .send()
        .await
        .expect("Organizations has its own bucket");
    sts(&s, EU)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("eu")
        .send()
        .await
        .expect("another region has its own bucket");

    let snapshot = state(&s).await;
    let calls = snapshot["calls"].as_array().expect("calls");
    let seen: Vec<(&str, &str, u64)> = calls
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap_or_default(),
                c["operation"].as_str().unwrap_or_default(),
                c["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let mut first_two = seen[..2].to_vec();
    first_two.sort();
    assert_eq!(
        first_two,
        [("Sts", "AssumeRole", 200), ("Sts", "AssumeRole", 400)]
    );
    assert_eq!(
        seen[2..],
        [
            ("Organizations", "ListAccounts", 200),
            ("Sts", "AssumeRole", 200)
        ]
    );
    let times: Vec<u64> = calls
        .iter()
        .map(|c| c["at_ms"].as_u64().expect("each call has at_ms"))
        .collect();
    assert!(times[0] >= 40, "answered after the latency: {times:?}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in order of answer: {times:?}"
    );
    assert_eq!(snapshot["sts"]["keysIssued"], 2);
    assert_eq!(snapshot["sts"]["served"], true);
    assert_eq!(snapshot["organization"]["accounts"], 10);
    assert_eq!(snapshot["organization"]["id"], ORGANIZATION_ID);
}

fn organizations_over_http(s: &Standin) -> aws_sdk_organizations::Client {
    sdk_client!(
        aws_sdk_organizations,
        plain_http(),
        s.endpoint(),
        US,
        key("AKIDADMIN")
    )
}

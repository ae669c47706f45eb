//! The stand-in answers as the API models say: checked with the real SDK clients of GuardDuty,
//! Security Hub, Account and STS (so routes, casing, pagination and error typing are what the
//! SDK expects) and with raw HTTP for the wire. Member-side calls are signed with keys the
//! stand-in maps to member accounts, fixed with `set_identity` or learned from moto's STS.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::{Credentials, Region};
use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::types::AccountDetail;
use standin::{
    Fault, FaultKind, Operation, Service, Settings, Standin, results, securityhub_results,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "999999999999";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";

async fn standin() -> Standin {
    Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([("us-east-1".into(), DETECTOR.into())]),
    })
    .await
    .expect("starts")
}

/// The stand-in speaks plain HTTP on 127.0.0.1; the SDK crates are built without a default client.
fn plain_http() -> aws_sdk_guardduty::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

fn client(standin: &Standin, region: &str) -> Client {
    let conf = aws_sdk_guardduty::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(plain_http())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .endpoint_url(standin.endpoint())
        .retry_config(aws_sdk_guardduty::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

fn detail(id: &str) -> AccountDetail {
    AccountDetail::builder()
        .account_id(id)
        .email(format!("{id}@example.com"))
        .build()
}

#[tokio::test]
async fn create_invite_get_follow_the_relationship_lifecycle() {
    let s = standin().await;
    let gd = client(&s, "us-east-1");
    assert_eq!(
        gd.list_detectors().send().await.unwrap().detector_ids(),
        [DETECTOR]
    );

    let created = gd
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail("222222222222"))
        .account_details(detail(ADMIN))
        .send()
        .await
        .unwrap();
    let unprocessed = created.unprocessed_accounts();
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].account_id(), Some(ADMIN));
    assert_eq!(unprocessed[0].result(), Some(results::MEMBER_OF_ITSELF));

    let again = gd
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail("222222222222"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.unprocessed_accounts()[0].result(),
        Some(results::ALREADY_MEMBER)
    );

    let got = gd
        .get_members()
        .detector_id(DETECTOR)
        .account_ids("222222222222")
        .account_ids("333333333333")
        .send()
        .await
        .unwrap();
    assert_eq!(got.members()[0].relationship_status(), Some("Created"));
    assert_eq!(
        got.unprocessed_accounts()[0].result(),
        Some(results::NOT_A_MEMBER)
    );

    let invited = gd
        .invite_members()
        .detector_id(DETECTOR)
        .account_ids("222222222222")
        .account_ids("333333333333")
        .account_ids(ADMIN)
        .message("hello")
        .disable_email_notification(true)
        .send()
        .await
        .unwrap();
    let by_id: BTreeMap<_, _> = invited
        .unprocessed_accounts()
        .iter()
        .map(|u| (u.account_id().unwrap(), u.result().unwrap()))
        .collect();
    assert_eq!(by_id.get("333333333333"), Some(&results::NOT_A_MEMBER));
    assert_eq!(by_id.get(ADMIN), Some(&results::INVITE_ITSELF));
    assert!(!by_id.contains_key("222222222222"));

    let twice = gd
        .invite_members()
        .detector_id(DETECTOR)
        .account_ids("222222222222")
        .send()
        .await
        .unwrap();
    assert_eq!(
        twice.unprocessed_accounts()[0].result(),
        Some(results::ALREADY_INVITED)
    );
    let invitations = s.invitations();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].message.as_deref(), Some("hello"));
    assert!(invitations[0].disable_email_notification);
    assert_eq!(
        s.members("us-east-1")["222222222222"].relationship_status,
        "Invited"
    );
}

#[tokio::test]
async fn list_limits_and_id_lengths_are_enforced_as_bad_requests() {
    let s = standin().await;
    let gd = client(&s, "us-east-1");
    let mut too_many = gd.create_members().detector_id(DETECTOR);
    for i in 0..51u64 {
        too_many = too_many.account_details(detail(&format!("{:012}", 100_000_000_000 + i)));
    }
    let e = too_many.send().await.unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    assert_eq!(
        e.message(),
        Some(
            "The request failed because the length provided for the accountDetails array was 51. Max allowed length is 50."
        )
    );
    assert!(
        s.members("us-east-1").is_empty(),
        "nothing of a refused call is kept"
    );

    let e = gd
        .invite_members()
        .detector_id(DETECTOR)
        .account_ids("12345678901")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    let e = gd
        .get_members()
        .detector_id(DETECTOR)
        .set_account_ids(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    let long_email = AccountDetail::builder()
        .account_id("222222222222")
        .email(format!("{}@example.com", "a".repeat(60)))
        .build();
    let e = gd
        .create_members()
        .detector_id(DETECTOR)
        .account_details(long_email)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
}

#[tokio::test]
async fn state_is_per_region_from_the_credential_scope() {
    let s = standin().await;
    let us = client(&s, "us-east-1");
    let eu = client(&s, "eu-west-1");
    assert!(
        eu.list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty()
    );
    let e = eu
        .get_members()
        .detector_id(DETECTOR)
        .account_ids("222222222222")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    assert_eq!(e.message(), Some(results::DETECTOR_NOT_OWNED));
    us.create_members()
        .detector_id(DETECTOR)
        .account_details(detail("222222222222"))
        .send()
        .await
        .unwrap();
    assert_eq!(s.members("us-east-1").len(), 1);
    assert!(s.members("eu-west-1").is_empty());
    assert_eq!(
        s.calls().last().map(|c| c.region.as_str()),
        Some("us-east-1")
    );
}

#[tokio::test]
async fn injected_faults_are_typed_and_counted() {
    let s = standin().await;
    let gd = client(&s, "us-east-1");
    s.inject(Fault {
        service: None,
        operation: Some(Operation::GetMembers),
        region: None,
        kind: FaultKind::Throttle,
        times: Some(1),
    });
    s.inject(Fault::times(
        Operation::GetMembers,
        "us-east-1",
        FaultKind::ServerError,
        1,
    ));
    let get = || {
        gd.get_members()
            .detector_id(DETECTOR)
            .account_ids("222222222222")
            .send()
    };
    assert_eq!(get().await.unwrap_err().code(), Some("ThrottlingException"));
    assert_eq!(
        get().await.unwrap_err().code(),
        Some("InternalServerErrorException")
    );
    get().await.expect("faults used up");
    let statuses: Vec<u16> = s.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 500, 200]);
    assert_eq!(
        s.calls()[0].account_ids,
        ["222222222222"],
        "a faulted call still records what it carried"
    );
}

/// Raw HTTP: the error type travels in `x-amzn-ErrorType`, a request without a SigV4 scope is
/// refused, an unknown route is 404.
#[tokio::test]
async fn errors_carry_the_error_type_header() {
    let s = standin().await;
    let raw = |request: String| {
        let authority = s.endpoint().trim_start_matches("http://").to_owned();
        async move {
            let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240515/us-east-1/guardduty/aws4_request, SignedHeaders=host, Signature=0";
    let body = r#"{"accountIds":[]}"#;
    let answer = raw(format!("POST /detector/{DETECTOR}/member/get HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: badrequestexception"),
        "{answer}"
    );
    assert!(
        answer.contains(r#""__type":"InvalidInputException""#),
        "{answer}"
    );

    let answer =
        raw("GET /detector HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let answer = raw(format!(
        "GET /nothing HTTP/1.1\r\nHost: x\r\n{auth}\r\nConnection: close\r\n\r\n"
    ))
    .await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

// ----- callers, member sides, Security Hub, Account -----

const MEMBER: &str = "222222222222";
const MEMBER_KEY: &str = "AKIDMEMBER";
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

/// A client of one SDK crate, signing with `access_key_id` for `region`, pointed at `endpoint`,
/// without retries so every answer is seen.
macro_rules! sdk_client {
    ($sdk:ident, $endpoint:expr, $region:expr, $credentials:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(plain_http())
                .region($sdk::config::Region::new($region.to_owned()))
                .credentials_provider($credentials)
                .endpoint_url($endpoint)
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .build(),
        )
    };
}

fn key(access_key_id: &str) -> Credentials {
    Credentials::new(access_key_id, "secret", None, None, "test")
}

fn gd_as(s: &Standin, region: &str, access_key_id: &str) -> Client {
    sdk_client!(aws_sdk_guardduty, s.endpoint(), region, key(access_key_id))
}

fn sh_as(s: &Standin, region: &str, access_key_id: &str) -> aws_sdk_securityhub::Client {
    sdk_client!(
        aws_sdk_securityhub,
        s.endpoint(),
        region,
        key(access_key_id)
    )
}

fn account_client(s: &Standin) -> aws_sdk_account::Client {
    sdk_client!(aws_sdk_account, s.endpoint(), US, key("AKID"))
}

fn sh_detail(id: &str) -> aws_sdk_securityhub::types::AccountDetails {
    aws_sdk_securityhub::types::AccountDetails::builder()
        .account_id(id)
        .email(format!("{id}@example.com"))
        .build()
}

#[tokio::test]
async fn a_guardduty_member_creates_a_detector_and_accepts_its_invitation() {
    let s = standin().await;
    s.set_identity(MEMBER_KEY, MEMBER);
    let admin = client(&s, US);
    let member = gd_as(&s, US, MEMBER_KEY);
    assert!(
        member
            .list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty(),
        "a member has no detector until it makes one"
    );
    admin
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail(MEMBER))
        .send()
        .await
        .unwrap();
    admin
        .invite_members()
        .detector_id(DETECTOR)
        .account_ids(MEMBER)
        .send()
        .await
        .unwrap();
    assert!(
        admin
            .list_invitations()
            .send()
            .await
            .unwrap()
            .invitations()
            .is_empty(),
        "the administrator is invited by no one"
    );
    let listed = member.list_invitations().send().await.unwrap();
    let [invitation] = listed.invitations() else {
        panic!("one invitation: {listed:?}")
    };
    assert_eq!(invitation.account_id(), Some(ADMIN));
    assert_eq!(invitation.relationship_status(), Some("Invited"));
    assert!(invitation.invited_at().is_some());
    let invitation_id = invitation.invitation_id().unwrap().to_owned();
    assert_eq!(s.invitations()[0].invitation_id, invitation_id);

    let accept = |detector: &str, invitation: &str| {
        member
            .accept_administrator_invitation()
            .detector_id(detector)
            .administrator_id(ADMIN)
            .invitation_id(invitation)
            .send()
    };
    let e = accept(DETECTOR, &invitation_id).await.unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    assert_eq!(
        e.message(),
        Some(results::DETECTOR_NOT_OWNED),
        "the administrator's detector is not the member's"
    );

    let created = member.create_detector().enable(true).send().await.unwrap();
    let own = created.detector_id().unwrap().to_owned();
    assert_eq!(own.len(), 32);
    let e = member
        .create_detector()
        .enable(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    assert_eq!(e.message(), Some(results::DETECTOR_EXISTS));
    assert_eq!(
        member.list_detectors().send().await.unwrap().detector_ids(),
        [own.as_str()]
    );
    assert_eq!(
        s.member_detectors(MEMBER),
        BTreeMap::from([(US.into(), own.clone())])
    );
    assert!(
        gd_as(&s, EU, MEMBER_KEY)
            .list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty(),
        "detectors are per region"
    );

    let e = accept(&own, "0000").await.unwrap_err();
    assert_eq!(e.code(), Some("BadRequestException"));
    assert_eq!(e.message(), Some(results::INVALID_INPUT));
    assert_eq!(s.members(US)[MEMBER].relationship_status, "Invited");

    accept(&own, &invitation_id).await.unwrap();
    assert_eq!(s.members(US)[MEMBER].relationship_status, "Enabled");
    assert!(
        member
            .list_invitations()
            .send()
            .await
            .unwrap()
            .invitations()
            .is_empty(),
        "an accepted invitation is gone"
    );
    let calls = s.calls();
    let call = &calls[calls.len() - 2];
    assert_eq!(
        (
            call.service,
            call.operation,
            call.caller.as_str(),
            call.status
        ),
        (
            Service::GuardDuty,
            Operation::AcceptAdministratorInvitation,
            MEMBER,
            200
        )
    );
    assert!(call.operation.is_write());
    assert!(
        s.calls()
            .iter()
            .any(|c| c.caller == ADMIN && c.operation == Operation::InviteMembers)
    );

    // The deprecated AcceptInvitation is not served.
    #[allow(deprecated)]
    let e = member
        .accept_invitation()
        .detector_id(&own)
        .master_id(ADMIN)
        .invitation_id(&invitation_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UnknownOperationException"));
}

#[tokio::test]
async fn a_security_hub_member_enables_its_hub_and_accepts_the_invitation() {
    let s = standin().await;
    s.enable_security_hub(&[US]);
    s.set_identity(MEMBER_KEY, MEMBER);
    let admin = sh_as(&s, US, "AKID");
    let member = sh_as(&s, US, MEMBER_KEY);

    let e = sh_as(&s, EU, "AKID")
        .list_members()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessException"));
    assert_eq!(
        e.message(),
        Some(securityhub_results::not_subscribed(ADMIN).as_str())
    );

    let created = admin
        .create_members()
        .account_details(sh_detail(MEMBER))
        .account_details(sh_detail(ADMIN))
        .send()
        .await
        .unwrap();
    let [own] = created.unprocessed_accounts() else {
        panic!("{created:?}")
    };
    assert_eq!(own.account_id(), Some(ADMIN));
    assert_eq!(
        own.processing_result(),
        Some(securityhub_results::MEMBER_OF_ITSELF)
    );
    let again = admin
        .create_members()
        .account_details(sh_detail(MEMBER))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.unprocessed_accounts()[0].processing_result(),
        Some(securityhub_results::ALREADY_MEMBER)
    );

    let invited = admin
        .invite_members()
        .account_ids(MEMBER)
        .account_ids("333333333333")
        .account_ids(ADMIN)
        .send()
        .await
        .unwrap();
    let by_id: BTreeMap<_, _> = invited
        .unprocessed_accounts()
        .iter()
        .map(|u| (u.account_id().unwrap(), u.processing_result().unwrap()))
        .collect();
    assert_eq!(
        by_id,
        BTreeMap::from([
            ("333333333333", securityhub_results::NOT_A_MEMBER),
            (ADMIN, securityhub_results::INVITE_ITSELF),
        ])
    );
    let got = admin
        .get_members()
        .account_ids(MEMBER)
        .send()
        .await
        .unwrap();
    let [m] = got.members() else {
        panic!("{got:?}")
    };
    assert_eq!(m.member_status(), Some("Invited"));
    assert_eq!(m.administrator_id(), Some(ADMIN));
    assert!(m.invited_at().is_some() && m.updated_at().is_some());
    assert_eq!(m.email(), Some("222222222222@example.com"));

    // Nothing but EnableSecurityHub works before the member's hub is on.
    let e = member.list_invitations().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessException"));
    assert_eq!(
        e.message(),
        Some(securityhub_results::not_subscribed(MEMBER).as_str())
    );
    let e = member.describe_hub().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessException"));
    member.enable_security_hub().send().await.unwrap();
    let e = member.enable_security_hub().send().await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceConflictException"));
    assert_eq!(e.message(), Some(securityhub_results::ALREADY_SUBSCRIBED));
    let hub = member.describe_hub().send().await.unwrap();
    assert_eq!(
        hub.hub_arn(),
        Some("arn:aws:securityhub:us-east-1:222222222222:hub/default")
    );
    assert!(hub.subscribed_at().is_some());
    assert!(s.security_hub_enabled(MEMBER, US));

    let listed = member.list_invitations().send().await.unwrap();
    let [invitation] = listed.invitations() else {
        panic!("{listed:?}")
    };
    assert_eq!(invitation.account_id(), Some(ADMIN));
    assert_eq!(invitation.member_status(), Some("Invited"));
    let invitation_id = invitation.invitation_id().unwrap().to_owned();
    let accept = |id: &str| {
        member
            .accept_administrator_invitation()
            .administrator_id(ADMIN)
            .invitation_id(id)
            .send()
    };
    let e = accept("0000").await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    accept(&invitation_id).await.unwrap();
    assert_eq!(
        s.security_hub_members(US)[MEMBER].relationship_status,
        "Enabled"
    );
    assert!(
        member
            .list_invitations()
            .send()
            .await
            .unwrap()
            .invitations()
            .is_empty()
    );
    let twice = admin
        .invite_members()
        .account_ids(MEMBER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        twice.unprocessed_accounts()[0].processing_result(),
        Some(securityhub_results::ALREADY_INVITED)
    );

    assert_eq!(s.security_hub_invitations().len(), 1);
    assert!(s.members(US).is_empty(), "GuardDuty's members are apart");
    let call = s.calls().pop().unwrap();
    assert_eq!(
        (call.service, call.operation, call.caller.as_str()),
        (Service::SecurityHub, Operation::InviteMembers, ADMIN)
    );
}

#[tokio::test]
async fn a_security_hub_delegated_administrator_enables_organisation_accounts_directly() {
    let s = standin().await;
    s.enable_security_hub(&[US, EU]);
    s.delegate_security_hub(&[US], &[MEMBER]);
    for region in [US, EU] {
        sh_as(&s, region, "AKID")
            .create_members()
            .account_details(sh_detail(MEMBER))
            .account_details(sh_detail("444444444444"))
            .send()
            .await
            .unwrap();
    }
    let status = |region: &str, id: &str| {
        s.security_hub_members(region)[id]
            .relationship_status
            .clone()
    };
    assert_eq!(status(US, MEMBER), "Enabled");
    assert_eq!(
        status(US, "444444444444"),
        "Created",
        "outside the organisation"
    );
    assert_eq!(status(EU, MEMBER), "Created", "not delegated there");
}

#[tokio::test]
async fn list_members_pages_with_opaque_tokens_in_both_services() {
    let s = standin().await;
    s.enable_security_hub(&[US]);
    let ids: Vec<String> = (0..120u64)
        .map(|i| format!("{:012}", 100_000_000_000 + i))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let status = if i % 3 == 0 { "Enabled" } else { "Created" };
        s.put_member(US, id, &format!("{id}@example.com"), status);
        s.put_security_hub_member(US, id, "", status);
    }
    let enabled: Vec<String> = ids.iter().step_by(3).cloned().collect();

    let gd = client(&s, US);
    let gd_pages = |only: Option<&'static str>, max: Option<i32>| {
        let gd = gd.clone();
        async move {
            let (mut pages, mut token) = (Vec::new(), None::<String>);
            loop {
                let out = gd
                    .list_members()
                    .detector_id(DETECTOR)
                    .set_only_associated(only.map(str::to_owned))
                    .set_max_results(max)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .unwrap();
                pages.push(
                    out.members()
                        .iter()
                        .map(|m| m.account_id().unwrap().to_owned())
                        .collect::<Vec<_>>(),
                );
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    return pages;
                }
            }
        }
    };
    let pages = gd_pages(Some("false"), None).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    assert_eq!(pages.concat(), ids, "every member once, in order");
    assert_eq!(
        gd_pages(None, None).await,
        std::slice::from_ref(&enabled),
        "onlyAssociated defaults to true"
    );
    let pages = gd_pages(Some("true"), Some(15)).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [15, 15, 10]);
    assert_eq!(pages.concat(), enabled);
    for bad in [
        gd.list_members()
            .detector_id(DETECTOR)
            .next_token("not-a-token"),
        gd.list_members().detector_id(DETECTOR).max_results(51),
        gd.list_members()
            .detector_id(DETECTOR)
            .only_associated("maybe"),
    ] {
        let e = bad.send().await.unwrap_err();
        assert_eq!(e.code(), Some("BadRequestException"));
        assert_eq!(e.message(), Some(results::INVALID_INPUT));
    }

    let sh = sh_as(&s, US, "AKID");
    let sh_pages = |only: Option<bool>, max: Option<i32>| {
        let sh = sh.clone();
        async move {
            let (mut pages, mut token) = (Vec::new(), None::<String>);
            loop {
                let out = sh
                    .list_members()
                    .set_only_associated(only)
                    .set_max_results(max)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .unwrap();
                pages.push(
                    out.members()
                        .iter()
                        .map(|m| m.account_id().unwrap().to_owned())
                        .collect::<Vec<_>>(),
                );
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    return pages;
                }
            }
        }
    };
    let pages = sh_pages(Some(false), None).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    assert_eq!(pages.concat(), ids);
    assert_eq!(
        sh_pages(None, None).await,
        std::slice::from_ref(&enabled),
        "OnlyAssociated defaults to TRUE"
    );
    let pages = sh_pages(Some(true), Some(15)).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [15, 15, 10]);
    assert_eq!(pages.concat(), enabled);
    let gd_token = gd
        .list_members()
        .detector_id(DETECTOR)
        .only_associated("false")
        .send()
        .await
        .unwrap()
        .next_token()
        .unwrap()
        .to_owned();
    let e = sh
        .list_members()
        .next_token(gd_token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("InvalidInputException"),
        "a token of another list"
    );
    let e = sh.list_members().max_results(0).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidInputException"));
}

#[tokio::test]
async fn list_regions_filters_by_status_and_pages() {
    let s = standin().await;
    let account = account_client(&s);
    assert!(
        account
            .list_regions()
            .send()
            .await
            .unwrap()
            .regions()
            .is_empty(),
        "no regions set, none listed"
    );
    let names: Vec<String> = (0..30).map(|i| format!("xx-test-{i:02}")).collect();
    let statuses = ["ENABLED_BY_DEFAULT", "ENABLED", "DISABLED"];
    let regions: Vec<(&str, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), statuses[i % 3]))
        .collect();
    s.set_regions(&regions);

    use aws_sdk_account::types::RegionOptStatus;
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let out = account
            .list_regions()
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .max_results(7)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.regions().len() <= 7);
        for r in out.regions() {
            assert_ne!(r.region_opt_status(), Some(&RegionOptStatus::Disabled));
            seen.push(r.region_name().unwrap().to_owned());
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 20);
    assert_eq!(pages, 3);
    let all = account.list_regions().send().await.unwrap();
    assert_eq!(all.regions().len(), 30);
    assert!(all.next_token().is_none());
    let e = account
        .list_regions()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    let call = s.calls().pop().unwrap();
    assert_eq!(
        (call.service, call.operation, call.status),
        (Service::Account, Operation::ListRegions, 400)
    );
}

#[tokio::test]
async fn a_region_denied_by_a_service_control_policy_refuses_every_call() {
    let s = standin().await;
    s.enable_security_hub(&[US, EU]);
    s.set_regions(&[(US, "ENABLED_BY_DEFAULT"), (EU, "ENABLED_BY_DEFAULT")]);
    s.deny_region(EU);
    let e = client(&s, EU).list_detectors().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    let message = e.message().unwrap();
    assert!(
        message.contains("is not authorized to perform: guardduty:ListDetectors")
            && message.ends_with("with an explicit deny in a service control policy"),
        "{message}"
    );
    let e = sh_as(&s, EU, "AKID")
        .list_members()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    assert!(
        e.message().unwrap().contains(
            "securityhub:ListMembers on resource: arn:aws:securityhub:eu-west-1:999999999999:hub/default"
        ),
        "{e:?}"
    );
    client(&s, US)
        .list_detectors()
        .send()
        .await
        .expect("other regions answer");
    sh_as(&s, US, "AKID").list_members().send().await.unwrap();
    account_client(&s)
        .list_regions()
        .send()
        .await
        .expect("Account is global");
    let statuses: Vec<(Service, String, u16)> = s
        .calls()
        .iter()
        .map(|c| (c.service, c.region.clone(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (Service::GuardDuty, EU.into(), 403),
            (Service::SecurityHub, EU.into(), 403),
            (Service::GuardDuty, US.into(), 200),
            (Service::SecurityHub, US.into(), 200),
            (Service::Account, US.into(), 200),
        ]
    );
}

#[tokio::test]
async fn a_disabled_region_does_not_know_the_caller() {
    let s = standin().await;
    s.set_regions(&[(US, "ENABLED_BY_DEFAULT"), ("ap-east-1", "DISABLED")]);
    let e = client(&s, "ap-east-1")
        .list_detectors()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        e.message(),
        Some("The security token included in the request is invalid")
    );
    let e = sh_as(&s, "ap-east-1", MEMBER_KEY)
        .enable_security_hub()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    assert!(s.calls().iter().all(|c| c.status == 403));
    client(&s, US).list_detectors().send().await.unwrap();
}

#[tokio::test]
async fn the_rate_limit_throttles_each_operation_and_region_apart() {
    let s = standin().await;
    s.set_rate_limit(Some(2));
    let gd = client(&s, US);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(
            gd.list_detectors()
                .send()
                .await
                .err()
                .and_then(|e| e.code().map(str::to_owned)),
        );
    }
    assert_eq!(
        codes,
        [None, None, Some("TooManyRequestsException".to_owned())]
    );
    client(&s, EU)
        .list_detectors()
        .send()
        .await
        .expect("another region has its own bucket");
    gd.list_invitations()
        .send()
        .await
        .expect("another operation has its own bucket");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    gd.list_detectors()
        .send()
        .await
        .expect("the bucket refills");
    s.set_rate_limit(None);
    for _ in 0..5 {
        gd.list_detectors().send().await.unwrap();
    }
    assert_eq!(s.calls().iter().filter(|c| c.status == 429).count(), 1);
}

#[tokio::test]
async fn a_fault_can_be_limited_to_one_service() {
    let s = standin().await;
    s.enable_security_hub(&[US]);
    s.inject(
        Fault::always(Operation::CreateMembers, US, FaultKind::ServerError)
            .in_service(Service::SecurityHub),
    );
    client(&s, US)
        .create_members()
        .detector_id(DETECTOR)
        .account_details(detail(MEMBER))
        .send()
        .await
        .expect("GuardDuty's CreateMembers is not hit");
    let e = sh_as(&s, US, "AKID")
        .create_members()
        .account_details(sh_detail(MEMBER))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InternalException"));
    assert_eq!(
        s.calls()[1].account_ids,
        [MEMBER],
        "a faulted call records its accounts"
    );
}

/// moto's server on a free port, killed by its process id when dropped (also when a test
/// fails).
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Moto {
    let binary = std::env::var_os("MOTO_SERVER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
        });
    assert!(
        binary.exists(),
        "{} is missing: run scripts/test (or scripts/setup), which installs moto into .venv",
        binary.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = std::process::Command::new(&binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let started = std::time::Instant::now();
    loop {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let request = "GET /moto-api/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).await.is_ok()
                && stream.read_to_string(&mut answer).await.is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return moto;
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "moto_server did not answer within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_key_from_motos_assume_role_calls_as_the_member_account() {
    let moto = start_moto().await;
    let sts = sdk_client!(aws_sdk_sts, moto.endpoint.clone(), US, key("AKIAADMINKEY"));
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{MEMBER}:role/OnboarderMember"))
        .role_session_name("onboarder")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let member_credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "assumed",
    );

    let s = standin().await;
    let before = sdk_client!(
        aws_sdk_guardduty,
        s.endpoint(),
        US,
        member_credentials.clone()
    );
    before.list_detectors().send().await.unwrap();
    assert_eq!(
        s.calls()[0].caller,
        ADMIN,
        "no STS endpoint: every key is the administrator's"
    );

    s.set_sts_endpoint(&moto.endpoint);
    let member = sdk_client!(
        aws_sdk_guardduty,
        s.endpoint(),
        US,
        member_credentials.clone()
    );
    let detector = member.create_detector().enable(true).send().await.unwrap();
    assert_eq!(
        s.member_detectors(MEMBER).get(US).map(String::as_str),
        detector.detector_id()
    );
    client(&s, US).list_detectors().send().await.unwrap();
    let calls = s.calls();
    let callers: Vec<&str> = calls.iter().map(|c| c.caller.as_str()).collect();
    assert_eq!(
        callers,
        [ADMIN, MEMBER, ADMIN],
        "a key moto did not issue is the administrator's"
    );

    s.deny_region(EU);
    let e = sdk_client!(aws_sdk_guardduty, s.endpoint(), EU, member_credentials)
        .list_detectors()
        .send()
        .await
        .unwrap_err();
    assert!(
        e.message()
            .unwrap()
            .starts_with("User: arn:aws:sts::222222222222:assumed-role/OnboarderMember/onboarder is not authorized"),
        "the denial names the assumed role: {e:?}"
    );
}

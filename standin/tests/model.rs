//! The stand-in answers as the GuardDuty API model says: checked with the real SDK client (so
//! routes, casing and error typing are what the SDK expects) and with raw HTTP for the wire.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::{Credentials, Region};
use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::types::AccountDetail;
use standin::{Fault, FaultKind, Operation, Settings, Standin, results};
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

fn client(standin: &Standin, region: &str) -> Client {
    let conf = aws_sdk_guardduty::Config::builder()
        .behavior_version(BehaviorVersion::latest())
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

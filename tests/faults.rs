//! Faults and redelivery, end to end: throttling, outages, hung endpoints, the Lambda deadline,
//! a report that cannot be sent, concurrent and repeated deliveries. Each asserts that no account
//! is lost and none is invited twice.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use onboarder::HandlerError;
use onboarder::aws_error::{CUT_OFF, CallError, DEADLINE_REACHED};
use onboarder::limits::Limits;
use onboarder::outcome::{Outcome, Reason, Step};
use serde_json::{Value, json};
use standin::{Chaos, Fault, FaultKind, Operation};
use support::*;

fn manual(n: u64, with_email: bool) -> Value {
    let accounts: Vec<Value> = (0..n)
        .map(|i| {
            let id = format!("{:012}", 200_000_000_000 + i);
            if with_email {
                json!({"accountId": id, "email": format!("owner{i}@example.com")})
            } else {
                json!({"accountId": id})
            }
        })
        .collect();
    json!({ "accounts": accounts })
}

/// Every (region, account) pair invited, and how many times each.
fn invitation_counts(world: &World) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for i in world.standin.invitations() {
        *counts.entry((i.region, i.account_id)).or_insert(0) += 1;
    }
    counts
}

fn rows<'a>(response: &'a Invoked, region: &str) -> &'a [onboarder::outcome::AccountOutcome] {
    &response
        .regions
        .iter()
        .find(|r| r.region == region)
        .expect("region")
        .accounts
}

#[tokio::test]
async fn thirty_percent_throttling_still_onboards_every_account_exactly_once() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.set_chaos(Some(Chaos {
        seed: 20261122,
        throttle_rate: 0.3,
        error_rate: 0.0,
    }));
    let onboarder = world.onboarder(&[("REPORT_WHEN", "unprocessed")]);

    let response = invoke(&onboarder, manual(1_000, true))
        .await
        .expect("succeeds");

    assert_eq!(response.counts.invited, 2_000, "{:?}", response.counts);
    assert_eq!(response.counts.unprocessed, 0);
    let counts = invitation_counts(&world);
    assert_eq!(counts.len(), 2_000);
    assert!(
        counts.values().all(|&n| n == 1),
        "each account invited once per region"
    );
    let calls = world.standin.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    eprintln!(
        "{throttled} of {} member-API calls throttled; {} invitations, each sent once",
        calls.len(),
        counts.len()
    );
    assert!(
        throttled * 10 >= calls.len() * 2,
        "about 30 % throttled: {throttled} of {}",
        calls.len()
    );
}

#[tokio::test]
async fn random_server_errors_are_retried_too() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.set_chaos(Some(Chaos {
        seed: 7,
        throttle_rate: 0.1,
        error_rate: 0.2,
    }));
    let response = invoke(&world.onboarder(&[]), manual(60, true))
        .await
        .expect("succeeds");
    assert_eq!(response.counts.invited, 120);
    assert!(world.standin.calls().iter().any(|c| c.status == 500));
    assert!(invitation_counts(&world).values().all(|&n| n == 1));
}

/// A hung endpoint in one region: each call is abandoned at the timeouts, the region's accounts
/// are reported with the timeout, and the other region completes.
#[tokio::test]
async fn a_hung_endpoint_is_abandoned_at_the_timeouts() {
    let world = World::start().await;
    world.verify_sender().await;
    world
        .standin
        .inject(Fault::always(Operation::GetMembers, US, FaultKind::Hang));
    let limits = Limits {
        attempt_timeout: Duration::from_millis(300),
        operation_timeout: Duration::from_secs(1),
        ..TEST_LIMITS
    };
    let onboarder = world.onboarder_with(&world.sdk, &[], limits);
    let started = Instant::now();

    let response = invoke(&onboarder, manual(3, true)).await.expect("succeeds");

    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    for row in rows(&response, US) {
        let Outcome::Unprocessed {
            step: Step::Check,
            result,
        } = &row.outcome
        else {
            panic!("{row:?}")
        };
        let text = result.to_string();
        assert!(
            text.starts_with("GetMembers failed: ") && text.contains("timeout"),
            "{text}"
        );
    }
    assert!(
        rows(&response, EU)
            .iter()
            .all(|r| r.outcome == Outcome::Invited)
    );
    assert!(
        !world
            .standin
            .calls()
            .iter()
            .any(|c| c.region == US && c.operation == Operation::CreateMembers)
    );
    let (subject, _) = the_email(&world).await;
    assert!(
        subject.contains("3 invited") && subject.contains("3 unprocessed"),
        "{subject}"
    );
}

/// Near the Lambda deadline the function stops starting calls, reports what it did and did not
/// do, and still sends the report.
#[tokio::test]
async fn near_the_deadline_new_work_stops_and_the_report_still_goes() {
    let world = World::with_detectors(&[(US, US_DETECTOR)]).await;
    world.verify_sender().await;
    world.standin.set_latency(Duration::from_millis(250));
    // One batch at a time, so that the work outlasts the deadline.
    let limits = Limits {
        report_time: Duration::from_secs(2),
        batch_concurrency: 1,
        ..TEST_LIMITS
    };
    let onboarder = world.onboarder_with(
        &world.sdk,
        &[("REGIONS", US), ("GUARDDUTY_DETECTOR_ID", US_DETECTOR)],
        limits,
    );

    let response = invoke_with_timeout(&onboarder, manual(400, true), Duration::from_secs(3))
        .await
        .expect("the report goes out");

    let accounts = rows(&response, US);
    assert_eq!(accounts.len(), 400, "every account has a row");
    let stopped = accounts
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Unprocessed { result, .. } if [DEADLINE_REACHED, CUT_OFF].contains(&result.to_string().as_str())))
        .count();
    assert!(stopped > 0, "some work was left for the next invocation");
    assert!(response.report.sent);
    let started_calls = world.standin.calls().len();
    assert!(
        started_calls < 8 + 8 + 8,
        "calls stopped early: {started_calls}"
    );
    let (_, html) = the_email(&world).await;
    assert!(
        html.contains("about to reach its Lambda timeout")
            || html.contains("had to send its report before the Lambda timeout")
    );
}

#[tokio::test]
async fn organizations_throttling_and_denial_are_reported_at_the_lookup_step() {
    for (status, error, message) in [
        (
            400,
            "TooManyRequestsException",
            "AWS Organizations can't complete your request because another request is already in progress.",
        ),
        (
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        ),
    ] {
        let world = World::start().await;
        world.verify_sender().await;
        let organizations = FixedAnswer::start(status, error, message).await;
        let sdk = sdk_config(
            &world.moto,
            &world.standin,
            &[(
                "AWS_ENDPOINT_URL_ORGANIZATIONS",
                organizations.endpoint.clone(),
            )],
        )
        .await;
        let onboarder = world.onboarder_with(&sdk, &[], TEST_LIMITS);

        let response = invoke(&onboarder, manual(2, false))
            .await
            .expect("a lookup failure is a row");

        assert_eq!(response.not_attempted.len(), 2);
        for row in &response.not_attempted {
            let Outcome::Unprocessed {
                step: Step::Lookup,
                result,
            } = &row.outcome
            else {
                panic!("{row:?}")
            };
            assert_eq!(result.to_string(), format!("{error}: {message}"));
            assert!(result.call_error().is_some_and(|e| e.is(error)));
        }
        assert!(
            world.standin.calls().is_empty(),
            "nothing reaches GuardDuty without an email"
        );
        let (_, html) = the_email(&world).await;
        assert!(html.contains(error), "{html}");
    }
}

#[tokio::test]
async fn a_report_that_cannot_be_sent_fails_the_invocation() {
    let world = World::start().await;
    let ses_busy = FixedAnswer::start(
        429,
        "TooManyRequestsException",
        "Maximum sending rate exceeded.",
    )
    .await;
    let busy = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SESV2", ses_busy.endpoint.clone())],
    )
    .await;
    let unreachable = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SESV2", closed_endpoint())],
    )
    .await;
    let limits = Limits {
        max_attempts: 2,
        ..TEST_LIMITS
    };
    for (sdk, expected) in [
        (&busy, "TooManyRequestsException"),
        (&unreachable, "dispatch failure"),
    ] {
        // Always: the second run finds in place what the first did.
        let onboarder = world.onboarder_with(sdk, &[("REPORT_WHEN", "always")], limits);
        let error = invoke(&onboarder, manual(1, true))
            .await
            .expect_err("the report cannot be sent");
        let HandlerError::Report(mail) = &error else {
            panic!("{error}")
        };
        assert!(mail.reason.contains(expected), "{}", mail.reason);
    }
}

/// The same process fails on an unverified sender, then works once the sender is verified; the
/// retry invites no one twice, and sends the report the first run owed although it finds
/// everything in place (REPORT_WHEN=changes, the default).
#[tokio::test]
async fn the_next_invocation_of_the_same_process_works() {
    let world = World::start().await;
    let onboarder = world.onboarder(&[]);
    let event = manual(2, true);
    invoke(&onboarder, event.clone())
        .await
        .expect_err("unverified sender");
    world.verify_sender().await;

    let retry = invoke(&onboarder, event).await.expect("works now");

    assert!(retry.report.sent);
    for region in [US, EU] {
        assert!(rows(&retry, region).iter().all(|r| r.outcome
            == Outcome::AlreadyMember {
                status: "Invited".into()
            }));
    }
    assert!(invitation_counts(&world).values().all(|&n| n == 1));
    assert_eq!(invitation_counts(&world).len(), 4);
}

/// Two deliveries of the same accounts at once (the template runs one at a time, but the code
/// must not rely on it): both race between `GetMembers` and `CreateMembers`/`InviteMembers`.
/// The loser's "already a member" / "already invited" results are resolved by re-reading the
/// status: both responses and both reports name every account, none as unprocessed, and each
/// account is invited once per region.
#[tokio::test]
async fn two_concurrent_deliveries_both_report_every_account_and_none_as_unprocessed() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.set_latency(Duration::from_millis(20));
    // Always: one run may find in place everything the other did, and both reports are checked.
    let onboarder = world.onboarder(&[("REPORT_WHEN", "always")]);
    let event = manual(75, true);

    let (a, b) = tokio::join!(invoke(&onboarder, event.clone()), invoke(&onboarder, event));

    let (a, b) = (a.expect("first"), b.expect("second"));
    let counts = invitation_counts(&world);
    assert_eq!(counts.len(), 150);
    assert!(
        counts.values().all(|&n| n == 1),
        "one invitation per account and region"
    );
    // The race happened: both runs sent some of the same accounts to CreateMembers (with
    // batches pipelined, a run may check a batch after the other created it: fewer than all).
    let created = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::CreateMembers)
        .flat_map(|c| c.account_ids.clone())
        .count();
    assert!(
        created > 150,
        "both runs sent some accounts to CreateMembers: {created} sent for 150 account-regions"
    );
    let mut invited_by_either = 0;
    for run in [&a, &b] {
        assert_eq!(run.counts.unprocessed, 0, "{:?}", run.response.attention);
        assert_eq!(run.counts.needs_action, 0);
        assert!(run.response.attention.is_empty());
        for region in [US, EU] {
            let rows = rows(run, region);
            assert_eq!(rows.len(), 75, "every account has a row in {region}");
            for row in rows {
                match &row.outcome {
                    Outcome::Invited => invited_by_either += 1,
                    Outcome::AlreadyMember { status } if status == "Invited" => {}
                    other => panic!("{} in {region}: {other:?}", row.account_id),
                }
            }
        }
        assert!(run.report.sent);
    }
    assert_eq!(
        invited_by_either, 150,
        "each account invited by exactly one run"
    );
    let messages = world.moto.sent_messages().await;
    assert_eq!(messages.len(), 2, "both reports went out");
    for m in &messages {
        let subject = m["subject"].as_str().unwrap_or_default();
        assert!(
            subject.contains("0 need action, 0 unprocessed (75 accounts, 2 regions)"),
            "{subject}"
        );
        let body = m["body"].as_str().unwrap_or_default();
        assert!(
            text_of(body).contains("Nothing needs your action"),
            "{body}"
        );
    }
}

/// The deadline holds with the production timeouts (10 s per attempt, 45 s per call): a hung
/// endpoint and a 20 s Lambda timeout. The hung call is abandoned when the report must start,
/// the report goes out naming the hung region's accounts, and the function answers in time.
#[tokio::test]
async fn a_hung_endpoint_against_a_twenty_second_deadline_still_reports_in_time() {
    let world = World::start().await;
    world.verify_sender().await;
    world
        .standin
        .inject(Fault::always(Operation::GetMembers, US, FaultKind::Hang));
    let onboarder = world.onboarder_with(&world.sdk, &[], Limits::default());
    let started = Instant::now();

    let response = invoke_with_timeout(&onboarder, manual(3, true), Duration::from_secs(20))
        .await
        .expect("the report goes out");

    let took = started.elapsed();
    assert!(took < Duration::from_secs(19), "answered after {took:?}");
    assert!(response.report.sent, "{:?}", response.report);
    for row in rows(&response, US) {
        assert_eq!(
            row.outcome,
            Outcome::Unprocessed {
                step: Step::Check,
                result: std::sync::Arc::new(Reason::call("GetMembers", CallError::CutOff))
            }
        );
    }
    assert!(
        rows(&response, EU)
            .iter()
            .all(|r| r.outcome == Outcome::Invited)
    );
    let (subject, html) = the_email(&world).await;
    assert!(subject.contains("3 unprocessed"), "{subject}");
    for row in rows(&response, US) {
        assert!(
            row_of(&html, &row.account_id)
                .iter()
                .any(|r| r.contains("GuardDuty | us-east-1 | step check | ")),
            "{html}"
        );
    }
    eprintln!("a hung endpoint and a 20 s Lambda timeout: answered in {took:?}");
}

/// Members that are not monitored (every status but Created, Invited and Enabled) are news:
/// counted on their own, in the subject, sent under `REPORT_WHEN=unprocessed`, each with its
/// action, and never invited again. Monitored or pending members alone send nothing.
#[tokio::test]
async fn every_status_that_needs_action_is_reported_under_report_when_unprocessed() {
    let world = World::with_detectors(&[(US, US_DETECTOR)]).await;
    world.verify_sender().await;
    let statuses = [
        ("222222222222", "EmailVerificationFailed"),
        ("333333333333", "Resigned"),
        ("444444444444", "Removed"),
        ("555555555555", "Disabled"),
        ("666666666666", "EmailVerificationInProgress"),
    ];
    let fine = [("777777777777", "Enabled"), ("888888888888", "Invited")];
    for (id, status) in statuses.iter().chain(&fine) {
        world
            .standin
            .put_member(US, id, "owner@example.com", status);
    }
    let onboarder = world.onboarder(&[
        ("REGIONS", US),
        ("GUARDDUTY_DETECTOR_ID", US_DETECTOR),
        ("REPORT_WHEN", "unprocessed"),
    ]);
    let event = |list: &[(&str, &str)]| json!({"accounts": list.iter().map(|(id, _)| json!({"accountId": id, "email": "owner@example.com"})).collect::<Vec<_>>()});

    let quiet = invoke(&onboarder, event(&fine)).await.expect("succeeds");
    assert_eq!(quiet.counts.already_member, 2);
    assert!(
        !quiet.report.sent,
        "nothing needs anyone: {:?}",
        quiet.report
    );
    assert!(world.moto.sent_messages().await.is_empty());

    let response = invoke(&onboarder, event(&statuses))
        .await
        .expect("succeeds");

    assert_eq!(response.counts.needs_action, 5, "{:?}", response.counts);
    assert_eq!(response.counts.unprocessed, 0);
    assert!(response.report.sent, "{:?}", response.report);
    for (id, status) in statuses {
        let row = rows(&response, US)
            .iter()
            .find(|r| r.account_id == id)
            .expect("row");
        assert_eq!(
            row.outcome,
            Outcome::NeedsAction {
                status: status.into()
            }
        );
        let group = response
            .response
            .attention
            .iter()
            .find(|g| g.accounts.iter().any(|a| a == id))
            .expect("the JSON response lists it");
        assert_eq!(group.outcome, "needs_action");
        assert_eq!(group.status.as_deref(), Some(status));
        assert!(group.action.is_some(), "{status} has an action");
    }
    assert!(world.standin.invitations().is_empty());
    assert!(
        !world
            .standin
            .calls()
            .iter()
            .any(|c| c.operation == Operation::InviteMembers)
    );
    let (subject, html) = the_email(&world).await;
    assert!(subject.contains("5 need action"), "{subject}");
    assert!(
        text_of(&html).contains("What to do: The member resigned and is not monitored")
            && rows_of(&html)
                .iter()
                .any(|r| r.contains("GuardDuty | us-east-1 | status Resigned")),
        "{html}"
    );
}

#[tokio::test]
async fn a_manual_invoke_over_the_limit_is_refused_whole() {
    let world = World::start().await;
    let error = invoke(&world.onboarder(&[]), manual(100_000, true))
        .await
        .expect_err("refused");
    assert!(matches!(error, HandlerError::Event(_)));
    assert!(
        error.to_string().contains("100000 accounts") && error.to_string().contains("5000"),
        "{error}"
    );
    assert!(world.standin.calls().is_empty());
}

/// A function whose timeout is shorter than the report's time (a 10 s timeout, 60 s for the
/// report) still works: the report keeps a quarter of the time instead.
#[tokio::test]
async fn a_short_lambda_timeout_still_leaves_time_for_work() {
    let world = World::start().await;
    world.verify_sender().await;
    let limits = Limits {
        report_time: Duration::from_secs(60),
        ..TEST_LIMITS
    };
    let onboarder = world.onboarder_with(&world.sdk, &[], limits);

    let response = invoke_with_timeout(&onboarder, manual(3, true), Duration::from_secs(10))
        .await
        .expect("succeeds");

    assert_eq!(response.counts.invited, 6, "{:?}", response.counts);
}

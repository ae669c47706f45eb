//! End-to-end tests of the handler with the real SDK clients over HTTP: SES v2 and Organizations
//! served by moto, the GuardDuty member API by the stand-in.

mod support;

use onboarder::HandlerError;
use onboarder::outcome::{Administration, Service};
use onboarder::outcome::{Outcome, Step};
use serde_json::{Value, json};
use standin::{Call, Fault, FaultKind, Operation, results};
use support::*;

fn ops(calls: &[Call], region: &str) -> Vec<Operation> {
    calls
        .iter()
        .filter(|c| c.region == region && c.status == 200)
        .map(|c| c.operation)
        .collect()
}

fn outcome_of<'a>(response: &'a Invoked, region: &str, account: &str) -> &'a Outcome {
    let region = response
        .regions
        .iter()
        .find(|r| r.region == region)
        .unwrap_or_else(|| panic!("no region {region} in {response:?}"));
    &region
        .accounts
        .iter()
        .find(|a| a.account_id == account)
        .unwrap_or_else(|| panic!("no account {account} in {region:?}"))
        .outcome
}

/// Each accepted sample, with its account swapped for one moto knows, creates and invites that
/// account in every region, in order, with the exact message and flag, and sends one report.
#[tokio::test]
async fn every_accepted_sample_creates_invites_and_reports() {
    let cases = [
        (
            "ct_create_managed_account.json",
            "222222222222",
            "Control Tower CreateManagedAccount",
        ),
        (
            "ct_update_managed_account.json",
            "222222222222",
            "Control Tower UpdateManagedAccount",
        ),
        (
            "org_create_account_result_succeeded.json",
            "222222222222",
            "Organizations CreateAccountResult",
        ),
        (
            "org_api_accept_handshake.json",
            "333333333333",
            "Organizations AcceptHandshake",
        ),
    ];
    for (file, sample_account, trigger) in cases {
        let world = World::start().await;
        world.verify_sender().await;
        let account = world.create_account("workload-dev@example.com").await;
        let event = replace_account(sample(file), sample_account, &account);
        let onboarder = world.onboarder(&[("DISABLE_EMAIL_NOTIFICATION", "true")]);

        let response = invoke(&onboarder, event)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));

        assert_eq!(response.trigger, trigger);
        assert!(
            response.not_attempted.is_empty(),
            "{file}: {:?}",
            response.not_attempted
        );
        for region in [US, EU] {
            assert_eq!(
                outcome_of(&response, region, &account),
                &Outcome::Invited,
                "{file} {region}"
            );
        }
        let calls = world.standin.calls();
        assert_eq!(
            ops(&calls, US),
            [
                Operation::GetMembers,
                Operation::CreateMembers,
                Operation::InviteMembers
            ],
            "{file}"
        );
        assert_eq!(
            ops(&calls, EU),
            [
                Operation::ListDetectors,
                Operation::GetMembers,
                Operation::CreateMembers,
                Operation::InviteMembers
            ],
            "{file}"
        );
        let invitations = world.standin.invitations();
        assert_eq!(invitations.len(), 2, "{file}: one invitation per region");
        for invitation in &invitations {
            assert_eq!(invitation.account_id, account);
            assert_eq!(
                invitation.message.as_deref(),
                Some("Welcome to the security organisation.")
            );
            assert!(invitation.disable_email_notification);
        }
        // The email GuardDuty got for the member is the one Organizations holds.
        assert_eq!(
            world.standin.members(US)[&account].email,
            "workload-dev@example.com"
        );

        let (subject, html) = the_email(&world).await;
        assert_eq!(
            subject,
            "GuardDuty onboarding: 2 invited, 0 enabled through the organisation, 0 already members, 0 need action, 0 unprocessed (1 account, 2 regions)"
        );
        // Invited in both regions: one short row at a glance.
        assert!(
            row_of(&html, &account)
                .iter()
                .any(|r| r.ends_with("I everywhere: invited (monitored once accepted)")),
            "{file}: {html}"
        );
        assert!(text_of(&html).contains("Nothing needs your action"));
        assert!(html.contains(trigger));
        let delivery = &response.report;
        assert!(
            delivery.sent && delivery.message_id.is_some(),
            "{delivery:?}"
        );
    }
}

/// The manual sample: an email given in the event is used as is, the others are looked up, and an
/// account Organizations does not know is reported at the lookup step with its reason.
#[tokio::test]
async fn the_manual_sample_uses_given_emails_and_looks_up_the_rest() {
    let world = World::start().await;
    world.verify_sender().await;
    let first = world.create_account("first@example.com").await;
    let event = replace_account(sample("manual_invoke.json"), "222222222222", &first);
    let onboarder = world.onboarder(&[]);

    let response = invoke(&onboarder, event)
        .await
        .expect("the invocation succeeds");

    // 444444444444 carries its email in the event: no lookup, onboarded.
    assert_eq!(
        world.standin.members(US)["444444444444"].email,
        "aws-prod-workload@example.com"
    );
    assert_eq!(outcome_of(&response, EU, "444444444444"), &Outcome::Invited);
    assert_eq!(outcome_of(&response, US, &first), &Outcome::Invited);
    // 555555555555 is not in the organisation.
    assert_eq!(response.not_attempted.len(), 1);
    let missing = &response.not_attempted[0];
    assert_eq!(missing.account_id, "555555555555");
    let Outcome::Unprocessed {
        step: Step::Lookup,
        result,
    } = &missing.outcome
    else {
        panic!("lookup row expected: {missing:?}")
    };
    assert!(
        result.to_string().starts_with("AccountNotFoundException: "),
        "{result}"
    );
    assert!(
        !world
            .standin
            .calls()
            .iter()
            .any(|c| c.account_ids.contains(&"555555555555".to_owned()))
    );

    let (subject, html) = the_email(&world).await;
    assert_eq!(
        subject,
        "GuardDuty onboarding: 4 invited, 0 enabled through the organisation, 0 already members, 0 need action, 1 unprocessed (2 accounts, 2 regions)"
    );
    assert!(
        row_of(&html, "555555555555").iter().any(|r| r
            .starts_with("555555555555 |  |  | all | step lookup | AccountNotFoundException: ")),
        "{html}"
    );
}

#[tokio::test]
async fn a_failed_account_creation_is_a_successful_no_op() {
    let world = World::start().await;
    world.verify_sender().await;
    let response = invoke(
        &world.onboarder(&[]),
        sample("org_create_account_result_failed.json"),
    )
    .await
    .expect("a no-op, not an error");
    let reason = response.ignored.expect("the response says why");
    assert!(
        reason.contains("FAILED") && reason.contains("EMAIL_ALREADY_EXISTS"),
        "{reason}"
    );
    assert!(world.standin.calls().is_empty());
    assert!(world.moto.sent_messages().await.is_empty());
}

#[tokio::test]
async fn events_that_are_not_accepted_fail_the_invocation() {
    let world = World::start().await;
    let onboarder = world.onboarder(&[]);
    for file in ["org_api_create_account.json", "org_api_invite_account.json"] {
        let error = invoke(&onboarder, sample(file)).await.expect_err(file);
        assert!(matches!(error, HandlerError::Event(_)), "{file}: {error}");
        assert!(error.to_string().contains("accepted:"), "{error}");
    }
    let error = invoke(&onboarder, json!({"hello": "world"}))
        .await
        .expect_err("unknown shape");
    let diagnostic: lambda_runtime::Diagnostic = error.into();
    assert_eq!(diagnostic.error_type, "EventNotUnderstood");
    assert!(world.standin.calls().is_empty());
}

/// 120 accounts in two regions: no call carries more than 50, every account is created before
/// it is invited, and each is invited exactly once per region.
#[tokio::test]
async fn more_than_fifty_accounts_go_in_batches_of_at_most_fifty() {
    let world = World::start().await;
    world.verify_sender().await;
    let accounts: Vec<Value> = (0..120)
        .map(|i| json!({"accountId": format!("{:012}", 100_000_000_000u64 + i), "email": format!("owner{i}@example.com")}))
        .collect();
    let onboarder = world.onboarder(&[("REPORT_WHEN", "unprocessed")]);

    let response = invoke(&onboarder, json!({ "accounts": accounts }))
        .await
        .expect("succeeds");

    assert_eq!(response.counts.invited, 240);
    assert_eq!(response.counts.unprocessed, 0);
    let calls = world.standin.calls();
    assert!(
        calls.iter().all(|c| c.account_ids.len() <= 50),
        "a call carried more than 50"
    );
    for region in [US, EU] {
        // Batches run side by side, so their calls may come in any order: the sizes, sorted.
        let sizes = |op: Operation| -> Vec<usize> {
            let mut sizes: Vec<usize> = calls
                .iter()
                .filter(|c| c.region == region && c.operation == op)
                .map(|c| c.account_ids.len())
                .collect();
            sizes.sort_unstable();
            sizes
        };
        assert_eq!(sizes(Operation::CreateMembers), [20, 50, 50]);
        assert_eq!(sizes(Operation::InviteMembers), [20, 50, 50]);
        // Every account is created before it is invited.
        let seq_of = |op: Operation, account: &str| {
            calls
                .iter()
                .find(|c| {
                    c.region == region
                        && c.operation == op
                        && c.account_ids.iter().any(|a| a == account)
                })
                .map(|c| c.seq)
        };
        for i in 0..120u64 {
            let account = format!("{:012}", 100_000_000_000u64 + i);
            let created = seq_of(Operation::CreateMembers, &account).expect("created");
            let invited = seq_of(Operation::InviteMembers, &account).expect("invited");
            assert!(
                created < invited,
                "{region} {account}: create before invite"
            );
        }
    }
    let invitations = world.standin.invitations();
    assert_eq!(invitations.len(), 240);
    let mut distinct: Vec<(String, String)> = invitations
        .iter()
        .map(|i| (i.region.clone(), i.account_id.clone()))
        .collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 240, "no account invited twice");
    // REPORT_WHEN=unprocessed and nothing was: no email.
    assert!(!response.report.sent);
    assert!(world.moto.sent_messages().await.is_empty());
}

/// Redelivering the same event sends no second invitation; a member an earlier run left at
/// `Created` is invited without being created again.
#[tokio::test]
async fn redelivery_never_sends_a_second_invitation() {
    let world = World::start().await;
    world.verify_sender().await;
    let account = world.create_account("redelivered@example.com").await;
    let event = replace_account(
        sample("ct_create_managed_account.json"),
        "222222222222",
        &account,
    );
    world
        .standin
        .put_member(EU, &account, "redelivered@example.com", "Created");
    let onboarder = world.onboarder(&[]);

    let first = invoke(&onboarder, event.clone())
        .await
        .expect("first delivery");
    assert_eq!(outcome_of(&first, US, &account), &Outcome::Invited);
    assert_eq!(outcome_of(&first, EU, &account), &Outcome::Invited);
    assert_eq!(
        ops(&world.standin.calls(), EU),
        [
            Operation::ListDetectors,
            Operation::GetMembers,
            Operation::InviteMembers
        ],
        "left at Created: invited, not created again"
    );

    let second = invoke(&onboarder, event).await.expect("second delivery");
    for region in [US, EU] {
        assert_eq!(
            outcome_of(&second, region, &account),
            &Outcome::AlreadyMember {
                status: "Invited".into()
            }
        );
    }
    assert_eq!(
        world.standin.invitations().len(),
        2,
        "one invitation per region, in all"
    );
    let invites = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::InviteMembers)
        .count();
    assert_eq!(invites, 2, "the redelivery made no InviteMembers call");
}

#[tokio::test]
async fn throttling_is_retried_until_it_succeeds() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.inject(Fault::times(
        Operation::CreateMembers,
        US,
        FaultKind::Throttle,
        2,
    ));
    let onboarder = world.onboarder(&[]);
    let event = json!({"accounts": [{"accountId": "222222222222", "email": "a@example.com"}]});

    let response = invoke(&onboarder, event).await.expect("succeeds");

    assert_eq!(outcome_of(&response, US, "222222222222"), &Outcome::Invited);
    let statuses: Vec<u16> = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.region == US && c.operation == Operation::CreateMembers)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
}

/// A persistent 500 on InviteMembers in one region: that region's accounts are reported with
/// the error, the other region completes, and the invocation succeeds.
#[tokio::test]
async fn a_persistent_server_error_is_reported_and_the_other_region_completes() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.inject(Fault::always(
        Operation::InviteMembers,
        EU,
        FaultKind::ServerError,
    ));
    let onboarder = world.onboarder(&[]);
    let event = json!({"accounts": [{"accountId": "222222222222", "email": "a@example.com"}, {"accountId": "333333333333", "email": "b@example.com"}]});

    let response = invoke(&onboarder, event)
        .await
        .expect("a per-account problem is not an error");

    for account in ["222222222222", "333333333333"] {
        assert_eq!(outcome_of(&response, US, account), &Outcome::Invited);
        let Outcome::Unprocessed {
            step: Step::Invite,
            result,
        } = outcome_of(&response, EU, account)
        else {
            panic!("invite row expected")
        };
        assert!(
            result
                .to_string()
                .starts_with("InviteMembers failed: InternalServerErrorException: "),
            "{result}"
        );
    }
    let eu_invites = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.region == EU && c.operation == Operation::InviteMembers)
        .count();
    assert_eq!(
        eu_invites, TEST_LIMITS.max_attempts as usize,
        "every attempt the retry policy allows, no more"
    );
    let (subject, html) = the_email(&world).await;
    assert!(
        subject.contains("2 invited") && subject.contains("2 unprocessed"),
        "{subject}"
    );
    assert!(
        row_of(&html, "222222222222").iter().any(|r| r.contains(
            "GuardDuty | eu-west-1 | step invite | InviteMembers failed: InternalServerErrorException"
        )),
        "{html}"
    );
}

/// Results GuardDuty returns per account are reported verbatim, with the step and an action;
/// invalid entries and the function's own account are reported at the validate step.
#[tokio::test]
async fn unprocessed_accounts_and_rejected_entries_are_reported_verbatim() {
    let world = World::with_detectors(&[(US, US_DETECTOR)]).await;
    world.verify_sender().await;
    world
        .standin
        .put_member(US, "333333333333", "enabled@example.com", "Enabled");
    world.standin.put_member(
        US,
        "444444444444",
        "bounced@example.com",
        "EmailVerificationFailed",
    );
    let onboarder = world.onboarder(&[]);
    let event = json!({"accounts": [
        {"accountId": "222222222222", "email": "new@example.com"},
        {"accountId": "333333333333", "email": "enabled@example.com"},
        {"accountId": "444444444444", "email": "bounced@example.com"},
        {"accountId": ADMIN_ACCOUNT, "email": "admin@example.com"},
        {"accountId": "12345", "email": "short@example.com"},
        {"accountId": "<script>alert(1)</script>"},
    ]});

    let response = invoke(&onboarder, event).await.expect("succeeds");

    assert_eq!(outcome_of(&response, US, "222222222222"), &Outcome::Invited);
    assert_eq!(
        outcome_of(&response, US, "333333333333"),
        &Outcome::AlreadyMember {
            status: "Enabled".into()
        }
    );
    assert_eq!(
        outcome_of(&response, US, "444444444444"),
        &Outcome::NeedsAction {
            status: "EmailVerificationFailed".into()
        }
    );
    // eu-west-1 has no detector: the region is reported once, at the detector step, with the
    // number of accounts it leaves out, and no account row.
    let eu = response
        .regions
        .iter()
        .find(|r| r.region == EU)
        .expect("eu-west-1 is in the response");
    let problem = eu.problem.as_ref().expect("eu-west-1 is unusable");
    assert_eq!(problem.step, Step::Detector);
    assert_eq!(problem.accounts, 3);
    assert!(
        problem
            .reason
            .to_string()
            .contains("no GuardDuty detector in eu-west-1"),
        "{problem:?}"
    );
    assert!(eu.accounts.is_empty());
    assert_eq!(response.counts.regions_unusable, 1);
    let rejected: Vec<&str> = response
        .not_attempted
        .iter()
        .map(|r| r.account_id.as_str())
        .collect();
    assert_eq!(
        rejected,
        [ADMIN_ACCOUNT, "12345", "<script>alert(1)</script>"]
    );
    assert!(
        world
            .standin
            .calls()
            .iter()
            .all(|c| !c.account_ids.contains(&ADMIN_ACCOUNT.to_owned()))
    );
    assert_eq!(
        world.standin.invitations().len(),
        1,
        "only the new account is invited"
    );

    let (_, html) = the_email(&world).await;
    assert!(
        row_of(&html, "444444444444")
            .iter()
            .any(|r| r.contains("GuardDuty | us-east-1 | status EmailVerificationFailed")),
        "{html}"
    );
    assert!(text_of(&html).contains("What to do: The invitation email could not be verified"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"));
    assert!(html.contains("own account"));
}

/// A `CreateMembers` `unprocessedAccounts` result is reported verbatim at the create step, with
/// its suggested action.
#[tokio::test]
async fn a_create_members_result_is_reported_verbatim() {
    let world = World::with_detectors(&[(US, US_DETECTOR)]).await;
    world.verify_sender().await;
    // The function's ARN names another account, so validation lets the administrator's id
    // through and GuardDuty's own answer is what the report must carry.
    let onboarder = world.onboarder(&[("REGIONS", US), ("GUARDDUTY_DETECTOR_ID", US_DETECTOR)]);
    let mut context = lambda_runtime::Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:111111111111:function:onboarder".into();
    let event = json!({"accounts": [{"accountId": ADMIN_ACCOUNT, "email": "admin@example.com"}]});

    let response: Invoked = onboarder
        .run(lambda_runtime::LambdaEvent::new(event, context))
        .await
        .expect("succeeds")
        .into();

    let Outcome::Unprocessed {
        step: Step::Create,
        result,
    } = outcome_of(&response, US, ADMIN_ACCOUNT)
    else {
        panic!("create row expected: {response:?}")
    };
    assert_eq!(result.to_string(), results::MEMBER_OF_ITSELF);
    let (_, html) = the_email(&world).await;
    let text = text_of(&html);
    assert!(
        text.contains("What to do: This is the administrator account itself"),
        "{html}"
    );
    assert!(text.contains(results::MEMBER_OF_ITSELF), "verbatim: {html}");
}

#[tokio::test]
async fn an_unverified_sender_fails_the_invocation_after_the_work_is_done() {
    let world = World::start().await;
    let onboarder = world.onboarder(&[]);
    let event = json!({"accounts": [{"accountId": "222222222222", "email": "a@example.com"}]});

    let error = invoke(&onboarder, event)
        .await
        .expect_err("the report cannot be sent");

    let HandlerError::Report(mail) = &error else {
        panic!("report error expected: {error}")
    };
    assert!(
        mail.reason.starts_with("MessageRejected"),
        "{}",
        mail.reason
    );
    assert!(error.to_string().contains("REPORT_SENDER"), "{error}");
    let diagnostic: lambda_runtime::Diagnostic = error.into();
    assert_eq!(diagnostic.error_type, "ReportNotSent");
    assert_eq!(
        world.standin.invitations().len(),
        2,
        "the onboarding itself was done"
    );
}

/// A configured detector the account does not own: every account of that region is reported at
/// the check step with GuardDuty's message and the fix; with `REPORT_WHEN=never` no email goes.
#[tokio::test]
async fn a_wrong_detector_id_is_reported_with_the_fix() {
    let world = World::start().await;
    let onboarder = world.onboarder(&[
        (
            "GUARDDUTY_DETECTOR_ID",
            "us-east-1=0000000000000000000000000000dead",
        ),
        ("REPORT_WHEN", "never"),
    ]);
    let event = json!({"accounts": [{"accountId": "222222222222", "email": "a@example.com"}]});

    let response = invoke(&onboarder, event).await.expect("succeeds");

    // The region is unusable, once, at the detector step, with GuardDuty's words: not taken
    // for a sign that this account administers by invitation.
    let us = response
        .regions
        .iter()
        .find(|r| r.region == US)
        .expect("us-east-1 in the response");
    let problem = us.problem.as_ref().expect("us-east-1 is unusable");
    assert_eq!(problem.step, Step::Detector);
    assert_eq!(
        problem.reason.to_string(),
        format!(
            "DescribeOrganizationConfiguration failed: BadRequestException: {}",
            results::DETECTOR_NOT_OWNED
        )
    );
    assert!(
        onboarder::service::result_action(Service::GuardDuty, problem.step, &problem.reason)
            .is_some_and(|a| a.contains("GUARDDUTY_DETECTOR_ID"))
    );
    assert_eq!(outcome_of(&response, EU, "222222222222"), &Outcome::Invited);
    assert!(
        !world
            .standin
            .calls()
            .iter()
            .any(|c| c.region == US && c.operation == Operation::CreateMembers)
    );
    assert_eq!(
        response.report.reason.as_deref(),
        Some("REPORT_WHEN is never")
    );
    assert!(world.moto.sent_messages().await.is_empty());
}

/// The account's name comes from Organizations, chosen by the account's owner: it is shown, and
/// escaped, in the HTML report.
#[tokio::test]
async fn an_account_name_is_shown_and_escaped() {
    let world = World::start().await;
    world.verify_sender().await;
    let account = world
        .create_named_account("named@example.com", "<script>alert('owned')</script>")
        .await;
    let event = json!({"accounts": [{"accountId": account}]});

    let response = invoke(&world.onboarder(&[]), event)
        .await
        .expect("succeeds");

    let row = &response.regions[0].accounts[0];
    assert_eq!(
        row.account_name.as_deref(),
        Some("<script>alert('owned')</script>")
    );
    let (_, html) = the_email(&world).await;
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        row_of(&html, &account)
            .iter()
            .any(|r| r.contains("<script>alert('owned')</script>"))
            && html.contains("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"),
        "{html}"
    );
}

/// As the organisation's delegated administrator in us-east-1 (and by invitation in
/// eu-west-1): organisation accounts are enabled by `CreateMembers` and never invited there;
/// an account outside the organisation is still invited; nothing is unprocessed. A second run
/// in the same process asks no more and invites no one.
#[tokio::test]
async fn a_delegated_administrator_enables_organisation_accounts_and_invites_the_others() {
    let world = World::start().await;
    world.verify_sender().await;
    let (org_a, org_b, outside) = ("222222222222", "333333333333", "444444444444");
    world.standin.delegate(&[US], &[org_a, org_b]);
    let onboarder = world.onboarder(&[]);
    let accounts: Vec<Value> = [org_a, org_b, outside]
        .iter()
        .map(|id| json!({"accountId": id, "email": format!("{id}@example.com")}))
        .collect();
    let event = json!({ "accounts": accounts });

    let response = invoke(&onboarder, event.clone()).await.expect("succeeds");

    assert_eq!(
        outcome_of(&response, US, org_a),
        &Outcome::EnabledByOrganization
    );
    assert_eq!(
        outcome_of(&response, US, org_b),
        &Outcome::EnabledByOrganization
    );
    assert_eq!(outcome_of(&response, US, outside), &Outcome::Invited);
    for id in [org_a, org_b, outside] {
        assert_eq!(
            outcome_of(&response, EU, id),
            &Outcome::Invited,
            "eu-west-1 invites"
        );
    }
    assert_eq!(response.counts.enabled_by_organization, 2);
    assert_eq!(response.counts.invited, 4);
    assert_eq!(response.counts.attention(), 0);
    let administration: Vec<_> = response
        .response
        .regions
        .iter()
        .map(|r| (r.region.as_str(), r.administration))
        .collect();
    assert_eq!(
        administration,
        [
            (US, Some(Administration::DelegatedAdministrator)),
            (EU, Some(Administration::Invitation))
        ]
    );
    let calls = world.standin.calls();
    let us_invited: Vec<String> = calls
        .iter()
        .filter(|c| c.region == US && c.operation == Operation::InviteMembers)
        .flat_map(|c| c.account_ids.clone())
        .collect();
    assert_eq!(
        us_invited,
        [outside],
        "organisation accounts are never invited"
    );
    assert_eq!(
        ops(&calls, US),
        [
            Operation::DescribeOrganizationConfiguration,
            Operation::GetMembers,
            Operation::CreateMembers,
            Operation::GetMembers,
            Operation::InviteMembers
        ]
    );
    assert_eq!(
        ops(&calls, EU),
        [
            Operation::ListDetectors,
            Operation::GetMembers,
            Operation::CreateMembers,
            Operation::InviteMembers
        ],
        "by invitation (DescribeOrganizationConfiguration refused): no re-read"
    );
    let (subject, html) = the_email(&world).await;
    assert!(
        subject.starts_with("GuardDuty onboarding: 4 invited, 2 enabled through the organisation, 0 already members, 0 need action, 0 unprocessed"),
        "{subject}"
    );
    assert!(
        // Enabled through the organisation in us-east-1, invited in eu-west-1.
        row_of(&html, org_a).iter().any(|r| r.ends_with(" | E | I")),
        "{html}"
    );

    let before = world.standin.calls().len();
    let again = invoke(&onboarder, event).await.expect("succeeds");
    let calls = world.standin.calls();
    let asked: Vec<&str> = calls[before..]
        .iter()
        .filter(|c| c.operation == Operation::DescribeOrganizationConfiguration)
        .map(|c| c.region.as_str())
        .collect();
    assert_eq!(
        asked,
        [US],
        "the administration is learnt once per process; the delegated administrator reads the organisation's auto-enable once a run"
    );
    assert!(
        !calls[before..]
            .iter()
            .any(|c| c.operation == Operation::InviteMembers)
    );
    assert_eq!(
        outcome_of(&again, US, org_a),
        &Outcome::AlreadyMember {
            status: "Enabled".into()
        }
    );
    assert_eq!(again.counts.attention(), 0);
}

/// An SQS record whose body is `event`, as Lambda hands it over from the account-event queue.
fn record(id: &str, event: &Value, receive_count: u32) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("AQEB{id}"),
        "body": event.to_string(),
        "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:999999999999:onboarder-AccountEventQueue",
        "awsRegion": US
    })
}

fn failures(answer: &onboarder::Answer) -> Value {
    match answer {
        onboarder::Answer::Batch(response) => serde_json::to_value(response).unwrap(),
        onboarder::Answer::Run(response) => panic!("a batch response expected: {response:?}"),
    }
}

/// A batch of account events is one run and one report: an account named by two events is
/// invited once per region, a failed creation is ignored, and only the record that could not be
/// read is answered as failed. Delivered again, the batch invites no one twice, and its report
/// still goes out (the first run's may not have); a fresh batch that finds everything in place
/// sends nothing under the default REPORT_WHEN=changes.
#[tokio::test]
async fn a_batch_from_the_queue_is_one_run_and_one_report_and_returns_only_what_it_could_not_read()
{
    let world = World::start().await;
    world.verify_sender().await;
    let a = world.create_account("workload-a@example.com").await;
    let b = world.create_account("workload-b@example.com").await;
    let created = replace_account(
        sample("org_create_account_result_succeeded.json"),
        "222222222222",
        &a,
    );
    let managed_a = replace_account(sample("ct_create_managed_account.json"), "222222222222", &a);
    let managed_b = replace_account(sample("ct_create_managed_account.json"), "222222222222", &b);
    let failed = sample("org_create_account_result_failed.json");
    let records = |count| {
        json!({"Records": [
            record("m-1", &created, count),
            record("m-2", &managed_a, count),
            record("m-3", &managed_b, count),
            {"messageId": "m-4", "body": "{\"not\": \"an event\"}", "eventSource": "aws:sqs", "attributes": {}},
            record("m-5", &failed, count),
        ]})
    };
    let onboarder = world.onboarder(&[]);

    let first = answer(&onboarder, records(1)).await.unwrap();
    assert_eq!(
        failures(&first),
        json!({"batchItemFailures": [{"itemIdentifier": "m-4"}]})
    );
    let invitations = world.standin.invitations();
    let mut invited: Vec<(&str, &str)> = invitations
        .iter()
        .map(|i| (i.region.as_str(), i.account_id.as_str()))
        .collect();
    invited.sort();
    let mut expected = vec![
        (EU, a.as_str()),
        (EU, b.as_str()),
        (US, a.as_str()),
        (US, b.as_str()),
    ];
    expected.sort();
    assert_eq!(invited, expected, "each account once per region");
    let (subject, html) = the_email(&world).await;
    assert!(subject.contains("4 invited"), "{subject}");
    assert!(
        html.contains("account events (5): Organizations CreateAccountResult (2), Control Tower CreateManagedAccount (2), not understood (1)"),
        "{html}"
    );

    // Delivered again: nothing invited twice, and the report goes out again.
    let again = answer(&onboarder, records(2)).await.unwrap();
    assert_eq!(
        failures(&again)["batchItemFailures"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(world.standin.invitations().len(), 4, "no one invited twice");
    assert_eq!(world.moto.sent_messages().await.len(), 2);

    // A fresh batch that finds everything in place: no report under REPORT_WHEN=changes.
    let quiet = json!({"Records": [record("m-6", &managed_a, 1)]});
    assert_eq!(
        failures(&answer(&onboarder, quiet).await.unwrap()),
        json!({"batchItemFailures": []})
    );
    assert_eq!(
        world.moto.sent_messages().await.len(),
        2,
        "nothing changed, nothing sent"
    );
}

/// When the report cannot be sent, the batch's invocation fails (Lambda returns every record to
/// the queue) after the work is done and logged; the redelivery invites no one twice.
#[tokio::test]
async fn a_batch_whose_report_cannot_be_sent_fails_whole_and_its_redelivery_invites_no_one_twice() {
    let world = World::start().await;
    let a = world.create_account("workload-a@example.com").await;
    let managed = replace_account(sample("ct_create_managed_account.json"), "222222222222", &a);
    let onboarder = world.onboarder(&[]);
    let batch = |count| json!({"Records": [record("m-1", &managed, count)]});

    let error = answer(&onboarder, batch(1)).await.unwrap_err();
    assert!(matches!(error, HandlerError::Report(_)), "{error}");
    assert_eq!(world.standin.invitations().len(), 2);

    world.verify_sender().await;
    let again = answer(&onboarder, batch(2)).await.unwrap();
    assert_eq!(failures(&again), json!({"batchItemFailures": []}));
    assert_eq!(world.standin.invitations().len(), 2, "no one invited twice");
    let (subject, _) = the_email(&world).await;
    assert!(subject.contains("2 already members"), "{subject}");
}

/// A record that cannot be read and has no id cannot be returned alone: the invocation fails,
/// before any call, and the whole batch comes back.
#[tokio::test]
async fn an_unreadable_record_without_an_id_fails_the_whole_batch_before_any_call() {
    let world = World::start().await;
    let a = world.create_account("workload-a@example.com").await;
    let managed = replace_account(sample("ct_create_managed_account.json"), "222222222222", &a);
    let onboarder = world.onboarder(&[]);
    let event = json!({"Records": [
        record("m-1", &managed, 1),
        {"body": "?", "eventSource": "aws:sqs", "attributes": {}},
    ]});
    let error = answer(&onboarder, event).await.unwrap_err();
    assert!(matches!(error, HandlerError::Event(_)), "{error}");
    assert!(world.standin.calls().is_empty());
}

/// `AccountDepartedOrganization`: the departed account's memberships are checked in every
/// region, without looking it up in Organizations (it is no longer there): where it is a member,
/// a row reports it with its status and what to do, and nothing is changed; where it is not,
/// there is no row. With `REMOVE_DEPARTED_MEMBERS`, it is disassociated and deleted.
#[tokio::test]
async fn a_departed_account_s_memberships_are_reported_then_removed() {
    let world = World::start().await;
    world.verify_sender().await;
    let departed = "222222222222";
    world
        .standin
        .put_member(US, departed, "gone@example.com", "Enabled");
    let event = sample("org_account_departed_organization.json");
    let response = invoke(&world.onboarder(&[]), event.clone())
        .await
        .expect("succeeds");

    assert_eq!(
        response.trigger,
        "Organizations AccountDepartedOrganization (REMOVED)"
    );
    assert!(
        response.not_attempted.is_empty(),
        "no lookup, no validate row"
    );
    assert_eq!(
        outcome_of(&response, US, departed),
        &Outcome::Departed {
            status: "Enabled".into(),
            standing: onboarder::outcome::Standing::Absent
        }
    );
    let eu = response
        .regions
        .iter()
        .find(|r| r.region == EU)
        .expect("eu-west-1 checked");
    assert!(eu.accounts.is_empty(), "no member there: no row");
    assert_eq!(response.counts.departed, 1);
    let calls = world.standin.calls();
    assert!(
        calls.iter().all(|c| !c.operation.is_write()),
        "nothing changed"
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.operation == Operation::GetMembers)
            .all(|c| c.account_ids == [departed]),
        "the departed account is checked, and only it"
    );
    let (subject, _) = the_email(&world).await;
    assert!(
        subject.contains("1 member the organisation no longer backs"),
        "{subject}"
    );

    let removing = world.onboarder(&[("REMOVE_DEPARTED_MEMBERS", "true")]);
    let removed = invoke(&removing, event).await.expect("succeeds");
    assert_eq!(
        outcome_of(&removed, US, departed),
        &Outcome::Removed {
            standing: onboarder::outcome::Standing::Absent
        }
    );
    assert!(!world.standin.members(US).contains_key(departed));
}

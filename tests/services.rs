//! End-to-end tests of what the issue "Security Hub through the same pipeline" added: Security
//! Hub beside GuardDuty, invitations accepted in the member accounts through an assumed role,
//! sweeps of the organisation, `REGIONS=all-enabled`, and dry runs. moto serves Organizations,
//! SES and STS; the stand-in serves GuardDuty, Security Hub and Account, and tells member
//! accounts apart by the credentials moto's `AssumeRole` gave them.

mod support;

use std::collections::BTreeSet;

use onboarder::outcome::{Administration, MemberStatus, Service};
use onboarder::outcome::{Outcome, Plan, RegionOutcome, Step};
use serde_json::{Value, json};
use standin::{Call, Operation};
use support::*;

const ROLE: &str = "OrganizationAccountAccessRole";

/// A manual invoke of these accounts, each with an email so no lookup is needed.
fn manual(accounts: &[String]) -> Value {
    json!({"accounts": accounts.iter().map(|a| json!({"accountId": a, "email": format!("owner+{a}@example.com")})).collect::<Vec<_>>()})
}

fn ids(first: u64, n: u64) -> Vec<String> {
    (0..n).map(|i| format!("{:012}", first + i)).collect()
}

fn region_of<'a>(run: &'a Invoked, service: Service, region: &str) -> &'a RegionOutcome {
    run.regions
        .iter()
        .find(|r| r.service == service && r.region == region)
        .unwrap_or_else(|| panic!("no {service:?} {region} in {:?}", run.regions))
}

fn outcome<'a>(run: &'a Invoked, service: Service, region: &str, account: &str) -> &'a Outcome {
    &region_of(run, service, region)
        .accounts
        .iter()
        .find(|a| a.account_id == account)
        .unwrap_or_else(|| panic!("no {account} in {service:?} {region}"))
        .outcome
}

fn of<'a>(
    calls: &'a [Call],
    service: standin::Service,
    region: &'a str,
    operation: Operation,
) -> impl Iterator<Item = &'a Call> + 'a {
    calls
        .iter()
        .filter(move |c| c.service == service && c.region == region && c.operation == operation)
}

/// Security Hub beside GuardDuty for 120 accounts in 2 regions: each service creates in
/// batches of at most 50, invites every account once (Security Hub without a message), and
/// a second run invites no one.
#[tokio::test]
async fn security_hub_beside_guardduty_for_120_accounts_in_two_regions() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.enable_security_hub(&[US, EU]);
    let onboarder = world.onboarder(&[("ENABLE_SECURITY_HUB", "true")]);
    let accounts = ids(300_000_000_000, 120);

    let run = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    assert_eq!(run.regions.len(), 4, "two services in two regions");
    for region in &run.regions {
        assert_eq!(
            region.accounts.len(),
            120,
            "{:?} {}",
            region.service,
            region.region
        );
        assert!(
            region
                .accounts
                .iter()
                .all(|a| a.outcome == Outcome::Invited),
            "{region:?}"
        );
    }
    assert_eq!(run.counts.invited, 480);
    let calls = world.standin.calls();
    // Only the question of the delegated administrator is refused (this account is not one).
    let failed: Vec<&Call> = calls
        .iter()
        .filter(|c| c.status != 200 && c.operation != Operation::DescribeOrganizationConfiguration)
        .collect();
    assert!(failed.is_empty(), "no call failed: {failed:?}");
    for region in [US, EU] {
        for service in [standin::Service::GuardDuty, standin::Service::SecurityHub] {
            let creates: Vec<&Call> =
                of(&calls, service, region, Operation::CreateMembers).collect();
            let invites: Vec<&Call> =
                of(&calls, service, region, Operation::InviteMembers).collect();
            assert_eq!(
                creates.len(),
                3,
                "{service:?} {region}: ceil(120/50) creates"
            );
            assert_eq!(
                invites.len(),
                3,
                "{service:?} {region}: ceil(120/50) invites"
            );
            for call in creates.iter().chain(&invites) {
                assert!((1..=50).contains(&call.account_ids.len()), "{call:?}");
            }
            let invited: BTreeSet<&String> = invites.iter().flat_map(|c| &c.account_ids).collect();
            assert_eq!(invited.len(), 120, "each account invited once");
        }
        // Security Hub's mode is asked once (not its delegated administrator here: by
        // invitation), so its new members are not read again.
        assert_eq!(
            of(
                &calls,
                standin::Service::SecurityHub,
                region,
                Operation::GetMembers
            )
            .count(),
            3
        );
        assert_eq!(
            of(
                &calls,
                standin::Service::SecurityHub,
                region,
                Operation::DescribeOrganizationConfiguration
            )
            .count(),
            1
        );
    }
    let sh = world.standin.security_hub_invitations();
    assert_eq!(sh.len(), 240);
    assert!(
        sh.iter().all(|i| i.message.is_none()),
        "Security Hub's invite has no message"
    );
    let gd = world.standin.invitations();
    assert_eq!(gd.len(), 240);
    assert!(gd.iter().all(|i| i.message.as_deref() == Some(INVITATION)));
    assert!(
        world
            .standin
            .security_hub_members(US)
            .values()
            .all(|m| m.relationship_status == "Invited" && m.email.starts_with("owner+"))
    );
    let (subject, html) = the_email(&world).await;
    assert!(
        subject.starts_with("GuardDuty and Security Hub onboarding: 480 invited"),
        "{subject}"
    );
    // Four columns (two services, two regions), every account invited in all: short rows.
    assert_eq!(
        rows_of(&html)
            .iter()
            .filter(|r| r.ends_with("I everywhere: invited (monitored once accepted)"))
            .count(),
        120
    );

    let before = calls.len();
    let again = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    let later = &world.standin.calls()[before..];
    assert!(
        later.iter().all(|c| !c.operation.is_write()),
        "a second run writes nothing"
    );
    assert_eq!(again.counts.already_member, 480);
}

/// A region where Security Hub is not enabled in the administrator account is reported once,
/// with Security Hub's words and what to do, and GuardDuty there goes on.
#[tokio::test]
async fn a_region_without_security_hub_is_reported_once() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.enable_security_hub(&[US]);
    let onboarder = world.onboarder(&[("ENABLE_SECURITY_HUB", "true")]);
    let accounts = ids(310_000_000_000, 500);

    let run = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    let off = region_of(&run, Service::SecurityHub, EU);
    let problem = off.problem.as_ref().expect("reported");
    assert_eq!(problem.step, Step::Check);
    assert_eq!(problem.accounts, 500);
    assert!(
        problem
            .reason
            .to_string()
            .contains("InvalidAccessException"),
        "{problem:?}"
    );
    assert!(off.accounts.is_empty(), "once, not once per account");
    assert_eq!(run.counts.regions_unusable, 1);
    assert!(
        region_of(&run, Service::GuardDuty, EU)
            .accounts
            .iter()
            .all(|a| a.outcome == Outcome::Invited)
    );
    let calls = world.standin.calls();
    // Ten batches: those already started when the first was refused are refused too; the
    // others make no call.
    let refused = calls
        .iter()
        .filter(|c| {
            c.service == standin::Service::SecurityHub
                && c.region == EU
                && c.operation == Operation::GetMembers
        })
        .count();
    assert!(
        (1..=onboarder::limits::BATCH_CONCURRENCY).contains(&refused),
        "{refused} calls for 10 batches"
    );
    let region_counts = run
        .response
        .regions
        .iter()
        .find(|r| r.service == Service::SecurityHub && r.region == EU)
        .expect("in the response");
    assert!(
        region_counts
            .action
            .is_some_and(|a| a.contains("Enable Security Hub in this region")),
        "{region_counts:?}"
    );
    let (subject, html) = the_email(&world).await;
    assert!(subject.contains("1 service-region skipped"), "{subject}");
    assert!(
        rows_of(&html).iter().any(|r| r.starts_with(
            "Security Hub | eu-west-1 | 500 | check | GetMembers failed: InvalidAccessException"
        )),
        "{html}"
    );
}

/// With a member role, each invited account is entered once through STS and the invitation
/// accepted in every region and service: a member without a detector gets one, a member
/// without Security Hub enables it, and a member whose role cannot be assumed is reported with
/// STS's reason without failing the run.
#[tokio::test]
async fn invitations_are_accepted_through_the_member_role() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.enable_security_hub(&[US, EU]);
    let [with_detector, without_detector, refused] =
        ["321000000001", "321000000002", "321000000003"].map(str::to_owned);
    for region in [US, EU] {
        world
            .standin
            .put_member_detector(&with_detector, region, &format!("{region}member"));
    }
    world.standin.put_member_hub(&with_detector, US);
    // STS refuses the role in one account, as when the role is missing or does not trust us.
    let sts = Front::start(
        &world.moto.endpoint,
        Some((
            format!("{refused}%3Arole"),
            "AccessDenied",
            "User: arn:aws:sts::999999999999:assumed-role/onboarder/x is not authorized to perform: sts:AssumeRole on resource",
        )),
    )
    .await;
    let sdk = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_STS", sts.endpoint.clone())],
    )
    .await;
    let onboarder = world.onboarder_with(
        &sdk,
        &[("ENABLE_SECURITY_HUB", "true"), ("MEMBER_ROLE_NAME", ROLE)],
        TEST_LIMITS,
    );
    let accounts = vec![
        with_detector.clone(),
        without_detector.clone(),
        refused.clone(),
    ];

    let run = invoke(&onboarder, manual(&accounts))
        .await
        .expect("never fails the run");
    for service in [Service::GuardDuty, Service::SecurityHub] {
        for region in [US, EU] {
            // Switched on only where the service was off: GuardDuty without a detector,
            // Security Hub outside us-east-1 for the first account.
            let was_on = service == Service::GuardDuty || region == US;
            assert_eq!(
                outcome(&run, service, region, &with_detector),
                &Outcome::Accepted {
                    switched_on: !was_on
                }
            );
            assert_eq!(
                outcome(&run, service, region, &without_detector),
                &Outcome::Accepted { switched_on: true }
            );
            let Outcome::Unprocessed {
                step: Step::Accept,
                result,
            } = outcome(&run, service, region, &refused)
            else {
                panic!("{service:?} {region}: the refused role is reported at the accept step")
            };
            assert!(
                result.to_string().contains(&format!(
                    "AssumeRole failed for arn:aws:iam::{refused}:role/{ROLE}: AccessDenied"
                )),
                "{result}"
            );
        }
    }
    assert_eq!(run.counts.accepted, 8);
    // What the administrator sees: Enabled for the two accepted, still Invited for the other.
    for region in [US, EU] {
        let gd = world.standin.members(region);
        let sh = world.standin.security_hub_members(region);
        for (members, name) in [(&gd, "GuardDuty"), (&sh, "Security Hub")] {
            assert_eq!(
                members[&with_detector].relationship_status, "Enabled",
                "{name}"
            );
            assert_eq!(
                members[&without_detector].relationship_status, "Enabled",
                "{name}"
            );
            assert_eq!(members[&refused].relationship_status, "Invited", "{name}");
        }
    }
    let calls = world.standin.calls();
    let by = |caller: &str, operation: Operation| -> Vec<(standin::Service, String)> {
        calls
            .iter()
            .filter(|c| c.caller == caller && c.operation == operation && c.status == 200)
            .map(|c| (c.service, c.region.clone()))
            .collect()
    };
    assert!(by(&with_detector, Operation::CreateDetector).is_empty());
    assert_eq!(by(&without_detector, Operation::CreateDetector).len(), 2);
    assert_eq!(
        by(&with_detector, Operation::EnableSecurityHub),
        [(standin::Service::SecurityHub, EU.to_owned())],
        "Security Hub is enabled only where it was off"
    );
    assert_eq!(by(&without_detector, Operation::EnableSecurityHub).len(), 2);
    // Nothing that costs money is switched on unchosen (the default member settings): every
    // protection plan of the created detectors is off, and no default standard is on.
    for region in [US, EU] {
        let features = world
            .standin
            .detector_features(&without_detector, region)
            .expect("a detector created");
        assert!(features.values().all(|on| !on), "{region}: {features:?}");
        assert_eq!(
            world.standin.default_standards(&without_detector, region),
            Some(false)
        );
    }
    assert_eq!(
        world.standin.default_standards(&with_detector, EU),
        Some(false)
    );
    assert_eq!(
        by(&with_detector, Operation::AcceptAdministratorInvitation).len(),
        4
    );
    assert!(
        calls.iter().all(|c| c.caller != refused),
        "nothing ran as the refused account"
    );
    // One AssumeRole per account, whatever the number of regions and services.
    let assumed: Vec<String> = sts
        .seen()
        .into_iter()
        .filter(|r| r.contains("Action=AssumeRole"))
        .collect();
    assert_eq!(assumed.len(), 3, "{assumed:?}");
    // Each session is scoped by the session policy and lasts STS's minimum.
    for request in &assumed {
        assert!(request.contains("DurationSeconds=900"), "{request}");
        assert!(
            request.contains("Policy=%7B"),
            "a session policy: {request}"
        );
    }
    let (_, html) = the_email(&world).await;
    // Accepted everywhere for the two, not processed everywhere for the refused one.
    assert!(
        row_of(&html, &with_detector)
            .iter()
            .any(|r| r.ends_with("E everywhere: enabled (monitored)"))
    );
    assert!(
        row_of(&html, &refused)
            .iter()
            .any(|r| r.ends_with("X everywhere: not processed"))
    );
    assert!(
        text_of(&html)
            .contains("What to do: Check that MEMBER_ROLE_NAME exists in the member account")
    );
}

/// Creates the organisation's accounts in moto, in order; returns their ids.
async fn organisation(world: &World, n: usize) -> Vec<String> {
    let mut accounts = Vec::with_capacity(n);
    for i in 0..n {
        accounts.push(
            world
                .create_named_account(&format!("acct{i}@example.com"), &format!("acct-{i}"))
                .await,
        );
    }
    accounts
}

/// A sweep of an organisation of 300 accounts, listed 20 at a time, with members in every
/// state, a suspended account and a member from outside: it creates the missing, invites those
/// still `Created`, leaves the others, never makes a `DescribeAccount` call, and sweeping again
/// invites no one. Once every member is in place, `REPORT_WHEN=unprocessed` sends nothing and
/// `always` says there was nothing to do.
#[tokio::test]
async fn a_sweep_reconciles_the_organisation_and_a_second_sweep_invites_no_one() {
    let world = World::start().await;
    world.verify_sender().await;
    let accounts = organisation(&world, 300).await;
    let org = aws_sdk_organizations::Client::new(&world.sdk);
    let suspended = accounts[299].clone();
    org.close_account()
        .account_id(&suspended)
        .send()
        .await
        .expect("moto closes the account");
    let (enabled, invited, created, resigned) =
        (&accounts[0], &accounts[1], &accounts[2], &accounts[3]);
    for region in [US, EU] {
        world
            .standin
            .put_member(region, enabled, "e@example.com", "Enabled");
        world
            .standin
            .put_member(region, invited, "i@example.com", "Invited");
        world
            .standin
            .put_member(region, created, "c@example.com", "Created");
        world
            .standin
            .put_member(region, resigned, "r@example.com", "Resigned");
        world
            .standin
            .put_member(region, "777777777777", "outside@example.com", "Enabled");
    }
    let front = Front::start(&world.moto.endpoint, None).await;
    let sdk = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_ORGANIZATIONS", front.endpoint.clone())],
    )
    .await;
    // Always: the last sweep finds everything in place and still reports.
    let onboarder = world.onboarder_with(&sdk, &[("REPORT_WHEN", "always")], TEST_LIMITS);

    let first = invoke(&onboarder, json!({"sweep": true}))
        .await
        .expect("sweeps");
    assert_eq!(first.trigger, "manual sweep");
    // Organizations: pages of 20, and no DescribeAccount.
    let seen = front.seen();
    let listings: Vec<&String> = seen
        .iter()
        .filter(|r| r.contains(".ListAccounts"))
        .collect();
    assert!(listings.len() >= 301 / 20, "{} pages", listings.len());
    assert!(
        listings.iter().all(|r| r.contains("\"MaxResults\":20")),
        "{listings:?}"
    );
    assert!(!seen.iter().any(|r| r.contains("DescribeAccount")));
    // Every ACTIVE account of the organisation (moto's management account included), not the
    // suspended one.
    assert_eq!(
        first.counts.accounts, 300,
        "299 created and ACTIVE, and the management account"
    );
    assert_eq!(first.response.inactive.len(), 1);
    assert_eq!(first.response.inactive[0].account_id, suspended);
    assert_eq!(first.response.inactive[0].state, "SUSPENDED");
    let calls = world.standin.calls();
    assert!(calls.iter().all(|c| !c.account_ids.contains(&suspended)));
    assert!(
        calls
            .iter()
            .all(|c| !c.account_ids.contains(&"777777777777".to_owned()))
    );
    for region in [US, EU] {
        assert_eq!(
            outcome(&first, Service::GuardDuty, region, enabled),
            &Outcome::AlreadyMember {
                status: "Enabled".into()
            }
        );
        assert_eq!(
            outcome(&first, Service::GuardDuty, region, invited),
            &Outcome::AlreadyMember {
                status: "Invited".into()
            }
        );
        assert_eq!(
            outcome(&first, Service::GuardDuty, region, created),
            &Outcome::Invited
        );
        assert_eq!(
            outcome(&first, Service::GuardDuty, region, resigned),
            &Outcome::NeedsAction {
                status: "Resigned".into()
            }
        );
        let creates: BTreeSet<&String> = of(
            &calls,
            standin::Service::GuardDuty,
            region,
            Operation::CreateMembers,
        )
        .flat_map(|c| &c.account_ids)
        .collect();
        assert_eq!(creates.len(), 296, "every account not yet a member");
        assert!(!creates.contains(created) && !creates.contains(resigned));
        assert_eq!(
            of(
                &calls,
                standin::Service::GuardDuty,
                region,
                Operation::ListMembers
            )
            .count(),
            1,
            "5 members: one page"
        );
        assert_eq!(
            of(
                &calls,
                standin::Service::GuardDuty,
                region,
                Operation::GetMembers
            )
            .count(),
            0,
            "a sweep reads statuses with ListMembers"
        );
    }
    assert_eq!(first.counts.invited, 2 * 297);
    assert_eq!(world.standin.invitations().len(), 2 * 297);
    // The member outside the organisation is reported in each region, and left in place.
    for region in [US, EU] {
        assert_eq!(
            outcome(&first, Service::GuardDuty, region, "777777777777"),
            &Outcome::Departed {
                status: "Enabled".into(),
                standing: onboarder::outcome::Standing::Absent
            }
        );
    }
    assert_eq!(first.counts.departed, 2);

    // Again: nothing written, and the report says no one was invited.
    let before = calls.len();
    let second = invoke(&onboarder, json!({"sweep": true}))
        .await
        .expect("sweeps");
    let later = &world.standin.calls()[before..];
    assert!(
        later.iter().all(|c| !c.operation.is_write()),
        "no write on the second sweep"
    );
    assert_eq!(second.counts.invited, 0);
    assert_eq!(
        second.counts.needs_action, 2,
        "the resigned member, in each region"
    );
    // 301 members now (300 and the outside one): ListMembers reads every page of 50.
    assert_eq!(
        later
            .iter()
            .filter(|c| c.region == US && c.operation == Operation::ListMembers)
            .count(),
        7
    );
    let messages = world.moto.sent_messages().await;
    assert_eq!(messages.len(), 2);
    assert!(
        messages[1]["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("GuardDuty onboarding: 0 invited")),
        "{}",
        messages[1]["subject"]
    );

    assert_eq!(
        second.counts.departed, 2,
        "still reported: nothing was changed"
    );

    // With REMOVE_DEPARTED_MEMBERS, a sweep removes the member outside the organisation.
    let removing = world.onboarder_with(
        &sdk,
        &[
            ("REPORT_WHEN", "never"),
            ("REMOVE_DEPARTED_MEMBERS", "true"),
        ],
        TEST_LIMITS,
    );
    let removed = invoke(&removing, json!({"sweep": true}))
        .await
        .expect("sweeps");
    assert_eq!(removed.counts.removed, 2, "{:?}", removed.counts);
    assert_eq!(removed.counts.departed, 0);
    for region in [US, EU] {
        assert!(!world.standin.members(region).contains_key("777777777777"));
    }

    // Everything in place: nothing sent under REPORT_WHEN=unprocessed or changes, "nothing to
    // do" under always.
    for region in [US, EU] {
        world
            .standin
            .put_member(region, resigned, "r@example.com", "Enabled");
    }
    let quiet = world.onboarder_with(&sdk, &[("REPORT_WHEN", "unprocessed")], TEST_LIMITS);
    let third = invoke(&quiet, json!({"sweep": true}))
        .await
        .expect("sweeps");
    assert!(!third.report.sent, "{:?}", third.report);
    let by_default = world.onboarder_with(&sdk, &[], TEST_LIMITS);
    let fourth = invoke(&by_default, json!({"sweep": true}))
        .await
        .expect("sweeps");
    assert!(
        fourth
            .report
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("REPORT_WHEN is changes")),
        "{:?}",
        fourth.report
    );
    assert_eq!(world.moto.sent_messages().await.len(), 2);
    invoke(&onboarder, sample("scheduled_event.json"))
        .await
        .expect("the scheduled event sweeps too");
    let messages = world.moto.sent_messages().await;
    assert_eq!(messages.len(), 3);
    let body = messages[2]["body"].as_str().unwrap_or_default();
    assert!(
        text_of(body).contains("Nothing needs your action"),
        "{body}"
    );
    assert!(body.contains("scheduled sweep"));
}

/// `REGIONS=all-enabled` onboards in the regions `ListRegions` says are enabled, asked once per
/// cold start; an opt-in region that is off is named once and never called, and a region where
/// every call is denied is reported once without stalling the others.
#[tokio::test]
async fn all_enabled_regions_skip_the_disabled_and_report_the_denied_once() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.set_regions(&[
        (US, "ENABLED_BY_DEFAULT"),
        (EU, "ENABLED"),
        ("ap-east-1", "DISABLED"),
        ("eu-south-1", "ENABLED"),
    ]);
    world.standin.deny_region("eu-south-1");
    let onboarder = world.onboarder(&[("REGIONS", "all-enabled")]);
    let accounts = ids(330_000_000_000, 2);

    let run = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    let regions: BTreeSet<&str> = run.regions.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(regions, BTreeSet::from([US, EU, "eu-south-1"]));
    for region in [US, EU] {
        for account in &accounts {
            assert_eq!(
                outcome(&run, Service::GuardDuty, region, account),
                &Outcome::Invited
            );
        }
    }
    let denied = region_of(&run, Service::GuardDuty, "eu-south-1");
    let problem = denied.problem.as_ref().expect("reported");
    assert!(
        problem.reason.to_string().contains("AccessDeniedException"),
        "{problem:?}"
    );
    assert!(
        problem
            .reason
            .to_string()
            .contains("service control policy"),
        "{problem:?}"
    );
    assert_eq!(problem.accounts, 2);
    assert_eq!(run.response.regions_not_enabled.len(), 1);
    assert_eq!(run.response.regions_not_enabled[0].region, "ap-east-1");
    assert_eq!(run.response.regions_not_enabled[0].status, "DISABLED");
    let calls = world.standin.calls();
    assert!(calls.iter().all(|c| c.region != "ap-east-1"));
    assert_eq!(
        calls.iter().filter(|c| c.region == "eu-south-1").count(),
        1,
        "the first refusal stops the region"
    );
    let (_, html) = the_email(&world).await;
    assert!(html.contains("ap-east-1 (DISABLED)"), "{html}");
    assert!(text_of(&html).contains("A service control policy denies this call"));

    invoke(&onboarder, manual(&ids(330_000_000_100, 1)))
        .await
        .expect("runs");
    let listings = world
        .standin
        .calls()
        .iter()
        .filter(|c| c.operation == Operation::ListRegions)
        .count();
    assert_eq!(listings, 1, "the regions are listed once per cold start");

    // Named in REGIONS though it is not enabled: reported once, with what to do.
    let listed = world.onboarder(&[("REGIONS", "us-east-1,ap-east-1")]);
    let run = invoke(&listed, manual(&ids(330_000_000_200, 3)))
        .await
        .expect("runs");
    let off = region_of(&run, Service::GuardDuty, "ap-east-1");
    let problem = off.problem.as_ref().expect("reported");
    assert!(
        problem
            .reason
            .to_string()
            .contains("UnrecognizedClientException"),
        "{problem:?}"
    );
    let action = run.response.regions[1].action.unwrap_or_default();
    assert!(action.contains("not enabled"), "{action}");
    assert_eq!(
        outcome(&run, Service::GuardDuty, US, "330000000200"),
        &Outcome::Invited
    );
}

/// A dry run, of named accounts and of a sweep, makes only reads (no write in the stand-in's
/// log, no AssumeRole) and says per account, service and region what would be done.
#[tokio::test]
async fn dry_runs_only_read_and_say_what_would_be_done() {
    let world = World::start().await;
    world.verify_sender().await;
    world.standin.enable_security_hub(&[US, EU]);
    let [new, created, pending] =
        ["340000000001", "340000000002", "340000000003"].map(str::to_owned);
    for region in [US, EU] {
        world
            .standin
            .put_member(region, &created, "c@example.com", "Created");
        world
            .standin
            .put_member(region, &pending, "p@example.com", "Invited");
    }
    let sts = Front::start(&world.moto.endpoint, None).await;
    let sdk = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_STS", sts.endpoint.clone())],
    )
    .await;
    let onboarder = world.onboarder_with(
        &sdk,
        &[("ENABLE_SECURITY_HUB", "true"), ("MEMBER_ROLE_NAME", ROLE)],
        TEST_LIMITS,
    );
    let mut event = manual(&[new.clone(), created.clone(), pending.clone()]);
    event["dryRun"] = json!(true);

    let run = invoke(&onboarder, event).await.expect("runs");
    assert!(run.response.dry_run);
    for region in [US, EU] {
        assert_eq!(
            outcome(&run, Service::GuardDuty, region, &new),
            &Outcome::WouldDo {
                plan: Plan::Create,
                status: None,
                accept: true
            }
        );
        assert_eq!(
            outcome(&run, Service::GuardDuty, region, &created),
            &Outcome::WouldDo {
                plan: Plan::Invite,
                status: Some("Created".into()),
                accept: true
            }
        );
        assert_eq!(
            outcome(&run, Service::GuardDuty, region, &pending),
            &Outcome::WouldDo {
                plan: Plan::Accept,
                status: Some("Invited".into()),
                accept: true
            }
        );
        // Security Hub has none of them yet.
        assert!(
            region_of(&run, Service::SecurityHub, region)
                .accounts
                .iter()
                .all(|a| matches!(
                    a.outcome,
                    Outcome::WouldDo {
                        plan: Plan::Create,
                        ..
                    }
                ))
        );
    }
    assert_eq!(run.counts.would_do, 12);
    assert!(!run.response.would_do.is_empty());
    let calls = world.standin.calls();
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|c| !c.operation.is_write()), "{calls:?}");
    assert!(sts.seen().is_empty(), "no role assumed in a dry run");
    assert!(world.standin.invitations().is_empty());
    let (subject, html) = the_email(&world).await;
    assert!(
        subject.starts_with("[dry run] GuardDuty and Security Hub onboarding: 12 to do"),
        "{subject}"
    );
    assert!(text_of(&html).contains("would create it"));

    // A dry-run sweep of an organisation.
    let accounts = organisation(&world, 3).await;
    let before = calls.len();
    let sweep = invoke(&onboarder, json!({"sweep": true, "dryRun": true}))
        .await
        .expect("runs");
    assert_eq!(sweep.trigger, "manual sweep (dry run)");
    for account in &accounts {
        assert!(matches!(
            outcome(&sweep, Service::GuardDuty, US, account),
            Outcome::WouldDo {
                plan: Plan::Create,
                ..
            }
        ));
    }
    let later = &world.standin.calls()[before..];
    assert!(later.iter().any(|c| c.operation == Operation::ListMembers));
    assert!(later.iter().all(|c| !c.operation.is_write()));
    assert!(world.standin.members(US).len() == 2, "nothing created");
}

/// A run past the glance view's limit sends, through SES, a text part with one grep-able line
/// per row that needs attention, and the complete table as a CSV attachment.
#[tokio::test]
async fn a_large_run_sends_grepable_lines_and_the_complete_table() {
    let world = World::start().await;
    world.verify_sender().await;
    // The first invitation batch in eu-west-1 fails: 50 accounts there need attention.
    world.standin.inject(standin::Fault::times(
        Operation::InviteMembers,
        EU,
        standin::FaultKind::ServerError,
        8,
    ));
    let ses = Front::start(&world.moto.endpoint, None).await;
    let sdk = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SESV2", ses.endpoint.clone())],
    )
    .await;
    // One batch at a time, so that the first batch's invitation meets every fault.
    let limits = onboarder::limits::Limits {
        batch_concurrency: 1,
        ..TEST_LIMITS
    };
    let onboarder = world.onboarder_with(&sdk, &[], limits);
    let accounts = ids(350_000_000_000, 250);

    let run = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    assert_eq!(run.counts.unprocessed, 50);
    let sent: Vec<String> = ses
        .seen()
        .into_iter()
        .filter(|r| r.contains("FromEmailAddress"))
        .collect();
    assert_eq!(sent.len(), 1);
    let request: Value = serde_json::from_str(&sent[0]).expect("SendEmail's JSON");
    let simple = &request["Content"]["Simple"];
    let text = simple["Body"]["Text"]["Data"]
        .as_str()
        .expect("a text part");
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("UNPROCESSED account=") && l.contains(" region=eu-west-1 service=guardduty step=invite | result: InviteMembers failed: InternalServerErrorException"))
        .collect();
    assert_eq!(failed.len(), 50, "{text}");
    let attachment = &simple["Attachments"][0];
    assert_eq!(attachment["FileName"], "onboarding-report.csv");
    assert_eq!(attachment["ContentType"], "text/csv; charset=utf-8");
    let csv = aws_smithy_types::base64::decode(attachment["RawContent"].as_str().expect("base64"))
        .expect("valid base64");
    let csv = String::from_utf8(csv).expect("UTF-8");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    // An account's regions with the same outcome share a record, which names them.
    let cells: usize = rows
        .iter()
        .map(|r| r.split(',').nth(3).expect("regions").split(' ').count())
        .sum();
    assert_eq!(cells, 250 * 2, "every account in every region");
    assert_eq!(
        rows.len(),
        200 + 50 * 2,
        "one record, or two where the regions differ"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains(",unprocessed,")).count(),
        50
    );
    // The glance view lists only the accounts with something not done.
    let html = simple["Body"]["Html"]["Data"]
        .as_str()
        .expect("an HTML part");
    assert!(
        text_of(html).contains("200 more accounts enabled or invited everywhere are not listed")
    );
}

/// Within a region each batch of 50 goes check → create → invite on its own: with two batches
/// at a time, the first batch's invitations go out before the last batch is checked. The calls
/// are the ideal ones: one check, one create and one invite per batch.
#[tokio::test]
async fn batches_go_through_their_steps_on_their_own() {
    let world = World::start().await;
    world
        .standin
        .set_latency(std::time::Duration::from_millis(20));
    let limits = onboarder::limits::Limits {
        batch_concurrency: 2,
        ..TEST_LIMITS
    };
    let onboarder = world.onboarder_with(
        &world.sdk,
        &[("REPORT_WHEN", "never"), ("GUARDDUTY_DETECTOR_ID", "us-east-1=12abc34d567e8fa901bc2d34e56789f0,eu-west-1=98fed76c543b2ae109dc8b76a54321e0")],
        limits,
    );
    let accounts = ids(360_000_000_000, 230);

    let run = invoke(&onboarder, manual(&accounts)).await.expect("runs");
    assert_eq!(run.counts.invited, 460);
    let calls = world.standin.calls();
    for region in [US, EU] {
        let count = |op| of(&calls, standin::Service::GuardDuty, region, op).count();
        assert_eq!(
            count(Operation::GetMembers),
            5,
            "{region}: ceil(230/50) checks"
        );
        assert_eq!(count(Operation::CreateMembers), 5);
        assert_eq!(count(Operation::InviteMembers), 5);
        let seqs = |op| -> Vec<usize> {
            of(&calls, standin::Service::GuardDuty, region, op)
                .map(|c| c.seq)
                .collect()
        };
        let first_invite = seqs(Operation::InviteMembers)[0];
        let last_check = *seqs(Operation::GetMembers).last().expect("checks");
        assert!(
            first_invite < last_check,
            "{region}: a batch invited (call {first_invite}) before the last was checked (call {last_check})"
        );
    }
}

/// The Security Hub path against a peer we did not write: moto's Security Hub, where it
/// implements the operations (`DescribeOrganizationConfiguration`, `GetMembers`, `CreateMembers`;
/// it has no invitation operations). As Security Hub's delegated administrator there, every
/// organisation account is enabled by `CreateMembers` and read back as enabled, and no
/// invitation is sent (moto would answer 404). moto differs from AWS in that it marks every
/// member `ENABLED` and answers an account that is not the administrator with
/// `AccessDeniedException`, so only the delegated administrator's path is compared here.
#[tokio::test]
async fn security_hub_s_organisation_mode_against_moto_s_security_hub() {
    let world = World::start().await;
    world.verify_sender().await;
    let a = world.create_account("peer-a@example.com").await;
    let b = world.create_account("peer-b@example.com").await;
    let sdk = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SECURITYHUB", world.moto.endpoint.clone())],
    )
    .await;
    // This test's moto account created the organisation: it enables Security Hub and makes
    // itself Security Hub's delegated administrator.
    let hub = aws_sdk_securityhub::Client::new(&sdk);
    hub.enable_security_hub()
        .send()
        .await
        .expect("moto enables Security Hub");
    hub.enable_organization_admin_account()
        .admin_account_id(&world.moto.account)
        .send()
        .await
        .expect("moto delegates Security Hub");
    let onboarder = world.onboarder_with(
        &sdk,
        &[("ENABLE_SECURITY_HUB", "true"), ("REGIONS", US)],
        TEST_LIMITS,
    );

    let run = invoke(&onboarder, manual(&[a.clone(), b.clone()]))
        .await
        .expect("runs");

    let region = region_of(&run, Service::SecurityHub, US);
    assert_eq!(
        region.administration,
        Some(Administration::DelegatedAdministrator)
    );
    assert!(region.problem.is_none(), "{:?}", region.problem);
    for account in [&a, &b] {
        assert_eq!(
            outcome(&run, Service::SecurityHub, US, account),
            &Outcome::EnabledByOrganization,
            "{account}"
        );
    }
    let members = hub
        .get_members()
        .account_ids(&a)
        .account_ids(&b)
        .send()
        .await
        .expect("moto lists the members");
    assert_eq!(members.members().len(), 2);
    // A second run finds them members and creates nothing.
    let again = invoke(&onboarder, manual(&[a.clone(), b.clone()]))
        .await
        .expect("runs");
    assert_eq!(
        outcome(&again, Service::SecurityHub, US, &a),
        &Outcome::AlreadyMember {
            status: MemberStatus::Enabled
        }
    );
}

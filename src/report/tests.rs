//! The report's tests: its order, its escaping, its size, and that every part names the same
//! accounts. The HTML is read with a real HTML parser.

use std::collections::BTreeSet;
use std::io::Read;

use scraper::{Html, Selector};

use super::*;
use crate::aws_error::{AwsError, CallError};
use crate::outcome::{AccountOutcome, Outcome, Plan, Reason, RegionOutcome, RegionProblem, Step};

const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

fn region(service: Service, name: &str, accounts: Vec<AccountOutcome>) -> RegionOutcome {
    RegionOutcome {
        service,
        region: name.into(),
        detector_id: (service == Service::GuardDuty).then(|| "det1".to_owned()),
        administration: None,
        auto_enable: None,
        problem: None,
        accounts,
    }
}

fn account(id: &str, outcome: Outcome) -> AccountOutcome {
    AccountOutcome {
        account_id: id.into(),
        account_name: None,
        outcome,
    }
}

fn summary() -> Summary {
    Summary {
        trigger: "Control Tower CreateManagedAccount".into(),
        event_id: Some("999cccaa".into()),
        dry_run: false,
        accounts: 3,
        not_attempted: vec![
            AccountOutcome::unprocessed(
                "12345",
                Step::Validate,
                Reason::Invalid(
                    "the account id must be exactly 12 digits; it has 5 characters".into(),
                ),
            ),
            AccountOutcome::unprocessed(
                "555555555555",
                Step::Lookup,
                Reason::Lookup(CallError::Failed(AwsError::service(
                    "AccountNotFoundException",
                    Some("You specified an account that doesn't exist."),
                ))),
            ),
        ],
        regions: vec![
            region(
                Service::GuardDuty,
                "us-east-1",
                vec![
                    account("222222222222", Outcome::Invited),
                    AccountOutcome {
                        account_id: "333333333333".into(),
                        account_name: Some("prod <b>".into()),
                        outcome: Outcome::AlreadyMember {
                            status: "Enabled".into(),
                        },
                    },
                    AccountOutcome::unprocessed(
                        "444444444444",
                        Step::Invite,
                        ALREADY_INVITED.into(),
                    ),
                ],
            ),
            RegionOutcome {
                detector_id: None,
                problem: Some(RegionProblem {
                    step: Step::Detector,
                    reason: Reason::NoDetector {
                        region: "eu-west-1".into(),
                    },
                    accounts: 3,
                }),
                ..region(Service::GuardDuty, "eu-west-1", Vec::new())
            },
            region(
                Service::SecurityHub,
                "us-east-1",
                vec![
                    account("222222222222", Outcome::Accepted { switched_on: true }),
                    account("333333333333", Outcome::Invited),
                    account(
                        "444444444444",
                        Outcome::NeedsAction {
                            status: "Resigned".into(),
                        },
                    ),
                ],
            ),
        ],
        inactive: Vec::new(),
        regions_not_enabled: Vec::new(),
        member_settings: None,
    }
}

/// The text of every element `selector` picks, in document order.
fn texts(html: &Html, selector: &str) -> Vec<String> {
    let selector = Selector::parse(selector).expect("a valid selector");
    html.select(&selector)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// Every 12-digit account id in a text.
fn account_ids(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 12)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_subject_gives_the_counts() {
    assert_eq!(
        subject(&summary()),
        "GuardDuty and Security Hub onboarding: 2 invited, 0 enabled through the organisation, 1 accepted in the member account, 1 already member, 1 needs action, 3 unprocessed, 1 service-region skipped (3 accounts, 2 regions)"
    );
    let mut gd_only = summary();
    gd_only.regions.truncate(2);
    assert!(subject(&gd_only).starts_with("GuardDuty onboarding: 1 invited, 0 enabled"));
}

#[test]
fn what_needs_a_person_comes_before_the_glance_view_grouped_by_what_to_do() {
    let report = render(&summary());
    let html = Html::parse_document(&report.html);
    let headings = texts(&html, "h2");
    assert_eq!(headings.len(), 2, "{headings:?}");
    assert!(headings[0].starts_with("Needs your action: 4 rows, 1 service-region skipped"));
    assert_eq!(headings[1], "Every account at a glance");
    let groups = texts(&html, "h3");
    assert_eq!(groups[0], "Service-regions skipped");
    assert!(
        groups
            .iter()
            .any(|g| g.starts_with("What to do: Correct the event's entry"))
    );
    assert!(
        groups
            .iter()
            .any(|g| g.contains("An invitation is pending"))
    );
    assert!(
        groups
            .iter()
            .any(|g| g.contains("The member left and is not monitored"))
    );
    // The text part: the same order, and one grep-able line per row, result verbatim.
    let text = &report.text;
    let attention = text.find("== Needs your action").expect("attention");
    let glance = text.find("== Every account at a glance").expect("glance");
    assert!(attention < glance);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&format!("UNPROCESSED account=444444444444 region=us-east-1 service=guardduty step=invite | result: {ALREADY_INVITED}").as_str()));
    assert!(lines.contains(
        &"NEEDS_ACTION account=444444444444 region=us-east-1 service=securityhub status=Resigned"
    ));
    assert!(lines.contains(&"UNPROCESSED account=555555555555 region=all step=lookup | result: AccountNotFoundException: You specified an account that doesn't exist."));
    assert!(lines.iter().any(|l| l.starts_with("REGION_SKIPPED region=eu-west-1 service=guardduty step=detector accounts=3 | result: there is no GuardDuty detector") && l.contains("| action: Enable GuardDuty in this region")));
    assert!(
        report.attachment.is_none(),
        "a small report lists everything"
    );
}

#[test]
fn the_glance_view_has_a_row_per_account_and_a_cell_per_service_region() {
    let report = render(&summary());
    let html = Html::parse_document(&report.html);
    let rows = texts(&html, "h2#glance + p + table tr");
    // A header and one row per account: the two stopped before any region, and three.
    assert_eq!(rows.len(), 6, "{rows:?}");
    let row_of = |id: &str| {
        rows.iter()
            .find(|r| r.starts_with(id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row_of("222222222222"), "222222222222I-E");
    assert_eq!(row_of("333333333333"), "333333333333prod <b>E-I");
    assert_eq!(row_of("444444444444"), "444444444444X-!");
    assert!(row_of("555555555555").contains("stopped before any region, at the lookup step"));
    let text_row = report
        .text
        .lines()
        .find(|l| l.starts_with("444444444444"))
        .expect("a text row");
    assert!(text_row.contains("X - !"), "{text_row}");
    assert!(
        report
            .text
            .contains("Legend: E enabled (monitored), I invited")
    );
    assert!(report.text.contains(
        "Columns: 1=GuardDuty us-east-1, 2=GuardDuty eu-west-1, 3=Security Hub us-east-1"
    ));
}

#[test]
fn an_account_with_the_same_outcome_everywhere_is_one_short_row() {
    let mut s = summary();
    s.not_attempted.clear();
    s.regions = ["us-east-1", "eu-west-1", "ap-south-1"]
        .iter()
        .map(|r| {
            region(
                Service::GuardDuty,
                r,
                vec![account("222222222222", Outcome::Invited)],
            )
        })
        .collect();
    let report = render(&s);
    assert!(
        report
            .text
            .contains("222222222222  I everywhere: invited (monitored once accepted)")
    );
    assert!(report.text.contains("Nothing needs your action"));
    let html = Html::parse_document(&report.html);
    assert_eq!(
        texts(&html, "p#attention").len(),
        1,
        "one line when nothing needs action"
    );
    assert!(
        texts(&html, "td")
            .iter()
            .any(|t| t == "I everywhere: invited (monitored once accepted)")
    );
}

#[test]
fn every_value_is_escaped_and_kept_on_one_line() {
    let mut s = summary();
    s.trigger = "<script>alert(1)</script>".into();
    let hostile = "<img src=x onerror=alert(1)>";
    s.regions[0].accounts.push(AccountOutcome {
        account_id: "666666666666".into(),
        account_name: Some(hostile.into()),
        outcome: Outcome::Unprocessed {
            step: Step::Create,
            result: std::sync::Arc::new("line one\nline two & \"quoted\" <b>bold</b>".into()),
        },
    });
    let report = render(&s);
    let html = Html::parse_document(&report.html);
    for tag in ["script", "img", "b"] {
        let found = html
            .select(&Selector::parse(tag).expect("selector"))
            .count();
        assert_eq!(found, 0, "no {tag} element came from a value");
    }
    let all_text: String = html.root_element().text().collect();
    assert!(
        all_text.contains("<script>alert(1)</script>"),
        "shown as text"
    );
    assert!(all_text.contains(hostile));
    assert!(all_text.contains("line one\\nline two & \"quoted\" <b>bold</b>"));
    let line = report
        .text
        .lines()
        .find(|l| l.contains("account=666666666666"))
        .expect("a text line");
    assert!(line.contains("result: line one\\nline two"), "{line}");
}

#[test]
fn the_text_and_html_parts_name_the_same_accounts() {
    let report = render(&summary());
    let html = Html::parse_document(&report.html);
    let html_text: String = html.root_element().text().collect();
    assert_eq!(account_ids(&report.text), account_ids(&html_text));
    assert_eq!(account_ids(&report.text).len(), 4);
}

#[test]
fn a_dry_run_says_so_and_what_it_would_do() {
    let mut s = summary();
    s.dry_run = true;
    s.not_attempted.clear();
    s.regions = vec![region(
        Service::GuardDuty,
        "us-east-1",
        vec![account(
            "222222222222",
            Outcome::WouldDo {
                plan: Plan::Create,
                status: None,
                accept: false,
            },
        )],
    )];
    let report = render(&s);
    assert!(
        report
            .subject
            .starts_with("[dry run] GuardDuty onboarding: 1 to do")
    );
    assert!(report.subject.ends_with("nothing was changed"));
    assert!(report.text.contains("Dry run: only reads were made"));
    assert!(report.text.lines().any(|l| l == "222222222222  ?"));
    assert!(report.text.contains(
        "WOULD account=222222222222 region=us-east-1 service=guardduty step=create | result: not a member: would create it"
    ));
    let html = Html::parse_document(&report.html);
    let headings = texts(&html, "h2");
    assert_eq!(
        headings,
        [
            "What a real run would do: 1 row",
            "Every account at a glance"
        ]
    );
    assert_eq!(texts(&html, "p#attention").len(), 1, "nothing needs action");
}

/// The 17 regions of the large tests, in order.
const REGIONS_17: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
];

/// `accounts` accounts in 17 regions and 2 services: every one invited, except one region
/// where every call was throttled and 50 accounts whose email failed verification.
fn organisation(accounts: usize) -> Summary {
    let regions = REGIONS_17;
    let mut summary = Summary {
        trigger: "scheduled sweep".into(),
        event_id: Some("e".into()),
        dry_run: false,
        accounts,
        not_attempted: Vec::new(),
        regions: Vec::new(),
        inactive: Vec::new(),
        regions_not_enabled: Vec::new(),
        member_settings: None,
    };
    for service in [Service::GuardDuty, Service::SecurityHub] {
        for (r, name) in regions.iter().enumerate() {
            let rows = (0..accounts)
                .map(|a| AccountOutcome {
                    account_id: scrambled(a).into(),
                    account_name: Some(format!("workload-{a}").into()),
                    outcome: match (r, a) {
                        (5, _) => Outcome::Unprocessed {
                            step: Step::Invite,
                            result: std::sync::Arc::new(Reason::call(
                                "InviteMembers",
                                CallError::Failed(AwsError::service(
                                    "TooManyRequestsException",
                                    Some("Rate exceeded"),
                                )),
                            )),
                        },
                        (_, a) if a % 100 == 7 && service == Service::GuardDuty => {
                            Outcome::NeedsAction {
                                status: "EmailVerificationFailed".into(),
                            }
                        }
                        _ => Outcome::Invited,
                    },
                })
                .collect();
            summary.regions.push(region(service, name, rows));
        }
    }
    summary
}

/// A 12-digit account id for `n`, as scattered as real ones: a table of sequential ids would
/// compress better than a real organisation's.
fn scrambled(n: usize) -> String {
    format!(
        "{:012}",
        (n as u64 * 7_919_000_003 + 100_000_000_000) % 1_000_000_000_000
    )
}

/// A CSV record's fields, quotes removed as RFC 4180 says.
fn fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("a field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            _ => fields.last_mut().expect("a field").push(c),
        }
    }
    fields
}

fn gunzip(data: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(data)
        .read_to_string(&mut text)
        .expect("a gzip CSV");
    text
}

/// The email's size as SES receives it (the attachment base64-encoded, a third larger), and its
/// attachment, which a large report must have.
fn email_size(report: &super::Report) -> (usize, &super::Attachment) {
    let attachment = report
        .attachment
        .as_ref()
        .expect("the complete table is attached");
    let size = report.subject.len()
        + report.text.len()
        + report.html.len()
        + attachment.data.len().div_ceil(3) * 4;
    (size, attachment)
}

#[test]
fn five_thousand_accounts_in_seventeen_regions_and_two_services_stay_under_one_megabyte() {
    let summary = organisation(5_000);
    let report = render(&summary);
    let (size, attachment) = email_size(&report);
    assert!(
        size < 1_000_000,
        "{size} bytes: text {}, HTML {}, attachment {}",
        report.text.len(),
        report.html.len(),
        attachment.data.len()
    );
    assert_eq!(attachment.file_name, "onboarding-report.csv.gz");
    let csv = gunzip(&attachment.data);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "account,name,service,regions,outcome,status,step,result,action"
    );
    // Every account, service and region once: an account's regions with the same outcome share
    // a record, here two per account and service (the throttled region, and the others).
    let mut cells = std::collections::HashSet::new();
    for line in &lines[1..] {
        let fields = fields(line);
        assert_eq!(fields.len(), 9, "{line}");
        for region in fields[3].split(' ') {
            assert!(
                cells.insert((fields[0].clone(), fields[2].clone(), region.to_owned())),
                "{line}: {region} twice"
            );
        }
    }
    assert_eq!(cells.len(), 5_000 * 17 * 2, "every row");
    assert_eq!(
        lines.len(),
        1 + 5_000 * 2 * 2,
        "a header and two records an account and service"
    );
    let seventh = scrambled(7);
    let last = scrambled(4_999);
    let others = "us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-3 eu-central-1 eu-north-1 ap-south-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 ca-central-1 sa-east-1";
    assert!(lines.contains(&format!("{seventh},workload-7,GuardDuty,{others},needs_action,EmailVerificationFailed,,,\"The invitation email could not be verified: check the account's email, then remove the member and invoke the function again.\"").as_str()));
    assert!(lines.contains(&format!("{last},workload-4999,Security Hub,eu-west-2,unprocessed,,invite,InviteMembers failed: TooManyRequestsException: Rate exceeded,Still throttled after the SDK's retries; invoke the function again for these accounts later.").as_str()));
    assert!(
        lines.contains(&format!("{last},workload-4999,Security Hub,{others},invited,,,,").as_str())
    );
    // The body says how much it left out, and the grep-able lines it kept are whole.
    assert!(
        report
            .text
            .contains("more rows that need action, left out to keep this email small")
    );
    assert!(report.text.contains("every row is in the attached CSV"));
}

#[test]
fn a_thousand_accounts_with_a_few_failures_show_the_failures_first() {
    let mut summary = organisation(1_000);
    // Only three failures: the throttled region recovered.
    for region in &mut summary.regions {
        for (a, row) in region.accounts.iter_mut().enumerate() {
            row.outcome =
                if region.region == "eu-west-2" && region.service == Service::GuardDuty && a < 3 {
                    Outcome::Unprocessed {
                        step: Step::Create,
                        result: std::sync::Arc::new(Reason::call(
                            "CreateMembers",
                            CallError::Failed(AwsError::service(
                                "InternalServerErrorException",
                                Some("internal error"),
                            )),
                        )),
                    }
                } else {
                    Outcome::Invited
                };
        }
    }
    let report = render(&summary);
    // The first screen: the subject, the counts and the failures, in the first few kilobytes.
    let first_screen = &report.html[..6_000.min(report.html.len())];
    for id in [scrambled(0), scrambled(1), scrambled(2)] {
        assert!(first_screen.contains(&id), "{id} on the first screen");
    }
    let glance = Html::parse_document(&report.html);
    let rows = texts(&glance, "h2#glance + p + table tr");
    assert_eq!(
        rows.len(),
        1 + 3,
        "only the accounts with something not done are listed"
    );
    assert!(
        report
            .text
            .contains("997 more accounts enabled or invited everywhere are not listed")
    );
    assert!(report.attachment.is_some());
}

#[test]
fn one_new_account_is_a_short_email() {
    let s = Summary {
        trigger: "Control Tower CreateManagedAccount".into(),
        event_id: Some("e".into()),
        dry_run: false,
        accounts: 1,
        not_attempted: Vec::new(),
        regions: ["us-east-1", "eu-west-1"]
            .iter()
            .map(|r| {
                region(
                    Service::GuardDuty,
                    r,
                    vec![account("222222222222", Outcome::Invited)],
                )
            })
            .collect(),
        inactive: Vec::new(),
        regions_not_enabled: Vec::new(),
        member_settings: None,
    };
    let report = render(&s);
    assert!(report.attachment.is_none());
    assert!(report.text.lines().count() < 15, "{}", report.text);
    assert!(report.html.len() < 5_000, "{}", report.html.len());
}

#[test]
fn the_attachment_is_the_table_plain_when_small_and_gzip_past_the_threshold() {
    let small = summary();
    let plain = csv::attachment(&rows::Table::new(&small));
    assert_eq!(plain.file_name, "onboarding-report.csv");
    assert_eq!(
        plain.data,
        csv::table(&rows::Table::new(&small)).into_bytes()
    );
    let large = organisation(300);
    let table = csv::table(&rows::Table::new(&large));
    assert!(table.len() > csv::PLAIN_UP_TO, "{} bytes", table.len());
    let gzip = csv::attachment(&rows::Table::new(&large));
    assert_eq!(gzip.file_name, "onboarding-report.csv.gz");
    assert_eq!(
        gunzip(&gzip.data),
        table,
        "streamed, every byte of the table"
    );
}

/// GuardDuty's largest organisation, swept: 50,000 accounts in 17 regions, every one enabled
/// through the organisation in GuardDuty, and in Security Hub the first 10,000 (its member quota
/// per administrator and region), the others refused at `CreateMembers` over the quota. Ids
/// scattered and names distinct, as a real organisation's, which compress worse than a
/// generated one's.
fn largest_organisation() -> Summary {
    let (accounts, quota) = (50_000, 10_000);
    let mut summary = organisation(0);
    summary.accounts = accounts;
    let regions = REGIONS_17;
    let ids: Vec<crate::shared::Shared> = (0..accounts).map(|a| scrambled(a).into()).collect();
    let names: Vec<crate::shared::Shared> = (0..accounts)
        .map(|a| {
            format!(
                "workload-{}-{}",
                ["prod", "dev", "test", "sandbox"][a % 4],
                a * 7 % 99_991
            )
            .into()
        })
        .collect();
    let quota_reason = std::sync::Arc::new(Reason::MemberQuota(Box::new(Reason::call(
        "CreateMembers",
        CallError::Failed(AwsError::service(
            "LimitExceededException",
            Some(
                "The request was rejected because it would exceed the maximum number of member accounts",
            ),
        )),
    ))));
    for service in [Service::GuardDuty, Service::SecurityHub] {
        for name in regions {
            let rows = (0..accounts)
                .map(|a| AccountOutcome {
                    account_id: ids[a].clone(),
                    account_name: Some(names[a].clone()),
                    outcome: if service == Service::SecurityHub && a >= quota {
                        Outcome::Unprocessed {
                            step: Step::Create,
                            result: quota_reason.clone(),
                        }
                    } else {
                        Outcome::EnabledByOrganization
                    },
                })
                .collect();
            summary.regions.push(region(service, name, rows));
        }
    }
    summary
}

/// The largest organisation's email: every account in every region in the attached table, and
/// the whole email (attachment base64-encoded, as SES sends it) far within SES's limit: "up to
/// the 40MB total message size limit" (SES Developer Guide, "Working with email attachments").
/// It does not stay under 1 MB: 50,000 scattered 12-digit ids and distinct names are about half a
/// megabyte of gzip-compressed text on their own. The bound below is a guard against the table
/// growing again (it was 1.56 MB when this was written).
#[test]
fn fifty_thousand_accounts_in_seventeen_regions_and_two_services_fit_one_email() {
    let summary = largest_organisation();
    let report = render(&summary);
    let (size, attachment) = email_size(&report);
    eprintln!(
        "{size} bytes: text {}, HTML {}, attachment {}",
        report.text.len(),
        report.html.len(),
        attachment.data.len()
    );
    assert!(size < 2_000_000, "{size} bytes");
    let csv = gunzip(&attachment.data);
    let cells: usize = csv
        .lines()
        .skip(1)
        .map(|line| fields(line)[3].split(' ').count())
        .sum();
    assert_eq!(cells, 50_000 * 17 * 2, "every account in every region");
}

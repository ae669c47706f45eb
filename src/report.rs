//! The report: a pure rendering of a run's [`Summary`] as a subject, a text part and an HTML part.
//! It knows no service's phrases: each row's suggested action comes from its [`Service`].
//!
//! Every account's entry stays on one line (one table row in HTML), so people can grep it and
//! mail filters can match it. Every value is HTML-escaped in the HTML part, and control
//! characters are escaped in both parts.

use std::fmt::Write;

use crate::advice;
use crate::event::printable;
use crate::outcome::{AccountOutcome, Counts, Outcome, RegionOutcome, Step, Summary};
use crate::service::Service;

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One line's worth of untrusted text: control characters escaped, length bounded.
fn one_line(value: &str) -> String {
    printable(value, 2_000)
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in one_line(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A row's parts: label, status or step, result, action.
struct Row<'a> {
    label: &'static str,
    detail: String,
    result: Option<&'a str>,
    action: Option<&'static str>,
}

/// What to do about a result: the service's words where there is a service, else the common ones.
fn result_action(service: Option<Service>, step: Step, result: &str) -> Option<&'static str> {
    match service {
        Some(service) => service.result_action(step, result),
        None => advice::result_action(step, result),
    }
}

fn row(service: Option<Service>, outcome: &Outcome) -> Row<'_> {
    let status_action = |status: &str| service.and_then(|s| s.status_action(status));
    match outcome {
        Outcome::Invited => Row {
            label: "INVITED",
            detail: String::new(),
            result: None,
            action: None,
        },
        Outcome::EnabledByOrganization => Row {
            label: "ENABLED",
            detail: "via=organization".to_owned(),
            result: None,
            action: None,
        },
        Outcome::Accepted => Row {
            label: "ENABLED",
            detail: "via=member-role".to_owned(),
            result: None,
            action: None,
        },
        Outcome::AlreadyMember { status } => Row {
            label: "MEMBER",
            detail: format!("status={}", one_line(status)),
            result: None,
            action: status_action(status),
        },
        Outcome::NeedsAction { status } => Row {
            label: "NEEDS_ACTION",
            detail: format!("status={}", one_line(status)),
            result: None,
            action: Some(status_action(status).unwrap_or_else(|| {
                service.map_or("Look the member up in the console.", |s| {
                    s.unknown_status_action()
                })
            })),
        },
        Outcome::WouldDo {
            plan,
            status,
            accept,
        } => Row {
            label: "WOULD",
            detail: match status {
                Some(status) => format!("plan={} status={}", plan.as_str(), one_line(status)),
                None => format!("plan={}", plan.as_str()),
            },
            result: Some(plan.explain(*accept)),
            action: None,
        },
        Outcome::Unprocessed { step, result } => Row {
            label: "UNPROCESSED",
            detail: format!("step={}", step.as_str()),
            result: Some(result),
            action: result_action(service, *step, result),
        },
    }
}

/// Where a row belongs: the service (none before any region) and the region (`all`).
#[derive(Clone, Copy)]
struct Place<'a> {
    service: Option<Service>,
    region: &'a str,
}

fn text_line(out: &mut String, place: Place<'_>, account: &AccountOutcome) {
    let r = row(place.service, &account.outcome);
    let _ = write!(
        out,
        "{} account={} region={}",
        r.label,
        one_line(&account.account_id),
        place.region
    );
    if let Some(service) = place.service {
        let _ = write!(out, " service={}", service.as_str());
    }
    if !r.detail.is_empty() {
        let _ = write!(out, " {}", r.detail);
    }
    if let Some(result) = r.result {
        let _ = write!(out, " | result: {}", one_line(result));
    }
    if let Some(action) = r.action {
        let _ = write!(out, " | action: {action}");
    }
    // Last, so the fixed fields keep their places for grep and mail filters.
    if let Some(name) = &account.account_name {
        let _ = write!(out, " | name: {}", one_line(name));
    }
    out.push('\n');
}

fn html_row(out: &mut String, place: Place<'_>, account: &AccountOutcome) {
    let r = row(place.service, &account.outcome);
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&account.account_id),
        escape(place.service.map_or("", Service::name)),
        escape(place.region),
        r.label,
        escape(&r.detail),
        escape(r.result.unwrap_or("")),
        escape(r.action.unwrap_or("")),
        escape(account.account_name.as_deref().unwrap_or("")),
    );
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The subject: the counts at a glance.
pub fn subject(summary: &Summary) -> String {
    let c = summary.counts();
    let services = if summary
        .regions
        .iter()
        .any(|r| r.service == Service::SecurityHub)
    {
        "GuardDuty and Security Hub onboarding"
    } else {
        "GuardDuty onboarding"
    };
    let scope = format!(
        "({} account{}, {} region{})",
        c.accounts,
        plural(c.accounts, "", "s"),
        c.regions,
        plural(c.regions, "", "s"),
    );
    if summary.dry_run {
        return format!(
            "[dry run] {services}: {} to do, {} already member{}, {} need{} action, {} unprocessed{} {scope}; nothing was changed",
            c.would_do,
            c.already_member,
            plural(c.already_member, "", "s"),
            c.needs_action,
            plural(c.needs_action, "s", ""),
            c.unprocessed,
            skipped(&c),
        );
    }
    let accepted = if c.accepted > 0 {
        format!(", {} accepted in the member account", c.accepted)
    } else {
        String::new()
    };
    format!(
        "{services}: {} invited, {} enabled through the organisation{accepted}, {} already member{}, {} need{} action, {} unprocessed{} {scope}",
        c.invited,
        c.enabled_by_organization,
        c.already_member,
        plural(c.already_member, "", "s"),
        c.needs_action,
        plural(c.needs_action, "s", ""),
        c.unprocessed,
        skipped(&c),
    )
}

fn skipped(c: &Counts) -> String {
    if c.regions_unusable == 0 {
        String::new()
    } else {
        format!(
            ", {} service-region{} skipped",
            c.regions_unusable,
            plural(c.regions_unusable, "", "s")
        )
    }
}

const HEADER: &str = "<tr><th>Account</th><th>Service</th><th>Region</th><th>Outcome</th><th>Status or step</th><th>Result</th><th>Suggested action</th><th>Account name</th></tr>";

/// One titled section: a line per account in the text, a row per account in the HTML table.
fn section(
    text: &mut String,
    html: &mut String,
    title: &str,
    place: Place<'_>,
    rows: &[AccountOutcome],
) {
    let _ = writeln!(text, "== {} ==", one_line(title));
    let _ = writeln!(
        html,
        "<h3>{}</h3>\n<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">{HEADER}",
        escape(title)
    );
    for account in rows {
        text_line(text, place, account);
        html_row(html, place, account);
    }
    if rows.is_empty() {
        text.push_str("(no accounts)\n");
        html.push_str("<tr><td colspan=\"8\">(no accounts)</td></tr>\n");
    }
    text.push('\n');
    html.push_str("</table>\n");
}

fn region_title(region: &RegionOutcome) -> String {
    match (&region.detector_id, region.service) {
        (Some(id), _) => format!(
            "{} {} (detector {id})",
            region.service.name(),
            region.region
        ),
        (None, _) => format!("{} {}", region.service.name(), region.region),
    }
}

/// A service-region that could not be used: one line, whatever the number of accounts.
fn skipped_region(text: &mut String, html: &mut String, region: &RegionOutcome) {
    let Some(problem) = &region.problem else {
        return;
    };
    let action = region.service.result_action(problem.step, &problem.reason);
    let _ = write!(
        text,
        "REGION_SKIPPED region={} service={} step={} accounts={} | result: {}",
        region.region,
        region.service.as_str(),
        problem.step.as_str(),
        problem.accounts,
        one_line(&problem.reason)
    );
    if let Some(action) = action {
        let _ = write!(text, " | action: {action}");
    }
    text.push_str("\n\n");
    let _ = writeln!(
        html,
        "<h3>{}</h3>\n<p><strong>Skipped</strong> at step {}: {} account{} not onboarded here.<br>Result: {}<br>Suggested action: {}</p>",
        escape(&region_title(region)),
        problem.step.as_str(),
        problem.accounts,
        plural(problem.accounts, " was", "s were"),
        escape(&problem.reason),
        escape(action.unwrap_or("")),
    );
}

/// Renders the report.
pub fn render(summary: &Summary) -> Report {
    let subject = subject(summary);
    let counts = summary.counts();
    let event_id = summary.event_id.as_deref().unwrap_or("none");
    let mut text = String::new();
    let _ = writeln!(text, "{subject}");
    let _ = writeln!(
        text,
        "Trigger: {} (event id {})",
        one_line(&summary.trigger),
        one_line(event_id)
    );
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body style=\"font-family:sans-serif\">",
        escape(&subject)
    );
    let _ = writeln!(html, "<h2>{}</h2>", escape(&subject));
    let _ = writeln!(
        html,
        "<p>Trigger: {} (event id {})</p>",
        escape(&summary.trigger),
        escape(event_id)
    );
    let mut note = |line: &str| {
        let _ = writeln!(text, "{line}");
        let _ = writeln!(html, "<p>{}</p>", escape(line));
    };
    if summary.dry_run {
        note(
            "Dry run: only reads were made. Each WOULD line says what a real run would do, and why.",
        );
    }
    let done = counts.invited + counts.enabled_by_organization + counts.accepted + counts.would_do;
    if done == 0 && counts.attention() == 0 {
        note(
            "Nothing to do: every account is already a member in every region, and none needs action. No invitation was sent.",
        );
    }
    if !summary.regions_not_enabled.is_empty() {
        let list: Vec<String> = summary
            .regions_not_enabled
            .iter()
            .map(|r| format!("{} ({})", r.region, r.status))
            .collect();
        note(&format!(
            "Regions not enabled for this account, skipped: {}.",
            list.join(", ")
        ));
    }
    if !summary.inactive.is_empty() {
        let list: Vec<String> = summary
            .inactive
            .iter()
            .map(|a| format!("{} ({})", a.account_id, a.state))
            .collect();
        note(&format!(
            "Left alone, not ACTIVE in Organizations: {}.",
            list.join(", ")
        ));
    }
    let _ = writeln!(
        text,
        "One line per account, service and region. Outcomes: INVITED, ENABLED (via=organization: associated through the organisation, no invitation needed; via=member-role: the invitation accepted in the member account), MEMBER (already a member, monitored or invited, with its status), NEEDS_ACTION (a member that is not monitored, with its status and what to do), WOULD (a dry run: what would be done and why), UNPROCESSED (with the step, the service's result verbatim, and a suggested action). REGION_SKIPPED: a service-region that could not be used, once.\n"
    );
    if !summary.not_attempted.is_empty() {
        section(
            &mut text,
            &mut html,
            "Before any region",
            Place {
                service: None,
                region: "all",
            },
            &summary.not_attempted,
        );
    }
    for region in &summary.regions {
        if region.problem.is_some() {
            skipped_region(&mut text, &mut html, region);
            continue;
        }
        section(
            &mut text,
            &mut html,
            &region_title(region),
            Place {
                service: Some(region.service),
                region: &region.region,
            },
            &region.accounts,
        );
    }
    html.push_str("</body></html>\n");
    Report {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Plan, RegionProblem};

    const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

    fn region(service: Service, name: &str, accounts: Vec<AccountOutcome>) -> RegionOutcome {
        RegionOutcome {
            service,
            region: name.into(),
            detector_id: (service == Service::GuardDuty).then(|| "det1".to_owned()),
            administration: None,
            problem: None,
            accounts,
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
                    "the account id must be exactly 12 digits; it has 5 characters",
                ),
                AccountOutcome::unprocessed(
                    "555555555555",
                    Step::Lookup,
                    "AccountNotFoundException: You specified an account that doesn't exist.",
                ),
            ],
            regions: vec![
                region(
                    Service::GuardDuty,
                    "us-east-1",
                    vec![
                        AccountOutcome {
                            account_id: "222222222222".into(),
                            account_name: None,
                            outcome: Outcome::Invited,
                        },
                        AccountOutcome {
                            account_id: "333333333333".into(),
                            account_name: Some("prod <b>".into()),
                            outcome: Outcome::AlreadyMember {
                                status: "Enabled".into(),
                            },
                        },
                        AccountOutcome::unprocessed("444444444444", Step::Invite, ALREADY_INVITED),
                    ],
                ),
                RegionOutcome {
                    detector_id: None,
                    problem: Some(RegionProblem {
                        step: Step::Detector,
                        reason: "there is no GuardDuty detector in eu-west-1: enable GuardDuty"
                            .into(),
                        accounts: 3,
                    }),
                    ..region(Service::GuardDuty, "eu-west-1", Vec::new())
                },
                region(
                    Service::SecurityHub,
                    "us-east-1",
                    vec![AccountOutcome {
                        account_id: "222222222222".into(),
                        account_name: None,
                        outcome: Outcome::Accepted,
                    }],
                ),
            ],
            inactive: Vec::new(),
            regions_not_enabled: Vec::new(),
        }
    }

    #[test]
    fn the_subject_gives_the_counts() {
        assert_eq!(
            subject(&summary()),
            "GuardDuty and Security Hub onboarding: 1 invited, 0 enabled through the organisation, 1 accepted in the member account, 1 already member, 0 need action, 3 unprocessed, 1 service-region skipped (3 accounts, 2 regions)"
        );
        let mut gd_only = summary();
        gd_only.regions.truncate(2);
        assert!(subject(&gd_only).starts_with("GuardDuty onboarding: 1 invited, 0 enabled"));
    }

    #[test]
    fn every_account_is_one_line_with_its_region_service_outcome_and_verbatim_result() {
        let report = render(&summary());
        let lines: Vec<&str> = report.text.lines().collect();
        let find = |needle: &str| -> Vec<&str> {
            lines
                .iter()
                .copied()
                .filter(|l| l.contains(needle))
                .collect()
        };

        assert_eq!(
            find("account=222222222222"),
            vec![
                "INVITED account=222222222222 region=us-east-1 service=guardduty",
                "ENABLED account=222222222222 region=us-east-1 service=securityhub via=member-role",
            ]
        );
        assert_eq!(
            find("account=333333333333"),
            vec![
                "MEMBER account=333333333333 region=us-east-1 service=guardduty status=Enabled | name: prod <b>"
            ]
        );
        let invite = find("account=444444444444");
        assert_eq!(invite.len(), 1);
        assert!(invite[0].starts_with(
            "UNPROCESSED account=444444444444 region=us-east-1 service=guardduty step=invite | result: "
        ));
        assert!(invite[0].contains(ALREADY_INVITED), "result verbatim");
        assert!(invite[0].contains("| action: An invitation is pending"));
        assert!(
            find("account=12345 region=all step=validate")[0]
                .contains("| action: Correct the event")
        );
        assert!(
            find("account=555555555555 region=all step=lookup")[0]
                .contains("AccountNotFoundException: You specified an account that doesn't exist.")
        );
    }

    #[test]
    fn a_region_that_cannot_be_used_is_one_line() {
        let report = render(&summary());
        let skipped: Vec<&str> = report
            .text
            .lines()
            .filter(|l| l.contains("region=eu-west-1"))
            .collect();
        assert_eq!(
            skipped,
            [
                "REGION_SKIPPED region=eu-west-1 service=guardduty step=detector accounts=3 | result: there is no GuardDuty detector in eu-west-1: enable GuardDuty | action: Enable GuardDuty in this region of the administrator account, or remove the region from REGIONS."
            ]
        );
        assert!(report.html.contains("3 accounts were not onboarded here"));
    }

    #[test]
    fn every_account_is_one_html_row() {
        let report = render(&summary());
        let rows: Vec<&str> = report
            .html
            .lines()
            .filter(|l| l.starts_with("<tr><td>"))
            .collect();
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.ends_with("</tr>")));
        assert!(rows.iter().any(|r| r.contains(
            "<td>444444444444</td><td>GuardDuty</td><td>us-east-1</td><td>UNPROCESSED</td><td>step=invite</td>"
        )));
        // The apostrophe of the verbatim result is escaped, not lost.
        assert!(report.html.contains("doesn&#39;t exist"));
    }

    #[test]
    fn every_value_is_escaped_in_html_and_kept_on_one_line() {
        let mut s = summary();
        s.trigger = "<script>alert(1)</script>".into();
        s.regions[0].accounts.push(AccountOutcome::unprocessed(
            "<img src=x onerror=alert(1)>",
            Step::Create,
            "line one\nline two & \"quoted\" <b>",
        ));
        let report = render(&s);
        assert!(
            !report.html.contains("<script>")
                && !report.html.contains("<img")
                && !report.html.contains("<b>")
        );
        assert!(
            report
                .html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
        assert!(
            report
                .html
                .contains("line one\\nline two &amp; &quot;quoted&quot; &lt;b&gt;")
        );
        let text_line = report.text.lines().find(|l| l.contains("onerror")).unwrap();
        assert!(
            text_line.contains("result: line one\\nline two"),
            "{text_line}"
        );
    }

    #[test]
    fn a_dry_run_says_so_and_what_it_would_do() {
        let mut s = summary();
        s.dry_run = true;
        s.not_attempted.clear();
        s.regions = vec![region(
            Service::GuardDuty,
            "us-east-1",
            vec![AccountOutcome {
                account_id: "222222222222".into(),
                account_name: None,
                outcome: Outcome::WouldDo {
                    plan: Plan::Create,
                    status: None,
                    accept: false,
                },
            }],
        )];
        let report = render(&s);
        assert!(
            report
                .subject
                .starts_with("[dry run] GuardDuty onboarding: 1 to do")
        );
        assert!(report.subject.ends_with("nothing was changed"));
        assert!(report.text.contains(
            "WOULD account=222222222222 region=us-east-1 service=guardduty plan=create | result: not a member: would create it"
        ));
    }

    #[test]
    fn a_run_with_nothing_to_do_says_so() {
        let mut s = summary();
        s.not_attempted.clear();
        s.regions = vec![region(
            Service::GuardDuty,
            "us-east-1",
            vec![AccountOutcome {
                account_id: "222222222222".into(),
                account_name: None,
                outcome: Outcome::AlreadyMember {
                    status: "Enabled".into(),
                },
            }],
        )];
        assert!(
            render(&s)
                .text
                .contains("Nothing to do: every account is already a member")
        );
        assert!(!render(&summary()).text.contains("Nothing to do"));
    }

    #[test]
    fn each_service_gives_its_own_words() {
        for status in [
            "EmailVerificationFailed",
            "Resigned",
            "Removed",
            "Invited",
            "Disabled",
        ] {
            assert!(
                Service::GuardDuty.status_action(status).is_some(),
                "{status}"
            );
        }
        assert!(Service::GuardDuty.status_action("Enabled").is_none());
        let sh = Service::SecurityHub
            .status_action("Invited")
            .expect("an action");
        assert!(sh.contains("Security Hub console"), "{sh}");
        assert!(Service::GuardDuty.result_action(Step::Create, "The request is rejected because the given account ID is already a member or associated member of the current account.").is_some());
        assert!(
            Service::SecurityHub
                .result_action(Step::Check, "GetMembers failed: InvalidAccessException: Account 999999999999 is not subscribed to AWS Security Hub")
                .is_some_and(|a| a.contains("ENABLE_SECURITY_HUB"))
        );
        assert!(
            Service::GuardDuty
                .result_action(Step::Create, "something new the service says")
                .is_none()
        );
    }
}

//! The report: a pure rendering of a run's [`Summary`] as a subject, a text part and an HTML part.
//!
//! Every account's entry stays on one line (one table row in HTML), so people can grep it and
//! mail filters can match it. Every value is HTML-escaped in the HTML part, and control
//! characters are escaped in both parts.

use std::fmt::Write;

use crate::event::printable;
use crate::outcome::{AccountOutcome, Outcome, Step, Summary};

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Results the service returns, by a phrase they contain, and what to do about each.
const RESULT_ACTIONS: &[(&str, &str)] = &[
    (
        "already a member or associated member",
        "The account is already a member of this administrator; see its status in the GuardDuty console (Settings > Accounts). A member left at Created is invited on the next run.",
    ),
    (
        "already invited or is already the GuardDuty master",
        "An invitation is pending or was accepted; nothing to do unless the member stays at Invited, then ask the account owner to accept it.",
    ),
    (
        "cannot become a member of itself",
        "This is the administrator account itself; nothing to do.",
    ),
    (
        "cannot invite itself",
        "This is the administrator account itself; nothing to do.",
    ),
    (
        "is not an associated member",
        "CreateMembers did not create this member; invoke the function again for this account.",
    ),
    (
        "detectorId is not owned",
        "Fix GUARDDUTY_DETECTOR_ID for this region, or unset it to discover the detector.",
    ),
    (
        "Max allowed length",
        "A call carried too many accounts; please report this as a bug.",
    ),
    (
        "no GuardDuty detector",
        "Enable GuardDuty in this region of the administrator account, or remove the region from REGIONS.",
    ),
    (
        "AccountNotFoundException",
        "Check the account id: it must be an account of this organisation.",
    ),
    (
        "AWSOrganizationsNotInUseException",
        "The function's account must belong to the organisation, as its management account or a delegated administrator.",
    ),
    (
        "AccessDenied",
        "Grant the function's role the permission named in the message; to read emails from Organizations the function's account must be the management account or a delegated administrator.",
    ),
    (
        "Throttling",
        "Still throttled after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "TooManyRequests",
        "Still throttled after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "InternalServerError",
        "The service failed after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "dispatch failure",
        "The service could not be reached; check the network path (VPC endpoints, NAT) and invoke the function again.",
    ),
    (
        "timed out",
        "The service did not answer in time; invoke the function again for these accounts later.",
    ),
    (
        "no usable email",
        "Invoke the function manually with the account's email: {\"accounts\":[{\"accountId\":\"...\",\"email\":\"...\"}]}.",
    ),
];

/// Relationship statuses that need someone to act, and what to do.
const STATUS_ACTIONS: &[(&str, &str)] = &[
    (
        "Invited",
        "Invitation pending: ask the account owner to accept it in the GuardDuty console.",
    ),
    (
        "EmailVerificationInProgress",
        "GuardDuty is verifying the member's email; check again later.",
    ),
    (
        "EmailVerificationFailed",
        "The invitation email could not be verified: check the account's email, then remove the member and invoke the function again.",
    ),
    (
        "Disabled",
        "The member is disabled and not monitored: re-enable it in the GuardDuty console (Settings > Accounts).",
    ),
    (
        "Removed",
        "The member was disassociated and is not monitored: re-add it deliberately in the GuardDuty console (an organisation account with Add member, an invited one with Invite).",
    ),
    (
        "Resigned",
        "The member resigned and is not monitored: ask the account owner why, then re-invite it deliberately in the GuardDuty console.",
    ),
];

/// What to do about a status that needs action but that this version does not know.
const UNKNOWN_STATUS_ACTION: &str = "The member is not monitored in this status: look it up in the GuardDuty console (Settings > Accounts) and act on it.";

/// What to do about an unprocessed result, where the result is a known one.
pub fn result_action(step: Step, result: &str) -> Option<&'static str> {
    if step == Step::Validate {
        return Some("Correct the event's entry and invoke the function again.");
    }
    RESULT_ACTIONS
        .iter()
        .find(|(phrase, _)| result.contains(phrase))
        .map(|(_, action)| *action)
}

/// What to do about a member's relationship status, where something is to be done.
pub fn status_action(status: &str) -> Option<&'static str> {
    STATUS_ACTIONS
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(status))
        .map(|(_, action)| *action)
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

fn row(outcome: &Outcome) -> Row<'_> {
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
            action: Some(status_action(status).unwrap_or(UNKNOWN_STATUS_ACTION)),
        },
        Outcome::Unprocessed { step, result } => Row {
            label: "UNPROCESSED",
            detail: format!("step={}", step.as_str()),
            result: Some(result),
            action: result_action(*step, result),
        },
    }
}

fn text_line(out: &mut String, region: &str, account: &AccountOutcome) {
    let r = row(&account.outcome);
    let _ = write!(
        out,
        "{} account={} region={}",
        r.label,
        one_line(&account.account_id),
        region
    );
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

fn html_row(out: &mut String, region: &str, account: &AccountOutcome) {
    let r = row(&account.outcome);
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&account.account_id),
        escape(region),
        r.label,
        escape(&r.detail),
        escape(r.result.unwrap_or("")),
        escape(r.action.unwrap_or("")),
        escape(account.account_name.as_deref().unwrap_or("")),
    );
}

/// The subject: the counts at a glance.
pub fn subject(summary: &Summary) -> String {
    let c = summary.counts();
    format!(
        "GuardDuty onboarding: {} invited, {} enabled through the organisation, {} already member{}, {} need{} action, {} unprocessed ({} account{}, {} region{})",
        c.invited,
        c.enabled_by_organization,
        c.already_member,
        if c.already_member == 1 { "" } else { "s" },
        c.needs_action,
        if c.needs_action == 1 { "s" } else { "" },
        c.unprocessed,
        c.accounts,
        if c.accounts == 1 { "" } else { "s" },
        c.regions,
        if c.regions == 1 { "" } else { "s" },
    )
}

/// One titled section: a line per account in the text, a row per account in the HTML table.
fn section(
    text: &mut String,
    html: &mut String,
    title: &str,
    region: &str,
    rows: &[AccountOutcome],
) {
    let _ = writeln!(text, "== {} ==", one_line(title));
    let _ = writeln!(
        html,
        "<h3>{}</h3>\n<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr><th>Account</th><th>Region</th><th>Outcome</th><th>Status or step</th><th>Result</th><th>Suggested action</th><th>Account name</th></tr>",
        escape(title)
    );
    for account in rows {
        text_line(text, region, account);
        html_row(html, region, account);
    }
    if rows.is_empty() {
        text.push_str("(no accounts)\n");
        html.push_str("<tr><td colspan=\"7\">(no accounts)</td></tr>\n");
    }
    text.push('\n');
    html.push_str("</table>\n");
}

/// Renders the report.
pub fn render(summary: &Summary) -> Report {
    let subject = subject(summary);
    let event_id = summary.event_id.as_deref().unwrap_or("none");
    let mut text = String::new();
    let _ = writeln!(text, "{subject}");
    let _ = writeln!(
        text,
        "Trigger: {} (event id {})",
        one_line(&summary.trigger),
        one_line(event_id)
    );
    let _ = writeln!(
        text,
        "One line per account and region. Outcomes: INVITED, ENABLED (associated through the organisation, no invitation needed), MEMBER (already a member, monitored or invited, with its status), NEEDS_ACTION (a member that is not monitored, with its status and what to do), UNPROCESSED (with the step, GuardDuty's result verbatim, and a suggested action).\n"
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
    if !summary.not_attempted.is_empty() {
        section(
            &mut text,
            &mut html,
            "Before any region",
            "all",
            &summary.not_attempted,
        );
    }
    for region in &summary.regions {
        let detector = match (&region.detector_id, region.accounts.is_empty()) {
            (Some(id), _) => id.as_str(),
            (None, true) => "not looked up",
            (None, false) => "not found",
        };
        let title = format!("{} (detector {detector})", region.region);
        section(
            &mut text,
            &mut html,
            &title,
            &region.region,
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
    use crate::outcome::RegionOutcome;

    const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";

    fn summary() -> Summary {
        Summary {
            trigger: "Control Tower CreateManagedAccount".into(),
            event_id: Some("999cccaa".into()),
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
                RegionOutcome {
                    region: "us-east-1".into(),
                    detector_id: Some("det1".into()),
                    administration: None,
                    accounts: vec![
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
                },
                RegionOutcome {
                    region: "eu-west-1".into(),
                    detector_id: None,
                    administration: None,
                    accounts: vec![AccountOutcome::unprocessed(
                        "222222222222",
                        Step::Detector,
                        "there is no GuardDuty detector in eu-west-1: enable GuardDuty",
                    )],
                },
            ],
        }
    }

    #[test]
    fn the_subject_gives_the_counts() {
        assert_eq!(
            subject(&summary()),
            "GuardDuty onboarding: 1 invited, 0 enabled through the organisation, 1 already member, 0 need action, 4 unprocessed (3 accounts, 2 regions)"
        );
    }

    #[test]
    fn every_account_is_one_line_with_its_region_outcome_and_verbatim_result() {
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
                "INVITED account=222222222222 region=us-east-1",
                "UNPROCESSED account=222222222222 region=eu-west-1 step=detector | result: there is no GuardDuty detector in eu-west-1: enable GuardDuty | action: Enable GuardDuty in this region of the administrator account, or remove the region from REGIONS.",
            ]
        );
        assert_eq!(
            find("account=333333333333"),
            vec!["MEMBER account=333333333333 region=us-east-1 status=Enabled | name: prod <b>"]
        );
        let invite = find("account=444444444444");
        assert_eq!(invite.len(), 1);
        assert!(invite[0].starts_with(
            "UNPROCESSED account=444444444444 region=us-east-1 step=invite | result: "
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
            "<td>444444444444</td><td>us-east-1</td><td>UNPROCESSED</td><td>step=invite</td>"
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
    fn member_statuses_that_need_action_say_so() {
        for status in [
            "EmailVerificationFailed",
            "Resigned",
            "Removed",
            "Invited",
            "Disabled",
        ] {
            assert!(status_action(status).is_some(), "{status}");
        }
        assert!(status_action("Enabled").is_none());
    }

    #[test]
    fn known_results_have_actions_and_unknown_ones_do_not() {
        assert!(result_action(Step::Create, "The request is rejected because the given account ID is already a member or associated member of the current account.").is_some());
        assert!(
            result_action(
                Step::Invite,
                "The request is rejected because the current account cannot invite itself."
            )
            .is_some()
        );
        assert!(
            result_action(
                Step::Check,
                "GetMembers failed: ThrottlingException: Rate exceeded"
            )
            .is_some()
        );
        assert!(result_action(Step::Create, "something new the service says").is_none());
    }
}

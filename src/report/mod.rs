//! The report: a pure rendering of a run's [`Summary`] as a subject, a text part, an HTML part
//! and, when the body cannot hold every row, the complete table as a CSV attachment.
//!
//! A security engineer opens it to learn, in this order: is anything wrong, what do I do about
//! it, and is every account covered. So it opens with the counts, then [`attention`] (what needs
//! a person, grouped by what to do), then [`glance`] (every account, one row each, one column
//! per service and region). Each part has a byte budget, so the email stays small at any size;
//! what a budget leaves out is counted and travels in the [`csv`] attachment. Every value is
//! HTML-escaped and kept on one line ([`markup`]); HTML uses inline styles only, which common
//! mail clients render. It knows no service's phrases: each row's action comes from its service.

pub mod attention;
pub mod csv;
pub mod glance;
pub mod markup;
pub mod rows;

use std::fmt::Write;

use crate::outcome::Service;
use crate::outcome::{Counts, Summary};
use markup::escape;
use rows::Table;

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every row, when the body could not list them all.
    pub attachment: Option<Attachment>,
}

/// A file sent with the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
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
    // What every subject ends with: members, those needing action, the unprocessed, skips.
    let rest = format!(
        "{} already member{}, {} need{} action, {} unprocessed{} {scope}",
        c.already_member,
        plural(c.already_member, "", "s"),
        c.needs_action,
        plural(c.needs_action, "s", ""),
        c.unprocessed,
        departed_and_skipped(&c),
    );
    if summary.dry_run {
        return format!(
            "[dry run] {services}: {} to do, {rest}; nothing was changed",
            c.would_do
        );
    }
    let accepted = if c.accepted > 0 {
        format!(", {} accepted in the member account", c.accepted)
    } else {
        String::new()
    };
    format!(
        "{services}: {} invited, {} enabled through the organisation{accepted}, {rest}",
        c.invited, c.enabled_by_organization,
    )
}

/// The subject's end: departed members and those removed, and service-regions skipped, each only
/// when there are some.
fn departed_and_skipped(c: &Counts) -> String {
    let mut more = String::new();
    if c.departed > 0 {
        more.push_str(&format!(
            ", {} member{} the organisation no longer backs",
            c.departed,
            plural(c.departed, "", "s")
        ));
    }
    if c.removed > 0 {
        more.push_str(&format!(
            ", {} departed member{} removed",
            c.removed,
            plural(c.removed, "", "s")
        ));
    }
    if c.regions_unusable == 0 {
        more
    } else {
        more + &format!(
            ", {} service-region{} skipped",
            c.regions_unusable,
            plural(c.regions_unusable, "", "s")
        )
    }
}

/// The counts, in words, for the top of the body.
fn counts_line(c: &Counts, dry_run: bool) -> String {
    let mut parts = Vec::new();
    if dry_run {
        parts.push(format!("{} to do", c.would_do));
    } else {
        parts.push(format!("{} invited", c.invited));
        parts.push(format!(
            "{} enabled through the organisation",
            c.enabled_by_organization
        ));
        if c.accepted > 0 {
            parts.push(format!("{} accepted in the member account", c.accepted));
        }
    }
    parts.push(format!(
        "{} already member{}",
        c.already_member,
        plural(c.already_member, "", "s")
    ));
    parts.push(format!(
        "{} need{} action",
        c.needs_action,
        plural(c.needs_action, "s", "")
    ));
    parts.push(format!("{} not processed", c.unprocessed));
    if c.departed > 0 {
        parts.push(format!(
            "{} member{} the organisation no longer backs",
            c.departed,
            plural(c.departed, "", "s")
        ));
    }
    if c.removed > 0 {
        parts.push(format!(
            "{} departed member{} removed",
            c.removed,
            plural(c.removed, "", "s")
        ));
    }
    if c.regions_unusable > 0 {
        parts.push(format!(
            "{} service-region{} skipped",
            c.regions_unusable,
            plural(c.regions_unusable, "", "s")
        ));
    }
    format!(
        "{} account{} in {} region{}: {}.",
        c.accounts,
        plural(c.accounts, "", "s"),
        c.regions,
        plural(c.regions, "", "s"),
        parts.join(", ")
    )
}

/// Lines about what was left alone: regions not enabled, accounts not active.
fn notes(summary: &Summary) -> Vec<String> {
    let mut notes = Vec::new();
    if summary.dry_run {
        notes.push("Dry run: only reads were made. The WOULD rows and ? cells say what a real run would do, and why.".to_owned());
    }
    if !summary.regions_not_enabled.is_empty() {
        let list: Vec<String> = summary
            .regions_not_enabled
            .iter()
            .map(|r| format!("{} ({})", r.region, r.status))
            .collect();
        notes.push(format!(
            "Regions not enabled for this account, skipped: {}.",
            list.join(", ")
        ));
    }
    let switched_on = summary.regions.iter().flat_map(|r| &r.accounts).any(|a| {
        matches!(
            a.outcome,
            crate::outcome::Outcome::Accepted { switched_on: true }
        )
    });
    if let (true, Some(settings)) = (switched_on, &summary.member_settings) {
        notes.push(format!(
            "Switched on in member accounts that had the service off (rows \"via member-role, switched on there\"): {settings}."
        ));
    }
    notes.extend(auto_enable_notes(summary));
    if !summary.inactive.is_empty() {
        let list: Vec<String> = summary
            .inactive
            .iter()
            .map(|a| format!("{} ({})", a.account_id, a.state))
            .collect();
        notes.push(format!(
            "Left alone, not ACTIVE in Organizations: {}.",
            list.join(", ")
        ));
    }
    notes
}

/// One line per service and organisation auto-enable setting a person should know of (see
/// [`crate::service::auto_enable_note`]), naming its regions once each, in the run's order.
fn auto_enable_notes(summary: &Summary) -> Vec<String> {
    // A note is its service's words for its setting: the same note is the same group.
    let mut groups: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for region in &summary.regions {
        let Some(note) = region
            .auto_enable
            .and_then(|setting| crate::service::auto_enable_note(region.service, setting))
        else {
            continue;
        };
        match groups.iter_mut().find(|(n, _)| *n == note) {
            Some((_, regions)) => regions.push(&region.region),
            None => groups.push((note, vec![&region.region])),
        }
    }
    groups
        .into_iter()
        .map(|(note, regions)| format!("In {}: {note}", regions.join(", ")))
        .collect()
}

/// Renders the report.
pub fn render(summary: &Summary) -> Report {
    let subject = subject(summary);
    let counts = summary.counts();
    let table = Table::new(summary);
    let attention = attention::render(&table);
    let plans = attention::plans(&table);
    let glance = glance::render(&table);
    let notes = notes(summary);
    let event_id = summary.event_id.as_deref().unwrap_or("none");
    let trigger = format!(
        "Trigger: {} (event id {})",
        markup::one_line(&summary.trigger),
        markup::one_line(event_id)
    );
    let cut =
        attention.text_omitted + attention.html_omitted + glance.unlisted + glance.omitted > 0;
    let attachment = cut.then(|| csv::attachment(&table));

    let mut text = String::new();
    let _ = writeln!(text, "{subject}");
    let _ = writeln!(text, "{}", counts_line(&counts, summary.dry_run));
    let _ = writeln!(text, "{trigger}");
    for note in &notes {
        let _ = writeln!(text, "{note}");
    }
    if let Some(file) = &attachment {
        let _ = writeln!(text, "Every row is in the attached {}.", file.file_name);
    }
    text.push('\n');
    text.push_str(&attention.text);
    text.push_str(&plans.text);
    text.push_str(&glance.text);

    let mut html = String::new();
    let _ = writeln!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;color:#212121;margin:12px\">",
        escape(&subject)
    );
    let _ = writeln!(
        html,
        "<h1 style=\"font-size:20px;margin:0 0 6px 0\">{}</h1>\n<p style=\"font-size:14px;margin:2px 0\">{}</p>\n<p style=\"font-size:12px;color:#555;margin:2px 0\">{}</p>",
        escape(&subject),
        escape(&counts_line(&counts, summary.dry_run)),
        escape(&trigger)
    );
    for note in &notes {
        let _ = writeln!(
            html,
            "<p style=\"font-size:13px;margin:2px 0\">{}</p>",
            escape(note)
        );
    }
    if let Some(file) = &attachment {
        let _ = writeln!(
            html,
            "<p style=\"font-size:13px;margin:2px 0\">Every row is in the attached <strong>{}</strong>.</p>",
            escape(&file.file_name)
        );
    }
    html.push_str(&attention.html);
    html.push_str(&plans.html);
    html.push_str(&glance.html);
    html.push_str("</body></html>\n");
    Report {
        subject,
        text,
        html,
        attachment,
    }
}

#[cfg(test)]
mod tests;

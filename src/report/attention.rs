//! The report's first section: everything that needs a person, grouped by what to do.
//!
//! Service-regions that could not be used come first, once each. Then every row that needs
//! attention, grouped by its suggested action, the largest group first. The text part keeps one
//! line per account, service and region, with the step and the result verbatim, so that mail
//! filters and `grep` work; the HTML part merges an account's rows that differ only by region.
//! Both stop at a byte budget, saying how many rows were left out: the CSV attachment has them.
//! A dry run's plans are a section of the same shape, grouped by what would be done and why.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use super::markup::{escape, one_line};
use super::rows::{Kind, Row, Table};
use crate::outcome::{Outcome, RegionOutcome};
use crate::service;

/// The most bytes of attention lines in the text part, and of rows in the HTML part.
pub const TEXT_BUDGET: usize = 60_000;
pub const HTML_BUDGET: usize = 80_000;

/// What the group of rows with no known action is told.
const NO_ACTION: &str = "No suggested action for this result: read the service's words";

/// The section, rendered.
#[derive(Debug, Default)]
pub struct Attention {
    pub text: String,
    pub html: String,
    /// Rows that need attention (account-service-regions), and service-regions unusable.
    pub rows: usize,
    pub regions: usize,
    /// Rows left out of the text part, and of the HTML part, for their budgets.
    pub text_omitted: usize,
    pub html_omitted: usize,
}

/// Styles: the table's cells are spaced by `cellpadding`, so a row carries almost none.
const TABLE: &str = "font-size:13px;margin:4px 0 12px 0";
const TH: &str = "text-align:left;border-bottom:2px solid #999";
const TD: &str = "vertical-align:top";

/// A row of the HTML table: one account, service, step or status and result, in one or more
/// regions.
struct Merged<'a> {
    first: Row<'a>,
    regions: Vec<&'a str>,
}

/// Rows with the same key: the action to take, or what a dry run would do.
struct Group<'a> {
    key: Option<&'static str>,
    rows: Vec<Row<'a>>,
}

pub fn render(table: &Table<'_>) -> Attention {
    let summary = table.summary;
    let mut out = Attention::default();
    let unusable: Vec<&RegionOutcome> = summary
        .regions
        .iter()
        .filter(|r| r.problem.is_some())
        .collect();
    let groups = groups(table, |r| r.outcome().needs_attention(), Row::action);
    out.regions = unusable.len();
    out.rows = groups.iter().map(|g| g.rows.len()).sum();
    if out.rows == 0 && out.regions == 0 {
        let line = if summary.dry_run {
            "Nothing needs your action: every account could be read. Nothing was changed."
        } else {
            "Nothing needs your action: every account was processed and every member is monitored or invited."
        };
        let _ = writeln!(out.text, "{line}\n");
        let _ = writeln!(
            out.html,
            "<p id=\"attention\" style=\"font-size:15px;color:#1b5e20;margin:12px 0\"><strong>{line}</strong></p>"
        );
        return out;
    }
    let title = format!(
        "Needs your action: {} row{}{}",
        out.rows,
        if out.rows == 1 { "" } else { "s" },
        if out.regions > 0 {
            format!(
                ", {} service-region{} skipped",
                out.regions,
                if out.regions == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(out.text, "== {title} ==");
    let _ = writeln!(
        out.html,
        "<h2 id=\"attention\" style=\"font-size:18px;color:#b71c1c;margin:16px 0 4px 0\">{}</h2>",
        escape(&title)
    );
    if !unusable.is_empty() {
        regions_skipped(&mut out, &unusable);
    }
    write_groups(&mut out, &groups, "What to do: ", "need action");
    out
}

/// A dry run's section: what a real run would do, grouped by what and why.
pub fn plans(table: &Table<'_>) -> Attention {
    let mut out = Attention::default();
    let groups = groups(table, |r| r.kind() == Kind::WouldDo, plan_of);
    out.rows = groups.iter().map(|g| g.rows.len()).sum();
    if out.rows == 0 {
        return out;
    }
    let title = format!(
        "What a real run would do: {} row{}",
        out.rows,
        if out.rows == 1 { "" } else { "s" }
    );
    let _ = writeln!(out.text, "== {title} ==");
    let _ = writeln!(
        out.html,
        "<h2 id=\"plans\" style=\"font-size:18px;color:#4a148c;margin:16px 0 4px 0\">{}</h2>",
        escape(&title)
    );
    write_groups(&mut out, &groups, "", "would be done");
    out
}

/// What a dry run's row would do, and why.
fn plan_of(row: &Row<'_>) -> Option<&'static str> {
    match row.outcome() {
        Outcome::WouldDo { plan, accept, .. } => Some(plan.explain(*accept)),
        _ => None,
    }
}

/// Writes each group: a heading, one text line per row and an HTML table merging regions, each
/// within its budget; then how many rows the budgets left out.
fn write_groups(out: &mut Attention, groups: &[Group<'_>], prefix: &str, what: &str) {
    let mut text_used = 0;
    let mut html_used = 0;
    for group in groups {
        let heading = group.key.unwrap_or(NO_ACTION);
        let n = group.rows.len();
        let _ = writeln!(out.text, "-- {prefix}{heading} ({n}) --");
        for row in &group.rows {
            let line = text_line(row);
            if text_used + line.len() > TEXT_BUDGET {
                out.text_omitted += 1;
                continue;
            }
            text_used += line.len();
            out.text.push_str(&line);
        }
        let _ = writeln!(
            out.html,
            "<h3 style=\"font-size:15px;margin:12px 0 2px 0\">{}{} <span style=\"color:#666;font-weight:normal\">({n} row{})</span></h3>\n<table cellpadding=\"3\" cellspacing=\"0\" style=\"{TABLE}\"><tr><th style=\"{TH}\">Account</th><th style=\"{TH}\">Name</th><th style=\"{TH}\">Service</th><th style=\"{TH}\">Region</th><th style=\"{TH}\">Step or status</th><th style=\"{TH}\">Result, verbatim</th></tr>",
            escape(prefix),
            escape(heading),
            if n == 1 { "" } else { "s" }
        );
        for merged in merge(&group.rows) {
            let html = html_row(&merged);
            if html_used + html.len() > HTML_BUDGET {
                out.html_omitted += merged.regions.len();
                continue;
            }
            html_used += html.len();
            out.html.push_str(&html);
        }
        out.html.push_str("</table>\n");
    }
    if out.text_omitted > 0 {
        let _ = writeln!(
            out.text,
            "... and {} more row{} that {what}, left out to keep this email small: every row is in the attached CSV.",
            out.text_omitted,
            if out.text_omitted == 1 { "" } else { "s" },
        );
    }
    if out.html_omitted > 0 {
        let _ = writeln!(
            out.html,
            "<p><strong>... and {} more row{} that {what}</strong>, left out to keep this email small: every row is in the attached CSV.</p>",
            out.html_omitted,
            if out.html_omitted == 1 { "" } else { "s" },
        );
    }
    out.text.push('\n');
}

/// The rows `pick` picks, grouped by `key`, the largest group first (ties in order of first
/// appearance).
fn groups<'a>(
    table: &Table<'a>,
    pick: impl Fn(&Row<'a>) -> bool,
    key: impl Fn(&Row<'a>) -> Option<&'static str>,
) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut index: HashMap<Option<&'static str>, usize> = HashMap::new();
    for row in table.iter().filter(|r| pick(r)) {
        let key = key(&row);
        let i = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                key,
                rows: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].rows.push(row);
    }
    // Stable: equal sizes keep their order.
    groups.sort_by_key(|g| std::cmp::Reverse(g.rows.len()));
    groups
}

/// What makes rows the same but for their region: account, service, step or status, result,
/// outcome.
type SameButRegion<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<Cow<'a, str>>,
    &'a str,
);

/// An account's rows that differ only by region, as one.
fn merge<'a>(rows: &[Row<'a>]) -> Vec<Merged<'a>> {
    let mut merged: Vec<Merged<'a>> = Vec::new();
    let mut index: HashMap<SameButRegion<'a>, usize> = HashMap::new();
    for row in rows {
        let key = (
            row.account.account_id.as_str(),
            row.service().map(|s| s.as_str()),
            row.step().or(row.status()),
            row.result(),
            row.label(),
        );
        match index.get(&key) {
            Some(&i) => merged[i].regions.push(row.region()),
            None => {
                index.insert(key, merged.len());
                merged.push(Merged {
                    first: *row,
                    regions: vec![row.region()],
                });
            }
        }
    }
    merged
}

/// One line, for grep and mail filters: the fixed fields first, the account's name last.
pub fn text_line(row: &Row<'_>) -> String {
    let mut line = format!(
        "{} account={} region={}",
        row.label(),
        one_line(&row.account.account_id),
        row.region()
    );
    if let Some(service) = row.service() {
        let _ = write!(line, " service={}", service.as_str());
    }
    if let Some(status) = row.status() {
        let _ = write!(line, " status={}", one_line(status));
    }
    if let Some(step) = row.step() {
        let _ = write!(line, " step={step}");
    }
    if let Some(result) = row.result() {
        let _ = write!(line, " | result: {}", one_line(&result));
    }
    if let Some(name) = &row.account.account_name {
        let _ = write!(line, " | name: {}", one_line(name));
    }
    line.push('\n');
    line
}

fn html_row(merged: &Merged<'_>) -> String {
    let row = &merged.first;
    let (background, _) = row.kind().colours();
    let detail = match (row.step(), row.status()) {
        (Some(step), _) => format!("step {step}"),
        (None, Some(status)) => format!("status {status}"),
        (None, None) => String::new(),
    };
    format!(
        "<tr style=\"{TD}\"><td style=\"font-family:monospace;background:{background}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(&row.account.account_id),
        escape(row.account.account_name.as_deref().unwrap_or("")),
        row.service().map_or("", |s| s.name()),
        escape(&merged.regions.join(", ")),
        escape(&detail),
        escape(&row.result().unwrap_or_default()),
    )
}

/// Service-regions that could not be used: one line each, whatever the number of accounts.
fn regions_skipped(out: &mut Attention, unusable: &[&RegionOutcome]) {
    let _ = writeln!(
        out.html,
        "<h3 style=\"font-size:15px;margin:12px 0 2px 0\">Service-regions skipped</h3>\n<table cellpadding=\"3\" cellspacing=\"0\" style=\"{TABLE}\"><tr><th style=\"{TH}\">Service</th><th style=\"{TH}\">Region</th><th style=\"{TH}\">Accounts left out</th><th style=\"{TH}\">Step</th><th style=\"{TH}\">Result, verbatim</th><th style=\"{TH}\">What to do</th></tr>"
    );
    for region in unusable {
        let Some(problem) = &region.problem else {
            continue;
        };
        let action = service::result_action(region.service, problem.step, &problem.reason);
        let _ = write!(
            out.text,
            "REGION_SKIPPED region={} service={} step={} accounts={} | result: {}",
            region.region,
            region.service.as_str(),
            problem.step.as_str(),
            problem.accounts,
            one_line(&problem.reason.text())
        );
        if let Some(action) = action {
            let _ = write!(out.text, " | action: {action}");
        }
        out.text.push('\n');
        let (background, _) = Kind::Skipped.colours();
        let _ = writeln!(
            out.html,
            "<tr><td style=\"{TD};background:{background}\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD}\">{}</td><td style=\"{TD}\">{}</td></tr>",
            region.service.name(),
            escape(&region.region),
            problem.accounts,
            problem.step.as_str(),
            escape(&problem.reason.text()),
            escape(action.unwrap_or("")),
        );
    }
    out.html.push_str("</table>\n");
}

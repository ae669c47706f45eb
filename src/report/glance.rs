//! The report's second section: every account at a glance. One row per account, one column per
//! service and region, each cell the outcome as a symbol that reads in plain text and, in HTML, a
//! colour, with a legend. An account whose every cell is the same is one short row.
//!
//! Past [`LIST_ALL_UP_TO`] accounts only the accounts with something not done are listed, and
//! the rest are counted; the CSV attachment has every row.

use std::collections::HashMap;
use std::fmt::Write;

use super::markup::{escape, one_line, short};
use super::rows::{Kind, Table};
use crate::outcome::Service;

/// Up to this many accounts, every account is listed.
pub const LIST_ALL_UP_TO: usize = 200;
/// The most bytes of account rows in the text part, and in the HTML part.
pub const TEXT_BUDGET: usize = 30_000;
pub const HTML_BUDGET: usize = 60_000;

/// How much of an account's name a glance row shows.
const NAME_CHARS: usize = 32;

#[derive(Debug, Default)]
pub struct Glance {
    pub text: String,
    pub html: String,
    /// Accounts listed.
    pub listed: usize,
    /// Accounts done everywhere and not listed, past [`LIST_ALL_UP_TO`].
    pub unlisted: usize,
    /// Accounts left out for the byte budget.
    pub omitted: usize,
}

/// One account's cells.
struct Line<'a> {
    id: &'a str,
    name: Option<&'a str>,
    /// Stopped before any region: the step.
    before: Option<&'static str>,
    cells: Vec<Option<Kind>>,
}

impl Line<'_> {
    fn done(&self) -> bool {
        self.before.is_none() && self.cells.iter().all(|c| c.is_some_and(Kind::is_done))
    }

    /// The one kind of every cell, when they are all the same.
    fn uniform(&self) -> Option<Kind> {
        let first = self.cells.first().copied().flatten()?;
        self.cells
            .iter()
            .all(|c| *c == Some(first))
            .then_some(first)
    }
}

/// A cell's style beside its colours: short, since a large report has many cells.
const CELL: &str = "text-align:center;font-family:monospace";

pub fn render(table: &Table<'_>) -> Glance {
    let summary = table.summary;
    let columns: Vec<String> = summary
        .regions
        .iter()
        .map(|r| format!("{} {}", r.service.name(), r.region))
        .collect();
    let lines = lines(table);
    let mut out = Glance::default();
    let list_all = lines.len() <= LIST_ALL_UP_TO;

    let _ = writeln!(out.text, "== Every account at a glance ==");
    let legend: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{} {}", k.symbol(), k.meaning()))
        .collect();
    let _ = writeln!(out.text, "Legend: {}", legend.join(", "));
    let numbered: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}={c}", i + 1))
        .collect();
    let _ = writeln!(out.text, "Columns: {}", numbered.join(", "));

    let _ = writeln!(
        out.html,
        "<h2 id=\"glance\" style=\"font-size:18px;margin:20px 0 4px 0\">Every account at a glance</h2>"
    );
    out.html
        .push_str("<p style=\"font-size:12px;margin:2px 0 6px 0\">");
    for kind in Kind::ALL {
        let (background, colour) = kind.colours();
        let _ = write!(
            out.html,
            "<span style=\"{CELL};background:{background};color:{colour}\">{}</span> {} &nbsp; ",
            kind.symbol(),
            kind.meaning()
        );
    }
    out.html.push_str("</p>\n<table cellpadding=\"2\" cellspacing=\"1\" style=\"font-size:12px\"><tr><th style=\"text-align:left;padding:2px 8px\">Account</th><th style=\"text-align:left;padding:2px 8px\">Name</th>");
    for column in &columns {
        let _ = write!(
            out.html,
            "<th style=\"padding:2px 4px;font-weight:normal;font-size:11px\">{}</th>",
            escape(column)
        );
    }
    out.html.push_str("</tr>\n");

    let mut text_used = 0;
    let mut html_used = 0;
    for line in &lines {
        if !list_all && line.done() {
            out.unlisted += 1;
            continue;
        }
        let (text, html) = (text_row(line), html_row(line, columns.len()));
        if text_used + text.len() > TEXT_BUDGET || html_used + html.len() > HTML_BUDGET {
            out.omitted += 1;
            continue;
        }
        text_used += text.len();
        html_used += html.len();
        out.text.push_str(&text);
        out.html.push_str(&html);
        out.listed += 1;
    }
    if lines.is_empty() {
        out.text.push_str("(no accounts)\n");
        let _ = writeln!(
            out.html,
            "<tr><td colspan=\"{}\">(no accounts)</td></tr>",
            columns.len() + 2
        );
    }
    out.html.push_str("</table>\n");
    let mut notes = Vec::new();
    if out.unlisted > 0 {
        notes.push(format!(
            "{} more account{} enabled or invited everywhere {} not listed.",
            out.unlisted,
            if out.unlisted == 1 { "" } else { "s" },
            if out.unlisted == 1 { "is" } else { "are" }
        ));
    }
    if out.omitted > 0 {
        notes.push(format!(
            "{} more account{} with something not done {} left out to keep this email small.",
            out.omitted,
            if out.omitted == 1 { "" } else { "s" },
            if out.omitted == 1 { "is" } else { "are" }
        ));
    }
    if !notes.is_empty() {
        notes.push("Every row is in the attached CSV.".to_owned());
        let note = notes.join(" ");
        let _ = writeln!(out.text, "{note}");
        let _ = writeln!(
            out.html,
            "<p style=\"font-size:13px\">{}</p>",
            escape(&note)
        );
    }
    out.text.push('\n');
    out
}

/// Every account, in the order it first appears, with its cell in each column.
fn lines<'a>(table: &Table<'a>) -> Vec<Line<'a>> {
    let summary = table.summary;
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let columns: HashMap<(Option<Service>, &str), usize> = summary
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| ((Some(r.service), r.region.as_str()), i))
        .collect();
    let width = summary.regions.len();
    for row in table.iter() {
        let id = row.account.account_id.as_str();
        let i = *index.entry(id).or_insert_with(|| {
            lines.push(Line {
                id,
                name: row.account.account_name.as_deref(),
                before: None,
                cells: vec![None; width],
            });
            lines.len() - 1
        });
        let line = &mut lines[i];
        if line.name.is_none() {
            line.name = row.account.account_name.as_deref();
        }
        match columns.get(&(row.service(), row.region())) {
            Some(&c) => line.cells[c] = Some(row.kind()),
            None => line.before = row.step().or(Some("validate")),
        }
    }
    // A service-region that could not be used left every account out there.
    for (c, region) in summary.regions.iter().enumerate() {
        if region.problem.is_some() {
            for line in lines.iter_mut().filter(|l| l.before.is_none()) {
                line.cells[c] = Some(Kind::Skipped);
            }
        }
    }
    lines
}

fn text_row(line: &Line<'_>) -> String {
    let name = line.name.map(|n| short(n, NAME_CHARS)).unwrap_or_default();
    let cells = match (line.before, line.uniform()) {
        (Some(step), _) => format!("X stopped before any region, at the {step} step"),
        (None, Some(kind)) if line.cells.len() > 1 => {
            format!("{} everywhere: {}", kind.symbol(), kind.meaning())
        }
        _ => line
            .cells
            .iter()
            .map(|c| c.map_or(' ', Kind::symbol).to_string())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let row = format!("{:<12}  {cells}  {}", one_line(line.id), one_line(&name));
    format!("{}\n", row.trim_end())
}

fn html_row(line: &Line<'_>, width: usize) -> String {
    let mut html = format!(
        "<tr><td style=\"font-family:monospace;padding:2px 8px\">{}</td><td style=\"padding:2px 8px;color:#555\">{}</td>",
        escape(line.id),
        escape(&line.name.map(|n| short(n, NAME_CHARS)).unwrap_or_default())
    );
    match (line.before, line.uniform()) {
        (Some(step), _) => {
            let (background, colour) = Kind::Unprocessed.colours();
            let _ = write!(
                html,
                "<td colspan=\"{}\" style=\"{CELL};text-align:left;background:{background};color:{colour}\">X stopped before any region, at the {step} step</td>",
                width.max(1)
            );
        }
        (None, Some(kind)) if width > 1 => {
            let (background, colour) = kind.colours();
            let _ = write!(
                html,
                "<td colspan=\"{width}\" style=\"{CELL};text-align:left;background:{background};color:{colour}\">{} everywhere: {}</td>",
                kind.symbol(),
                kind.meaning()
            );
        }
        _ => {
            for cell in &line.cells {
                match cell {
                    Some(kind) => {
                        let (background, colour) = kind.colours();
                        let _ = write!(
                            html,
                            "<td style=\"{CELL};background:{background};color:{colour}\">{}</td>",
                            kind.symbol()
                        );
                    }
                    None => html.push_str("<td></td>"),
                }
            }
        }
    }
    html.push_str("</tr>\n");
    html
}

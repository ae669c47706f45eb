//! The complete table, as a CSV attachment: one row per account, service and region (and one
//! per service-region that could not be used), with the outcome, status, step, result verbatim
//! and the suggested action, account by account. A large table is gzip-compressed, so the email
//! stays small.
//!
//! Values are quoted as RFC 4180 says, and a value that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`: account
//! names are chosen by the accounts' owners.

use std::collections::HashMap;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::Attachment;
use super::rows::{Row, rows};
use crate::outcome::Summary;

/// The columns, in order.
pub const HEADER: [&str; 9] = [
    "account", "name", "service", "region", "outcome", "status", "step", "result", "action",
];

/// Past this many bytes the CSV is sent gzip-compressed.
pub const PLAIN_UP_TO: usize = 256 * 1024;

/// One value, quoted where it must be.
fn field(value: &str) -> String {
    let value = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn record(out: &mut String, values: &[&str]) {
    let fields: Vec<String> = values.iter().map(|v| field(v)).collect();
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}

fn outcome(row: &Row<'_>) -> String {
    match row.via() {
        Some(via) => format!("{} via {via}", row.label().to_ascii_lowercase()),
        None => row.label().to_ascii_lowercase(),
    }
}

/// The table as CSV text.
pub fn table(summary: &Summary) -> String {
    let mut out = String::new();
    record(&mut out, &HEADER);
    for region in summary.regions.iter() {
        if let Some(problem) = &region.problem {
            let accounts = format!("(all {})", problem.accounts);
            record(
                &mut out,
                &[
                    &accounts,
                    "",
                    region.service.name(),
                    &region.region,
                    "region_skipped",
                    "",
                    problem.step.as_str(),
                    &problem.reason,
                    region
                        .service
                        .result_action(problem.step, &problem.reason)
                        .unwrap_or(""),
                ],
            );
        }
    }
    // Account by account: an account's rows share most of their text, which is what lets a
    // large table compress to a few bytes a row.
    let mut order: Vec<&str> = Vec::new();
    let mut by_account: HashMap<&str, Vec<Row<'_>>> = HashMap::new();
    for row in rows(summary) {
        let id = row.account.account_id.as_str();
        by_account
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                Vec::new()
            })
            .push(row);
    }
    for row in order
        .iter()
        .flat_map(|id| by_account.remove(id).unwrap_or_default())
    {
        record(
            &mut out,
            &[
                &row.account.account_id,
                row.account.account_name.as_deref().unwrap_or(""),
                row.service.map_or("", |s| s.name()),
                row.region,
                &outcome(&row),
                row.status().unwrap_or(""),
                row.step().unwrap_or(""),
                row.result().unwrap_or(""),
                row.action().unwrap_or(""),
            ],
        );
    }
    out
}

/// The table as an attachment: plain CSV, or gzip-compressed past [`PLAIN_UP_TO`] bytes.
pub fn attachment(summary: &Summary) -> Attachment {
    let text = table(summary);
    if text.len() <= PLAIN_UP_TO {
        return Attachment {
            file_name: "onboarding-report.csv".to_owned(),
            content_type: "text/csv; charset=utf-8",
            data: text.into_bytes(),
        };
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail; if it ever did, the plain table is still sent.
    match encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
    {
        Ok(data) => Attachment {
            file_name: "onboarding-report.csv.gz".to_owned(),
            content_type: "application/gzip",
            data,
        },
        Err(_) => Attachment {
            file_name: "onboarding-report.csv".to_owned(),
            content_type: "text/csv; charset=utf-8",
            data: text.into_bytes(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_formulas_neutralised() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("-1"), "'-1");
    }
}

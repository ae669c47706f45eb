//! The complete table, as a CSV attachment: every account's outcome in every service and
//! region (and a record per service-region that could not be used), with the outcome, status,
//! step, result verbatim and the suggested action, account by account. The regions where an
//! account's outcome in a service is the same in every column share one record, whose `regions`
//! names them (space-separated). A large table is gzip-compressed, so the email stays small.
//!
//! Values are quoted as RFC 4180 says, and nothing in a value can start a formula in any
//! spreadsheet, whatever separator it splits on: account names are chosen by the accounts'
//! owners. A `=`, `+`, `-`, `@`, tab or carriage return at the start of a value, or after any `;`,
//! `,`, tab or line break in it (spreadsheets of locales whose list separator is `;` split a CSV
//! there, and some split on tabs), with only spaces between, is prefixed with `'`, which makes
//! that cell text.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::Attachment;
use super::rows::{Place, Row, Table};
use crate::service;

/// The columns, in order.
pub const HEADER: [&str; 9] = [
    "account", "name", "service", "regions", "outcome", "status", "step", "result", "action",
];

/// Past this many bytes the CSV is sent gzip-compressed.
pub const PLAIN_UP_TO: usize = 256 * 1024;

/// What can start a formula in a cell.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Where a spreadsheet may start a new cell (a line break inside a quoted value too, for one
/// that reads it carelessly).
const SEPARATORS: [char; 5] = [';', ',', '\t', '\n', '\r'];

/// One value, every place where a cell could start a formula neutralised, quoted where it must be.
fn field(value: &str) -> String {
    let mut safe = String::with_capacity(value.len() + 2);
    // At the start of a cell, as some spreadsheet may split it: spaces keep it there.
    let mut cell_start = true;
    for c in value.chars() {
        if cell_start && FORMULA_STARTS.contains(&c) {
            safe.push('\'');
        }
        safe.push(c);
        cell_start = SEPARATORS.contains(&c) || (cell_start && c == ' ');
    }
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

/// One record, its line end included, in `line` (cleared first).
fn record(line: &mut String, values: &[&str]) {
    line.clear();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&field(value));
    }
    line.push_str("\r\n");
}

fn outcome(row: &Row<'_>) -> String {
    match row.via() {
        Some(via) => format!("{} via {via}", row.label().to_ascii_lowercase()),
        None => row.label().to_ascii_lowercase(),
    }
}

/// Hands each record of the table to `emit`, in order: the header, the service-regions that
/// could not be used, then account by account.
fn write_table(table: &Table<'_>, emit: &mut dyn FnMut(&str)) {
    let summary = table.summary;
    let mut line = String::new();
    record(&mut line, &HEADER);
    emit(&line);
    for region in summary.regions.iter() {
        if let Some(problem) = &region.problem {
            let accounts = format!("(all {})", problem.accounts);
            record(
                &mut line,
                &[
                    &accounts,
                    "",
                    region.service.name(),
                    &region.region,
                    "region_skipped",
                    "",
                    problem.step.as_str(),
                    &problem.reason.text(),
                    service::result_action(region.service, problem.step, &problem.reason)
                        .unwrap_or(""),
                ],
            );
            emit(&line);
        }
    }
    // Account by account, and within an account, one record per service and outcome: the
    // regions where every column but the region is the same share a record, which names them
    // all (space-separated, in the run's order). A sweep of a large organisation is mostly the
    // same outcome in every region, so its table has a record or two per account rather than
    // one per region (50,000 accounts in 17 regions with both services: 100,000 records, not
    // 1.7 million), and what is left compresses to a few bytes a record.
    // Each account's rows, by their place in the table: counted per account, then laid out in
    // one list in account order (8 bytes a row, and no list per account: a sweep of 50,000
    // accounts has 1.7 million rows).
    let mut order: Vec<&str> = Vec::new();
    let mut ordinal: HashMap<&str, usize> = HashMap::new();
    let mut counts: Vec<usize> = Vec::new();
    for row in table.iter() {
        let id = row.account.account_id.as_str();
        let k = *ordinal.entry(id).or_insert_with(|| {
            order.push(id);
            counts.push(0);
            order.len() - 1
        });
        counts[k] += 1;
    }
    let mut starts = Vec::with_capacity(counts.len() + 1);
    let mut total = 0;
    for count in &counts {
        starts.push(total);
        total += count;
    }
    starts.push(total);
    let mut next = starts.clone();
    let mut places: Vec<Place> = vec![(0, 0); total];
    for (place, row) in table.places() {
        let k = ordinal[row.account.account_id.as_str()];
        places[next[k]] = place;
        next[k] += 1;
    }
    for k in 0..order.len() {
        let rows = places[starts[k]..starts[k + 1]]
            .iter()
            .map(|p| table.at(*p));
        // The account's records, in the order of their first row: the values but the region,
        // and the regions.
        let mut records: Vec<([Cow<'_, str>; 8], Vec<&str>)> = Vec::new();
        for row in rows {
            let values = [
                Cow::Borrowed(row.account.account_id.as_str()),
                Cow::Borrowed(row.account.account_name.as_deref().unwrap_or("")),
                Cow::Borrowed(row.service().map_or("", |s| s.name())),
                Cow::Owned(outcome(&row)),
                Cow::Borrowed(row.status().unwrap_or("")),
                Cow::Borrowed(row.step().unwrap_or("")),
                row.result().unwrap_or_default(),
                Cow::Borrowed(row.action().unwrap_or("")),
            ];
            match records.iter_mut().find(|(same, _)| *same == values) {
                Some((_, regions)) => regions.push(row.region()),
                None => records.push((values, vec![row.region()])),
            }
        }
        for (values, regions) in records {
            let regions = regions.join(" ");
            let [
                account,
                name,
                service,
                outcome,
                status,
                step,
                result,
                action,
            ] = &values;
            record(
                &mut line,
                &[
                    account, name, service, &regions, outcome, status, step, result, action,
                ],
            );
            emit(&line);
        }
    }
}

/// The table as CSV text.
pub fn table(table: &Table<'_>) -> String {
    let mut out = String::new();
    write_table(table, &mut |line| out.push_str(line));
    out
}

/// Where the attachment's records go: text while it is small, then a gzip stream, so a large
/// table is never held whole.
enum Sink {
    Plain(String),
    Gzip(GzEncoder<Vec<u8>>),
}

impl Sink {
    fn push(&mut self, line: &str) -> std::io::Result<()> {
        match self {
            Sink::Plain(text) => {
                text.push_str(line);
                if text.len() > PLAIN_UP_TO {
                    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
                    encoder.write_all(text.as_bytes())?;
                    *self = Sink::Gzip(encoder);
                }
                Ok(())
            }
            Sink::Gzip(encoder) => encoder.write_all(line.as_bytes()),
        }
    }
}

fn plain(text: String) -> Attachment {
    Attachment {
        file_name: "onboarding-report.csv".to_owned(),
        content_type: "text/csv; charset=utf-8",
        data: text.into_bytes(),
    }
}

/// The table as an attachment: plain CSV, or gzip-compressed past [`PLAIN_UP_TO`] bytes.
pub fn attachment(rows: &Table<'_>) -> Attachment {
    let mut sink = Sink::Plain(String::new());
    let mut failed = false;
    write_table(rows, &mut |line| {
        failed = failed || sink.push(line).is_err();
    });
    let finished = match sink {
        Sink::Plain(text) => return plain(text),
        Sink::Gzip(encoder) => encoder.finish(),
    };
    match finished {
        Ok(data) if !failed => Attachment {
            file_name: "onboarding-report.csv.gz".to_owned(),
            content_type: "application/gzip",
            data,
        },
        // Compressing into memory cannot fail; if it ever did, the plain table is still sent.
        _ => plain(table(rows)),
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
        // After a separator another locale's spreadsheet splits on, too.
        assert_eq!(field("Team;=cmd|' /C calc'!A0"), "Team;'=cmd|' /C calc'!A0");
        assert_eq!(field("a; +1"), "a; '+1");
        assert_eq!(field("a\t@x"), "a\t'@x");
        assert_eq!(field("a,-b"), "\"a,'-b\"");
        assert_eq!(field("a-b;c=d"), "a-b;c=d", "only at a cell's start");
    }

    /// Splits a CSV as a spreadsheet whose list separator is `separator` does: RFC 4180 quotes
    /// respected, cells split on the separator.
    fn cells(text: &str, separator: char) -> Vec<String> {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    cells.last_mut().unwrap().push('"');
                }
                '"' => quoted = !quoted,
                c if !quoted && (c == separator || c == '\n') => cells.push(String::new()),
                '\r' if !quoted => {}
                c => cells.last_mut().unwrap().push(c),
            }
        }
        cells
    }

    #[test]
    fn no_cell_starts_a_formula_whatever_the_separator() {
        let names = [
            "Team;=cmd|' /C calc'!A0",
            "=HYPERLINK(\"http://x\")",
            "a, +SUM(1)",
            "x\t-2+3",
            "@here;  =1",
            "plain name",
        ];
        let text: String = names
            .iter()
            .map(|n| {
                let mut line = String::new();
                record(&mut line, &["111122223333", n, "GuardDuty", n]);
                line
            })
            .collect();
        for separator in [',', ';', '\t'] {
            for cell in cells(&text, separator) {
                let start = cell.trim_start_matches(' ');
                assert!(
                    !start.starts_with(['=', '+', '-', '@']),
                    "separator {separator:?}: the cell {cell:?} would be a formula"
                );
            }
        }
        // The values themselves still read back, a leading ' aside.
        let read = cells(&text, ',');
        assert!(
            read.contains(&"Team;'=cmd|' /C calc'!A0".to_owned()),
            "{read:?}"
        );
    }
}

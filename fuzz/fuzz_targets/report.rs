//! Fuzzes what renders untrusted text for people: the report (subject, text, HTML), its CSV table
//! and `redact_emails`, with account names, results and a trigger taken from arbitrary bytes, as
//! a member account's owner (its name) or a service (its result text) could send them. A panic
//! here would fail the invocation after the work is done.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onboarder::outcome::{
    AccountOutcome, Outcome, Reason, RegionOutcome, Service, Step, Summary,
};
use onboarder::report::{self, csv, rows::Table};
use onboarder::text::redact_emails;

/// Where a spreadsheet may start a cell, and what starts a formula there.
const SEPARATORS: [char; 3] = [';', ',', '\t'];
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{0}');
    let trigger = parts.next().unwrap_or_default().to_owned();
    let accounts: Vec<AccountOutcome> = parts
        .enumerate()
        .map(|(i, part)| AccountOutcome {
            account_id: format!("{:012}", 100_000_000_000_u64 + i as u64),
            account_name: Some(part.to_owned()),
            outcome: Outcome::Unprocessed {
                step: Step::Create,
                result: Box::new(Reason::Result(part.to_owned())),
            },
        })
        .collect();
    let summary = Summary {
        trigger,
        event_id: None,
        dry_run: false,
        accounts: accounts.len(),
        not_attempted: Vec::new(),
        regions: vec![RegionOutcome {
            service: Service::GuardDuty,
            region: "us-east-1".to_owned(),
            detector_id: None,
            administration: None,
            problem: None,
            accounts,
        }],
        inactive: Vec::new(),
        regions_not_enabled: Vec::new(),
        member_settings: None,
    };
    let rendered = report::render(&summary);
    assert!(!rendered.subject.contains('\n'), "a subject on one line");
    let table = csv::table(&Table::new(&summary));
    // No cell starts a formula, whatever separator a spreadsheet splits on (quotes aside).
    for cell in table.split(|c| SEPARATORS.contains(&c) || c == '\n' || c == '\r') {
        let start = cell.trim_start_matches([' ', '"', '\r']);
        assert!(
            !start.starts_with(FORMULA_STARTS),
            "a cell starts a formula: {cell:?}"
        );
    }
    // No address survives redaction.
    let redacted = redact_emails(&text);
    for token in redacted.split(|c: char| c.is_whitespace() || "\"'<>()[]{},;:`".contains(c)) {
        if let Some(at) = token.find('@') {
            assert!(at == 0 || at + 1 == token.len(), "an address left: {token:?}");
        }
    }
});

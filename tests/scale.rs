//! A large run, end to end, for what only the real handler shows: its JSON response lists every
//! row that needs attention, one group per region when the rows share a result, within the
//! per-row budget that keeps Lambda's answer under 6 MB; and when the report cannot be sent, the
//! full report is logged in records that each stay under CloudWatch Logs' 256 KB, each saying
//! which part of how many it is, and together holding the complete table.
//!
//! The run is as small as still takes several log records. The sizes at the limit (5,000
//! accounts in 17 regions) are checked where they are built, without a network:
//! `src/response.rs` (the response) and `src/report/tests.rs` (the email and its table).

mod support;

use std::collections::BTreeSet;

use onboarder::HandlerError;
use onboarder::limits::Limits;
use serde_json::{Value, json};
use standin::{Fault, FaultKind, Operation};
use support::*;

const REGIONS: [&str; 2] = [US, EU];
/// Enough accounts for a table of three log records: 1,200 rows of about 250 bytes, and at
/// most 100,000 bytes of table in a record (`log_parts::MAX_PART_BYTES`).
const ACCOUNTS: u64 = 600;
/// CloudWatch Logs' limit for one log event.
const LOG_EVENT_LIMIT: usize = 256 * 1024;
/// The bytes of response per listed row that keep 85,000 rows (5,000 accounts in 17 regions)
/// under 3 MB, well under Lambda's 6 MB.
const RESPONSE_BYTES_PER_ROW: f64 = 3_000_000.0 / 85_000.0;

/// Every invitation fails, so every row needs attention: with a server error in one region and
/// throttling in the other, so that an account's two rows differ and the table keeps a record
/// for each.
async fn failing_world() -> World {
    let world = World::start().await;
    for (region, fault) in REGIONS
        .into_iter()
        .zip([FaultKind::ServerError, FaultKind::Throttle])
    {
        world
            .standin
            .inject(Fault::always(Operation::InviteMembers, region, fault));
    }
    world
}

/// Two attempts, and timeouts long enough that a loaded machine (CI builds the release artefact
/// beside the tests) never turns a call's 500 into a timeout: every row's result must be the
/// service's, the same text, for the rows to group.
fn limits() -> Limits {
    Limits {
        max_attempts: 2,
        connect_timeout: std::time::Duration::from_secs(10),
        attempt_timeout: std::time::Duration::from_secs(30),
        operation_timeout: std::time::Duration::from_secs(60),
        ..TEST_LIMITS
    }
}

fn event() -> Value {
    let accounts: Vec<Value> = (0..ACCOUNTS)
        .map(|i| json!({"accountId": format!("{:012}", 200_000_000_000 + i), "email": format!("o{i}@example.com")}))
        .collect();
    json!({ "accounts": accounts })
}

fn rows() -> usize {
    ACCOUNTS as usize * REGIONS.len()
}

#[tokio::test]
async fn the_response_lists_every_row_that_needs_attention_within_its_budget() {
    let world = failing_world().await;
    let quiet = world.onboarder_with(&world.sdk, &[("REPORT_WHEN", "never")], limits());

    let run = invoke(&quiet, event()).await.expect("succeeds");

    assert_eq!(run.counts.unprocessed, rows(), "{:?}", run.counts);
    let listed: usize = run
        .response
        .attention
        .iter()
        .map(|g| g.accounts.len())
        .sum();
    assert_eq!(listed, rows(), "every row that needs attention is listed");
    assert_eq!(run.response.attention_omitted, 0);
    // The handler's results are one text per region, so each region is one group: the shape
    // that lets 85,000 rows fit.
    assert_eq!(
        run.response.attention.len(),
        REGIONS.len(),
        "{:?}",
        run.response
            .attention
            .iter()
            .map(|g| (&g.region, g.accounts.len(), &g.result))
            .collect::<Vec<_>>()
    );
    let json = serde_json::to_string(&run.response).expect("serialises");
    let per_row = json.len() as f64 / rows() as f64;
    assert!(
        per_row < RESPONSE_BYTES_PER_ROW,
        "{} bytes for {} rows: {per_row:.1} a row, over the {RESPONSE_BYTES_PER_ROW:.1} that keep 85,000 rows under 3 MB",
        json.len(),
        rows()
    );
    eprintln!(
        "{ACCOUNTS} accounts × {} regions, every row unprocessed: a {} byte response",
        REGIONS.len(),
        json.len()
    );
}

// One thread, so every record of the invocation reaches this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn an_unsent_report_is_logged_whole_in_numbered_records_under_256_kb() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.json_at_info());
    let world = failing_world().await;
    let unreachable = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SESV2", closed_endpoint())],
    )
    .await;
    let failing = world.onboarder_with(&unreachable, &[], limits());

    let error = invoke(&failing, event())
        .await
        .expect_err("SES is unreachable");

    assert!(matches!(error, HandlerError::Report(_)), "{error}");
    let logs = captured.text();
    let records: Vec<&str> = logs.lines().collect();
    let largest = records.iter().map(|r| r.len()).max().unwrap_or(0);
    assert!(
        largest < LOG_EVENT_LIMIT,
        "a log record of {largest} bytes passes CloudWatch Logs' 256 KB"
    );
    let parts: Vec<Value> = records
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(r).ok())
        .filter(|r| r["fields"]["part"].is_u64())
        .collect();
    let total = parts.len() as u64;
    assert!(
        total >= 3,
        "a report this long takes several records, a first, a middle and a last: {total}"
    );
    let mut report = String::new();
    for (i, part) in parts.iter().enumerate() {
        let fields = &part["fields"];
        assert_eq!(fields["part"], i as u64 + 1, "parts in order");
        assert_eq!(fields["parts"], total, "each part says how many there are");
        assert_eq!(
            fields["message"],
            format!(
                "report not sent: part {} of {total} of the full report",
                i + 1
            )
        );
        report.push_str(fields["report"].as_str().expect("the part's text"));
    }
    // The complete table, as CSV: account, name, service, regions, outcome, …
    assert!(
        report.starts_with("account,name,service,regions,outcome,status,step,result,action\r\n")
    );
    let rows_logged: BTreeSet<(String, String)> = report
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(6, ',').collect();
            (fields.len() == 6 && fields[4] == "unprocessed")
                .then(|| (fields[0].to_owned(), fields[3].to_owned()))
        })
        .collect();
    assert_eq!(
        rows_logged.len(),
        rows(),
        "the logged parts hold every account in every region"
    );
    eprintln!(
        "the unsent report: {} bytes of table in {total} log records, the largest {largest} bytes",
        report.len()
    );
}

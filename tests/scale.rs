//! Lambda's and CloudWatch's limits at the largest invocation: 5,000 accounts in 17 regions,
//! every row needing attention (every invitation fails). The JSON response stays well under
//! Lambda's 6 MB, and when the report cannot be sent, the full report is logged in records that
//! each stay under CloudWatch Logs' 256 KB, each saying which part of how many it is, and together
//! holding the complete table.

mod support;

use std::collections::BTreeSet;

use onboarder::HandlerError;
use onboarder::limits::Limits;
use serde_json::{Value, json};
use standin::{Fault, FaultKind, Operation};
use support::*;

const REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "sa-east-1",
];
const ACCOUNTS: u64 = 5_000;
/// CloudWatch Logs' limit for one log event.
const LOG_EVENT_LIMIT: usize = 256 * 1024;

// One thread, so every record of the invocations reaches this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn five_thousand_accounts_in_seventeen_regions_fit_the_response_and_log_limits() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let detectors: Vec<(&str, String)> = REGIONS
        .iter()
        .map(|r| (*r, format!("detector-{r}")))
        .collect();
    let detectors: Vec<(&str, &str)> = detectors.iter().map(|(r, d)| (*r, d.as_str())).collect();
    let world = World::with_detectors(&detectors).await;
    for region in REGIONS {
        world.standin.inject(Fault::always(
            Operation::InviteMembers,
            region,
            FaultKind::ServerError,
        ));
    }
    let limits = Limits {
        max_attempts: 2,
        ..TEST_LIMITS
    };
    let regions = REGIONS.join(",");
    let accounts: Vec<Value> = (0..ACCOUNTS)
        .map(|i| json!({"accountId": format!("{:012}", 200_000_000_000 + i), "email": format!("o{i}@example.com")}))
        .collect();
    let event = json!({ "accounts": accounts });

    // The response: every one of the 85,000 rows needs attention.
    let quiet = world.onboarder_with(
        &world.sdk,
        &[
            ("REGIONS", regions.as_str()),
            ("GUARDDUTY_DETECTOR_ID", ""),
            ("REPORT_WHEN", "never"),
        ],
        limits,
    );
    let run = invoke(&quiet, event.clone()).await.expect("succeeds");
    assert_eq!(run.counts.unprocessed, 85_000, "{:?}", run.counts);
    let json = serde_json::to_string(&run.response).expect("serialises");
    let listed: usize = run
        .response
        .attention
        .iter()
        .map(|g| g.accounts.len())
        .sum();
    assert_eq!(listed, 85_000, "every row that needs attention is listed");
    assert_eq!(run.response.attention_omitted, 0);
    assert!(
        json.len() < 3_000_000,
        "{} bytes: well under Lambda's 6 MB",
        json.len()
    );
    eprintln!(
        "5,000 accounts × 17 regions, every row unprocessed: a {} byte response",
        json.len()
    );

    // The report cannot be sent: the full report is logged in parts.
    let unreachable = sdk_config(
        &world.moto,
        &world.standin,
        &[("AWS_ENDPOINT_URL_SESV2", closed_endpoint())],
    )
    .await;
    let failing = world.onboarder_with(
        &unreachable,
        &[("REGIONS", regions.as_str()), ("GUARDDUTY_DETECTOR_ID", "")],
        limits,
    );
    let before = captured.text().len();
    let error = invoke(&failing, event)
        .await
        .expect_err("SES is unreachable");
    assert!(matches!(error, HandlerError::Report(_)), "{error}");

    let logs = captured.text()[before..].to_owned();
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
    assert!(total > 1, "a report this long takes several records");
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
    // The complete table, as CSV: account, name, service, region, outcome, …
    assert!(
        report.starts_with("account,name,service,region,outcome,status,step,result,action\r\n")
    );
    let rows: BTreeSet<(String, String)> = report
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(6, ',').collect();
            (fields.len() == 6 && fields[4] == "unprocessed")
                .then(|| (fields[0].to_owned(), fields[3].to_owned()))
        })
        .collect();
    assert_eq!(
        rows.len(),
        85_000,
        "the logged parts hold every account in every region"
    );
    eprintln!("the unsent report: {total} log records, the largest {largest} bytes");
}

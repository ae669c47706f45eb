//! The metrics document against the embedded metric format's specification (CloudWatch User
//! Guide, "Specification: Embedded metric format"), and against what it must never carry.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::aws_error::{AwsError, CallError};
use crate::outcome::{AccountOutcome, Outcome, Reason, RegionOutcome, RegionProblem, Step};

/// The units a `MetricDefinition` may give: the specification's schema and the CloudWatch API
/// Reference's `MetricDatum`.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn keys(object: &Map<String, Value>) -> BTreeSet<&str> {
    object.keys().map(String::as_str).collect()
}

/// Panics, saying which rule, where `document` breaks the specification; where the CloudWatch
/// API is stricter than the format (names of 1 to 255 characters), the API's limit is used.
fn check_against_specification(document: &Value) {
    let text = document.to_string();
    // "limited to a maximum size of 256 KB" (the page's older, stricter figure; now 1 MB).
    assert!(text.len() <= 256 * 1024, "{} bytes", text.len());
    assert!(!text.contains('\n'), "one log event: one line");
    let root = document
        .as_object()
        .expect("the LogEvent message MUST be a JSON object");
    let aws = root["_aws"].as_object().expect("_aws MUST be an object");
    assert_eq!(
        keys(aws),
        BTreeSet::from(["CloudWatchMetrics", "Timestamp"]),
        "_aws MUST contain CloudWatchMetrics and Timestamp, and no other member"
    );
    assert!(
        aws["Timestamp"].is_u64(),
        "Timestamp: milliseconds after the epoch, an integer"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics MUST be an array");
    assert!(!directives.is_empty());
    for directive in directives {
        let directive = directive
            .as_object()
            .expect("a MetricDirective is an object");
        assert_eq!(
            keys(directive),
            BTreeSet::from(["Dimensions", "Metrics", "Namespace"]),
            "a MetricDirective MUST contain Namespace, Dimensions and Metrics, and no other member"
        );
        let namespace = directive["Namespace"]
            .as_str()
            .expect("Namespace is a string");
        assert!((1..=255).contains(&namespace.len()), "{namespace}");
        assert!(!namespace.starts_with(':'));
        let sets = directive["Dimensions"]
            .as_array()
            .expect("Dimensions is a DimensionSet array");
        assert!(!sets.is_empty(), "the schema's minItems: 1");
        for set in sets {
            let set = set
                .as_array()
                .expect("a DimensionSet is an array of strings");
            assert!(set.len() <= 30, "at most 30 dimension keys");
            for key in set {
                let key = key.as_str().expect("a dimension key is a string");
                assert!((1..=250).contains(&key.len()), "{key}");
                let value = root
                    .get(key)
                    .unwrap_or_else(|| panic!("the dimension {key} MUST be a root member"));
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("the dimension {key} MUST have a string value"));
                assert!((1..=1024).contains(&value.len()), "{key}={value}");
                assert!(
                    value.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
                        && !value.trim().is_empty(),
                    "a dimension value: ASCII with a character other than a space ({value:?})"
                );
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .expect("Metrics is an array");
        assert!(
            (1..=100).contains(&metrics.len()),
            "at most 100 MetricDefinitions: {}",
            metrics.len()
        );
        for metric in metrics {
            let metric = metric.as_object().expect("a MetricDefinition is an object");
            assert!(
                keys(metric).is_subset(&BTreeSet::from(["Name", "StorageResolution", "Unit"])),
                "{metric:?}"
            );
            let name = metric["Name"].as_str().expect("Name is a string");
            assert!((1..=255).contains(&name.len()), "{name}");
            let value = root
                .get(name)
                .unwrap_or_else(|| panic!("the metric {name} MUST be a root member"));
            assert!(
                value.is_number()
                    || value
                        .as_array()
                        .is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number)),
                "the metric {name} MUST be a number or an array of at most 100 numbers: {value}"
            );
            if let Some(unit) = metric.get("Unit") {
                assert!(UNITS.contains(&unit.as_str().expect("a string")), "{unit}");
            }
        }
    }
}

fn row(id: &str, name: Option<&str>, outcome: Outcome) -> AccountOutcome {
    AccountOutcome {
        account_id: id.into(),
        account_name: name.map(Into::into),
        outcome,
    }
}

fn region(service: Service, name: &str, accounts: Vec<AccountOutcome>) -> RegionOutcome {
    RegionOutcome {
        service,
        region: name.into(),
        detector_id: None,
        administration: None,
        auto_enable: None,
        problem: None,
        accounts,
    }
}

/// A run in two regions with both services: names and reasons that quote email addresses,
/// as an account's owner or a service may write them.
fn run() -> Summary {
    let refused = || {
        Reason::call(
            "CreateMembers",
            CallError::Failed(AwsError::service(
                "BadRequestException",
                Some("The email owner@example.com is not valid"),
            )),
        )
    };
    Summary {
        trigger: "account events (2): Control Tower CreateManagedAccount ×2".into(),
        event_id: Some("0d1e2f".into()),
        dry_run: false,
        accounts: 3,
        not_attempted: vec![AccountOutcome::unprocessed(
            "12345",
            Step::Validate,
            Reason::Invalid("the account id must be exactly 12 digits".into()),
        )],
        regions: vec![
            region(
                Service::GuardDuty,
                "us-east-1",
                vec![
                    row(
                        "222222222222",
                        Some("alice@example.com's"),
                        Outcome::Invited,
                    ),
                    row("333333333333", None, Outcome::EnabledByOrganization),
                    AccountOutcome::unprocessed("444444444444", Step::Create, refused()),
                ],
            ),
            RegionOutcome {
                problem: Some(RegionProblem {
                    step: Step::Detector,
                    reason: Reason::NoDetector {
                        region: "eu-west-1".into(),
                    },
                    accounts: 3,
                }),
                ..region(Service::GuardDuty, "eu-west-1", Vec::new())
            },
            region(
                Service::SecurityHub,
                "us-east-1",
                vec![
                    row(
                        "222222222222",
                        None,
                        Outcome::Accepted { switched_on: true },
                    ),
                    row(
                        "333333333333",
                        None,
                        Outcome::AlreadyMember {
                            status: "Enabled".into(),
                        },
                    ),
                    row(
                        "444444444444",
                        None,
                        Outcome::NeedsAction {
                            status: "Resigned".into(),
                        },
                    ),
                ],
            ),
            region(
                Service::SecurityHub,
                "eu-west-1",
                vec![row("222222222222", None, Outcome::Invited)],
            ),
        ],
        inactive: Vec::new(),
        regions_not_enabled: Vec::new(),
        member_settings: None,
    }
}

const BOTH: [Service; 2] = [Service::GuardDuty, Service::SecurityHub];

fn namespace() -> Namespace {
    Namespace::parse(DEFAULT_NAMESPACE).expect("the default is valid")
}

fn document_of(summary: &Summary) -> Value {
    document(
        &namespace(),
        Kind::AccountEvent,
        &BOTH,
        summary,
        1_798_761_599_999,
    )
    .expect("a run that changes things has metrics")
}

#[test]
fn the_document_follows_the_embedded_metric_format_specification() {
    let document = document_of(&run());
    check_against_specification(&document);
    assert_eq!(document["_aws"]["Timestamp"], 1_798_761_599_999_u64);
    assert_eq!(document["timestamp"], "2026-12-31T23:59:59.999Z");
    assert_eq!(document["level"], "INFO");
    // An empty run (every account refused before any region) has every metric too.
    let mut empty = run();
    empty.regions.clear();
    check_against_specification(&document_of(&empty));
}

#[test]
fn each_count_is_the_runs_in_all_and_each_services() {
    let d = document_of(&run());
    let run_metrics: Vec<&str> = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        run_metrics,
        [
            "Invited",
            "EnabledByOrganization",
            "Accepted",
            "AlreadyMember",
            "NeedsAction",
            "Unprocessed",
            "RegionsSkipped",
            "Departed",
            "Removed"
        ]
    );
    assert_eq!(
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Trigger"], []]),
        "per kind of trigger, and in all (what the alarm reads)"
    );
    assert_eq!(d["Trigger"], "AccountEvent");
    // In all: the validate row and the refused CreateMembers are unprocessed.
    let expected = [
        ("Invited", 2),
        ("EnabledByOrganization", 1),
        ("Accepted", 1),
        ("AlreadyMember", 1),
        ("NeedsAction", 1),
        ("Unprocessed", 2),
        ("RegionsSkipped", 1),
        ("GuardDutyInvited", 1),
        ("GuardDutyEnabledByOrganization", 1),
        ("GuardDutyAccepted", 0),
        ("GuardDutyAlreadyMember", 0),
        ("GuardDutyNeedsAction", 0),
        ("GuardDutyUnprocessed", 1),
        ("GuardDutyRegionsSkipped", 1),
        ("SecurityHubInvited", 1),
        ("SecurityHubEnabledByOrganization", 0),
        ("SecurityHubAccepted", 1),
        ("SecurityHubAlreadyMember", 1),
        ("SecurityHubNeedsAction", 1),
        ("SecurityHubUnprocessed", 0),
        ("SecurityHubRegionsSkipped", 0),
    ];
    for (name, count) in expected {
        assert_eq!(d[name], count, "{name}");
    }
    let per_service = &d["_aws"]["CloudWatchMetrics"][1];
    assert_eq!(per_service["Dimensions"], serde_json::json!([[]]));
    assert_eq!(per_service["Metrics"].as_array().unwrap().len(), 18);
    // GuardDuty alone: no Security Hub metrics.
    let gd = document(
        &namespace(),
        Kind::Schedule,
        &[Service::GuardDuty],
        &run(),
        0,
    )
    .unwrap();
    check_against_specification(&gd);
    assert!(gd.get("SecurityHubInvited").is_none());
    assert_eq!(gd["Trigger"], "Schedule");
}

/// Every string the document may hold, known without reading it: the fixed words, the metric
/// names, the namespace, the kind of trigger and the time.
#[test]
fn no_account_address_reason_or_invitation_goes_into_a_metric() {
    let summary = run();
    let d = document_of(&summary);
    let mut strings = Vec::new();
    fn collect<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
        match value {
            Value::String(s) => into.push(s),
            Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
            Value::Object(members) => members.iter().for_each(|(k, v)| {
                into.push(k);
                collect(v, into)
            }),
            _ => {}
        }
    }
    collect(&d, &mut strings);
    let names: BTreeSet<String> = COUNTS
        .iter()
        .flat_map(|(name, _)| {
            [
                (*name).to_owned(),
                format!("GuardDuty{name}"),
                format!("SecurityHub{name}"),
            ]
        })
        .collect();
    let fixed = [
        "_aws",
        "Timestamp",
        "CloudWatchMetrics",
        "Namespace",
        "Dimensions",
        "Metrics",
        "Name",
        "Unit",
        "Count",
        "Trigger",
        "AccountEvent",
        "Onboarder",
        "timestamp",
        "level",
        "INFO",
        "message",
        "run metrics",
        "2026-12-31T23:59:59.999Z",
    ];
    for s in strings {
        assert!(
            fixed.contains(&s) || names.contains(s),
            "{s:?} is not a fixed word or a metric name"
        );
    }
    let text = d.to_string();
    for secret in [
        "@example.com",
        "222222222222",
        "12345",
        "Resigned",
        "eu-west-1",
    ] {
        assert!(!text.contains(secret), "{secret}");
    }
}

#[test]
fn a_dry_run_writes_no_metrics() {
    let mut summary = run();
    summary.dry_run = true;
    assert_eq!(
        document(&namespace(), Kind::Manual, &BOTH, &summary, 0),
        None
    );
}

#[test]
fn the_document_is_written_as_one_line() {
    let d = document_of(&run());
    let mut out = Vec::new();
    write(&mut out, &d);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches('\n').count(), 1);
    assert!(text.ends_with('\n'));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), d);
}

#[test]
fn a_namespace_is_checked_as_cloudwatch_checks_it() {
    for good in ["Onboarder", "Security/Onboarding", "a", &"x".repeat(255)] {
        assert_eq!(Namespace::parse(good).unwrap().as_str(), good);
    }
    for (bad, why) in [
        ("", "1 to 255"),
        (&"x".repeat(256), "1 to 255"),
        ("Onboardér", "ASCII"),
        ("On\tboarder", "control"),
        ("   ", "other than a space"),
        (":Onboarder", "':'"),
        ("AWS/GuardDuty", "AWS's"),
        ("aws/x", "AWS's"),
    ] {
        let error = Namespace::parse(bad).expect_err(bad);
        assert!(error.contains(why), "{bad:?}: {error}");
        assert!(
            error.contains("none"),
            "says how to turn metrics off: {error}"
        );
    }
}

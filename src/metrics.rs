//! The run's counts as CloudWatch metrics: one document in CloudWatch's embedded metric format
//! (EMF) per run, written to the function's log as one JSON line. CloudWatch Logs extracts the
//! metrics from it; the function makes no call and needs no permission for them ("Lambda
//! automatically sends everything that your function writes to standard output (STDOUT) to a
//! CloudWatch Logs log group, and CloudWatch Logs extracts metrics from any log events that
//! follow the embedded metric format specification": CloudWatch User Guide, "Using the embedded
//! metric format with Lambda").
//!
//! The document follows the format's specification (CloudWatch User Guide, "Specification:
//! Embedded metric format"), which the tests check it against: an `_aws` member with the
//! `Timestamp` in epoch milliseconds and the `CloudWatchMetrics` directives; each directive a
//! `Namespace`, its `Dimensions` (sets of root member names) and its `Metrics` (at most 100
//! definitions, each naming a root member with a number). Two directives:
//! - the counts of the whole run, under the dimension sets `[["Trigger"], []]`: "Every
//!   DimensionSet used creates a new metric", so each count exists per kind of trigger and, with
//!   the empty set, in all, which is what the template's alarm reads;
//! - each service's counts (`GuardDutyInvited`, `SecurityHubUnprocessed`, ...), in all only
//!   (`[[]]`): one document holds one value per dimension, so the service is in the name, and
//!   leaving the trigger out of these keeps the custom metrics (each billed) few.
//!
//! Written here rather than with a crate: the Rust crates for the format are a backend for the
//! `metrics` facade with a process-wide recorder (`metrics_cloudwatch_embedded`, whose Lambda
//! integration brings `tower` and `tracing-subscriber`'s filters) or a wide-event framework
//! (`metrique`), both for many metrics recorded over time; this is one document of counts a run
//! already has, a few lines of `serde_json`, tested against the specification.
//!
//! Only counts, the kind of trigger ([`Kind`]) and the namespace go into the document: never an
//! account, an email address or the invitation text. A dry run changes nothing and writes none.
//!
//! The line also carries `timestamp`, `level` and `message`, so that it reads as a log record
//! too ("The root node MAY contain any other members"). Lambda's log-level filtering treats it
//! as the `INFO` record it is: at `LogLevel` `WARN` or above Lambda drops it, and its metrics
//! with it, which is why the template's alarm asks for `INFO` or `DEBUG`.

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::event::Kind;
use crate::outcome::{Counts, Service, Summary};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "Onboarder";

/// The value of `METRICS_NAMESPACE` that writes no metrics.
pub const OFF: &str = "none";

/// The dimension that names the kind of trigger.
pub const TRIGGER: &str = "Trigger";

/// A CloudWatch namespace, checked as CloudWatch's `PutMetricData` checks one (API Reference,
/// `Metric`: "Minimum length of 1. Maximum length of 255. Pattern: [^:].*"; "You can use ASCII
/// characters for the namespace, except for control characters", and not one that "begins with
/// AWS/", which AWS keeps for its services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Default for Namespace {
    fn default() -> Namespace {
        Namespace(DEFAULT_NAMESPACE.to_owned())
    }
}

impl Namespace {
    /// The namespace, or what is wrong with it, in words that say how to fix it.
    pub fn parse(value: &str) -> Result<Namespace, String> {
        let problem = if value.is_empty() || value.len() > 255 {
            Some("CloudWatch takes 1 to 255 characters")
        } else if !value.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
            Some("CloudWatch takes ASCII characters only, and no control characters")
        } else if value.trim().is_empty() {
            Some("CloudWatch needs a character other than a space")
        } else if value.starts_with(':') {
            Some("CloudWatch refuses a namespace that starts with ':'")
        } else if value
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("AWS/"))
        {
            Some("namespaces that start with AWS/ are AWS's services'")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(format!(
                "is {:?}: {problem}; give a namespace such as {DEFAULT_NAMESPACE}, or {OFF} to write no metrics",
                crate::text::printable(value, 60)
            )),
            None => Ok(Namespace(value.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a metric's value is read from the counts.
type Read = fn(&Counts) -> usize;

/// The counts that become metrics, by name.
const COUNTS: [(&str, Read); 9] = [
    ("Invited", |c| c.invited),
    ("EnabledByOrganization", |c| c.enabled_by_organization),
    ("Accepted", |c| c.accepted),
    ("AlreadyMember", |c| c.already_member),
    ("NeedsAction", |c| c.needs_action),
    ("Unprocessed", |c| c.unprocessed),
    ("RegionsSkipped", |c| c.regions_unusable),
    ("Departed", |c| c.departed),
    ("Removed", |c| c.removed),
];

/// The names of the run's metrics, in all and per kind of trigger.
pub fn run_metric_names() -> impl Iterator<Item = &'static str> {
    COUNTS.iter().map(|(name, _)| *name)
}

/// A service's prefix in its metrics' names: `GuardDuty`, `SecurityHub`.
fn prefix(service: Service) -> &'static str {
    match service {
        Service::GuardDuty => "GuardDuty",
        Service::SecurityHub => "SecurityHub",
    }
}

/// The counts of one service's regions.
fn counts_of(summary: &Summary, service: Service) -> Counts {
    let mut counts = Counts::default();
    for region in summary.regions.iter().filter(|r| r.service == service) {
        counts.add_region(region);
    }
    counts
}

/// The run's metrics document, or none for a dry run. `services` are the services the run
/// works with (each gets its counts, zeros included, so that a metric has a value every run);
/// `millis` is the time of the run, in epoch milliseconds.
pub fn document(
    namespace: &Namespace,
    kind: Kind,
    services: &[Service],
    summary: &Summary,
    millis: u64,
) -> Option<Value> {
    if summary.dry_run {
        return None;
    }
    let mut root = Map::new();
    root.insert(
        "timestamp".to_owned(),
        Value::String(crate::clock::rfc3339(millis)),
    );
    root.insert("level".to_owned(), Value::from("INFO"));
    root.insert("message".to_owned(), Value::from("run metrics"));
    root.insert(TRIGGER.to_owned(), Value::from(kind.as_str()));
    let total = summary.counts();
    let mut run_metrics = Vec::new();
    for (name, field) in COUNTS {
        root.insert(name.to_owned(), Value::from(field(&total)));
        run_metrics.push(json!({ "Name": name, "Unit": "Count" }));
    }
    let mut service_metrics = Vec::new();
    for &service in services {
        let counts = counts_of(summary, service);
        for (name, field) in COUNTS {
            let name = format!("{}{name}", prefix(service));
            root.insert(name.clone(), Value::from(field(&counts)));
            service_metrics.push(json!({ "Name": name, "Unit": "Count" }));
        }
    }
    let mut directives = vec![json!({
        "Namespace": namespace.as_str(),
        "Dimensions": [[TRIGGER], []],
        "Metrics": run_metrics,
    })];
    if !service_metrics.is_empty() {
        directives.push(json!({
            "Namespace": namespace.as_str(),
            "Dimensions": [[]],
            "Metrics": service_metrics,
        }));
    }
    root.insert(
        "_aws".to_owned(),
        json!({ "Timestamp": millis, "CloudWatchMetrics": directives }),
    );
    Some(Value::Object(root))
}

/// Writes the document as one line of `out`. A line that cannot be written has nowhere else to
/// go; the run's counts are also in its `onboarding done` record and its response.
pub fn write(out: &mut impl Write, document: &Value) {
    let mut line = document.to_string();
    line.push('\n');
    let _ = out.write_all(line.as_bytes());
}

#[cfg(test)]
mod tests;

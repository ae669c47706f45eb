//! The SAM template and the forwarder, checked offline: parameters against the configuration
//! contract, EventBridge patterns against the samples in `events/` (with our matcher and with
//! moto's), IAM against the calls the code makes (read from `src/`, operation names checked
//! against botocore's service models) and the README, the features' optional statements and
//! the sweep's schedule, the event routing (the stack's own bus, the forwarder's regions, the
//! bus policy), and the pieces that keep failures from being lost.
//! `scripts/check_templates.py` checks the IAM against AWS's own definitions.
//!
//! YAML tags (`!Ref`, `!Sub`, …) are dropped on load, so `!Ref X` reads as `"X"`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use onboarder::config::VARIABLES;
use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(r) => r
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::String(r.clone())),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(hash) => Value::Object(
            hash.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Null | Yaml::BadValue => Value::Null,
        Yaml::Alias(_) => panic!("the templates use no YAML aliases"),
    }
}

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    to_json(&docs[0])
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("events").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn function(template: &Value) -> &Map<String, Value> {
    template["Resources"]["OnboarderFunction"]["Properties"]
        .as_object()
        .expect("the template has OnboarderFunction")
}

/// Does an EventBridge pattern match an event? Exact values, nested objects, and the `exists`,
/// `prefix`, `equals-ignore-case` and `anything-but` filters; anything else fails the test.
fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        panic!("a pattern level must be an object: {pattern}")
    };
    fields.iter().all(|(key, expected)| {
        let actual = event.get(key);
        match expected {
            Value::Object(_) => actual.is_some_and(|a| a.is_object() && matches(expected, a)),
            Value::Array(allowed) => allowed.iter().any(|rule| rule_matches(rule, actual)),
            other => panic!("pattern values are arrays or objects, not {other}"),
        }
    })
}

fn rule_matches(rule: &Value, actual: Option<&Value>) -> bool {
    // An array in the event matches when any of its elements does.
    if let Some(Value::Array(items)) = actual {
        return items.iter().any(|item| rule_matches(rule, Some(item)));
    }
    match rule {
        Value::Object(filter) => {
            let (op, arg) = filter.iter().next().expect("a filter has one operator");
            match (op.as_str(), actual) {
                ("exists", _) => arg.as_bool() == Some(actual.is_some()),
                (_, None) => false,
                ("prefix", Some(Value::String(s))) => {
                    arg.as_str().is_some_and(|p| s.starts_with(p))
                }
                ("equals-ignore-case", Some(Value::String(s))) => {
                    arg.as_str().is_some_and(|p| p.eq_ignore_ascii_case(s))
                }
                ("anything-but", Some(a)) => match arg {
                    Value::Array(not) => !not.contains(a),
                    single => single != a,
                },
                ("prefix" | "equals-ignore-case", Some(_)) => false,
                (op, _) => panic!("the test matcher does not know the {op} filter"),
            }
        }
        literal => actual == Some(literal),
    }
}

/// The account-event rules (every rule with a pattern): name → pattern. Each listens on the
/// stack's own bus and sends to the account-event queue.
fn rules(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| {
            r["Type"] == "AWS::Events::Rule" && r["Properties"]["EventPattern"].is_object()
        })
        .map(|(name, rule)| {
            let properties = &rule["Properties"];
            assert_eq!(
                properties["EventBusName"], "AccountEventBus.Name",
                "{name} listens on the stack's own bus, where the forwarder puts the events"
            );
            let targets = properties["Targets"].as_array().expect("Targets");
            assert_eq!(targets.len(), 1, "{name}");
            assert_eq!(
                targets[0]["Arn"], "AccountEventQueue.Arn",
                "{name} sends to the account-event queue"
            );
            assert_eq!(
                targets[0]["DeadLetterConfig"]["Arn"], "DeadLetterQueue.Arn",
                "{name} keeps what it could not deliver"
            );
            (name.clone(), properties["EventPattern"].clone())
        })
        .collect()
}

/// The management account of the samples in `events/` (their envelopes' `account`).
const SAMPLE_MANAGEMENT_ACCOUNT: &str = "111111111111";

/// A forwarder rule's pattern as CloudFormation deploys it in the samples' management account:
/// its `account` (`!Ref AWS::AccountId`, the management account's own events only) resolved.
fn forwarder_pattern(rule: &Value) -> Value {
    let mut pattern = rule["Properties"]["EventPattern"].clone();
    assert_eq!(
        pattern["account"],
        json!(["AWS::AccountId"]),
        "the forwarder matches only its own account's events"
    );
    pattern["account"] = json!([SAMPLE_MANAGEMENT_ACCOUNT]);
    pattern
}

/// The forwarder's rules: name → resource.
fn forwarder_rules(forwarder: &Value) -> Vec<(String, Value)> {
    forwarder["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
        .map(|(name, r)| (name.clone(), r.clone()))
        .collect()
}

#[test]
fn parameters_map_one_to_one_onto_the_configuration_variables() {
    let template = load("template.yaml");
    let parameters = template["Parameters"].as_object().expect("Parameters");
    let environment = function(&template)["Environment"]["Variables"]
        .as_object()
        .expect("the function's environment");

    for v in VARIABLES {
        let p = &parameters[v.parameter];
        assert_eq!(
            p["Default"], v.template_default,
            "{}'s default",
            v.parameter
        );
        assert_eq!(
            p["Description"],
            v.meaning.replace('`', ""),
            "{}'s description is the variable's meaning",
            v.parameter
        );
        assert_eq!(
            environment[v.name], v.parameter,
            "{} is set from {}",
            v.name, v.parameter
        );
    }
    let names: BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
    let set: BTreeSet<&str> = environment.keys().map(String::as_str).collect();
    assert_eq!(
        set, names,
        "the function's environment is exactly the configuration variables"
    );

    let deployment = [
        "BatchingWindowSeconds",
        "SweepSchedule",
        "AlarmEmail",
        "Architecture",
        "LogLevel",
        "EnableCoverageAlarm",
    ];
    for name in parameters.keys() {
        assert!(
            VARIABLES.iter().any(|v| v.parameter == name) || deployment.contains(&name.as_str()),
            "parameter {name} is neither a configuration variable nor a known deployment choice"
        );
    }
}

#[test]
fn the_function_is_built_with_cargo_lambda_for_al2023_arm64_with_json_logs() {
    let template = load("template.yaml");
    let resource = &template["Resources"]["OnboarderFunction"];
    assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(
        resource["Metadata"]["BuildProperties"]["Binary"],
        "onboarder"
    );
    let f = function(&template);
    assert_eq!(f["Runtime"], "provided.al2023");
    assert_eq!(f["Handler"], "bootstrap");
    assert_eq!(f["Architectures"], json!(["Architecture"]));
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    assert_eq!(f["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(f["LoggingConfig"]["ApplicationLogLevel"], "LogLevel");
    assert!(f["MemorySize"].as_i64().is_some() && f["Timeout"].as_i64().is_some());
}

/// AWS has published no sample of AccountJoinedOrganization: this is the documented part of it
/// (`joinedMethod` and `joinedTime`, per the AcceptHandshake reference).
fn account_joined_event() -> Value {
    json!({
        "version": "0", "id": "0d1e2f3a-0000-4111-8222-333344445555",
        "detail-type": "AWS Service Event via CloudTrail", "source": "aws.organizations",
        "account": "111111111111", "time": "2026-05-28T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventSource": "organizations.amazonaws.com", "eventName": "AccountJoinedOrganization",
                   "serviceEventDetails": {"accountId": "555555555555", "joinedMethod": "INVITED", "joinedTime": "2026-05-28T10:00:00Z"}}
    })
}

/// Every event the patterns are tried on, with the one rule that must match it (or none): each
/// file in `events/`, the AccountJoinedOrganization event, and failed or unfinished variants.
fn samples() -> Vec<(String, Value, Option<&'static str>)> {
    let expected: BTreeMap<&str, &str> = [
        (
            "ct_create_managed_account.json",
            "ControlTowerCreateManagedAccount",
        ),
        (
            "ct_update_managed_account.json",
            "ControlTowerUpdateManagedAccount",
        ),
        (
            "org_create_account_result_succeeded.json",
            "OrganizationsCreateAccountResult",
        ),
        (
            "org_account_departed_organization.json",
            "OrganizationsAccountDepartedOrganization",
        ),
    ]
    .into_iter()
    .collect();
    let mut files: Vec<String> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    let mut out: Vec<(String, Value, Option<&'static str>)> = files
        .iter()
        .map(|f| (f.clone(), sample(f), expected.get(f.as_str()).copied()))
        .collect();
    for file in expected.keys() {
        assert!(files.iter().any(|f| f == file), "events/{file} is missing");
    }
    out.push((
        "AccountJoinedOrganization".into(),
        account_joined_event(),
        Some("OrganizationsAccountJoinedOrganization"),
    ));

    let mut failed_ct = sample("ct_create_managed_account.json");
    failed_ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
        json!("FAILED");
    let mut failed_update = sample("ct_update_managed_account.json");
    failed_update["detail"]["serviceEventDetails"]["updateManagedAccountStatus"]["state"] =
        json!("FAILED");
    let mut in_progress = sample("org_create_account_result_succeeded.json");
    in_progress["detail"]["serviceEventDetails"]["createAccountStatus"]["state"] =
        json!("IN_PROGRESS");
    let mut failed_handshake = sample("org_api_accept_handshake.json");
    failed_handshake["detail"]["errorCode"] = json!("HandshakeConstraintViolationException");
    let mut wrong_source = sample("org_create_account_result_succeeded.json");
    wrong_source["source"] = json!("aws.events");
    for (name, event) in [
        ("ct failed", failed_ct),
        ("ct update failed", failed_update),
        ("create account in progress", in_progress),
        ("handshake error", failed_handshake),
        ("other source", wrong_source),
    ] {
        out.push((name.into(), event, None));
    }
    out
}

#[test]
fn each_rule_matches_its_sample_and_nothing_else() {
    let rules = rules(&load("template.yaml"));
    let names: BTreeSet<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for (sample, event, expected) in samples() {
        for (rule, pattern) in &rules {
            assert_eq!(
                matches(pattern, &event),
                expected == Some(rule.as_str()),
                "rule {rule} on {sample}"
            );
        }
    }
    for rule in &names {
        assert!(
            samples().iter().any(|(_, _, e)| e == &Some(*rule)),
            "no sample for {rule}"
        );
    }
}

/// moto's matcher, run by `scripts/eventbridge_match.py`: pattern name → sample name → verdict.
fn moto_verdicts(
    patterns: &BTreeMap<String, Value>,
    events: &BTreeMap<String, Value>,
) -> BTreeMap<String, BTreeMap<String, bool>> {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or scripts/setup) first; this test asks moto's EventBridge matcher",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root().join("scripts/eventbridge_match.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scripts/eventbridge_match.py");
    let request = json!({"patterns": patterns, "events": events});
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write the patterns and events");
    let output = child
        .wait_with_output()
        .expect("scripts/eventbridge_match.py");
    assert!(
        output.status.success(),
        "scripts/eventbridge_match.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("its answer is JSON")
}

#[test]
fn moto_matches_every_pattern_of_both_templates_as_expected_and_as_our_matcher_does() {
    let template_rules = rules(&load("template.yaml"));
    let forwarded = forwarder_rules(&load("forwarder.yaml"));
    let mut patterns = BTreeMap::new();
    for (name, pattern) in &template_rules {
        patterns.insert(format!("template.yaml {name}"), pattern.clone());
    }
    for (name, rule) in &forwarded {
        patterns.insert(format!("forwarder.yaml {name}"), forwarder_pattern(rule));
    }
    assert_eq!(patterns.len(), 10, "{:?}", patterns.keys());
    let samples = samples();
    let events: BTreeMap<String, Value> = samples
        .iter()
        .map(|(name, event, _)| (name.clone(), event.clone()))
        .collect();
    assert_eq!(events.len(), samples.len(), "sample names are unique");

    let moto = moto_verdicts(&patterns, &events);
    let mut pairs = 0;
    for (key, pattern) in &patterns {
        let rule = key.split_once(' ').expect("file rule").1;
        for (sample, event, expected) in &samples {
            let verdict = moto[key][sample];
            assert_eq!(verdict, *expected == Some(rule), "moto: {key} on {sample}");
            assert_eq!(
                matches(pattern, event),
                verdict,
                "our matcher and moto's differ: {key} on {sample}"
            );
            pairs += 1;
        }
    }
    assert_eq!(pairs, patterns.len() * samples.len());
}

#[test]
fn the_forwarder_forwards_exactly_the_functions_patterns_from_the_regions_that_emit_them() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let forwarded = forwarder_rules(&forwarder);
    let patterns: Vec<(String, Value)> = forwarded
        .iter()
        .map(|(name, r)| {
            let mut pattern = forwarder_pattern(r);
            pattern
                .as_object_mut()
                .expect("a pattern")
                .remove("account");
            (name.clone(), pattern)
        })
        .collect();
    assert_eq!(
        patterns,
        rules(&template),
        "the same rules, the same patterns (the forwarder's also pinned to its account)"
    );

    // Organizations emits its events only in us-east-1, Control Tower only in its home region.
    let conditions = &forwarder["Conditions"];
    assert_eq!(
        conditions["ForwardsOrganizations"],
        json!(["AWS::Region", "us-east-1"])
    );
    assert_eq!(
        conditions["ForwardsControlTower"],
        json!(["AWS::Region", "ControlTowerHomeRegion"])
    );
    assert_eq!(
        forwarder["Parameters"]["ControlTowerHomeRegion"]["Default"],
        ""
    );
    // A region that gets neither is refused before anything is created.
    let assertions = &forwarder["Rules"]["ForwarderRegion"]["Assertions"];
    assert_eq!(
        assertions[0]["Assert"],
        json!([
            ["AWS::Region", "us-east-1"],
            ["AWS::Region", "ControlTowerHomeRegion"]
        ])
    );

    for (name, rule) in &forwarded {
        let source = rule["Properties"]["EventPattern"]["source"][0]
            .as_str()
            .expect("source");
        let condition = match source {
            "aws.organizations" => "ForwardsOrganizations",
            "aws.controltower" => "ForwardsControlTower",
            other => panic!("{name} forwards {other}"),
        };
        assert_eq!(rule["Condition"], condition, "{name}");
        assert_eq!(
            rule["Properties"]["Name"],
            format!("onboarder-{name}"),
            "{name} has the fixed name its queue policy and alarm use"
        );
        let targets = rule["Properties"]["Targets"].as_array().expect("Targets");
        assert_eq!(targets.len(), 1, "{name}");
        let target = &targets[0];
        assert_eq!(target["Arn"], "TargetEventBusArn", "{name}");
        assert_eq!(target["RoleArn"], "ForwardRole.Arn", "{name}");
        assert_eq!(
            target["DeadLetterConfig"]["Arn"], "ForwardDeadLetterQueue.Arn",
            "{name}"
        );
        assert_eq!(
            target["RetryPolicy"],
            json!({"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}),
            "{name} retries for the longest EventBridge allows"
        );
    }

    let role = &forwarder["Resources"]["ForwardRole"]["Properties"];
    assert_eq!(role["RoleName"], "onboarder-forwarder-${AWS::Region}");
    assert_eq!(
        role["Policies"][0]["PolicyDocument"]["Statement"],
        json!([{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "TargetEventBusArn"}])
    );
}

#[test]
fn the_forwarder_keeps_and_alarms_on_what_it_could_not_deliver() {
    let forwarder = load("forwarder.yaml");
    let resources = &forwarder["Resources"];
    let rule_names: BTreeSet<String> = forwarder_rules(&forwarder)
        .iter()
        .map(|(name, _)| format!("onboarder-{name}"))
        .collect();
    assert_eq!(rule_names.len(), 5);

    let queue = &resources["ForwardDeadLetterQueue"]["Properties"];
    assert_eq!(queue["MessageRetentionPeriod"], 1_209_600, "14 days");
    assert_eq!(queue["SqsManagedSseEnabled"], true, "encrypted");
    let statements =
        &resources["ForwardDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let allow = &statements[0];
    assert_eq!(allow["Effect"], "Allow");
    assert_eq!(
        allow["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(allow["Action"], "sqs:SendMessage");
    let sources: BTreeSet<String> = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
        .as_array()
        .expect("the rules' ARNs")
        .iter()
        .map(|arn| {
            arn.as_str()
                .and_then(|a| a.rsplit_once(":rule/"))
                .map(|(_, name)| name.to_owned())
                .expect("a rule ARN")
        })
        .collect();
    assert_eq!(
        sources, rule_names,
        "only the forwarder's own rules may send to its queue"
    );
    let statements = statements.as_array().expect("statements");
    let deny = by_sid(statements, "TlsOnly");
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Action"], "sqs:*", "every request, not only sends");
    assert_readers_only(by_sid(statements, "ReadersOnly"));
    assert_eq!(deny["Principal"], "*");
    assert_eq!(
        deny["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}}),
        "TLS only"
    );

    let failed = &resources["ForwardFailedAlarm"]["Properties"];
    let alarmed: BTreeSet<String> = failed["Metrics"]
        .as_array()
        .expect("Metrics")
        .iter()
        .filter_map(|m| m.get("MetricStat"))
        .map(|stat| {
            assert_eq!(stat["Metric"]["Namespace"], "AWS/Events");
            assert_eq!(stat["Metric"]["MetricName"], "FailedInvocations");
            assert_eq!(stat["Metric"]["Dimensions"][0]["Name"], "RuleName");
            stat["Metric"]["Dimensions"][0]["Value"]
                .as_str()
                .expect("rule name")
                .to_owned()
        })
        .collect();
    assert_eq!(alarmed, rule_names, "failed deliveries of every rule");
    let queue_alarm = &resources["ForwardDeadLetterAlarm"]["Properties"];
    assert_eq!(
        queue_alarm["MetricName"],
        "ApproximateNumberOfMessagesVisible"
    );
    assert_eq!(
        queue_alarm["Dimensions"][0]["Value"],
        "ForwardDeadLetterQueue.QueueName"
    );
    for alarm in [failed, queue_alarm] {
        assert_eq!(alarm["AlarmActions"], json!(["AlarmTopic"]));
        assert_eq!(alarm["Threshold"], 0);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    }
    assert_eq!(
        resources["AlarmEmailSubscription"]["Condition"],
        "HasAlarmEmail"
    );
    assert_eq!(forwarder["Parameters"]["AlarmEmail"]["Default"], "");
}

#[test]
fn only_the_forwarders_role_may_put_the_matched_sources_on_the_stacks_bus() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let resources = &template["Resources"];
    assert!(
        resources["AccountEventBus"].get("Condition").is_none(),
        "the bus exists in every deployment: the rules always listen on it"
    );
    let statement = &resources["AccountEventBusPolicy"]["Properties"]["Statement"];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "events:PutEvents");
    assert_eq!(statement["Resource"], "AccountEventBus.Arn");
    // The management account (this one when ManagementAccountId is empty)...
    let management =
        json!({"Management": ["HasManagementAccountId", "ManagementAccountId", "AWS::AccountId"]});
    assert_eq!(
        statement["Principal"]["AWS"],
        json!(["arn:${AWS::Partition}:iam::${Management}:root", management])
    );
    // ...and in it only the forwarder's role, named onboarder-forwarder-<region>.
    let condition = &statement["Condition"];
    assert_eq!(
        condition["ArnLike"]["aws:PrincipalArn"],
        json!([
            "arn:${AWS::Partition}:iam::${Management}:role/onboarder-forwarder-*",
            management
        ])
    );
    let role_name = forwarder["Resources"]["ForwardRole"]["Properties"]["RoleName"]
        .as_str()
        .expect("the forwarder's role has a fixed name");
    assert!(role_name.starts_with("onboarder-forwarder-"), "{role_name}");

    // Only events of the sources and detail types the rules match.
    let mut sources = BTreeSet::new();
    let mut detail_types = BTreeSet::new();
    for (_, pattern) in rules(&template) {
        for s in pattern["source"].as_array().expect("source") {
            sources.insert(s.as_str().expect("a source").to_owned());
        }
        for d in pattern["detail-type"].as_array().expect("detail-type") {
            detail_types.insert(d.as_str().expect("a detail type").to_owned());
        }
    }
    let allowed = |v: &Value| -> BTreeSet<String> { list(v).into_iter().collect() };
    assert_eq!(
        allowed(&condition["ForAllValues:StringEquals"]["events:source"]),
        sources
    );
    assert_eq!(
        allowed(&condition["StringEquals"]["events:detail-type"]),
        detail_types
    );
}

/// No reserved concurrency (a new account's low quota refuses any), Lambda's longest timeout,
/// and the account events through the queue: batched, bounded in parallel, partial failures
/// returned, and the queue's visibility timeout 6 x the function's, as the Lambda Developer
/// Guide advises.
#[test]
fn account_events_come_through_the_queue_and_nothing_reserves_concurrency() {
    let template = load("template.yaml");
    let f = function(&template);
    assert!(f.get("ReservedConcurrentExecutions").is_none());
    assert_eq!(
        f["Timeout"], 900,
        "a sweep of the whole organisation runs in one invocation: Lambda's maximum, 900 s"
    );
    assert!(
        f.get("Events").is_none(),
        "no SAM event: the mapping is the stack's own, and the rules target the queue"
    );
    let resources = &template["Resources"];
    let mapping = &resources["AccountEventMapping"]["Properties"];
    assert_eq!(
        resources["AccountEventMapping"]["Type"],
        "AWS::Lambda::EventSourceMapping"
    );
    assert_eq!(mapping["EventSourceArn"], "AccountEventQueue.Arn");
    assert_eq!(mapping["FunctionName"], "OnboarderFunction");
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["MaximumBatchingWindowInSeconds"],
        "BatchingWindowSeconds"
    );
    assert_eq!(
        mapping["ScalingConfig"]["MaximumConcurrency"], 2,
        "the least Lambda allows"
    );
    let batch = mapping["BatchSize"].as_i64().expect("BatchSize");
    assert!((100..=10_000).contains(&batch), "{batch}");
    let window = &template["Parameters"]["BatchingWindowSeconds"];
    assert_eq!(
        (
            window["Default"].as_str(),
            window["MinValue"].as_i64(),
            window["MaxValue"].as_i64()
        ),
        (Some("60"), Some(1), Some(300))
    );

    let queue = &resources["AccountEventQueue"]["Properties"];
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    assert!(queue["VisibilityTimeout"].as_i64().unwrap() >= 6 * f["Timeout"].as_i64().unwrap());
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        "DeadLetterQueue.Arn"
    );
    assert!(queue["RedrivePolicy"]["maxReceiveCount"].as_i64().unwrap() >= 3);

    // Only this stack's rules may send to it, over TLS.
    let policy = &resources["AccountEventQueuePolicy"]["Properties"];
    assert_eq!(policy["Queues"], json!(["AccountEventQueue"]));
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    let allow = statements.iter().find(|s| s["Effect"] == "Allow").unwrap();
    assert_eq!(
        allow["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(allow["Action"], "sqs:SendMessage");
    let sources: BTreeSet<String> = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().trim_end_matches(".Arn").to_owned())
        .collect();
    let rule_names: BTreeSet<String> = rules(&template).into_iter().map(|(n, _)| n).collect();
    assert_eq!(sources, rule_names);
    assert!(
        statements
            .iter()
            .any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false")
    );
}

/// `!If [Condition, yes, no]` loads as a three-element array whose first element names one of
/// the template's conditions: that condition and the two branches.
fn as_if<'a>(template: &Value, value: &'a Value) -> Option<(&'a str, &'a Value, &'a Value)> {
    let [condition, yes, no] = value.as_array()?.as_slice() else {
        return None;
    };
    let condition = condition.as_str()?;
    template["Conditions"]
        .get(condition)
        .is_some()
        .then_some((condition, yes, no))
}

/// The function role's statements, each with the condition it exists under (a statement
/// written `!If [Condition, {statement}, !Ref AWS::NoValue]`), or none.
fn function_statements(template: &Value) -> Vec<(Option<String>, Value)> {
    let mut statements = Vec::new();
    for policy in function(template)["Policies"].as_array().expect("Policies") {
        for statement in policy["Statement"].as_array().expect("Statement") {
            match as_if(template, statement) {
                Some((condition, yes, no)) => {
                    assert_eq!(
                        no, "AWS::NoValue",
                        "an optional statement is left out, not replaced"
                    );
                    statements.push((Some(condition.to_owned()), yes.clone()));
                }
                None => statements.push((None, statement.clone())),
            }
        }
    }
    statements
}

/// A statement's Condition in every form it can take: both branches of an `!If`, without
/// `AWS::NoValue`.
fn condition_variants(template: &Value, statement: &Value) -> Vec<Map<String, Value>> {
    let condition = &statement["Condition"];
    let branches = match as_if(template, condition) {
        Some((_, yes, no)) => vec![yes, no],
        None => vec![condition],
    };
    branches
        .into_iter()
        .filter(|b| !b.is_null() && *b != "AWS::NoValue")
        .map(|b| b.as_object().expect("a condition block").clone())
        .collect()
}

fn statement<'a>(
    statements: &'a [(Option<String>, Value)],
    sid: &str,
) -> &'a (Option<String>, Value) {
    statements
        .iter()
        .find(|(_, s)| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("the function's role has no statement {sid}"))
}

fn list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|a| a.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("a string or a list of strings, not {other}"),
    }
}

fn granted_actions(template: &Value) -> Vec<String> {
    function_statements(template)
        .iter()
        .flat_map(|(_, s)| {
            assert_eq!(s["Effect"], "Allow");
            list(&s["Action"])
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The calls the code makes with the function's own credentials: exactly what its role is
/// granted (some only with the feature that needs them).
const FUNCTION_ACTIONS: &[&str] = &[
    "guardduty:ListDetectors",
    "guardduty:DescribeOrganizationConfiguration",
    "guardduty:GetMembers",
    "guardduty:ListMembers",
    "guardduty:CreateMembers",
    "guardduty:InviteMembers",
    "guardduty:DisassociateMembers",
    "guardduty:DeleteMembers",
    "securityhub:GetMembers",
    "securityhub:ListMembers",
    "securityhub:CreateMembers",
    "securityhub:InviteMembers",
    "securityhub:DescribeOrganizationConfiguration",
    "securityhub:DisassociateMembers",
    "securityhub:DeleteMembers",
    "organizations:DescribeAccount",
    "organizations:ListAccounts",
    "account:ListRegions",
    "sts:AssumeRole",
    "ses:SendEmail",
];

/// What Lambda's event source mapping calls with the function's role to read the account-event
/// queue (Lambda Developer Guide, "Using Lambda with Amazon SQS": execution role permissions).
const POLLER_ACTIONS: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// The calls the code makes with a member account's credentials, through the member role: the
/// documentation's "Member role" section (docs/failure-modes-and-iam.md) lists them, and the function's own role is not granted them.
const MEMBER_ACTIONS: &[&str] = &[
    "guardduty:ListDetectors",
    "guardduty:CreateDetector",
    "guardduty:ListInvitations",
    "guardduty:AcceptAdministratorInvitation",
    "securityhub:DescribeHub",
    "securityhub:EnableSecurityHub",
    "securityhub:ListInvitations",
    "securityhub:AcceptAdministratorInvitation",
];

#[test]
fn iam_grants_exactly_the_functions_own_calls_and_no_wildcard() {
    let template = load("template.yaml");
    let granted = granted_actions(&template);
    let granted_set: BTreeSet<String> = granted.iter().cloned().collect();
    assert_eq!(granted.len(), granted_set.len(), "no action granted twice");
    assert_eq!(
        granted_set,
        &set(FUNCTION_ACTIONS) | &set(POLLER_ACTIONS),
        "granted = the function's own calls and Lambda's reading of its queue: nothing missing, nothing more"
    );
    for action in MEMBER_ACTIONS {
        assert!(
            FUNCTION_ACTIONS.contains(action) || !granted_set.contains(*action),
            "{action} is called as the member: the member role's permission, not the function's"
        );
    }

    // No wildcard action anywhere in either template (policies, queue policy, bus policy).
    for file in ["template.yaml", "forwarder.yaml"] {
        let mut stack = vec![load(file)];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(map) => {
                    // A whole service denied (the queues' TLS-only statements) grants nothing.
                    let deny = map.get("Effect") == Some(&json!("Deny"));
                    if let Some(action) = map.get("Action").filter(|_| !deny) {
                        let list = action
                            .as_array()
                            .cloned()
                            .unwrap_or_else(|| vec![action.clone()]);
                        for a in list {
                            assert!(
                                !a.as_str().unwrap_or("*").contains('*'),
                                "{file}: wildcard action {a}"
                            );
                        }
                    }
                    stack.extend(map.into_iter().map(|(_, v)| v));
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}

#[test]
fn each_optional_statement_exists_exactly_with_its_feature() {
    let template = load("template.yaml");
    let conditions = &template["Conditions"];
    assert_eq!(conditions["HasRegions"], json!([["Regions", ""]]));
    assert_eq!(
        conditions["AllEnabledRegions"],
        json!(["Regions", "all-enabled"])
    );
    assert_eq!(
        conditions["EnablesSecurityHub"],
        json!(["EnableSecurityHub", "true"])
    );
    assert_eq!(conditions["HasMemberRole"], json!([["MemberRoleName", ""]]));
    assert_eq!(conditions["SendsReport"], json!([["ReportWhen", "never"]]));

    let parameters = &template["Parameters"];
    assert_eq!(parameters["EnableSecurityHub"]["Default"], "false");
    assert_eq!(
        parameters["EnableSecurityHub"]["AllowedValues"],
        json!(["true", "false"])
    );
    assert_eq!(parameters["MemberRoleName"]["Default"], "");
    assert!(
        parameters["Regions"]["AllowedPattern"]
            .as_str()
            .is_some_and(|p| p.contains("^all-enabled$")),
        "Regions accepts all-enabled on its own (scripts/check_templates.py tries the pattern)"
    );

    let statements = function_statements(&template);
    let by_sid: BTreeMap<String, Option<String>> = statements
        .iter()
        .map(|(c, s)| (s["Sid"].as_str().expect("a Sid").to_owned(), c.clone()))
        .collect();
    let expected: BTreeMap<String, Option<String>> = [
        ("GuardDutyMembers", None),
        (
            "GuardDutyRemoveDepartedMembers",
            Some("RemovesDepartedMembers"),
        ),
        ("SecurityHubMembers", Some("EnablesSecurityHub")),
        (
            "SecurityHubRemoveDepartedMembers",
            Some("RemovesDepartedSecurityHubMembers"),
        ),
        ("OrganizationsAccountEmail", None),
        ("OrganizationsListAccounts", None),
        ("SqsAccountEvents", None),
        ("AccountEnabledRegions", Some("AllEnabledRegions")),
        ("AssumeMemberRole", Some("HasMemberRole")),
        ("SesReport", Some("SendsReport")),
    ]
    .into_iter()
    .map(|(sid, c)| (sid.to_owned(), c.map(str::to_owned)))
    .collect();
    assert_eq!(
        by_sid, expected,
        "statement → the condition it exists under"
    );
}

#[test]
fn each_statement_is_scoped_as_narrowly_as_its_actions_allow() {
    let template = load("template.yaml");
    let statements = function_statements(&template);

    // GuardDuty's member actions define no resource type: "*", in the onboarded regions (the
    // Regions parameter split, or the stack's region), except with Regions=all-enabled, where
    // the regions are known only at run time.
    let regions = json!([
        "AllEnabledRegions",
        "AWS::NoValue",
        {"StringEquals": {"aws:RequestedRegion": ["HasRegions", [",", "Regions"], ["AWS::Region"]]}}
    ]);
    for sid in ["GuardDutyMembers", "GuardDutyRemoveDepartedMembers"] {
        let (_, guardduty) = statement(&statements, sid);
        assert_eq!(guardduty["Resource"], "*");
        assert_eq!(guardduty["Condition"], regions);
    }

    // Security Hub's take the administrator's own hub, in the same regions.
    for sid in ["SecurityHubMembers", "SecurityHubRemoveDepartedMembers"] {
        let (_, hub) = statement(&statements, sid);
        assert_eq!(
            hub["Resource"],
            "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default"
        );
        assert_eq!(hub["Condition"], regions);
    }

    // ListAccounts defines no resource type; Organizations is global.
    let (_, listing) = statement(&statements, "OrganizationsListAccounts");
    assert_eq!(listing["Action"], "organizations:ListAccounts");
    assert_eq!(listing["Resource"], "*");

    // ListRegions on this account only (the call names no AccountId).
    let (_, enabled) = statement(&statements, "AccountEnabledRegions");
    assert_eq!(enabled["Action"], "account:ListRegions");
    assert_eq!(
        enabled["Resource"],
        "arn:${AWS::Partition}:account::${AWS::AccountId}:account"
    );

    // The member role: that name only, in the organisation's accounts only.
    let (_, assume) = statement(&statements, "AssumeMemberRole");
    assert_eq!(assume["Action"], "sts:AssumeRole");
    assert_eq!(
        assume["Resource"],
        "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"
    );
    assert_eq!(
        assume["Condition"],
        json!({
            "StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"},
            "StringNotEquals": {"aws:ResourceAccount": ["HasManagementAccountId", "ManagementAccountId", "AWS::AccountId"]}
        }),
        "never in the management account"
    );

    let star: BTreeSet<&str> = statements
        .iter()
        .filter(|(_, s)| s["Resource"] == "*")
        .map(|(_, s)| s["Sid"].as_str().expect("Sid"))
        .collect();
    assert_eq!(
        star,
        BTreeSet::from([
            "GuardDutyMembers",
            "GuardDutyRemoveDepartedMembers",
            "OrganizationsListAccounts"
        ]),
        "\"*\" only for actions that define no resource type"
    );
}

#[test]
fn the_sweep_schedule_sends_the_standard_scheduled_event_only_when_set() {
    let template = load("template.yaml");
    let resources = &template["Resources"];
    assert_eq!(template["Parameters"]["SweepSchedule"]["Default"], "");
    assert_eq!(
        template["Conditions"]["HasSweepSchedule"],
        json!([["SweepSchedule", ""]])
    );

    let rule = &resources["SweepScheduleRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule");
    assert_eq!(rule["Condition"], "HasSweepSchedule");
    let properties = &rule["Properties"];
    assert_eq!(properties["ScheduleExpression"], "SweepSchedule");
    assert_eq!(properties["State"], "ENABLED");
    assert!(
        properties.get("EventBusName").is_none(),
        "schedules run on the default bus"
    );
    let targets = properties["Targets"].as_array().expect("Targets");
    assert_eq!(targets.len(), 1);
    let target = &targets[0];
    assert_eq!(target["Arn"], "OnboarderFunction.Arn");
    for input in ["Input", "InputPath", "InputTransformer"] {
        assert!(
            target.get(input).is_none(),
            "the function receives EventBridge's own Scheduled Event, so the target has no {input}"
        );
    }
    assert_eq!(target["DeadLetterConfig"]["Arn"], "DeadLetterQueue.Arn");

    let permission = &resources["SweepSchedulePermission"];
    assert_eq!(permission["Type"], "AWS::Lambda::Permission");
    assert_eq!(permission["Condition"], "HasSweepSchedule");
    assert_eq!(
        permission["Properties"]["FunctionName"],
        "OnboarderFunction.Arn"
    );
    assert_eq!(
        permission["Properties"]["Principal"],
        "events.amazonaws.com"
    );
    assert_eq!(
        permission["Properties"]["SourceArn"],
        "SweepScheduleRule.Arn"
    );

    // The dead-letter queue admits the schedule's undelivered events, only when it exists.
    let statements =
        resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .expect("Statement");
    let sweep: Vec<&Value> = statements
        .iter()
        .filter_map(|s| as_if(&template, s))
        .filter(|(_, yes, _)| yes["Sid"] == "SweepScheduleDeliveryFailures")
        .map(|(condition, yes, no)| {
            assert_eq!(condition, "HasSweepSchedule");
            assert_eq!(no, "AWS::NoValue");
            yes
        })
        .collect();
    assert_eq!(sweep.len(), 1);
    assert_eq!(
        sweep[0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": "SweepScheduleRule.Arn"}})
    );

    // The sample is what such a rule delivers, and no account-event rule takes it.
    let event = sample("scheduled_event.json");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["detail"], json!({}));
    for (name, pattern) in rules(&template) {
        assert!(
            !matches(&pattern, &event),
            "{name} matches the scheduled event"
        );
    }
}

#[test]
fn the_manual_samples_have_the_documented_shapes() {
    assert_eq!(sample("manual_sweep.json"), json!({"sweep": true}));
    assert_eq!(
        sample("manual_dry_run_sweep.json"),
        json!({"sweep": true, "dryRun": true})
    );
    let dry_run = sample("manual_dry_run.json");
    assert_eq!(dry_run["dryRun"], true);
    let accounts = dry_run["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 2);
    let invoke = sample("manual_invoke.json");
    for account in accounts {
        assert!(
            invoke["accounts"]
                .as_array()
                .expect("manual_invoke.json's accounts")
                .contains(account),
            "each entry is one of manual_invoke.json's: {account}"
        );
    }
}

#[test]
fn every_sample_in_events_is_named_in_the_documentation() {
    let readme = readme();
    for entry in std::fs::read_dir(root().join("events")).expect("events/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            readme.contains(&format!("`{name}`")) || readme.contains(&format!("events/{name}")),
            "neither the README nor docs/ mentions events/{name}"
        );
    }
}

/// An AWS service the code calls: its IAM prefix, and its API as botocore names the service
/// model the SDK crate is generated from.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Service {
    iam: &'static str,
    model: &'static str,
}

const GUARDDUTY: Service = Service {
    iam: "guardduty",
    model: "guardduty",
};
const SECURITY_HUB: Service = Service {
    iam: "securityhub",
    model: "securityhub",
};
const ORGANIZATIONS: Service = Service {
    iam: "organizations",
    model: "organizations",
};
const ACCOUNT: Service = Service {
    iam: "account",
    model: "account",
};
const STS: Service = Service {
    iam: "sts",
    model: "sts",
};
/// SES v2's API; its IAM actions keep the `ses` prefix.
const SES_V2: Service = Service {
    iam: "ses",
    model: "sesv2",
};
const SERVICES: [Service; 6] = [GUARDDUTY, SECURITY_HUB, ORGANIZATIONS, ACCOUNT, STS, SES_V2];

/// Whose credentials a file's calls carry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Credentials {
    /// The function's role: granted in template.yaml.
    Function,
    /// The member role in the member account: listed in docs/failure-modes-and-iam.md, "Member role".
    Member,
}

/// The source files that call AWS, the services their clients talk to, and whose credentials
/// they carry. Edit it when the code moves: a listed file that is missing, and an unlisted file
/// that calls an operation of one of these services, fail the scan with a message.
const SDK_CALLERS: &[(&str, Credentials, &[Service])] = &[
    (
        "src/service/guardduty/mod.rs",
        Credentials::Function,
        &[GUARDDUTY],
    ),
    (
        "src/service/securityhub/mod.rs",
        Credentials::Function,
        &[SECURITY_HUB],
    ),
    ("src/org.rs", Credentials::Function, &[ORGANIZATIONS]),
    ("src/regions.rs", Credentials::Function, &[ACCOUNT]),
    ("src/member_role.rs", Credentials::Function, &[STS]),
    ("src/mail.rs", Credentials::Function, &[SES_V2]),
    (
        "src/service/guardduty/member.rs",
        Credentials::Member,
        &[GUARDDUTY],
    ),
    (
        "src/service/securityhub/member.rs",
        Credentials::Member,
        &[SECURITY_HUB],
    ),
];

/// Files of `src/` that are test modules only (`#[cfg(test)]`): their SDK calls go to in-test
/// stand-ins, with no role's credentials, so they grant nothing.
const TEST_ONLY: &[&str] = &["src/pace/adaptive_tests.rs"];

/// The operations of each service model (botocore's, read by botocore itself from `.venv`), by
/// the SDK's snake_case method name.
fn operations() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or scripts/setup), which installs botocore into .venv",
        python.display()
    );
    let models: Vec<&str> = SERVICES.iter().map(|s| s.model).collect();
    let output = Command::new(&python)
        .arg("-c")
        .arg(
            "import json, sys, botocore.loaders as l; loader = l.Loader(); \
             print(json.dumps({m: sorted(loader.load_service_model(m, 'service-2')['operations']) \
             for m in sys.argv[1:]}))",
        )
        .args(&models)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "botocore's models: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&output.stdout).expect("JSON");
    models
        .into_iter()
        .map(|model| {
            let ops = names[model]
                .iter()
                .map(|op| (snake(op), op.clone()))
                .collect();
            (model, ops)
        })
        .collect()
}

/// The SDK's method name for an operation: `AcceptAdministratorInvitation` →
/// `accept_administrator_invitation`.
fn snake(operation: &str) -> String {
    let chars: Vec<char> = operation.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The SDK calls in a source: an operation's fluent builder takes no argument and its chain ends
/// in `.send()`, so a call is `.name()` followed by `.send()` before the statement ends, whatever
/// the receiver (whitespace and line breaks are ignored). Wrapper methods of the same name take
/// arguments or are awaited directly, so they do not count.
fn sdk_calls(source: &str) -> BTreeSet<String> {
    let source: String = source.split_whitespace().collect();
    let mut calls = BTreeSet::new();
    for (at, _) in source.match_indices('.') {
        let rest = &source[at + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let Some(after) = rest[name.len()..].strip_prefix("()") else {
            continue;
        };
        let statement = after.split(';').next().unwrap_or_default();
        if !name.is_empty() && name != "send" && statement.contains(".send()") {
            calls.insert(name);
        }
    }
    calls
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The IAM actions the code calls, read from `src/` with [`SDK_CALLERS`]: (with the function's
/// credentials, with the member's).
fn actions_called() -> (BTreeSet<String>, BTreeSet<String>) {
    let operations = operations();
    let owners = |name: &str| -> Vec<&'static str> {
        SERVICES
            .iter()
            .filter(|s| operations[s.model].contains_key(name))
            .map(|s| s.model)
            .collect()
    };
    let mut problems = Vec::new();
    for (file, _, _) in SDK_CALLERS {
        if !root().join(file).exists() {
            problems.push(format!(
                "{file} is in SDK_CALLERS (tests/template.rs) but does not exist: write it, or \
                 point SDK_CALLERS at the file its calls moved to"
            ));
        }
    }
    for file in TEST_ONLY {
        if !root().join(file).exists() {
            problems.push(format!(
                "{file} is in TEST_ONLY (tests/template.rs) but does not exist"
            ));
        }
    }
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let (mut function, mut member) = (BTreeSet::new(), BTreeSet::new());
    for path in files {
        let file = path
            .strip_prefix(root())
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        if TEST_ONLY.contains(&file.as_str()) {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        let listed = SDK_CALLERS.iter().find(|(f, _, _)| *f == file);
        for name in sdk_calls(&source) {
            let of = owners(&name);
            let Some((_, credentials, services)) = listed else {
                if !of.is_empty() {
                    problems.push(format!(
                        "{file} calls client.{name}(), an operation of {of:?}: add {file} to \
                         SDK_CALLERS in tests/template.rs with its service and whose credentials \
                         it uses"
                    ));
                }
                continue;
            };
            let mine: Vec<&Service> = services
                .iter()
                .filter(|s| operations[s.model].contains_key(&name))
                .collect();
            if mine.is_empty() {
                if !of.is_empty() {
                    problems.push(format!(
                        "{file} calls client.{name}(), an operation of {of:?}, but SDK_CALLERS \
                         gives it {services:?}"
                    ));
                }
                continue; // not an operation (clone, config, ...)
            }
            for service in mine {
                let action = format!("{}:{}", service.iam, operations[service.model][&name]);
                match credentials {
                    Credentials::Function => function.insert(action),
                    Credentials::Member => member.insert(action),
                };
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    (function, member)
}

#[test]
fn the_code_calls_exactly_the_actions_granted_and_listed_for_the_member_role() {
    let (function, member) = actions_called();
    assert_eq!(
        function,
        set(FUNCTION_ACTIONS),
        "calls made with the function's credentials (granted in template.yaml)"
    );
    assert_eq!(
        member,
        set(MEMBER_ACTIONS),
        "calls made with the member role's credentials (docs/failure-modes-and-iam.md, Member role)"
    );
}

#[test]
fn the_source_scan_reads_sdk_calls_and_operation_names() {
    assert_eq!(
        snake("AcceptAdministratorInvitation"),
        "accept_administrator_invitation"
    );
    assert_eq!(
        snake("DescribeOrganizationConfiguration"),
        "describe_organization_configuration"
    );
    assert_eq!(snake("GetFindingsV2"), "get_findings_v2");
    let source = "let out = self.sts\n    .assume_role()\n    .role_arn(&arn)\n    .send()\n    .await;\n\
                  deadline.call(client.list_accounts().into_paginator().send()).await;\n\
                  let c = client.clone(); self.list_members(ids).await; service.create_members().await;\n\
                  // `client.invite_members()` in a comment";
    assert_eq!(
        sdk_calls(source),
        set(&["assume_role", "into_paginator", "list_accounts"])
    );
}

/// The user documentation: the README and the pages of docs/, one text.
fn readme() -> String {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for page in pages {
        text.push('\n');
        text.push_str(&std::fs::read_to_string(&page).expect("a page"));
    }
    text
}

/// The documentation's section under `heading` (up to the next heading of any level).
fn readme_section(readme: &str, heading: &str) -> String {
    readme
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("neither the README nor docs/ has {heading}"))
        .split("\n#")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The `service:name` codes of a README table: (first column, other columns).
fn table_codes(section: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut first = BTreeSet::new();
    let mut others = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').collect();
        for (i, cell) in cells.iter().enumerate() {
            for code in cell.split('`').skip(1).step_by(2) {
                let looks_like = code.split_once(':').is_some_and(|(service, name)| {
                    !service.is_empty()
                        && service.chars().all(|c| c.is_ascii_lowercase())
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !name.is_empty()
                });
                if looks_like && i == 1 {
                    first.insert(code.to_owned());
                } else if looks_like {
                    others.insert(code.to_owned());
                }
            }
        }
    }
    (first, others)
}

#[test]
fn the_readme_iam_table_is_the_templates_grant() {
    let template = load("template.yaml");
    let (actions, keys) = table_codes(&readme_section(&readme(), "## IAM permissions"));
    let granted: BTreeSet<String> = granted_actions(&template).into_iter().collect();
    assert_eq!(
        actions, granted,
        "docs/failure-modes-and-iam.md ## IAM permissions lists exactly the grant"
    );
    let used: BTreeSet<String> = function_statements(&template)
        .iter()
        .flat_map(|(_, s)| condition_variants(&template, s))
        .flat_map(|block| {
            block
                .values()
                .flat_map(|keys| {
                    keys.as_object()
                        .expect("keys")
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        keys, used,
        "README names every condition key the grant uses"
    );
}

#[test]
fn the_readme_member_role_section_lists_what_the_member_role_needs() {
    let section = readme_section(&readme(), "### Member role");
    let (actions, _) = table_codes(&section);
    assert_eq!(
        actions,
        set(MEMBER_ACTIONS),
        "README ### Member role lists exactly the calls made as the member"
    );
    for role in ["AWSControlTowerExecution", "OrganizationAccountAccessRole"] {
        assert!(
            section.contains(role),
            "the Member role section names {role}"
        );
    }
}

/// The session policy the function passes with `AssumeRole` allows exactly the calls made as the
/// member, and service-linked roles for those services only; the README's example role allows
/// the same actions.
#[test]
fn the_member_session_allows_exactly_the_member_calls() {
    let policy: Value = serde_json::from_str(onboarder::member_role::SESSION_POLICY)
        .expect("the session policy is JSON");
    let statements = policy["Statement"].as_array().expect("statements");
    let accept = by_sid(statements, "AcceptInvitations");
    let allowed: BTreeSet<String> = list(&accept["Action"]).into_iter().collect();
    assert_eq!(allowed, set(MEMBER_ACTIONS));
    let linked = by_sid(statements, "ServiceLinkedRoles");
    assert_eq!(linked["Action"], "iam:CreateServiceLinkedRole");
    let services: BTreeSet<String> =
        list(&linked["Condition"]["StringEquals"]["iam:AWSServiceName"])
            .into_iter()
            .collect();
    assert_eq!(
        services,
        set(&[
            "guardduty.amazonaws.com",
            "malware-protection.guardduty.amazonaws.com",
            "securityhub.amazonaws.com"
        ])
    );
    assert!(statements.iter().all(|s| s["Effect"] == "Allow"));
    assert_eq!(onboarder::member_role::SESSION_SECONDS, 900);
    let readme = readme_section(&readme(), "### Member role");
    for action in MEMBER_ACTIONS {
        assert!(
            readme.contains(&format!("- {action}")),
            "the README's example role allows {action}"
        );
    }
}

/// The statement of a policy with this `Sid`.
fn by_sid<'a>(statements: &'a [Value], sid: &str) -> &'a Value {
    statements
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"))
}

/// A dead-letter queue's messages are read, moved or deleted only by a principal tagged for it.
fn assert_readers_only(statement: &Value) {
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Principal"], "*");
    let actions: BTreeSet<&str> = statement["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for action in [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:PurgeQueue",
        "sqs:ChangeMessageVisibility",
        "sqs:StartMessageMoveTask",
    ] {
        assert!(
            actions.contains(action),
            "{action} is denied to the untagged"
        );
    }
    assert_eq!(
        statement["Condition"],
        json!({"StringNotEquals": {"aws:PrincipalTag/onboarder-dead-letter-reader": "true"}})
    );
}

#[test]
fn failures_are_kept_and_alarmed() {
    let template = load("template.yaml");
    let f = function(&template);
    let invoke = &f["EventInvokeConfig"];
    assert!(invoke["MaximumRetryAttempts"].as_i64().is_some());
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    let resources = &template["Resources"];
    let queue = &resources["DeadLetterQueue"]["Properties"];
    assert_eq!(queue["MessageRetentionPeriod"], 1_209_600, "14 days");
    assert_eq!(queue["SqsManagedSseEnabled"], true, "encrypted");
    let statements =
        &resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(
        statements[0]["Condition"]["ArnLike"]["aws:SourceArn"],
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${AccountEventBus}/*",
        "only rules on the stack's own bus"
    );
    let statements = statements.as_array().expect("statements");
    let tls = by_sid(statements, "TlsOnly");
    assert_eq!(
        tls["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}}),
        "TLS only"
    );
    assert_eq!(tls["Action"], "sqs:*", "every request, not only sends");
    assert_readers_only(by_sid(statements, "ReadersOnly"));
    for (alarm, metric) in [
        ("FunctionErrorsAlarm", "Errors"),
        ("DeadLetterAlarm", "ApproximateNumberOfMessagesVisible"),
    ] {
        assert_eq!(resources[alarm]["Properties"]["MetricName"], metric);
        assert_eq!(
            resources[alarm]["Properties"]["AlarmActions"],
            json!(["AlarmTopic"])
        );
    }
    assert_eq!(
        resources["AlarmEmailSubscription"]["Condition"],
        "HasAlarmEmail"
    );
    for output in [
        "FunctionArn",
        "EventBusArn",
        "DeadLetterQueueUrl",
        "AlarmTopicArn",
    ] {
        assert!(template["Outputs"][output].is_object(), "output {output}");
    }
    assert_eq!(
        template["Outputs"]["EventBusArn"]["Value"],
        "AccountEventBus.Arn"
    );
}

#[test]
fn the_matcher_follows_eventbridge_rules() {
    let event = json!({"a": "x", "n": {"b": ["p", "q"]}});
    assert!(matches(&json!({"a": ["x", "y"]}), &event));
    assert!(!matches(&json!({"a": ["y"]}), &event));
    assert!(
        matches(&json!({"n": {"b": ["q"]}}), &event),
        "array elements"
    );
    assert!(!matches(&json!({"n": {"c": ["q"]}}), &event));
    assert!(matches(&json!({"z": [{"exists": false}]}), &event));
    assert!(!matches(&json!({"a": [{"exists": false}]}), &event));
    assert!(matches(&json!({"a": [{"prefix": "x"}]}), &event));
    assert!(matches(
        &json!({"a": [{"equals-ignore-case": "X"}]}),
        &event
    ));
    assert!(matches(&json!({"a": [{"anything-but": ["y"]}]}), &event));
    assert!(
        !matches(&json!({"a": {"nested": ["x"]}}), &event),
        "an object pattern needs an object"
    );
}

/// The coverage alarm reads what the function writes: the run's metrics (src/metrics.rs) in the
/// stack's namespace, summed once per run over what needs a person, to the alarm topic; it can
/// be turned off, and the stack refuses it where Lambda would drop the metrics' INFO record.
#[test]
fn the_coverage_alarm_sums_the_runs_metrics_that_need_a_person() {
    let template = load("template.yaml");
    let alarm = &template["Resources"]["CoverageAlarm"];
    assert_eq!(alarm["Condition"], "HasCoverageAlarm");
    assert_eq!(
        template["Conditions"]["HasCoverageAlarm"],
        json!([
            ["EnableCoverageAlarm", "true"],
            [["MetricsNamespace", "none"]]
        ])
    );
    let properties = &alarm["Properties"];
    assert_eq!(properties["AlarmActions"], json!(["AlarmTopic"]));
    assert_eq!(properties["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(properties["Threshold"], 0);
    assert_eq!(properties["TreatMissingData"], "notBreaching");
    let written: BTreeSet<&str> = onboarder::metrics::run_metric_names().collect();
    let mut summed = BTreeSet::new();
    let mut expression = None;
    for query in properties["Metrics"].as_array().expect("metric queries") {
        match query.get("Expression") {
            Some(e) => {
                assert_eq!(query["ReturnData"], true);
                expression = e.as_str();
            }
            None => {
                let stat = &query["MetricStat"];
                assert_eq!(stat["Metric"]["Namespace"], "MetricsNamespace");
                assert!(
                    stat["Metric"].get("Dimensions").is_none(),
                    "the runs in all: the metrics without dimensions"
                );
                assert_eq!(stat["Stat"], "Sum");
                assert_eq!(query["ReturnData"], false);
                let name = stat["Metric"]["MetricName"].as_str().expect("a name");
                assert!(
                    written.contains(name),
                    "{name} is not a metric the function writes"
                );
                summed.insert((query["Id"].as_str().expect("an id"), name));
            }
        }
    }
    assert_eq!(
        summed
            .iter()
            .map(|(_, name)| *name)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["Departed", "NeedsAction", "RegionsSkipped", "Unprocessed"])
    );
    let terms: BTreeSet<&str> = expression
        .expect("an expression")
        .split('+')
        .map(str::trim)
        .collect();
    assert_eq!(
        terms,
        summed.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        "the expression sums every query"
    );
    let rule = &template["Rules"]["CoverageAlarmHasMetrics"];
    assert_eq!(
        rule["RuleCondition"],
        json!(["EnableCoverageAlarm", "true"])
    );
    let asserted = rule["Assertions"].to_string();
    for needed in ["MetricsNamespace", "LogLevel", "INFO", "DEBUG"] {
        assert!(asserted.contains(needed), "{needed}: {asserted}");
    }
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["MetricsNamespace"]["Default"],
        onboarder::metrics::DEFAULT_NAMESPACE
    );
    assert_eq!(parameters["EnableCoverageAlarm"]["Default"], "true");
}

/// The Serverless Application Repository's metadata: every field within the limits the SAM
/// Developer Guide gives ("AWS SAM template Metadata section properties"), the files it names
/// present, the licence the crate's, and the version the crate's and the changelog's newest.
#[test]
fn the_application_can_be_published_to_the_serverless_application_repository() {
    let template = load("template.yaml");
    let app = &template["Metadata"]["AWS::ServerlessRepo::Application"];
    let text = |key: &str| {
        app[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is required"))
            .to_owned()
    };
    let name = text("Name");
    assert!((1..=140).contains(&name.len()));
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{name}"
    );
    assert!((1..=256).contains(&text("Description").len()));
    // Author: ^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$, 1 to 127 characters.
    let author = text("Author");
    assert!((1..=127).contains(&author.len()));
    assert!(
        author
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !author.starts_with('-')
            && !author.ends_with('-')
            && !author.contains("--"),
        "{author}"
    );
    let labels = app["Labels"].as_array().expect("labels");
    assert!(labels.len() <= 10);
    for label in labels {
        let label = label.as_str().expect("a label");
        assert!((1..=127).contains(&label.len()));
        assert!(
            label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_:/@".contains(c)),
            "{label}"
        );
    }
    assert_eq!(text("SpdxLicenseId"), env!("CARGO_PKG_LICENSE"));
    let licence = std::fs::read_to_string(root().join(text("LicenseUrl"))).expect("the licence");
    assert!(licence.contains("Apache License") && licence.contains("Version 2.0"));
    assert!(root().join(text("ReadmeUrl")).is_file());
    let version = text("SemanticVersion");
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "the crate's version");
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    let newest = changelog
        .lines()
        .find_map(|l| l.strip_prefix("## "))
        .expect("a version in CHANGELOG.md");
    assert_eq!(newest, version, "CHANGELOG.md's newest version");
}

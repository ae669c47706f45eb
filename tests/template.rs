//! The SAM template and the forwarder, checked offline: parameters against the configuration
//! contract, EventBridge patterns against the samples in `events/` (with our matcher and with
//! moto's), IAM against the calls the code makes and the README, the event routing (the stack's
//! own bus, the forwarder's regions, the bus policy), and the pieces that keep failures from
//! being lost. `scripts/check_templates.py` checks the IAM against AWS's own definitions.
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

/// The function's rules: name → pattern.
fn rules(template: &Value) -> Vec<(String, Value)> {
    function(template)["Events"]
        .as_object()
        .expect("the function has Events")
        .iter()
        .map(|(name, event)| {
            assert_eq!(event["Type"], "EventBridgeRule", "{name}");
            assert_eq!(
                event["Properties"]["EventBusName"], "AccountEventBus",
                "{name} listens on the stack's own bus, where the forwarder puts the events"
            );
            (name.clone(), event["Properties"]["Pattern"].clone())
        })
        .collect()
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
        "ManagementAccountId",
        "AlarmEmail",
        "Architecture",
        "LogLevel",
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
            "org_api_accept_handshake.json",
            "OrganizationsAcceptHandshake",
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
        patterns.insert(
            format!("forwarder.yaml {name}"),
            rule["Properties"]["EventPattern"].clone(),
        );
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
        .map(|(name, r)| (name.clone(), r["Properties"]["EventPattern"].clone()))
        .collect();
    assert_eq!(
        patterns,
        rules(&template),
        "the same rules, the same patterns"
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
    let deny = &statements[1];
    assert_eq!(deny["Effect"], "Deny");
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

#[test]
fn the_function_runs_one_invocation_at_a_time() {
    let template = load("template.yaml");
    assert_eq!(function(&template)["ReservedConcurrentExecutions"], 1);
}
/// The IAM actions the code calls, read from the source: each SDK operation is called on a
/// receiver named `client`, and each module talks to one service.
fn actions_called() -> BTreeSet<String> {
    let services = [
        ("guardduty.rs", "guardduty"),
        ("lookup.rs", "organizations"),
        ("mail.rs", "ses"),
    ];
    let mut actions = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("src")).expect("src/") {
        let path = entry.expect("entry").path();
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let source: String = std::fs::read_to_string(&path)
            .expect("source")
            .split_whitespace()
            .collect();
        let mut rest = source.as_str();
        while let Some(at) = rest.find("client.") {
            rest = &rest[at + "client.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !rest[name.len()..].starts_with("()") {
                continue;
            }
            let service = services
                .iter()
                .find(|(f, _)| *f == file)
                .map(|(_, s)| *s)
                .unwrap_or_else(|| {
                    panic!("{file} calls client.{name}(): give the module its service in this test")
                });
            let pascal: String = name
                .split('_')
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect();
            actions.insert(format!("{service}:{pascal}"));
        }
    }
    actions
}

/// The function role's statements, with `!If [SendsReport, {statement}, AWS::NoValue]` (which
/// loads as an array) taken as its statement.
fn function_statements(template: &Value) -> Vec<Value> {
    let mut statements = Vec::new();
    for policy in function(template)["Policies"].as_array().expect("Policies") {
        for statement in policy["Statement"].as_array().expect("Statement") {
            let statement = statement
                .as_array()
                .map_or(statement, |branches| &branches[1]);
            statements.push(statement.clone());
        }
    }
    statements
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
        .flat_map(|s| {
            assert_eq!(s["Effect"], "Allow");
            list(&s["Action"])
        })
        .collect()
}

#[test]
fn iam_grants_exactly_the_actions_the_code_calls_and_no_wildcard() {
    let template = load("template.yaml");
    let called = actions_called();
    let expected: BTreeSet<String> = [
        "guardduty:ListDetectors",
        "guardduty:GetMembers",
        "guardduty:CreateMembers",
        "guardduty:InviteMembers",
        "guardduty:DescribeOrganizationConfiguration",
        "organizations:DescribeAccount",
        "ses:SendEmail",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        called, expected,
        "the source scan finds every call the product makes"
    );

    let granted = granted_actions(&template);
    let granted_set: BTreeSet<String> = granted.iter().cloned().collect();
    assert_eq!(granted.len(), granted_set.len(), "no action granted twice");
    assert_eq!(
        granted_set, called,
        "granted = called: nothing missing, nothing more"
    );

    // No wildcard action anywhere in either template (policies, queue policy, bus policy).
    for file in ["template.yaml", "forwarder.yaml"] {
        let mut stack = vec![load(file)];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(map) => {
                    if let Some(action) = map.get("Action") {
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
fn actions_without_a_resource_type_are_limited_to_the_onboarded_regions() {
    let template = load("template.yaml");
    let mut star = 0;
    for statement in function_statements(&template) {
        if statement["Resource"] == "*" {
            star += 1;
            assert!(
                list(&statement["Action"])
                    .iter()
                    .all(|a| a.starts_with("guardduty:")),
                "{statement}"
            );
            // The Regions parameter, split, or the stack's own region when it is empty.
            assert_eq!(
                statement["Condition"]["StringEquals"]["aws:RequestedRegion"],
                json!(["HasRegions", [",", "Regions"], ["AWS::Region"]]),
                "{statement}"
            );
        }
    }
    assert_eq!(star, 1, "one statement on \"*\": GuardDuty's");
}

/// The README's IAM table: its first column's `service:Action`s and every `service:key`
/// condition key it names.
fn readme_iam_table() -> (BTreeSet<String>, BTreeSet<String>) {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = readme
        .split("\n## IAM permissions\n")
        .nth(1)
        .expect("README has ## IAM permissions")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut actions = BTreeSet::new();
    let mut keys = BTreeSet::new();
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
                    actions.insert(code.to_owned());
                } else if looks_like {
                    keys.insert(code.to_owned());
                }
            }
        }
    }
    (actions, keys)
}

#[test]
fn the_readme_iam_table_is_the_templates_grant() {
    let template = load("template.yaml");
    let (actions, keys) = readme_iam_table();
    let granted: BTreeSet<String> = granted_actions(&template).into_iter().collect();
    assert_eq!(
        actions, granted,
        "README ## IAM permissions lists exactly the grant"
    );
    let used: BTreeSet<String> = function_statements(&template)
        .iter()
        .filter_map(|s| s["Condition"].as_object().cloned())
        .flat_map(|c| {
            c.values()
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
    assert_eq!(
        statements[1]["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}}),
        "TLS only"
    );
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

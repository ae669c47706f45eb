//! The SAM template and the forwarder, checked offline: parameters against the configuration
//! contract, EventBridge patterns against the samples in `events/`, IAM against the calls the
//! code makes, and the pieces that keep failures from being lost.
//!
//! YAML tags (`!Ref`, `!Sub`, …) are dropped on load, so `!Ref X` reads as `"X"`.

use std::collections::BTreeSet;
use std::path::PathBuf;

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
            (name.clone(), event["Properties"]["Pattern"].clone())
        })
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

/// Which sample each rule must match; every other sample in `events/` must match no rule.
const EXPECTED: &[(&str, &str)] = &[
    (
        "ControlTowerCreateManagedAccount",
        "ct_create_managed_account.json",
    ),
    (
        "ControlTowerUpdateManagedAccount",
        "ct_update_managed_account.json",
    ),
    (
        "OrganizationsCreateAccountResult",
        "org_create_account_result_succeeded.json",
    ),
    (
        "OrganizationsAcceptHandshake",
        "org_api_accept_handshake.json",
    ),
];

/// AWS has published no sample of AccountJoinedOrganization: this is the documented part of it.
fn account_joined_event() -> Value {
    json!({
        "version": "0", "id": "0d1e2f3a-0000-4111-8222-333344445555",
        "detail-type": "AWS Service Event via CloudTrail", "source": "aws.organizations",
        "account": "111111111111", "time": "2026-05-28T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventSource": "organizations.amazonaws.com", "eventName": "AccountJoinedOrganization",
                   "serviceEventDetails": {"accountId": "555555555555", "joinedMethod": "INVITED", "joinedTime": "2026-05-28T10:00:00Z"}}
    })
}

#[test]
fn each_rule_matches_its_sample_and_nothing_else() {
    let template = load("template.yaml");
    let rules = rules(&template);
    let mut files: Vec<String> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");

    for file in &files {
        let event = sample(file);
        for (rule, pattern) in &rules {
            let expected = EXPECTED.contains(&(rule.as_str(), file.as_str()));
            assert_eq!(matches(pattern, &event), expected, "rule {rule} on {file}");
        }
    }
    let joined = account_joined_event();
    for (rule, pattern) in &rules {
        assert_eq!(
            matches(pattern, &joined),
            rule == "OrganizationsAccountJoinedOrganization",
            "rule {rule} on AccountJoinedOrganization"
        );
    }
    let names: BTreeSet<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
}

#[test]
fn failed_or_unfinished_variants_match_no_rule() {
    let rules = rules(&load("template.yaml"));
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
        ("in progress", in_progress),
        ("handshake error", failed_handshake),
        ("other source", wrong_source),
    ] {
        for (rule, pattern) in &rules {
            assert!(!matches(pattern, &event), "rule {rule} matched {name}");
        }
    }
}

#[test]
fn the_forwarder_forwards_exactly_the_functions_patterns_to_the_bus() {
    let template = load("template.yaml");
    let forwarder = load("forwarder.yaml");
    let resources = forwarder["Resources"].as_object().expect("Resources");
    let forwarded: Vec<(String, Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
        .map(|(name, r)| {
            assert_eq!(
                r["Properties"]["Targets"][0]["Arn"], "TargetEventBusArn",
                "{name}"
            );
            assert_eq!(
                r["Properties"]["Targets"][0]["RoleArn"],
                json!("ForwardRole.Arn"),
                "{name}"
            );
            (name.clone(), r["Properties"]["EventPattern"].clone())
        })
        .collect();
    assert_eq!(forwarded, rules(&template));
    let statements =
        &resources["ForwardRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(
        statements,
        &json!([{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "TargetEventBusArn"}])
    );
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

fn granted_actions(template: &Value) -> Vec<String> {
    let mut actions = Vec::new();
    for policy in function(template)["Policies"].as_array().expect("Policies") {
        for statement in policy["Statement"].as_array().expect("Statement") {
            // `!If [SendsReport, {statement}, AWS::NoValue]` loads as an array.
            let statement = statement
                .as_array()
                .map_or(statement, |branches| &branches[1]);
            assert_eq!(statement["Effect"], "Allow");
            match &statement["Action"] {
                Value::String(a) => actions.push(a.clone()),
                Value::Array(list) => {
                    actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)))
                }
                other => panic!("Action {other}"),
            }
        }
    }
    actions
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
    // Cross-account: the bus lets the management account put events, and only that.
    let policy = &resources["AccountEventBusPolicy"]["Properties"]["Statement"];
    assert_eq!(policy["Action"], "events:PutEvents");
    assert_eq!(resources["AccountEventBus"]["Condition"], "CrossAccount");
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

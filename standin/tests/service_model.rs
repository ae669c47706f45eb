//! The stand-in follows the GuardDuty service model that ships with botocore (AWS's own
//! machine-readable definition of the API, from the pinned Python tools in `.venv`), not our
//! memory of it. For every operation the function calls, requests are built from the model and
//! sent over raw HTTP: the model's route and member names are served; each required member,
//! list length limit and string length limit is enforced with the operation's modelled error;
//! answers use the model's member names and carry its required members; error bodies use the
//! error shape's members and its HTTP status.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value, json};
use standin::{Settings, Standin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "999999999999";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const REGION: &str = "us-east-1";

/// The operations the function calls, in an order in which each valid request succeeds.
const OPERATIONS: &[&str] = &[
    "ListDetectors",
    "DescribeOrganizationConfiguration",
    "CreateMembers",
    "InviteMembers",
    "GetMembers",
];

/// botocore's GuardDuty model, read by botocore itself from the project's `.venv`.
fn model() -> Value {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or scripts/setup), which installs botocore into .venv",
        python.display()
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, botocore.loaders as l; print(json.dumps(l.Loader().load_service_model('guardduty', 'service-2')))",
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the model is JSON")
}

struct Model {
    json: Value,
}

impl Model {
    fn shape(&self, name: &str) -> &Value {
        &self.json["shapes"][name]
    }

    fn operation(&self, name: &str) -> &Value {
        &self.json["operations"][name]
    }

    /// A member's name on the wire.
    fn wire_name<'a>(name: &'a str, member: &'a Value) -> &'a str {
        member["locationName"].as_str().unwrap_or(name)
    }

    /// The members of a structure that travel in the JSON body.
    fn body_members<'a>(&'a self, shape: &'a Value) -> Vec<(&'a str, &'a Value)> {
        shape["members"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, member)| member.get("location").is_none())
                    .map(|(name, member)| (name.as_str(), member))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn required(shape: &Value) -> Vec<&str> {
        shape["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A valid value of a shape, with every body member filled in. Account ids count up from
    /// `next`, so the values are distinct.
    fn valid(&self, name: &str, next: &mut u64) -> Value {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => Value::Object(
                self.body_members(shape)
                    .into_iter()
                    .map(|(n, m)| {
                        let value = self.valid(m["shape"].as_str().unwrap_or(""), next);
                        (Model::wire_name(n, m).to_owned(), value)
                    })
                    .collect(),
            ),
            "list" => {
                let len = shape["min"].as_u64().unwrap_or(0).max(1);
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                Value::Array((0..len).map(|_| self.valid(member, next)).collect())
            }
            "boolean" => json!(true),
            "integer" | "long" => json!(shape["min"].as_u64().unwrap_or(1)),
            "string" => json!(string_of(name, shape, next)),
            other => panic!("no generator for {name} ({other})"),
        }
    }

    /// Every string and list inside a body, with its JSON pointer and shape.
    fn limited(&self, name: &str, pointer: String, out: &mut Vec<(String, String)>) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => {
                for (n, m) in self.body_members(shape) {
                    let child = m["shape"].as_str().unwrap_or("");
                    self.limited(child, format!("{pointer}/{}", Model::wire_name(n, m)), out);
                }
            }
            "list" => {
                out.push((pointer.clone(), name.to_owned()));
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                self.limited(member, format!("{pointer}/0"), out);
            }
            "string" => out.push((pointer, name.to_owned())),
            _ => {}
        }
    }

    /// Checks an answer's body against a shape: only the model's member names, and every
    /// required member present, all the way down.
    fn check_output(&self, name: &str, value: &Value, at: &str) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => {
                let object = value
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: {name} must be an object: {value}"));
                let members: BTreeMap<&str, (&str, &Value)> = self
                    .body_members(shape)
                    .into_iter()
                    .map(|(n, m)| (Model::wire_name(n, m), (n, m)))
                    .collect();
                for (key, v) in object {
                    let Some((_, member)) = members.get(key.as_str()) else {
                        panic!("{at}: {key} is not a member of {name} in the model")
                    };
                    if !v.is_null() {
                        let child = member["shape"].as_str().unwrap_or("");
                        self.check_output(child, v, &format!("{at}.{key}"));
                    }
                }
                for required in Model::required(shape) {
                    let (wire, _) = members
                        .iter()
                        .find(|(_, (n, _))| *n == required)
                        .map(|(w, m)| (*w, m))
                        .unwrap_or_else(|| panic!("{name}.{required}"));
                    assert!(
                        object.get(wire).is_some_and(|v| !v.is_null()),
                        "{at}: required member {wire} of {name} is missing: {value}"
                    );
                }
            }
            "list" => {
                let items = value
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: {name} must be a list"));
                if let Some(max) = shape["max"].as_u64() {
                    assert!(items.len() as u64 <= max, "{at}: more than {max} items");
                }
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                for (i, item) in items.iter().enumerate() {
                    self.check_output(member, item, &format!("{at}[{i}]"));
                }
            }
            "string" => assert!(value.is_string(), "{at}: {name} must be a string"),
            "boolean" => assert!(value.is_boolean(), "{at}: {name} must be a boolean"),
            _ => {}
        }
    }
}

/// A valid string of a shape. Account ids and emails are the members whose values the service
/// checks; other strings only need their length.
fn string_of(name: &str, shape: &Value, next: &mut u64) -> String {
    let min = shape["min"].as_u64().unwrap_or(1).max(1) as usize;
    match name {
        "AccountId" => {
            *next += 1;
            format!("{:012}", 200_000_000_000 + *next)
        }
        "Email" => format!("owner{next}@example.com"),
        _ => "x".repeat(min),
    }
}

struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

async fn send(s: &Standin, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let authority = s.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20261123/{REGION}/guardduty/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("reads");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let error_type = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("x-amzn-errortype")
            .then(|| v.trim().to_owned())
    });
    Answer {
        status,
        error_type,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// An error answer: typed by one of the operation's modelled errors, with that error shape's
/// members and HTTP status.
fn check_error(model: &Model, operation: &str, answer: &Answer, what: &str) {
    let error_type = answer
        .error_type
        .as_deref()
        .unwrap_or_else(|| panic!("{operation} {what}: no x-amzn-ErrorType"));
    let errors: Vec<&str> = model.operation(operation)["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["shape"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        errors.contains(&error_type),
        "{operation} {what}: {error_type} is not among its modelled errors {errors:?}"
    );
    let shape = model.shape(error_type);
    assert_eq!(
        u64::from(answer.status),
        shape["error"]["httpStatusCode"].as_u64().unwrap_or(0),
        "{operation} {what}: {error_type}'s status"
    );
    let members: Vec<&str> = model
        .body_members(shape)
        .into_iter()
        .map(|(n, m)| Model::wire_name(n, m))
        .collect();
    for key in answer.body.as_object().map(Map::keys).into_iter().flatten() {
        assert!(
            members.contains(&key.as_str()) || key == "__type",
            "{operation} {what}: {key} is not a member of {error_type} ({members:?})"
        );
    }
    assert!(
        answer.body["message"].is_string(),
        "{operation} {what}: the error says why"
    );
}

fn set(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    *body.pointer_mut(pointer).expect("the pointer exists") = value;
    body
}

#[tokio::test]
async fn the_standin_follows_the_guardduty_service_model() {
    let model = Model { json: model() };
    let s = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(REGION.into(), DETECTOR.into())]),
    })
    .await
    .expect("starts");
    s.delegate(&[REGION], &[]);
    let mut checked = 0;

    for &operation in OPERATIONS {
        let op = model.operation(operation);
        let method = op["http"]["method"].as_str().expect("a method");
        let path = op["http"]["requestUri"]
            .as_str()
            .expect("a route")
            .replace("{DetectorId}", DETECTOR);
        let input = op["input"]["shape"].as_str().unwrap_or("");
        let has_body = !model.body_members(model.shape(input)).is_empty();
        let body = has_body.then(|| model.valid(input, &mut 0));

        // The route and the member names: a request built from the model succeeds, as the
        // operation the model names, and its optional members are read.
        let answer = send(&s, method, &path, body.as_ref()).await;
        assert_eq!(
            answer.status,
            op["http"]["responseCode"].as_u64().unwrap_or(200) as u16,
            "{operation} {method} {path}: {}",
            answer.body
        );
        let call = s.calls().pop().expect("the call is recorded");
        assert_eq!(format!("{:?}", call.operation), operation);
        if operation == "InviteMembers" {
            assert_eq!(call.message.as_deref(), Some("x"), "message is read");
            assert_eq!(call.disable_email_notification, Some(true));
        }
        let output = op["output"]["shape"].as_str().expect("an output");
        model.check_output(output, &answer.body, operation);
        checked += 1;

        let Some(body) = body else { continue };
        // Every required body member.
        for required in Model::required(model.shape(input)) {
            let member = &model.shape(input)["members"][required];
            if member.get("location").is_some() {
                continue;
            }
            let mut without = body.clone();
            without
                .as_object_mut()
                .expect("an object")
                .remove(Model::wire_name(required, member));
            let answer = send(&s, method, &path, Some(&without)).await;
            check_error(&model, operation, &answer, &format!("without {required}"));
            checked += 1;
        }
        // Every list and string length limit.
        let mut limited = Vec::new();
        model.limited(input, String::new(), &mut limited);
        for (pointer, shape_name) in limited {
            let shape = model.shape(&shape_name);
            let (min, max) = (shape["min"].as_u64(), shape["max"].as_u64());
            let mut variants = Vec::new();
            match shape["type"].as_str() {
                Some("list") => {
                    let member = shape["member"]["shape"].as_str().unwrap_or("");
                    let items = |n: u64| {
                        let mut next = 1_000;
                        Value::Array((0..n).map(|_| model.valid(member, &mut next)).collect())
                    };
                    if let Some(max) = max {
                        variants
                            .push((format!("{pointer} with {} items", max + 1), items(max + 1)));
                        let answer =
                            send(&s, method, &path, Some(&set(&body, &pointer, items(max)))).await;
                        assert_eq!(
                            answer.status, 200,
                            "{operation}: {max} items are allowed: {}",
                            answer.body
                        );
                    }
                    if let Some(min) = min.filter(|m| *m > 0) {
                        variants
                            .push((format!("{pointer} with {} items", min - 1), items(min - 1)));
                    }
                }
                _ => {
                    if let Some(max) = max {
                        variants.push((
                            format!("{pointer} of {} characters", max + 1),
                            json!("7".repeat(max as usize + 1)),
                        ));
                    }
                    if let Some(min) = min.filter(|m| *m > 0) {
                        variants.push((
                            format!("{pointer} of {} characters", min - 1),
                            json!("7".repeat(min as usize - 1)),
                        ));
                    }
                }
            }
            for (what, value) in variants {
                let answer = send(&s, method, &path, Some(&set(&body, &pointer, value))).await;
                check_error(&model, operation, &answer, &what);
                checked += 1;
            }
        }
    }
    // A detector the caller does not own, and a delegated-administrator question from an
    // account that is not one: modelled errors too.
    let answer = send(
        &s,
        "POST",
        "/detector/not-mine/member/get",
        Some(&json!({"accountIds": ["222222222222"]})),
    )
    .await;
    check_error(&model, "GetMembers", &answer, "on another detector");
    let other = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(REGION.into(), DETECTOR.into())]),
    })
    .await
    .expect("starts");
    let answer = send(&other, "GET", &format!("/detector/{DETECTOR}/admin"), None).await;
    check_error(
        &model,
        "DescribeOrganizationConfiguration",
        &answer,
        "by an account that is not the delegated administrator",
    );
    eprintln!(
        "{checked} model checks over {} operations",
        OPERATIONS.len()
    );
    assert!(checked >= 15, "only {checked} checks ran");
}

//! The stand-in follows the service models that ship with botocore (AWS's own machine-readable
//! definitions of the APIs, from the pinned Python tools in `.venv`), not our memory of them:
//! GuardDuty, Security Hub and Account. For every operation the function calls, requests are
//! built from the model and sent over raw HTTP, signed (in scope only) by the administrator or
//! a member account as the operation needs:
//! - the model's route, query and body member names are served, and a valid request succeeds
//!   with the model's response code, as the operation the model names;
//! - each required body member, each list, string and integer limit (body and query), each
//!   pattern and each top-level enum is enforced with one of the operation's modelled errors, with
//!   that error shape's members and HTTP status; refused requests go first, so a later valid
//!   request proves they changed nothing it needs;
//! - answers use the model's member names and types and carry its required members;
//! - paginated operations page with the model's paginator keys (limit 1, token in, token out)
//!   and hand out every item once;
//! - the errors that come from the front door (a service control policy, a region not
//!   enabled, the rate limit) and from state (a hub not enabled, a second hub or detector, an
//!   invitation that does not match) carry a modelled shape where the model has one.
//!
//! Not checked: limits inside maps (tags) and enums below the top level of a body.
//! Organizations (awsJson1_1) and STS (awsQuery) are checked the same way in
//! `tests/service_model_organizations_sts.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value, json};
use standin::{Settings, Standin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "999999999999";
const ADMIN_KEY: &str = "AKIDADMIN";
/// The account the generated requests create and invite first (account ids count up from
/// 200000000001), which then accepts as the member.
const MEMBER: &str = "200000000001";
const MEMBER_KEY: &str = "AKIDMEMBER";
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const REGION: &str = "us-east-1";

/// The operations the function calls, per service, in an order in which each valid request
/// succeeds, with the access key that signs them.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("guardduty", "ListDetectors", ADMIN_KEY),
    ("guardduty", "DescribeOrganizationConfiguration", ADMIN_KEY),
    ("guardduty", "CreateMembers", ADMIN_KEY),
    ("guardduty", "InviteMembers", ADMIN_KEY),
    ("guardduty", "GetMembers", ADMIN_KEY),
    ("guardduty", "ListMembers", ADMIN_KEY),
    ("guardduty", "CreateDetector", MEMBER_KEY),
    ("guardduty", "ListInvitations", MEMBER_KEY),
    ("guardduty", "AcceptAdministratorInvitation", MEMBER_KEY),
    ("securityhub", "EnableSecurityHub", ADMIN_KEY),
    ("securityhub", "CreateMembers", ADMIN_KEY),
    ("securityhub", "InviteMembers", ADMIN_KEY),
    ("securityhub", "GetMembers", ADMIN_KEY),
    ("securityhub", "ListMembers", ADMIN_KEY),
    ("securityhub", "EnableSecurityHub", MEMBER_KEY),
    ("securityhub", "DescribeHub", MEMBER_KEY),
    ("securityhub", "ListInvitations", MEMBER_KEY),
    ("securityhub", "AcceptAdministratorInvitation", MEMBER_KEY),
    ("account", "ListRegions", ADMIN_KEY),
];

/// botocore's models of the three services, read by botocore itself from the project's `.venv`.
fn models() -> BTreeMap<String, Model> {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or scripts/setup), which installs botocore into .venv",
        python.display()
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, botocore.loaders as l\n\
             L = l.Loader()\n\
             print(json.dumps({s: {'service': L.load_service_model(s, 'service-2'), 'paginators': L.load_service_model(s, 'paginators-1')} for s in ['guardduty', 'securityhub', 'account']}))",
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Map<String, Value> = serde_json::from_slice(&out.stdout).expect("the models are JSON");
    all.into_iter()
        .map(|(name, v)| {
            (
                name,
                Model {
                    json: v["service"].clone(),
                    paginators: v["paginators"]["pagination"].clone(),
                },
            )
        })
        .collect()
}

struct Model {
    json: Value,
    paginators: Value,
}

/// A member of a structure: its name in the model, its name on the wire, the member itself.
struct Member<'a> {
    name: &'a str,
    wire: &'a str,
    def: &'a Value,
}

impl Member<'_> {
    fn shape(&self) -> &str {
        self.def["shape"].as_str().unwrap_or("")
    }

    fn location(&self) -> Option<&str> {
        self.def["location"].as_str()
    }
}

impl Model {
    fn shape(&self, name: &str) -> &Value {
        &self.json["shapes"][name]
    }

    fn operation(&self, name: &str) -> &Value {
        &self.json["operations"][name]
    }

    fn members<'a>(&'a self, shape: &'a Value) -> Vec<Member<'a>> {
        shape["members"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, def)| Member {
                        name,
                        wire: def["locationName"].as_str().unwrap_or(name),
                        def,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The members of a structure that travel in the JSON body.
    fn body_members<'a>(&'a self, shape: &'a Value) -> Vec<Member<'a>> {
        self.members(shape)
            .into_iter()
            .filter(|m| m.location().is_none())
            .collect()
    }

    fn query_members<'a>(&'a self, shape: &'a Value) -> Vec<Member<'a>> {
        self.members(shape)
            .into_iter()
            .filter(|m| m.location() == Some("querystring"))
            .collect()
    }

    fn required(shape: &Value) -> Vec<&str> {
        shape["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A valid value of a shape, with every body member filled in but page tokens (which only
    /// the service can make). `hint` is the member's wire name, which tells account ids and
    /// emails apart from other strings. Account ids count up from `next`, so they are distinct.
    fn valid(&self, name: &str, hint: &str, next: &mut u64) -> Value {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => Value::Object(
                self.body_members(shape)
                    .into_iter()
                    .filter(|m| !is_token(m.wire))
                    .map(|m| (m.wire.to_owned(), self.valid(m.shape(), m.wire, next)))
                    .collect(),
            ),
            "list" => {
                let len = shape["min"].as_u64().unwrap_or(0).max(1);
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                let hint = item_hint(hint);
                Value::Array((0..len).map(|_| self.valid(member, hint, next)).collect())
            }
            "map" => {
                let key = shape["key"]["shape"].as_str().unwrap_or("");
                let value = shape["value"]["shape"].as_str().unwrap_or("");
                let k = self.valid(key, "", next);
                json!({ k.as_str().unwrap_or("k"): self.valid(value, "", next) })
            }
            "boolean" => json!(true),
            "integer" | "long" => json!(shape["min"].as_u64().unwrap_or(1)),
            "string" => json!(string_of(name, shape, hint, next)),
            other => panic!("no generator for {name} ({other})"),
        }
    }

    /// Every limited list, string and integer inside a body (not inside maps), with its JSON
    /// pointer, shape name and the wire name that hints at its meaning.
    fn limited(
        &self,
        name: &str,
        pointer: String,
        hint: &str,
        out: &mut Vec<(String, String, String)>,
    ) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => {
                for m in self.body_members(shape) {
                    self.limited(m.shape(), format!("{pointer}/{}", m.wire), m.wire, out);
                }
            }
            "list" => {
                out.push((pointer.clone(), name.to_owned(), hint.to_owned()));
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                self.limited(member, format!("{pointer}/0"), item_hint(hint), out);
            }
            "string" | "integer" | "long" => out.push((pointer, name.to_owned(), hint.to_owned())),
            _ => {}
        }
    }

    /// Checks an answer's body against a shape: only the model's member names and types, and
    /// every required member present, all the way down.
    fn check_output(&self, name: &str, value: &Value, at: &str) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => {
                let object = value
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: {name} must be an object: {value}"));
                let members = self.body_members(shape);
                for (key, v) in object {
                    let Some(member) = members.iter().find(|m| m.wire == key) else {
                        panic!("{at}: {key} is not a member of {name} in the model")
                    };
                    if !v.is_null() {
                        self.check_output(member.shape(), v, &format!("{at}.{key}"));
                    }
                }
                for required in Model::required(shape) {
                    let member = members
                        .iter()
                        .find(|m| m.name == required)
                        .unwrap_or_else(|| panic!("{name}.{required}"));
                    assert!(
                        object.get(member.wire).is_some_and(|v| !v.is_null()),
                        "{at}: required member {} of {name} is missing: {value}",
                        member.wire
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
            "string" => {
                let s = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}: {name} must be a string"));
                if let Some(values) = shape["enum"].as_array() {
                    assert!(
                        values.iter().any(|v| v == s),
                        "{at}: {s:?} is not in {name}'s enum"
                    );
                }
            }
            // restJson1 carries iso8601 timestamps as strings.
            "timestamp" => assert!(value.is_string(), "{at}: {name} must be a date-time string"),
            "boolean" => assert!(value.is_boolean(), "{at}: {name} must be a boolean"),
            "integer" | "long" => assert!(value.is_i64(), "{at}: {name} must be an integer"),
            _ => {}
        }
    }
}

fn is_token(wire: &str) -> bool {
    wire.eq_ignore_ascii_case("nextToken")
}

/// What the items of a list member are: `accountIds` holds account ids.
fn item_hint(list: &str) -> &'static str {
    if list.eq_ignore_ascii_case("accountIds") {
        "accountId"
    } else {
        ""
    }
}

/// A valid string of a shape. Account ids and emails are the values the services check; enums
/// take their first value; other strings only need their length.
fn string_of(name: &str, shape: &Value, hint: &str, next: &mut u64) -> String {
    if let Some(first) = shape["enum"][0].as_str() {
        return first.to_owned();
    }
    let min = shape["min"].as_u64().unwrap_or(1).max(1) as usize;
    if name == "AccountId" || hint.eq_ignore_ascii_case("accountId") {
        *next += 1;
        format!("{:012}", 200_000_000_000 + *next)
    } else if name == "Email" || hint.eq_ignore_ascii_case("email") {
        format!("owner{next}@example.com")
    } else {
        "x".repeat(min)
    }
}

/// A string that breaks a pattern of the models. A pattern not listed here fails the test, so
/// that a new one is noticed and given a counter-example.
fn breaking(pattern: &str) -> &'static str {
    match pattern {
        r".*\S.*" => " ",
        r"\d{12}" => "12345678901x",
        other => panic!("no counter-example for the pattern {other:?}: add one"),
    }
}

/// A query value of a shape: integers at their minimum, booleans true. GuardDuty's
/// `onlyAssociated` is a string holding a boolean (its documentation).
fn query_value(model: &Model, member: &Member) -> Option<String> {
    let shape = model.shape(member.shape());
    match shape["type"].as_str().unwrap_or("") {
        _ if is_token(member.wire) => None,
        "integer" | "long" => Some(shape["min"].as_u64().unwrap_or(1).to_string()),
        "boolean" => Some("true".to_owned()),
        _ if member.wire == "onlyAssociated" => Some("true".to_owned()),
        _ => Some(string_of(member.shape(), shape, member.wire, &mut 0)),
    }
}

struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

/// A request over raw HTTP, with a SigV4 credential scope naming the key, region and service
/// (the stand-in, like moto, does not check signatures).
async fn send(
    s: &Standin,
    service: &str,
    key: &str,
    region: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let authority = s.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/20261123/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

/// An error answer with one of the model's error shapes: that shape's HTTP status, only its
/// body members (GuardDuty also sends `__type`), and a message saying why. With `operation`,
/// the shape must be among the operation's modelled errors.
fn check_error_shape(model: &Model, operation: Option<&str>, answer: &Answer, what: &str) {
    let error_type = answer
        .error_type
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no x-amzn-ErrorType: {}", answer.body));
    if let Some(operation) = operation {
        let errors: Vec<&str> = model.operation(operation)["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["shape"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            errors.contains(&error_type),
            "{what}: {error_type} is not among {operation}'s modelled errors {errors:?}: {}",
            answer.body
        );
    }
    let shape = model.shape(error_type);
    assert!(
        shape.is_object(),
        "{what}: {error_type} is not a shape of the model"
    );
    assert_eq!(
        u64::from(answer.status),
        shape["error"]["httpStatusCode"].as_u64().unwrap_or(0),
        "{what}: {error_type}'s status"
    );
    let members = model.body_members(shape);
    for key in answer.body.as_object().map(Map::keys).into_iter().flatten() {
        assert!(
            members.iter().any(|m| m.wire == key) || key == "__type",
            "{what}: {key} is not a member of {error_type}"
        );
    }
    let message = members
        .iter()
        .find(|m| m.wire.eq_ignore_ascii_case("message"))
        .unwrap_or_else(|| panic!("{error_type} has no message member"));
    assert!(
        answer.body[message.wire]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: the error says why in {}: {}",
        message.wire,
        answer.body
    );
}

fn check_error(model: &Model, operation: &str, answer: &Answer, what: &str) {
    check_error_shape(
        model,
        Some(operation),
        answer,
        &format!("{operation} {what}"),
    );
}

/// The body with the value at `pointer` replaced, or added where the valid body leaves the
/// member out (page tokens).
fn set(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    if let Some(slot) = body.pointer_mut(pointer) {
        *slot = value;
    } else {
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        body.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("the parent exists")
            .insert(key.to_owned(), value);
    }
    body
}

fn path_and_query(path: &str, query: &BTreeMap<String, String>) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", pairs.join("&"))
}

/// One operation's request, as the model builds it.
struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    body: Option<Value>,
}

async fn invitation_id(s: &Standin, service: &str) -> String {
    let (path, list, id) = match service {
        "guardduty" => ("/invitation", "invitations", "invitationId"),
        _ => ("/invitations", "Invitations", "InvitationId"),
    };
    let answer = send(s, service, MEMBER_KEY, REGION, "GET", path, None).await;
    answer.body[list][0][id]
        .as_str()
        .unwrap_or_else(|| panic!("{service}: {MEMBER} has no invitation: {}", answer.body))
        .to_owned()
}

/// The request for an operation: the model's route with the caller's detector, valid query
/// members, and a valid body with the values only the state can give (who invited whom).
async fn request(s: &Standin, model: &Model, service: &str, operation: &str, key: &str) -> Request {
    let op = model.operation(operation);
    let detector = if key == MEMBER_KEY {
        s.member_detectors(MEMBER)
            .get(REGION)
            .cloned()
            .unwrap_or_default()
    } else {
        DETECTOR.to_owned()
    };
    let path = op["http"]["requestUri"]
        .as_str()
        .expect("a route")
        .replace("{DetectorId}", &detector);
    let input = model.shape(op["input"]["shape"].as_str().unwrap_or(""));
    let query = model
        .query_members(input)
        .iter()
        .filter_map(|m| Some((m.wire.to_owned(), query_value(model, m)?)))
        .collect();
    let has_body = !model.body_members(input).is_empty();
    let mut body =
        has_body.then(|| model.valid(op["input"]["shape"].as_str().unwrap_or(""), "", &mut 0));
    if operation == "AcceptAdministratorInvitation" {
        let id = invitation_id(s, service).await;
        let body = body.as_mut().expect("a body");
        for m in model.body_members(input) {
            match m.name {
                "AdministratorId" => body[m.wire] = json!(ADMIN),
                "InvitationId" => body[m.wire] = json!(id),
                _ => {}
            }
        }
    }
    Request {
        method: op["http"]["method"].as_str().expect("a method").to_owned(),
        path,
        query,
        body,
    }
}

/// The refused variants of a request: without each required body member, and past each limit,
/// enum and pattern of its body and query.
fn refused_variants(
    model: &Model,
    operation: &str,
    req: &Request,
) -> Vec<(String, BTreeMap<String, String>, Option<Value>)> {
    let op = model.operation(operation);
    let input_name = op["input"]["shape"].as_str().unwrap_or("");
    let input = model.shape(input_name);
    let mut out = Vec::new();
    if let Some(body) = &req.body {
        for required in Model::required(input) {
            let Some(m) = model
                .body_members(input)
                .into_iter()
                .find(|m| m.name == required)
            else {
                continue;
            };
            let mut without = body.clone();
            without.as_object_mut().expect("an object").remove(m.wire);
            out.push((
                format!("without {required}"),
                req.query.clone(),
                Some(without),
            ));
        }
        let mut limited = Vec::new();
        model.limited(input_name, String::new(), "", &mut limited);
        for (pointer, shape_name, hint) in limited {
            let shape = model.shape(&shape_name);
            let (min, max) = (shape["min"].as_u64(), shape["max"].as_u64());
            let top_level = pointer.matches('/').count() == 1
                || (pointer.matches('/').count() == 2 && pointer.ends_with("/0"));
            let with = |value: Value| Some(set(body, &pointer, value));
            match shape["type"].as_str() {
                Some("list") => {
                    let member = shape["member"]["shape"].as_str().unwrap_or("");
                    let items = |n: u64| {
                        let mut next = 1_000;
                        Value::Array(
                            (0..n)
                                .map(|_| model.valid(member, item_hint(&hint), &mut next))
                                .collect(),
                        )
                    };
                    if let Some(max) = max {
                        out.push((
                            format!("{pointer} with {} items", max + 1),
                            req.query.clone(),
                            with(items(max + 1)),
                        ));
                    }
                    if let Some(min) = min.filter(|m| *m > 0) {
                        out.push((
                            format!("{pointer} with {} items", min - 1),
                            req.query.clone(),
                            with(items(min - 1)),
                        ));
                    }
                }
                Some("integer") | Some("long") => {
                    if let Some(max) = max {
                        out.push((
                            format!("{pointer} = {}", max + 1),
                            req.query.clone(),
                            with(json!(max + 1)),
                        ));
                    }
                    if let Some(min) = min {
                        out.push((
                            format!("{pointer} = {}", min as i64 - 1),
                            req.query.clone(),
                            with(json!(min as i64 - 1)),
                        ));
                    }
                }
                _ => {
                    if let Some(max) = max {
                        out.push((
                            format!("{pointer} of {} characters", max + 1),
                            req.query.clone(),
                            with(json!("7".repeat(max as usize + 1))),
                        ));
                    }
                    if let Some(min) = min.filter(|m| *m > 0) {
                        out.push((
                            format!("{pointer} of {} characters", min - 1),
                            req.query.clone(),
                            with(json!("7".repeat(min as usize - 1))),
                        ));
                    }
                    if top_level && shape["enum"].is_array() && has_input_error(model, operation) {
                        out.push((
                            format!("{pointer} outside the enum"),
                            req.query.clone(),
                            with(json!("NOT_IN_THE_ENUM")),
                        ));
                    }
                    if let Some(pattern) = shape["pattern"].as_str() {
                        out.push((
                            format!("{pointer} against {pattern:?}"),
                            req.query.clone(),
                            with(json!(breaking(pattern))),
                        ));
                    }
                }
            }
        }
    }
    for m in model.query_members(input) {
        let shape = model.shape(m.shape());
        if matches!(shape["type"].as_str(), Some("integer") | Some("long")) {
            for bad in [
                shape["max"].as_i64().map(|v| v + 1),
                shape["min"].as_i64().map(|v| v - 1),
            ]
            .into_iter()
            .flatten()
            {
                let mut query = req.query.clone();
                query.insert(m.wire.to_owned(), bad.to_string());
                out.push((format!("{}={bad}", m.wire), query, req.body.clone()));
            }
        }
    }
    out
}

/// Whether the operation models an error for bad input (HTTP 400); EnableSecurityHub models
/// none, so its enum is not checked.
fn has_input_error(model: &Model, operation: &str) -> bool {
    model.operation(operation)["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["shape"].as_str())
        .any(|e| model.shape(e)["error"]["httpStatusCode"] == 400)
}

/// Pages through a paginated operation with the model's paginator keys and a limit of 1: every
/// page has at most one item, and together they are the items of one unlimited call.
async fn check_pagination(s: &Standin, model: &Model, service: &str, operation: &str, key: &str) {
    let Some(paginator) = model.paginators.get(operation) else {
        return;
    };
    let req = request(s, model, service, operation, key).await;
    let input = model.shape(
        model.operation(operation)["input"]["shape"]
            .as_str()
            .unwrap_or(""),
    );
    let member = |name: &str| {
        model
            .members(input)
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| (m.wire.to_owned(), m.location().is_some()))
            .unwrap_or_else(|| panic!("{operation}: no member {name}"))
    };
    let (limit, limit_in_query) = member(paginator["limit_key"].as_str().expect("a limit key"));
    let (token_in, token_in_query) =
        member(paginator["input_token"].as_str().expect("an input token"));
    let output = model.shape(
        model.operation(operation)["output"]["shape"]
            .as_str()
            .unwrap_or(""),
    );
    let wire_of = |name: &str| {
        model
            .members(output)
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.wire.to_owned())
            .unwrap_or_else(|| panic!("{operation}: no output member {name}"))
    };
    let token_out = wire_of(paginator["output_token"].as_str().expect("an output token"));
    let items = wire_of(paginator["result_key"].as_str().expect("a result key"));
    let call = |limit_value: Option<u64>, token: Option<String>| {
        let mut query = req.query.clone();
        let mut body = req.body.clone();
        query.remove(&limit);
        if let Some(object) = body.as_mut().and_then(Value::as_object_mut) {
            object.remove(&limit);
        }
        for (wire, in_query, value) in [
            (&limit, limit_in_query, limit_value.map(|v| json!(v))),
            (&token_in, token_in_query, token.map(|t| json!(t))),
        ] {
            let Some(value) = value else { continue };
            if in_query {
                query.insert(
                    wire.clone(),
                    value.as_str().map_or(value.to_string(), str::to_owned),
                );
            } else {
                body.get_or_insert_with(|| json!({}))[wire.as_str()] = value;
            }
        }
        let path = path_and_query(&req.path, &query);
        let method = req.method.clone();
        async move { send(s, service, key, REGION, &method, &path, body.as_ref()).await }
    };
    let all = call(None, None).await;
    assert_eq!(all.status, 200, "{service} {operation}: {}", all.body);
    let expected: Vec<Value> = all.body[items.as_str()]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !expected.is_empty(),
        "{service} {operation}: nothing to page through"
    );
    let (mut seen, mut token) = (Vec::new(), None);
    loop {
        let page = call(Some(1), token).await;
        assert_eq!(
            page.status, 200,
            "{service} {operation} page: {}",
            page.body
        );
        let got = page.body[items.as_str()]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            got.len() <= 1,
            "{service} {operation}: a page of {} items with a limit of 1",
            got.len()
        );
        seen.extend(got);
        token = page.body[token_out.as_str()].as_str().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(
            seen.len() <= expected.len(),
            "{service} {operation}: pages never end"
        );
    }
    assert_eq!(
        seen, expected,
        "{service} {operation}: the pages hold every item once"
    );
}

#[tokio::test]
async fn the_standin_follows_the_service_models() {
    let models = models();
    let s = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(REGION.into(), DETECTOR.into())]),
    })
    .await
    .expect("starts");
    s.delegate(&[REGION], &[]);
    s.set_identity(MEMBER_KEY, MEMBER);
    s.set_regions(&[
        (REGION, "ENABLED_BY_DEFAULT"),
        ("eu-west-1", "ENABLED_BY_DEFAULT"),
        ("ap-east-1", "DISABLED"),
        ("eu-south-2", "ENABLED"),
    ]);
    let mut checked = 0;
    let mut covered = BTreeSet::new();

    for &(service, operation, key) in OPERATIONS {
        let model = &models[service];
        let op = model.operation(operation);
        let req = request(&s, model, service, operation, key).await;
        let what = format!("{service} {operation} as {key}");

        // Refused first: each must be answered with a modelled error.
        for (variant, query, body) in refused_variants(model, operation, &req) {
            let path = path_and_query(&req.path, &query);
            let answer = send(&s, service, key, REGION, &req.method, &path, body.as_ref()).await;
            check_error(
                model,
                operation,
                &answer,
                &format!("({service}, as {key}) {variant}"),
            );
            checked += 1;
        }
        // A list at its maximum is allowed.
        if let Some(body) = &req.body {
            let mut limited = Vec::new();
            model.limited(
                op["input"]["shape"].as_str().unwrap_or(""),
                String::new(),
                "",
                &mut limited,
            );
            for (pointer, shape_name, hint) in limited {
                let shape = model.shape(&shape_name);
                if let (Some("list"), Some(max)) = (shape["type"].as_str(), shape["max"].as_u64()) {
                    let member = shape["member"]["shape"].as_str().unwrap_or("");
                    let mut next = 1_000;
                    let items: Vec<Value> = (0..max)
                        .map(|_| model.valid(member, item_hint(&hint), &mut next))
                        .collect();
                    let path = path_and_query(&req.path, &req.query);
                    let answer = send(
                        &s,
                        service,
                        key,
                        REGION,
                        &req.method,
                        &path,
                        Some(&set(body, &pointer, json!(items))),
                    )
                    .await;
                    assert_eq!(
                        answer.status, 200,
                        "{what}: {max} items are allowed at {pointer}: {}",
                        answer.body
                    );
                    checked += 1;
                }
            }
        }

        // The route and the member names: a request built from the model succeeds, as the
        // operation the model names, and its optional members are read.
        let path = path_and_query(&req.path, &req.query);
        let answer = send(
            &s,
            service,
            key,
            REGION,
            &req.method,
            &path,
            req.body.as_ref(),
        )
        .await;
        assert_eq!(
            answer.status,
            op["http"]["responseCode"].as_u64().unwrap_or(200) as u16,
            "{what} {} {path}: {}",
            req.method,
            answer.body
        );
        let call = s.calls().pop().expect("the call is recorded");
        assert_eq!(format!("{:?}", call.operation), operation, "{what}");
        assert_eq!(call.service.iam_prefix(), service, "{what}");
        if (service, operation) == ("guardduty", "InviteMembers") {
            assert_eq!(call.message.as_deref(), Some("x"), "message is read");
            assert_eq!(call.disable_email_notification, Some(true));
        }
        let output = op["output"]["shape"].as_str().expect("an output");
        model.check_output(output, &answer.body, &what);
        covered.insert((service, operation));
        checked += 1;
    }

    // Paging, with members enough to page through in both services.
    for i in 0..3 {
        let id = format!("{:012}", 300_000_000_000u64 + i);
        s.put_member(REGION, &id, "p@example.com", "Enabled");
        s.put_security_hub_member(REGION, &id, "", "Enabled");
    }
    for &(service, operation, key) in OPERATIONS {
        if models[service].paginators.get(operation).is_some() && operation != "ListInvitations" {
            check_pagination(&s, &models[service], service, operation, key).await;
            checked += 1;
        }
    }

    // Errors that come from the state.
    let (gd, sh, account) = (
        &models["guardduty"],
        &models["securityhub"],
        &models["account"],
    );
    let answer = send(
        &s,
        "guardduty",
        ADMIN_KEY,
        REGION,
        "POST",
        "/detector/not-mine/member/get",
        Some(&json!({"accountIds": ["222222222222"]})),
    )
    .await;
    check_error(gd, "GetMembers", &answer, "on another detector");
    let answer = send(
        &s,
        "guardduty",
        MEMBER_KEY,
        REGION,
        "POST",
        "/detector",
        Some(&json!({"enable": true})),
    )
    .await;
    check_error(gd, "CreateDetector", &answer, "a second detector");
    let own = s.member_detectors(MEMBER)[REGION].clone();
    let answer = send(
        &s,
        "guardduty",
        MEMBER_KEY,
        REGION,
        "POST",
        &format!("/detector/{own}/administrator"),
        Some(&json!({"administratorId": ADMIN, "invitationId": "gone"})),
    )
    .await;
    check_error(
        gd,
        "AcceptAdministratorInvitation",
        &answer,
        "with no such invitation",
    );
    let answer = send(
        &s,
        "securityhub",
        ADMIN_KEY,
        "eu-west-1",
        "GET",
        "/members",
        None,
    )
    .await;
    check_error(sh, "ListMembers", &answer, "where the hub is not enabled");
    let answer = send(
        &s,
        "securityhub",
        ADMIN_KEY,
        "eu-west-1",
        "GET",
        "/accounts",
        None,
    )
    .await;
    check_error(sh, "DescribeHub", &answer, "where the hub is not enabled");
    let answer = send(
        &s,
        "securityhub",
        "AKIDOTHER",
        "eu-west-1",
        "POST",
        "/members",
        Some(&json!({"AccountDetails": [{"AccountId": "222222222222"}]})),
    )
    .await;
    check_error(sh, "CreateMembers", &answer, "where the hub is not enabled");
    let answer = send(
        &s,
        "securityhub",
        MEMBER_KEY,
        REGION,
        "POST",
        "/accounts",
        None,
    )
    .await;
    check_error(sh, "EnableSecurityHub", &answer, "a second time");
    let answer = send(
        &s,
        "securityhub",
        MEMBER_KEY,
        REGION,
        "POST",
        "/administrator",
        Some(&json!({"AdministratorId": ADMIN, "InvitationId": "gone"})),
    )
    .await;
    check_error(
        sh,
        "AcceptAdministratorInvitation",
        &answer,
        "with no such invitation",
    );
    let other = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::from([(REGION.into(), DETECTOR.into())]),
    })
    .await
    .expect("starts");
    let answer = send(
        &other,
        "guardduty",
        ADMIN_KEY,
        REGION,
        "GET",
        &format!("/detector/{DETECTOR}/admin"),
        None,
    )
    .await;
    check_error(
        gd,
        "DescribeOrganizationConfiguration",
        &answer,
        "by an account that is not the delegated administrator",
    );
    checked += 9;

    // Deprecated routes are not served.
    for (service, path) in [
        ("guardduty", format!("/detector/{own}/master")),
        ("securityhub", "/master".to_owned()),
    ] {
        let answer = send(
            &s,
            service,
            MEMBER_KEY,
            REGION,
            "POST",
            &path,
            Some(&json!({})),
        )
        .await;
        assert_eq!(
            (answer.status, answer.error_type.as_deref()),
            (404, Some("UnknownOperationException")),
            "{service} {path}"
        );
        checked += 1;
    }

    // The front door: a service control policy (AccessDeniedException, in both models with
    // 403), a region not enabled (403 UnrecognizedClientException, in no model), the rate
    // limit (429 TooManyRequestsException, modelled by Account's ListRegions only).
    s.deny_region("eu-west-1");
    let answer = send(
        &s,
        "guardduty",
        ADMIN_KEY,
        "eu-west-1",
        "GET",
        "/detector",
        None,
    )
    .await;
    check_error_shape(
        gd,
        None,
        &answer,
        "guardduty ListDetectors in a denied region",
    );
    let answer = send(
        &s,
        "securityhub",
        ADMIN_KEY,
        "eu-west-1",
        "GET",
        "/members",
        None,
    )
    .await;
    check_error_shape(
        sh,
        None,
        &answer,
        "securityhub ListMembers in a denied region",
    );
    for service in ["guardduty", "securityhub"] {
        let path = if service == "guardduty" {
            "/detector"
        } else {
            "/members"
        };
        let answer = send(&s, service, ADMIN_KEY, "ap-east-1", "GET", path, None).await;
        assert_eq!(
            (answer.status, answer.error_type.as_deref()),
            (403, Some("UnrecognizedClientException")),
            "{service} in a disabled region"
        );
    }
    s.set_rate_limit(Some(1));
    send(
        &s,
        "account",
        ADMIN_KEY,
        REGION,
        "POST",
        "/listRegions",
        Some(&json!({})),
    )
    .await;
    let answer = send(
        &s,
        "account",
        ADMIN_KEY,
        REGION,
        "POST",
        "/listRegions",
        Some(&json!({})),
    )
    .await;
    check_error(account, "ListRegions", &answer, "beyond the rate limit");
    send(&s, "guardduty", ADMIN_KEY, REGION, "GET", "/detector", None).await;
    let answer = send(&s, "guardduty", ADMIN_KEY, REGION, "GET", "/detector", None).await;
    assert_eq!(
        (answer.status, answer.error_type.as_deref()),
        (429, Some("TooManyRequestsException"))
    );
    checked += 6;

    let expected: BTreeSet<(&str, &str)> = OPERATIONS.iter().map(|(s, o, _)| (*s, *o)).collect();
    assert_eq!(covered, expected);
    eprintln!(
        "{checked} model checks over {} operations of 3 services",
        covered.len()
    );
    assert!(checked >= 80, "only {checked} checks ran");
}

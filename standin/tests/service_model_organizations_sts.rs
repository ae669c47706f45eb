//! Organizations (awsJson1_1) and STS (awsQuery) follow the service models that ship with
//! botocore, as `tests/service_model.rs` checks the restJson1 services: for `ListAccounts`,
//! `DescribeAccount` and `AssumeRole`, requests are built from the model and sent over raw HTTP,
//! signed (in scope only) for the service's signing name:
//! - the model's target (`X-Amz-Target: <targetPrefix>.<Operation>`) or action (`Action`,
//!   `Version` = the model's `apiVersion`) and member names are served, and a valid request
//!   succeeds as the operation the model names, with the protocol's content type;
//! - each required member, each string length, integer range and pattern, and (STS) each
//!   top-level list's number of items is enforced: Organizations with one of the operation's
//!   modelled errors and that shape's members; STS with the query protocol's common
//!   `ValidationError` (not in the model) or a modelled error with its code and status;
//! - answers use the model's member names and types, carry its required members, match its
//!   patterns (checked by Python's `re`), and STS's come wrapped in `<AssumeRoleResponse>` /
//!   `<AssumeRoleResult>` in the model's XML namespace with a request id;
//! - `ListAccounts` pages with the model's paginator keys (limit 1, token in, token out) and
//!   hands out every account once;
//! - errors from state and the front door (no organisation, an account not found, a region
//!   where STS is not enabled, the rate limit) carry a modelled shape where the model has one.
//!
//! Not checked: the members inside STS's lists (tags, policy ARNs, provided contexts).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::{Map, Value, json};
use standin::{Settings, Standin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "999999999999";
const ADMIN_KEY: &str = "AKIDADMIN";
const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::222222222222:role/OnboarderMember";
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"guardduty:*","Resource":"*"}]}"#;

/// botocore's models of Organizations and STS, read by botocore itself from the project's `.venv`.
fn models() -> BTreeMap<String, Model> {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, botocore.loaders as l\n\
             L = l.Loader()\n\
             print(json.dumps({s: {'service': L.load_service_model(s, 'service-2'), 'paginators': L.load_service_model(s, 'paginators-1')} for s in ['organizations', 'sts']}))",
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
                    patterns: Mutex::new(Vec::new()),
                },
            )
        })
        .collect()
}

fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or scripts/setup), which installs botocore into .venv",
        python.display()
    );
    python
}

struct Model {
    json: Value,
    paginators: Value,
    /// (pattern, value, where) of every answered string whose shape has a pattern, checked by
    /// Python's `re` at the end.
    patterns: Mutex<Vec<(String, String, String)>>,
}

impl Model {
    fn shape(&self, name: &str) -> &Value {
        &self.json["shapes"][name]
    }

    fn operation(&self, name: &str) -> &Value {
        &self.json["operations"][name]
    }

    fn input(&self, operation: &str) -> &str {
        self.operation(operation)["input"]["shape"]
            .as_str()
            .unwrap_or("")
    }

    /// A structure's members: name → member shape name.
    fn members(&self, shape: &str) -> Vec<(String, String)> {
        self.shape(shape)["members"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, def)| {
                        (name.clone(), def["shape"].as_str().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn required(&self, shape: &str) -> Vec<String> {
        self.shape(shape)["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A valid value of a shape with every member filled in but page tokens (which only the
    /// service can make).
    fn valid(&self, name: &str) -> Value {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => Value::Object(
                self.members(name)
                    .into_iter()
                    .filter(|(m, _)| m != "NextToken")
                    .map(|(m, s)| (m, self.valid(&s)))
                    .collect(),
            ),
            "list" => {
                let len = shape["min"].as_u64().unwrap_or(0).max(1);
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                Value::Array((0..len).map(|_| self.valid(member)).collect())
            }
            "boolean" => json!(true),
            "integer" | "long" => json!(shape["min"].as_u64().unwrap_or(1)),
            "string" => json!(string_of(shape)),
            other => panic!("no generator for {name} ({other})"),
        }
    }

    /// The modelled errors of an operation: shape name → (wire code, HTTP status). awsJson1_1
    /// shapes carry no `error` trait here: their code is the shape's name, their status 400
    /// (500 for a fault).
    fn errors(&self, operation: &str) -> BTreeMap<String, (String, u16)> {
        self.operation(operation)["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["shape"].as_str())
            .map(|name| {
                let shape = self.shape(name);
                let code = shape["error"]["code"].as_str().unwrap_or(name).to_owned();
                let fault = shape["fault"].as_bool().unwrap_or(false);
                let status = shape["error"]["httpStatusCode"]
                    .as_u64()
                    .map_or(if fault { 500 } else { 400 }, |s| s as u16);
                (name.to_owned(), (code, status))
            })
            .collect()
    }

    /// Checks an answer against a shape: only the model's member names and types, every
    /// required member present, all the way down. awsQuery carries every scalar as text.
    fn check_output(&self, name: &str, value: &Value, at: &str, query: bool) {
        let shape = self.shape(name);
        match shape["type"].as_str().unwrap_or("") {
            "structure" => {
                let object = value
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: {name} must be a structure: {value}"));
                let members = self.members(name);
                for (key, v) in object {
                    let Some((_, member)) = members.iter().find(|(m, _)| m == key) else {
                        panic!("{at}: {key} is not a member of {name} in the model")
                    };
                    self.check_output(member, v, &format!("{at}.{key}"), query);
                }
                for required in self.required(name) {
                    assert!(
                        object.get(&required).is_some_and(|v| !v.is_null()),
                        "{at}: required member {required} of {name} is missing: {value}"
                    );
                }
            }
            "list" => {
                let items = value
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: {name} must be a list"));
                let member = shape["member"]["shape"].as_str().unwrap_or("");
                for (i, item) in items.iter().enumerate() {
                    self.check_output(member, item, &format!("{at}[{i}]"), query);
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
                let len = s.chars().count() as u64;
                assert!(
                    shape["min"].as_u64().is_none_or(|m| len >= m)
                        && shape["max"].as_u64().is_none_or(|m| len <= m),
                    "{at}: {s:?} is outside {name}'s length"
                );
                if let Some(pattern) = shape["pattern"].as_str() {
                    self.patterns.lock().expect("not poisoned").push((
                        pattern.to_owned(),
                        s.to_owned(),
                        at.to_owned(),
                    ));
                }
            }
            // awsJson1_1 carries timestamps as epoch seconds; awsQuery as ISO 8601 text.
            "timestamp" if query => assert!(
                value
                    .as_str()
                    .is_some_and(|t| t.len() >= 20 && t.ends_with('Z')),
                "{at}: {name} must be an ISO 8601 date-time: {value}"
            ),
            "timestamp" => assert!(value.is_number(), "{at}: {name} must be epoch seconds"),
            "integer" | "long" => {
                let n = if query {
                    value.as_str().and_then(|t| t.parse::<i64>().ok())
                } else {
                    value.as_i64()
                };
                let n = n.unwrap_or_else(|| panic!("{at}: {name} must be an integer: {value}"));
                assert!(
                    shape["min"].as_i64().is_none_or(|m| n >= m)
                        && shape["max"].as_i64().is_none_or(|m| n <= m),
                    "{at}: {n} is outside {name}'s range"
                );
            }
            "boolean" if query => assert!(matches!(value.as_str(), Some("true" | "false"))),
            "boolean" => assert!(value.is_boolean(), "{at}: {name} must be a boolean"),
            _ => {}
        }
    }

    /// Every answered string matches its shape's pattern, as Python's `re` reads it (whole
    /// string: the services treat patterns as anchored).
    fn check_patterns(&self) -> usize {
        let patterns = std::mem::take(&mut *self.patterns.lock().expect("not poisoned"));
        let mut child = Command::new(python())
            .args([
                "-c",
                "import json, re, sys\n\
                 bad = [f'{w}: {v!r} does not match {p!r}' for p, v, w in json.load(sys.stdin) if not re.fullmatch(p, v)]\n\
                 print('\\n'.join(bad)); sys.exit(1 if bad else 0)",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(json!(patterns).to_string().as_bytes())
            .expect("written");
        let out = child.wait_with_output().expect("python ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        patterns.len()
    }
}

/// A valid string of a shape: an enum's first value, else digits where the pattern wants
/// digits, else `x`s enough for its minimum.
fn string_of(shape: &Value) -> String {
    if let Some(first) = shape["enum"][0].as_str() {
        return first.to_owned();
    }
    let min = shape["min"].as_u64().unwrap_or(1).max(1) as usize;
    match shape["pattern"].as_str() {
        Some(r"^\d{12}$") => "100000000000".to_owned(),
        Some(r"[\d]*") => "1".repeat(min),
        _ => "x".repeat(min),
    }
}

/// A string of `len` characters that breaks a pattern of the models; `None` for a pattern every
/// string matches. A pattern not listed here fails the test, so that a new one is noticed and
/// given a counter-example.
fn breaking(pattern: &str, len: usize) -> Option<String> {
    let with = |c: char| Some(format!("{c}{}", "a".repeat(len.saturating_sub(1))));
    match pattern {
        r"[\s\S]*" => None,
        r"^\d{12}$" => Some("12345678901x".to_owned()),
        // arnType: no control characters.
        r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+" => {
            with('\u{1}')
        }
        // Session policies: Latin-1 only.
        r"[\u0009\u000A\u000D\u0020-\u00FF]+" => with('\u{100}'),
        r"[\w+=,.@-]*" | r"[\w+=,.@:\/-]*" | r"[\w+=/:,.@-]*" => with(' '),
        r"[\d]*" => with('x'),
        other => panic!("no counter-example for the pattern {other:?}: add one"),
    }
}

/// An answer as the test reads it: status, content type, and the body as JSON (awsQuery's XML
/// turned into JSON: elements with children are objects, `member`s are lists, text is text).
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
    /// awsQuery: the root element's name and `xmlns`.
    root: Option<(String, String)>,
}

async fn raw(s: &Standin, service: &str, region: &str, headers: &str, body: &[u8]) -> Answer {
    let authority = s.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={ADMIN_KEY}/20261123/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream.write_all(body).await.expect("writes");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("reads");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    if content_type == "text/xml" {
        let root = xml::parse(body);
        Answer {
            status,
            content_type,
            body: root.to_json(),
            root: Some((
                root.name.clone(),
                root.attrs.get("xmlns").cloned().unwrap_or_default(),
            )),
        }
    } else {
        Answer {
            status,
            content_type,
            body: serde_json::from_str(body).unwrap_or(Value::Null),
            root: None,
        }
    }
}

/// An Organizations request: the operation's target and a JSON body.
async fn organizations(s: &Standin, model: &Model, operation: &str, body: &Value) -> Answer {
    let prefix = model.json["metadata"]["targetPrefix"]
        .as_str()
        .expect("a target prefix");
    let headers = format!(
        "X-Amz-Target: {prefix}.{operation}\r\nContent-Type: application/x-amz-json-1.{}\r\n",
        model.json["metadata"]["jsonVersion"]
            .as_str()
            .and_then(|v| v.strip_prefix("1."))
            .unwrap_or("1")
    );
    raw(
        s,
        "organizations",
        REGION,
        &headers,
        body.to_string().as_bytes(),
    )
    .await
}

/// An STS request: the form of the parameters, in `region`.
async fn sts(s: &Standin, region: &str, params: &[(String, String)]) -> Answer {
    let form: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    raw(
        s,
        "sts",
        region,
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
        form.join("&").as_bytes(),
    )
    .await
}

/// Percent-encoding of a form value (every byte but the unreserved ones).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An Organizations error with one of the operation's modelled shapes: `__type` names it, the
/// status is the shape's, the body holds only its members (and `__type`) and says why.
fn check_json_error(model: &Model, operation: &str, answer: &Answer, what: &str) {
    let what = format!("{operation} {what}");
    assert_eq!(answer.content_type, "application/x-amz-json-1.1", "{what}");
    let code = answer.body["__type"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no __type: {}", answer.body));
    let errors = model.errors(operation);
    let Some((_, status)) = errors.get(code) else {
        panic!(
            "{what}: {code} is not among {operation}'s modelled errors {:?}: {}",
            errors.keys(),
            answer.body
        );
    };
    assert_eq!(answer.status, *status, "{what}: {code}'s status");
    let members = model.members(code);
    for key in answer.body.as_object().map(Map::keys).into_iter().flatten() {
        assert!(
            members.iter().any(|(m, _)| m == key) || key == "__type",
            "{what}: {key} is not a member of {code}"
        );
        if key != "__type" {
            let member = &members.iter().find(|(m, _)| m == key).expect("a member").1;
            model.check_output(member, &answer.body[key], &format!("{what}.{key}"), false);
        }
    }
    assert!(
        answer.body["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: the error says why: {}",
        answer.body
    );
}

/// The query protocol's common errors that STS sends for any operation (the STS API
/// Reference's Common Errors), with their status.
const COMMON_ERRORS: &[(&str, u16)] = &[("ValidationError", 400), ("Throttling", 400)];

/// An STS error: `<ErrorResponse><Error><Type><Code><Message></Error><RequestId>` in the model's
/// namespace, the code one of the operation's modelled errors (with its status) or a common
/// error, `Sender` for a 4xx.
fn check_query_error(model: &Model, operation: &str, answer: &Answer, what: &str) -> String {
    let what = format!("{operation} {what}");
    assert_eq!(answer.content_type, "text/xml", "{what}");
    let namespace = model.json["metadata"]["xmlNamespace"]
        .as_str()
        .unwrap_or("");
    assert_eq!(
        answer.root,
        Some(("ErrorResponse".to_owned(), namespace.to_owned())),
        "{what}"
    );
    let error = &answer.body["Error"];
    let code = error["Code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no Code: {}", answer.body));
    let modelled = model
        .errors(operation)
        .into_values()
        .find(|(c, _)| c == code)
        .map(|(_, status)| status);
    let common = COMMON_ERRORS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, s)| *s);
    let Some(status) = modelled.or(common) else {
        panic!("{what}: {code} is neither a modelled error of {operation} nor a common error");
    };
    assert_eq!(answer.status, status, "{what}: {code}'s status");
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    assert_eq!(error["Type"], kind, "{what}");
    assert!(
        error["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: the error says why: {}",
        answer.body
    );
    assert!(
        answer.body["RequestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{what}: a request id"
    );
    code.to_owned()
}

/// The variants of a valid JSON body that the model refuses: without each required member, and
/// past each string length, integer range and pattern (the inputs are flat).
fn refused_json(model: &Model, operation: &str, body: &Value) -> Vec<(String, Value)> {
    let input = model.input(operation);
    let mut out = Vec::new();
    for required in model.required(input) {
        let mut without = body.clone();
        without
            .as_object_mut()
            .expect("an object")
            .remove(&required);
        out.push((format!("without {required}"), without));
    }
    for (member, shape_name) in model.members(input) {
        let shape = model.shape(&shape_name);
        let with = |value: Value| {
            let mut body = body.clone();
            body[member.as_str()] = value;
            body
        };
        let (min, max) = (shape["min"].as_u64(), shape["max"].as_u64());
        match shape["type"].as_str() {
            Some("integer" | "long") => {
                if let Some(max) = max {
                    out.push((format!("{member} = {}", max + 1), with(json!(max + 1))));
                }
                if let Some(min) = min {
                    let below = min as i64 - 1;
                    out.push((format!("{member} = {below}"), with(json!(below))));
                }
            }
            Some("string") => {
                if let Some(max) = max {
                    out.push((
                        format!("{member} of {} characters", max + 1),
                        with(json!("7".repeat(max as usize + 1))),
                    ));
                }
                if let Some(min) = min.filter(|m| *m > 0) {
                    out.push((
                        format!("{member} of {} characters", min - 1),
                        with(json!("7".repeat(min as usize - 1))),
                    ));
                }
                if let Some(pattern) = shape["pattern"].as_str()
                    && let Some(bad) = breaking(pattern, 12)
                {
                    out.push((format!("{member} against {pattern:?}"), with(json!(bad))));
                }
            }
            _ => {}
        }
    }
    out
}

/// The form parameters of a valid `AssumeRole`: every member of the model, lists with one item
/// (`Tags.member.1.Key`), the role and the policy real ones.
fn assume_role_params(model: &Model) -> BTreeMap<String, String> {
    let mut params = BTreeMap::from([
        ("Action".to_owned(), "AssumeRole".to_owned()),
        (
            "Version".to_owned(),
            model.json["metadata"]["apiVersion"]
                .as_str()
                .expect("a version")
                .to_owned(),
        ),
    ]);
    flatten("", &model.valid(model.input("AssumeRole")), &mut params);
    params.insert("RoleArn".to_owned(), ROLE.to_owned());
    params.insert("Policy".to_owned(), POLICY.to_owned());
    params
}

/// A value as the query protocol's form keys: `A.B`, lists as `A.member.N`.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(members) => {
            for (k, v) in members {
                flatten(&key(k), v, out);
            }
        }
        Value::Array(items) if items.is_empty() => {
            out.insert(prefix.to_owned(), String::new());
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&format!("member.{}", i + 1)), v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// The variants of a valid `AssumeRole` the model refuses: without each required member, past
/// each top-level string's length and pattern and integer's range, and with too many or too few
/// items in each top-level list.
fn refused_query(
    model: &Model,
    params: &BTreeMap<String, String>,
) -> Vec<(String, BTreeMap<String, String>)> {
    let input = model.input("AssumeRole");
    let mut out = Vec::new();
    for required in model.required(input) {
        let mut without = params.clone();
        without.remove(&required);
        out.push((format!("without {required}"), without));
    }
    for (member, shape_name) in model.members(input) {
        let shape = model.shape(&shape_name);
        let (min, max) = (shape["min"].as_u64(), shape["max"].as_u64());
        let with = |value: String| {
            let mut p = params.clone();
            p.insert(member.clone(), value);
            p
        };
        match shape["type"].as_str() {
            Some("integer" | "long") => {
                if let Some(max) = max {
                    out.push((
                        format!("{member} = {}", max + 1),
                        with((max + 1).to_string()),
                    ));
                }
                if let Some(min) = min {
                    let below = min as i64 - 1;
                    out.push((format!("{member} = {below}"), with(below.to_string())));
                }
            }
            Some("string") => {
                if let Some(max) = max {
                    out.push((
                        format!("{member} of {} characters", max + 1),
                        with("7".repeat(max as usize + 1)),
                    ));
                }
                if let Some(min) = min.filter(|m| *m > 0) {
                    out.push((
                        format!("{member} of {} characters", min - 1),
                        with("7".repeat(min as usize - 1)),
                    ));
                }
                if let Some(pattern) = shape["pattern"].as_str() {
                    let len = min.unwrap_or(1).max(1) as usize;
                    if let Some(bad) = breaking(pattern, len) {
                        out.push((format!("{member} against {pattern:?}"), with(bad)));
                    }
                }
            }
            Some("list") => {
                let item = model.valid(shape["member"]["shape"].as_str().unwrap_or(""));
                let items = |n: u64| {
                    let mut p: BTreeMap<String, String> = params
                        .iter()
                        .filter(|(k, _)| *k != &member && !k.starts_with(&format!("{member}.")))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    flatten(
                        &member,
                        &Value::Array(vec![item.clone(); n as usize]),
                        &mut p,
                    );
                    p
                };
                if let Some(max) = max {
                    out.push((format!("{member} with {} items", max + 1), items(max + 1)));
                }
                if let Some(min) = min.filter(|m| *m > 0) {
                    out.push((format!("{member} with {} items", min - 1), items(min - 1)));
                }
            }
            _ => {}
        }
    }
    out
}

fn pairs(params: &BTreeMap<String, String>) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[tokio::test]
async fn organizations_follows_its_model() {
    let models = models();
    let model = &models["organizations"];
    let s = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::new(),
    })
    .await
    .expect("starts");
    s.serve_organization(5);
    let mut checked = 0;
    let mut covered = BTreeSet::new();

    for operation in ["ListAccounts", "DescribeAccount"] {
        let op = model.operation(operation);
        assert_eq!(
            (
                op["http"]["method"].as_str(),
                op["http"]["requestUri"].as_str()
            ),
            (Some("POST"), Some("/")),
            "{operation}: awsJson1_1's route"
        );
        let body = model.valid(model.input(operation));
        for (variant, refused) in refused_json(model, operation, &body) {
            let answer = organizations(&s, model, operation, &refused).await;
            check_json_error(model, operation, &answer, &variant);
            checked += 1;
        }
        let answer = organizations(&s, model, operation, &body).await;
        assert_eq!(answer.status, 200, "{operation} {body}: {}", answer.body);
        assert_eq!(answer.content_type, "application/x-amz-json-1.1");
        let call = s.calls().pop().expect("the call is recorded");
        assert_eq!(format!("{:?}", call.operation), operation);
        assert_eq!(call.service.iam_prefix(), "organizations");
        let output = op["output"]["shape"].as_str().expect("an output");
        model.check_output(output, &answer.body, operation, false);
        covered.insert(operation);
        checked += 1;
    }

    // Paging with the model's paginator keys and a limit of 1.
    let paginator = &model.paginators["ListAccounts"];
    let (limit, token_in, token_out, items) = (
        paginator["limit_key"].as_str().expect("a limit key"),
        paginator["input_token"].as_str().expect("an input token"),
        paginator["output_token"].as_str().expect("an output token"),
        paginator["result_key"].as_str().expect("a result key"),
    );
    let all = organizations(&s, model, "ListAccounts", &json!({})).await;
    let expected = all.body[items].as_array().cloned().unwrap_or_default();
    assert_eq!(expected.len(), 5, "every account in one unlimited call");
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    loop {
        let mut body = json!({ limit: 1 });
        if let Some(t) = &token {
            body[token_in] = json!(t);
        }
        let page = organizations(&s, model, "ListAccounts", &body).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let got = page.body[items].as_array().cloned().unwrap_or_default();
        assert!(got.len() <= 1, "a page of {} with a limit of 1", got.len());
        seen.extend(got);
        token = page.body[token_out].as_str().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(seen.len() <= expected.len(), "pages never end");
    }
    assert_eq!(seen, expected, "the pages hold every account once");
    let answer = organizations(
        &s,
        model,
        "ListAccounts",
        &json!({ token_in: "not handed out" }),
    )
    .await;
    check_json_error(
        model,
        "ListAccounts",
        &answer,
        "with a token not handed out",
    );
    checked += 2;

    // Errors from the state and the front door.
    let answer = organizations(
        &s,
        model,
        "DescribeAccount",
        &json!({"AccountId": "100000000005"}),
    )
    .await;
    check_json_error(model, "DescribeAccount", &answer, "of an account not in it");
    assert_eq!(answer.body["__type"], "AccountNotFoundException");
    let none = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::new(),
    })
    .await
    .expect("starts");
    for (operation, body) in [
        ("ListAccounts", json!({})),
        ("DescribeAccount", json!({"AccountId": "100000000000"})),
    ] {
        let answer = organizations(&none, model, operation, &body).await;
        check_json_error(model, operation, &answer, "without an organisation");
        assert_eq!(answer.body["__type"], "AWSOrganizationsNotInUseException");
    }
    s.set_rate_limit(Some(1));
    organizations(&s, model, "ListAccounts", &json!({})).await;
    let answer = organizations(&s, model, "ListAccounts", &json!({})).await;
    check_json_error(model, "ListAccounts", &answer, "beyond the rate limit");
    assert_eq!(answer.body["__type"], "TooManyRequestsException");
    s.set_rate_limit(None);
    let answer = organizations(&s, model, "CreateAccount", &json!({})).await;
    assert_eq!(
        (answer.status, answer.body["__type"].as_str()),
        (400, Some("UnknownOperationException")),
        "an operation the stand-in does not serve: {}",
        answer.body
    );
    checked += 5;

    checked += model.check_patterns();
    assert_eq!(covered, BTreeSet::from(["ListAccounts", "DescribeAccount"]));
    eprintln!("{checked} Organizations model checks");
    assert!(checked >= 20, "only {checked} checks ran");
}

#[tokio::test]
async fn sts_assume_role_follows_its_model() {
    let models = models();
    let model = &models["sts"];
    let s = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::new(),
    })
    .await
    .expect("starts");
    s.serve_sts();
    let op = model.operation("AssumeRole");
    assert_eq!(
        (
            op["http"]["method"].as_str(),
            op["http"]["requestUri"].as_str()
        ),
        (Some("POST"), Some("/")),
        "awsQuery's route"
    );
    let mut checked = 0;
    let params = assume_role_params(model);

    // Refused first: each must be answered with ValidationError or a modelled error.
    for (variant, refused) in refused_query(model, &params) {
        let answer = sts(&s, REGION, &pairs(&refused)).await;
        let code = check_query_error(model, "AssumeRole", &answer, &variant);
        assert_eq!(code, "ValidationError", "{variant}");
        checked += 1;
    }
    // The documented limit of a session policy (the model gives none) and its JSON.
    for (variant, policy, expected) in [
        (
            "Policy of 2,049 characters",
            format!("{{\"a\":\"{}\"}}", "x".repeat(2041)),
            "ValidationError",
        ),
        ("Policy not JSON", "x".to_owned(), "MalformedPolicyDocument"),
    ] {
        let mut p = params.clone();
        p.insert("Policy".to_owned(), policy);
        let answer = sts(&s, REGION, &pairs(&p)).await;
        let code = check_query_error(model, "AssumeRole", &answer, variant);
        assert_eq!(code, expected, "{variant}");
        checked += 1;
    }
    // A policy at the documented limit is allowed.
    let mut at_limit = params.clone();
    at_limit.insert(
        "Policy".to_owned(),
        format!("{{\"a\":\"{}\"}}", "x".repeat(2040)),
    );
    let answer = sts(&s, REGION, &pairs(&at_limit)).await;
    assert_eq!(answer.status, 200, "2,048 characters: {}", answer.body);
    checked += 1;

    // The action and the member names: a request built from the model succeeds, as the
    // operation the model names, wrapped as the protocol wraps it.
    let answer = sts(&s, REGION, &pairs(&params)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "text/xml");
    let namespace = model.json["metadata"]["xmlNamespace"]
        .as_str()
        .expect("a namespace");
    assert_eq!(
        answer.root,
        Some(("AssumeRoleResponse".to_owned(), namespace.to_owned()))
    );
    let wrapper = op["output"]["resultWrapper"]
        .as_str()
        .expect("a result wrapper");
    let result = &answer.body[wrapper];
    let output = op["output"]["shape"].as_str().expect("an output");
    model.check_output(output, result, "AssumeRole", true);
    assert!(
        answer.body["ResponseMetadata"]["RequestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "a request id: {}",
        answer.body
    );
    assert_eq!(
        answer
            .body
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec![wrapper.to_owned(), "ResponseMetadata".to_owned()])
    );
    let call = s.calls().pop().expect("the call is recorded");
    assert_eq!(format!("{:?}", call.operation), "AssumeRole");
    assert_eq!(call.service.iam_prefix(), "sts");
    assert_eq!(call.account_ids, ["222222222222"]);
    checked += 1;

    // Errors from the front door and the state.
    s.set_regions(&[("ap-east-1", "DISABLED")]);
    let answer = sts(&s, "ap-east-1", &pairs(&params)).await;
    let code = check_query_error(model, "AssumeRole", &answer, "in a region not enabled");
    assert_eq!(code, "RegionDisabledException");
    s.set_rate_limit(Some(1));
    sts(&s, REGION, &pairs(&params)).await;
    let answer = sts(&s, REGION, &pairs(&params)).await;
    let code = check_query_error(model, "AssumeRole", &answer, "beyond the rate limit");
    assert_eq!(code, "Throttling");
    s.set_rate_limit(None);
    let mut other = params.clone();
    other.insert("Action".to_owned(), "GetSessionToken".to_owned());
    let answer = sts(&s, REGION, &pairs(&other)).await;
    assert_eq!(
        (answer.status, answer.body["Error"]["Code"].as_str()),
        (400, Some("InvalidAction")),
        "an action the stand-in does not serve: {}",
        answer.body
    );
    let unserved = Standin::start(Settings {
        admin_account: ADMIN.into(),
        detectors: BTreeMap::new(),
    })
    .await
    .expect("starts");
    let answer = sts(&unserved, REGION, &pairs(&params)).await;
    assert_eq!(
        (answer.status, answer.body["Error"]["Code"].as_str()),
        (400, Some("InvalidAction")),
        "STS not served: {}",
        answer.body
    );
    checked += 4;

    checked += model.check_patterns();
    eprintln!("{checked} STS model checks");
    assert!(checked >= 25, "only {checked} checks ran");
}

/// Just enough XML for the stand-in's answers: elements, attributes, text with the five
/// entities and character references; no comments, CDATA or processing instructions but the
/// declaration.
mod xml {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value};

    pub struct Element {
        pub name: String,
        pub attrs: BTreeMap<String, String>,
        children: Vec<Element>,
        text: String,
    }

    impl Element {
        /// Elements with children are objects (all-`member` children a list), others text.
        pub fn to_json(&self) -> Value {
            if self.children.is_empty() {
                return Value::String(self.text.clone());
            }
            if self.children.iter().all(|c| c.name == "member") {
                return Value::Array(self.children.iter().map(Element::to_json).collect());
            }
            let mut object = Map::new();
            for child in &self.children {
                assert!(
                    object.insert(child.name.clone(), child.to_json()).is_none(),
                    "<{}> twice in <{}>",
                    child.name,
                    self.name
                );
            }
            Value::Object(object)
        }
    }

    pub fn parse(text: &str) -> Element {
        let mut rest = text.trim_start();
        if rest.starts_with("<?") {
            rest = &rest[rest.find("?>").expect("a declaration's end") + 2..];
        }
        let (root, rest) = element(rest.trim_start());
        assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
        root
    }

    fn element(text: &str) -> (Element, &str) {
        let text = text.strip_prefix('<').expect("an element");
        let end = text.find('>').expect("a tag's end");
        let (tag, mut rest) = (&text[..end], &text[end + 1..]);
        let (tag, empty) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let mut parts = tag.splitn(2, char::is_whitespace);
        let name = parts.next().expect("a name").to_owned();
        let mut attrs = BTreeMap::new();
        let mut attr_text = parts.next().unwrap_or("").trim();
        while let Some(eq) = attr_text.find('=') {
            let key = attr_text[..eq].trim().to_owned();
            let quoted = &attr_text[eq + 1..].trim_start();
            let quote = quoted.chars().next().expect("a quote");
            let close = quoted[1..].find(quote).expect("a closing quote") + 1;
            attrs.insert(key, unescape(&quoted[1..close]));
            attr_text = quoted[close + 1..].trim();
        }
        let mut element = Element {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
        };
        if empty {
            return (element, rest);
        }
        let closing = format!("</{}>", element.name);
        loop {
            if let Some(after) = rest.strip_prefix(closing.as_str()) {
                return (element, after);
            }
            if rest.starts_with('<') {
                let (child, after) = self::element(rest);
                element.children.push(child);
                rest = after;
            } else {
                let end = rest.find('<').expect("more XML");
                element.text.push_str(&unescape(&rest[..end]));
                rest = &rest[end..];
            }
        }
    }

    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let end = rest[amp..].find(';').expect("an entity's end") + amp;
            let entity = &rest[amp + 1..end];
            let c = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = match entity.strip_prefix("#x") {
                        Some(hex) => u32::from_str_radix(hex, 16),
                        None => entity.trim_start_matches('#').parse(),
                    };
                    code.ok()
                        .and_then(char::from_u32)
                        .unwrap_or_else(|| panic!("an unknown entity &{entity};"))
                }
            };
            out.push(c);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

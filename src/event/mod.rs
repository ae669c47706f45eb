//! The incoming events: which triggers the function accepts, and the account ids each one yields.
//!
//! The EventBridge envelope and the Control Tower and CloudTrail API-call details use the
//! `aws_lambda_events` types; Organizations' `CreateAccountResult` service event and the manual
//! invoke have types of their own here. Nothing in this module panics on any input: an event it
//! cannot understand is an [`EventError`] that says what came in and what is accepted.

use aws_lambda_events::cloudwatch_events::cloudtrail::AWSAPICall;
use aws_lambda_events::controltower::{ControlTowerLifecycleEvent, ServiceEventDetails};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::account::AccountNumber;
use crate::text::printable;

mod queue;
pub use queue::Batch;

/// An account as the event names it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAccount {
    pub account_id: String,
    pub email: Option<String>,
}

/// One entry of the event: an account to check, or an entry that is not even shaped like one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Account(RawAccount),
    /// `given` is a short, printable form of what was there.
    Malformed {
        given: String,
        reason: String,
    },
}

/// What the event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Onboard(Vec<Entry>),
    /// Reconcile the whole organisation: every `ACTIVE` account, every region's members.
    Sweep,
    /// Accounts that left the organisation (`AccountDepartedOrganization`): their memberships in
    /// every region are reported (or removed, with `REMOVE_DEPARTED_MEMBERS`).
    Departed(Vec<AccountNumber>),
    /// A trigger that needs no onboarding (a failed account creation, say), and why.
    Ignore(String),
}

/// The kind of trigger, in a few fixed words: the metrics' `Trigger` dimension, where the
/// trigger's own text (which names events and counts) would make a metric per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An account event, on its own or in a batch from the account-event queue.
    AccountEvent,
    /// The scheduled sweep.
    Schedule,
    /// A manual invoke: a list of accounts, or a sweep.
    Manual,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AccountEvent => "AccountEvent",
            Kind::Schedule => "Schedule",
            Kind::Manual => "Manual",
        }
    }
}

/// A understood event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// What triggered the function, for the report: "Control Tower CreateManagedAccount".
    pub trigger: String,
    pub kind: Kind,
    /// The EventBridge event id, where there is one.
    pub event_id: Option<String>,
    pub action: Action,
    /// Only reads: say what would be done (a manual invoke with `"dryRun": true`).
    pub dry_run: bool,
    /// For a batch from the account-event queue: its records, and those that could not be read.
    pub batch: Option<queue::Batch>,
}

/// An event the function does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(String);

/// What the function accepts, for error messages.
pub const ACCEPTED: &str = "Control Tower CreateManagedAccount or UpdateManagedAccount; Organizations \
CreateAccountResult (\"AWS Service Event via CloudTrail\"); Organizations AcceptHandshake (\"AWS API Call via \
CloudTrail\"), AccountJoinedOrganization or AccountDepartedOrganization; or a manual invoke {\"accounts\":[{\"accountId\":\"123456789012\",\
\"email\":\"optional@example.com\"}]}, optionally with \"dryRun\":true; a sweep of the whole organisation: \
an EventBridge Scheduled Event, or a manual invoke {\"sweep\":true}, optionally with \"dryRun\":true; \
a batch from the account-event queue: SQS records whose bodies are the account events above";

/// The most accounts one manual invoke may name. `scripts/bench` measured 1,000 accounts in 4
/// regions at 9.4 s; 5,000 with email lookups fit well inside the function's timeout, and a
/// larger list is refused whole, before any call, rather than cut short.
pub const MAX_ACCOUNTS: usize = 5_000;

const SERVICE_EVENT: &str = "AWS Service Event via CloudTrail";
const API_CALL: &str = "AWS API Call via CloudTrail";

fn text_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Reads an event: a batch from the account-event queue, a manual invoke, or one EventBridge
/// event.
pub fn parse(event: Value) -> Result<Received, EventError> {
    let Some(object) = event.as_object() else {
        return Err(EventError(format!(
            "received a JSON {} instead of an object; accepted: {ACCEPTED}",
            kind_of(&event)
        )));
    };
    if queue::is_batch(object) {
        return queue::parse(event);
    }
    if !object.contains_key("detail-type")
        && ["accounts", "sweep", "dryRun"]
            .iter()
            .any(|k| object.contains_key(*k))
    {
        return manual(&event);
    }
    if !object.contains_key("detail-type") || !object.contains_key("source") {
        let keys: Vec<&str> = object.keys().take(10).map(String::as_str).collect();
        return Err(EventError(format!(
            "received an object with keys {:?}, which is neither an EventBridge event nor a manual invoke; accepted: {ACCEPTED}",
            keys.iter().map(|k| printable(k, 40)).collect::<Vec<_>>()
        )));
    }
    eventbridge(event)
}

/// Reads one EventBridge event (an object with `source` and `detail-type`).
fn eventbridge(event: Value) -> Result<Received, EventError> {
    let source = text_at(&event, "/source");
    let detail_type = text_at(&event, "/detail-type");
    let event_name = text_at(&event, "/detail/eventName");
    match (source, detail_type, event_name) {
        ("aws.events", "Scheduled Event", _) => Ok(Received {
            kind: Kind::Schedule,
            trigger: "scheduled sweep".to_owned(),
            event_id: event_id(event["id"].as_str()),
            action: Action::Sweep,
            dry_run: false,
            batch: None,
        }),
        ("aws.controltower", SERVICE_EVENT, "CreateManagedAccount" | "UpdateManagedAccount") => {
            control_tower(event)
        }
        ("aws.organizations", SERVICE_EVENT, "CreateAccountResult") => create_account_result(event),
        ("aws.organizations", API_CALL, "AcceptHandshake") => accept_handshake(event),
        ("aws.organizations", SERVICE_EVENT | API_CALL, "AccountJoinedOrganization") => {
            account_joined(&event)
        }
        ("aws.organizations", SERVICE_EVENT | API_CALL, "AccountDepartedOrganization") => {
            Ok(account_departed(&event))
        }
        _ => Err(EventError(format!(
            "received an EventBridge event with source {:?}, detail-type {:?} and eventName {:?}, which this function does not handle; accepted: {ACCEPTED}",
            printable(source, 80),
            printable(detail_type, 80),
            printable(event_name, 80),
        ))),
    }
}

/// The most characters of a parse error an [`EventError`] quotes: serde's messages can quote
/// the input.
const MAX_SERDE_ERROR: usize = 200;

/// A parse error, bounded and printable.
pub(crate) fn serde_error(error: &serde_json::Error) -> String {
    printable(&error.to_string(), MAX_SERDE_ERROR)
}

/// The most characters of an event id kept.
const MAX_EVENT_ID: usize = 64;

/// An EventBridge event id as the report and the log show it: EventBridge's ids are UUIDs
/// ("A unique value is generated for every event", 36 characters), so one that is not (a
/// hand-written event) is kept only in a bounded, printable form.
fn event_id(id: Option<&str>) -> Option<String> {
    let id = id?;
    let uuid = id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    Some(if uuid {
        id.to_owned()
    } else {
        printable(id, MAX_EVENT_ID)
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn envelope<T: DeserializeOwned + serde::Serialize>(
    event: Value,
    what: &str,
) -> Result<EventBridgeEvent<T>, EventError> {
    serde_json::from_value(event).map_err(|e| {
        EventError(format!(
            "received a {what} event that is malformed ({}); expected the shape AWS documents for {what}",
            serde_error(&e)
        ))
    })
}

fn control_tower(event: Value) -> Result<Received, EventError> {
    let event_name = text_at(&event, "/detail/eventName").to_owned();
    let trigger = format!("Control Tower {event_name}");
    let parsed: EventBridgeEvent<ControlTowerLifecycleEvent> = envelope(event, &trigger)?;
    let status = match parsed.detail.service_event_details {
        ServiceEventDetails::CreateManagedAccountStatus(s)
        | ServiceEventDetails::UpdateManagedAccountStatus(s) => s,
        _ => {
            return Err(EventError(format!(
                "received a {trigger} event without createManagedAccountStatus or updateManagedAccountStatus; accepted: {ACCEPTED}"
            )));
        }
    };
    let action = if status.state == "SUCCEEDED" {
        Action::Onboard(vec![Entry::Account(RawAccount {
            account_id: status.account.account_id,
            email: None,
        })])
    } else {
        Action::Ignore(format!(
            "{trigger} has state {}, not SUCCEEDED: {}",
            printable(&status.state, 40),
            printable(&status.message, 300)
        ))
    };
    Ok(Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger,
        event_id: event_id(parsed.id.as_deref()),
        action,
        batch: None,
    })
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateAccountResultDetail {
    service_event_details: CreateAccountResultDetails,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateAccountResultDetails {
    create_account_status: CreateAccountStatus,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateAccountStatus {
    state: String,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
}

fn create_account_result(event: Value) -> Result<Received, EventError> {
    let trigger = "Organizations CreateAccountResult".to_owned();
    let parsed: EventBridgeEvent<CreateAccountResultDetail> = envelope(event, &trigger)?;
    let status = parsed.detail.service_event_details.create_account_status;
    let action = match (status.state.as_str(), status.account_id) {
        ("SUCCEEDED", Some(account_id)) => Action::Onboard(vec![Entry::Account(RawAccount {
            account_id,
            email: None,
        })]),
        ("SUCCEEDED", None) => {
            return Err(EventError(format!(
                "received a {trigger} event with state SUCCEEDED but no accountId; expected serviceEventDetails.createAccountStatus.accountId"
            )));
        }
        (state, _) => Action::Ignore(format!(
            "{trigger} has state {}{}; no account to onboard",
            printable(state, 40),
            status
                .failure_reason
                .map(|r| format!(", failureReason {}", printable(&r, 200)))
                .unwrap_or_default()
        )),
    };
    Ok(Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger,
        event_id: event_id(parsed.id.as_deref()),
        action,
        batch: None,
    })
}

#[derive(Debug, Deserialize)]
struct HandshakeResponse {
    handshake: Handshake,
}

#[derive(Debug, Deserialize)]
struct Handshake {
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    parties: Vec<HandshakeParty>,
    /// Nested `{type, value, resources}` entries; an invitation names the account in one of
    /// type `ACCOUNT`.
    #[serde(default)]
    resources: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct HandshakeParty {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

fn accept_handshake(event: Value) -> Result<Received, EventError> {
    let trigger = "Organizations AcceptHandshake".to_owned();
    let error_code = event
        .pointer("/detail/errorCode")
        .and_then(Value::as_str)
        .map(|c| printable(c, 80));
    // AcceptHandshake is called, and logged, by the account that joins.
    let caller = event
        .pointer("/detail/userIdentity/accountId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let parsed: EventBridgeEvent<AWSAPICall<Value, Value>> = envelope(event, &trigger)?;
    let event_id = event_id(parsed.id.as_deref());
    let ignored = |reason: String| {
        Ok(Received {
            kind: Kind::AccountEvent,
            dry_run: false,
            trigger: trigger.clone(),
            event_id: event_id.clone(),
            action: Action::Ignore(reason),
            batch: None,
        })
    };
    if let Some(code) = error_code {
        return ignored(format!(
            "{trigger} failed with errorCode {code}; no account joined"
        ));
    }
    let response: HandshakeResponse = parsed
        .detail
        .response_elements
        .ok_or_else(|| EventError(format!("received a {trigger} event without responseElements; expected responseElements.handshake")))
        .and_then(|v| {
            serde_json::from_value(v).map_err(|e| {
                EventError(format!("received a {trigger} event whose responseElements.handshake is malformed ({})", serde_error(&e)))
            })
        })?;
    let handshake = response.handshake;
    let action = handshake.action.as_deref().unwrap_or("");
    if !action.eq_ignore_ascii_case("invite") {
        return ignored(format!(
            "{trigger} is for the handshake action {:?}, which does not add an account to the organisation",
            printable(action, 60)
        ));
    }
    if let Some(state) = handshake
        .state
        .as_deref()
        .filter(|s| !s.eq_ignore_ascii_case("ACCEPTED"))
    {
        return ignored(format!(
            "{trigger} left the handshake in state {:?}, not ACCEPTED",
            printable(state, 40)
        ));
    }
    let Some(account_id) = joining_account(&handshake, caller) else {
        return Err(EventError(format!(
            "received a {trigger} event that names no joining account: no handshake party or resource of type ACCOUNT, and no caller account other than the organisation's management account; invoke the function manually with {{\"accounts\":[{{\"accountId\":\"...\"}}]}}"
        )));
    };
    let entries = vec![Entry::Account(RawAccount {
        account_id,
        email: None,
    })];
    Ok(Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger,
        event_id,
        action: Action::Onboard(entries),
        batch: None,
    })
}

/// The account that joined through an accepted invitation. An invitation sent to an account
/// id names it as a party of type `ACCOUNT`; one sent to an address has an `EMAIL` party
/// instead, and the account is then read from the handshake's resources of type `ACCOUNT`, or
/// else from the caller of `AcceptHandshake`, which is the joining account itself (never the
/// management account, whose id is in the handshake's ARN).
fn joining_account(handshake: &Handshake, caller: Option<String>) -> Option<String> {
    if let Some(party) = handshake
        .parties
        .iter()
        .find(|p| p.kind.eq_ignore_ascii_case("ACCOUNT"))
    {
        return Some(party.id.clone());
    }
    let mut stack: Vec<&Value> = handshake.resources.iter().collect();
    while let Some(resource) = stack.pop() {
        let kind = resource.get("type").and_then(Value::as_str).unwrap_or("");
        if kind.eq_ignore_ascii_case("ACCOUNT")
            && let Some(id) = resource.get("value").and_then(Value::as_str)
        {
            return Some(id.to_owned());
        }
        if let Some(nested) = resource.get("resources").and_then(Value::as_array) {
            stack.extend(nested);
        }
    }
    let management = handshake
        .arn
        .as_deref()
        .and_then(crate::account::AccountId::from_arn);
    caller.filter(|c| management.as_ref().is_none_or(|m| m.as_str() != c))
}

/// Where `AccountJoinedOrganization` and `AccountDepartedOrganization` may carry the account
/// that joined or left, most likely first. AWS has published no sample of either (Organizations
/// logs them in the management account since 2026-05-28; `joinedMethod` and `joinedTime`,
/// `departureMethod` and `departureTime` are documented, the account's field is not), so each
/// candidate is tried in turn, and only a 12-digit value is taken. `recipientAccountId` and the
/// envelope's `account` are the management account and never candidates.
const ACCOUNT_PATHS: &[&str] = &[
    "/detail/serviceEventDetails/accountId",
    "/detail/serviceEventDetails/account/accountId",
    "/detail/serviceEventDetails/account/id",
    "/detail/requestParameters/accountId",
    "/detail/responseElements/account/id",
    "/detail/additionalEventData/newAccountId",
    "/detail/additionalEventData/accountId",
];

/// The most key paths logged for an event of an unknown shape.
const MAX_KEY_PATHS: usize = 100;

/// The account an Organizations event names at the first of [`ACCOUNT_PATHS`] that holds a
/// 12-digit id.
fn named_account(event: &Value) -> Option<AccountNumber> {
    ACCOUNT_PATHS.iter().find_map(|p| {
        event
            .pointer(p)
            .and_then(Value::as_str)
            .and_then(AccountNumber::of)
    })
}

fn account_joined(event: &Value) -> Result<Received, EventError> {
    let trigger = "Organizations AccountJoinedOrganization".to_owned();
    let event_id = event_id(event.get("id").and_then(Value::as_str));
    let Some(account) = named_account(event) else {
        return Ok(sweep_instead(event, &trigger, event_id));
    };
    Ok(Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger,
        event_id,
        action: Action::Onboard(vec![Entry::Account(RawAccount {
            account_id: account.to_string(),
            email: None,
        })]),
        batch: None,
    })
}

/// An Organizations event that names its account at none of the paths tried: never a dead
/// letter, a sweep of the organisation instead, which finds what the event was about (an account
/// that joined and is no member yet, or one that left and still is). The shape is logged (its
/// keys, never its values) so that the account's path can be pinned later.
fn sweep_instead(event: &Value, trigger: &str, event_id: Option<String>) -> Received {
    tracing::warn!(
        trigger,
        key_paths = ?key_paths(event, MAX_KEY_PATHS),
        tried = ?ACCOUNT_PATHS,
        "the event names its account at none of the paths tried; sweeping the organisation instead"
    );
    Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger: format!("{trigger} (account not named: sweep)"),
        event_id,
        action: Action::Sweep,
        batch: None,
    }
}

/// `AccountDepartedOrganization`: the account that left, whose memberships are checked in every
/// region. An event that names it nowhere never fails: the function sweeps the organisation,
/// which reports every member the organisation no longer backs, this one included. The method
/// is read as documented now (`departureMethod`) or as announced (`departedMethod`).
fn account_departed(event: &Value) -> Received {
    let method = [
        "/detail/serviceEventDetails/departureMethod",
        "/detail/serviceEventDetails/departedMethod",
    ]
    .iter()
    .find_map(|p| event.pointer(p).and_then(Value::as_str))
    .map(|m| format!(" ({})", printable(&m.to_ascii_uppercase(), 20)))
    .unwrap_or_default();
    let trigger = format!("Organizations AccountDepartedOrganization{method}");
    let event_id = event_id(event.get("id").and_then(Value::as_str));
    let Some(account) = named_account(event) else {
        return sweep_instead(event, &trigger, event_id);
    };
    Received {
        kind: Kind::AccountEvent,
        dry_run: false,
        trigger,
        event_id,
        action: Action::Departed(vec![account]),
        batch: None,
    }
}

/// The JSON pointers of every key in `value` (array items as `/0`, `/1`...), at most `limit`,
/// each key printable and bounded: the event's shape without its values.
pub(crate) fn key_paths(value: &Value, limit: usize) -> Vec<String> {
    let mut paths = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((path, value)) = stack.pop() {
        let children: Vec<(String, &Value)> = match value {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (format!("{path}/{}", printable(k, 40)), v))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{path}/{i}"), v))
                .collect(),
            _ => continue,
        };
        for (child, value) in children.into_iter().rev() {
            if paths.len() == limit {
                return paths;
            }
            paths.push(child.clone());
            stack.push((child, value));
        }
    }
    paths
}

/// A manual invoke's flag: absent is `false`.
fn flag(event: &Value, key: &str) -> Result<bool, EventError> {
    match &event[key] {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(EventError(format!(
            "received a manual invoke whose \"{key}\" is a {}, not true or false",
            kind_of(other)
        ))),
    }
}

fn manual(event: &Value) -> Result<Received, EventError> {
    if let Some(key) = event.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["accounts", "sweep", "dryRun"].contains(&k.as_str()))
    }) {
        return Err(EventError(format!(
            "received a manual invoke with the unknown key {:?}; a manual invoke has \"accounts\" or \"sweep\", and optionally \"dryRun\"",
            printable(key, 40)
        )));
    }
    let dry_run = flag(event, "dryRun")?;
    let sweep = flag(event, "sweep")?;
    if sweep {
        if !event["accounts"].is_null() {
            return Err(EventError(
                "received a manual invoke with both \"sweep\": true and \"accounts\"; send one or the other".to_owned(),
            ));
        }
        return Ok(Received {
            kind: Kind::Manual,
            trigger: if dry_run {
                "manual sweep (dry run)"
            } else {
                "manual sweep"
            }
            .to_owned(),
            event_id: None,
            action: Action::Sweep,
            dry_run,
            batch: None,
        });
    }
    if event["accounts"].is_null() {
        return Err(EventError(
            "received a manual invoke without \"accounts\"; send {\"accounts\":[{\"accountId\":\"123456789012\"}]}, or {\"sweep\":true} to sweep the organisation".to_owned(),
        ));
    }
    let Some(list) = event["accounts"].as_array() else {
        return Err(EventError(format!(
            "received a manual invoke whose \"accounts\" is a {}, not a list; send {{\"accounts\":[{{\"accountId\":\"123456789012\",\"email\":\"optional@example.com\"}}]}}",
            kind_of(&event["accounts"])
        )));
    };
    if list.is_empty() {
        return Err(EventError(
            "received a manual invoke with an empty \"accounts\" list; give at least one {\"accountId\":\"123456789012\"}".to_owned(),
        ));
    }
    if list.len() > MAX_ACCOUNTS {
        return Err(EventError(format!(
            "received a manual invoke with {} accounts; the limit is {MAX_ACCOUNTS} per invocation: split the list into several invocations",
            list.len()
        )));
    }
    let entries = list
        .iter()
        .enumerate()
        .map(|(i, entry)| manual_entry(i, entry))
        .collect();
    Ok(Received {
        kind: Kind::Manual,
        dry_run,
        trigger: if dry_run {
            "manual invoke (dry run)"
        } else {
            "manual invoke"
        }
        .to_owned(),
        event_id: None,
        action: Action::Onboard(entries),
        batch: None,
    })
}

fn manual_entry(index: usize, entry: &Value) -> Entry {
    // What the report shows of the entry: its accountId where it has one, never its email.
    let given = match &entry["accountId"] {
        Value::String(id) => printable(id, 60),
        Value::Number(n) => n.to_string(),
        _ => format!("accounts[{index}]"),
    };
    let malformed = |reason: String| Entry::Malformed {
        given: given.clone(),
        reason: format!("accounts[{index}] {reason}"),
    };
    if !entry.is_object() {
        return malformed(format!(
            "is a {}, not an object like {{\"accountId\":\"123456789012\"}}",
            kind_of(entry)
        ));
    }
    let account_id = match &entry["accountId"] {
        Value::String(id) => id.clone(),
        Value::Null => return malformed("has no accountId".to_owned()),
        Value::Number(_) => {
            return malformed(
                "has a number as accountId: write it as a string of 12 digits in quotes, since a number loses leading zeros".to_owned(),
            );
        }
        other => {
            return malformed(format!(
                "has a {} as accountId, not a string",
                kind_of(other)
            ));
        }
    };
    let email = match &entry["email"] {
        Value::Null => None,
        Value::String(email) => Some(email.clone()),
        other => {
            return malformed(format!("has a {} as email, not a string", kind_of(other)));
        }
    };
    Entry::Account(RawAccount { account_id, email })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let text = match name {
            "ct_create" => include_str!("../../events/ct_create_managed_account.json"),
            "ct_update" => include_str!("../../events/ct_update_managed_account.json"),
            "car_ok" => include_str!("../../events/org_create_account_result_succeeded.json"),
            "car_failed" => include_str!("../../events/org_create_account_result_failed.json"),
            "handshake" => include_str!("../../events/org_api_accept_handshake.json"),
            "manual" => include_str!("../../events/manual_invoke.json"),
            "scheduled" => include_str!("../../events/scheduled_event.json"),
            "api_create" => include_str!("../../events/org_api_create_account.json"),
            "api_invite" => include_str!("../../events/org_api_invite_account.json"),
            _ => unreachable!("no sample {name}"),
        };
        serde_json::from_str(text).expect("samples are valid JSON")
    }

    fn onboard_ids(received: &Received) -> Vec<String> {
        match &received.action {
            Action::Onboard(entries) => entries
                .iter()
                .map(|e| match e {
                    Entry::Account(a) => a.account_id.clone(),
                    Entry::Malformed { given, .. } => format!("malformed:{given}"),
                })
                .collect(),
            Action::Ignore(reason) => vec![format!("ignored:{reason}")],
            Action::Sweep => vec!["sweep".to_owned()],
            Action::Departed(ids) => ids.iter().map(|id| format!("departed:{id}")).collect(),
        }
    }

    #[test]
    fn each_accepted_sample_yields_its_account() {
        let cases = [
            (
                "ct_create",
                "Control Tower CreateManagedAccount",
                "222222222222",
            ),
            (
                "ct_update",
                "Control Tower UpdateManagedAccount",
                "222222222222",
            ),
            (
                "car_ok",
                "Organizations CreateAccountResult",
                "222222222222",
            ),
            ("handshake", "Organizations AcceptHandshake", "333333333333"),
        ];
        for (name, trigger, account) in cases {
            let received = parse(sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(received.trigger, trigger);
            assert_eq!(onboard_ids(&received), vec![account.to_owned()], "{name}");
            assert!(received.event_id.is_some(), "{name}");
        }
    }

    #[test]
    fn the_manual_sample_yields_every_account_with_its_email() {
        let received = parse(sample("manual")).unwrap();
        let Action::Onboard(entries) = received.action else {
            panic!("onboard expected")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[1],
            Entry::Account(RawAccount {
                account_id: "444444444444".into(),
                email: Some("aws-prod-workload@example.com".into())
            })
        );
        assert!(matches!(&entries[0], Entry::Account(a) if a.email.is_none()));
    }

    #[test]
    fn a_failed_account_creation_is_a_no_op_that_says_why() {
        let received = parse(sample("car_failed")).unwrap();
        let Action::Ignore(reason) = received.action else {
            panic!("ignore expected")
        };
        assert!(reason.contains("FAILED"), "{reason}");
        assert!(reason.contains("EMAIL_ALREADY_EXISTS"), "{reason}");
    }

    #[test]
    fn a_control_tower_failure_is_a_no_op_that_says_why() {
        let mut event = sample("ct_create");
        event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
            json!("FAILED");
        event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["message"] =
            json!("AWS Control Tower could not create the account.");
        let Action::Ignore(reason) = parse(event).unwrap().action else {
            panic!("ignore expected")
        };
        assert!(
            reason.contains("FAILED") && reason.contains("could not create"),
            "{reason}"
        );
    }

    #[test]
    fn unrelated_samples_are_refused_with_what_was_received_and_what_is_accepted() {
        for (name, received) in [
            ("api_create", "CreateAccount"),
            ("api_invite", "InviteAccountToOrganization"),
        ] {
            let e = parse(sample(name)).unwrap_err().to_string();
            assert!(e.contains(received), "{name}: {e}");
            assert!(
                e.contains("accepted: Control Tower CreateManagedAccount"),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn a_scheduled_event_and_a_manual_sweep_are_sweeps() {
        let scheduled = parse(sample("scheduled")).unwrap();
        assert_eq!(scheduled.action, Action::Sweep);
        assert!(!scheduled.dry_run);
        assert!(scheduled.event_id.is_some());

        let manual = parse(json!({"sweep": true})).unwrap();
        assert_eq!(manual.action, Action::Sweep);
        assert!(!manual.dry_run);

        let dry = parse(json!({"sweep": true, "dryRun": true})).unwrap();
        assert_eq!(dry.action, Action::Sweep);
        assert!(dry.dry_run && dry.trigger.contains("dry run"));
    }

    #[test]
    fn a_manual_dry_run_keeps_its_accounts() {
        let received =
            parse(json!({"dryRun": true, "accounts": [{"accountId": "222222222222"}]})).unwrap();
        assert!(received.dry_run);
        assert!(matches!(received.action, Action::Onboard(ref e) if e.len() == 1));
        assert!(!parse(sample("manual")).unwrap().dry_run);
    }

    #[test]
    fn malformed_sweeps_and_dry_runs_are_clear_errors() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"sweep": "yes"}),
                "\"sweep\" is a string, not true or false",
            ),
            (
                json!({"dryRun": 1, "sweep": true}),
                "\"dryRun\" is a number",
            ),
            (
                json!({"sweep": true, "accounts": [{"accountId": "222222222222"}]}),
                "one or the other",
            ),
            (json!({"sweep": false}), "without \"accounts\""),
            (json!({"dryRun": true}), "without \"accounts\""),
            (
                json!({"sweep": true, "dryrun": true}),
                "unknown key \"dryrun\"",
            ),
        ];
        for (event, expected) in cases {
            let e = parse(event.clone()).unwrap_err().to_string();
            assert!(e.contains(expected), "{event}: {e}");
        }
    }

    #[test]
    fn a_failed_or_non_invite_handshake_is_a_no_op() {
        let mut failed = sample("handshake");
        failed["detail"]["errorCode"] = json!("HandshakeConstraintViolationException");
        failed["detail"]["responseElements"] = Value::Null;
        assert!(
            matches!(parse(failed).unwrap().action, Action::Ignore(r) if r.contains("HandshakeConstraintViolationException"))
        );

        let mut features = sample("handshake");
        features["detail"]["responseElements"]["handshake"]["action"] =
            json!("ENABLE_ALL_FEATURES");
        assert!(
            matches!(parse(features).unwrap().action, Action::Ignore(r) if r.contains("ENABLE_ALL_FEATURES"))
        );
    }

    #[test]
    fn a_handshake_sent_to_an_address_takes_the_account_from_the_event() {
        let mut event = sample("handshake");
        let handshake = &mut event["detail"]["responseElements"]["handshake"];
        handshake["parties"] = json!([
            {"type": "ORGANIZATION", "id": "o-aa111bb222"},
            {"type": "EMAIL", "id": "new.owner@example.com"}
        ]);
        assert_eq!(
            onboard_ids(&parse(event.clone()).unwrap()),
            vec!["333333333333"],
            "from the handshake's resources"
        );

        let handshake = &mut event["detail"]["responseElements"]["handshake"];
        handshake["resources"] = json!([{"type": "ORGANIZATION", "value": "o-aa111bb222"}]);
        assert_eq!(
            onboard_ids(&parse(event.clone()).unwrap()),
            vec!["333333333333"],
            "from the account that accepted"
        );

        // The management account (the handshake ARN's) is never taken for the joining one.
        event["detail"]["userIdentity"]["accountId"] = json!("111111111111");
        let e = parse(event).unwrap_err().to_string();
        assert!(e.contains("names no joining account"), "{e}");
    }

    #[test]
    fn account_joined_organization_is_read_where_the_account_is_found() {
        let mut event = sample("car_ok");
        event["detail"]["eventName"] = json!("AccountJoinedOrganization");
        event["detail"]["serviceEventDetails"] = json!({"accountId": "555555555555", "joinedMethod": "INVITED", "joinedTime": "2026-05-28T10:00:00Z"});
        assert_eq!(
            onboard_ids(&parse(event.clone()).unwrap()),
            vec!["555555555555"]
        );
        event["detail"]["serviceEventDetails"] = json!({"joinedMethod": "Created"});
        event["detail"]["responseElements"] = json!({"account": {"id": "666666666666"}});
        assert_eq!(
            onboard_ids(&parse(event.clone()).unwrap()),
            vec!["666666666666"]
        );
    }

    #[test]
    fn account_departed_organization_checks_the_account_or_sweeps_and_never_fails() {
        let event: Value = serde_json::from_str(include_str!(
            "../../events/org_account_departed_organization.json"
        ))
        .expect("the sample is JSON");
        let received = parse(event.clone()).expect("understood");
        assert_eq!(onboard_ids(&received), vec!["departed:222222222222"]);
        assert_eq!(received.kind, Kind::AccountEvent);
        assert_eq!(
            received.trigger,
            "Organizations AccountDepartedOrganization (REMOVED)"
        );
        // The spelling it was announced with, and an API-call detail-type.
        let mut older = event.clone();
        older["detail-type"] = json!("AWS API Call via CloudTrail");
        older["detail"]["serviceEventDetails"] =
            json!({"accountId": "333333333333", "departedMethod": "Left"});
        let received = parse(older).expect("understood");
        assert_eq!(onboard_ids(&received), vec!["departed:333333333333"]);
        assert!(received.trigger.ends_with("(LEFT)"), "{}", received.trigger);
        // Named nowhere (the envelope's account is the management account's): a sweep.
        let mut unnamed = event;
        unnamed["detail"]["serviceEventDetails"] = json!({"departureMethod": "CLEANED"});
        let received = parse(unnamed).expect("never a dead letter");
        assert_eq!(onboard_ids(&received), vec!["sweep"]);
        assert!(received.trigger.contains("account not named: sweep"));
    }

    #[test]
    fn account_joined_organization_without_an_account_sweeps_and_never_fails() {
        let mut event = sample("car_ok");
        event["detail"]["eventName"] = json!("AccountJoinedOrganization");
        // Not at any path tried, or not an account id where one is tried.
        for details in [
            json!({"joinedMethod": "INVITED"}),
            json!({"accountId": "not-an-account", "joinedMethod": "Created"}),
            json!({"account": {"accountId": 555555555555_u64}}),
        ] {
            event["detail"]["serviceEventDetails"] = details.clone();
            let received = parse(event.clone()).unwrap_or_else(|e| panic!("{details}: {e}"));
            assert_eq!(received.action, Action::Sweep, "{details}");
            assert!(received.trigger.contains("sweep"), "{}", received.trigger);
            assert!(received.event_id.is_some());
        }
    }

    #[test]
    fn key_paths_name_every_key_and_no_value() {
        let event = json!({"detail": {"serviceEventDetails": {"joinedMethod": "Created", "who": ["secret@example.com"]}}, "id": "x"});
        let mut paths = key_paths(&event, 100);
        paths.sort();
        assert_eq!(
            paths,
            [
                "/detail",
                "/detail/serviceEventDetails",
                "/detail/serviceEventDetails/joinedMethod",
                "/detail/serviceEventDetails/who",
                "/detail/serviceEventDetails/who/0",
                "/id"
            ]
        );
        assert_eq!(key_paths(&event, 2).len(), 2);
    }

    #[test]
    fn manual_entries_that_are_not_accounts_are_kept_as_malformed_rows() {
        let event = json!({"accounts": [
            {"accountId": 12345678901_u64},
            "222222222222",
            {"email": "x@example.com"},
            {"accountId": "222222222222", "email": 7},
            {"accountId": ["a"]},
            {"accountId": "222222222222", "email": null},
        ]});
        let Action::Onboard(entries) = parse(event).unwrap().action else {
            panic!()
        };
        let reasons: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Malformed { reason, .. } => reason.clone(),
                Entry::Account(a) => format!("ok {}", a.account_id),
            })
            .collect();
        assert!(
            reasons[0].starts_with("accounts[0]") && reasons[0].contains("leading zeros"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("not an object"), "{reasons:?}");
        assert!(reasons[2].contains("no accountId"), "{reasons:?}");
        assert!(reasons[3].contains("as email"), "{reasons:?}");
        assert!(reasons[4].contains("array as accountId"), "{reasons:?}");
        assert_eq!(reasons[5], "ok 222222222222");
        let given: Vec<String> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Malformed { given, .. } => Some(given.clone()),
                Entry::Account(_) => None,
            })
            .collect();
        assert_eq!(
            given,
            [
                "12345678901",
                "accounts[1]",
                "accounts[2]",
                "222222222222",
                "accounts[4]"
            ]
        );
    }

    #[test]
    fn malformed_events_are_clear_errors() {
        let cases: Vec<(Value, &str)> = vec![
            (json!(null), "null instead of an object"),
            (json!([1, 2]), "array instead of an object"),
            (json!("hello"), "string instead of an object"),
            (
                json!({"foo": 1}),
                "neither an EventBridge event nor a manual invoke",
            ),
            (json!({"accounts": "222222222222"}), "not a list"),
            (json!({"accounts": []}), "empty"),
            (
                json!({"source": "aws.controltower", "detail-type": SERVICE_EVENT, "detail": {"eventName": "CreateManagedAccount"}}),
                "malformed",
            ),
            (
                json!({"source": "aws.organizations", "detail-type": SERVICE_EVENT, "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {"createAccountStatus": {"state": "SUCCEEDED"}}}}),
                "no accountId",
            ),
            (
                json!({"source": 5, "detail-type": {}, "detail": 1}),
                "does not handle",
            ),
        ];
        for (event, expected) in cases {
            let e = parse(event.clone()).unwrap_err().to_string();
            assert!(e.contains(expected), "{event}: {e}");
        }
    }

    #[test]
    fn event_ids_are_kept_when_they_are_uuids_and_bounded_otherwise() {
        let mut event = sample("car_ok");
        event["id"] = json!("6a7e8feb-b491-4cf7-a9f1-bf3703467718");
        assert_eq!(
            parse(event.clone()).unwrap().event_id.as_deref(),
            Some("6a7e8feb-b491-4cf7-a9f1-bf3703467718")
        );
        event["id"] = json!(format!("{}\u{202E}", "x".repeat(500)));
        let id = parse(event).unwrap().event_id.expect("kept, bounded");
        assert_eq!(id.chars().count(), MAX_EVENT_ID + 1, "{id}");
        assert!(id.ends_with('…'));
    }

    #[test]
    fn parse_errors_quote_the_input_only_bounded() {
        // serde's "invalid type: string \"…\"" quotes the value it was given, in full.
        let mut event = sample("ct_create");
        event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["account"] =
            json!(format!("{}\n{}", "y".repeat(5_000), "z"));
        let e = parse(event).unwrap_err().to_string();
        assert!(e.contains("malformed") && e.len() < 1_000, "{}", e.len());
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn untrusted_text_in_messages_is_bounded_and_on_one_line() {
        let long = "x".repeat(10_000) + "\n";
        let event = json!({"source": long, "detail-type": "a\nb", "detail": {}});
        let e = parse(event).unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.len() < 1_500, "{}", e.len());
    }
}

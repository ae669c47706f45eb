//! Property tests of the event parser and validation: random JSON, the samples changed at any
//! depth, event text cut short or spliced, wrong types, huge strings and deep nesting never
//! panic, and no entry of a manual invoke is ever lost.

use std::collections::BTreeSet;

use onboarder::account::AccountId;
use onboarder::event::{self, Action, Entry, MAX_ACCOUNTS};
use onboarder::request;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

/// Every sample in `events/`, and AccountJoinedOrganization, of which AWS has published none
/// (its documented part, as in tests/template.rs): the shapes the parser is written for.
const SAMPLES: [&str; 14] = [
    r#"{"version": "0", "id": "0d1e2f3a-0000-4111-8222-333344445555",
        "detail-type": "AWS Service Event via CloudTrail", "source": "aws.organizations",
        "account": "111111111111", "time": "2026-05-28T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventSource": "organizations.amazonaws.com", "eventName": "AccountJoinedOrganization",
                   "serviceEventDetails": {"accountId": "555555555555", "joinedMethod": "INVITED", "joinedTime": "2026-05-28T10:00:00Z"}}}"#,
    include_str!("../events/ct_create_managed_account.json"),
    include_str!("../events/ct_update_managed_account.json"),
    include_str!("../events/manual_dry_run.json"),
    include_str!("../events/manual_dry_run_sweep.json"),
    include_str!("../events/manual_invoke.json"),
    include_str!("../events/manual_sweep.json"),
    include_str!("../events/org_api_accept_handshake.json"),
    include_str!("../events/org_api_create_account.json"),
    include_str!("../events/org_api_invite_account.json"),
    include_str!("../events/org_create_account_result_failed.json"),
    include_str!("../events/org_create_account_result_succeeded.json"),
    include_str!("../events/report_sample.json"),
    include_str!("../events/scheduled_event.json"),
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[0-9]{10,14}".prop_map(Value::from),
        prop_oneof![
            Just("SUCCEEDED"),
            Just("FAILED"),
            Just("ACCOUNT"),
            Just("invite"),
            Just("ACCEPTED")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("accounts".to_owned()),
                    Just("accountId".to_owned()),
                    Just("email".to_owned()),
                    Just("source".to_owned()),
                    Just("detail-type".to_owned()),
                    Just("detail".to_owned()),
                    Just("eventName".to_owned()),
                    Just("serviceEventDetails".to_owned()),
                    Just("state".to_owned()),
                    ".{0,12}".prop_map(String::from),
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A known envelope with a random detail, so the typed parsers see wrong shapes and types.
fn envelope_with_random_detail() -> impl Strategy<Value = Value> {
    let kinds = prop_oneof![
        Just((
            "aws.controltower",
            "AWS Service Event via CloudTrail",
            "CreateManagedAccount"
        )),
        Just((
            "aws.controltower",
            "AWS Service Event via CloudTrail",
            "UpdateManagedAccount"
        )),
        Just((
            "aws.organizations",
            "AWS Service Event via CloudTrail",
            "CreateAccountResult"
        )),
        Just((
            "aws.organizations",
            "AWS API Call via CloudTrail",
            "AcceptHandshake"
        )),
        Just((
            "aws.organizations",
            "AWS Service Event via CloudTrail",
            "AccountJoinedOrganization"
        )),
    ];
    (kinds, any_json(), any_json()).prop_map(|((source, detail_type, name), detail, extra)| {
        let mut detail = match detail {
            Value::Object(map) => Value::Object(map),
            other => json!({"payload": other}),
        };
        detail["eventName"] = json!(name);
        detail["serviceEventDetails"] = extra;
        json!({"version": "0", "id": "x", "source": source, "detail-type": detail_type, "detail": detail})
    })
}

fn sample() -> impl Strategy<Value = Value> {
    prop::sample::select(SAMPLES.as_slice())
        .prop_map(|text| serde_json::from_str(text).expect("the samples are JSON"))
}

/// The JSON pointer of every value in `value`, itself (`""`) included.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, &format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// `event` with the value at one of its pointers replaced by `new`, or (`remove`) taken out of
/// its object or list.
fn mutate(mut event: Value, at: Index, new: Value, remove: bool) -> Value {
    let mut all = Vec::new();
    pointers(&event, "", &mut all);
    let pointer = at.get(&all);
    match pointer.rsplit_once('/') {
        Some((parent, key)) if remove => match event.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Some(Value::Array(items)) => {
                if let Ok(i) = key.parse::<usize>() {
                    items.remove(i);
                }
            }
            _ => {}
        },
        _ => {
            if let Some(slot) = event.pointer_mut(pointer) {
                *slot = new;
            }
        }
    }
    event
}

/// A sample with one to three of its values, at any depth, replaced by random JSON or removed:
/// the typed parsers behind each accepted shape see wrong types, missing fields and odd values.
fn mutated_sample() -> impl Strategy<Value = Value> {
    (
        sample(),
        prop::collection::vec((any::<Index>(), any_json(), any::<bool>()), 1..=3),
    )
        .prop_map(|(event, changes)| {
            changes.into_iter().fold(event, |event, (at, new, remove)| {
                mutate(event, at, new, remove)
            })
        })
}

/// What may happen to an event's text before it reaches the function.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut short at this point.
    Truncated(Index),
    /// Up to this many characters, from this point, replaced by this text.
    Spliced(Index, usize, String),
}

impl Damage {
    fn apply(self, text: String) -> String {
        let boundaries: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        match self {
            Damage::None => text,
            Damage::Truncated(at) => text[..*at.get(&boundaries)].to_owned(),
            Damage::Spliced(at, len, with) => {
                let start = at.index(boundaries.len());
                let end = (start + len).min(boundaries.len() - 1);
                format!(
                    "{}{with}{}",
                    &text[..boundaries[start]],
                    &text[boundaries[end]..]
                )
            }
        }
    }
}

/// JSON text as the Lambda runtime could receive it: random JSON, known envelopes with random
/// details, the samples and the samples changed, compact or pretty, now and then cut short or
/// with a span replaced by random text.
fn event_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        2 => any_json(),
        2 => envelope_with_random_detail(),
        1 => sample(),
        5 => mutated_sample(),
    ];
    let damage = prop_oneof![
        6 => Just(Damage::None),
        1 => any::<Index>().prop_map(Damage::Truncated),
        1 => (any::<Index>(), 0..8usize, ".{0,8}").prop_map(|(at, len, with)| Damage::Spliced(at, len, with)),
    ];
    (value, any::<bool>(), damage).prop_map(|(value, pretty, damage)| {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        };
        damage.apply(text.expect("a JSON value serialises"))
    })
}

/// Parses the way the Lambda runtime hands events over: from JSON text.
fn parse_text(text: &str) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Ok(received) = event::parse(value)
        && let Action::Onboard(entries) = received.action
    {
        check_nothing_lost(entries);
    }
}

/// Every entry becomes a target, a rejected row, or a duplicate merged into a target.
fn check_nothing_lost(entries: Vec<Entry>) {
    let own = AccountId::parse("999999999999");
    let mut distinct_valid = std::collections::BTreeSet::new();
    let mut duplicates = 0;
    for entry in &entries {
        if let Entry::Account(raw) = entry
            && let Some(id) = AccountId::parse(&raw.account_id)
            && Some(&id) != own.as_ref()
            && raw.email.as_deref().is_none_or(|e| {
                e.trim().is_empty() || onboarder::account::Email::parse(e.trim()).is_some()
            })
            && !distinct_valid.insert(id)
        {
            duplicates += 1;
        }
    }
    let count = entries.len();
    let request = request::validate(entries, own.as_ref());
    assert_eq!(
        request.targets.len() + request.rejected.len() + duplicates,
        count
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_json_never_panics(value in any_json()) {
        parse_text(&value.to_string());
    }

    #[test]
    fn known_envelopes_with_random_details_never_panic(value in envelope_with_random_detail()) {
        parse_text(&value.to_string());
    }

    #[test]
    fn manual_invokes_lose_no_entry(entries in prop::collection::vec(any_json(), 1..60)) {
        let Action::Onboard(parsed) = event::parse(json!({ "accounts": entries.clone() })).expect("a list of accounts").action else {
            panic!("a manual invoke onboards");
        };
        prop_assert_eq!(parsed.len(), entries.len());
        check_nothing_lost(parsed);
    }

    #[test]
    fn valid_and_invalid_ids_and_emails_are_sorted_correctly(
        ids in prop::collection::vec(prop_oneof!["[0-9]{12}", "[0-9]{1,20}", ".{0,16}"], 1..40),
        emails in prop::collection::vec(prop::option::of(prop_oneof!["[a-z]{1,10}@[a-z]{1,10}\\.com", ".{0,70}"]), 1..40),
    ) {
        let accounts: Vec<Value> = ids.iter().zip(emails.iter().cycle())
            .map(|(id, email)| json!({"accountId": id, "email": email}))
            .collect();
        let Action::Onboard(entries) = event::parse(json!({ "accounts": accounts })).expect("parses").action else { panic!() };
        let request = request::validate(entries.clone(), None);
        for target in &request.targets {
            prop_assert!(target.id.as_str().len() == 12 && target.id.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        check_nothing_lost(entries);
    }

    #[test]
    fn event_text_never_panics(text in event_text()) {
        parse_text(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        parse_text(&text);
    }
}

/// The generated event text reaches the event parser, not only the JSON reader: most of it is
/// JSON, much of it is accepted, and every kind of event the parser accepts is among it.
#[test]
fn event_text_reaches_every_accepted_shape_of_the_parser() {
    let mut runner = TestRunner::deterministic();
    let strategy = event_text();
    let (mut json, mut accepted) = (0, 0);
    let mut triggers = BTreeSet::new();
    for _ in 0..500 {
        let text = strategy
            .new_tree(&mut runner)
            .expect("a generated text")
            .current();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        json += 1;
        if let Ok(received) = event::parse(value) {
            accepted += 1;
            triggers.insert(received.trigger);
        }
    }
    assert!(json >= 350, "{json} of 500 texts are JSON");
    assert!(accepted >= 60, "{accepted} of 500 texts are accepted");
    // Five kinds of EventBridge event, a scheduled sweep, manual invokes and sweeps, each also
    // as a dry run.
    assert!(triggers.len() >= 10, "{triggers:?}");
}

#[test]
fn deep_nesting_is_refused_or_parsed_without_a_panic() {
    for depth in [10, 127, 128, 129, 10_000, 100_000] {
        let text = format!("{}{}{}", "[".repeat(depth), "1", "]".repeat(depth));
        parse_text(&text);
        let text = format!(
            "{{\"accounts\": [{}{}{}]}}",
            "{\"a\":".repeat(depth),
            "1",
            "}".repeat(depth)
        );
        parse_text(&text);
    }
}

#[test]
fn huge_strings_are_rejected_with_bounded_rows() {
    let huge = "1".repeat(1 << 20);
    let Action::Onboard(entries) =
        event::parse(json!({"accounts": [{"accountId": huge, "email": "x".repeat(1 << 20)}]}))
            .expect("parses")
            .action
    else {
        panic!()
    };
    let request = request::validate(entries, None);
    assert_eq!(request.rejected.len(), 1);
    assert!(request.rejected[0].account_id.len() < 100);
    let source = "s".repeat(1 << 20);
    let error = event::parse(json!({"source": source, "detail-type": "x", "detail": {}}))
        .expect_err("unknown");
    assert!(error.to_string().len() < 2_000);
}

#[test]
fn the_account_limit_is_enforced_at_parse_time() {
    let accounts: Vec<Value> = (0..=MAX_ACCOUNTS)
        .map(|i| json!({"accountId": format!("{i:012}")}))
        .collect();
    let error = event::parse(json!({ "accounts": accounts })).expect_err("over the limit");
    assert!(
        error
            .to_string()
            .contains(&format!("the limit is {MAX_ACCOUNTS}")),
        "{error}"
    );
    let accounts: Vec<Value> = (0..MAX_ACCOUNTS)
        .map(|i| json!({"accountId": format!("{i:012}")}))
        .collect();
    assert!(event::parse(json!({ "accounts": accounts })).is_ok());
}

//! Batches from the account-event queue: the stack's rules send the account events to an SQS
//! queue, and Lambda hands the function up to a batch of them at once (the template's
//! `AccountEventMapping`), so that the two or three events of one new account, or an Account
//! Factory batch, are one run and one report.
//!
//! Each record's body is one EventBridge event, read as if it had come alone. Their accounts
//! are merged, each once; an ignored event (a `FAILED` creation) is only logged. A record that
//! cannot be read is answered as failed in the partial batch response, by its `messageId`, and
//! the queue redelivers it, then keeps it in the dead-letter queue; the rest of the batch is
//! onboarded. Lambda fails the whole batch when a response names an id that is empty, null or
//! not in the batch (Lambda Developer Guide, "Handling errors for an SQS event source"), so only
//! this batch's ids are ever named, and a record that cannot be read and has no id fails the
//! invocation instead: the whole batch comes back, and its accounts are onboarded then (a
//! redelivery invites no one twice).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::{Map, Value};
use tracing::{info, warn};

use super::{Action, Entry, EventError, Kind, Received};
use crate::text::{printable, redact_emails};

/// The most event ids and ignored reasons a batch's trigger, id and reason name.
const NAMED: usize = 10;

/// What a batch from the queue holds besides its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// How many records it had.
    pub records: usize,
    /// The `messageId`s of the records that could not be read, each from this batch.
    pub failed: Vec<String>,
    /// Whether any record was received before (`ApproximateReceiveCount` above 1): an earlier
    /// run of it failed, perhaps to send its report, so this run's report goes out even when it
    /// finds everything in place.
    pub redelivered: bool,
}

impl Batch {
    /// The partial batch response: the records to return to the queue.
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = self
            .failed
            .iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id.clone();
                failure
            })
            .collect();
        response
    }
}

/// Whether an invocation's payload is a batch from an SQS queue: `Records` whose items come
/// from `aws:sqs`.
pub(super) fn is_batch(object: &Map<String, Value>) -> bool {
    object
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|records| {
            records
                .iter()
                .any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        })
}

/// Reads a batch: every record's event, merged into one [`Received`].
pub(super) fn parse(event: Value) -> Result<Received, EventError> {
    let batch: SqsEvent = serde_json::from_value(event).map_err(|e| {
        EventError(format!(
            "received an SQS batch that is malformed ({}); expected Lambda's SQS event, {{\"Records\":[{{\"messageId\":...,\"body\":...}}]}}",
            super::serde_error(&e)
        ))
    })?;
    let records = batch.records.len();
    let redelivered = batch.records.iter().any(|r| {
        r.attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 1)
    });
    let mut read = Vec::with_capacity(records);
    let mut failed = Vec::new();
    for (index, record) in batch.records.into_iter().enumerate() {
        let id = record.message_id.filter(|id| !id.is_empty());
        match (record_event(record.body), id) {
            (Ok(received), _) => read.push(received),
            (Err(error), Some(id)) => {
                warn!(message_id = %printable(&id, 100), error = %redact_emails(&error.to_string()), "a record of the batch was not understood; it goes back to the queue");
                failed.push(id);
            }
            (Err(error), None) => {
                return Err(EventError(format!(
                    "record {index} of the SQS batch has no messageId, so it cannot be returned alone, and it could not be read: {error}; the whole batch goes back to the queue"
                )));
            }
        }
    }
    Ok(merge(
        read,
        Batch {
            records,
            failed,
            redelivered,
        },
    ))
}

/// One record's event: its body must be one EventBridge event.
fn record_event(body: Option<String>) -> Result<Received, EventError> {
    let body = body.filter(|b| !b.is_empty()).ok_or_else(|| {
        EventError("the record has no body; expected an EventBridge event".to_owned())
    })?;
    let event: Value = serde_json::from_str(&body).map_err(|e| {
        EventError(format!(
            "the record's body is not JSON ({}); expected an EventBridge event",
            super::serde_error(&e)
        ))
    })?;
    let is_eventbridge = event
        .as_object()
        .is_some_and(|o| o.contains_key("detail-type") && o.contains_key("source"));
    if !is_eventbridge {
        return Err(EventError(
            "the record's body is not an EventBridge event (no source and detail-type); the account-event queue carries only the stack's rules' events".to_owned(),
        ));
    }
    super::eventbridge(event)
}

/// The batch's events as one: their accounts, each once; a sweep when any event asks for one
/// (it finds every account the others name); ignored when none names an account.
fn merge(read: Vec<Received>, batch: Batch) -> Received {
    let trigger = triggers(&read, &batch);
    let ids: Vec<&str> = read.iter().filter_map(|r| r.event_id.as_deref()).collect();
    let event_id = (!ids.is_empty()).then(|| named(&ids));
    let mut entries: Vec<Entry> = Vec::new();
    let mut sweep = false;
    let mut departed = Vec::new();
    let mut ignored = Vec::new();
    for received in read {
        match received.action {
            Action::Onboard(more) => {
                for entry in more {
                    if !entries.contains(&entry) {
                        entries.push(entry);
                    }
                }
            }
            Action::Sweep => sweep = true,
            Action::Departed(ids) => {
                for id in ids {
                    if !departed.contains(&id) {
                        departed.push(id);
                    }
                }
            }
            Action::Ignore(reason) => {
                info!(trigger = %received.trigger, reason = %redact_emails(&reason), "an event of the batch needs no onboarding");
                ignored.push(reason);
            }
        }
    }
    // A sweep checks every account, departed ones included; accounts to onboard beside departed
    // ones make one run of both kinds, which is a sweep too.
    let action = if sweep || (!entries.is_empty() && !departed.is_empty()) {
        Action::Sweep
    } else if !departed.is_empty() {
        Action::Departed(departed)
    } else if !entries.is_empty() {
        Action::Onboard(entries)
    } else if ignored.is_empty() {
        Action::Ignore(format!(
            "none of the batch's {} records could be read; each goes back to the queue",
            batch.records
        ))
    } else {
        let reasons: Vec<&str> = ignored.iter().map(String::as_str).collect();
        Action::Ignore(named(&reasons))
    };
    Received {
        kind: Kind::AccountEvent,
        trigger,
        event_id,
        action,
        dry_run: false,
        batch: Some(batch),
    }
}

/// "account events (3): Organizations CreateAccountResult (2), Control Tower
/// CreateManagedAccount", each trigger once in order of first appearance, with the records that
/// could not be read counted.
fn triggers(read: &[Received], batch: &Batch) -> String {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for received in read {
        match counted.iter_mut().find(|(t, _)| *t == received.trigger) {
            Some((_, n)) => *n += 1,
            None => counted.push((&received.trigger, 1)),
        }
    }
    let mut parts: Vec<String> = counted
        .iter()
        .map(|(t, n)| {
            if *n == 1 {
                (*t).to_owned()
            } else {
                format!("{t} ({n})")
            }
        })
        .collect();
    if !batch.failed.is_empty() {
        parts.push(format!("not understood ({})", batch.failed.len()));
    }
    format!("account events ({}): {}", batch.records, parts.join(", "))
}

/// The first [`NAMED`] items, joined, and how many more there are.
fn named(items: &[&str]) -> String {
    let shown: Vec<&str> = items.iter().take(NAMED).copied().collect();
    match items.len().saturating_sub(NAMED) {
        0 => shown.join("; "),
        more => format!("{} and {more} more", shown.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RawAccount, parse};
    use super::*;
    use serde_json::json;

    fn sample(text: &str) -> Value {
        serde_json::from_str(text).expect("samples are valid JSON")
    }

    fn record(id: Option<&str>, body: &str) -> Value {
        json!({
            "messageId": id,
            "receiptHandle": "AQEB",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:onboarder-AccountEventQueue",
            "awsRegion": "us-east-1"
        })
    }

    fn body(mut event: Value, account: &str) -> String {
        for pointer in [
            "/detail/serviceEventDetails/createAccountStatus/accountId",
            "/detail/serviceEventDetails/createManagedAccountStatus/account/accountId",
        ] {
            if let Some(slot) = event.pointer_mut(pointer) {
                *slot = json!(account);
            }
        }
        event.to_string()
    }

    fn created(account: &str) -> String {
        body(
            sample(include_str!(
                "../../events/org_create_account_result_succeeded.json"
            )),
            account,
        )
    }

    fn managed(account: &str) -> String {
        body(
            sample(include_str!("../../events/ct_create_managed_account.json")),
            account,
        )
    }

    fn accounts(received: &Received) -> Vec<&str> {
        match &received.action {
            Action::Onboard(entries) => entries
                .iter()
                .map(|e| match e {
                    Entry::Account(RawAccount { account_id, .. }) => account_id.as_str(),
                    Entry::Malformed { given, .. } => given.as_str(),
                })
                .collect(),
            other => panic!("onboard expected, got {other:?}"),
        }
    }

    #[test]
    fn the_sample_batch_is_one_run_of_its_events_accounts() {
        let received = parse(sample(include_str!("../../events/sqs_account_events.json"))).unwrap();
        let batch = received.batch.clone().expect("a batch");
        assert!(batch.failed.is_empty());
        assert!(!batch.redelivered);
        assert_eq!(batch.records, 3);
        assert_eq!(
            accounts(&received),
            ["222222222222"],
            "one account, named by two events"
        );
        assert!(
            received.trigger.starts_with("account events (3): "),
            "{}",
            received.trigger
        );
    }

    #[test]
    fn a_batch_merges_its_accounts_each_once_and_returns_only_what_it_could_not_read() {
        let failed = include_str!("../../events/org_create_account_result_failed.json");
        let event = json!({"Records": [
            record(Some("m-1"), &created("111122223333")),
            record(Some("m-2"), &managed("111122223333")),
            record(Some("m-3"), &managed("444455556666")),
            record(Some("m-4"), "not json"),
            record(Some("m-5"), failed),
            record(Some("m-6"), r#"{"accounts":[{"accountId":"777788889999"}]}"#),
            record(Some("m-7"), ""),
        ]});
        let received = parse(event).unwrap();
        assert_eq!(accounts(&received), ["111122223333", "444455556666"]);
        let batch = received.batch.clone().unwrap();
        assert_eq!(batch.failed, ["m-4", "m-6", "m-7"]);
        assert_eq!(
            serde_json::to_value(batch.response()).unwrap(),
            json!({"batchItemFailures": [
                {"itemIdentifier": "m-4"}, {"itemIdentifier": "m-6"}, {"itemIdentifier": "m-7"}
            ]})
        );
        assert_eq!(
            received.trigger,
            "account events (7): Organizations CreateAccountResult (2), Control Tower CreateManagedAccount (2), not understood (3)"
        );
        assert!(!received.dry_run);
        assert_eq!(
            received.event_id.as_deref().map(|i| i.split("; ").count()),
            Some(4)
        );
    }

    #[test]
    fn a_record_that_cannot_be_read_and_has_no_id_fails_the_whole_batch() {
        for id in [None, Some("")] {
            let event = json!({"Records": [
                record(Some("m-1"), &created("111122223333")),
                record(id, "{}"),
            ]});
            let e = parse(event).unwrap_err().to_string();
            assert!(e.contains("record 1") && e.contains("whole batch"), "{e}");
        }
        // A record without an id that is read is onboarded: nothing has to name it.
        let event = json!({"Records": [record(None, &created("111122223333"))]});
        assert_eq!(accounts(&parse(event).unwrap()), ["111122223333"]);
    }

    #[test]
    fn a_record_received_before_marks_the_batch_redelivered() {
        let mut again = record(Some("m-2"), &created("444455556666"));
        again["attributes"]["ApproximateReceiveCount"] = json!("2");
        let event = json!({"Records": [record(Some("m-1"), &created("111122223333")), again]});
        assert!(parse(event).unwrap().batch.unwrap().redelivered);
    }

    #[test]
    fn a_batch_of_ignored_or_unreadable_events_is_ignored_with_its_reasons() {
        let failed = include_str!("../../events/org_create_account_result_failed.json");
        let event = json!({"Records": [record(Some("m-1"), failed), record(Some("m-2"), "[]")]});
        let received = parse(event).unwrap();
        assert!(
            matches!(&received.action, Action::Ignore(r) if r.contains("EMAIL_ALREADY_EXISTS")),
            "{:?}",
            received.action
        );
        assert_eq!(received.batch.unwrap().failed, ["m-2"]);

        let event = json!({"Records": [record(Some("m-1"), "[]")]});
        let received = parse(event).unwrap();
        assert!(
            matches!(&received.action, Action::Ignore(r) if r.contains("none of the batch's 1 records")),
            "{:?}",
            received.action
        );
    }

    #[test]
    fn an_event_that_asks_for_a_sweep_makes_the_batch_a_sweep() {
        let mut joined = sample(include_str!(
            "../../events/org_create_account_result_succeeded.json"
        ));
        joined["detail"]["eventName"] = json!("AccountJoinedOrganization");
        joined["detail"]["serviceEventDetails"] = json!({"joinedMethod": "Created"});
        let event = json!({"Records": [
            record(Some("m-1"), &created("111122223333")),
            record(Some("m-2"), &joined.to_string()),
        ]});
        assert_eq!(parse(event).unwrap().action, Action::Sweep);
    }

    #[test]
    fn a_malformed_batch_is_a_clear_error() {
        let e = parse(json!({"Records": [{"eventSource": "aws:sqs", "messageId": 5}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SQS batch that is malformed"), "{e}");
    }
}

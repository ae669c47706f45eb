//! The logs never carry an email address or the invitation text, whatever happens: lookups,
//! invitations, a lookup failure, and a report that cannot be sent (whose full summary is logged).

mod support;

use serde_json::json;
use support::*;

// One thread, so every record of the invocation reaches this test's subscriber. DEBUG for every
// crate: the most the template allows (at TRACE the SDK logs raw responses, which can quote an
// address back).
#[tokio::test(flavor = "current_thread")]
async fn logs_carry_no_email_and_no_invitation_text() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = World::start().await;
    let looked_up = world.create_account("looked-up.owner@example.com").await;
    let event = json!({"accounts": [
        {"accountId": looked_up},
        {"accountId": "444444444444", "email": "given.owner@example.com"},
        {"accountId": "555555555555"},
        {"accountId": "12345", "email": "bad.entry@example.com"},
    ]});
    let onboarder = world.onboarder(&[]);
    // The sender is not verified yet: the report fails and the full summary is logged.
    let failed = invoke(&onboarder, event.clone()).await;
    assert!(failed.is_err());
    world.verify_sender().await;
    invoke(&onboarder, event).await.expect("succeeds");

    let logs = captured.text();
    assert!(
        logs.contains(&looked_up),
        "the capture works: account ids are logged"
    );
    assert!(
        logs.contains("report not sent"),
        "the failed report was logged"
    );
    assert!(logs.contains("invited"));
    assert!(
        !logs.contains('@'),
        "an address reached the logs:\n{}",
        logs.lines()
            .filter(|l| l.contains('@'))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        !logs.contains(INVITATION),
        "the invitation text reached the logs"
    );
}

/// The CloudWatch Logs Insights query of docs/operations.md lists the rows that need a person:
/// every `fields.` name on that page is a field that the function's `WARN` records carry (as
/// JSON, `{"level", "fields": {...}}`: src/logging.rs writes the shape this test's formatter
/// does), and every account that needs a person has a `WARN` record naming it.
#[tokio::test(flavor = "current_thread")]
async fn the_logs_insights_query_names_fields_the_records_carry() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.json_at_info());

    let world = World::start().await;
    world.verify_sender().await;
    // Every kind of row that needs a person: a member that is not monitored (status), an
    // invitation refused (step, result), a lookup that failed (error).
    world
        .standin
        .put_member(US, "333333333333", "owner@example.com", "Resigned");
    world.standin.inject(standin::Fault::always(
        standin::Operation::InviteMembers,
        EU,
        standin::FaultKind::ServerError,
    ));
    let event = json!({"accounts": [
        {"accountId": "222222222222", "email": "a@example.com"},
        {"accountId": "333333333333", "email": "owner@example.com"},
        {"accountId": "555555555555"},
    ]});
    let response = invoke(&world.onboarder(&[]), event)
        .await
        .expect("succeeds");
    assert!(response.counts.needs_action > 0 && response.counts.unprocessed > 0);

    let warnings: Vec<serde_json::Value> = captured
        .text()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| record["level"] == "WARN")
        .collect();
    let carried: std::collections::BTreeSet<&str> = warnings
        .iter()
        .filter_map(|r| r["fields"].as_object())
        .flat_map(|fields| fields.keys().map(String::as_str))
        .collect();
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md"),
    )
    .expect("docs/operations.md");
    let named: std::collections::BTreeSet<&str> = page
        .match_indices("fields.")
        .map(|(at, _)| {
            let rest = &page[at + "fields.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect();
    assert!(
        named.len() >= 5,
        "the page names the query's fields: {named:?}"
    );
    for name in &named {
        assert!(
            carried.contains(name),
            "the query names fields.{name}, which no WARN record carries ({carried:?})"
        );
    }
    for group in &response.response.attention {
        for account in &group.accounts {
            assert!(
                warnings
                    .iter()
                    .any(|r| r["fields"]["account_id"] == account.as_str()
                        && (group.region == "all"
                            || r["fields"]["region"] == group.region.as_str())),
                "no WARN record names {account} in {}",
                group.region
            );
        }
    }
}

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

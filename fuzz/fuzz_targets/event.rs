//! Fuzzes the event parser and validation with arbitrary bytes, as the Lambda runtime would
//! hand them over: JSON first (with serde_json's nesting limit), then `event::parse`, then
//! `request::validate`. A panic here would abort the function (`panic=abort`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use onboarder::account::AccountId;
use onboarder::event::{self, Action};
use onboarder::request;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let own = AccountId::parse("999999999999");
    if let Ok(received) = event::parse(value) {
        if let Action::Onboard(entries) = received.action {
            let count = entries.len();
            let request = request::validate(entries, own.as_ref());
            // Nothing is lost: every entry is a target, a merged duplicate, or a rejected row.
            assert!(request.targets.len() + request.rejected.len() <= count);
            assert!(count == 0 || !request.targets.is_empty() || !request.rejected.is_empty());
        }
    }
});

//! The validated onboarding request: what is left of an event's entries once every account id is
//! 12 digits, every email is plausible, duplicates are merged and the function's own account is
//! set aside. Each entry set aside becomes a row at the `validate` step.

use std::collections::HashMap;

use crate::account::{AccountId, Email};
use crate::event::Entry;
use crate::outcome::{AccountOutcome, Reason, Step};
use crate::text::printable;

/// An account to onboard; the email is fetched from Organizations when the event had none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: AccountId,
    pub email: Option<Email>,
}

/// The accounts to onboard, in the order first named, and the entries set aside.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub targets: Vec<Target>,
    pub rejected: Vec<AccountOutcome>,
}

/// How much of an invalid value the report shows.
const SHOWN_CHARS: usize = 60;

/// Checks every entry. `own_account` is the function's own account, which cannot be a member.
pub fn validate(entries: Vec<Entry>, own_account: Option<&AccountId>) -> Request {
    let mut request = Request::default();
    let mut index: HashMap<AccountId, usize> = HashMap::new();
    for entry in entries {
        let raw = match entry {
            Entry::Account(raw) => raw,
            Entry::Malformed { given, reason } => {
                request.rejected.push(AccountOutcome::unprocessed(
                    given,
                    Step::Validate,
                    Reason::Invalid(reason),
                ));
                continue;
            }
        };
        let Some(id) = AccountId::parse(&raw.account_id) else {
            request.rejected.push(AccountOutcome::unprocessed(
                printable(&raw.account_id, SHOWN_CHARS),
                Step::Validate,
                Reason::Invalid(format!(
                    "the account id must be exactly 12 digits; it has {} characters",
                    raw.account_id.chars().count()
                )),
            ));
            continue;
        };
        let email = match raw.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match Email::parse(text) {
                Some(email) => Some(email),
                None => {
                    request.rejected.push(AccountOutcome::unprocessed(
                        id.as_str(),
                        Step::Validate,
                        Reason::Invalid(format!(
                            "the email is not plausible: it must be {}-{} characters with one @ and a domain; omit it to look it up in Organizations",
                            Email::MIN_LEN,
                            Email::MAX_LEN
                        )),
                    ));
                    continue;
                }
            },
        };
        if own_account == Some(&id) {
            request.rejected.push(AccountOutcome::unprocessed(
                id.as_str(),
                Step::Validate,
                Reason::Invalid("this is the function's own account, the GuardDuty administrator; it cannot be its own member".to_owned()),
            ));
            continue;
        }
        match index.get(&id) {
            // A duplicate is merged: the first email given wins, a later one fills a gap.
            Some(&at) => {
                let target = &mut request.targets[at];
                if target.email.is_none() {
                    target.email = email;
                }
            }
            None => {
                index.insert(id.clone(), request.targets.len());
                request.targets.push(Target { id, email });
            }
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawAccount;
    use crate::outcome::Outcome;

    fn account(id: &str, email: Option<&str>) -> Entry {
        Entry::Account(RawAccount {
            account_id: id.to_owned(),
            email: email.map(str::to_owned),
        })
    }

    fn reasons(request: &Request) -> Vec<(String, String)> {
        request
            .rejected
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Unprocessed {
                    step: Step::Validate,
                    result,
                } => (r.account_id.to_string(), result.to_string()),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn valid_accounts_pass_in_order() {
        let r = validate(
            vec![
                account("222222222222", None),
                account("444444444444", Some("a@example.com")),
            ],
            None,
        );
        assert!(r.rejected.is_empty());
        let ids: Vec<&str> = r.targets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["222222222222", "444444444444"]);
        assert_eq!(
            r.targets[1].email.as_ref().map(Email::as_str),
            Some("a@example.com")
        );
    }

    #[test]
    fn invalid_ids_and_emails_are_rejected_at_the_validate_step() {
        let r = validate(
            vec![
                account("2222", None),
                account("22222222222a", None),
                account("444444444444", Some("not-an-email")),
                account("555555555555", Some("   ")),
            ],
            None,
        );
        let reasons = reasons(&r);
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].0 == "2222" && reasons[0].1.contains("12 digits"));
        assert!(reasons[1].1.contains("12 digits"));
        assert!(reasons[2].0 == "444444444444" && reasons[2].1.contains("not plausible"));
        assert_eq!(r.targets.len(), 1, "a blank email means: look it up");
        assert!(r.targets[0].email.is_none());
    }

    #[test]
    fn duplicates_are_merged_keeping_the_first_email() {
        let r = validate(
            vec![
                account("222222222222", None),
                account("222222222222", Some("first@example.com")),
                account("222222222222", Some("second@example.com")),
            ],
            None,
        );
        assert!(r.rejected.is_empty());
        assert_eq!(r.targets.len(), 1);
        assert_eq!(
            r.targets[0].email.as_ref().map(Email::as_str),
            Some("first@example.com")
        );
    }

    #[test]
    fn the_functions_own_account_is_skipped_with_a_reason() {
        let own = AccountId::parse("999999999999").unwrap();
        let r = validate(
            vec![account("999999999999", None), account("222222222222", None)],
            Some(&own),
        );
        let reasons = reasons(&r);
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].1.contains("own account"));
        assert_eq!(r.targets.len(), 1);
    }

    #[test]
    fn malformed_entries_become_rows_and_shown_values_stay_bounded() {
        let long = "9".repeat(5_000) + "\n";
        let r = validate(
            vec![
                Entry::Malformed {
                    given: "\"x\"".into(),
                    reason: "accounts[0] is a string".into(),
                },
                account(&long, None),
            ],
            None,
        );
        let reasons = reasons(&r);
        assert_eq!(reasons[0].1, "accounts[0] is a string");
        assert!(reasons[1].0.chars().count() <= SHOWN_CHARS + 1 && !reasons[1].0.contains('\n'));
    }
}

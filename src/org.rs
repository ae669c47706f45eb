//! Organizations: the accounts' emails and the organisation's list of accounts.
//!
//! None of the triggers carries the account's email, which `CreateMembers` needs, so it comes
//! from `DescribeAccount`. A lookup that fails (after the SDK's retries) makes a row at the
//! `lookup` step, never an error of the invocation. A sweep lists every account with
//! `ListAccounts` instead, which carries each account's email and `State`: only `ACTIVE`
//! accounts are onboarded (`Status` was retired on 2026-09-09), and no `DescribeAccount` call
//! is made.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::SdkError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;
use aws_sdk_organizations::types::Account;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::account::{AccountId, Email};
use crate::limits::Deadline;
use crate::outcome::{AccountOutcome, Inactive, Outcome, Reason, Step};
use crate::request::Target;
use crate::shared::Shared;
use crate::text::{printable, redact_emails};

/// An account ready for GuardDuty: its id and its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub id: AccountId,
    pub email: Email,
    /// The name Organizations gives the account, when it was looked up.
    pub name: Option<Shared>,
}

/// Organizations allows only a few requests a second; more in flight only earns throttling.
const CONCURRENT_LOOKUPS: usize = 4;

/// Fills in every missing email. Returns the accounts ready for GuardDuty, in the order given,
/// and a `lookup` row for each account whose email could not be had.
pub async fn complete(
    client: &Client,
    targets: Vec<Target>,
    deadline: Deadline,
) -> (Vec<MemberAccount>, Vec<AccountOutcome>) {
    let results: Vec<Result<MemberAccount, AccountOutcome>> = stream::iter(targets)
        .map(|target| async move {
            match target.email {
                Some(email) => Ok(MemberAccount {
                    id: target.id,
                    email,
                    name: None,
                }),
                None => describe(client, target.id, deadline).await,
            }
        })
        .buffered(CONCURRENT_LOOKUPS)
        .collect()
        .await;
    let mut ready = Vec::new();
    let mut failed = Vec::new();
    for result in results {
        match result {
            Ok(member) => ready.push(member),
            Err(row) => failed.push(row),
        }
    }
    (ready, failed)
}

async fn describe(
    client: &Client,
    id: AccountId,
    deadline: Deadline,
) -> Result<MemberAccount, AccountOutcome> {
    let output = deadline
        .call(client.describe_account().account_id(id.as_str()).send())
        .await
        .map_err(|e| {
            warn!(account_id = %id, error = %redact_emails(&e.to_string()), "DescribeAccount failed");
            AccountOutcome::unprocessed(id.shared(), Step::Lookup, Reason::Lookup(e))
        })?;
    let account = output.account();
    let email = account.and_then(|a| a.email()).and_then(Email::parse);
    let name = account.and_then(|a| a.name()).map(Shared::from);
    match email {
        Some(email) => {
            info!(account_id = %id, "email found in Organizations");
            Ok(MemberAccount { id, email, name })
        }
        None => Err(AccountOutcome::unprocessed(
            id.as_str(),
            Step::Lookup,
            Reason::NoEmail {
                operation: "DescribeAccount",
            },
        )),
    }
}

/// `ListAccounts` returns at most 20 accounts a page.
const PAGE_SIZE: i32 = 20;

/// The organisation's accounts, as a sweep sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// `ACTIVE` accounts with a usable email, in the order listed.
    pub active: Vec<MemberAccount>,
    /// Accounts that are not `ACTIVE`, left alone.
    pub inactive: Vec<Inactive>,
    /// `ACTIVE` accounts that cannot be onboarded: a `lookup` row each.
    pub unusable: Vec<AccountOutcome>,
}

/// Why a sweep could not list the organisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the sweep could not list the organisation's accounts: {0}; the function's account must be the management account or a delegated administrator for Organizations, with organizations:ListAccounts"
)]
pub struct ListingError(pub String);

/// Every account of the organisation, every page (the SDK's paginator, which also stops on a
/// repeated token). `own` is the function's own account, which is set aside.
pub async fn list_accounts(
    client: &Client,
    own: Option<&AccountId>,
    deadline: Deadline,
) -> Result<Listing, ListingError> {
    let mut listing = Listing::default();
    let mut pages = client
        .list_accounts()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    deadline
        .call(async {
            while let Some(page) = pages.next().await {
                for account in page?.accounts() {
                    listing.add(account, own);
                }
            }
            Ok::<_, SdkError<ListAccountsError>>(())
        })
        .await
        .map_err(|e| ListingError(Reason::call("ListAccounts", e).to_string()))?;
    info!(
        active = listing.active.len(),
        inactive = listing.inactive.len(),
        "organisation listed"
    );
    Ok(listing)
}

impl Listing {
    /// Sorts one listed account: active, inactive, unusable, or the function's own.
    fn add(&mut self, account: &Account, own: Option<&AccountId>) {
        let Some(id) = account.id().and_then(AccountId::parse) else {
            // Reported, not dropped: someone should see the account the sweep could not use.
            let given = account
                .id()
                .map_or("(no id)".to_owned(), |id| printable(id, 60));
            warn!(id = %given, "ListAccounts gave an account without a usable id");
            self.unusable.push(AccountOutcome {
                account_id: given.into(),
                account_name: account.name().map(Shared::from),
                outcome: Outcome::Unprocessed {
                    step: Step::Lookup,
                    result: std::sync::Arc::new(Reason::NoAccountId),
                },
            });
            return;
        };
        if own == Some(&id) {
            return;
        }
        let state = account.state().map(|s| s.as_str()).unwrap_or("");
        if state != "ACTIVE" {
            self.inactive.push(Inactive {
                account_id: id.to_string(),
                state: if state.is_empty() {
                    "(no State given)".to_owned()
                } else {
                    state.to_owned()
                },
            });
            return;
        }
        let name = account.name().map(Shared::from);
        match account.email().and_then(Email::parse) {
            Some(email) => self.active.push(MemberAccount { id, email, name }),
            None => self.unusable.push(AccountOutcome {
                account_id: id.shared(),
                account_name: name,
                outcome: Outcome::Unprocessed {
                    step: Step::Lookup,
                    result: std::sync::Arc::new(Reason::NoEmail {
                        operation: "ListAccounts",
                    }),
                },
            }),
        }
    }
}

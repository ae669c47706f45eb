//! Email lookup: none of the triggers carries the account's email, which `CreateMembers` needs,
//! so it comes from Organizations `DescribeAccount`. A lookup that fails (after the SDK's
//! retries) makes a row at the `lookup` step, never an error of the invocation.

use aws_sdk_organizations::Client;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::account::{AccountId, Email, redact_emails};
use crate::limits::Deadline;
use crate::outcome::{AccountOutcome, Step};
use crate::request::Target;

/// An account ready for GuardDuty: its id and its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub id: AccountId,
    pub email: Email,
    /// The name Organizations gives the account, when it was looked up.
    pub name: Option<String>,
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
            let reason = e.into_text();
            warn!(account_id = %id, error = %redact_emails(&reason), "DescribeAccount failed");
            AccountOutcome::unprocessed(id.as_str(), Step::Lookup, reason)
        })?;
    let account = output.account();
    let email = account.and_then(|a| a.email()).and_then(Email::parse);
    let name = account.and_then(|a| a.name()).map(str::to_owned);
    match email {
        Some(email) => {
            info!(account_id = %id, "email found in Organizations");
            Ok(MemberAccount { id, email, name })
        }
        None => Err(AccountOutcome::unprocessed(
            id.as_str(),
            Step::Lookup,
            "DescribeAccount returned no usable email for this account; invoke the function manually with the account's email",
        )),
    }
}
